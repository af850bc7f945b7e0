"""The ``bayeslaw`` command: parses options, calls the public API, renders the result.

One module per command (``fit``, ``laws``, ``demo``, ``predict``, ``optimum``, ``plot``,
``report``, ``compare``, ``backtest``), the shared vocabulary in :mod:`bayeslaw.cli.common`. The
library is imported lazily, inside each command, so that ``--help`` is instant and bad option
syntax is refused before anything heavy loads. Exit status: 0 on success, 2 on bad input (one
plain message, no traceback, nothing written), 130 on Ctrl-C, 1 on an unexpected failure.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from . import backtest, compare, demo, fit, laws, optimum, plot, predict, report
from .common import Parser, UsageError

EPILOG = """example:
  bayeslaw demo                                   # fit the bundled Chinchilla runs, write every output

more:
  bayeslaw laws                                   # the law catalogue, with default priors
  bayeslaw fit runs.csv --law chinchilla --out my_fit
  bayeslaw predict my_fit --at N=70e9,D=1.4e12

Start with `bayeslaw demo`, then `bayeslaw laws` and `bayeslaw fit --help`.
Exit status: 0 on success, 2 on bad input (one message, nothing written), 130 when interrupted
(Ctrl-C: nothing written), 1 on an unexpected failure.
"""

COMMANDS = (fit, laws, demo, predict, optimum, plot, report, compare, backtest)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bayeslaw")
    except PackageNotFoundError:
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="bayeslaw",
                    description="Bayesian fitting of neural scaling laws: posteriors with NUTS (NumPyro), "
                                "diagnostics and comparison with ArviZ.",
                    epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no non-essential warnings")
    parser.add_argument("--version", action="version", version=f"bayeslaw {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS,
                        help="no progress bar and no non-essential warnings")
    for command in COMMANDS:
        command.add(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2): return the status, as for every command
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    args.quiet = bool(getattr(args, "quiet", False))
    if args.quiet:   # no "reading FILE (N MB) ..." lines for large tables either
        from ..core import tables

        progress, tables.PROGRESS_BYTES = tables.PROGRESS_BYTES, None
        try:
            return _run(args, argv)
        finally:
            tables.PROGRESS_BYTES = progress
    return _run(args, argv)


def _run(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    """One command under the command line's Ctrl-C handling, its errors as one line (exit 2)."""
    from ..core import interrupts
    from ..errors import BayeslawError

    # Ctrl-C: a flag that a swallowed KeyboardInterrupt cannot lose, checked before outputs are published
    # (bayeslaw.core.interrupts); an interrupted command writes nothing and exits 130. Called without argv
    # (the console script, python -m bayeslaw), the process ends with the command.
    with interrupts.installed(exiting=argv is None):
        try:
            code = args.func(args)
            interrupts.check()
            return code
        except (BayeslawError, UsageError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted: nothing was written", file=sys.stderr)
            return 130
        except Exception:
            if interrupts.pending():   # a failure that follows a Ctrl-C (e.g. an import cut in half) is its echo
                print("interrupted: nothing was written", file=sys.stderr)
                return 130
            raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
