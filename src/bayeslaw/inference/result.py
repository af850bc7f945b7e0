"""The :class:`Fit` result (a DataTree, the law and the spec that made it) and :func:`load`.

``Fit.idata`` holds the groups posterior, prior, sample_stats, log_likelihood, observed_data,
posterior_predictive (recomputed on load, not saved) and constant_data, so every arviz-stats /
arviz-plots function accepts it as is.
``Fit.spec`` is a frozen :class:`~bayeslaw.core.spec.FitSpec`. Like every bayeslaw result a fit
has ``.table`` (its parameter summary), ``.to_records()`` and ``.draws(name)``.

``Fit.predict``, ``Fit.optimal_allocation`` and ``Fit.compute_for_loss`` are convenience
methods: thin, lazy delegations to the posterior layer (:func:`bayeslaw.predict`,
:func:`bayeslaw.optimal_allocation`, :func:`bayeslaw.compute_for_loss`), one layer up. They
import it when called, so that this layer never depends on the one above it at import time;
``fit.predict(N=7e10, D=1.4e12)`` reads better than ``bayeslaw.predict(fit, ...)`` in the
everyday case, and both are the same call.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import arviz_stats as azs
import numpy as np
import pandas as pd
import xarray as xr

from ..core.catalogue import get_law
from ..core.law import Law
from ..core.observation import get_observation_model
from ..core.records import resolve_ci_prob, restore_non_finite, table_records
from ..core.runs import Runs
from ..core.spec import FORMAT, FORMAT_VERSION, FitSpec
from ..errors import FitFileError, LawError
from . import store
from .datatree import add_posterior_predictive, constant_name
from .pointwise import keeps_pointwise


@dataclass
class Fit:
    """A fitted law: ``idata`` (ArviZ DataTree), ``law`` and ``spec`` (how it was made)."""

    idata: xr.DataTree
    law: Law
    spec: FitSpec

    # -- the contract of every result ---------------------------------------------------------
    @property
    def table(self) -> pd.DataFrame:
        """The parameter summary at the default ``ci_prob`` (see :meth:`summary`)."""
        return self.summary()

    def to_records(self, ci_prob: float | None = None) -> list[dict[str, Any]]:
        """The parameter summary as JSON-safe rows (keys as in docs/cli.md)."""
        table = self.summary(ci_prob)
        return table_records(table, ci_prob=table.attrs["ci_prob"])

    def draws(self, name: str) -> np.ndarray:
        """Posterior draws of one variable, chains stacked: shape (chains * draws, ...)."""
        v = self.idata["posterior"][name].values
        return v.reshape((-1,) + v.shape[2:])

    # -- what the fit knows --------------------------------------------------------------------
    @property
    def posterior(self) -> xr.Dataset:
        """The posterior group as an ``xarray.Dataset`` (chain, draw)."""
        return self.idata["posterior"].to_dataset()

    @property
    def param_names(self) -> list[str]:
        """Parameters shown in summaries: the law's conventional ones, then the noise model's."""
        noise = [n for n in self.spec.priors if n not in self.law.params and n in self.idata["posterior"].data_vars]
        return list(self.law.report) + noise

    @property
    def log_ref(self) -> dict[str, float]:
        """Log reference scale of each input (and of the loss): the centring of ``log_mean``."""
        return dict(self.spec.log_ref)

    @property
    def design(self) -> dict[str, str]:
        """The law's inputs -> the run-table columns they were fitted to."""
        return self.spec.design

    @property
    def diagnostics(self) -> list[dict[str, str]]:
        """The failed diagnostic checks: one ``{"check", "message"}`` each (empty when all passed)."""
        return [dict(d) for d in self.spec.diagnostics]

    @property
    def converged(self) -> bool:
        """True when no diagnostic check failed."""
        return not self.spec.diagnostics

    @property
    def num_draws(self) -> int:
        """Posterior draws in all (chains times draws per chain)."""
        post = self.idata["posterior"]
        return int(post.sizes["chain"] * post.sizes["draw"])

    def runs(self) -> Runs:
        """The run table the fit was made from, rebuilt from its DataTree (constant and observed data)."""
        const = self.idata["constant_data"]
        data = self.spec.data
        groups = [g for g in (*data.groups, data.run) if g is not None and constant_name(g) in const.data_vars]
        groups = list(dict.fromkeys(groups))
        sizes = [v for v in const.data_vars if v not in {constant_name(g) for g in groups}]
        frame = pd.DataFrame({v: np.asarray(const[v].values, float) for v in sizes}, index=const["run"].values)
        frame.index.name = "row"
        frame["loss"] = np.exp(np.asarray(self.idata["observed_data"]["log_loss"].values, float))
        for g in groups:
            frame[g] = const[constant_name(g)].values
        return Runs(frame, dict(data.columns), dict(data.derived), tuple(groups), data.source,
                    float(data.flops_per_param_token), tuple(sizes))

    def summary(self, ci_prob: float | None = None, var_names: list[str] | None = None) -> pd.DataFrame:
        """Parameter table (index ``param``): mean, sd, the ``ci_prob`` HDI as ``lower``/``upper``, R-hat,
        bulk/tail ESS; ``ci_prob`` defaults to ArviZ's ``rcParams["stats.ci_prob"]`` and is in ``.attrs``, with
        ``observation_model``: which one made the bands, and why (one sentence), and ``law``: whether the law
        carries its curvature term, and why."""
        ci_prob = resolve_ci_prob(ci_prob)
        names = var_names or self.param_names
        table = pd.DataFrame(azs.summary(self.idata, var_names=names, ci_prob=ci_prob, ci_kind="hdi",
                                         round_to="none"))
        lo, hi = [c for c in table.columns if c.startswith("hdi")][:2]
        out = table[["mean", "sd", lo, hi, "r_hat", "ess_bulk", "ess_tail"]].rename(columns={lo: "lower", hi: "upper"})
        out.index.name = "param"
        out.attrs.update(ci_prob=ci_prob, ci_kind="hdi",
                         observation_model=self.spec.likelihood_reason or self.spec.likelihood,
                         law=self.spec.law_reason or self.law.name)
        return out

    def __repr__(self) -> str:
        s = self.spec.sampler
        status = "converged" if self.converged else f"{len(self.spec.diagnostics)} diagnostic warning(s)"
        return (f"<Fit law={self.law.name!r} likelihood={self.spec.likelihood!r} runs={self.spec.data.n_runs} "
                f"chains={s.num_chains} draws={s.num_samples} ({status})>")

    # -- convenience delegations to the posterior layer (lazy: see the module docstring) -------
    def predict(self, targets: Any = None, *, ci_prob: float | None = None, seed: int = 0, **inputs: Any):
        """Posterior of the mean law and of a new run at targets: :func:`bayeslaw.predict` of this fit."""
        from ..posterior.predict import predict  # lazy: the posterior layer sits above this one

        return predict(self, targets, ci_prob=ci_prob, seed=seed, **inputs)

    def optimal_allocation(self, C: Any, *, flops_per_param_token: float | None = None,
                           ci_prob: float | None = None):
        """Compute-optimal N*, D* at budgets C as posteriors: :func:`bayeslaw.optimal_allocation` of this fit."""
        from ..posterior.decide import optimal_allocation  # lazy: the posterior layer sits above this one

        return optimal_allocation(self, C, flops_per_param_token=flops_per_param_token, ci_prob=ci_prob)

    def compute_for_loss(self, loss: Any, *, flops_per_param_token: float | None = None,
                         ci_prob: float | None = None):
        """Compute needed to reach a loss, as a posterior: :func:`bayeslaw.compute_for_loss` of this fit."""
        from ..posterior.decide import compute_for_loss  # lazy: the posterior layer sits above this one

        return compute_for_loss(self, loss, flops_per_param_token=flops_per_param_token, ci_prob=ci_prob)

    # -- persistence -------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the fit to a directory (``fit.nc`` + ``spec.json``), atomically; no pickle."""
        return store.save(self, path, overwrite=overwrite)


