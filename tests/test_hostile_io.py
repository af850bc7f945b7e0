"""Hostile inputs and outputs around the files a command reads and writes (issue 15, items 3, 4, 9, 10, 11).

Output paths that cannot be written are refused before any work; existing outputs are replaced only
with --overwrite, symbolic links are written through (their target replaced, the link kept), and no
temporary or old copy is ever left behind; tables come from pipes and standard input; Ctrl-C always
exits 130 having written nothing (or, after the commit point, is ignored: exit 0, complete outputs);
a saved fit edited afterwards is refused unless --no-verify / verify=False.

CLI commands run in-process (``cli.main``) with NUTS replaced by the session's small fit, so that
each test takes milliseconds; a few subprocess tests send real signals.
"""

from __future__ import annotations

import copy
import gc
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import bayeslaw
import bayeslaw.inference.fit
from bayeslaw import cli
from bayeslaw.cli import common
from bayeslaw.core import interrupts, paths
from bayeslaw.errors import BayeslawError, FitFileError

FIGS = (".png", ".svg", ".pdf")


# -- helpers -------------------------------------------------------------------------------


def good_frame(n: int = 10) -> pd.DataFrame:
    N = np.geomspace(1e7, 1e10, n)
    D = np.geomspace(2e8, 2e11, n)[::-1].copy()
    return pd.DataFrame({"N": N, "D": D, "C": 6 * N * D, "loss": 1.7 + 400 * N ** -0.34 + 410 * D ** -0.28})


def good_csv(tmp: Path, name: str = "runs.csv") -> Path:
    path = tmp / name
    good_frame().to_csv(path, index=False)
    return path


def snapshot(root: Path) -> dict[str, object]:
    """Every path under root (links as links) with its bytes, link target or None for folders."""
    out: dict[str, object] = {}
    for p in sorted(root.rglob("*")):
        key = str(p.relative_to(root))
        out[key] = ("link", os.readlink(p)) if p.is_symlink() else (p.read_bytes() if p.is_file() else None)
    return out


def litter(root: Path) -> list[str]:
    """Temporary, old or probe files left anywhere under root."""
    return [str(p.relative_to(root)) for p in root.rglob(".*")
            if p.name.endswith((".tmp", ".old")) or ".tmp." in p.name or p.name.startswith(".bayeslaw-probe")]


def run_cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def refused(capsys, argv: list[str], *needles: str) -> str:
    """Exit 2, one line on stderr naming every needle, nothing on stdout."""
    code, out, err = run_cli(capsys, argv)
    assert code == 2, f"exit {code}\n{err}"
    assert out == "" and "Traceback" not in err, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"
    return err


@pytest.fixture
def no_nuts(monkeypatch):
    """Bad outputs must be refused before JAX is set up and before NUTS runs."""

    def forbidden(*args, **kwargs):
        raise AssertionError("reached JAX set-up or NUTS; a bad output must be refused before")

    monkeypatch.setattr(bayeslaw.inference.fit, "fit", forbidden)
    monkeypatch.setattr(common, "setup_jax", forbidden)


@pytest.fixture
def saved_fit(power_law_fit, tmp_path) -> Path:
    return copy.copy(power_law_fit).save(tmp_path / "saved_fit")


FIT = ["--law", "power_law", "--x", "N", "--quiet"]


# -- item 3: output paths are checked before any work ----------------------------------------


@pytest.mark.parametrize("argv", [
    lambda t, f: ["fit", str(good_csv(t)), *FIT, "--out", "/proc/bayeslaw_fit"],
    lambda t, f: ["fit", str(good_csv(t)), *FIT, "--out", "/proc/new/deeper/fit"],
    lambda t, f: ["demo", "--out", "/proc/bayeslaw_demo"],
    lambda t, f: ["plot", str(f), "-o", "/proc/x.png"],
    lambda t, f: ["report", str(f), "-o", "/proc/r.html"],
    lambda t, f: ["compare", str(good_csv(t)), "--law", "power_law", "--law", "compute", "--plot", "/proc/e.png"],
    lambda t, f: ["compare", str(good_csv(t)), "--law", "power_law", "--law", "compute", "--overlay", "/proc/o.svg"],
], ids=["fit", "fit-deep", "demo", "plot", "report", "compare-plot", "compare-overlay"])
def test_unwritable_output_is_refused_before_any_work(argv, tmp_path, saved_fit, capsys, no_nuts, monkeypatch):
    monkeypatch.setattr(common, "load_fit", lambda *a, **k: pytest.fail("loaded the fit before checking -o"))
    argv = argv(tmp_path, saved_fit)
    before = snapshot(tmp_path)
    refused(capsys, argv, "/proc", "cannot be written", "choose a folder you can write to")
    assert snapshot(tmp_path) == before


