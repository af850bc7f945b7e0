"""The law catalogue, the Law contract and Prior objects.

(a) Each law with an independent numpy implementation of its paper's formula here (``CASES``;
    a new law may add one, it is not required) has a log-space mean, evaluated at raw inputs,
    equal to that formula written with the conventional constants (A, B, N_c, ...) that
    ``law.conventional`` computes; it stays finite, with finite gradients, at extreme inputs
    where the naive formula overflows.
(b) Every catalogue law honours the contract: priors with reasons, a constructor that
    rejects a mismatched ``log_mean``, a JSON-able ``to_dict`` (tests/test_catalogue.py adds the
    checks that run on each law's declared example: prior predictive, gradients, plumbing,
    recovery).
(c) Prior: printing, dict round trip, parsing, aliases, reference symbols, errors, and
    NumPyro distributions.
(d) A user-defined law in a few lines fits, and ``bayeslaw.register`` makes it loadable
    by name.
"""

from __future__ import annotations

import json
import math
import re

import arviz_stats as azs
import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pandas as pd
import pytest

import bayeslaw
from bayeslaw import Law, LawError, Param, Prior, PriorError
from bayeslaw.core import catalogue
from bayeslaw.core.priors import as_prior
from bayeslaw.models import LAWS

Y0 = 2.5  # a typical LLM loss, used as the reference-scale symbol y0
REFS = {"y0": Y0, "log_y0": math.log(Y0)}


# -- independent numpy implementations of the papers' formulas -----------------------------------


def np_chinchilla(N, D, *, E, A, B, alpha, beta):
    return E + A / N**alpha + B / D**beta


def np_kaplan(N, D, *, N_c, D_c, alpha_N, alpha_D):
    return ((N_c / N) ** (alpha_N / alpha_D) + D_c / D) ** alpha_D


def np_compute(C, *, E, A, alpha):
    return E + A * C**-alpha


def np_power_law(x, *, E, A, alpha):
    return E + A * x**-alpha


def np_broken_power_law(x, *, E, b, c0, c1, d1, f1):
    return E + b * x**-c0 * (1 + (x / d1) ** (1 / f1)) ** (-c1 * f1)


def np_shared_exponent(N, D, *, E, A, B, alpha):
    return E + A / N**alpha + B / D**alpha


def np_farseer(N, D, *, a1, b1, a2, b2, a3, b3, alpha, beta, gamma):
    return np.exp(a3 * N**gamma + b3) + np.exp(a2 * N**beta + b2) * D ** -np.exp(a1 * N**alpha + b1)


def np_data_constrained(N, D, U, *, E, A, B, alpha, beta, rn_star, rd_star):
    # Muennighoff et al.'s code (huggingface/datablations README), with min(D, U) as the base so
    # that D <= U (no repetition) gives D' = D.
    G = (alpha * A / (beta * B)) ** (1 / (alpha + beta))
    UN = np.minimum(N, (U * G) ** (beta / alpha) * G)
    RD = np.maximum(D / U - 1, 0)
    RN = np.maximum(N / UN - 1, 0)
    Dp = np.minimum(D, U) + U * rd_star * (1 - np.exp(-RD / rd_star))
    Np = UN + UN * rn_star * (1 - np.exp(-RN / rn_star))
    return E + A / Np**alpha + B / Dp**beta


def np_m3(x, *, beta, gamma, c):
    return beta * (1 / x + gamma) ** c  # the authors' benchmark code, methods/m3.py


def np_m4(x, *, eps_inf, eps_0, alpha, beta, c):
    """(L - eps_inf) / (eps_0 - L)^alpha = beta x^c, solved for each x with brentq (as w = L - eps_inf)."""
    from scipy.optimize import brentq

    gap = eps_0 - eps_inf
    out = []
    for xi in np.atleast_1d(x):
        f = beta * xi**c
        w = brentq(lambda w: w - f * (gap - w) ** alpha, 0.0, gap, xtol=1e-300, rtol=1e-15, maxiter=2000)
        out.append(eps_inf + w)
    return np.array(out)


