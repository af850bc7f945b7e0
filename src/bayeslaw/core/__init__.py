"""Declarations: priors, run tables, laws and their catalogue, observation models, specs, the result contract.

Nothing here samples or predicts; every other layer builds on these.
"""
