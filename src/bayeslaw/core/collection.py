"""Results of one call on many data sets (the fits of :func:`bayeslaw.fit_many`, their predictions, ...).

:class:`Each` is a mapping of each data set's key to its own result, with the result contract over all of
them: ``.table`` stacks the results' tables under a ``curve`` level, ``.to_records()`` puts ``curve`` in
front of every record, and ``.idata`` concatenates each DataTree group the results share along a ``curve``
dimension (when their shapes line up). :func:`per_key` turns a dict of model name -> collection (the
fits of several laws to the same data sets) into one dict of model name -> result per key, and :func:`for_each`
asks a question of each key's models, so comparisons, backtests and stacks can be made curve by curve.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Iterator, Mapping

import pandas as pd
import xarray as xr

from ..errors import BayeslawError, DataError


class Each(Mapping):
    """One result per data set, keyed like the data sets (``each[key]``), with ``.table``, ``.to_records()``
    and ``.idata`` over all of them (the level and dimension are named ``name``, ``"curve"`` by default)."""

    def __init__(self, results: Mapping[Any, Any], name: str = "curve"):
        self._results, self.name = dict(results), name

    def __getitem__(self, key: Any) -> Any:
        return self._results[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._results)

    def __len__(self) -> int:
        return len(self._results)

    def __repr__(self) -> str:
        kinds = sorted({type(r).__name__ for r in self._results.values()})
        return f"<Each: {len(self)} {', '.join(kinds)} by {self.name}>"

    def stack(self, tables: list[pd.DataFrame]) -> pd.DataFrame:
        """Tables of the results, one under the other, with the key as the outer index level."""
        if not tables:
            return pd.DataFrame()
        out = pd.concat(tables, keys=[str(k) for k in self._results], names=[self.name, *tables[0].index.names])
        out.attrs.update(tables[0].attrs)
        return out

    @property
    def table(self) -> pd.DataFrame:
        return self.stack([r.table for r in self._results.values()])

    def to_records(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        """Every result's records, each with the data set's key (as text) in front."""
        return [{self.name: str(k), **rec} for k, r in self._results.items() for rec in r.to_records(*args, **kwargs)]

    @property
    def idata(self) -> xr.DataTree:
        """The groups every result's DataTree has, concatenated along a ``curve`` dimension."""
        return self.concat()

    def concat(self, groups: tuple[str, ...] | None = None) -> xr.DataTree:
        """These DataTree groups of every result (default: all they share) along the ``curve`` dimension."""
        kinds = sorted({type(r).__name__ for r in self._results.values() if not hasattr(r, "idata")})
        if kinds:
            raise BayeslawError(f"These results ({', '.join(kinds)}) hold no DataTree to concatenate; use .table, "
                                ".to_records() or each result's own attributes (each[key]).")
        trees = [r.idata for r in self._results.values()]
        if groups is None:
            groups = tuple(g for g in trees[0].children if all(g in t.children for t in trees))
        index = pd.Index([str(k) for k in self._results], name=self.name)
        try:
            return xr.DataTree.from_dict({g: xr.concat([t[g].to_dataset() for t in trees], dim=index,
                                                       coords="minimal", compat="override", join="exact")
                                          for g in groups})
        except ValueError as exc:
            raise BayeslawError(f"The results do not line up along one {self.name} dimension ({exc}); use each "
                                f"result's own .idata ({type(trees[0]).__name__} per key).") from None


def per_key(models: Mapping[Any, Any], what: str) -> dict[Any, dict[Any, Any]] | None:
    """``{key: {model name: that model's result for key}}`` when the values of ``models`` are collections
    (:class:`Each`, e.g. :func:`bayeslaw.fit_many`'s fits of one law per model) of the same keys, in the first
    collection's order; None when no value is a collection. ``what`` names the caller in refusals."""
    if not isinstance(models, Mapping) or not any(isinstance(v, Each) for v in models.values()):
        return None
    single = [str(n) for n, v in models.items() if not isinstance(v, Each)]
    if single:
        raise DataError(f"{what} takes one fit per model or one collection of fits (bayeslaw.fit_many) per model, "
                        f"not both; pass a collection for {', '.join(single)} too, or one curve of each (fits[key]).")
    first_name, first = next(iter(models.items()))
    for name, coll in models.items():
        missing = [k for k in first if k not in coll]
        extra = [k for k in coll if k not in first]
        if missing or extra:
            differ = "; ".join([f"{name!r} lacks {_listed(missing)}"] * bool(missing)
                               + [f"{name!r} has {_listed(extra)}, which {first_name!r} lacks"] * bool(extra))
            raise DataError(f"{what} pairs the models' fits curve by curve, but the collections hold different "
                            f"curves ({differ}); fit every model to the same data sets (fit_many with the same "
                            "table and by=), or keep only the curves they share.")
    return {k: {n: coll[k] for n, coll in models.items()} for k in first}


def for_each(items: Mapping[Any, Any], ask: Callable[[Any], Any], name: str = "curve") -> Each:
    """``ask(item)`` for each key's item, as an :class:`Each`: warnings are re-issued, and a refusal
    (:class:`~bayeslaw.BayeslawError`) raised, with the key in front of the sentence."""
    out = {}
    for key, item in items.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out[key] = ask(item)
            except BayeslawError as exc:
                raise type(exc)(f"{name} {key!r}: {exc}") from None
        for w in caught:
            warnings.warn(f"{key}: {w.message}", w.category, stacklevel=3)
    return Each(out, name=name)


def _listed(keys: list) -> str:
    return ", ".join(map(repr, keys[:3])) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
