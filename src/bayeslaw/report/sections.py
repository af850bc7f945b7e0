"""The sections of the HTML report, each ``(id, title, html)`` from a fit and the report's ``ci_prob``.

Summary, data, law and priors (with the observation model that made the bands), parameters,
diagnostics, the scaling curve, predictions at targets, held-out runs, decisions and
reproducibility. Every number comes from the layers below (the fit's summary, the diagnostics,
predictions, decisions and curves); the sections only lay them out.
"""

from __future__ import annotations

import json

import numpy as np

from ..core.observation import OBSERVATION_MODELS
from ..core.priors import Prior
from ..errors import BayeslawError, LawError
from ..inference.diagnostics import BFMI_MIN, ESS_MIN_PER_CHAIN, RHAT_MAX, diagnostic_numbers, failed, not_computed
from ..inference.result import Fit
from ..plots import plot_curve, plot_diagnostics, plot_optimum, plot_params
from ..plots.style import AXIS_LABELS, pct
from ..posterior.curves import observed
from ..posterior.decide import compute_for_loss, optimal_allocation
from ..posterior.predict import Prediction, predict
from . import html as h


def summary_section(fit: Fit, ci_prob: float):
    s = diagnostic_numbers(fit.idata, fit.param_names)
    if fit.converged:
        head = h.verdict(True, "The sampler's checks all passed: the posterior below can be trusted as a "
                                 "summary of what the data say under this law and these priors.")
    elif not failed(fit.diagnostics):
        head = h.verdict(False, f"R-hat could not be checked with {s['chains']} chain: nothing shows that the "
                                  "sampler converged; refit with two or more chains (--num-chains 4) before "
                                  "trusting the numbers below.")
    else:
        head = h.verdict(False, f"{len(failed(fit.diagnostics))} diagnostic check(s) failed: treat the numbers "
                                  "below as provisional (see Diagnostics for what to do).")
    chains = f"{s['chains']} chain" + ("s" if s["chains"] != 1 else "")
    facts = [("law", h.Raw(f"<code>{h.esc(fit.law.name)}</code>: {h.esc(fit.law.formula)}")),
             ("runs", str(fit.spec.data.n_runs)),
             ("sampler", f"NUTS, {chains} \u00d7 {s['draws']} draws"),
             ("max R-hat / min ESS", f"{rhat_text(s)} / {s['min_ess']:.0f}")]
    return "summary", "Summary", head + h.kv_table(facts)


def rhat_text(s: dict) -> str:
    """Max R-hat to three decimals, or why it is missing."""
    return f"{s['max_rhat']:.3f}" if s["rhat_computed"] else f"not computed ({s['chains']} chain)"


def data_section(fit: Fit, ci_prob: float):
    d = fit.spec.data
    runs = observed(fit)
    mapping = ", ".join(f"{k} \u2190 {v!s}" for k, v in d.columns.items()) or "(not recorded)"
    conv = "; ".join(d.derived.values()) if d.derived else "none: every size column was given"
    k = d.flops_per_param_token
    design = d.design
    refs = fit.spec.log_ref
    facts = [
        ("source", str(d.source)),
        ("runs", str(d.n_runs)),
        ("columns (canonical \u2190 source)", mapping),
        ("derived columns", conv),
        *([("compute convention", f"C = {k:g} N D (k = {k:g} FLOPs per parameter per token)")]
          if "C" in design.values() or {"N", "D"} <= set(design.values()) else []),
        ("law inputs", ", ".join(f"{v} \u2190 {c}" for v, c in design.items())),
        ("reference scales (geometric means)",
         h.Raw(", ".join(f"{h.esc(v)}<sub>0</sub> = {h.sci_html(np.exp(val))}" for v, val in refs.items()))),
        ("group columns", ", ".join(d.groups) or "none"),
        ("data hash", str(d.hash)),
    ]
    rows = []
    for col in [c for c in runs.columns if c != "loss"] + ["loss"]:
        v = runs[col].to_numpy(float)
        label = AXIS_LABELS.get(col, col)
        used = " (fitted)" if col in design.values() or col == "loss" else ""
        rows.append([label + used, h.sci_html(v.min()), h.sci_html(v.max()), f"{np.log10(v.max() / v.min()):.2f}"])
    ranges = h.table(["variable", "min", "max", "decades"], rows, numeric=(1, 2, 3))
    return "data", "Data", h.kv_table(facts) + "<h3>Ranges</h3>" + ranges


