"""Power law with an irreducible floor ("M2"): L = E + A * x^-alpha.

One input, ``x``: choose which column it is with ``fit(..., x="N")`` (or ``"D"``,
``"C"``, or any size column). References: Hestness et al. 2017 (arXiv 1712.00409);
Henighan et al. 2020 (arXiv 2010.14701), eq. 1.1.
"""

import numpy as np

from bayeslaw.core.law import Example

from ._examples import log_term
from ._floor_power import floor_power_law

_X = np.geomspace(1e7, 1e11, 20)  # e.g. model sizes 10M-100B: loss 4.9 -> 1.9

power_law = floor_power_law(
    "power_law", "x",
    formula="L = E + A * x^-alpha",
    reference="Hestness et al. 2017, arXiv:1712.00409; Henighan et al. 2020, arXiv:2010.14701 eq. 1.1",
    description="One size variable x (N, D or C: pick it with x=...).",
    example=Example(inputs={"x": _X}, sigma=0.015, params={"E": 1.7, "a": log_term(400.0, 0.3, _X), "alpha": 0.3}),
)
