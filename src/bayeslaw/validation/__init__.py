"""Validation: PSIS-LOO with exact refits, comparison, backtests, cross-validation, prior sensitivity."""
