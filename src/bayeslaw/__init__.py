"""bayeslaw: Bayesian fitting, comparison and extrapolation of neural scaling laws.

Fit any law in the catalogue (:mod:`bayeslaw.models`) with NUTS, get a posterior
you can check with ArviZ, and save it without pickle::

    import bayeslaw
    runs = bayeslaw.load_runs("runs.csv")          # N, D, C, loss (+ groups)
    fit = bayeslaw.fit(runs, law="chinchilla")     # NumPyro NUTS, Student-t on log loss
    fit.summary()                                  # E, A, B, alpha, beta, sigma, nu
    fit.save("my_fit"); bayeslaw.load("my_fit")

For parallel chains on CPU, call ``numpyro.set_host_device_count(4)`` before JAX
starts (the ``bayeslaw`` command does this for you).
"""

from importlib import resources as _resources
from importlib.metadata import PackageNotFoundError as _PNF
from importlib.metadata import version as _version
from pathlib import Path as _Path

from .data import Runs, load_runs
from .engine import LIKELIHOODS, fit
from .errors import BayeslawError, DataError, DiagnosticWarning, FitFileError, LawError, PriorError
from .result import Fit, load
from .law import Coordinates, Law, Param, available_laws, get_law, logsumexp, register
from .priors import Prior
from .comparison import Comparison, compare, prior_sensitivity  # noqa: E402
from .backtest import (Backtest, CrossValidation, backtest, cross_validate, leave_future_out,  # noqa: E402
                       leave_one_group_out)
from .averaging import Stack, stack  # noqa: E402

try:
    __version__ = _version("bayeslaw")
except _PNF:  # running from a source tree without installation
    __version__ = "0+unknown"


def example_data_path() -> _Path:
    """Path of the bundled example: Chinchilla runs digitised by Epoch AI (245 rows)."""
    return _Path(str(_resources.files("bayeslaw") / "data" / "chinchilla.csv"))


__all__ = [
    "Backtest", "BayeslawError", "Comparison", "Coordinates", "CrossValidation", "DataError", "DiagnosticWarning", "Fit",
    "FitFileError", "LIKELIHOODS", "Law", "LawError", "Param", "Prior", "PriorError", "Runs", "Stack",
    "available_laws", "backtest", "compare", "cross_validate", "example_data_path", "fit", "get_law", "leave_future_out",
    "leave_one_group_out", "load", "load_runs", "logsumexp", "prior_sensitivity", "register", "stack",
]
