"""Output files and folders: one rule for every output, checked before any work, and published atomically.

The rule, the same for ``fit --out``, ``demo --out``, ``plot -o``, ``report -o``, ``compare --plot/--overlay``,
:meth:`bayeslaw.Fit.save`, :func:`bayeslaw.plots.save_figure` and :func:`bayeslaw.write_report`:

- An output that exists is replaced only with ``--overwrite`` (``overwrite=True``); otherwise it is refused.
  A folder is replaced only if it is what the command writes (a saved fit, a demo's folder) or empty; a file
  output must be a regular file, never a directory or a device.
- A symbolic link is followed: the output is written to the link's target, atomically, and the link is
  left as it is (``--out latest`` where ``latest -> fits/run7`` replaces ``fits/run7``). A link whose
  target does not exist is refused.
- The folder that will hold the output must be writable: this is tried (a file created and removed at
  once) before any sampling, so that no result is lost to a bad path.
- Outputs are written under hidden temporary names beside their destination (:func:`staging`) and renamed
  into place together at one commit point; on any failure or Ctrl-C before it, the temporary files and
  the folders made for them are removed and nothing else changes; a replaced output's old copy is
  removed after the commit. So no stray ``.NAME.<hex>.tmp``/``.old`` is left behind.

:func:`check_output` applies the rule (nothing is written); :func:`staging` writes and publishes.
"""

from __future__ import annotations

import os
import shutil
import stat
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from ..errors import BayeslawError
from . import interrupts


def _overwrite_hint(flag: str) -> str:
    return "pass --overwrite" if flag.startswith("-") else "pass overwrite=True"


def check_output(path: str | os.PathLike, *, flag: str, overwrite: bool = False, directory: bool = False,
                 replaceable: Callable[[Path], bool] | None = None, what: str = "an output of bayeslaw",
                 error: type[BayeslawError] = BayeslawError) -> Path:
    """The destination of an output (a symlink's target), after checking the rule above; nothing is written.

    ``flag`` names the option in messages (``--out``, ``-o``; or e.g. ``output folder`` in the API);
    ``directory`` says whether the output is a folder; ``replaceable(dir)`` says whether an existing folder
    is one this command may replace (default: only an empty one), ``what`` names such a folder; ``error`` is
    the exception raised.
    """
    try:
        return _check_output(Path(path), str(path), flag, overwrite, directory, replaceable, what)
    except BayeslawError as exc:
        raise (exc if isinstance(exc, error) else error(str(exc))) from None
    except OSError as exc:
        raise error(f"{flag} '{path}' cannot be checked ({exc.strerror or type(exc).__name__}); choose a path "
                    "you can read and write.") from None


def _check_output(given: Path, text: str, flag: str, overwrite: bool, directory: bool,
                  replaceable: Callable[[Path], bool] | None, what: str) -> Path:
    if text in ("", "-"):
        raise BayeslawError(f"{flag} {text!r} is not a path; give a {'folder' if directory else 'file'} name.")
    dest = given
    if given.is_symlink():
        target = Path(os.path.realpath(given))
        if not target.exists():
            raise BayeslawError(f"{flag} '{given}' is a symbolic link to '{target}', which does not exist; remove the "
                                f"link or give another {flag}.")
        dest = target
    if dest.exists():
        if directory and not dest.is_dir():
            raise BayeslawError(f"{flag} '{given}' is a file, not a directory; choose another {flag}.")
        if not directory and dest.is_dir():
            raise BayeslawError(f"{flag} '{given}' is a directory; give a file name such as "
                                f"'{given / ('output' + given.suffix)}'.")
        if not directory and not stat.S_ISREG(dest.stat().st_mode):
            raise BayeslawError(f"{flag} '{given}' is not a regular file (a device, pipe or socket), so it will not be "
                                f"replaced; give the name of a file.")
        if not overwrite:
            raise BayeslawError(f"{flag} '{given}' already exists; choose another {flag}, or "
                                f"{_overwrite_hint(flag)} to replace it.")
        if directory and not (replaceable or (lambda d: False))(dest) and any(dest.iterdir()):
            raise BayeslawError(f"{flag} '{given}' is a non-empty directory that is not {what}, so it will not be "
                                f"replaced; choose another {flag} or remove it yourself.")
    check_creatable(dest, flag, shown=given)
    return dest


