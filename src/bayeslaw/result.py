"""The :class:`Fit` result: an ArviZ DataTree plus the spec that made it.

``Fit.idata`` holds the groups posterior, sample_stats, log_likelihood,
observed_data and constant_data, so every arviz-stats / arviz-plots function
accepts it as is. ``Fit.spec`` is a JSON-able dict: law (name, version, hash,
priors), likelihood, reference scales, column mapping and conventions, data
hash, sampler settings, seed, package versions and the diagnostics verdicts.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import uuid
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .errors import DiagnosticWarning, FitFileError, LawError
from .law import Law, available_laws, get_law

FORMAT = "bayeslaw-fit"
FORMAT_VERSION = 1
IDATA_FILE = "fit.nc"
SPEC_FILE = "spec.json"

#: Diagnostic thresholds (Vehtari et al. 2021, "Rank-normalization, folding, and localization").
RHAT_MAX = 1.01
ESS_MIN_PER_CHAIN = 100
BFMI_MIN = 0.3


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("bayeslaw", "numpyro", "jax", "jaxlib", "arviz-base", "arviz-stats", "arviz-plots",
                "xarray", "pandas", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


@dataclass
class Fit:
    """A fitted law: ``idata`` (ArviZ DataTree), ``law`` and ``spec`` (how it was made)."""

    idata: xr.DataTree
    law: Law
    spec: dict[str, Any] = field(default_factory=dict)

    # -- convenience -------------------------------------------------------------------------
    @property
    def posterior(self) -> xr.Dataset:
        return self.idata["posterior"].to_dataset()

    @property
    def param_names(self) -> list[str]:
        """Parameters shown in summaries: the law's conventional ones, then the noise model's."""
        noise = [n for n in ("sigma", "nu") if n in self.idata["posterior"].data_vars]
        return list(self.law.report) + noise

    @property
    def log_ref(self) -> dict[str, float]:
        return dict(self.spec["reference_scales"]["log"])

    @property
    def diagnostics(self) -> list[dict[str, str]]:
        return list(self.spec.get("diagnostics", []))

    @property
    def converged(self) -> bool:
        """True when no diagnostic check failed."""
        return not self.diagnostics

    def draws(self, name: str) -> np.ndarray:
        """Posterior draws of one variable, chains stacked: shape (chains * draws, ...)."""
        v = self.idata["posterior"][name].values
        return v.reshape((-1,) + v.shape[2:])

    def summary(self, ci_prob: float = 0.9, var_names: list[str] | None = None) -> pd.DataFrame:
        """Parameter table: mean, sd, HDI bounds, R-hat, bulk/tail ESS (conventional parameters)."""
        import arviz_stats as azs

        names = var_names or self.param_names
        table = azs.summary(self.idata, var_names=names, ci_prob=ci_prob, ci_kind="hdi", round_to="none")
        pct = _pct(ci_prob)
        keep = ["mean", "sd", f"hdi{pct}_lb", f"hdi{pct}_ub", "r_hat", "ess_bulk", "ess_tail"]
        out = pd.DataFrame(table)[keep]
        out.index.name = "param"
        return out

    def __repr__(self) -> str:
        n = self.spec.get("data", {}).get("n_runs", "?")
        s = self.spec.get("sampler", {})
        status = "converged" if self.converged else f"{len(self.diagnostics)} diagnostic warning(s)"
        return (f"<Fit law={self.law.name!r} likelihood={self.spec.get('likelihood')!r} runs={n} "
                f"chains={s.get('num_chains')} draws={s.get('num_samples')} ({status})>")

    # -- prediction and decisions (delegate to bayeslaw.predict / bayeslaw.decide) -----------
    def predict(self, N=None, D=None, C=None, x=None, *, U=None, targets=None, interval: float = 0.9,
                seed: int = 0):
        """Posterior of the mean law and of a new run at targets; see :func:`bayeslaw.predict.predict`."""
        from .predict import predict

        return predict(self, N=N, D=D, C=C, x=x, U=U, targets=targets, interval=interval, seed=seed)

    def optimal_allocation(self, C, *, flops_per_param_token: float | None = None, interval: float = 0.9):
        """Compute-optimal N*, D* at budgets C as posteriors; see :func:`bayeslaw.decide.optimal_allocation`."""
        from .decide import optimal_allocation

        return optimal_allocation(self, C, flops_per_param_token=flops_per_param_token, interval=interval)

    def compute_for_loss(self, loss, *, flops_per_param_token: float | None = None, interval: float = 0.9):
        """Compute needed to reach a loss, as a posterior; see :func:`bayeslaw.decide.compute_for_loss`."""
        from .decide import compute_for_loss

        return compute_for_loss(self, loss, flops_per_param_token=flops_per_param_token, interval=interval)

    def loo(self, *, pareto_k_max: float = 0.7, refit: bool = True):
        """PSIS-LOO (ELPD object) with exact refits of runs whose Pareto k > ``pareto_k_max``; see
        :func:`bayeslaw.comparison.loo` (its ``LooResult`` also lists the refitted runs)."""
        from .comparison import loo

        return loo(self, pareto_k_max=pareto_k_max, refit=refit).elpd

    # -- persistence -------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the fit to a directory (``fit.nc`` + ``spec.json``), atomically.

        The files are written to a temporary sibling directory and renamed into place,
        so an interrupted save never leaves a half-written fit. No pickle is used.
        """
        return save(self, path, overwrite=overwrite)


