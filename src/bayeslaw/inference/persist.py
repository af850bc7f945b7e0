"""Programs kept across processes: JAX's persistent compilation cache and programs exported ahead of time.

The persistent compilation cache keeps compiled programs keyed by their lowered module, so a new process that
fits a law and data size it has fitted before loads the program instead of compiling it; but it still traces
the model to compute that key, and for the starts and NUTS programs tracing is most of a new process's time
(about 2 s per program here). An exported program (``jax.export``) is the lowered module itself: a new process
that finds one on disk deserialises it and compiles it (a compilation-cache hit) without tracing anything.

Exported programs live in ``<compilation cache>/bayeslaw-exported/``, one file per program, named by a hash of the
program's key (law, observation model, priors, data shapes, sampler settings) and of everything else that could
change the module: bayeslaw's own source files (the package and its law catalogue), the versions of jax, jaxlib
and numpyro, the backend, the devices the program spans and the float64 switch. Only programs of laws and
observation models shipped with bayeslaw are exported (the caller says so): a user's law can change its code
between processes without changing its name or hash. ``BAYESLAW_NO_EXPORT=1`` switches exporting off (the
compilation cache stays on); ``BAYESLAW_NO_CACHE=1`` switches both off. A file that cannot be read or written is
ignored (the program is traced as it would be without it): a read-only or full cache never stops a fit.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from ..core.catalogue import shipped
from ..core.law import Law
from ..core.observation import OBSERVATION_MODELS, ObservationModel

FOLDER = "bayeslaw-exported"


def use_persistent_cache() -> str | None:
    """Switch on JAX's persistent compilation cache, once per process; returns its folder (None: off).

    A folder the user gave JAX (``jax_compilation_cache_dir``) is kept. Otherwise the cache lives
    in ``$BAYESLAW_CACHE_DIR`` or ``~/.cache/bayeslaw/jax``; ``BAYESLAW_NO_CACHE=1`` switches it off.
    Every fit calls this before compiling, so a new process that fits a law and data size it has
    fitted before loads the sampler instead of compiling it (the CLI and the library alike).
    """
    current = jax.config.jax_compilation_cache_dir
    if current or os.environ.get("BAYESLAW_NO_CACHE") == "1":
        return current or None
    folder = os.environ.get("BAYESLAW_CACHE_DIR") or str(Path.home() / ".cache" / "bayeslaw" / "jax")
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return folder


def export_folder() -> Path | None:
    """Where exported programs are kept (inside the compilation cache's folder), or None when exporting is off."""
    if os.environ.get("BAYESLAW_NO_EXPORT") == "1":
        return None
    folder = use_persistent_cache()
    return None if folder is None else Path(folder) / FOLDER


@functools.cache
def source_fingerprint() -> str:
    """A hash of bayeslaw's source files (the package and the law catalogue) and of the libraries' versions."""
    import jaxlib
    import numpyro

    models = importlib.util.find_spec("bayeslaw.models")   # the law catalogue (the repository's models/)
    h = hashlib.sha256(repr((jax.__version__, jaxlib.__version__, numpyro.__version__)).encode())
    for root in (Path(__file__).resolve().parents[1], *map(Path, models.submodule_search_locations or ())):
        for path in sorted(root.rglob("*.py")):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _file_name(key: tuple) -> str:
    context = (jax.default_backend(), str(jax.dtypes.canonicalize_dtype(float)))   # float64 on or off
    h = hashlib.sha256(source_fingerprint().encode())
    h.update(repr((key, context)).encode())
    return h.hexdigest()[:40] + ".jaxexport"


def _read(path: Path):
    try:
        return jax.export.deserialize(bytearray(path.read_bytes()))
    except FileNotFoundError:
        return None
    except Exception:   # a truncated or foreign file: ignored, and replaced when the program is exported again
        return None


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)   # atomic: a reader sees the whole file or none
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass


