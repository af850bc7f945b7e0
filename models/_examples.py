"""Designs for the synthetic runs laws declare as their ``example`` (what the test suite recovers).

Each law states its example's true parameters in its own sampled parameterisation, at the
reference scales the fit will use: the geometric means of the design's inputs (:func:`log_ref`).
"""

import numpy as np


def ladder() -> dict[str, np.ndarray]:
    """A Chinchilla-style ladder: 8 model sizes (70M-16B) x 6 tokens-per-parameter ratios (5-160), 48 runs."""
    N = np.repeat(np.geomspace(7e7, 1.6e10, 8), 6)
    return {"N": N, "D": N * np.tile([5.0, 10.0, 20.0, 40.0, 80.0, 160.0], 8)}


def log_ref(values: np.ndarray) -> float:
    """The log reference scale a fit centres an input at: the mean of its logs."""
    return float(np.mean(np.log(values)))


def log_term(amplitude: float, exponent: float, values: np.ndarray) -> float:
    """log of a power-law term A v^-exponent at the reference scale of ``values``."""
    return float(np.log(amplitude) - exponent * log_ref(values))