def _pct(ci_prob: float) -> str:
    p = ci_prob * 100
    return f"{p:g}"


# -- DataTree construction -----------------------------------------------------------------


def build_datatree(law, lik, conventional, extra, loglik, runs, cols, spec, prior=None) -> xr.DataTree:
    import arviz_base as azb

    order = [n for n in law.report if n in conventional]
    order += [n for n in law.params if n not in order]
    order += [n for n in lik.params]
    order += [n for n in conventional if n not in order]
    posterior = {n: np.asarray(conventional[n]) for n in order}
    n_steps = np.asarray(extra["num_steps"])
    sample_stats = {
        "diverging": np.asarray(extra["diverging"]),
        "energy": np.asarray(extra["energy"]),
        "lp": -np.asarray(extra["potential_energy"]),
        "acceptance_rate": np.asarray(extra["accept_prob"]),
        "step_size": np.asarray(extra["step_size"]),
        "n_steps": n_steps,
        "tree_depth": np.floor(np.log2(np.maximum(n_steps, 1))).astype(int) + 1,
    }
    frame = runs.frame
    run_coord = frame.index.to_numpy()
    constant = {v: frame[v].to_numpy(float) for v in runs.variables}
    for g in runs.groups:
        constant[g] = frame[g].astype(str).to_numpy() if frame[g].dtype == object else frame[g].to_numpy()
    dims = {"log_loss": ["run"], **{k: ["run"] for k in constant}}
    attrs = {"bayeslaw_spec": json.dumps(spec, default=_json_default), "law": law.name, "law_version": law.version,
             "law_hash": law.hash, "likelihood": lik.name, "seed": spec["sampler"]["seed"],
             "inference_library": "numpyro"}
    tree = azb.from_dict(
        {
            "posterior": posterior,
            "sample_stats": sample_stats,
            "log_likelihood": {"log_loss": loglik},
            "observed_data": {"log_loss": np.log(runs.loss)},
            "constant_data": constant,
            **({"prior": {n: prior[n] for n in order if n in prior}} if prior is not None else {}),
        },
        dims=dims,
        coords={"run": run_coord},
    )
    tree.attrs = attrs
    return tree


# -- diagnostics ---------------------------------------------------------------------------


def check_diagnostics(result: Fit, warn: bool = True) -> list[dict[str, str]]:
    """Check R-hat, ESS, divergences and E-BFMI; one plain-language message per failed check."""
    import arviz_stats as azs

    names = result.param_names
    post = result.idata["posterior"]
    n_chains = post.sizes["chain"]
    found: list[dict[str, str]] = []
    rhat = azs.rhat(result.idata, var_names=names)
    bad = {n: float(rhat[n].max()) for n in names if float(rhat[n].max()) > RHAT_MAX}
    if bad:
        worst = ", ".join(f"{k} {v:.3f}" for k, v in bad.items())
        found.append({"check": "r_hat", "message": (
            f"R-hat above {RHAT_MAX} ({worst}): the chains disagree, so the posterior is not trustworthy yet; "
            "run more warmup and draws (num_warmup/num_samples, --warmup/--draws), and if it persists look at "
            "the trace plot for a chain stuck in another mode and tighten the priors.")})
    ess_min = ESS_MIN_PER_CHAIN * n_chains
    low = {}
    for method in ("bulk", "tail"):
        ess = azs.ess(result.idata, var_names=names, method=method)
        for n in names:
            v = float(ess[n].min())
            if v < ess_min:
                low[f"{n} ({method})"] = v
    if low:
        worst = ", ".join(f"{k} {v:.0f}" for k, v in low.items())
        found.append({"check": "ess", "message": (
            f"Effective sample size below {ess_min} ({worst}): intervals are noisy; draw more samples "
            "(num_samples, --draws) or reparameterize the parameters that mix slowly.")})
    div = int(np.asarray(result.idata["sample_stats"]["diverging"]).sum())
    if div:
        total = post.sizes["chain"] * post.sizes["draw"]
        found.append({"check": "divergences", "message": (
            f"{div} of {total} transitions diverged: NUTS could not follow the posterior's curvature, and "
            "the draws may be biased; raise target_accept_prob (e.g. 0.95, --target-accept 0.95), and check "
            "for a parameter pressed against a boundary (a floor E near the smallest loss, an exponent near 0).")})
    bfmi = np.asarray(azs.bfmi(result.idata["sample_stats"].to_dataset())["energy"]).ravel()
    low_b = [i for i, b in enumerate(bfmi) if b < BFMI_MIN]
    if low_b:
        found.append({"check": "bfmi", "message": (
            f"E-BFMI below {BFMI_MIN} in chain(s) {', '.join(map(str, low_b))} "
            f"(values {', '.join(f'{bfmi[i]:.2f}' for i in low_b)}): the sampler's momentum resampling explores "
            "the energy poorly, typical of heavy-tailed or funnel-shaped posteriors; use more informative "
            "priors on the noise (sigma, nu) or run longer warmup.")})
    if warn:
        for item in found:
            warnings.warn(item["message"], DiagnosticWarning, stacklevel=3)
    return found


