"""bayeslaw: Bayesian fitting, comparison and extrapolation of neural scaling laws.

Fit any law in the catalogue (:mod:`bayeslaw.models`) with NUTS, get a posterior you can check
with ArviZ, compare laws, predict at the scale you cannot afford to test, and save it all
without pickle:

```python
import bayeslaw
runs = bayeslaw.load_runs("runs.csv")          # N, D, C, loss (+ groups)
fit = bayeslaw.fit(runs, law="chinchilla")     # NumPyro NUTS, Student-t on log loss
fit.summary()                                  # E, A, B, alpha, beta, sigma, nu
fit.predict(N=7e10, D=1.4e12).table            # the law and a new run at a target
fit.save("my_fit"); bayeslaw.load("my_fit")
```

The package is laid out in layers, each importing only those below it: ``core`` (errors,
priors, run tables, laws, the catalogues of laws and observation models, specs) ->
``inference`` (the model, NUTS, fit, refit) -> ``posterior`` (predictions, decisions, curves,
mixtures) -> ``validation`` (LOO, comparison, backtests, cross-validation, sensitivity) ->
``averaging`` (stacking) -> ``plots`` and ``report`` -> ``cli``. This face loads each name on
first use, so ``import bayeslaw`` (and ``bayeslaw --help``) does not start JAX.

For parallel chains on CPU, call ``numpyro.set_host_device_count(4)`` before JAX starts (the
``bayeslaw`` command does this for you).
"""

# Only the lightest imports here (importlib.metadata and importlib.resources load on first use): the console
# script imports this face first, so Ctrl-C is taken over here, before anything else of bayeslaw runs.
import os as _os
import _signal  # the C module (Python's signal.py imports enum: slower, and Ctrl-C may land there)
import sys as _sys


def _interrupted(signum, frame):  # pragma: no cover - exercised in a subprocess
    """The bayeslaw command's Ctrl-C until :func:`bayeslaw.cli.main` installs its own: nothing has been written."""
    _os.write(2, b"interrupted: nothing was written\n")
    _os._exit(130)


def _take_ctrl_c() -> None:
    """In the ``bayeslaw`` console script's process (its ``__main__`` is the script), Ctrl-C exits 130 quietly
    from here on; an ``import bayeslaw`` anywhere else changes no signal handler."""
    script = _os.path.basename(getattr(_sys.modules.get("__main__"), "__file__", "") or "").removesuffix(".exe")
    if script in ("bayeslaw", "bayeslaw-script.py") and _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
        _signal.signal(_signal.SIGINT, _interrupted)


_take_ctrl_c()

from importlib import import_module as _import_module  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

#: Public name -> the module that defines it.
_EXPORTS = {
    **dict.fromkeys(("BayeslawError", "DataError", "DiagnosticWarning", "FitFileError", "LawError", "PriorError"),
                    "errors"),
    "Prior": "core.priors",
    **dict.fromkeys(("Law", "Param", "Coordinates", "Example", "logsumexp"), "core.law"),
    **dict.fromkeys(("available_laws", "get_law", "register"), "core.catalogue"),
    **dict.fromkeys(("OBSERVATION_MODELS", "ObservationModel", "get_observation_model"), "core.observation"),
    **dict.fromkeys(("Runs", "load_runs"), "core.runs"),
    **dict.fromkeys(("FitSpec", "SamplerSettings"), "core.spec"),
    **dict.fromkeys(("FitPlan", "plan_fit"), "inference.plan"),
    "fit": "inference.fit", **dict.fromkeys(("refit", "refit_batch"), "inference.refit"),
    **dict.fromkeys(("fit_many", "Fits"), "inference.many"),
    **dict.fromkeys(("Fit", "load"), "inference.result"),
    **dict.fromkeys(("Prediction", "predict"), "posterior.predict"),
    **dict.fromkeys(("Decision", "optimal_allocation", "compute_for_loss"), "posterior.decide"),
    **dict.fromkeys(("Curve", "curve"), "posterior.curves"),
    "Mixture": "posterior.mixture",
    **dict.fromkeys(("LooResult", "loo"), "validation.loo"),
    **dict.fromkeys(("Comparison", "compare", "compare_models"), "validation.compare"),
    **dict.fromkeys(("Backtest", "backtest", "backtest_fits"), "validation.backtest"),
    **dict.fromkeys(("CrossValidation", "CrossValidated", "cross_validate", "leave_future_out",
                     "leave_one_group_out"), "validation.crossval"),
    "prior_sensitivity": "validation.sensitivity",
    **dict.fromkeys(("Stack", "stack"), "averaging.stack"),
    "stacking_weights": "averaging.weights",
    "write_report": "report",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time names load on first use (__getattr__)
    from pathlib import Path
    from .averaging.stack import Stack, stack  # noqa: F401
    from .core.catalogue import available_laws, get_law, register  # noqa: F401
    from .core.law import Coordinates, Example, Law, Param, logsumexp  # noqa: F401
    from .core.priors import Prior  # noqa: F401
    from .core.runs import Runs, load_runs  # noqa: F401
    from .inference.fit import fit  # noqa: F401
    from .inference.refit import refit, refit_batch  # noqa: F401
    from .inference.many import Fits, fit_many  # noqa: F401
    from .inference.result import Fit, load  # noqa: F401
    from .posterior.predict import Prediction, predict  # noqa: F401


def __getattr__(name: str):
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("bayeslaw")
        except PackageNotFoundError:  # running from a source tree without installation
            value = "0+unknown"
        globals()[name] = value
        return value
    if name in _EXPORTS:
        value = getattr(_import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'bayeslaw' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


def example_data_path() -> "Path":
    """Path of the bundled example: Chinchilla runs digitised by Epoch AI (245 rows)."""
    from importlib import resources
    from pathlib import Path

    return Path(str(resources.files("bayeslaw") / "data" / "chinchilla.csv"))


__all__ = sorted([*_EXPORTS, "example_data_path", "__version__"])
