"""The sampler budgets a fit plan uses unless the caller says, with the measurements behind each (no imports: the
CLI's help text reads them without loading JAX). :func:`bayeslaw.inference.plan.plan_fit` applies them; the plain
defaults are :class:`bayeslaw.core.spec.SamplerSettings`'."""

from __future__ import annotations

#: Warmup of a law with its curvature term unless the caller says: its floor, exponent and curvature in N trade
#: off along a ridge the dense mass matrix needs longer to learn (60 synthetic 48-run chinchilla ladders: a
#: sampler warning on 15% at 1000 warmup iterations, 6.7% at 2000; the bundled Chinchilla runs: ESS below 400 at
#: 1000, none at 2000); a 48-run ladder's fit takes 1.6 s instead of 1.5 s.
CURVED_WARMUP = 2000
#: Draws per chain of a law with an orthogonal curvature term unless the caller says: its coefficients' Cauchy prior
#: gives their posterior heavy tails, whose tail ESS fell just below 400 (of 4000 draws) on 42% of 40 synthetic
#: 48-run chinchilla ladders; 0 of 12 warned at 2000 (case_studies/real_data_calibration/orthogonal_probe.py).
ORTHOGONAL_SAMPLES = 2000
#: Warmup iterations and draws per chain, at most, of the first stage of a two-stage fit (a law with derived numbers,
#: e.g. the orthogonal curvature term): only the base law's posterior medians are used, whose Monte Carlo error at
#: 4 x 1000 draws is a few hundredths of a posterior sd; they are the plain law's own defaults, so the first stage is
#: the plain fit's compiled program (a plain fit of the same runs shares it) at half the orthogonal fit's 4 x (2000 +
#: 2000). A caller's smaller budget is kept.
FIRST_STAGE_ITERATIONS = 1000
#: NUTS target acceptance of a learning-curve (sequential) fit unless the caller says: a run's drift and jitter trade
#: off on short curves, and a few transitions diverge there. Of 14 Revisiting curves that had warned at 0.8 (1-26
#: divergences of 4000 on 13), 6 warned at 0.95; of the 15 of 92 that warned at 0.95 (divergences on 12), 6 warned at
#: 0.99 (divergences on 1; the rest R-hat or ESS), for 1.2x the time per fit.
SEQUENTIAL_TARGET_ACCEPT = 0.99
#: Warmup iterations and draws per chain of a learning-curve (sequential) fit unless the caller says. Measured at
#: target 0.99, seed 0 (case_studies/real_data_calibration, section "A sampler budget for learning curves",
#: 2026-12-06), 92 Revisiting curves, with the one-state filter: power_law at 500 + 1500 warned on 3.3% of them
#: (R-hat and ESS of the drift and jitter) at 2.7 s per fit, at 1000 + 2000 on 2.2% at 3.3 s; m3 at 500 + 1500 on
#: 9.8% at 2.0 s, at 1000 + 2000 on none at 2.0 s (and with it every Revisiting bar of issue 14 is met). Earlier,
#: 1000 + 1000 warned on 7.6% (power_law). Coverage and errors did not move with the budget (90%: 0.860 power_law,
#: 0.914-0.915 m3).
SEQUENTIAL_WARMUP = 1000
SEQUENTIAL_SAMPLES = 2000
