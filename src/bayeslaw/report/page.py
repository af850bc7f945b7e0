"""The HTML report of a fit: one self-contained file (inline CSS, figures as base64 PNG, no JavaScript).

:func:`write_report` assembles the sections of :mod:`bayeslaw.report.sections` into a page with a
table of contents, and writes it atomically, so it can be mailed, archived or attached to a
paper's supplement and opens the same everywhere.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ..core.collection import Each
from ..core.paths import check_output
from ..core.records import resolve_ci_prob
from ..errors import BayeslawError
from ..inference.result import Fit
from ..posterior.curves import held_out_frame
from ..posterior.predict import Prediction, predict
from . import html as h
from . import sections as s


def _version() -> str:
    try:
        return version("bayeslaw")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0+unknown"


def write_report(fit: Fit, path: str | os.PathLike, *, targets: Any = None, compute: Any = None, held_out: Any = None,
                 ci_prob: float | None = None, overwrite: bool = False) -> Path:
    """Write a self-contained HTML report of a fit.

    Parameters
    ----------
    fit : Fit
    path : str or path
        Output file (``.html``); parent directories are created. Written atomically
        (temporary file, then rename), so a reader never sees half a report.
    targets : dict, DataFrame or Prediction, optional
        Scales to predict at, e.g. ``{"N": [7e10], "D": [1.4e12]}`` (see :meth:`Fit.predict`).
    compute : float or array, optional
        Compute budgets (FLOPs) for the compute-optimal allocation of laws of N and D.
        Default: the largest fitted budget and 10x and 100x it.
    held_out : DataFrame or Runs, optional
        Runs not used in the fit; drawn on the curve and checked against the new-run interval.
    ci_prob : float, optional
        Mass of every interval in the report (default: ArviZ's ``rcParams["stats.ci_prob"]``).
    overwrite : bool, default False
        Replace ``path`` if it exists; without it an existing file is refused before any work
        (:class:`~bayeslaw.BayeslawError`; the rule of :meth:`Fit.save` and the CLI's ``--overwrite``). A
        symbolic link is written through to its target.

    Returns
    -------
    Path
        The report's path.
    """
    if isinstance(fit, Each):
        first = next(iter(fit), None)
        raise BayeslawError(f"write_report writes one fit's report, and this is a collection of {len(fit)} (one per "
                            f"{fit.name}); pass one of them, e.g. write_report(fits[{first!r}], ...), or one file each "
                            "in a loop.")
    ci_prob = resolve_ci_prob(ci_prob, low=0.5)
    path = Path(path)
    if path.is_dir():
        raise BayeslawError(f"'{path}' is a directory; give the report's file name, e.g. '{path / 'report.html'}'.")
    dest = check_output(path, flag="Report file", overwrite=overwrite)
    prediction = None
    if targets is not None:
        prediction = targets if isinstance(targets, Prediction) else predict(fit, targets, ci_prob=ci_prob)
    held = held_out_frame(fit, held_out) if held_out is not None else None

    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    sections = [s.summary_section(fit, ci_prob), s.data_section(fit, ci_prob), s.law_section(fit, ci_prob),
                s.params_section(fit, ci_prob), s.diagnostics_section(fit, ci_prob),
                s.curve_section(fit, ci_prob, prediction, held)]
    if prediction is not None:
        sections.append(s.predictions_section(fit, ci_prob, prediction))
    if held is not None:
        sections.append(s.held_out_section(fit, ci_prob, held))
    sections.append(s.decisions_section(fit, ci_prob, compute))
    sections.append(s.reproducibility_section(fit, ci_prob))
    sections = [s for s in sections if s]

    toc = "".join(f'<li><a href="#{sid}">{h.esc(title)}</a></li>' for sid, title, _ in sections)
    body = "\n".join(f'<section id="{sid}">\n<h2>{h.esc(title)}</h2>\n{content}\n</section>'
                     for sid, title, content in sections)
    title = f"bayeslaw report: {fit.law.name} fit"
    doc = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="bayeslaw {h.esc(_version())}">
<title>{h.esc(title)}</title>
<style>{h.CSS}</style>
</head>
<body>
<main>
<header>
<h1>{h.esc(title)}</h1>
<p class="meta">Generated {h.esc(now)} by bayeslaw {h.esc(_version())} &middot; law <code>{h.esc(fit.law.name)}</code>
&middot; {h.esc(str(fit.spec.data.n_runs))} runs &middot; likelihood
<code>{h.esc(fit.spec.likelihood)}</code></p>
<nav><ol>{toc}</ol></nav>
</header>
{body}
</main>
</body>
</html>
"""
    h.write_atomic(dest, doc)
    return path


