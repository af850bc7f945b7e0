"""Output files: refuse a path that cannot be written, before any work is done (nothing is written here)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import BayeslawError


def check_output_file(path: str | os.PathLike, suffixes: tuple[str, ...], *, flag: str = "Output file") -> Path:
    """``path`` if a file can be written there: its suffix is one of ``suffixes`` (which pick the format), it
    is not a directory, and the nearest existing parent is a directory."""
    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise BayeslawError(f"{flag} '{out}' must end in {', '.join(suffixes)}; the suffix picks the format.")
    if out.is_dir():
        raise BayeslawError(f"{flag} '{out}' is a directory; give a file name such as 'figure{suffixes[0]}'.")
    check_creatable(out, flag)
    return out


def check_creatable(path: Path, flag: str) -> None:
    """Refuse a path whose nearest existing parent is a file (nothing could be created below it)."""
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise BayeslawError(f"{flag} '{path}' cannot be created because '{parent}' is a file; choose another path.")