def _grid(lo, hi, n=7):
    return np.logspace(lo, hi, n)


_N, _D = np.meshgrid(_grid(7, 11), _grid(9, 12.5))
# unique tokens: from 1/8 of D (8 epochs) to 5 x D (no repetition: the law then uses D itself)
_U = _D.ravel() * np.resize([5.0, 2.0, 1.0, 0.5, 0.25, 0.125], _D.size)
# Muennighoff et al.'s fitted constants, from their code: E, A, B = exp(e, a, b)
_MUENNIGHOFF = dict(E=math.exp(0.6254804), A=math.exp(6.255414), B=math.exp(7.3049974), alpha=0.3526596,
                    beta=0.3526596, rd_star=15.387756, rn_star=5.309743)
# Each case: sampled parameters (what NUTS sees), log reference scales, raw inputs, the numpy
# formula and the conventional constants it takes.
CASES = {
    "chinchilla": dict(
        params={"E": 1.8, "a": -0.9, "alpha": 0.34, "b": -1.1, "beta": 0.37},
        log_ref={"N": math.log(1e9), "D": math.log(2e10)},
        inputs={"N": _N.ravel(), "D": _D.ravel()},
        formula=np_chinchilla, conv=("E", "A", "B", "alpha", "beta"),
    ),
    "kaplan": dict(
        params={"p": 0.8, "alpha_N": 0.076, "q": 0.75, "alpha_D": 0.103},
        log_ref={"N": math.log(1e9), "D": math.log(2e10)},
        inputs={"N": _N.ravel(), "D": _D.ravel()},
        formula=np_kaplan, conv=("N_c", "D_c", "alpha_N", "alpha_D"),
    ),
    "compute": dict(
        params={"E": 1.7, "a": -0.3, "alpha": 0.15},
        log_ref={"C": math.log(1e20)},
        inputs={"C": _grid(17, 24, 15)},
        formula=np_compute, conv=("E", "A", "alpha"),
    ),
    "power_law": dict(
        params={"E": 1.9, "a": 0.2, "alpha": 0.3},
        log_ref={"x": math.log(3e8)},
        inputs={"x": _grid(6, 11, 15)},
        formula=np_power_law, conv=("E", "A", "alpha"),
    ),
    "broken_power_law": dict(
        params={"E": 1.5, "log_b": 0.3, "c0": 0.1, "c1": 0.4, "log_d1": 0.5, "f1": 0.3},
        log_ref={"x": math.log(1e9)},
        inputs={"x": _grid(6, 12, 25)},
        formula=np_broken_power_law, conv=("E", "b", "c0", "c1", "d1", "f1"),
    ),
    "shared_exponent": dict(
        params={"E": 1.8, "a": -0.9, "b": -1.1, "alpha": 0.34},
        log_ref={"N": math.log(1e9), "D": math.log(2e10)},
        inputs={"N": _N.ravel(), "D": _D.ravel()},
        formula=np_shared_exponent, conv=("E", "A", "B", "alpha"),
    ),
    "farseer": dict(
        params={"log_floor": math.log(2.0), "slope_floor": -0.08, "gamma": 0.2, "log_term": -0.5,
                "slope_term": 0.3, "beta": 0.1, "log_exponent": math.log(0.3), "slope_exponent": 0.05,
                "alpha": 0.15},
        log_ref={"N": math.log(1e9), "D": math.log(1e10)},  # D: the law's fixed scale
        inputs={"N": _N.ravel(), "D": _D.ravel()},
        formula=np_farseer, conv=("a1", "b1", "a2", "b2", "a3", "b3", "alpha", "beta", "gamma"),
    ),
    "data_constrained": dict(
        # the published fit, in the sampled parameterisation at N0 = 1e9, D0 = 2e10
        params={"E": _MUENNIGHOFF["E"], "a": 6.255414 - 0.3526596 * math.log(1e9), "alpha": 0.3526596,
                "b": 7.3049974 - 0.3526596 * math.log(2e10), "beta": 0.3526596, "rn_star": 5.309743,
                "rd_star": 15.387756},
        log_ref={"N": math.log(1e9), "D": math.log(2e10), "U": math.log(2e10)},  # U at D's scale
        inputs={"N": _N.ravel(), "D": _D.ravel(), "U": _U},
        formula=np_data_constrained, conv=("E", "A", "B", "alpha", "beta", "rn_star", "rd_star"),
    ),
    "m3": dict(
        params={"l0": math.log(2.5), "c": 0.4, "g": -1.0},
        log_ref={"x": math.log(3e8)},
        inputs={"x": _grid(6, 11, 15)},
        formula=np_m3, conv=("beta", "gamma", "c"),
    ),
    "m4": dict(
        params={"eps_inf": 1.5, "log_gap": math.log(8.0), "r0": 0.5, "k": 0.35, "alpha": 1.6},
        log_ref={"x": math.log(3e8)},
        inputs={"x": _grid(6, 11, 15)},
        formula=np_m4, conv=("eps_inf", "eps_0", "alpha", "beta", "c"),
    ),
}


