"""The ``bayeslaw`` command's entry point (the console script and ``python -m bayeslaw``).

Ctrl-C must end the command with exit status 130 and no traceback from the moment bayeslaw's code
runs, including while the command-line modules are still being imported. So the first thing this
module does, before importing anything else of bayeslaw, is to install a SIGINT handler that says
"interrupted: nothing was written" and ends the process with 130 at once (nothing has been written
yet: outputs are published only inside :func:`bayeslaw.cli.main`, which replaces this handler with
:mod:`bayeslaw.core.interrupts`'s before any command runs). The package face (``bayeslaw/__init__``)
imports nothing heavy, so the window before this handler is the interpreter's own start-up (its
``site`` import), which no package code can reach. Importing this module other than as the entry
point (``run``) or as ``__main__`` changes nothing.
"""

import os
import signal
import sys


def _interrupted(signum, frame):  # pragma: no cover - exercised in a subprocess
    os.write(2, b"interrupted: nothing was written\n")
    os._exit(130)


def _entry() -> bool:
    """Whether this process runs the command: as the console script (whose ``__main__`` imports ``run``) or as
    ``python -m bayeslaw``."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name == "bayeslaw.__main__":
        return True
    return __name__ == "__main__" or os.path.basename(getattr(main, "__file__", "") or "").removesuffix(".exe") in (
        "bayeslaw", "bayeslaw-script.py")


if _entry() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted)

from .cli import main  # noqa: E402  (after the handler: a Ctrl-C during these imports exits 130)


def run() -> int:
    """The console script's entry: :func:`bayeslaw.cli.main` on the process's arguments."""
    return main()


if __name__ == "__main__":
    raise SystemExit(run())
