"""Rows of one shape held as columns, read back as the same dicts.

The world's tables (deposits, offers, stocks, bookings) and the large vendor lists (AppsFlyer installs
and in-app events, Brevo email events...) were lists of dicts: a 14-key dict costs about 650 bytes
before its values, several times the data it holds. A `Table` keeps one typed numpy column per key
(ints, floats, booleans and naive datetimes as numbers with a null mask; hashable values such as
strings and dates as codes into a list of distinct values; anything else as an object column), and
gives back, on every read, a fresh dict with the original keys in the original order and equal
values. Like `EventLog`, it is read-only: a read dict is a copy, writing into it changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import overload

import numpy as np

_EPOCH = datetime(1970, 1, 1)
_MICRO = timedelta(microseconds=1)
_CHUNK = 16_384  # rows turned back into Python values at a time when iterating


class _Column:
    """One key's values: `decode(start, stop)` gives them back as a Python list."""

    def __init__(self, values: list) -> None:
        present = [v for v in values if v is not None]
        self.nulls = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        self.has_nulls = bool(self.nulls.any())
        kinds = {type(v) for v in present}
        if kinds == {bool}:
            self.kind, fill = "bool", False
        elif kinds == {int} and all(-(2**63) <= v < 2**63 for v in present):
            self.kind, fill = "int", 0
        elif kinds == {float}:
            self.kind, fill = "float", 0.0
        elif kinds == {datetime} and all(v.tzinfo is None for v in present):
            self.kind, fill = "time", None
        else:
            self.kind, fill = "object", None
        if self.kind == "time":
            self.data = np.fromiter(
                ((v - _EPOCH) // _MICRO if v is not None else 0 for v in values), dtype=np.int64, count=len(values)
            )
        elif self.kind in ("bool", "int", "float"):
            dtype = {"bool": np.bool_, "int": np.int64, "float": np.float64}[self.kind]
            self.data = np.array([fill if v is None else v for v in values], dtype=dtype)
        else:
            self._encode(values)

    def _encode(self, values: list) -> None:
        # distinct values by (type, value): 1, 1.0 and True stay apart, as they were
        try:
            index: dict = {}
            codes = np.fromiter(
                (index.setdefault((type(v), v), len(index)) for v in values), dtype=np.int32, count=len(values)
            )
        except TypeError:  # an unhashable value (a dict, a list): kept as is
            self.kind, self.data = "list", list(values)
            return
        self.kind, self.data, self.values = "codes", codes, [v for _, v in index]

    @classmethod
    def concat(cls, parts: list[_Column]) -> _Column:
        """One column from the columns of consecutive chunks of rows."""
        if len(parts) == 1:
            return parts[0]
        valued = [p for p in parts if not p.nulls.all()]
        kinds = {p.kind for p in valued}
        out = object.__new__(cls)
        out.nulls = np.concatenate([p.nulls for p in parts])
        out.has_nulls = bool(out.nulls.any())
        if len(kinds) == 1 and (kind := kinds.pop()) in ("bool", "int", "float", "time"):
            dtype = valued[0].data.dtype
            out.kind = kind
            out.data = np.concatenate(
                [p.data if p in valued else np.zeros(len(p.nulls), dtype=dtype) for p in parts]
            ).astype(dtype, copy=False)
            return out
        if all(p.kind == "codes" for p in parts):
            index: dict = {}
            codes = []
            for p in parts:
                lookup = np.array([index.setdefault((type(v), v), len(index)) for v in p.values], dtype=np.int32)
                codes.append(lookup[p.data])
            out.kind, out.data, out.values = "codes", np.concatenate(codes), [v for _, v in index]
            return out
        # kinds that differ between chunks (ints then floats...): the values once more, as one column
        return cls([v for p in parts for v in p.decode(0, len(p.nulls))])

    def decode(self, start: int, stop: int) -> list:
        if self.kind == "list":
            return self.data[start:stop]
        if self.kind == "codes":
            values = self.values
            return [values[c] for c in self.data[start:stop].tolist()]
        out = self.data[start:stop].tolist()
        if self.kind == "time":
            out = [_EPOCH + v * _MICRO for v in out]
        if self.has_nulls:
            for i in np.flatnonzero(self.nulls[start:stop]).tolist():
                out[i] = None
        return out

    def take(self, order: np.ndarray) -> _Column:
        out = object.__new__(_Column)
        out.kind, out.nulls, out.has_nulls = self.kind, self.nulls[order], self.has_nulls
        out.data = [self.data[i] for i in order.tolist()] if self.kind == "list" else self.data[order]
        if self.kind == "codes":
            out.values = self.values
        return out

    def nbytes(self) -> int:
        if self.kind == "list":
            return 8 * len(self.data)
        return self.data.nbytes + (self.nulls.nbytes if self.has_nulls else 0)


class TableBuilder:
    """Rows appended one at a time (dicts of one shape), encoded a chunk at a time: a generator appends
    here rather than to a list, so no row's dict outlives its append and the build's peak stays small."""

    def __init__(self) -> None:
        self.keys: tuple[str, ...] | None = None
        self._pending: list[list] = []
        self._parts: list[list[_Column]] = []
        self._len = 0

    def append(self, row: dict) -> None:
        if self.keys is None:
            self.keys = tuple(row)
            self._pending = [[] for _ in self.keys]
        elif len(row) != len(self.keys) or tuple(row) != self.keys:
            raise ValueError(f"row {self._len} has keys {tuple(row)}, not {self.keys}")
        for column, key in zip(self._pending, self.keys, strict=True):
            column.append(row[key])
        self._len += 1
        if self._len % _BUILD_CHUNK == 0:
            self._flush()

    def __len__(self) -> int:
        return self._len

    def _flush(self) -> None:
        if self._pending and self._pending[0]:
            self._parts.append([_Column(values) for values in self._pending])
            self._pending = [[] for _ in self._pending]

    def build(self) -> Table:
        self._flush()
        keys = self.keys or ()
        columns = [_Column.concat([part[i] for part in self._parts]) for i in range(len(keys))]
        self._parts = []
        return Table(keys, columns, self._len)


_BUILD_CHUNK = 65_536


class RowsAsDicts(Sequence[dict]):
    """A read-only sequence of dict rows over columns: a subclass gives `__len__` and `_rows(start, stop)`
    (the rows of positions start..stop, made fresh), and reads them a chunk at a time."""

    _chunk = _CHUNK

    def _rows(self, start: int, stop: int) -> Iterator[dict]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[dict]:
        for start in range(0, len(self), self._chunk):
            yield from self._rows(start, min(start + self._chunk, len(self)))

    @overload
    def __getitem__(self, index: int) -> dict: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict]: ...
    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return list(self._rows(0, len(self)))[index]
            return list(self._rows(start, max(start, stop)))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return next(self._rows(index, index + 1))