def _log_farseer(c, s):
    """log L of the Farseer formula at log sizes s, in log space (conventional constants)."""
    n = s["N"]
    log_a = c["a1"] * math.exp(c["alpha"] * n) + c["b1"]
    return np.logaddexp(c["a3"] * math.exp(c["gamma"] * n) + c["b3"],
                        c["a2"] * math.exp(c["beta"] * n) + c["b2"] - math.exp(log_a) * s["D"])

# The dominant term as every size goes to 0 (log L ~ slope * log(size) + const), computed from
# conventional constants: an independent check where the naive formula overflows.
SMALL_SIZE_ASYMPTOTE = {
    "chinchilla": lambda c, s: (math.log(c["A"]) - c["alpha"] * s["N"]) if c["alpha"] > c["beta"]
    else (math.log(c["B"]) - c["beta"] * s["D"]),
    "kaplan": lambda c, s: max(c["alpha_N"] * (math.log(c["N_c"]) - s["N"]),
                               c["alpha_D"] * (math.log(c["D_c"]) - s["D"])),
    "compute": lambda c, s: math.log(c["A"]) - c["alpha"] * s["C"],
    "power_law": lambda c, s: math.log(c["A"]) - c["alpha"] * s["x"],
    "broken_power_law": lambda c, s: math.log(c["b"]) - c["c0"] * s["x"],
    "shared_exponent": lambda c, s: np.logaddexp(math.log(c["A"]) - c["alpha"] * s["N"],
                                                 math.log(c["B"]) - c["alpha"] * s["D"]),  # same exponent
    "farseer": _log_farseer,  # no single dominant power law: the formula itself, in log space
    "data_constrained": lambda c, s: math.log(np_data_constrained(  # finite in float64 at 1e-300
        *(np.exp(s[v]) for v in ("N", "D", "U")), **{k: c[k] for k in CASES["data_constrained"]["conv"]})),
    "m3": lambda c, s: math.log(c["beta"]) - c["c"] * s["x"],
    "m4": lambda c, s: math.log(c["eps_0"]),  # beta x^c -> infinity: L -> eps_0
}

law_names = sorted(LAWS)
all_laws = pytest.mark.parametrize("law", [LAWS[n] for n in law_names], ids=law_names)
checked = sorted(set(CASES) & set(LAWS))
laws_with_formulas = pytest.mark.parametrize("law", [LAWS[n] for n in checked], ids=checked)


def _jparams(params):
    return {k: jnp.asarray(v) for k, v in params.items()}


# -- (a) maths ------------------------------------------------------------------------------------


