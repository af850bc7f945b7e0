"""Default priors shared by several laws, each with the reason it is reasonable.

Symbols ``y0``/``log_y0`` are the geometric mean of the observed loss (and its log),
resolved per fit; see :mod:`bayeslaw.priors`.
"""

from bayeslaw.core.law import Param
from bayeslaw.core.priors import Prior

FLOOR = Param(
    Prior("HalfNormal", scale="y0"),
    "irreducible loss is positive and below the observed losses; half-normal at the loss scale y0",
    "irreducible loss (the floor as size goes to infinity)",
)
LOG_TERM = Param(
    Prior("Normal", loc="log_y0", scale=2.0),
    "a reducible term at the reference scale is of the order of the loss y0, within a factor ~50",
    "log of the power-law term's value at the reference scale",
)
EXPONENT = Param(
    Prior("Gamma", concentration=2.0, rate=5.0),
    "exponents are positive, typically 0.05-0.7 (Hestness et al. 2017); mean 0.4, P(>1) = 4%",
    "power-law exponent",
)
