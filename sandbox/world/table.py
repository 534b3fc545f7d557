"""Rows of one shape held as columns, read back as the same dicts.

The world's tables (deposits, offers, stocks, bookings) and the large vendor lists (AppsFlyer installs
and in-app events, Brevo email events, Zendesk tickets, DMS dossiers...) were lists of dicts: a 14-key
dict costs about 650 bytes before its values, a string 50 bytes before its text, several times the
data they hold. A `Table` keeps one column per key:
- ints, floats, booleans and naive datetimes as a numpy array of numbers, with a null mask;
- hashable values that repeat (dates, a campaign's name) as codes into a list of the distinct values,
  or, when those are many strings (a contact's email on each of its events), into a text column of them;
- strings that are mostly distinct (ids, emails) as one UTF-8 buffer with offsets, what they all
  start and end with kept once;
- objects that many rows share (a campaign's dict) as codes into them, as the rows held them;
- any other object (a ticket's custom fields) pickled into one buffer with offsets.
Every buffer is a numpy array (bytes as `uint8`), so a kept world's columns are views of its mapped
file (`cache`). Every read gives a fresh dict with the original keys in the original order and equal
values. Like `EventLog`, it is read-only: a read dict is a copy, writing into it changes nothing (a
shared object excepted: it is the one the rows were given).
"""

from __future__ import annotations

import mmap
import pickle
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import overload

import numpy as np

_EPOCH = datetime(1970, 1, 1)
_MICRO = timedelta(microseconds=1)
_CHUNK = 16_384  # rows turned back into Python values at a time when iterating
_GATHER_BYTES = 1 << 20  # bytes of text copied at a time by `take` (each needs 24 bytes of indexes meanwhile)
_SPILL_FOLDER: ContextVar[Path | None] = ContextVar("spill_folder", default=None)
_SPILL_MIN = 1 << 18  # bytes: a smaller array stays in memory (a file and a map each cost more than it)
_MANY_STRINGS = 4096  # distinct strings of a coded column held as text rather than a Python string each


def _mapped(array: np.ndarray) -> bool:
    """Whether `array` is a view of a mapped file (spilled, or read from a kept world)."""
    base: object = array
    while isinstance(base, np.ndarray | memoryview):
        base = base.base if isinstance(base, np.ndarray) else base.obj
    return isinstance(base, mmap.mmap)


@contextmanager
def spilled_to(folder: Path) -> Iterator[None]:
    """Tables made inside hold their large arrays in files of `folder`, mapped, not in the process's own
    memory: the kernel reads their pages on demand and may drop them. The sandbox's first start builds
    the world and every slice inside this, so of the tables its memory holds the chunk of rows being
    appended and the column being joined, not the whole world (what stays is Python objects: the
    distinct values of coded columns, the small slices' dicts, a builder's own indexes). A context, not
    a parameter: tables are made deep in every generator and slice builder."""
    token = _SPILL_FOLDER.set(folder)
    try:
        yield
    finally:
        _SPILL_FOLDER.reset(token)


def spill(array: np.ndarray) -> np.ndarray:
    """`array`, or inside `spilled_to` an equal array that is a private map of a file of that folder.
    The file is removed at once: its pages live as long as the map, which lives as long as the array."""
    if _SPILL_FOLDER.get() is None or array.nbytes < _SPILL_MIN or _mapped(array):
        return array
    whole = np.ascontiguousarray(array).view(np.uint8).reshape(-1)
    return _joined([whole], whole.nbytes).view(array.dtype).reshape(array.shape)


def _joined(pieces: Iterable[np.ndarray], nbytes: int) -> np.ndarray:
    """The bytes of `pieces` (uint8 arrays, `nbytes` in all) one after the other. Inside `spilled_to` and
    from `_SPILL_MIN` up, written a piece at a time to a file of that folder and mapped as `spill` does:
    never whole in the process's own memory, which is what a column made by `take` would otherwise cost."""
    folder = _SPILL_FOLDER.get()
    if folder is None or nbytes < _SPILL_MIN:
        out = np.empty(nbytes, dtype=np.uint8)
        at = 0
        for piece in pieces:
            out[at : at + len(piece)] = piece
            at += len(piece)
        return out
    with tempfile.TemporaryFile(dir=folder) as f:
        for piece in pieces:
            f.write(piece)
        f.flush()
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    return np.frombuffer(mapped, dtype=np.uint8)


