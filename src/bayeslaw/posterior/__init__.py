"""Posterior consumers: predictions, decisions, curves and mixtures of fits, from posterior draws."""
