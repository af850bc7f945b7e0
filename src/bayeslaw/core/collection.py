"""Results of one call on many data sets (the fits of :func:`bayeslaw.fit_many`, their predictions, ...).

:class:`Each` is a mapping of each data set's key to its own result, with the result contract over all of
them: ``.table`` stacks the results' tables under a ``curve`` level, ``.to_records()`` puts ``curve`` in
front of every record, and ``.idata`` concatenates each DataTree group the results share along a ``curve``
dimension (when their shapes line up).
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import pandas as pd
import xarray as xr

from ..errors import BayeslawError


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
