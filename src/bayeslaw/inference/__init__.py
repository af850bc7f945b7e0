"""Inference: the generic NumPyro model, NUTS, fit plans, fitting and refitting, the Fit result, diagnostics."""
