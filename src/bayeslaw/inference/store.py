"""Saving fits, without pickle: a folder with ``fit.nc`` (the DataTree) and ``spec.json``.

:func:`check_output_dir` says whether a folder can take a fit (before any sampling: the CLI
calls it first); :func:`save` writes the two files to a temporary sibling folder and renames it
into place, so an interrupted save never leaves a half-written fit (the rule for existing folders
and symbolic links is :mod:`bayeslaw.core.paths`'s). ``spec.json`` carries a SHA-256 checksum of
``fit.nc``'s arrays and of the spec, which :func:`verify` checks when a fit is loaded. Loading lives
beside the :class:`~bayeslaw.Fit` class (:func:`bayeslaw.load`).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..core.paths import check_output, staging
from ..core.records import restore_non_finite, strict_json
from ..core.spec import FitSpec
from ..errors import FitFileError
from .datatree import PREDICTIVE, spec_attrs

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
    """Refuse a folder that cannot take a fit (exists without ``overwrite``, is a file, is not a fit, cannot be
    created or written); nothing is written. ``flag`` names the option in messages (e.g. ``--out``). Returns
    the folder the fit will be written to (a symbolic link's target: see :mod:`bayeslaw.core.paths`)."""
    return check_output(path, flag=flag, overwrite=overwrite, directory=True, what="a saved fit",
                        replaceable=lambda d: (d / SPEC_FILE).exists(), error=FitFileError)


def save(fit: Any, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a fit (its ``idata`` and ``spec``) to a folder, atomically; returns the folder.

    ``spec.json`` records a SHA-256 checksum of ``fit.nc``'s arrays and of the spec itself, which
    :func:`bayeslaw.load` verifies."""
    dest = check_output_dir(path, overwrite=overwrite)
    spec: FitSpec = fit.spec.replace(versions=versions())
    idata = fit.idata.copy()
    if PREDICTIVE in idata.children:  # recomputed on load from the posterior and the seed
        del idata[PREDICTIVE]
    idata.attrs = {**idata.attrs, **spec_attrs(spec)}
    doc = json.loads(strict_json(spec.to_dict()))
    # the checksum covers the spec as load() reads it back (non-finite numbers restored)
    doc["checksum"] = {"algorithm": "sha256", IDATA_FILE: tree_checksum(idata),
                       SPEC_FILE: spec_checksum(restore_non_finite(doc))}
    with staging() as st:
        tmp = st.directory(dest)
        idata.to_netcdf(tmp / IDATA_FILE, engine="netcdf4")
        with open(tmp / SPEC_FILE, "w") as fh:
            fh.write(json.dumps(doc, indent=2, allow_nan=False))  # non-finite numbers: null + flag (core.records)
            fh.flush()
            os.fsync(fh.fileno())
    fit.spec = spec
    return Path(path)


# -- checksums -----------------------------------------------------------------------------------


def tree_checksum(tree: xr.DataTree) -> str:
    """SHA-256 of a DataTree's arrays (every group's data variables and coordinates: name, dims, dtype and
    bytes, groups and names in sorted order); attributes are not included."""
    h = hashlib.sha256()
    for path in sorted(node.path for node in tree.subtree):
        ds = tree[path].to_dataset(inherit=False)
        for name in sorted(map(str, ds.variables)):
            var = ds.variables[name]
            values = np.asarray(var.values)
            if values.dtype.kind in "OUS":   # text: netCDF gives back objects for fixed-width strings
                body = "\x1f".join(map(str, values.ravel().tolist())).encode("utf-8", "surrogatepass")
                kind = "text"
            else:
                body = np.ascontiguousarray(values).tobytes()
                kind = values.dtype.str
            h.update(f"{path}/{name}|{','.join(map(str, var.dims))}|{values.shape}|{kind}|{len(body)}\n".encode())
            h.update(body)
    return h.hexdigest()


def spec_checksum(doc: dict[str, Any]) -> str:
    """SHA-256 of a spec.json document without its ``checksum`` entry (keys sorted)."""
    body = {k: v for k, v in doc.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, allow_nan=True).encode()).hexdigest()


def verify(path: Path, doc: dict[str, Any], tree: xr.DataTree) -> None:
    """Raise :class:`~bayeslaw.errors.FitFileError` if a saved fit's files do not match the checksum in its
    spec (a fit saved before checksums were recorded has none, and passes)."""
    saved = doc.get("checksum")
    if saved is None:
        return
    escape = ("if you edited it on purpose, load it with verify=False (--no-verify on the command line); "
              "otherwise refit and save again")
    if not isinstance(saved, dict) or not isinstance(saved.get(IDATA_FILE), str):
        raise FitFileError(f"'{path / SPEC_FILE}' has a garbled checksum entry, so the fit cannot be verified; {escape}.")
    for name, now in ((SPEC_FILE, spec_checksum(doc)), (IDATA_FILE, tree_checksum(tree))):
        if saved.get(name) is not None and saved.get(name) != now:
            raise FitFileError(f"'{path / name}' has changed since the fit was saved (it no longer matches the "
                               f"checksum in {SPEC_FILE}); {escape}.")
