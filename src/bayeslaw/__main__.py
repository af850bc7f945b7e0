"""The ``bayeslaw`` command's entry point (the console script and ``python -m bayeslaw``).

Ctrl-C must end the command with exit status 130 and no traceback from the moment bayeslaw's code
runs, including while the command-line modules are still being imported. The package face
(``bayeslaw/__init__``), which the console script imports first, installs a SIGINT handler that says
"interrupted: nothing was written" and ends the process with 130 at once (nothing has been written
yet: outputs are published only inside :func:`bayeslaw.cli.main`, which replaces this handler with
:mod:`bayeslaw.core.interrupts`'s before any command runs); for ``python -m bayeslaw`` this module
installs the same handler. The window before it is the interpreter's own start-up (its ``site``
import, finding the package), which no package code can reach. Importing this module other than as
the entry point (``run``) or as ``__main__`` changes nothing.
"""

import os
import signal
import sys


def _interrupted(signum, frame):  # pragma: no cover - exercised in a subprocess
    """The face's handler (bayeslaw/__init__), for ``python -m bayeslaw`` (modules other than the CLI do not
    import the face)."""
    os.write(2, b"interrupted: nothing was written\n")
    os._exit(130)


def _entry() -> bool:
    """Whether this process runs the command as ``python -m bayeslaw`` (the console script's case is the face's)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return __name__ == "__main__" or (spec is not None and spec.name == "bayeslaw.__main__")


if _entry() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted)

from .cli import main  # noqa: E402  (after the handler: a Ctrl-C during these imports exits 130)


def run() -> int:
    """The console script's entry: :func:`bayeslaw.cli.main` on the process's arguments."""
    return main()


if __name__ == "__main__":
    raise SystemExit(run())
