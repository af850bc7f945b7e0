"""HTML building blocks of the report: escaping, tables, verdicts, numbers, embedded figures, the page's CSS.

Everything that is not markup built here from numbers is escaped with :func:`html.escape`;
figures are embedded as base64 PNG ``data:`` URIs, so a report is one file with no external
resources and no JavaScript.
"""

from __future__ import annotations

import base64
import html
import io
import os
import uuid
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import BayeslawError
from ..plots.style import as_figure

FIG_DPI = 110


class Raw(str):
    """Markup built here from numbers and escaped text: inserted as is."""


# -- html helpers --------------------------------------------------------------------------


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def cell(v: Any) -> str:
    return v if isinstance(v, Raw) else esc(v)


def table(head: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Iterable[int] = ()) -> str:
    numeric = set(numeric)

    def cls(i: int) -> str:
        return ' class="num"' if i in numeric else ""

    th = "".join(f"<th{cls(i)}>{esc(h)}</th>" for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{cell(v)}</td>" for i, v in enumerate(r)) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def kv_table(pairs: Iterable[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th scope=\"row\">{esc(k)}</th><td>{cell(v)}</td></tr>" for k, v in pairs)
    return f"<table class=\"kv\"><tbody>{body}</tbody></table>"


def verdict(ok: bool, text: str) -> str:
    cls = "verdict ok-box" if ok else "verdict bad-box"
    mark = "\u2713" if ok else "\u26a0"
    return f"<p class=\"{cls}\"><span class=\"mark\">{mark}</span> {esc(text)}</p>"


def num(v: float) -> str:
    """Four significant digits, the format of the parameter table."""
    return f"{v:.4g}"


def sci_html(v: float) -> Raw:
    """1.23 x 10^9 as HTML (plain digits for moderate values)."""
    v = float(v)
    if not np.isfinite(v):
        return Raw(esc("\u221e" if v > 0 else ("\u2212\u221e" if v < 0 else "n/a")))
    if v == 0 or 1e-3 <= abs(v) < 1e4:
        return Raw(esc(f"{v:.4g}"))
    e = int(np.floor(np.log10(abs(v))))
    m = v / 10.0 ** e
    if abs(round(m, 2)) >= 10:
        m, e = m / 10, e + 1
    return Raw(f"{m:.3g}\u00a0\u00d7\u00a010<sup>{e}</sup>")


def interval(med: float, lo: float, hi: float, *, sci: bool = False) -> Raw:
    if sci:
        return Raw(f"{sci_html(med)} [{sci_html(lo)}, {sci_html(hi)}]")
    return Raw(esc(f"{med:.4g} [{lo:.4g}, {hi:.4g}]"))


def round_losses(values: np.ndarray) -> list[float]:
    out: list[float] = []
    for v in values:
        r = round(float(v), 2)
        if np.isfinite(r) and r > 0 and r not in out:
            out.append(r)
    return out


def figure(make, caption: str) -> str:
    """Run a plotting function and embed its figure as a PNG data URI (or say why it is missing)."""
    import matplotlib.pyplot as plt  # matplotlib loads with the first figure, not with bayeslaw

    try:
        obj = make()
    except BayeslawError as exc:
        return f"<p class=\"bad\">Figure not available: {esc(str(exc))}</p>"
    fig = as_figure(obj)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=FIG_DPI, bbox_inches="tight")
    finally:
        plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f"<figure><img src=\"data:image/png;base64,{data}\" alt=\"{esc(caption)}\">"
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def write_atomic(path: Path, text: str) -> None:
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


CSS = """
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