def test_output_below_a_file_and_device_outputs_are_refused(tmp_path, saved_fit, capsys, no_nuts):
    data = good_csv(tmp_path)
    before = snapshot(tmp_path)
    refused(capsys, ["fit", str(data), *FIT, "--out", str(data / "fit")], "is a file")
    os.symlink("/dev/null", tmp_path / "null.png")
    before = snapshot(tmp_path)
    refused(capsys, ["plot", str(saved_fit), "-o", str(tmp_path / "null.png"), "--overwrite"], "not a regular file")
    refused(capsys, ["fit", str(data), *FIT, "--out", "-"], "is not a path")
    assert snapshot(tmp_path) == before


# -- item 4: existing outputs, symbolic links, no litter -------------------------------------


def test_fit_out_through_a_symlink_replaces_the_target_and_keeps_the_link(tmp_path, saved_fit, capsys, fake_nuts):
    data = good_csv(tmp_path)
    (tmp_path / "fits").mkdir()
    target = tmp_path / "fits" / "run7"
    os.replace(saved_fit, target)
    spec_before = (target / "spec.json").read_bytes()
    link = tmp_path / "latest"
    link.symlink_to(Path("fits") / "run7", target_is_directory=True)
    refused(capsys, ["fit", str(data), *FIT, "--out", str(link)], "already exists", "--overwrite")
    assert not fake_nuts and (target / "spec.json").read_bytes() == spec_before
    code, out, err = run_cli(capsys, ["fit", str(data), *FIT, "--out", str(link), "--overwrite"])
    assert code == 0, err
    assert f"saved: {link}" in out
    assert link.is_symlink() and os.readlink(link) == str(Path("fits") / "run7")
    assert json.loads((target / "spec.json").read_text())["checksum"]  # written by this version: the new fit
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fits", "latest", "runs.csv"]
    assert sorted(p.name for p in (tmp_path / "fits").iterdir()) == ["run7"]
    assert litter(tmp_path) == []
    bayeslaw.load(link)


def test_dangling_and_foreign_symlinks_are_refused(tmp_path, saved_fit, capsys, no_nuts):
    data = good_csv(tmp_path)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "chapter1.tex").write_text("do not delete")
    (tmp_path / "to_thesis").symlink_to(tmp_path / "thesis")
    (tmp_path / "fig.png").symlink_to(tmp_path / "missing.png")
    before = snapshot(tmp_path)
    refused(capsys, ["fit", str(data), *FIT, "--out", str(tmp_path / "dangling"), "--overwrite"],
            "symbolic link", "does not exist")
    refused(capsys, ["fit", str(data), *FIT, "--out", str(tmp_path / "to_thesis"), "--overwrite"], "not a saved fit")
    refused(capsys, ["plot", str(saved_fit), "-o", str(tmp_path / "fig.png"), "--overwrite"], "symbolic link")
    assert snapshot(tmp_path) == before


def test_file_outputs_need_overwrite_and_write_through_links(tmp_path, saved_fit, capsys):
    out = tmp_path / "figs" / "params.png"
    code, stdout, err = run_cli(capsys, ["plot", str(saved_fit), "--kind", "params", "-o", str(out)])
    assert code == 0 and out.read_bytes()[:4] == b"\x89PNG", err
    first = out.read_bytes()
    refused(capsys, ["plot", str(saved_fit), "--kind", "params", "-o", str(out)], "already exists", "--overwrite")
    assert out.read_bytes() == first
    link = tmp_path / "latest.svg"
    real = tmp_path / "figs" / "real.svg"
    real.write_text("old")
    link.symlink_to(real)
    code, _, err = run_cli(capsys, ["plot", str(saved_fit), "--kind", "params", "-o", str(link), "--overwrite"])
    assert code == 0, err
    assert link.is_symlink() and real.read_text().lstrip().startswith("<?xml")
    report = tmp_path / "r.html"
    report.write_text("mine")
    refused(capsys, ["report", str(saved_fit), "-o", str(report)], "already exists")
    assert report.read_text() == "mine"
    assert litter(tmp_path) == []


