"""Averaging: stacking weights and the stacked predictive of several fits."""
