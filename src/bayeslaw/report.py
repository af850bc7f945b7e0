"""A self-contained HTML report of a fit.

:func:`write_report` writes ONE HTML file with inline CSS and the figures embedded as
base64 PNG ``data:`` URIs: no external resources, no JavaScript, so it can be mailed,
archived or attached to a paper's supplement and opens the same everywhere. It holds
the data summary, the law and its priors with their reasons, the parameter table, the
sampler diagnostics with a plain-language verdict, predictions at the requested targets,
decision quantities (compute-optimal allocation, compute to reach a loss) and the figures
of :mod:`bayeslaw.plots`. All text is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .errors import BayeslawError, LawError

__all__ = ["write_report"]

_FIG_DPI = 110


class _Raw(str):
    """Markup built here from numbers and escaped text: inserted as is."""


def write_report(fit, path: str | os.PathLike, *, targets=None, compute=None, held_out=None) -> Path:
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

    Returns
    -------
    Path
        The report's path.
    """
    from . import __version__

    path = Path(path)
    if path.is_dir():
        raise BayeslawError(f"'{path}' is a directory; give the report's file name, e.g. '{path / 'report.html'}'.")
    prediction = None
    if targets is not None:
        from .predict import Prediction

        prediction = targets if isinstance(targets, Prediction) else fit.predict(targets=targets)
    held = None
    if held_out is not None:
        from .plots import _held_out_frame

        held = _held_out_frame(fit, held_out)

    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    sections = [
        _summary_section(fit),
        _data_section(fit),
        _law_section(fit),
        _params_section(fit),
        _diagnostics_section(fit),
        _curve_section(fit, prediction, held),
    ]
    if prediction is not None:
        sections.append(_predictions_section(fit, prediction))
    if held is not None:
        sections.append(_held_out_section(fit, held))
    sections.append(_decisions_section(fit, compute))
    sections.append(_reproducibility_section(fit))
    sections = [s for s in sections if s]

    toc = "".join(f'<li><a href="#{sid}">{_e(title)}</a></li>' for sid, title, _ in sections)
    body = "\n".join(f'<section id="{sid}">\n<h2>{_e(title)}</h2>\n{content}\n</section>'
                     for sid, title, content in sections)
    title = f"bayeslaw report: {fit.law.name} fit"
    doc = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="bayeslaw {_e(__version__)}">
