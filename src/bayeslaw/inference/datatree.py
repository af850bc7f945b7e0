"""The DataTree of a fit: the groups every ArviZ 1.x function expects, with bayeslaw's names.

``posterior`` (the law's sampled and conventional parameters, then the observation model's),
``prior`` (independent prior draws of the same), ``sample_stats`` (ArviZ's names),
``log_likelihood`` and ``observed_data`` (``log_loss`` per run), ``posterior_predictive``
(``log_loss`` of a new run at each fitted run's sizes, one per posterior draw: the law plus a
draw of the observation model's noise, its stationary spread for learning-curve and correlated
models) and ``constant_data`` (the sizes and group columns per run). The root attributes hold
the law, its version and hash, the likelihood, the seed and the whole spec as JSON
(``bayeslaw_spec``).

``posterior_predictive`` is computed from the posterior, deterministically from the fit's seed
(:func:`add_posterior_predictive`): it is not saved (a saved fit stays the size of its draws and
log-likelihood) and is recomputed on load, so ``arviz_plots.plot_ppc_dist(fit.idata)`` and
``plot_loo_pit`` work on every fit.
"""

from __future__ import annotations

from typing import Any

import arviz_base as azb
import jax
import numpy as np
import xarray as xr

from ..core.law import Law
from ..core.observation import ObservationModel
from ..core.runs import Runs
from ..core.records import strict_json
from ..core.spec import FitSpec
from .pointwise import keeps_pointwise
from .sampler import remember


def build_datatree(law: Law, observation: ObservationModel, conventional: dict[str, np.ndarray],
                   extra: dict[str, np.ndarray], loglik: np.ndarray | None, runs: Runs, spec: FitSpec,
                   prior: dict[str, np.ndarray] | None = None) -> xr.DataTree:
    """Assemble a fit's DataTree from NUTS's draws and statistics, the runs and the spec."""
    order = [n for n in law.report if n in conventional]
    order += [n for n in law.params if n not in order]
    order += [n for n in observation.params]
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
    constant = {v: frame[v].to_numpy(float) for v in runs.variables}
    carried = list(runs.groups) + [c for c in (spec.data.run,) if c is not None and c not in runs.groups]
    for g in carried:
        constant[constant_name(g)] = frame[g].astype(str).to_numpy() if frame[g].dtype == object else frame[g].to_numpy()
    dims = {"log_loss": ["run"], **{k: ["run"] for k in constant}}
    tree = azb.from_dict(
        {
            "posterior": posterior,
            "sample_stats": sample_stats,
            **({"log_likelihood": {"log_loss": loglik}} if loglik is not None else {}),
            "observed_data": {"log_loss": np.log(runs.loss)},
            "constant_data": constant,
            **({"prior": {n: prior[n] for n in order if n in prior}} if prior is not None else {}),
        },
        dims=dims,
        coords={"run": frame.index.to_numpy()},
    )
    tree.attrs = spec_attrs(spec)
    return add_posterior_predictive(tree, law, observation, spec)


PREDICTIVE = "posterior_predictive"


def add_posterior_predictive(tree: xr.DataTree, law: Law, observation: ObservationModel,
                             spec: FitSpec) -> xr.DataTree:
    """Add (or replace) the ``posterior_predictive`` group: a new run's log loss at each fitted run, per draw.

    Named and shaped like ``observed_data``'s ``log_loss`` (chain, draw, run). The noise comes from a
    generator seeded by the fit's seed, so the same fit always gets the same draws.
    """
    post = tree["posterior"]
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    if not keeps_pointwise(int(chains) * int(draws), tree["observed_data"].sizes["run"]):
        if PREDICTIVE in tree.children:   # too large to keep: see bayeslaw.inference.pointwise
            del tree[PREDICTIVE]
        return tree
    flat = {n: np.asarray(post[n].values, float).reshape(chains * draws)
            for n in (*law.mean_params, *observation.params) if n in post.data_vars}
    const = tree["constant_data"]
    with jax.enable_x64(True):
        raw = {v: np.asarray(const[col].values, float)[None, :] for v, col in spec.design.items()}
        mu = np.asarray(_evaluate_log(law, raw, {k: flat[k][:, None] for k in law.mean_params}, spec.log_ref), float)
    rng = np.random.default_rng([int(spec.sampler.seed), 7])
    noise = {n: flat[n][:, None] for n in observation.params if n in flat}
    if observation.process is not None:  # learning-curve and correlated models: the stationary spread
        p = observation.process_args(noise)
        eps = np.sqrt(p["drift"] ** 2 + p["sigma"] ** 2) * rng.standard_normal(mu.shape)
    else:
        eps = observation.noise(rng, mu.shape, **noise)
    values = (mu + eps).reshape(chains, draws, -1)
    data = xr.Dataset({"log_loss": (("chain", "draw", "run"), values)},
                      coords={"chain": post["chain"].values, "draw": post["draw"].values,
                              "run": const["run"].values})
    tree[PREDICTIVE] = xr.DataTree(data)
    return tree


_EVALUATE: dict[tuple, Any] = {}


def _evaluate_log(law: Law, raw, params, log_ref):
    """``law.evaluate_log`` in one jitted program per law (op by op it compiled a dozen small programs in a new
    process); eagerly when the law's mean needs concrete reference scales."""
    fn = remember(_EVALUATE, (law.name, law.hash), lambda: jax.jit(law.evaluate_log))
    try:
        return fn(raw, params, {k: np.float64(v) for k, v in log_ref.items()})
    except jax.errors.ConcretizationTypeError:
        return law.evaluate_log(raw, params, log_ref)


def constant_name(column: str) -> str:
    """The constant_data variable of a carried run-table column (``run`` is the rows' dimension: ``run_id``)."""
    return "run_id" if column == "run" else column


def spec_attrs(spec: FitSpec) -> dict[str, Any]:
    """The DataTree's root attributes: the spec as JSON, and its main facts as plain attributes."""
    law = spec.law
    return {"bayeslaw_spec": strict_json(spec.to_dict()), "law": law.get("name"),
            "law_version": law.get("version"), "law_hash": law.get("hash"), "likelihood": spec.likelihood,
            "seed": spec.sampler.seed, "inference_library": "numpyro"}


def json_default(o: Any) -> Any:
    """``json.dumps``'s fallback for NumPy scalars and arrays."""
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
