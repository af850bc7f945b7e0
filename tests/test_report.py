"""The HTML report: one self-contained file with the fit's numbers, verdicts and figures."""

import matplotlib

matplotlib.use("Agg")  # tests only; the library never picks a backend

import base64  # noqa: E402
import dataclasses  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
from html.parser import HTMLParser  # noqa: E402

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import bayeslaw  # noqa: E402
from bayeslaw.report import write_report  # noqa: E402

TARGETS = {"N": [7e10, 2.8e11], "D": [1.4e12, 5.6e12]}
EVIL = "R-hat above 1.01 <script>alert('x')</script> & friends"


class Page(HTMLParser):
    """Tags with their attributes, tables as lists of rows of cell text, and the visible text."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.tables, self.text = [], [], []
        self._cell = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def table_with(self, *headers):
        found = [t for t in self.tables if t and all(h in t[0] for h in headers)]
        assert len(found) == 1, f"expected one table with headers {headers}"
        head, *rows = found[0]
        return [dict(zip(head, r)) for r in rows]

    @property
    def plain(self):
        return " ".join(" ".join(self.text).split())


@pytest.fixture(autouse=True)
def _no_figures_left():
    plt.close("all")  # figures of earlier tests in this worker are theirs, not write_report's
    yield
    leaked = plt.get_fignums()
    plt.close("all")
    assert not leaked, "write_report left pyplot figures open"


@pytest.fixture(scope="module")
def held_out():
    data = pd.read_csv(bayeslaw.example_data_path())
    return data.nlargest(5, "C")[["N", "D", "C", "loss"]].reset_index(drop=True)


@pytest.fixture(scope="module")
def report(chinchilla_fit, held_out, tmp_path_factory):
    """A report of the shared Chinchilla fit with targets and held-out runs, its diagnostics marked passed."""
    fit = dataclasses.replace(chinchilla_fit, spec=chinchilla_fit.spec.replace(diagnostics=()))
    out = tmp_path_factory.mktemp("report") / "sub" / "report.html"
    path = write_report(fit, out, targets=TARGETS, held_out=held_out, ci_prob=0.9)
    return fit, path


def test_report_is_one_self_contained_file(report):
    fit, path = report
    assert path.is_file() and path.name == "report.html"
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"]  # no temporary file left
    text = path.read_text(encoding="utf-8")
    page = Page(text)
    tags = [t for t, _ in page.tags]
    assert "script" not in tags and "link" not in tags and "iframe" not in tags
    for tag, attrs in page.tags:
        for key in ("src", "href"):
            value = attrs.get(key)
            if value is not None:
                assert not value.startswith(("http://", "https://", "//")), (tag, value)
                assert value.startswith(("data:", "#")), (tag, value)
    imgs = [attrs["src"] for tag, attrs in page.tags if tag == "img"]
    assert len(imgs) == 4  # curve, parameters, diagnostics, optimum
    for src in imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
    assert "url(" not in text and "@import" not in text  # nothing fetched from CSS either


def test_report_parameter_table_has_the_summary_values(report):
    fit, path = report
    page = Page(path.read_text(encoding="utf-8"))
    rows = {r["parameter"]: r for r in page.table_with("parameter", "mean", "R-hat", "ESS bulk")}
    summary = fit.summary(0.9)
    assert list(rows) == list(summary.index)
    for name, s in summary.iterrows():
        assert rows[name]["mean"] == f"{s['mean']:.4g}"
        assert rows[name]["sd"] == f"{s['sd']:.4g}"
        assert rows[name]["90% HDI lower"] == f"{s['lower']:.4g}"
        assert rows[name]["90% HDI upper"] == f"{s['upper']:.4g}"
        assert rows[name]["R-hat"] == f"{s['r_hat']:.3f}"
        assert rows[name]["ESS bulk"] == f"{s['ess_bulk']:.0f}"


def test_report_diagnostics_verdict_and_numbers(report):
    fit, path = report
    page = Page(path.read_text(encoding="utf-8"))
    plain = page.plain
    assert "All checks passed" in plain
    for threshold in ("R-hat ≤ 1.01", "ESS ≥ 100 per chain", "no divergent transitions", "E-BFMI ≥ 0.3"):
        assert threshold in plain
    rows = {r["check"]: r for r in page.table_with("check", "value", "threshold", "verdict")}
    rhat = float(fit.summary()["r_hat"].max())
    assert rows["max R-hat"]["value"] == f"{rhat:.3f}"
    div = int(np.asarray(fit.idata["sample_stats"]["diverging"]).sum())
    assert rows["divergent transitions"]["value"].startswith(f"{div} of ")
    assert {"min ESS (bulk)", "min ESS (tail)", "min E-BFMI"} <= set(rows)


def test_report_data_law_priors_predictions_decisions(report, held_out):
    fit, path = report
    page = Page(path.read_text(encoding="utf-8"))
    plain = page.plain
    assert fit.law.formula in plain and "Hoffmann et al. 2022" in plain
    priors = {r["parameter"]: r for r in page.table_with("parameter", "prior", "why this prior")}
    assert set(priors) == set(fit.spec.priors)  # law parameters and sigma, nu
    assert priors["alpha"]["why this prior"] == fit.law.params["alpha"].why
    assert priors["nu"]["why this prior"] == bayeslaw.OBSERVATION_MODELS["student_t"].params["nu"].why
    # the report says which observation model made the bands, and what it assumes
    assert "Observation model (what made the bands): student_t" in plain and "independent draws" in plain
    ranges = page.table_with("variable", "min", "max", "decades")
    assert len(ranges) == 4  # N, D, C, loss
    assert f"{fit.spec.data.n_runs}" in plain and "C = 6 N D" in plain

    preds = page.table_with("mean law: median [90%]", "new run: median [90%]")
    table = fit.predict(TARGETS, ci_prob=0.9).table
    assert len(preds) == 2
    for row, (_, t) in zip(preds, table.iterrows()):
        assert row["mean law: median [90%]"] == f"{t['mean_median']:.4g} [{t['mean_lower']:.4g}, {t['mean_upper']:.4g}]"
        assert row["decades beyond fitted range"] == f"N {t['beyond_N']:+.2f}, D {t['beyond_D']:+.2f}"

    held = page.table_with("observed loss", "observed vs interval")
    assert len(held) == len(held_out)
    assert all(r["observed vs interval"] in ("inside", "outside") for r in held)

    alloc = page.table_with("budget C", "parameters N*", "tokens per parameter D*/N*")
    assert len(alloc) == 3  # default budgets: largest fitted, 10x, 100x
    c_max = float(fit.idata["constant_data"]["C"].max())
    dec = fit.optimal_allocation([c_max, 10 * c_max, 100 * c_max], ci_prob=0.9).table
    for row, (_, d) in zip(alloc, dec.iterrows()):
        assert row["tokens per parameter D*/N*"].startswith(f"{d['tokens_per_param_median']:.4g} [")
    assert page.table_with("loss", "reachable", "compute C (FLOPs)")


def test_report_failed_checks_are_listed_and_text_is_escaped(chinchilla_fit, tmp_path):
    fit = dataclasses.replace(chinchilla_fit, spec=chinchilla_fit.spec.replace(
        diagnostics=({"check": "r_hat", "message": EVIL},)))
    path = write_report(fit, tmp_path / "r.html", compute=[1e23])
    text = path.read_text(encoding="utf-8")
    assert "<script>" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; friends" in text
    plain = Page(text).plain
    assert "1 check(s) failed" in plain and "All checks passed" not in plain
    assert EVIL in plain
    alloc = Page(text).table_with("budget C", "parameters N*")
    assert len(alloc) == 1


def test_report_one_variable_law(power_law_fit, tmp_path):
    path = write_report(power_law_fit, tmp_path / "pl.html", targets={"N": [7e10]}, ci_prob=0.9)
    page = Page(path.read_text(encoding="utf-8"))
    imgs = [a["src"] for t, a in page.tags if t == "img"]
    assert len(imgs) == 3  # no compute-optimal figure for a law of N alone
    assert "Compute-optimal allocation" not in page.plain
    verdict = "All checks passed" if power_law_fit.converged else "check(s) failed"
    assert verdict in page.plain
    preds = page.table_with("mean law: median [90%]")
    assert len(preds) == 1


def test_report_refuses_a_directory(power_law_fit, tmp_path):
    with pytest.raises(bayeslaw.BayeslawError, match="directory"):
        write_report(power_law_fit, tmp_path)


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="headless Chromium not installed (apt-get install chromium); "
                    "CI installs it to check that the report renders")
def test_report_renders_in_headless_chromium(report, tmp_path):
    _, path = report
    shot = tmp_path / "shot.png"
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,4000",
           f"file://{path.resolve()}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.is_file() and shot.stat().st_size > 10_000
    img = mpimg.imread(shot)
    assert img.shape[:2] == (4000, 1280)
    pixels = img[::97, ::31, :3].reshape(-1, 3)
    assert len(np.unique(pixels.round(3), axis=0)) > 20  # text, tables and figures, not one flat colour
    assert pixels.std() > 0.02