class Table(RowsAsDicts):
    """Read-only rows (dicts with the same keys, in the same order) held as columns."""

    def __init__(self, keys: tuple[str, ...], columns: list[_Column], length: int) -> None:
        self.keys, self._columns, self._len = keys, columns, length

    @classmethod
    def from_rows(cls, rows: Iterable[dict]) -> Table:
        builder = TableBuilder()
        for row in rows:
            builder.append(row)
        return builder.build()

    def __len__(self) -> int:
        return self._len

    def _rows(self, start: int, stop: int) -> Iterator[dict]:
        keys = self.keys
        for values in zip(*(c.decode(start, stop) for c in self._columns), strict=True):
            yield dict(zip(keys, values, strict=True))

    def column(self, key: str) -> list:
        """Every row's value of `key`, in row order."""
        return self._columns[self.keys.index(key)].decode(0, self._len)

    def sorted_by(self, key: str) -> Table:
        """The same rows ordered by `key` (a stable sort, as `sorted` is); a key holding None sorts first."""
        column = self._columns[self.keys.index(key)]
        if column.kind in ("int", "float", "time", "bool"):
            values = np.where(column.nulls, np.iinfo(np.int64).min, column.data) if column.has_nulls else column.data
            order = np.argsort(values, kind="stable")
        else:
            order = np.array(sorted(range(self._len), key=self.column(key).__getitem__), dtype=np.int64)
        return self.take(order)

    def take(self, order) -> Table:
        """The rows at the positions `order` (a sequence of row numbers), in that order."""
        order = np.asarray(order, dtype=np.int64)
        return Table(self.keys, [c.take(order) for c in self._columns], len(order))

    def nbytes(self) -> int:
        """Bytes held by the columns' arrays (not counting the distinct values they point to)."""
        return sum(c.nbytes() for c in self._columns)

    def __repr__(self) -> str:
        return f"Table({self._len} rows, keys={list(self.keys)})"