def check_output_file(path: str | os.PathLike, suffixes: tuple[str, ...], *, flag: str = "Output file",
                      overwrite: bool = False) -> Path:
    """The destination of an output file whose suffix (one of ``suffixes``) picks the format; see :func:`check_output`."""
    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise BayeslawError(f"{flag} '{out}' must end in {', '.join(suffixes)}; the suffix picks the format.")
    if out.is_dir() and not out.is_symlink():
        raise BayeslawError(f"{flag} '{out}' is a directory; give a file name such as 'figure{suffixes[0]}'.")
    return check_output(out, flag=flag, overwrite=overwrite)


def check_creatable(path: Path, flag: str, *, shown: Path | None = None) -> None:
    """Refuse a path below a file, or in a folder where files cannot be created (tried, then removed)."""
    shown = path if shown is None else shown
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise BayeslawError(f"{flag} '{shown}' cannot be created because '{parent}' is a file; choose another path.")
    probe = parent / f".bayeslaw-probe.{uuid.uuid4().hex[:12]}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise BayeslawError(f"{flag} '{shown}' cannot be written: files cannot be created in '{parent}' "
                            f"({exc.strerror or type(exc).__name__}); choose a folder you can write to.") from None
    try:
        probe.unlink()
    except OSError:
        pass


# -- writing and publishing --------------------------------------------------------------------------

_DEPTH = threading.local()


class Staging:
    """Temporary siblings of some outputs, published together by :meth:`commit` (see :func:`staging`)."""

    def __init__(self) -> None:
        self.items: list[tuple[Path, Path]] = []   # (temporary, destination)
        self.made: list[Path] = []                 # folders created for them, outermost first

    def _parent(self, dest: Path) -> Path:
        parent = dest.parent if str(dest.parent) else Path(".")
        missing = []
        p = parent
        while not p.exists():
            missing.append(p)
            p = p.parent
        for p in reversed(missing):
            p.mkdir()
            self.made.append(p)
        return parent

    def file(self, dest: str | os.PathLike) -> Path:
        """A temporary path (same suffix) to write ``dest``'s content to; renamed to ``dest`` at the commit."""
        dest = Path(dest)
        tmp = self._parent(dest) / f".{dest.name}.{uuid.uuid4().hex[:12]}.tmp{dest.suffix}"
        self.items.append((tmp, dest))
        return tmp

    def directory(self, dest: str | os.PathLike) -> Path:
        """A temporary folder (created) to fill with ``dest``'s content; renamed to ``dest`` at the commit."""
        dest = Path(dest)
        # mkdir, not tempfile.mkdtemp (whose mode 0700 would survive the rename): the umask applies as usual
        tmp = self._parent(dest) / f".{dest.name}.{uuid.uuid4().hex[:12]}.tmp"
        self.items.append((tmp, dest))
        tmp.mkdir()
        return tmp

    def commit(self, *, final: bool = True) -> None:
        """Rename every temporary into place at once; on Ctrl-C before the commit point, undo and raise."""
        with interrupts.deferred():
            interrupts.check()
            done: list[tuple[Path, Path, Path | None]] = []
            try:
                for tmp, dest in self.items:
                    if not tmp.exists():
                        raise BayeslawError(f"Nothing was written for '{dest}'.")
                    old = None
                    if dest.exists() or dest.is_symlink():
                        old = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:12]}.old"
                        os.replace(dest, old)
                    try:
                        os.replace(tmp, dest)
                    except BaseException:
                        if old is not None:
                            os.replace(old, dest)
                        raise
                    done.append((tmp, dest, old))
                if interrupts.commit_point(final=final):
                    raise KeyboardInterrupt
            except BaseException:
                for tmp, dest, old in reversed(done):
                    os.replace(dest, tmp)
                    if old is not None:
                        os.replace(old, dest)
                raise
            for _, _, old in done:
                if old is not None:
                    _remove(old)
        self.items, self.made = [], []

    def discard(self) -> None:
        """Remove the temporaries and the folders made for them."""
        for tmp, _ in self.items:
            _remove(tmp)
        for p in reversed(self.made):
            try:
                p.rmdir()
            except OSError:
                pass
        self.items, self.made = [], []


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


@contextmanager
def staging() -> Iterator[Staging]:
    """Write outputs to temporaries (``st.file(dest)``, ``st.directory(dest)``) inside the block; they are
    published together when it ends, or removed (with the folders made for them) if it raises. Nested
    stagings (a fit saved inside a demo's folder) commit into their parent's temporaries, and only the
    outermost one is the command's commit point."""
    depth = getattr(_DEPTH, "n", 0)
    _DEPTH.n = depth + 1
    st = Staging()
    try:
        yield st
        st.commit(final=depth == 0)
    except BaseException:
        st.discard()
        raise
    finally:
        _DEPTH.n = depth
