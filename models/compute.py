"""Loss against training compute with a floor: L = E + A * C^-alpha.

Reference: Kaplan et al. 2020 (arXiv 2001.08361) eq. 1.3 (without the floor);
Henighan et al. 2020 (arXiv 2010.14701) eq. 1.1 (with it).
"""

import numpy as np

from bayeslaw.core.law import Example

from ._examples import log_term
from ._floor_power import floor_power_law

_C = np.geomspace(1e18, 1e23, 20)  # a compute sweep: loss 3.7 -> 2.05

compute = floor_power_law(
    "compute", "C",
    formula="L = E + A * C^-alpha",
    reference="Kaplan et al. 2020, arXiv:2001.08361 eq. 1.3; Henighan et al. 2020, arXiv:2010.14701 eq. 1.1",
    description="Loss against training FLOPs C (C = 6 N D if only N and D are given).",
    example=Example(inputs={"C": _C}, sigma=0.015, params={"E": 1.7, "a": log_term(1000.0, 0.15, _C), "alpha": 0.15}),
)
