"""The catalogue of scaling laws, one file per law family.

Importable as ``bayeslaw.models``. Every module defines one or more
:class:`bayeslaw.Law` objects; ``LAWS`` maps lookup names to them. To add a law,
write a module like ``power_law.py`` and list it in ``_MODULES``.
"""

from importlib import import_module

from bayeslaw.law import Law

_MODULES = ("power_law", "chinchilla", "kaplan", "compute", "broken_power_law", "shared_exponent", "farseer",
            "data_constrained", "revisiting")

LAWS: dict[str, Law] = {}
for _mod in _MODULES:
    _m = import_module(f"{__name__}.{_mod}")
    for _obj in vars(_m).values():
        if isinstance(_obj, Law):
            LAWS[_obj.name] = _obj

__all__ = ["LAWS", *sorted(LAWS)]
globals().update(LAWS)
