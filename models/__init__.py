"""The catalogue folder: one file per law family, importable as ``bayeslaw.models``.

Every module here whose name does not start with ``_`` is imported, and each
:class:`bayeslaw.Law` it defines joins the catalogue under its name (``LAWS``, and as an
attribute: ``bayeslaw.models.chinchilla``). To add a law, add a file like ``power_law.py``:
nothing else needs editing. Modules starting with ``_`` hold what several laws share.
"""

import pkgutil
from importlib import import_module

from bayeslaw.core.law import Law


def module_names() -> list[str]:
    """The law modules of this folder, in alphabetical order (files starting with ``_`` excluded)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


LAWS: dict[str, Law] = {}
ORIGIN: dict[str, str] = {}  # law name -> the module that defines it
for _name in module_names():
    for _obj in vars(import_module(f"{__name__}.{_name}")).values():
        if isinstance(_obj, Law):
            LAWS[_obj.name] = _obj
            ORIGIN[_obj.name] = f"{__name__}.{_name}"

__all__ = ["LAWS", "module_names", *sorted(LAWS)]
globals().update(LAWS)
