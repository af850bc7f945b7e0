"""`bayeslaw demo` (the README's first command) runs end to end and writes what it says."""

import pytest

from bayeslaw.cli import main


@pytest.mark.default_curvature
def test_demo_writes_fit_figures_and_report(tmp_path, capsys):
    out = tmp_path / "demo"
    # the output of an earlier demo is there: the demo replaces it with --overwrite (without, it refuses)
    (out / "fit").mkdir(parents=True)
    for stale in (out / "fit" / "spec.json", out / "fit" / "fit.nc", out / "curve.png", out / "report.html"):
        stale.write_text("from an earlier demo")
    # the shared fixture's budget (one compiled program for both); the README's run uses the defaults
    assert main(["--quiet", "demo", "--out", str(out), "--num-chains", "2", "--num-warmup", "500",
                 "--num-samples", "500", "--overwrite"]) == 0
    text = capsys.readouterr().out
    # the bundled 245-run ladder gets the default orthogonal curvature term, and the demo says why; at this reduced
    # budget (2 x 500 draws) its heavy-tailed coefficients may miss the tail-ESS check, which the default 4 x 2000 pass
    assert "law: chinchilla_orthogonal" in text and "why this law: chinchilla_orthogonal (the default" in text
    assert "diagnostics: " in text
    assert "N = 70B parameters, D = 1.4T tokens" in text and "tokens per parameter" in text
    for name in ("curve.png", "curve_by_size.png", "params.png", "diagnostics.png", "optimum.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "fit" / "spec.json").is_file() and (out / "fit" / "fit.nc").is_file()
    html = (out / "report.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and "data:image/png;base64," in html
    assert "from an earlier demo" not in (out / "fit" / "spec.json").read_text()
    assert (out / "fit" / "fit.nc").read_bytes()[:4] == b"\x89HDF"  # netCDF4 (HDF5) file, not the stale text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]   # no temporary or old copies left beside it
