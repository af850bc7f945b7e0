"""Power law with an irreducible floor ("M2"): L = E + A * x^-alpha.

One input, ``x``: choose which column it is with ``fit(..., x="N")`` (or ``"D"``,
``"C"``, or any size column). References: Hestness et al. 2017 (arXiv 1712.00409);
Henighan et al. 2020 (arXiv 2010.14701), eq. 1.1.
"""

from ._floor_power import floor_power_law

power_law = floor_power_law(
    "power_law", "x",
    formula="L = E + A * x^-alpha",
    reference="Hestness et al. 2017, arXiv:1712.00409; Henighan et al. 2020, arXiv:2010.14701 eq. 1.1",
    description="One size variable x (N, D or C: pick it with x=...).",
)