def exported(key: tuple, jitted: Callable, args: tuple, *, in_shardings: Any = None, out_shardings: Any = None,
             compiler_options: dict | None = None) -> Callable | None:
    """The program ``jitted`` as a function of ``args``' shapes, from its exported module: read from disk when an
    earlier process exported it, else exported now (tracing ``jitted`` once, as its first call would) and saved.

    Returns a jitted call of the exported module (with ``in_shardings``/``out_shardings``, the shardings ``jitted``
    was made with, and ``compiler_options``), or None where exporting is off or ``jitted`` cannot be exported
    (e.g. it calls back into Python); the caller then calls ``jitted`` itself.
    """
    folder = export_folder()
    if folder is None:
        return None
    path = folder / _file_name(key)
    exp = _read(path)
    if exp is None:
        try:
            exp = _export_as_jit_lowers(jitted, args)
            data = exp.serialize()
        except Exception:   # not exportable: traced by the caller, as without a cache
            return None
        _write(path, bytes(data))
    shardings = {} if in_shardings is None else {"in_shardings": in_shardings, "out_shardings": out_shardings}
    return jax.jit(exp.call, **shardings, compiler_options=compiler_options)


_VERSION_LOCK = threading.Lock()


def _export_as_jit_lowers(jitted: Callable, args: tuple):
    """``jax.export.export(jitted)(*args)`` with the lowering a plain jit gets, serialised at this StableHLO version.

    By default an exported module keeps to lowerings that a month-old runtime can read ("forward compatibility"):
    with jax 0.12.1 on CPU that expands lgamma and digamma (the Student-t likelihood, Gamma priors) into polynomial
    code instead of jaxlib's kernels, and the exported starts and NUTS programs of a chinchilla fit took 12-16 s each
    to compile instead of 3.3-4.3 s (a cold first fit 40 s instead of 15 s). Our exports are read only by the same
    jax and jaxlib (their versions key the file, :func:`source_fingerprint`), so they are lowered as jit lowers and
    serialised at the current StableHLO version (the newer lowerings use ops, such as ``fma``, that the default
    four-week-old target cannot hold). Both switches are JAX internals: where they are missing the program is not
    exported (the caller traces it), rather than exported in the slow form."""
    from jax._src import config as jax_config
    from jax._src.export import _export as export_impl

    hlo = export_impl.hlo
    with _VERSION_LOCK:
        default = hlo.get_version_from_compatibility_requirement
        hlo.get_version_from_compatibility_requirement = lambda requirement: hlo.get_current_version()
        try:
            with jax_config.export_ignore_forward_compatibility(True):
                return jax.export.export(jitted)(*args)
        finally:
            hlo.get_version_from_compatibility_requirement = default


def keepable(law: Law, observation: ObservationModel) -> bool:
    """Whether programs of this law and observation model may be kept on disk: both are bayeslaw's own, the very
    objects its catalogues give for their names (their code changes only with bayeslaw's source)."""
    return shipped(law) and OBSERVATION_MODELS.get(observation.name) is observation


def shapes(args: tuple) -> tuple:
    """The shapes, dtypes and tree structure of ``args``: what a program traced for them depends on."""
    return (tuple((tuple(np.shape(leaf)), str(jnp.result_type(leaf))) for leaf in jax.tree.leaves(args)),
            jax.tree.structure(args))


class Kept:
    """A jitted function whose program for each argument shapes is kept on disk (:func:`exported`), for the small
    programs a fit runs once per process (its draws' constants, the pointwise log likelihood, a first stage's
    arithmetic): the first call per shapes reads the program, or exports it; ``key`` names the function (e.g.
    law, observation model, priors). With ``keep=False`` it is ``jitted`` itself."""

    def __init__(self, key: tuple, jitted: Callable, *, keep: bool = True, compiler_options: dict | None = None):
        self.key, self.jitted, self.keep, self.options = key, jitted, keep, compiler_options
        self.calls: dict[tuple, Callable] = {}
        self.lock = threading.Lock()

    def __call__(self, *args):
        if not self.keep:
            return self.jitted(*args)
        at = shapes(args)
        fn = self.calls.get(at)
        if fn is None:
            with self.lock:
                fn = self.calls.get(at)
                if fn is None:
                    fn = exported((self.key, at), self.jitted, args, compiler_options=self.options) or self.jitted
                    self.calls[at] = fn
        return fn(*args)


__all__ = ["use_persistent_cache", "export_folder", "exported", "source_fingerprint", "keepable", "shapes", "Kept",
           "FOLDER"]