def law_section(fit: Fit, ci_prob: float):
    law = fit.law
    lik = OBSERVATION_MODELS.get(fit.spec.likelihood)
    intro = (f"<p class=\"formula\">{h.esc(law.formula)}</p>"
             f"<p><strong>Reference:</strong> {h.esc(law.reference)}</p>")
    if law.description:
        intro += f"<p>{h.esc(law.description)}</p>"
    if lik is not None:
        intro += (f"<p><strong>Observation model</strong> (what made the bands): <code>{h.esc(lik.name)}</code>, "
                  f"{h.esc(lik.description)}. It assumes {h.esc(lik.assumptions)}."
                  + (f" Chosen: {h.esc(fit.spec.likelihood_reason)}." if fit.spec.likelihood_reason else "")
                  + "</p>")
    if fit.spec.law_reason:
        intro += f"<p><strong>Law fitted:</strong> {h.esc(fit.spec.law_reason)}.</p>"
    symbols = fit.spec.prior_symbols
    if symbols:
        intro += ("<p class=\"note\">Prior symbols: " + ", ".join(
            f"<code>{h.esc(k)}</code> = {h.esc(f'{v:.4g}')}" for k, v in symbols.items())
            + " (y0 is the geometric mean of the observed loss, log_y0 its log). Sizes enter the law "
              "centred at the reference scales, so amplitudes are sampled as the log of a term's value "
              "there and converted to the paper's constants for the parameter table.</p>")
    rows = []
    for name, pdict in fit.spec.priors.items():
        prior = str(Prior.from_dict(pdict))
        if name in law.params:
            default, why, what = law.params[name].prior, law.params[name].why, law.params[name].description
        elif lik is not None and name in lik.params:
            default, why, what = lik.params[name].prior, lik.params[name].why, lik.params[name].description
        else:
            default, why, what = None, "", ""
        if default is not None and default.to_dict() != pdict:
            why = f"set by the user (default {default})"
        rows.append([h.Raw(f"<code>{h.esc(name)}</code>"), what, h.Raw(f"<code>{h.esc(prior)}</code>"), why])
    return "law", "Law and priors", intro + h.table(["parameter", "meaning", "prior", "why this prior"], rows)


def params_section(fit: Fit, ci_prob: float):
    q = pct(ci_prob)
    rows = []
    for name, r in fit.summary(ci_prob).iterrows():
        rows.append([h.Raw(f"<code>{h.esc(str(name))}</code>"), h.num(r["mean"]), h.num(r["sd"]),
                     h.num(r["lower"]), h.num(r["upper"]),
                     f"{r['r_hat']:.3f}" if np.isfinite(r["r_hat"]) else "n/a",
                     f"{r['ess_bulk']:.0f}", f"{r['ess_tail']:.0f}"])
    html_table = h.table(["parameter", "mean", "sd", f"{q} HDI lower", f"{q} HDI upper", "R-hat", "ESS bulk",
                          "ESS tail"], rows, numeric=range(1, 8))
    note = (f"<p class=\"note\">Posterior mean and standard deviation, {q} highest-density interval, and the "
            "convergence numbers of each parameter (conventional constants of the law, then the noise model).</p>")
    fig = h.figure(lambda: plot_params(fit), "Prior (blue) and posterior (orange) of each parameter. Constants "
                  "whose prior spans more than two decades are shown as log10; a posterior much narrower than "
                  "its prior is determined by the data, not by the prior.")
    return "parameters", "Parameters", note + html_table + fig


def diagnostics_section(fit: Fit, ci_prob: float):
    s = diagnostic_numbers(fit.idata, fit.param_names)
    ess_min = s["ess_min"]
    thresholds = (f"R-hat \u2264 {RHAT_MAX}, bulk and tail ESS \u2265 {ESS_MIN_PER_CHAIN} per chain "
                  f"(\u2265 {ess_min} for {s['chains']} chain{'s' if s['chains'] != 1 else ''}), no divergent "
                  "transitions, "
                  f"E-BFMI \u2265 {BFMI_MIN} in every chain")
    if fit.converged:
        out = h.verdict(True, f"All checks passed: {thresholds}.")
    else:
        items = "".join(f"<li><strong>{h.esc(d.get('check', '?'))}</strong>: {h.esc(d.get('message', ''))}</li>"
                        for d in fit.diagnostics)
        n_failed, n_unchecked = len(failed(fit.diagnostics)), len(not_computed(fit.diagnostics))
        what = "; ".join(([f"{n_failed} check(s) failed"] if n_failed else [])
                         + ([f"{n_unchecked} check(s) could not be computed"] if n_unchecked else []))
        out = h.verdict(False, f"{what}. The thresholds are: {thresholds}.")
        out += f"<ul class=\"problems\">{items}</ul>"

    def ok(flag: bool) -> h.Raw:
        return h.Raw('<span class="ok">\u2713 pass</span>' if flag else '<span class="bad">\u2717 fail</span>')

    rows = [
        ["max R-hat", rhat_text(s), f"\u2264 {RHAT_MAX}",
         ok(s["max_rhat"] <= RHAT_MAX) if s["rhat_computed"] else h.Raw('<span class="bad">not computed: refit '
                                                                          'with \u2265 2 chains</span>')],
        ["min ESS (bulk)", f"{s['min_ess_bulk']:.0f}", f"\u2265 {ess_min}", ok(s["min_ess_bulk"] >= ess_min)],
        ["min ESS (tail)", f"{s['min_ess_tail']:.0f}", f"\u2265 {ess_min}", ok(s["min_ess_tail"] >= ess_min)],
        ["divergent transitions", f"{s['divergences']} of {s['transitions']}", "0", ok(s["divergences"] == 0)],
        ["min E-BFMI", f"{s['min_bfmi']:.2f}", f"\u2265 {BFMI_MIN}", ok(s["min_bfmi"] >= BFMI_MIN)],
    ]
    out += h.table(["check", "value", "threshold", "verdict"], rows, numeric=(1,))
    caption = ("Per-chain posteriors (left: chains that agree overlap) and fractional-rank ECDF differences "
               "(right: well-mixed chains stay flat, p-value above)." if s["chains"] > 1 else
               "The one chain's posterior (left) and trace (right): rank plots compare chains, so they need two "
               "or more.")
    out += h.figure(lambda: plot_diagnostics(fit), caption)
    return "diagnostics", "Diagnostics", out