def load(path: str | os.PathLike, *, law: Law | None = None, verify: bool = True) -> Fit:
    """Load a fit written by :meth:`Fit.save` (no pickle); fits saved by bayeslaw 0.1.0 load too.

    A law is looked up by the saved name unless ``law`` is given; if its hash differs
    from the saved one (the law's maths or defaults changed), a warning says so. With ``verify``
    (the default), ``fit.nc`` and ``spec.json`` must match the checksum recorded when the fit was
    saved, so that an edited fit is not used unnoticed (a :class:`~bayeslaw.errors.FitFileError`
    says which file changed); ``verify=False`` loads a fit edited on purpose. Fits saved before
    checksums were recorded load without one.
    """
    path = Path(path)
    spec_file, idata_file = path / store.SPEC_FILE, path / store.IDATA_FILE
    if not path.exists():
        raise FitFileError(f"'{path}' does not exist; give the directory written by `bayeslaw fit --out`.")
    if not path.is_dir() or not spec_file.is_file() or not idata_file.is_file():
        raise FitFileError(f"'{path}' is not a saved bayeslaw fit (expected a directory with {store.SPEC_FILE} "
                           f"and {store.IDATA_FILE}); give the directory written by `bayeslaw fit --out`.")
    try:
        raw = restore_non_finite(json.loads(spec_file.read_text()))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FitFileError(f"'{spec_file}' is corrupted (not valid JSON: {exc}); refit and save again.") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise FitFileError(f"'{spec_file}' is not a bayeslaw fit spec (format is "
                           f"{raw.get('format') if isinstance(raw, dict) else None!r}).")
    fv = raw.get("format_version")
    if not isinstance(fv, int) or isinstance(fv, bool) or fv < 1:
        raise FitFileError(f"'{spec_file}' has no valid format_version (got {fv!r}); "
                           "the file is corrupted: refit and save again.")
    if fv > FORMAT_VERSION:
        raise FitFileError(f"'{path}' was written by a newer bayeslaw (format {fv}); upgrade bayeslaw.")
    saved_law = raw.get("law")
    if not isinstance(saved_law, dict) or not isinstance(saved_law.get("name"), str):
        raise FitFileError(f"'{spec_file}' does not name the fitted law (no law.name); "
                           "the file is corrupted: refit and save again.")
    spec = FitSpec.from_dict(raw, where=f"'{spec_file}'")
    try:
        with xr.open_datatree(idata_file, engine="netcdf4") as tree:
            idata = tree.load()
    except Exception as exc:  # any reader failure means the file is unusable
        raise FitFileError(f"'{idata_file}' cannot be read as a NetCDF DataTree ({type(exc).__name__}); "
                           "the file is corrupted or not a bayeslaw fit: refit and save again.") from None
    missing = [g for g in ("posterior", "sample_stats", "observed_data") if g not in idata.children]
    # log_likelihood is left out of fits too large to keep it (bayeslaw.inference.pointwise)
    if not missing and "log_likelihood" not in idata.children and keeps_pointwise(
            idata["posterior"].sizes["chain"] * idata["posterior"].sizes["draw"], idata["observed_data"].sizes["run"]):
        missing = ["log_likelihood"]
    if missing:
        raise FitFileError(f"'{idata_file}' lacks the group(s) {', '.join(missing)}; it is not a complete bayeslaw fit.")
    if verify:
        store.verify(path, raw, idata)
    name = saved_law["name"]
    if law is None:
        try:
            law = get_law(name)  # the catalogue, registered laws, or a law with a curvature term
        except LawError:
            law = None
    if law is None:
        raise LawError(f"'{path}' was fitted with the law {name!r}, which this Python process's catalogue does not have; "
                       "register it with bayeslaw.register(...) before loading, or pass law=... to load().")
    the_law = law if law is not None else get_law(name)
    # the coordinates are where NUTS moved, not the model: a fit saved with other coordinates (or before the law
    # declared any) is a fit of the same model when the maths hashes match (fits saved since 2026-12-06 record
    # theirs; an earlier fit's hash is its maths hash when it was saved without coordinates)
    saved_maths = saved_law.get("maths_hash", saved_law.get("hash"))
    if saved_law.get("hash") != the_law.hash and saved_maths != the_law.maths_hash:
        warnings.warn(f"The law {name!r} has changed since this fit was saved (hash {saved_law.get('hash')} "
                      f"then, {the_law.hash} now); predictions use today's law with the saved draws.",
                      UserWarning, stacklevel=2)
    return Fit(idata=add_posterior_predictive(idata, the_law, get_observation_model(spec.likelihood), spec),
               law=the_law, spec=spec)
