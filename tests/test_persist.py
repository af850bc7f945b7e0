"""Programs exported ahead of time (bayeslaw.inference.persist): a new process skips tracing, with the same draws.

Each test points the export folder at a temporary one and forgets the compiled programs of this process
(:func:`forget`), so a fit either exports its programs (the starts, NUTS, the draws' constants and prior draws, the
pointwise log likelihood) or reads them, as a new process would. The fit is the suite's small one-variable fit (31 runs, 2 chains x (300 + 300)), whose programs other
tests compile too.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

import bayeslaw
from bayeslaw.core.catalogue import get_law, shipped
from bayeslaw.inference import fit as fit_module
from bayeslaw.inference import model, persist, sampler
from bayeslaw.inference.fit import prepare
from bayeslaw.inference.plan import plan_fit

SMALL = dict(x="N", curvature=False, num_chains=2, num_warmup=300, num_samples=300, seed=3, check=False,
             progress_bar=False)


@pytest.fixture(scope="module")
def runs():
    table = bayeslaw.load_runs(bayeslaw.example_data_path())
    return table.subset(table.frame.index[::8])


def forget() -> None:
    """Forget every program this process compiled for a fit (as a new process starts)."""
    sampler.clear_cache()
    for cache in (model._DRAWS, model._LOGLIK, fit_module._CONSTANTS):
        cache.clear()


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """Exports go to a new folder; the process's compiled starts and samplers are forgotten before and after."""
    where = tmp_path / "exported"
    monkeypatch.setattr(persist, "export_folder", lambda: where)
    forget()
    yield where
    forget()


def draws(fit) -> np.ndarray:
    return np.stack([fit.idata.posterior[k].values for k in ("E", "A", "alpha")])


def test_an_exported_program_gives_the_draws_of_a_traced_one(runs, folder, monkeypatch):
    first = bayeslaw.fit(runs, "power_law", **SMALL)
    files = sorted(folder.glob("*.jaxexport"))
    # the starts, the NUTS program, the draws' constants and prior draws, the pointwise log likelihood
    assert len(files) == 4

    # a "new process": nothing compiled here, and nothing may be exported, only read
    forget()
    read = []
    real_read = persist._read
    monkeypatch.setattr(persist, "_read", lambda path: read.append(path) or real_read(path))
    monkeypatch.setattr(jax.export, "export", lambda *a, **k: pytest.fail("traced and exported again"))
    second = bayeslaw.fit(runs, "power_law", **SMALL)
    assert sorted(read) == files
    np.testing.assert_array_equal(draws(second), draws(first))


def test_a_damaged_file_is_replaced(runs, folder):
    """A file that cannot be read is traced again (the draws of a program traced afresh) and exported anew."""
    first = bayeslaw.fit(runs, "power_law", **SMALL)
    for path in folder.glob("*.jaxexport"):
        path.write_bytes(b"not a program")
    forget()
    np.testing.assert_array_equal(draws(bayeslaw.fit(runs, "power_law", **SMALL)), draws(first))
    for path in folder.glob("*.jaxexport"):
        assert jax.export.deserialize(bytearray(path.read_bytes())) is not None


def test_a_folder_that_cannot_be_written_does_not_stop_a_fit(runs, tmp_path, monkeypatch, power_law_fit):
    """Nothing can be exported: the programs are traced as they would be with exporting off, and give the draws of
    the suite's shared fit of the same runs (made with exporting on)."""
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setattr(persist, "export_folder", lambda: blocker / "exported")
    forget()
    try:
        fit = bayeslaw.fit(runs, "power_law", **SMALL)
    finally:
        forget()
    np.testing.assert_array_equal(draws(fit), draws(power_law_fit))


def test_a_progress_bar_keeps_its_sampler_traced(runs, folder):
    bayeslaw.fit(runs, "power_law", **{**SMALL, "progress_bar": True})
    # all but the sampler (the bar's callback cannot be kept)
    assert len(list(folder.glob("*.jaxexport"))) == 3


def test_only_bayeslaws_own_laws_and_observation_models_are_kept(runs):
    assert prepare(plan_fit(runs, "power_law", x="N", curvature=False)).persist
    assert shipped(get_law("chinchilla_orthogonal"))
    mine = dataclasses.replace(get_law("power_law"), name="my_power_law")
    assert not shipped(mine)
    assert not prepare(plan_fit(runs, mine, x="N", curvature=False)).persist
    student = bayeslaw.get_observation_model("student_t")
    assert not prepare(plan_fit(runs, "power_law", x="N", curvature=False,
                                likelihood=dataclasses.replace(student, name="my_t"))).persist