def _strings_or_none(values: list) -> bool:
    return all(v is None or type(v) is str for v in values)


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
        except TypeError:  # an unhashable value (a dict, a list)
            self._encode_objects(values)
            return
        self.kind, self.data, self.values = "codes", codes, [v for _, v in index]

    def _encode_objects(self, values: list) -> None:
        """A few objects shared by many rows (a campaign's dict) as codes into them, as the rows held
        them; one object per row (a ticket's custom fields) pickled, each read unpickling a copy."""
        index: dict[int, int] = {}  # id -> code: the values are alive in `values` meanwhile
        objects: list = []
        codes = []
        for v in values:
            code = index.get(id(v))
            if code is None:
                code = index[id(v)] = len(objects)
                objects.append(v)
            codes.append(code)
        if 2 * len(objects) <= len(values):
            self.kind, self.data, self.values = "objects", np.array(codes, dtype=np.int32), objects
        else:
            self._pack("pickled", [pickle.dumps(v, pickle.HIGHEST_PROTOCOL) for v in values])

    def _pack(self, kind: str, encoded: list[bytes]) -> None:
        """Each row's bytes one after the other in one buffer; row i is data[offsets[i]:offsets[i + 1]]."""
        self.kind, self.data = kind, np.frombuffer(b"".join(encoded), dtype=np.uint8)
        self.offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=self.offsets[1:])

    def compact(self) -> _Column:
        """Strings mostly distinct (ids, message ids) as UTF-8 text in one buffer: a list of distinct
        strings costs more than a code per row only when most rows have their own string. Many distinct
        strings that rows repeat (a contact's email on each of its events) stay codes, into their distinct
        values held as such a text column: a Python string each would be the process's own memory (about
        80 bytes each), where the text is a buffer that a kept world maps."""
        if self.kind != "codes" or not _strings_or_none(self.values):
            return self
        if 2 * len(self.values) > len(self.data):
            return _Column._text([self], self.nulls)
        if len(self.values) - (None in self.values) >= _MANY_STRINGS:
            self.kind, self.distinct = "text codes", _Column(self.values).compact()
            del self.values
        return self

    @classmethod
    def _text(cls, parts: list[_Column], nulls: np.ndarray) -> _Column:
        """Coded chunks of strings (and None) as one text column: each row's UTF-8 bytes one after the other,
        what every string starts and ends with (a message id's "<" and "@smtp-relay.mailin.fr>") kept once.
        Made a chunk at a time from each chunk's own distinct strings: no index of every distinct string of
        the column (4.4 million message ids at scale 200), no reversed copy of each."""
        strings = [v for p in parts for v in p.values if v is not None]
        head = tail = strings[0] if strings else ""
        for v in strings:
            while not v.startswith(head):
                head = head[:-1]
            while not v.endswith(tail):
                tail = tail[1:]
        room = min(map(len, strings), default=0) - len(head)  # the shortest string: its head and tail apart
        tail = tail[len(tail) - min(len(tail), room) :]
        out = object.__new__(cls)
        out.kind, out.nulls, out.has_nulls, out.affixes = "text", nulls, bool(nulls.any()), (head, tail)
        buffers, lengths = [], []
        for p in parts:
            text = [b"" if v is None else v[len(head) : len(v) - len(tail)].encode() for v in p.values]
            rows = [text[c] for c in p.data.tolist()]
            buffers.append(np.frombuffer(b"".join(rows), dtype=np.uint8))
            lengths.append(np.fromiter(map(len, rows), dtype=np.int64, count=len(rows)))
        out.data = _joined(buffers, sum(b.nbytes for b in buffers))  # inside `spilled_to`: to its file
        out.offsets = np.zeros(len(nulls) + 1, dtype=np.int64)
        np.cumsum(np.concatenate(lengths), out=out.offsets[1:])
        return out

    def _strings(self, starts: list[int], stops: list[int]) -> list[str]:
        """The strings of a text column's bytes data[starts[i]:stops[i]]."""
        data, (head, tail) = memoryview(self.data), self.affixes
        return [head + str(data[a:b], "utf-8") + tail for a, b in zip(starts, stops, strict=True)]

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
        if all(p.kind == "pickled" for p in parts):
            out.kind, out.data = "pickled", np.concatenate([p.data for p in parts])
            starts = np.cumsum([0] + [len(p.data) for p in parts[:-1]])
            out.offsets = np.concatenate([[0]] + [p.offsets[1:] + s for p, s in zip(parts, starts, strict=True)])
            return out
        if (kind := parts[0].kind) in ("codes", "objects") and all(p.kind == kind for p in parts):
            if kind == "codes" and all(_strings_or_none(p.values) for p in parts):
                # mostly distinct strings (as `compact` decides) go to text, without an index of them: the
                # distinct strings are counted by their hashes, 8 bytes each
                chunks_distinct = (hash(v) for p in parts for v in p.values)
                hashes = np.fromiter(chunks_distinct, dtype=np.int64, count=sum(len(p.values) for p in parts))
                if 2 * len(np.unique(hashes)) > len(out.nulls):
                    return cls._text(parts, out.nulls)
            index: dict = {}  # (type, value) for codes, id for objects -> (code, value)
            codes = []
            for p in parts:
                keys = [(type(v), v) if kind == "codes" else id(v) for v in p.values]
                lookup = [index.setdefault(k, (len(index), v))[0] for k, v in zip(keys, p.values, strict=True)]
                codes.append(np.array(lookup, dtype=np.int32)[p.data])
            out.kind, out.data, out.values = kind, np.concatenate(codes), [v for _, v in index.values()]
            return out
        # kinds that differ between chunks (ints then floats...): the values once more, as one column
        return cls([v for p in parts for v in p.decode(0, len(p.nulls))])

    def decode(self, start: int, stop: int) -> list:
        if self.kind in ("codes", "objects"):
            values = self.values
            return [values[c] for c in self.data[start:stop].tolist()]
        if self.kind == "pickled":
            data = memoryview(self.data)
            return [pickle.loads(data[a:b]) for a, b in pairwise(self.offsets[start : stop + 1].tolist())]
        if self.kind == "text":
            bounds = self.offsets[start : stop + 1]
            out = self._strings(bounds[:-1].tolist(), bounds[1:].tolist())
        elif self.kind == "text codes":  # a null's code is that of None's place, read as "" then set below
            codes, distinct = self.data[start:stop], self.distinct
            out = distinct._strings(distinct.offsets[codes].tolist(), distinct.offsets[codes + 1].tolist())
        else:
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
        if self.kind in ("text", "pickled"):
            out.data, out.offsets = _gather(self.data, self.offsets, order)
            if self.kind == "text":
                out.affixes = self.affixes
            return out
        out.data = self.data[order]
        if self.kind in ("codes", "objects"):
            out.values = self.values
        if self.kind == "text codes":
            out.distinct = self.distinct
        return out

    def spill(self) -> _Column:
        self.data, self.nulls = spill(self.data), spill(self.nulls)
        if self.kind in ("text", "pickled"):
            self.offsets = spill(self.offsets)
        if self.kind == "text codes":
            self.distinct.spill()
        return self

    def nbytes(self) -> int:
        held = self.data.nbytes + (self.offsets.nbytes if self.kind in ("text", "pickled") else 0)
        held += self.distinct.nbytes() if self.kind == "text codes" else 0
        return held + (self.nulls.nbytes if self.has_nulls else 0)