@laws_with_formulas
def test_log_mean_matches_paper_formula(law):
    case = CASES[law.name]
    conv = {k: float(v) for k, v in law.conventional(_jparams(case["params"]), case["log_ref"]).items()}
    assert set(case["conv"]) <= set(conv) and set(law.report) <= set(conv)
    got = np.exp(np.asarray(law.evaluate_log(case["inputs"], case["params"], case["log_ref"])))
    want = case["formula"](*(case["inputs"][v] for v in law.inputs), **{k: conv[k] for k in case["conv"]})
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10)


@laws_with_formulas
def test_conventional_constants_do_not_depend_on_the_reference_scale(law):
    """The same curve described with another reference scale gives the same A, B, N_c, ...."""
    case = CASES[law.name]
    conv = law.conventional(_jparams(case["params"]), case["log_ref"])
    # (a law's fixed scales stay fixed, and shared ones move together)
    shift = law.centred({v: r + 2.0 for v, r in case["log_ref"].items()})
    # The same curve, re-expressed for reference scales e^2 times larger (algebra in _recentre):
    # the law's values and the conventional constants must not change.
    y_ref = np.asarray(law.evaluate_log(case["inputs"], case["params"], case["log_ref"]))
    conv2 = _recentre(law, case["params"], case["log_ref"], shift)
    y_shift = np.asarray(law.evaluate_log(case["inputs"], conv2["sampled"], shift))
    np.testing.assert_allclose(y_shift, y_ref, rtol=1e-10, atol=1e-12)
    for k in case["conv"]:
        np.testing.assert_allclose(float(conv2["conventional"][k]), float(conv[k]), rtol=1e-10)


def _recentre(law, params, log_ref, new_ref):
    """Sampled parameters describing the same curve at ``new_ref`` (law-specific algebra)."""
    p = dict(params)
    d = {v: new_ref[v] - log_ref[v] for v in log_ref}
    if law.name == "chinchilla":
        p["a"] = params["a"] - params["alpha"] * d["N"]
        p["b"] = params["b"] - params["beta"] * d["D"]
    elif law.name == "compute":
        p["a"] = params["a"] - params["alpha"] * d["C"]
    elif law.name == "power_law":
        p["a"] = params["a"] - params["alpha"] * d["x"]
    elif law.name == "kaplan":
        p["p"] = params["p"] - params["alpha_N"] * d["N"]
        p["q"] = params["q"] - params["alpha_D"] * d["D"]
    elif law.name == "broken_power_law":
        p["log_b"] = params["log_b"] - params["c0"] * d["x"]
        p["log_d1"] = params["log_d1"] - d["x"]
    elif law.name == "shared_exponent":
        p["a"] = params["a"] - params["alpha"] * d["N"]
        p["b"] = params["b"] - params["alpha"] * d["D"]
    elif law.name == "data_constrained":
        assert d["U"] == d["D"]
        p["a"] = params["a"] - params["alpha"] * d["N"]
        p["b"] = params["b"] - params["beta"] * d["D"]
    elif law.name == "farseer":
        assert d["D"] == 0.0  # D is at a fixed scale; N moves: value and slope at the new N0

        def bc(e):
            return math.expm1(e * d["N"]) / e

        lb = params["log_term"] + math.exp(params["log_exponent"]) * math.log(1e10)
        p["log_floor"] = params["log_floor"] + params["slope_floor"] * bc(params["gamma"])
        p["slope_floor"] = params["slope_floor"] * math.exp(params["gamma"] * d["N"])
        p["log_exponent"] = params["log_exponent"] + params["slope_exponent"] * bc(params["alpha"])
        p["slope_exponent"] = params["slope_exponent"] * math.exp(params["alpha"] * d["N"])
        lb_new = lb + params["slope_term"] * bc(params["beta"])
        p["slope_term"] = params["slope_term"] * math.exp(params["beta"] * d["N"])
        p["log_term"] = lb_new - math.exp(p["log_exponent"]) * math.log(1e10)
    elif law.name == "m3":
        g, c = params["g"], params["c"]
        p["l0"] = params["l0"] + c * (np.logaddexp(-d["x"], g) - np.logaddexp(0.0, g))
        p["g"] = g + d["x"]
    elif law.name == "m4":
        p["r0"] = params["r0"] - params["k"] * d["x"]
    else:  # pragma: no cover - a new law needs its algebra here
        raise AssertionError(f"no re-centring rule for {law.name}")
    return {"sampled": p, "conventional": law.conventional(_jparams(p), new_ref)}


