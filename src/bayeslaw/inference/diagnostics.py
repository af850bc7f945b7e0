"""Sampler diagnostics, computed once: the numbers (R-hat, ESS, divergences, E-BFMI) and the verdicts.

:func:`diagnostic_numbers` computes the numbers behind the checks from a fit's DataTree (the
report and the diagnostics figure show them); :func:`check_diagnostics` turns the same numbers
into one plain-language message per failed check, with what to try (Vehtari et al. 2021
thresholds), and warns with :class:`~bayeslaw.DiagnosticWarning`.

R-hat compares chains, so a fit of one chain cannot check it: its R-hat is NaN (``rhat_computed``
is False) and the check is reported as not computed (``"status": "not_computed"``, with the advice
to refit with two or more chains) rather than passed. Such a fit is not ``converged``.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import arviz_stats as azs
import numpy as np
import xarray as xr

from ..errors import DiagnosticWarning

#: Diagnostic thresholds (Vehtari et al. 2021, "Rank-normalization, folding, and localization").
RHAT_MAX = 1.01
#: R-hat needs at least this many chains.
MIN_CHAINS_RHAT = 2
ESS_MIN_PER_CHAIN = 100
BFMI_MIN = 0.3


def diagnostic_numbers(idata: xr.DataTree, var_names: Sequence[str]) -> dict[str, Any]:
    """Max R-hat, min bulk/tail ESS (per variable and overall), divergences and E-BFMI per chain.

    With one chain, R-hat is not computed: ``rhat_computed`` is False and the R-hat values are NaN."""
    names = list(var_names)
    post = idata["posterior"]
    chains = int(post.sizes["chain"])
    rhat_computed = chains >= MIN_CHAINS_RHAT
    rhat = azs.rhat(idata, var_names=names) if rhat_computed else None
    ess_b = azs.ess(idata, var_names=names, method="bulk")
    ess_t = azs.ess(idata, var_names=names, method="tail")
    bfmi = np.asarray(azs.bfmi(idata["sample_stats"].to_dataset())["energy"]).ravel()
    per_rhat = {n: float(rhat[n].max()) if rhat is not None else float("nan") for n in names}
    per_bulk = {n: float(ess_b[n].min()) for n in names}
    per_tail = {n: float(ess_t[n].min()) for n in names}
    return {
        "chains": chains,
        "draws": int(post.sizes["draw"]),
        "rhat_computed": rhat_computed,
        "rhat": per_rhat, "ess_bulk": per_bulk, "ess_tail": per_tail,
        "max_rhat": max(per_rhat.values()) if rhat_computed else float("nan"),
        "min_ess_bulk": min(per_bulk.values()),
        "min_ess_tail": min(per_tail.values()),
        "min_ess": min(min(per_bulk.values()), min(per_tail.values())),
        "divergences": int(np.asarray(idata["sample_stats"]["diverging"]).sum()),
        "transitions": int(chains * post.sizes["draw"]),
        "bfmi": [float(b) for b in bfmi],
        "min_bfmi": float(bfmi.min()),
        "ess_min": ESS_MIN_PER_CHAIN * chains,
    }


def check_diagnostics(idata: xr.DataTree, var_names: Sequence[str], warn: bool = True,
                      stacklevel: int = 2) -> list[dict[str, str]]:
    """Check R-hat, ESS, divergences and E-BFMI; one plain-language message per failed check (and per check
    that could not be computed, marked ``"status": "not_computed"``), warned (``stacklevel`` as for
    :func:`warnings.warn`, counted from the caller of this function) when ``warn``."""
    s = diagnostic_numbers(idata, var_names)
    found: list[dict[str, str]] = []
    if not s["rhat_computed"]:
        found.append({"check": "r_hat", "status": "not_computed", "message": (
            f"R-hat could not be checked with {s['chains']} chain: it compares chains, so nothing shows that "
            "the sampler converged; refit with num_chains >= 2 (--num-chains 4, the default).")})
    bad = {n: v for n, v in s["rhat"].items() if v > RHAT_MAX}
    if bad:
        worst = ", ".join(f"{k} {v:.3f}" for k, v in bad.items())
        found.append({"check": "r_hat", "message": (
            f"R-hat above {RHAT_MAX} ({worst}): the chains disagree, so the posterior is not trustworthy yet; "
            "run more warmup and draws (num_warmup/num_samples, --num-warmup/--num-samples), and if it persists "
            "look at the trace plot for a chain stuck in another mode and tighten the priors.")})
    low = {}
    for method in ("bulk", "tail"):
        for n, v in s[f"ess_{method}"].items():
            if v < s["ess_min"]:
                low[f"{n} ({method})"] = v
    if low:
        worst = ", ".join(f"{k} {v:.0f}" for k, v in low.items())
        found.append({"check": "ess", "message": (
            f"Effective sample size below {s['ess_min']} ({worst}): intervals are noisy; draw more samples "
            "(num_samples, --num-samples) or reparameterize the parameters that mix slowly.")})
    if s["divergences"]:
        found.append({"check": "divergences", "message": (
            f"{s['divergences']} of {s['transitions']} transitions diverged: NUTS could not follow the posterior's "
            "curvature, and the draws may be biased; raise target_accept_prob (e.g. 0.95, --target-accept-prob "
            "0.95), and check for a parameter pressed against a boundary (a floor E near the smallest loss, an "
            "exponent near 0).")})
    low_b = [i for i, b in enumerate(s["bfmi"]) if b < BFMI_MIN]
    if low_b:
        found.append({"check": "bfmi", "message": (
            f"E-BFMI below {BFMI_MIN} in chain(s) {', '.join(map(str, low_b))} "
            f"(values {', '.join(f'{s['bfmi'][i]:.2f}' for i in low_b)}): the sampler's momentum resampling "
            "explores the energy poorly, typical of heavy-tailed or funnel-shaped posteriors; use more informative "
            "priors on the noise (sigma, nu) or run longer warmup.")})
    if warn:
        for item in found:
            warnings.warn(item["message"], DiagnosticWarning, stacklevel=stacklevel + 1)
    return found


def not_computed(found: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """The findings of checks that could not be computed (R-hat with one chain), not failed."""
    return [dict(d) for d in found if d.get("status") == "not_computed"]


def failed(found: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """The findings of checks that were computed and failed."""
    return [dict(d) for d in found if d.get("status") != "not_computed"]