<title>{_e(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<header>
<h1>{_e(title)}</h1>
<p class="meta">Generated {_e(now)} by bayeslaw {_e(__version__)} &middot; law <code>{_e(fit.law.name)}</code>
&middot; {_e(str(fit.spec.get("data", {}).get("n_runs", "?")))} runs &middot; likelihood
<code>{_e(str(fit.spec.get("likelihood")))}</code></p>
<nav><ol>{toc}</ol></nav>
</header>
{body}
</main>
</body>
</html>
"""
    _write_atomic(path, doc)
    return path


# -- sections (id, title, html) ------------------------------------------------------------


def _summary_section(fit):
    from .plots import diagnostic_numbers

    s = diagnostic_numbers(fit)
    if fit.converged:
        verdict = _verdict(True, "The sampler's checks all passed: the posterior below can be trusted as a "
                                 "summary of what the data say under this law and these priors.")
    else:
        verdict = _verdict(False, f"{len(fit.diagnostics)} diagnostic check(s) failed: treat the numbers below "
                                  "as provisional (see Diagnostics for what to do).")
    facts = [("law", _Raw(f"<code>{_e(fit.law.name)}</code>: {_e(fit.law.formula)}")),
             ("runs", str(fit.spec.get("data", {}).get("n_runs", "?"))),
             ("sampler", f"NUTS, {s['chains']} chains \u00d7 {s['draws']} draws"),
             ("max R-hat / min ESS", f"{s['max_rhat']:.3f} / {s['min_ess']:.0f}")]
    return "summary", "Summary", verdict + _kv_table(facts)


def _data_section(fit):
    from .plots import AXIS_LABELS, _observed

    d = fit.spec.get("data", {})
    runs = _observed(fit)
    columns = d.get("columns", {})
    mapping = ", ".join(f"{k} \u2190 {v!s}" for k, v in columns.items()) or "(not recorded)"
    derived = d.get("derived") or {}
    conv = "; ".join(derived.values()) if derived else "none: every size column was given"
    k = d.get("flops_per_param_token", 6.0)
    design = d.get("design", {})
    refs = fit.spec.get("reference_scales", {}).get("log", {})
    facts = [
        ("source", str(d.get("source", "?"))),
        ("runs", str(d.get("n_runs", len(runs)))),
        ("columns (canonical \u2190 source)", mapping),
        ("derived columns", conv),
        ("compute convention", f"C = {k:g} N D (k = {k:g} FLOPs per parameter per token)"),
        ("law inputs", ", ".join(f"{v} \u2190 {c}" for v, c in design.items())),
        ("reference scales (geometric means)",
         _Raw(", ".join(f"{_e(v)}<sub>0</sub> = {_sci_html(np.exp(val))}" for v, val in refs.items()))),
        ("group columns", ", ".join(d.get("groups", [])) or "none"),
        ("data hash", str(d.get("hash", "?"))),
    ]
    rows = []
    for col in [c for c in runs.columns if c != "loss"] + ["loss"]:
        v = runs[col].to_numpy(float)
        label = AXIS_LABELS.get(col, col)
        used = " (fitted)" if col in design.values() or col == "loss" else ""
        rows.append([label + used, _sci_html(v.min()), _sci_html(v.max()), f"{np.log10(v.max() / v.min()):.2f}"])
    ranges = _table(["variable", "min", "max", "decades"], rows, numeric=(1, 2, 3))
    return "data", "Data", _kv_table(facts) + "<h3>Ranges</h3>" + ranges


def _law_section(fit):
    from .engine import LIKELIHOODS
    from .priors import Prior

    law = fit.law
    lik = LIKELIHOODS.get(fit.spec.get("likelihood", ""))
    intro = (f"<p class=\"formula\">{_e(law.formula)}</p>"
             f"<p><strong>Reference:</strong> {_e(law.reference)}</p>")
    if law.description:
        intro += f"<p>{_e(law.description)}</p>"
    if lik is not None:
        intro += f"<p><strong>Likelihood:</strong> {_e(lik.description)}.</p>"
    symbols = fit.spec.get("reference_scales", {}).get("prior_symbols", {})
    if symbols:
        intro += ("<p class=\"note\">Prior symbols: " + ", ".join(
            f"<code>{_e(k)}</code> = {_e(f'{v:.4g}')}" for k, v in symbols.items())
            + " (y0 is the geometric mean of the observed loss, log_y0 its log). Sizes enter the law "
              "centred at the reference scales, so amplitudes are sampled as the log of a term's value "
              "there and converted to the paper's constants for the parameter table.</p>")
    rows = []
    for name, pdict in fit.spec.get("priors", {}).items():
        prior = str(Prior.from_dict(pdict))
        if name in law.params:
            default, why, what = law.params[name].prior, law.params[name].why, law.params[name].description
        elif lik is not None and name in lik.params:
            default, why, what = lik.params[name].prior, lik.params[name].why, lik.params[name].description
        else:
            default, why, what = None, "", ""
        if default is not None and default.to_dict() != pdict:
            why = f"set by the user (default {default})"
        rows.append([_Raw(f"<code>{_e(name)}</code>"), what, _Raw(f"<code>{_e(prior)}</code>"), why])
    table = _table(["parameter", "meaning", "prior", "why this prior"], rows)
    return "law", "Law and priors", intro + table


def _params_section(fit):
    from .plots import plot_params

    table = fit.summary()
    rows = []
    for name, r in table.iterrows():
        rows.append([_Raw(f"<code>{_e(str(name))}</code>"), _num(r["mean"]), _num(r["sd"]),
                     _num(r["hdi90_lb"]), _num(r["hdi90_ub"]), f"{r['r_hat']:.3f}",
                     f"{r['ess_bulk']:.0f}", f"{r['ess_tail']:.0f}"])
    html_table = _table(["parameter", "mean", "sd", "90% HDI lower", "90% HDI upper", "R-hat", "ESS bulk",
                         "ESS tail"], rows, numeric=range(1, 8))
    note = ("<p class=\"note\">Posterior mean and standard deviation, 90% highest-density interval, and the "
            "convergence numbers of each parameter (conventional constants of the law, then the noise model).</p>")
    fig = _figure(lambda: plot_params(fit), "Prior (blue) and posterior (orange) of each parameter. Constants "
                  "whose prior spans more than two decades are shown as log10; a posterior much narrower than "
                  "its prior is determined by the data, not by the prior.")
    return "parameters", "Parameters", note + html_table + fig


def _diagnostics_section(fit):
    from .plots import diagnostic_numbers, plot_diagnostics
    from .result import BFMI_MIN, ESS_MIN_PER_CHAIN, RHAT_MAX

    s = diagnostic_numbers(fit)
    ess_min = ESS_MIN_PER_CHAIN * s["chains"]
    thresholds = (f"R-hat \u2264 {RHAT_MAX}, bulk and tail ESS \u2265 {ESS_MIN_PER_CHAIN} per chain "
                  f"(\u2265 {ess_min} for {s['chains']} chains), no divergent transitions, "
                  f"E-BFMI \u2265 {BFMI_MIN} in every chain")
    if fit.converged:
        out = _verdict(True, f"All checks passed: {thresholds}.")
    else:
        items = "".join(f"<li><strong>{_e(d.get('check', '?'))}</strong>: {_e(d.get('message', ''))}</li>"
                        for d in fit.diagnostics)
        out = _verdict(False, f"{len(fit.diagnostics)} check(s) failed. The thresholds are: {thresholds}.")
        out += f"<ul class=\"problems\">{items}</ul>"

    def ok(flag: bool) -> _Raw:
        return _Raw('<span class="ok">\u2713 pass</span>' if flag else '<span class="bad">\u2717 fail</span>')

    rows = [
        ["max R-hat", f"{s['max_rhat']:.3f}", f"\u2264 {RHAT_MAX}", ok(s["max_rhat"] <= RHAT_MAX)],
        ["min ESS (bulk)", f"{s['min_ess_bulk']:.0f}", f"\u2265 {ess_min}", ok(s["min_ess_bulk"] >= ess_min)],
        ["min ESS (tail)", f"{s['min_ess_tail']:.0f}", f"\u2265 {ess_min}", ok(s["min_ess_tail"] >= ess_min)],
        ["divergent transitions", f"{s['divergences']} of {s['transitions']}", "0", ok(s["divergences"] == 0)],
        ["min E-BFMI", f"{s['min_bfmi']:.2f}", f"\u2265 {BFMI_MIN}", ok(s["min_bfmi"] >= BFMI_MIN)],
    ]
    out += _table(["check", "value", "threshold", "verdict"], rows, numeric=(1,))
    out += _figure(lambda: plot_diagnostics(fit), "Per-chain posteriors (left: chains that agree overlap) and "
                   "fractional-rank ECDF differences (right: well-mixed chains stay flat, p-value above).")
    return "diagnostics", "Diagnostics", out


def _curve_section(fit, prediction, held):
    from .plots import plot_curve

    caption = ("Observed runs, posterior median of the law with 50% and 90% bands (mean law), and the 90% band "
               "of a new run (law plus run-to-run noise).")
    if len(fit.spec["data"]["design"]) == 2:
        caption += (" For a law of N and D the curve follows the compute-optimal frontier, solved per posterior "
                    "draw; runs are placed at their own compute.")
    if prediction is not None:
        caption += " Red squares: targets, with the 90% new-run interval."
    if held is not None:
        caption += " Orange diamonds: held-out runs, not used in the fit."
    def make():
        try:
            return plot_curve(fit, prediction, held_out=held)
        except LawError as exc:  # e.g. no interior compute optimum: show the curve along D = 20 N instead
            if len(fit.spec["data"]["design"]) != 2:
                raise
            notes.append(f"The compute-optimal frontier is not available ({exc}); the curve follows D = 20 N.")
            return plot_curve(fit, prediction, held_out=held, slice="ratio=20")

    notes: list[str] = []
    fig = _figure(make, caption)
    return "curve", "Scaling curve", "".join(f"<p class=\"note\">{_e(n)}</p>" for n in notes) + fig


def _predictions_section(fit, prediction):
    t = prediction.table
    q = f"{100 * prediction.interval:g}%"
    inputs = [c for c in ("x", "N", "D", "C", "U") if c in t.columns]
    beyond = [c for c in t.columns if c.startswith("beyond_")]
    rows = []
    for _, r in t.iterrows():
        rows.append([*(_sci_html(r[c]) for c in inputs),
                     _interval(r["mean_median"], r["mean_lower"], r["mean_upper"]),
                     _interval(r["new_run_median"], r["new_run_lower"], r["new_run_upper"]),
                     ", ".join(f"{c[len('beyond_'):]} {r[c]:+.2f}" for c in beyond)])
    head = [*inputs, f"mean law: median [{q}]", f"new run: median [{q}]", "decades beyond fitted range"]
    note = ("<p class=\"note\">The mean law is the law's value (uncertainty about the law alone); a new run adds "
            "the fitted run-to-run noise and is what one more training run at that scale would show. Decades "
            "beyond: how far each input lies above (+) or below (\u2212) the fitted runs, in powers of ten; "
            "0 is inside the fitted range.</p>")
    return "predictions", "Predictions at targets", note + _table(head, rows, numeric=range(len(head) - 1))


def _held_out_section(fit, held):
    design = list(fit.spec["data"]["design"].values())
    pred = fit.predict(targets=held[design])
    t = pred.table
    loss = held["loss"].to_numpy(float)
    inside = (loss >= t["new_run_lower"].to_numpy()) & (loss <= t["new_run_upper"].to_numpy())
    rows = []
    for i, (_, r) in enumerate(t.iterrows()):
        rows.append([*(_sci_html(r[c]) for c in design), f"{loss[i]:.4g}",
                     _interval(r["new_run_median"], r["new_run_lower"], r["new_run_upper"]),
                     _Raw('<span class="ok">inside</span>' if inside[i] else '<span class="bad">outside</span>')])
    head = [*design, "observed loss", "new run: median [90%]", "observed vs interval"]
    note = (f"<p>{int(inside.sum())} of {len(inside)} held-out runs lie inside the 90% new-run interval "
            f"(about 90% are expected to when the law and noise model are right).</p>")
    return "held-out", "Held-out runs", note + _table(head, rows, numeric=range(len(head) - 1))


def _decisions_section(fit, compute):
    from .plots import _observed, plot_optimum

    design = fit.spec["data"]["design"]
    runs = _observed(fit)
    out = ""
    losses = None
    if set(design) == {"N", "D"}:
        c_max = float(runs["C"].max())
        budgets = np.atleast_1d(np.asarray(compute if compute is not None else [c_max, 10 * c_max, 100 * c_max],
                                           dtype=float))
        try:
            dec = fit.optimal_allocation(budgets)
        except BayeslawError as exc:
            out += f"<p class=\"bad\">Compute-optimal allocation not available: {_e(str(exc))}</p>"
        else:
            t = dec.table
            rows = [[_sci_html(r["C"]), _interval(r["N_opt_median"], r["N_opt_lower"], r["N_opt_upper"], sci=True),
                     _interval(r["D_opt_median"], r["D_opt_lower"], r["D_opt_upper"], sci=True),
                     _interval(r["tokens_per_param_median"], r["tokens_per_param_lower"],
                               r["tokens_per_param_upper"]),
                     _interval(r["loss_opt_median"], r["loss_opt_lower"], r["loss_opt_upper"])]
                    for _, r in t.iterrows()]
            out += ("<h3>Compute-optimal allocation</h3><p class=\"note\">For each budget C (FLOPs) the model "
                    "size N* and tokens D* = C / (k N*) that minimise the loss, solved for every posterior draw: "
                    "median [90% interval].</p>")
            out += _table(["budget C", "parameters N*", "tokens D*", "tokens per parameter D*/N*",
                           "loss at the optimum"], rows, numeric=range(5))
            ladder = fit.optimal_allocation([10 * c_max, 100 * c_max])
            losses = _round_losses(ladder.table["loss_opt_median"].to_numpy())
        out += _figure(lambda: plot_optimum(fit), "Compute-optimal parameters N* and tokens D* against the "
                       "budget C: median with 50% and 90% bands; the dotted line marks the largest fitted budget.")
    elif list(design.values()) == ["C"]:
        c_max = float(runs["C"].max())
        losses = _round_losses(fit.predict(C=[10 * c_max, 100 * c_max]).table["mean_median"].to_numpy())
    else:
        return None
    if losses is not None and len(losses):
        try:
            cfl = fit.compute_for_loss(losses)
        except BayeslawError as exc:
            out += f"<p class=\"bad\">Compute to reach a loss not available: {_e(str(exc))}</p>"
        else:
            rows = [[f"{r['loss']:.4g}", f"{100 * r['reachable']:.0f}%",
                     _interval(r["C_median"], r["C_lower"], r["C_upper"], sci=True)]
                    for _, r in cfl.table.iterrows()]
            out += ("<h3>Compute to reach a loss</h3><p class=\"note\">Training compute needed to reach each "
                    "loss (the losses the law predicts at 10\u00d7 and 100\u00d7 the largest fitted budget, "
                    "rounded), at the compute-optimal allocation: median [90% interval]. Reachable: the share of "
                    "posterior draws whose floor E lies below the loss.</p>")
            out += _table(["loss", "reachable", "compute C (FLOPs)"], rows, numeric=range(3))
    return "decisions", "Decisions", out


def _reproducibility_section(fit):
    s = fit.spec.get("sampler", {})
    facts = [(k, str(v)) for k, v in s.items()]
    law = fit.spec.get("law", {})
    facts += [("law version / hash", f"{law.get('version', '?')} / {law.get('hash', '?')}")]
    vers = fit.spec.get("versions", {})
    if vers:
        facts.append(("versions at fit time", ", ".join(f"{k} {v}" for k, v in vers.items())))
    spec = json.dumps(fit.spec, indent=2, default=str)
    out = _kv_table(facts)
    out += f"<details><summary>Full fit specification (spec.json)</summary><pre>{_e(spec)}</pre></details>"
    return "reproducibility", "Reproducibility", out


# -- html helpers --------------------------------------------------------------------------


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _cell(v: Any) -> str:
    return v if isinstance(v, _Raw) else _e(v)


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Iterable[int] = ()) -> str:
    numeric = set(numeric)

    def cls(i: int) -> str:
        return ' class="num"' if i in numeric else ""

    th = "".join(f"<th{cls(i)}>{_e(h)}</th>" for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{_cell(v)}</td>" for i, v in enumerate(r)) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _kv_table(pairs: Iterable[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th scope=\"row\">{_e(k)}</th><td>{_cell(v)}</td></tr>" for k, v in pairs)
    return f"<table class=\"kv\"><tbody>{body}</tbody></table>"


def _verdict(ok: bool, text: str) -> str:
    cls = "verdict ok-box" if ok else "verdict bad-box"
    mark = "\u2713" if ok else "\u26a0"
    return f"<p class=\"{cls}\"><span class=\"mark\">{mark}</span> {_e(text)}</p>"


def _num(v: float) -> str:
    """Four significant digits, the format of the parameter table."""
    return f"{v:.4g}"


def _sci_html(v: float) -> _Raw:
    """1.23 x 10^9 as HTML (plain digits for moderate values)."""
    v = float(v)
    if not np.isfinite(v):
        return _Raw(_e("\u221e" if v > 0 else ("\u2212\u221e" if v < 0 else "n/a")))
    if v == 0 or 1e-3 <= abs(v) < 1e4:
        return _Raw(_e(f"{v:.4g}"))
    e = int(np.floor(np.log10(abs(v))))
    m = v / 10.0 ** e
    if abs(round(m, 2)) >= 10:
        m, e = m / 10, e + 1
    return _Raw(f"{m:.3g}\u00a0\u00d7\u00a010<sup>{e}</sup>")


def _interval(med: float, lo: float, hi: float, *, sci: bool = False) -> _Raw:
    if sci:
        return _Raw(f"{_sci_html(med)} [{_sci_html(lo)}, {_sci_html(hi)}]")
    return _Raw(_e(f"{med:.4g} [{lo:.4g}, {hi:.4g}]"))


def _round_losses(values: np.ndarray) -> list[float]:
    out: list[float] = []
    for v in values:
        r = round(float(v), 2)
        if np.isfinite(r) and r > 0 and r not in out:
            out.append(r)
    return out


def _figure(make, caption: str) -> str:
    """Run a plotting function and embed its figure as a PNG data URI (or say why it is missing)."""
    import matplotlib.pyplot as plt

    from .plots import as_figure

    try:
        obj = make()
    except BayeslawError as exc:
        return f"<p class=\"bad\">Figure not available: {_e(str(exc))}</p>"
    fig = as_figure(obj)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=_FIG_DPI, bbox_inches="tight")
    finally:
        plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f"<figure><img src=\"data:image/png;base64,{data}\" alt=\"{_e(caption)}\">"
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _write_atomic(path: Path, text: str) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
    # os.open with mode 0o666: the umask applies as for any new file (mkstemp would give 0600).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


_CSS = """
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --stripe: #f5f7fa; --accent: #1f5fa8;
        --ok: #1e7b34; --okbg: #e8f5ec; --bad: #a8321f; --badbg: #fbeceb; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--fg);
       font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 1.7em; margin: 0.2em 0; }
h2 { font-size: 1.3em; margin-top: 2em; padding-bottom: 0.2em; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05em; margin-top: 1.4em; }
.meta, .note, figcaption { color: var(--muted); font-size: 0.92em; }
nav ol { columns: 3; padding-left: 1.2em; margin: 0.6em 0; }
a { color: var(--accent); }
code, pre { font-family: "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.92em; }
.formula { font-family: "SFMono-Regular", Menlo, Consolas, monospace; font-size: 1.1em;
           background: var(--stripe); padding: 8px 12px; border-radius: 4px; display: inline-block; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.93em; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 10px; text-align: left; vertical-align: top; }
thead th { background: var(--stripe); border-bottom: 2px solid var(--line); }
tbody tr:nth-child(even) { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.kv th { font-weight: 600; color: var(--muted); white-space: nowrap; }
.verdict { padding: 10px 14px; border-radius: 6px; font-weight: 500; }
.ok-box { background: var(--okbg); color: var(--ok); border: 1px solid #b8dfc3; }
.bad-box { background: var(--badbg); color: var(--bad); border: 1px solid #efc4bd; }
.mark { font-weight: 700; margin-right: 4px; }
.ok { color: var(--ok); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
ul.problems li { margin-bottom: 0.4em; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
details { margin-top: 1em; }
pre { background: var(--stripe); padding: 12px; overflow-x: auto; max-height: 480px; font-size: 0.82em; }
"""
