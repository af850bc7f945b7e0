"""The law catalogue: every law bayeslaw can fit by name, and where it came from.

Laws come from three places, looked up in this order (a later one replaces an earlier one of the
same name):

1. the catalogue folder :mod:`bayeslaw.models` (the repository's top-level ``models/``): every
   module in it whose name does not start with ``_`` is imported and each :class:`~bayeslaw.Law`
   it defines is a law. Adding a law is adding a file: there is no list to edit;
2. installed packages that declare an entry point in the group ``bayeslaw.laws``, e.g. in their
   ``pyproject.toml``:

   ```toml
   [project.entry-points."bayeslaw.laws"]
   my_laws = "my_package.laws"        # a module (its Law objects), a Law, or a list of Laws
   ```

3. laws registered in this process with :func:`register`.

Any law's name with ``_curved`` appended (``chinchilla_curved``) is that law with a quadratic
misfit in its centred log inputs (:mod:`bayeslaw.core.curvature`), built on first use; with
``_orthogonal``, the same misfit made orthogonal to the law over the fitted runs.

The catalogue is read once per process (:func:`available_laws` caches it; :func:`refresh`
reads it again, e.g. after installing a package).
"""

from __future__ import annotations

import copyreg
import types
from importlib.metadata import entry_points
from typing import Any

from ..models import LAWS as MODEL_LAWS
from ..models import ORIGIN as MODEL_ORIGIN
from ..errors import LawError
from . import curvature
from .law import Law

ENTRY_POINT_GROUP = "bayeslaw.laws"
MODEL_LAWS_PACKAGE = "bayeslaw.models"

_USER_LAWS: dict[str, Law] = {}
_CURVED: dict[str, Law] = {}  # laws with a quadratic misfit (core.curvature), built on first use
_FOUND: dict[str, Law] | None = None
_ORIGIN: dict[str, str] = {}


def _laws_in(obj: Any) -> list[Law]:
    """The laws a module, a Law or a list of Laws holds."""
    if isinstance(obj, Law):
        return [obj]
    if isinstance(obj, types.ModuleType):
        return [v for v in vars(obj).values() if isinstance(v, Law)]
    if isinstance(obj, (list, tuple)) and all(isinstance(v, Law) for v in obj):
        return list(obj)
    raise LawError(f"An entry point of the group {ENTRY_POINT_GROUP!r} must name a module, a Law or a list of "
                   f"Laws; got {type(obj).__name__}.")


def _discover() -> dict[str, Law]:
    found: dict[str, Law] = dict(MODEL_LAWS)
    _ORIGIN.update(MODEL_ORIGIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
        except Exception as exc:  # a broken third-party package must not break the catalogue
            raise LawError(f"The package entry point {ep.name!r} ({ep.value}) of the group {ENTRY_POINT_GROUP!r} "
                           f"cannot be loaded ({type(exc).__name__}: {exc}); fix or uninstall that package.") from None
        for law in _laws_in(loaded):
            found[law.name] = law
            _ORIGIN[law.name] = f"entry point {ep.name} ({ep.value})"
    return found


def available_laws() -> dict[str, Law]:
    """All laws by name: the catalogue folder, installed entry points, then registered laws."""
    global _FOUND
    if _FOUND is None:
        _FOUND = _discover()
    laws = dict(_FOUND)
    laws.update(_USER_LAWS)
    return laws


def refresh() -> dict[str, Law]:
    """Read the catalogue folder and the entry points again (e.g. after installing a package)."""
    global _FOUND
    _FOUND = None
    return available_laws()


def origin(name: str) -> str:
    """Where a law came from: its catalogue module, its entry point, or ``"registered"``."""
    if name in _USER_LAWS:
        return "registered"
    if name in _CURVED:
        base, term = curvature.base_name(name)
        return f"{origin(base)}, with {term} (bayeslaw.core.curvature)"
    available_laws()
    return _ORIGIN.get(name, "?")


def shipped(law: Law) -> bool:
    """Whether ``law`` is one of bayeslaw's own (its catalogue folder, or such a law with a misfit term), the very
    object the catalogue gives for its name: its code changes only with bayeslaw's source."""
    try:
        return origin(law.name).startswith(f"{MODEL_LAWS_PACKAGE}.") and get_law(law.name) is law
    except LawError:
        return False


def register(law: Law) -> Law:
    """Make a user-defined law available by name (e.g. to ``bayeslaw.load``) in this process."""
    if not isinstance(law, Law):
        raise LawError(f"register() takes a Law; got {type(law).__name__}.")
    _USER_LAWS[law.name] = law
    return law


def _reduce_law(law: Law):
    """How pickle writes a law: a catalogue law (not one registered in this process) by its name, so fits and plans
    cross to worker processes although its functions are closures; any other law as a plain dataclass."""
    try:
        if origin(law.name) not in ("registered", "?") and get_law(law.name) is law:
            return get_law, (law.name,)
    except LawError:
        pass
    return law.__reduce_ex__(4)


def get_law(law: str | Law) -> Law:
    """Look a law up by name (or pass a Law through)."""
    if isinstance(law, Law):
        return law
    laws = available_laws()
    if isinstance(law, str) and law not in laws and (made := curvature.resolve(law, laws)) is not None:
        return _CURVED.setdefault(law, made)  # one object per name: compiled programs are cached by law
    if not isinstance(law, str) or law not in laws:
        raise LawError(f"Unknown law {law!r}; available laws: {', '.join(sorted(laws))} "
                       "(see `bayeslaw laws`).")
    return laws[law]


copyreg.pickle(Law, _reduce_law)
