"""Loss against training compute with a floor: L = E + A * C^-alpha.

Reference: Kaplan et al. 2020 (arXiv 2001.08361) eq. 1.3 (without the floor);
Henighan et al. 2020 (arXiv 2010.14701) eq. 1.1 (with it).
"""

from ._floor_power import floor_power_law

compute = floor_power_law(
    "compute", "C",
    formula="L = E + A * C^-alpha",
    reference="Kaplan et al. 2020, arXiv:2001.08361 eq. 1.3; Henighan et al. 2020, arXiv:2010.14701 eq. 1.1",
    description="Loss against training FLOPs C (C = 6 N D if only N and D are given).",
)