def curve_section(fit: Fit, ci_prob: float, prediction: Prediction | None, held):
    q = pct(ci_prob)
    caption = (f"Observed runs, posterior median of the law with 50% and {q} bands (mean law), and the {q} band "
               "of a new run (law plus run-to-run noise).")
    if len(fit.design) == 2:
        caption += (" For a law of N and D the curve follows the compute-optimal frontier, solved per posterior "
                    "draw; runs are placed at their own compute.")
    if prediction is not None:
        caption += f" Red squares: targets, with the {q} new-run interval."
    if held is not None:
        caption += " Orange diamonds: held-out runs, not used in the fit."

    def make():
        try:
            return plot_curve(fit, prediction, held_out=held, ci_prob=ci_prob)
        except LawError as exc:  # e.g. no interior compute optimum: show the curve along D = 20 N instead
            if len(fit.design) != 2:
                raise
            notes.append(f"The compute-optimal frontier is not available ({exc}); the curve follows D = 20 N.")
            return plot_curve(fit, prediction, held_out=held, slice="ratio=20", ci_prob=ci_prob)

    notes: list[str] = []
    fig = h.figure(make, caption)
    return "curve", "Scaling curve", "".join(f"<p class=\"note\">{h.esc(n)}</p>" for n in notes) + fig


def predictions_section(fit: Fit, ci_prob: float, prediction: Prediction):
    t = prediction.table
    q = pct(prediction.ci_prob)
    inputs = list(prediction.inputs)
    beyond = [c for c in t.columns if c.startswith("beyond_")]
    rows = []
    for _, r in t.iterrows():
        rows.append([*(h.sci_html(r[c]) for c in inputs),
                     h.interval(r["mean_median"], r["mean_lower"], r["mean_upper"]),
                     h.interval(r["new_run_median"], r["new_run_lower"], r["new_run_upper"]),
                     ", ".join(f"{c[len('beyond_'):]} {r[c]:+.2f}" for c in beyond)])
    head = [*inputs, f"mean law: median [{q}]", f"new run: median [{q}]", "decades beyond fitted range"]
    note = (f"<p class=\"note\">Loss in {h.esc(fit.spec.loss_unit)}. "
            "The mean law is the law's value (uncertainty about the law alone); a new run adds "
            "the fitted run-to-run noise and is what one more training run at that scale would show. Decades "
            "beyond: how far each input lies above (+) or below (\u2212) the fitted runs, in powers of ten; "
            "0 is inside the fitted range.</p>")
    return "predictions", "Predictions at targets", note + h.table(head, rows, numeric=range(len(head) - 1))


def held_out_section(fit: Fit, ci_prob: float, held):
    design = list(fit.design.values())
    q = pct(ci_prob)
    pred = predict(fit, held[design], ci_prob=ci_prob)
    t = pred.table
    loss = held["loss"].to_numpy(float)
    inside = (loss >= t["new_run_lower"].to_numpy()) & (loss <= t["new_run_upper"].to_numpy())
    rows = []
    for i, (_, r) in enumerate(t.iterrows()):
        rows.append([*(h.sci_html(r[c]) for c in design), f"{loss[i]:.4g}",
                     h.interval(r["new_run_median"], r["new_run_lower"], r["new_run_upper"]),
                     h.Raw('<span class="ok">inside</span>' if inside[i] else '<span class="bad">outside</span>')])
    head = [*design, "observed loss", f"new run: median [{q}]", "observed vs interval"]
    note = (f"<p>{int(inside.sum())} of {len(inside)} held-out runs lie inside the {q} new-run interval "
            f"(about {q} are expected to when the law and noise model are right).</p>")
    return "held-out", "Held-out runs", note + h.table(head, rows, numeric=range(len(head) - 1))