def _gather(data: np.ndarray, offsets: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows `order` of a buffer with offsets (row i is data[offsets[i]:offsets[i + 1]]), as a new buffer
    and its offsets. Copied by numpy about `_GATHER_BYTES` at a time: a bytes object per row and a Python
    int per bound cost about ten times the column's bytes while sorting a large table (tracemalloc), and
    each byte copied needs three int64 indexes meanwhile, so a chunk is bounded in bytes, not in rows
    (16,384 Zendesk ticket bodies made 53 MiB of indexes)."""
    starts = offsets[order]
    lengths = offsets[order + 1] - starts
    out_offsets = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out_offsets[1:])

    def pieces() -> Iterator[np.ndarray]:
        a = 0
        while a < len(order):
            # the last row boundary within _GATHER_BYTES of this chunk's start (at least one row)
            b = int(np.searchsorted(out_offsets, out_offsets[a] + _GATHER_BYTES, side="right")) - 1
            b = min(max(b, a + 1), len(order))
            first, last = int(out_offsets[a]), int(out_offsets[b])
            # each byte's place in `data`: its place in the output, shifted by its row's start in both
            shift = np.repeat(starts[a:b] - out_offsets[a:b], lengths[a:b])
            yield data[shift + np.arange(first, last)]
            a = b

    return _joined(pieces(), int(out_offsets[-1])), out_offsets


class TableBuilder:
    """Rows appended one at a time (dicts of one shape), encoded a chunk at a time: a generator appends
    here rather than to a list, so no row's dict outlives its append and the build's peak stays small.
    `chunk`: rows held as Python values before they are encoded (fewer for wide rows of nested objects)."""

    def __init__(self, chunk: int | None = None) -> None:
        self.keys: tuple[str, ...] | None = None
        self._pending: list[list] = []
        self._parts: list[list[_Column]] = []
        self._len = 0
        self._chunk = chunk or _BUILD_CHUNK

    def append(self, row: dict) -> None:
        if self.keys is None:
            self.keys = tuple(row)
            self._pending = [[] for _ in self.keys]
        elif len(row) != len(self.keys) or tuple(row) != self.keys:
            raise ValueError(f"row {self._len} has keys {tuple(row)}, not {self.keys}")
        for column, key in zip(self._pending, self.keys, strict=True):
            column.append(row[key])
        self._len += 1
        if self._len % self._chunk == 0:
            self._flush()

    def __len__(self) -> int:
        return self._len

    def _flush(self) -> None:
        if self._pending and self._pending[0]:
            self._parts.append([_Column(values).spill() for values in self._pending])  # chunks too: a table
            # being built is then no more than one column in memory (`spilled_to`)
            self._pending = [[] for _ in self._pending]

    def build(self) -> Table:
        self._flush()
        keys = self.keys or ()
        chunks = [list(key_chunks) for key_chunks in zip(*self._parts, strict=True)]
        self._parts, columns = [], []
        for i in range(len(keys)):  # a column at a time, each spilled as soon as made (`spilled_to`)
            columns.append(_Column.concat(chunks[i]).compact().spill())
            chunks[i] = []  # its chunks, now in the column
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
        self.keys, self._columns, self._len = keys, [c.spill() for c in columns], length

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

    def _column(self, key: str) -> _Column:
        if not self._len and not self.keys:  # built from no row: it never saw the keys, every column is empty
            return _Column([])
        return self._columns[self.keys.index(key)]

    def column(self, key: str) -> list:
        """Every row's value of `key`, in row order."""
        return self._column(key).decode(0, self._len)

    def numbers(self, key: str) -> np.ndarray:
        """A column of ints, floats or booleans without None as its numpy array (not to be written to)."""
        column = self._column(key)
        if not self._len:
            return column.data.astype(np.int64)
        if column.kind not in ("int", "float", "bool") or column.has_nulls:
            raise TypeError(f"{key!r} is not a column of numbers without None")
        return column.data

    def kind(self, key: str) -> str:
        """How a column is held: "time", "int", "codes", "text"... (see `_Column`)."""
        return self._column(key).kind

    def codes(self, key: str) -> tuple[np.ndarray, list]:
        """A column of few distinct values as a code per row (into the list returned beside), without a
        value per row: `values[codes[i]]` is row i's value."""
        column = self._column(key)
        if not self._len:
            return np.zeros(0, dtype=np.int32), []
        if column.kind != "codes":
            raise TypeError(f"{key!r} is not a column of few distinct values")
        return column.data, column.values

    def times(self, key: str) -> np.ndarray:
        """A column of naive datetimes as numpy `datetime64[us]` (NaT for None), without a datetime per row."""
        column = self._column(key)
        if column.kind != "time" and self._len:
            raise TypeError(f"{key!r} is not a column of naive datetimes")
        out = column.data.astype("datetime64[us]")
        out[column.nulls] = np.datetime64("NaT")
        return out

    def sorted_by_time(self, key: str, *then: str) -> Table:
        """The rows as `sorted(rows, key=lambda r: (r[key], *(r[k] for k in then)))` orders them (`key` a
        column of datetimes without None), sorted on the column's numbers: only the rows that tie on the
        time are read for the `then` keys. A generator appends its rows in draw order, then sorts them here
        instead of sorting a list of dicts it would hold whole."""
        at = self.times(key).astype(np.int64)
        order = np.argsort(at, kind="stable")
        if then:
            ties = np.diff(at[order]) == 0  # ties[i]: the rows at order[i] and order[i + 1] share their time
            edges = np.diff(np.concatenate(([0], ties.astype(np.int8), [0])))
            for first, last in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
                run = order[first : last + 1].tolist()
                keys = {i: tuple(self[i][k] for k in then) for i in run}
                order[first : last + 1] = sorted(run, key=keys.__getitem__)
        return self.take(order)

    def take(self, order) -> Table:
        """The rows at the positions `order` (a sequence of row numbers), in that order."""
        order = np.asarray(order, dtype=np.int64)
        # each column spilled as soon as it is made: the whole table never is in memory at once
        return Table(self.keys, [c.take(order).spill() for c in self._columns], len(order))

    def nbytes(self) -> int:
        """Bytes held by the columns' arrays (not counting the distinct values they point to)."""
        return sum(c.nbytes() for c in self._columns)

    def __repr__(self) -> str:
        return f"Table({self._len} rows, keys={list(self.keys)})"
