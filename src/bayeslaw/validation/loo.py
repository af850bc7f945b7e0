"""PSIS-LOO of one fit, with exact refits of the runs PSIS cannot estimate.

:func:`loo` scores a fit by its expected log pointwise predictive density estimated with
Pareto-smoothed importance sampling leave-one-out (``arviz_stats.loo``). Runs whose Pareto
shape k exceeds ``pareto_k_max`` (0.7, Vehtari et al. 2024) are refitted exactly: the same
law, likelihood, priors and sampler settings on the runs without that one
(``arviz_stats.reloo`` drives the refits through :class:`~bayeslaw.validation.refits.RefitWrapper`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import arviz_stats as azs
import numpy as np
import pandas as pd

from ..core.observation import get_observation_model
from ..core.records import json_value, table_records
from ..errors import BayeslawError, shown
from ..inference.refit import ensure_log_likelihood
from ..inference.result import Fit
from .refits import RefitWrapper, plain

#: Pareto shape above which PSIS-LOO is not trusted (Vehtari et al. 2024, JMLR 25(72)).
PARETO_K_MAX = 0.7


@dataclass
class LooResult:
    """PSIS-LOO of one fit, with exact refits for the runs PSIS could not handle.

    Attributes
    ----------
    elpd : arviz_stats ELPDData
        Pointwise, refits included: what ``arviz_stats.compare`` takes.
    pareto_k : array
        PSIS Pareto k per run, before any refit.
    high_k_runs, refitted_runs : list
        Run labels with k > ``pareto_k_max``, and those whose value comes from an exact refit.
    refit_diagnostics : list
        ``{"run", "diagnostics"}`` for each refit that failed a diagnostic check.
    """

    elpd: Any
    pareto_k: np.ndarray
    high_k_runs: list
    refitted_runs: list
    refit_diagnostics: list = field(default_factory=list)

    @property
    def elpd_loo(self) -> float:
        """The summed pointwise log predictive density (refits included)."""
        return float(self.elpd.elpd)

    @property
    def se(self) -> float:
        """The standard error of ``elpd_loo``."""
        return float(self.elpd.se)

    @property
    def table(self) -> pd.DataFrame:
        """One row per run (index ``run``): ``elpd_loo`` (pointwise), ``pareto_k`` and ``refitted``."""
        labels = self.elpd.elpd_i["run"].values
        out = pd.DataFrame({"elpd_loo": np.asarray(self.elpd.elpd_i.values, float), "pareto_k": self.pareto_k,
                            "refitted": [plain(v) in self.refitted_runs for v in labels]},
                           index=pd.Index([plain(v) for v in labels], name="run"))
        return out

    def to_records(self) -> list[dict[str, Any]]:
        """The pointwise table as JSON-safe rows."""
        return table_records(self.table)

    def summary(self) -> dict[str, Any]:
        """elpd_loo, its SE, p_loo and the Pareto-k counts, JSON-safe."""
        return {"elpd_loo": self.elpd_loo, "se": self.se, "p_loo": json_value(self.elpd.p),
                "n_pareto_k_high": len(self.high_k_runs), "n_refitted": len(self.refitted_runs)}


def _psis(fit: Fit):
    with warnings.catch_warnings():
        # high Pareto k is reported (and refitted) by this module, not warned about by ArviZ
        warnings.filterwarnings("ignore", message=".*Pareto.*", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*shape parameter.*", category=UserWarning)
        return azs.loo(ensure_log_likelihood(fit).idata, pointwise=True, var_name="log_loss")


def exchangeable(fit: Fit) -> bool:
    """Whether PSIS-LOO can score the fit's rows: not the checkpoints of a learning-curve (sequential) fit."""
    return not get_observation_model(fit.spec.likelihood).sequential


def check_exchangeable(fit: Fit) -> None:
    """Refuse PSIS-LOO where its rows are not exchangeable: the checkpoints of a learning-curve fit."""
    obs = get_observation_model(fit.spec.likelihood)
    if not exchangeable(fit):
        run = fit.spec.data.run
        by = repr(run) if run else "RUN_COLUMN"
        raise BayeslawError(
            f"PSIS-LOO is not valid for a {obs.name} fit: its pointwise log likelihoods are one-step-ahead "
            "conditionals of each run's checkpoints, and leaving one checkpoint out of a run that remembers its "
            "neighbours says nothing about later ones; compare such fits on held-out later checkpoints with "
            "bayeslaw.backtest (bayeslaw backtest on the command line), or by leaving whole runs out with "
            f"bayeslaw.leave_one_group_out(fit, {by}).")


def loo(fit: Fit, *, pareto_k_max: float = PARETO_K_MAX, refit: bool = True) -> LooResult:
    """PSIS-LOO of a fit; runs with Pareto k > ``pareto_k_max`` are refitted exactly when ``refit``."""
    if not 0 < pareto_k_max < 1.5:
        raise BayeslawError(f"pareto_k_max must be between 0 and 1.5 (0.7 is the usual threshold); got {shown(pareto_k_max)}.")
    check_exchangeable(fit)
    psis = _psis(fit)
    k = np.asarray(psis.pareto_k.values, float)
    labels = psis.pareto_k["run"].values
    high = [plain(lab) for lab in labels[k > pareto_k_max]]
    if not high or not refit:
        return LooResult(psis, k, high, [])
    wrapper = RefitWrapper(fit)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Pareto.*", category=UserWarning)
        done = azs.reloo(wrapper, loo_orig=psis, var_name="log_loss", k_threshold=pareto_k_max, pointwise=True)
    return LooResult(done, k, high, [r["run"] for r in wrapper.refits],
                     [{"run": r["run"], "diagnostics": r["diagnostics"]} for r in wrapper.refits if r["diagnostics"]])