# -- save / load ---------------------------------------------------------------------------


def save(result: Fit, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    path = Path(path)
    if path.exists() and not overwrite:
        raise FitFileError(f"'{path}' already exists; choose another output directory or pass "
                           "overwrite=True (--overwrite) to replace it.")
    if path.exists() and not path.is_dir():
        raise FitFileError(f"'{path}' exists and is not a directory; choose another output path.")
    if path.exists() and not (path / SPEC_FILE).exists() and any(path.iterdir()):
        raise FitFileError(f"'{path}' is a non-empty directory that is not a saved fit; refusing to replace it.")
    parent = path.parent if str(path.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    spec = dict(result.spec)
    spec.update({"format": FORMAT, "format_version": FORMAT_VERSION, "versions": versions()})
    # A sibling directory made with mkdir (not tempfile.mkdtemp, whose mode 0700 would survive
    # the rename and make the saved fit unreadable to anyone else): the umask applies as usual.
    tmp = parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
    tmp.mkdir()
    try:
        idata = result.idata.copy()
        idata.attrs = {**idata.attrs, "bayeslaw_spec": json.dumps(spec, default=_json_default)}
        idata.to_netcdf(tmp / IDATA_FILE, engine="netcdf4")
        with open(tmp / SPEC_FILE, "w") as fh:
            json.dump(spec, fh, indent=2, default=_json_default)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            old = parent / f".{path.name}.{uuid.uuid4().hex[:12]}.old"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    result.spec = spec
    return path


def load(path: str | os.PathLike, *, law: Law | None = None) -> Fit:
    """Load a fit written by :meth:`Fit.save` (no pickle).

    A law is looked up by the saved name unless ``law`` is given; if its hash differs
    from the saved one (the law's maths or defaults changed), a warning says so.
    """
    path = Path(path)
    if not path.exists():
        raise FitFileError(f"'{path}' does not exist; give the directory written by `bayeslaw fit --out`.")
    if not path.is_dir() or not (path / SPEC_FILE).is_file() or not (path / IDATA_FILE).is_file():
        raise FitFileError(f"'{path}' is not a saved bayeslaw fit (expected a directory with {SPEC_FILE} "
                           f"and {IDATA_FILE}); give the directory written by `bayeslaw fit --out`.")
    try:
        spec = json.loads((path / SPEC_FILE).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FitFileError(f"'{path / SPEC_FILE}' is corrupted (not valid JSON: {exc}); refit and save again.") from None
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise FitFileError(f"'{path / SPEC_FILE}' is not a bayeslaw fit spec (format is "
                           f"{spec.get('format') if isinstance(spec, dict) else None!r}).")
    fv = spec.get("format_version")
    if not isinstance(fv, int) or isinstance(fv, bool) or fv < 1:
        raise FitFileError(f"'{path / SPEC_FILE}' has no valid format_version (got {fv!r}); "
                           "the file is corrupted: refit and save again.")
    if fv > FORMAT_VERSION:
        raise FitFileError(f"'{path}' was written by a newer bayeslaw (format {fv}); upgrade bayeslaw.")
    saved_law = spec.get("law")
    if not isinstance(saved_law, dict) or not isinstance(saved_law.get("name"), str):
        raise FitFileError(f"'{path / SPEC_FILE}' does not name the fitted law (no law.name); "
                           "the file is corrupted: refit and save again.")
    try:
        with xr.open_datatree(path / IDATA_FILE, engine="netcdf4") as tree:
            idata = tree.load()
    except Exception as exc:  # any reader failure means the file is unusable
        raise FitFileError(f"'{path / IDATA_FILE}' cannot be read as a NetCDF DataTree ({type(exc).__name__}); "
                           "the file is corrupted or not a bayeslaw fit: refit and save again.") from None
    missing = [g for g in ("posterior", "sample_stats", "log_likelihood", "observed_data") if g not in idata.children]
    if missing:
        raise FitFileError(f"'{path / IDATA_FILE}' lacks the group(s) {', '.join(missing)}; it is not a complete bayeslaw fit.")
    name = saved_law["name"]
    if law is None and name not in available_laws():
        raise LawError(f"'{path}' was fitted with the law {name!r}, which is not known in this session; "
                       "register it with bayeslaw.register(...) before loading, or pass law=... to load().")
    the_law = law if law is not None else get_law(name)
    if the_law.hash != spec["law"].get("hash"):
        warnings.warn(f"The law {name!r} has changed since this fit was saved (hash {spec['law'].get('hash')} "
                      f"then, {the_law.hash} now); predictions use today's law with the saved draws.",
                      UserWarning, stacklevel=2)
    return Fit(idata=idata, law=the_law, spec=spec)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")

