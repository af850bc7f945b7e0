"""Exact refits for ArviZ's cross-validation: one ``SamplingWrapper`` over bayeslaw's :func:`refit`.

``arviz_stats.reloo`` (exact LOO where PSIS fails), ``loo_kfold`` (leave-one-group-out) and
``lfo_cv`` (leave-future-out) all drive the same wrapper: it leaves runs out of a fit's table,
refits the same law, likelihood, priors and sampler settings on the rest, and scores the
left-out runs by their log predictive density under the refit (:func:`bayeslaw.posterior.
predict.log_density`). Every refit is recorded with the diagnostic checks it failed.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr
from arviz_stats import SamplingWrapper
from scipy.special import logsumexp

from ..core.runs import Runs
from ..inference.refit import refit
from ..inference.result import Fit
from ..posterior.predict import log_density


def plain(v: Any) -> Any:
    """A NumPy scalar as the Python value it holds (run labels in records)."""
    return v.item() if hasattr(v, "item") else v


def held_out_elpd(fit_without: Fit, run: Runs) -> float:
    """log p(y_i | y_-i): log-mean-exp over the draws of a fit made without run ``i`` (a one-row Runs)."""
    ll = log_density(fit_without, run).reshape(-1)
    return float(logsumexp(ll) - np.log(ll.size))


class RefitWrapper(SamplingWrapper):
    """Refits ``fit``'s model on subsets of ``runs`` (default: the fit's own runs; pass them reordered,
    e.g. by scale, for LFO) and scores the left-out runs along ``dim``. ``.refits`` lists every refit:
    the runs it left out and the diagnostic checks it failed."""

    def __init__(self, fit: Fit, runs: Runs | None = None, dim: str = "run"):
        super().__init__(model=fit.law, idata_orig=fit.idata)
        self.fit = fit
        self.runs = fit.runs() if runs is None else runs
        self.dim = dim
        self.refits: list[dict[str, Any]] = []
        self._fits: dict[int, Fit] = {}

    def sel_observations(self, idx):
        if isinstance(idx, dict):  # reloo passes {"run": label}
            pos = np.flatnonzero(self.runs.frame.index == idx["run"])
        else:
            pos = np.asarray(idx, int).ravel()
        mask = np.ones(len(self.runs), bool)
        mask[pos] = False
        return self.runs.subset(mask), self.runs.subset(~mask)

    def sample(self, modified_observed_data):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a refit's sampler warnings are recorded, not the user's fit's
            return refit(self.fit, modified_observed_data)

    def get_inference_data(self, fitted_model):
        self._fits[id(fitted_model.idata)] = fitted_model
        return fitted_model.idata

    def log_likelihood__i(self, excluded_obs, idata__i):
        f = self._fits.pop(id(idata__i))  # each refit is scored once
        labels = excluded_obs.frame.index.to_numpy()
        self.refits.append({"runs": [plain(v) for v in labels], "run": plain(labels[0]),
                            "diagnostics": f.diagnostics})
        return xr.DataArray(log_density(f, excluded_obs), dims=("chain", "draw", self.dim), coords={self.dim: labels})