@laws_with_formulas
def test_extreme_inputs_stay_finite(law):
    case = CASES[law.name]
    conv = {k: float(v) for k, v in law.conventional(_jparams(case["params"]), case["log_ref"]).items()}
    for size in (1e15, 1.0, 1e-3):
        raw = {v: np.array([size]) for v in law.inputs}
        got = np.asarray(law.evaluate_log(raw, case["params"], case["log_ref"]))
        assert np.all(np.isfinite(got)), (size, got)
        want = case["formula"](*(raw[v] for v in law.inputs), **{k: conv[k] for k in case["conv"]})
        np.testing.assert_allclose(np.exp(got), want, rtol=1e-9)
    # Tiny sizes where L itself overflows float64 in the naive form: log space stays finite and
    # follows the dominant power-law term.
    raw = {v: np.array([1e-300]) for v in law.inputs}
    got = float(np.asarray(law.evaluate_log(raw, case["params"], case["log_ref"]))[0])
    assert math.isfinite(got)
    logs = {v: math.log(1e-300) for v in law.inputs}
    assert got == pytest.approx(SMALL_SIZE_ASYMPTOTE[law.name](conv, logs), rel=1e-6)
    if law.name in ("chinchilla", "compute", "power_law"):
        # With an exponent of 1.5 the naive formula overflows to inf; the log-space law does not.
        steep = {**case["params"], **{k: 1.5 for k in ("alpha", "beta") if k in case["params"]}}
        steep_conv = {k: float(v) for k, v in law.conventional(_jparams(steep), case["log_ref"]).items()}
        with np.errstate(over="ignore", divide="ignore", under="ignore"):
            naive = case["formula"](*(raw[v] for v in law.inputs), **{k: steep_conv[k] for k in case["conv"]})
        assert np.isinf(naive).all()
        got = float(np.asarray(law.evaluate_log(raw, steep, case["log_ref"]))[0])
        assert math.isfinite(got) and got > 700  # log L > log(max float64)
    # Gradients with respect to every sampled parameter are finite at both extremes.
    for size in (1e15, 1e-300):
        raw = {v: np.array([size]) for v in law.inputs}
        grads = jax.grad(lambda p: law.evaluate_log(raw, p, case["log_ref"]).sum())(_jparams(case["params"]))
        assert all(np.isfinite(np.asarray(g)).all() for g in grads.values()), (size, grads)


# -- (b) catalogue contract -----------------------------------------------------------------------


@all_laws
def test_every_param_has_a_prior_and_a_reason(law):
    assert law.params, law.name
    for name, p in law.params.items():
        assert isinstance(p, Param)
        assert isinstance(p.prior, Prior), name
        assert isinstance(p.why, str) and p.why.strip(), f"{law.name}.{name} has no 'why'"
        p.prior.resolve(REFS)  # the default prior is a valid distribution
    assert law.formula and law.reference and law.version
    ex = law.example
    log_ref = law.centred({v: float(np.mean(np.log(a))) for v, a in ex.inputs.items()})
    assert set(law.report) <= set(law.params) | set(law.conventional(_jparams(ex.params), log_ref))
    for name in law.params:
        assert name in law.describe()