def decisions_section(fit: Fit, ci_prob: float, compute):
    q = pct(ci_prob)
    design = fit.design
    runs = observed(fit)
    out = ""
    losses = None
    if set(design) == {"N", "D"}:
        c_max = float(runs["C"].max())
        budgets = np.atleast_1d(np.asarray(compute if compute is not None else [c_max, 10 * c_max, 100 * c_max],
                                           dtype=float))
        try:
            dec = optimal_allocation(fit, budgets, ci_prob=ci_prob)
        except BayeslawError as exc:
            out += f"<p class=\"bad\">Compute-optimal allocation not available: {h.esc(str(exc))}</p>"
        else:
            t = dec.table
            rows = [[h.sci_html(r["C"]), h.interval(r["N_opt_median"], r["N_opt_lower"], r["N_opt_upper"], sci=True),
                     h.interval(r["D_opt_median"], r["D_opt_lower"], r["D_opt_upper"], sci=True),
                     h.interval(r["tokens_per_param_median"], r["tokens_per_param_lower"],
                               r["tokens_per_param_upper"]),
                     h.interval(r["loss_opt_median"], r["loss_opt_lower"], r["loss_opt_upper"])]
                    for _, r in t.iterrows()]
            out += ("<h3>Compute-optimal allocation</h3><p class=\"note\">For each budget C (FLOPs) the model "
                    "size N* and tokens D* = C / (k N*) that minimise the loss, solved for every posterior draw: "
                    f"median [{q} interval].</p>")
            out += h.table(["budget C", "parameters N*", "tokens D*", "tokens per parameter D*/N*",
                           "loss at the optimum"], rows, numeric=range(5))
            ladder = optimal_allocation(fit, [10 * c_max, 100 * c_max], ci_prob=ci_prob)
            losses = h.round_losses(ladder.table["loss_opt_median"].to_numpy())
        marks = compute if compute is not None else None
        out += h.figure(lambda: plot_optimum(fit, budget=marks, ci_prob=ci_prob), "Compute-optimal parameters N* "
                        f"and tokens D* against the budget C: median with 50% and {q} bands; the dotted line marks the "
                        "largest fitted budget" + (", the dashed lines the budgets asked for." if marks is not None
                                                   else "."))
    elif list(design.values()) == ["C"]:
        c_max = float(runs["C"].max())
        losses = h.round_losses(predict(fit, C=[10 * c_max, 100 * c_max]).table["mean_median"].to_numpy())
    else:
        return None
    if losses is not None and len(losses):
        try:
            cfl = compute_for_loss(fit, losses, ci_prob=ci_prob)
        except BayeslawError as exc:
            out += f"<p class=\"bad\">Compute to reach a loss not available: {h.esc(str(exc))}</p>"
        else:
            rows = [[f"{r['loss']:.4g}", f"{100 * r['reachable']:.0f}%",
                     h.interval(r["C_median"], r["C_lower"], r["C_upper"], sci=True)]
                    for _, r in cfl.table.iterrows()]
            alone = ""
            if "reachable_law_alone" in cfl.table.columns:
                shares = ", ".join(f"{100 * v:.0f}%" for v in cfl.table["reachable_law_alone"])
                alone = f" (with the law alone, its discrepancy term at 0: {shares})"
            out += ("<h3>Compute to reach a loss</h3><p class=\"note\">Training compute needed to reach each "
                    "loss (the losses the law predicts at 10\u00d7 and 100\u00d7 the largest fitted budget, "
                    f"rounded), at the compute-optimal allocation: median [{q} interval]. Reachable: the share of "
                    f"posterior draws whose loss along the optimum gets below it by 1e45 FLOPs{alone}.</p>")
            out += h.table(["loss", "reachable", "compute C (FLOPs)"], rows, numeric=range(3))
    return "decisions", "Decisions", out


def reproducibility_section(fit: Fit, ci_prob: float):
    spec = fit.spec.to_dict()
    facts = [(k, str(v)) for k, v in spec["sampler"].items()]
    law = spec["law"]
    facts += [("law version / hash", f"{law.get('version', '?')} / {law.get('hash', '?')}")]
    if fit.spec.versions:
        facts.append(("versions at fit time", ", ".join(f"{k} {v}" for k, v in fit.spec.versions.items())))
    spec = json.dumps(spec, indent=2, default=str)
    out = h.kv_table(facts)
    out += f"<details><summary>Full fit specification (spec.json)</summary><pre>{h.esc(spec)}</pre></details>"
    return "reproducibility", "Reproducibility", out