def test_a_kept_function_that_cannot_be_exported_is_called_as_it_is(folder):
    kept = persist.Kept(("test", "concrete"), jax.jit(lambda x: x * float(x.sum())))   # needs a concrete value
    with pytest.raises(jax.errors.ConcretizationTypeError):   # what the caller falls back on (model.fit_draws)
        kept(np.ones(3))
    assert not list(folder.glob("*"))
    fine = persist.Kept(("test", "fine"), jax.jit(lambda x: {"twice": 2 * x}))
    np.testing.assert_array_equal(fine(np.ones(3))["twice"], 2.0)
    np.testing.assert_array_equal(fine(np.ones(4))["twice"], 2.0)   # one program per shape
    assert len(list(folder.glob("*.jaxexport"))) == 2
    off = persist.Kept(("test", "off"), jax.jit(lambda x: x + 1), keep=False)
    np.testing.assert_array_equal(off(np.ones(3)), 2.0)
    assert len(list(folder.glob("*.jaxexport"))) == 2


def test_a_first_stage_keeps_its_arithmetic(runs, folder, monkeypatch):
    """chinchilla_orthogonal's two stages: every program, the first stage's constants included, is kept and read by
    a new process, which traces and exports nothing."""
    budget = {**SMALL, "x": None, "curvature": "orthogonal", "seed": 2}
    table = bayeslaw.load_runs(bayeslaw.example_data_path())
    runs = table.subset(table.frame.index[::3])   # test_orthogonal's ladder: its compiled programs are shared
    first = bayeslaw.fit(runs, "chinchilla", **budget)
    made = set(folder.glob("*.jaxexport"))
    assert len(made) == 9   # per stage: starts, NUTS, draws, log likelihood; and the constants between them
    forget()
    monkeypatch.setattr(jax.export, "export", lambda *a, **k: pytest.fail("traced and exported again"))
    second = bayeslaw.fit(runs, "chinchilla", **budget)
    assert set(folder.glob("*.jaxexport")) == made
    np.testing.assert_array_equal(first.idata.posterior["E"].values, second.idata.posterior["E"].values)


def test_file_names_follow_the_source_and_the_key(monkeypatch):
    name = persist._file_name(("nuts", 1))
    assert persist._file_name(("nuts", 2)) != name
    monkeypatch.setattr(persist, "source_fingerprint", lambda: "another source")
    assert persist._file_name(("nuts", 1)) != name


def test_law_hashes_are_the_same_in_every_process():
    """A law built at run time (a misfit term's lambdas) hashes the same under any hash seed: its hash keys the
    exported programs and is checked when a saved fit is loaded."""
    code = ("from bayeslaw.core.catalogue import get_law; "
            "print([get_law(n).hash for n in ('chinchilla_orthogonal', 'power_law_orthogonal', 'chinchilla')])")
    out = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(out) == 1, out
    # a law without nested code keeps the hash it had before nested code was hashed stably (its maths hash: the full
    # hash also covers the coordinates' code, which changed on 2026-12-06, from ff42fe10901209d4)
    assert get_law("chinchilla").maths_hash == "36fbcc26205d7e74"


def test_an_exported_program_is_lowered_as_jit_lowers_it(tmp_path, monkeypatch):
    """Exports keep the lowering a plain jit gets (jaxlib's lgamma kernel on CPU, not the forward-compatible
    polynomial expansion, which made the exported starts and NUTS programs 3-4x slower to compile)."""
    monkeypatch.setattr(persist, "export_folder", lambda: tmp_path)
    f = jax.jit(lambda x: jax.scipy.special.gammaln(x).sum())
    x = np.linspace(0.5, 40.0, 8)
    plain = f.lower(x).as_text()
    call = persist.exported(("test", "lgamma"), f, (x,))
    assert call is not None
    kept = jax.export.deserialize(bytearray(next(tmp_path.glob("*.jaxexport")).read_bytes())).mlir_module()
    kernels = [name for name in ("cpu_lgamma_ffi",) if name in plain]
    assert all(name in kept for name in kernels)
    assert ("f2_add" in kept) == ("f2_add" in plain)
    np.testing.assert_allclose(call(x), f(x), rtol=1e-14)
