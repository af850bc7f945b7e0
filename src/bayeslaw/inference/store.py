"""Saving fits, without pickle: a folder with ``fit.nc`` (the DataTree) and ``spec.json``.

:func:`check_output_dir` says whether a folder can take a fit (before any sampling: the CLI
calls it first); :func:`save` writes the two files to a temporary sibling folder and renames it
into place, so an interrupted save never leaves a half-written fit. Loading lives beside the
:class:`~bayeslaw.Fit` class (:func:`bayeslaw.load`).
"""

from __future__ import annotations

import os
import platform
import shutil
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

from ..core.paths import check_creatable
from ..core.records import strict_json
from ..core.spec import FitSpec
from ..errors import FitFileError
from .datatree import spec_attrs

IDATA_FILE = "fit.nc"
SPEC_FILE = "spec.json"


def versions() -> dict[str, str]:
    """Python's and the packages' versions, recorded in every saved fit and case-study result."""
    out = {"python": platform.python_version()}
    for pkg in ("bayeslaw", "numpyro", "jax", "jaxlib", "arviz-base", "arviz-stats", "arviz-plots",
                "xarray", "pandas", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def check_output_dir(path: str | os.PathLike, *, overwrite: bool = False, flag: str = "output folder") -> Path:
    """Refuse a folder that cannot take a fit (exists without ``overwrite``, is a file, is not a fit, or
    cannot be created); nothing is written. ``flag`` names the option in messages (e.g. ``--out``)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FitFileError(f"{flag} '{path}' already exists; choose another {flag}, or pass overwrite=True "
                           "(--overwrite) to replace it.")
    if path.exists() and not path.is_dir():
        raise FitFileError(f"{flag} '{path}' is a file, not a directory; choose another {flag}.")
    if path.is_dir() and not (path / SPEC_FILE).exists() and any(path.iterdir()):
        raise FitFileError(f"{flag} '{path}' is a non-empty directory that is not a saved fit, so it will not be "
                           f"replaced; choose another {flag} or remove it yourself.")
    check_creatable(path, flag)
    return path


def save(fit: Any, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a fit (its ``idata`` and ``spec``) to a folder, atomically; returns the folder."""
    path = check_output_dir(path, overwrite=overwrite)
    parent = path.parent if str(path.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    spec: FitSpec = fit.spec.replace(versions=versions())
    # A sibling directory made with mkdir (not tempfile.mkdtemp, whose mode 0700 would survive
    # the rename and make the saved fit unreadable to anyone else): the umask applies as usual.
    tmp = parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
    tmp.mkdir()
    try:
        idata = fit.idata.copy()
        idata.attrs = {**idata.attrs, **spec_attrs(spec)}
        idata.to_netcdf(tmp / IDATA_FILE, engine="netcdf4")
        with open(tmp / SPEC_FILE, "w") as fh:
            fh.write(strict_json(spec.to_dict(), indent=2))  # non-finite numbers: null + flag (core.records)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            old = parent / f".{path.name}.{uuid.uuid4().hex[:12]}.old"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fit.spec = spec
    return path