@all_laws
def test_constructor_rejects_mismatched_log_mean(law):
    names = list(law.params)
    # log_mean takes a parameter that has no prior: drop the last prior.
    fewer = {k: law.params[k] for k in names[:-1]}
    with pytest.raises(LawError) as exc:
        Law(name=law.name, inputs=law.inputs, log_mean=law.log_mean, params=fewer,
            formula=law.formula, reference=law.reference)
    msg = str(exc.value)
    assert names[-1] in msg and "no prior is declared" in msg and law.name in msg
    # a prior for a parameter that log_mean does not take
    more = {**law.params, "zeta": Param(Prior("Normal", 0, 1), "test")}
    with pytest.raises(LawError) as exc:
        Law(name=law.name, inputs=law.inputs, log_mean=law.log_mean, params=more,
            formula=law.formula, reference=law.reference)
    msg = str(exc.value)
    assert "zeta" in msg and "does not take" in msg


@all_laws
def test_to_dict_is_json(law):
    d = law.to_dict()
    back = json.loads(json.dumps(d, allow_nan=False))
    assert back["name"] == law.name and back["hash"] == law.hash and back["version"] == law.version
    assert set(back["priors"]) == set(law.params)
    for k, pd_ in back["priors"].items():
        assert Prior.from_dict(pd_) == law.params[k].prior
    assert re.fullmatch(r"[0-9a-f]{16}", law.hash)


# -- (c) Prior ------------------------------------------------------------------------------------


def test_prior_repr_is_the_constructor_call():
    assert repr(Prior("Uniform", 0, 1)) == "Uniform(low=0, high=1)"
    assert str(Prior("Gamma", concentration=2, rate=5)) == "Gamma(concentration=2, rate=5)"
    assert repr(Prior("HalfNormal", scale="y0")) == "HalfNormal(scale=y0)"
    for p in (Prior("Normal", -0.5, 2.5), Prior("Normal", loc=0.123456789, scale=1e-7),
              Prior("TruncatedNormal", 0, 1, 0, math.inf), Prior("Normal", loc="log_y0", scale=2)):
        assert Prior.parse(repr(p)) == p, repr(p)


def test_prior_dict_round_trip():
    for p in (Prior("Beta", 2, 4), Prior("StudentT", 3, 0, 1), Prior("LogNormal", loc="log_y0", scale=1.5),
              Prior("Delta", 0.25)):
        d = p.to_dict()
        assert json.loads(json.dumps(d)) == d
        assert Prior.from_dict(d) == p
        assert hash(Prior.from_dict(d)) == hash(p)
    with pytest.raises(PriorError, match="'dist' key"):
        Prior.from_dict({"loc": 0, "scale": 1})


def test_prior_parse_forms_and_aliases():
    assert Prior.parse("Uniform(0, 1)") == Prior("Uniform", low=0.0, high=1.0)
    assert Prior.parse("  Normal(loc=0, scale=2) ") == Prior("Normal", 0, 2)
    assert Prior.parse("Normal(0, scale=2)") == Prior("Normal", 0, 2)
    assert Prior.parse("Normal(-1.5, 2e-1)") == Prior("Normal", -1.5, 0.2)
    # PyMC / SciPy spellings
    assert Prior("Normal", mu=0, sigma=2) == Prior("Normal", 0, 2)
    assert Prior.parse("Normal(mu=0, sd=2)") == Prior("Normal", 0, 2)
    assert Prior("Gamma", alpha=2, beta=5) == Prior("Gamma", concentration=2, rate=5)
    assert Prior("InverseGamma", alpha=3, beta=1) == Prior("InverseGamma", 3, 1)
    assert Prior("Beta", alpha=2, beta=4) == Prior("Beta", 2, 4)
    assert Prior("StudentT", nu=3, mu=0, sigma=1) == Prior("StudentT", 3, 0, 1)
    assert Prior("Uniform", lower=0, upper=1) == Prior("Uniform", 0, 1)
    assert Prior("Exponential", lam=2) == Prior("Exponential", 2)
    # numpy scalars are numbers too
    assert Prior("Normal", np.float32(0.5), np.int64(2)) == Prior("Normal", 0.5, 2)


