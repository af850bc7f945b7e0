"""Prior sensitivity: power-scaling analysis of a fit (Kallioinen et al. 2024).

:func:`prior_sensitivity` runs ``arviz_stats.psense_summary`` on a fit: the log prior of every
draw is computed from the fit's recorded priors and added as a ``log_prior`` group, and each
parameter is classed by whether the prior or the likelihood dominates it.
"""

from __future__ import annotations

import logging

import arviz_base as azb
import arviz_stats as azs
import jax
import numpy as np
import pandas as pd
import xarray as xr

from ..core.priors import Prior
from ..inference.result import Fit


def log_prior_draws(fit: Fit) -> dict[str, np.ndarray]:
    """Log prior density of each sampled parameter at each posterior draw: name -> (chain, draw).

    The posterior holds the sampled parameters on their own (constrained) scale, so the log
    density is that of the recorded prior at the drawn value.
    """
    refs = fit.spec.prior_symbols
    post = fit.idata["posterior"]
    out = {}
    with jax.enable_x64(True):
        for name, d in fit.spec.priors.items():
            if name not in post.data_vars:
                continue
            dist = Prior.from_dict(d).resolve(refs)
            out[name] = np.asarray(dist.log_prob(np.asarray(post[name].values, float)), float)
    return out


def with_log_prior(fit: Fit) -> xr.DataTree:
    """The fit's DataTree plus a ``log_prior`` group (one variable per sampled parameter)."""
    post = fit.idata["posterior"]
    lp = azb.from_dict({"log_prior": log_prior_draws(fit)},
                       coords={"chain": post["chain"].values, "draw": post["draw"].values})
    tree = fit.idata.copy()
    tree["log_prior"] = lp["log_prior"]
    return tree


def prior_sensitivity(fit: Fit, *, var_names: list[str] | None = None, threshold: float = 0.05) -> pd.DataFrame:
    """Power-scaling prior and likelihood sensitivity of each parameter (``arviz_stats.psense_summary``).

    Returns
    -------
    DataFrame
        One row per parameter (index ``param``): ``prior`` and ``likelihood`` (cumulative
        Jensen-Shannon sensitivity to power-scaling each), ``diagnosis`` as ArviZ words it
        (``"✓"``, ``"potential strong prior / weak likelihood"``, ``"potential prior-data
        conflict"``) and ``dominated_by``: ``"prior"`` where the prior is sensitive and the
        likelihood is not, ``"prior-data conflict"`` where both are, else ``"likelihood"``.
    """
    names = var_names or fit.param_names
    tree = with_log_prior(fit)
    logger = logging.getLogger("arviz_stats")
    level = logger.level
    logger.setLevel(logging.ERROR)  # psense_summary logs a pointer to docs when it flags something
    try:
        table = pd.DataFrame(azs.psense_summary(tree, var_names=names, threshold=threshold, round_to=6))
    finally:
        logger.setLevel(level)
    table.index.name = "param"

    def dominated(row):
        if row["prior"] >= threshold and row["likelihood"] >= threshold:
            return "prior-data conflict"
        if row["prior"] > threshold > row["likelihood"]:
            return "prior"
        return "likelihood"

    table["dominated_by"] = table.apply(dominated, axis=1)
    return table
