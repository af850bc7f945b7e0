"""``bayeslaw laws``: the catalogues of laws and observation models, as text or JSON."""

from __future__ import annotations

import argparse

from . import common as c

EPILOG = """example:
  bayeslaw laws chinchilla

more:
  bayeslaw laws                       # every law, then the observation models (--likelihood)
  bayeslaw laws --format json         # for scripts: formulas, priors, reasons, references
"""


def add(sub, common) -> None:
    p = c.add_subcommand(sub, common, "laws", help="list the law catalogue with formulas, priors, references",
                         description="List the laws bayeslaw can fit (its models/ folder, installed packages' "
                                     "bayeslaw.laws entry points, registered laws), with their formulas, default "
                                     "priors (and why) and references, then the observation models.",
                         epilog=EPILOG)
    p.add_argument("name", nargs="?", help="show only this law")
    c.add_format(p, ("table", "json"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.catalogue import available_laws, get_law, origin
    from ..core.observation import OBSERVATION_MODELS
    from ..core.curvature import CURVATURE, ORTHOGONAL

    names = [args.name] if args.name else sorted(available_laws())
    selected = [get_law(n) for n in names]
    if args.format == "json":
        doc = [law.to_dict() | {"description": law.description, "origin": origin(law.name),
                                "params": {k: {"prior": str(p.prior), "why": p.why, "description": p.description}
                                           for k, p in law.params.items()}} for law in selected]
        print(c.dump_json(doc if not args.name else doc[0]))
        return 0
    blocks = [law.describe() + f"\n  from: {origin(law.name)}" for law in selected]
    if not args.name:
        blocks.append("observation models (on log loss; choose with --likelihood / likelihood=):\n"
                      + "\n".join("  " + m.describe().replace("\n", "\n  ") for m in OBSERVATION_MODELS.values()))
        blocks.append("any law's name + _curved (e.g. chinchilla_curved): the law times a quadratic misfit in its "
                      f"centred log inputs, each coefficient ~ {CURVATURE.prior}; fit it beside the plain law and let "
                      "compare/stack weigh them (see `bayeslaw laws chinchilla_curved`); + _orthogonal (e.g. "
                      "chinchilla_orthogonal): the same misfit kept orthogonal to the law over the runs, each "
                      f"coefficient ~ {ORTHOGONAL.prior}, fitted after the plain law, whose parameters and decisions "
                      "it keeps near the plain law's; the default for a ladder with at least 5 runs per parameter "
                      "(--curvature off for the plain law).")
        blocks.append("y0 = geometric mean of the observed loss; inputs are centred at their geometric mean "
                      "(N0, D0, ...), so a, b are log terms at that reference scale.")
    print("\n\n".join(blocks))
    return 0