def test_prior_reference_symbols():
    p = Prior.parse("HalfNormal(y0)")
    assert p.params == {"scale": "y0"}
    d = p.resolve({"y0": 3.0})
    assert isinstance(d, dist.HalfNormal) and float(d.scale) == 3.0
    q = Prior.parse("Normal(log_y0, 2)").resolve(REFS)
    assert float(q.loc) == pytest.approx(math.log(Y0))
    with pytest.raises(PriorError, match="reference scale 'y0'"):
        p.resolve({})


@pytest.mark.parametrize("text, pattern", [
    ("Uniform(0)", r"Uniform needs argument\(s\) high; write e\.g\. Uniform\(low=1, high=1\)"),
    ("Uniform(1, 0)", r"low < high"),
    ("Normal(0, -1)", r"scale must be positive"),
    ("Gamma(2, 5, 7)", r"at most 2 arguments \(concentration, rate\)"),
    ("Normal(0, 1, scale=2)", r"at most 2 arguments|twice"),
    ("Normal(loc=0, scale=1, loc=2)", r"gives the argument\(s\) loc more than once"),
    ("Normal(**kw)", r"write the arguments out"),
    ("Normal(*args)", r"numbers \(or y0, log_y0\)"),
    ("Normal(0, width=1)", r"Normal has no argument 'width'; its arguments are: loc, scale"),
    ("Normal(x0, 1)", r"numbers \(or y0, log_y0\)"),
    ("Normal('a', 1)", r"numbers \(or y0, log_y0\)"),
    ("Normal(nan, 1)", r"numbers \(or y0, log_y0\)"),
    ("Normal(0, inf)", r"must be a finite number"),
    ("Normal(True, 1)", r"numbers"),
    ("Gaussian(0, 1)", r"Unknown distribution 'Gaussian'; choose one of: Normal, HalfNormal"),
    ("Uniform(0, 1", r"Cannot read prior 'Uniform\(0, 1'; write it like Uniform\(0, 1\)"),
    ("Uniform", r"Cannot read prior"),
    ("np.Uniform(0, 1)", r"Cannot read prior"),
    ("", r"Cannot read prior"),
])
def test_bad_prior_text_raises_a_useful_error(text, pattern):
    with pytest.raises(PriorError, match=pattern):
        Prior.parse(text)


def test_bad_prior_values_raise():
    with pytest.raises(PriorError, match="neither a number nor a reference scale"):
        Prior("Normal", "y1", 1)
    with pytest.raises(PriorError, match="got argument 'scale' twice"):
        Prior("Normal", 0, 1, sigma=2)
    with pytest.raises(PriorError, match="must be a numpyro distribution, a Prior or a string"):
        as_prior(0.5, name="alpha")
    assert issubclass(PriorError, ValueError)


@pytest.mark.parametrize("prior", [
    Prior("Normal", 0.5, 2), Prior("HalfNormal", 0.2), Prior("LogNormal", -1, 1), Prior("StudentT", 3, 0, 1),
    Prior("Cauchy", 0, 1), Prior("HalfCauchy", 1), Prior("Gamma", 2, 5), Prior("InverseGamma", 2, 3),
    Prior("Exponential", 1.5), Prior("Beta", 2, 4), Prior("Uniform", 0, 1),
    Prior("TruncatedNormal", 0, 1, -1, 2), Prior("Delta", 3),
], ids=lambda p: p.dist)
def test_prior_from_distribution_round_trip(prior):
    d = prior.resolve({})
    assert Prior.from_distribution(d) == prior
    assert as_prior(d) == prior


