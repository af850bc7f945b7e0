"""``python -m bayeslaw``: the command-line interface (the same as the ``bayeslaw`` command)."""

from .cli import main

raise SystemExit(main())
