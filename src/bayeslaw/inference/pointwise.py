"""Per-row draws (draws x rows arrays): when a fit keeps them, and the log likelihood recomputed on demand.

A fit's ``log_likelihood`` and ``posterior_predictive`` groups hold one number per draw and row. At
4,000 draws and 30,000 rows each is 0.96 GB of float64 (a saved ``fit.nc`` was 962 MB, 99.8% of it
the log likelihood; peak RSS 10 GB), so a fit keeps them only up to :data:`POINTWISE_MAX` numbers
(:func:`keeps_pointwise`): every ladder and most learning curves. Above that, the fit's DataTree and
its ``fit.nc`` have neither group, and :func:`bayeslaw.inference.refit.ensure_log_likelihood` (called by
LOO, comparisons and cross-validation) computes the log likelihood from the posterior and the stored
runs when it is asked for, the same values as the fit would have stored.
"""

from __future__ import annotations

#: Most numbers (draws x rows) of one per-row group a fit keeps: 2**25, 256 MiB of float64.
POINTWISE_MAX = 2 ** 25


def keeps_pointwise(draws: int, rows: int) -> bool:
    """True when a fit of ``rows`` rows and ``draws`` draws (all chains) keeps its per-row groups."""
    return int(draws) * int(rows) <= POINTWISE_MAX