def test_prior_from_distribution_edge_cases():
    # float32 parameters (JAX without x64) are recorded as written, not as their float64 widening
    with jax.enable_x64(False):
        d = dist.Normal(0.1, 0.3)
        assert Prior.from_distribution(d) == Prior("Normal", 0.1, 0.3)
    # one-sided truncation
    assert Prior.from_distribution(dist.TruncatedNormal(0.0, 1.0, low=0.0)) == Prior(
        "TruncatedNormal", 0, 1, 0, math.inf)
    assert Prior.from_distribution(dist.TruncatedNormal(0.0, 1.0, high=1.0)) == Prior(
        "TruncatedNormal", 0, 1, -math.inf, 1)
    with pytest.raises(PriorError, match="Cannot record a Laplace prior; use one of Normal"):
        Prior.from_distribution(dist.Laplace(0.0, 1.0))
    with pytest.raises(PriorError, match="Only scalar prior arguments"):
        Prior.from_distribution(dist.Normal(jnp.zeros(3), 1.0))


# -- (d) a user-defined law -------------------------------------------------------------------


def _pure_power(x, log_c, alpha):
    return log_c - alpha * x["x"]


def test_user_defined_law_fits_and_registers(monkeypatch, tmp_path):
    monkeypatch.setattr(catalogue, "_USER_LAWS", {})  # leave the registry as it was
    # A law in a few lines: priors may be given as strings.
    law = Law(name="pure_power", inputs=("x",), log_mean=_pure_power,
              params={"log_c": "Normal(log_y0, 1)", "alpha": "Gamma(2, 5)"},
              formula="L = c * x^-alpha", reference="test")
    assert law.params["alpha"].prior == Prior("Gamma", 2, 5)
    with pytest.raises(LawError, match="Unknown law 'pure_power'"):
        bayeslaw.get_law("pure_power")
    assert bayeslaw.register(law) is law
    assert bayeslaw.get_law("pure_power") is law and "pure_power" in bayeslaw.available_laws()
    with pytest.raises(LawError, match="register\\(\\) takes a Law"):
        bayeslaw.register("pure_power")

    rng = np.random.default_rng(0)
    x = np.logspace(6, 9, 12)
    loss = 30.0 * x**-0.2 * np.exp(rng.normal(0, 0.01, x.size))
    f = bayeslaw.fit(pd.DataFrame({"x": x, "loss": loss}), law="pure_power", x="x", num_chains=2,
                     num_warmup=300, num_samples=300, seed=0, check=False)
    # check=False: the library's R-hat threshold (1.01) is meant for full-length runs; this short
    # run is held to R-hat <= 1.05 and no divergences, as in test_catalogue.py.
    assert f.law is law and f.spec.law_name == "pure_power"
    alpha = f.draws("alpha")
    lo, hi = np.quantile(alpha, [0.05, 0.95])
    assert lo < 0.2 < hi and hi - lo < 0.05
    assert int(f.idata["sample_stats"]["diverging"].sum()) == 0
    rhat = azs.rhat(f.idata, var_names=["log_c", "alpha"])
    assert max(float(rhat[k]) for k in ("log_c", "alpha")) <= 1.05
    # loadable by name while registered, with a hint when it is not
    f.save(tmp_path / "fit")
    assert bayeslaw.load(tmp_path / "fit").law is law
    monkeypatch.setattr(catalogue, "_USER_LAWS", {})
    with pytest.raises(LawError, match="register it with bayeslaw.register"):
        bayeslaw.load(tmp_path / "fit")
    assert bayeslaw.load(tmp_path / "fit", law=law).law is law


def test_law_declaration_errors():
    with pytest.raises(LawError, match="snake_case"):
        Law(name="PurePower", inputs=("x",), log_mean=_pure_power,
            params={"log_c": "Normal(0, 1)", "alpha": "Gamma(2, 5)"}, formula="", reference="")
    with pytest.raises(LawError, match="distinct input names"):
        Law(name="pp", inputs=("x", "x"), log_mean=_pure_power,
            params={"log_c": "Normal(0, 1)", "alpha": "Gamma(2, 5)"}, formula="", reference="")
    with pytest.raises(PriorError, match="Unknown distribution"):
        Law(name="pp", inputs=("x",), log_mean=_pure_power,
            params={"log_c": "Normal(0, 1)", "alpha": "Gama(2, 5)"}, formula="", reference="")