def test_compare_refuses_one_file_for_both_figures(tmp_path, capsys, no_nuts):
    refused(capsys, ["compare", str(good_csv(tmp_path)), "--law", "power_law", "--law", "compute",
                     "--plot", str(tmp_path / "a.png"), "--overlay", str(tmp_path / "a.png")], "both name")


def test_demo_refuses_an_existing_folder_without_overwrite(tmp_path, capsys, no_nuts):
    out = tmp_path / "demo"
    (out / "fit").mkdir(parents=True)
    (out / "report.html").write_text("an earlier demo")
    before = snapshot(tmp_path)
    refused(capsys, ["demo", "--out", str(out)], "already exists", "--overwrite")
    (out / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    refused(capsys, ["demo", "--out", str(out), "--overwrite"], "not the output of a bayeslaw demo")
    assert snapshot(tmp_path) == before


def test_failed_save_leaves_the_old_fit_and_no_litter(tmp_path, saved_fit, power_law_fit, monkeypatch):
    before = snapshot(tmp_path)

    def broken(self, *a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xr.DataTree, "to_netcdf", broken)
    with pytest.raises(OSError):
        copy.copy(power_law_fit).save(saved_fit, overwrite=True)
    with pytest.raises(OSError):
        copy.copy(power_law_fit).save(tmp_path / "new" / "deeper" / "fit")
    assert snapshot(tmp_path) == before and litter(tmp_path) == []


def test_interrupt_inside_the_commit_rolls_back(tmp_path, monkeypatch):
    """A Ctrl-C between the renames of a commit is held back, then undone: the old output stands."""
    dest = tmp_path / "out.txt"
    dest.write_text("old")
    real = os.replace
    calls = []
    # the API half below assumes Python's own SIGINT handler; a clean-clone CI run (2026-12-03) found another one
    # left in place by an earlier test of the same worker (not yet identified), so the test sets it itself
    found = signal.signal(signal.SIGINT, signal.default_int_handler)

    def replace(a, b):
        calls.append((a, b))
        if len(calls) == 1:
            signal.raise_signal(signal.SIGINT)   # deferred: only sets the flag
        real(a, b)

    monkeypatch.setattr(paths.os, "replace", replace)
    with interrupts.installed(), pytest.raises(KeyboardInterrupt):
        with paths.staging() as st:
            st.file(dest).write_text("new")
    assert dest.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    monkeypatch.setattr(paths.os, "replace", real)
    with pytest.raises(KeyboardInterrupt):   # the same outside the command line (the Python API)
        with paths.staging() as st:
            st.file(dest).write_text("new")
            signal.raise_signal(signal.SIGINT)
    assert dest.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    signal.signal(signal.SIGINT, found)


# -- item 9: pipes and standard input --------------------------------------------------------


def _stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_load_runs_from_stdin(monkeypatch):
    _stdin(monkeypatch, good_frame().to_csv(index=False, sep=";").encode("utf-16"))
    runs = bayeslaw.load_runs("-")
    assert runs.source == "<stdin>" and len(runs) == 10
    again = bayeslaw.load_runs("-")   # read once: a second reader of the same stdin gets the same table
    assert again.frame.equals(runs.frame)


def test_stdin_problems_are_one_sentence(monkeypatch, capsys, no_nuts):
    _stdin(monkeypatch, b"")
    refused(capsys, ["fit", "-", *FIT], "Standard input ('-') is empty")
    _stdin(monkeypatch, b"N,D,accuracy\n1e9,2e10,0.5\n")
    refused(capsys, ["fit", "-", *FIT], "<stdin> has no loss column")


def test_load_runs_from_a_fifo_and_a_dev_fd_pipe(tmp_path):
    data = good_frame().to_csv(index=False).encode()
    fifo = tmp_path / "runs.fifo"
    os.mkfifo(fifo)
    t = threading.Thread(target=lambda: fifo.write_bytes(data), daemon=True)
    t.start()
    runs = bayeslaw.load_runs(fifo)
    t.join(5)
    assert len(runs) == 10 and runs.source == str(fifo)

    r, w = os.pipe()
    t = threading.Thread(target=lambda: (os.write(w, data), os.close(w)), daemon=True)
    t.start()
    try:
        runs = bayeslaw.load_runs(f"/dev/fd/{r}")
        assert len(runs) == 10 and runs.source == f"<pipe /dev/fd/{r}>"
        # read once: the same pipe read again (backtest, then cross-validation) gives the same table
        assert bayeslaw.load_runs(f"/dev/fd/{r}").frame.equals(runs.frame)
    finally:
        t.join(5)
        os.close(r)


def test_fit_reads_stdin_end_to_end(monkeypatch, capsys, fake_nuts, tmp_path):
    _stdin(monkeypatch, good_frame().to_csv(index=False).encode())
    code, out, err = run_cli(capsys, ["fit", "-", *FIT, "--out", str(tmp_path / "f")])
    assert code == 0, err
    assert fake_nuts[0].runs.source == "<stdin>" and len(fake_nuts[0].runs) == 10


# -- item 10: Ctrl-C --------------------------------------------------------------------------


def test_a_swallowed_interrupt_still_exits_130_and_writes_nothing(tmp_path, capsys, monkeypatch, power_law_fit):
    """The fault: SIGINT lands in JAX's gc callback, the KeyboardInterrupt is 'ignored', the fit is saved."""

    def nuts_swallowing_ctrl_c(plan, **kwargs):
        def callback(phase, info):
            if phase == "start":
                signal.raise_signal(signal.SIGINT)   # the KeyboardInterrupt dies in the gc callback
        gc.callbacks.append(callback)
        try:
            gc.collect()
        finally:
            gc.callbacks.remove(callback)
        return copy.copy(power_law_fit)

    monkeypatch.setattr(bayeslaw.inference.fit, "fit", nuts_swallowing_ctrl_c)
    monkeypatch.setattr(common, "setup_jax", lambda n: None)
    data = good_csv(tmp_path)
    before = snapshot(tmp_path)
    code, out, err = run_cli(capsys, ["fit", str(data), *FIT, "--out", str(tmp_path / "f")])
    assert code == 130, err
    assert "interrupted" in err and "Exception ignored" not in err and "Traceback" not in err
    assert snapshot(tmp_path) == before


def test_an_interrupt_after_the_commit_is_ignored(tmp_path, capsys, monkeypatch, fake_nuts):
    from bayeslaw.cli import fit as fit_cmd

    real = fit_cmd.render

    def render(*a, **k):
        signal.raise_signal(signal.SIGINT)   # while the summary is printed: the fit is already saved
        return real(*a, **k)

    monkeypatch.setattr(fit_cmd, "render", render)
    code, out, err = run_cli(capsys, ["fit", str(good_csv(tmp_path)), *FIT, "--out", str(tmp_path / "f")])
    assert code == 0, err
    bayeslaw.load(tmp_path / "f")
    assert litter(tmp_path) == []


def _console(args: list[str], cwd: Path, **kw) -> subprocess.Popen:
    script = Path(sys.executable).with_name("bayeslaw")
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}   # BAYESLAW_CACHE_DIR: this worker's cache folder (conftest)
    return subprocess.Popen([str(script), *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def _sigint_at(delays: list[float], tmp_path: Path, *, stop_at_first_interrupt: bool = False) -> None:
    data = good_csv(tmp_path)
    # the plain law at the suite's common budget: its programs are those other tests compile (one stage, not two)
    argv = ["fit", str(data), "--law", "power_law", "--x", "N", "--curvature", "off", "--num-chains", "2",
            "--num-warmup", "300", "--num-samples", "300", "--quiet"]
    for name in ("warm", "ref"):   # the first run may compile (then cached); the second is timed
        t0 = time.monotonic()
        ref = _console([*argv, "--out", name], tmp_path)
        _, err = ref.communicate(timeout=300)
        assert ref.returncode == 0, err
    total = time.monotonic() - t0
    outcomes = []
    for i, frac in enumerate(delays):
        out = tmp_path / f"f{i}"
        proc = _console([*argv, "--out", out.name], tmp_path)
        time.sleep(frac * total)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=300)
        code = proc.returncode
        assert code in (0, 130), err
        assert "Traceback" not in err and "Exception ignored" not in err, err
        if code == 130:
            assert not out.exists() and "interrupted" in err
        else:
            bayeslaw.load(out)   # complete: the interrupt came after the commit point
        assert litter(tmp_path) == [], litter(tmp_path)
        outcomes.append(code)
        if code == 130 and stop_at_first_interrupt:
            break
    assert 130 in outcomes, outcomes


def test_sigint_to_the_console_script(tmp_path):
    """An interrupt mid-fit (each run is a new process: ~2-5 s). A run's length varies by a second between processes,
    so an interrupt at 0.6 of the timed run sometimes lands after the commit (exit 0, a complete fit: also checked);
    an earlier one is then tried. The slow test below tries nine delays, up to and past the commit point, and
    test_an_interrupt_after_the_commit_is_ignored the late one in this process."""
    _sigint_at([0.6, 0.35, 0.15], tmp_path, stop_at_first_interrupt=True)


@pytest.mark.slow
def test_sigint_to_the_console_script_at_many_delays(tmp_path):
    _sigint_at([0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05], tmp_path)


# -- item 11: saved fits are verified ----------------------------------------------------------


def _tamper(fit_dir: Path) -> None:
    with xr.open_datatree(fit_dir / "fit.nc", engine="netcdf4") as tree:
        tree = tree.load()
    tree["posterior"]["alpha"] = tree["posterior"]["alpha"] * 3
    tree.to_netcdf(fit_dir / "fit.nc", engine="netcdf4")


def test_an_edited_fit_is_refused_unless_verify_is_off(saved_fit, capsys):
    good = bayeslaw.load(saved_fit)
    _tamper(saved_fit)
    with pytest.raises(FitFileError) as exc:
        bayeslaw.load(saved_fit)
    msg = str(exc.value)
    assert "fit.nc" in msg and "changed since the fit was saved" in msg
    assert "verify=False" in msg and "--no-verify" in msg
    edited = bayeslaw.load(saved_fit, verify=False)
    assert edited.draws("alpha") == pytest.approx(3 * good.draws("alpha"))
    refused(capsys, ["predict", str(saved_fit), "--at", "N=1e11"], "fit.nc", "--no-verify")
    code, out, err = run_cli(capsys, ["predict", str(saved_fit), "--at", "N=1e11", "--no-verify"])
    assert code == 0, err


def test_an_edited_spec_is_refused(saved_fit):
    doc = json.loads((saved_fit / "spec.json").read_text())
    doc["reference_scales"]["log"] = {k: v + 1 for k, v in doc["reference_scales"]["log"].items()}
    (saved_fit / "spec.json").write_text(json.dumps(doc))
    with pytest.raises(FitFileError, match="spec.json' has changed"):
        bayeslaw.load(saved_fit)
    bayeslaw.load(saved_fit, verify=False)


def test_the_checksum_survives_load_and_save(saved_fit, tmp_path):
    first = json.loads((saved_fit / "spec.json").read_text())["checksum"]
    again = bayeslaw.load(saved_fit).save(tmp_path / "again")
    assert json.loads((again / "spec.json").read_text())["checksum"]["fit.nc"] == first["fit.nc"]


def test_paths_rule_in_the_api(tmp_path):
    """The rule is the same function for every output: a quick check of its messages in the API's words."""
    (tmp_path / "x.png").write_text("")
    with pytest.raises(BayeslawError, match="overwrite=True"):
        paths.check_output_file(tmp_path / "x.png", FIGS, flag="output file")
    assert paths.check_output_file(tmp_path / "x.png", FIGS, overwrite=True) == tmp_path / "x.png"
    assert litter(tmp_path) == []
