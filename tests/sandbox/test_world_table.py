"""The world's columnar tables give back exactly the dicts they were given."""

from contextlib import nullcontext
from datetime import date, datetime

import numpy as np
import pytest

from sandbox.world import table
from sandbox.world.table import Table, TableBuilder

SHARED = [{"utm": "a"}, {"utm": "b"}, ["c"]]


def _rows(n: int) -> list[dict]:
    return [
        {
            "id": i + 1,
            "flag": i % 3 == 0,
            "amount": 0.5 * i if i % 7 else None,  # floats with nulls
            "count": i % 5 if i % 11 else None,
            "at": datetime(2024, 1, 1, i % 24, i % 60, i % 60, i) if i % 4 else None,
            "day": date(2024, 1 + i % 12, 1),
            "name": f"row {i % 13}",
            "extra": {"i": i, "at": datetime(2024, 1, 1, i % 24)} if i % 2 else {},  # unhashable: pickled
            "campaign": SHARED[i % 3],  # a few objects that many rows share: codes into them
            "uid": f"é-{i:06d}" if i % 9 else None,  # mostly distinct strings: UTF-8 text
            "contact": f"<c{i % 40}@é.fr>" if i % 6 else None,  # many distinct strings, repeated: text codes
            "mixed": i if i < 150 else float(i),  # ints, then floats in a later chunk
            "empty": None,
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("chunk", [7, 65_536])
def test_rows_read_back_equal_and_in_key_order(monkeypatch, chunk):
    monkeypatch.setattr(table, "_BUILD_CHUNK", chunk)
    monkeypatch.setattr(table, "_MANY_STRINGS", 20)  # 40 contacts are many, 13 names are not
    rows = _rows(300)
    t = Table.from_rows(rows)
    assert len(t) == 300
    back = list(t)
    assert back == rows
    assert [list(r) for r in back] == [list(r) for r in rows]  # same key order
    assert all(type(a["mixed"]) is type(b["mixed"]) for a, b in zip(back, rows, strict=True))
    assert all(type(a["flag"]) is bool for a in back)
    assert t[5] == rows[5] and t[-1] == rows[-1]
    assert t[10:20] == rows[10:20] and t[::50] == rows[::50]
    assert t.column("name") == [r["name"] for r in rows]
    kinds = dict(zip(t.keys, (c.kind for c in t._columns), strict=True))
    assert (kinds["name"], kinds["uid"], kinds["extra"]) == ("codes", "text", "pickled")
    assert kinds["contact"] == "text codes" and t.column("contact") == [r["contact"] for r in rows]
    assert kinds["campaign"] == "objects" and t[4]["campaign"] is SHARED[1]
    first = t[1]["extra"]
    first["i"] = -1  # a read value is a copy: the table does not change
    assert t[1]["extra"] == rows[1]["extra"]
    times = t.times("at")
    assert [None if np.isnat(x) else x.item() for x in times] == [r["at"] for r in rows]
    order = [299, 0, 150, 7, 7]
    assert list(t.take(order)) == [rows[i] for i in order]


def test_a_row_of_another_shape_is_refused():
    builder = TableBuilder()
    builder.append({"a": 1, "b": 2})
    with pytest.raises(ValueError):
        builder.append({"b": 2, "a": 1})
    empty = Table.from_rows([])  # no row, so no keys: any column reads empty
    assert len(empty) == 0 and empty.column("id") == [] and len(empty.numbers("id")) == len(empty.times("at")) == 0


def test_sorted_by_time_orders_as_sorted_does_ties_included():
    # times drawn from few values, so that many rows tie and the `then` keys decide among them
    rows = [
        {"at": datetime(2024, 1, 1 + i % 4, i % 3), "mid": f"<{(i * 7) % 11}@x>", "ev": "ab"[i % 2]} for i in range(60)
    ]
    t = Table.from_rows(rows)
    assert list(t.sorted_by_time("at", "mid", "ev")) == sorted(rows, key=lambda r: (r["at"], r["mid"], r["ev"]))
    assert list(t.sorted_by_time("at")) == sorted(rows, key=lambda r: r["at"])  # stable on ties


def test_tables_built_spilled_to_a_folder_hold_their_large_arrays_as_maps_of_removed_files(tmp_path):
    rows = _rows(140_000)  # 140,000 ids of 8 bytes, in chunks of 65,536: each over the 256 KiB spilled
    in_memory = Table.from_rows(rows)
    with table.spilled_to(tmp_path):
        spilled = Table.from_rows(rows)
        backwards = spilled.take(np.arange(len(rows))[::-1])  # a table made from another: spilled too
    assert list(tmp_path.iterdir()) == []  # each file removed once mapped: the map keeps its pages
    assert not any(table._mapped(c.data) for c in in_memory._columns)
    ids, uids, extras = (spilled._columns[spilled.keys.index(k)] for k in ("id", "uid", "extra"))
    assert table._mapped(ids.data) and table._mapped(uids.data) and table._mapped(extras.data)
    assert not table._mapped(uids.nulls)  # 137 KiB of flags: under the size worth a file
    assert table._mapped(backwards._columns[0].data)
    assert spilled[:] == in_memory[:] == rows and backwards[:] == rows[::-1]


@pytest.mark.parametrize("spilled", [False, True])
def test_take_copies_text_a_few_bytes_at_a_time_rows_longer_than_that_included(tmp_path, monkeypatch, spilled):
    monkeypatch.setattr(table, "_GATHER_BYTES", 50)  # chunks of a few rows, some rows longer than a chunk
    monkeypatch.setattr(table, "_SPILL_MIN", 1024)  # the taken text is over it: written to a file piece by piece
    rows = [{"body": "é" * (i * 37 % 120) + str(i) if i % 5 else "", "other": f"x{i}"} for i in range(400)]
    order = np.random.default_rng(3).permutation(len(rows))
    with table.spilled_to(tmp_path) if spilled else nullcontext():
        taken = Table.from_rows(rows).take(order)
    body = taken._columns[taken.keys.index("body")]
    assert body.kind == "text" and table._mapped(body.data) == spilled
    assert taken[:] == [rows[i] for i in order]


def test_take_inside_spilled_to_never_holds_the_taken_text_whole_in_memory(tmp_path, monkeypatch):
    import tracemalloc

    monkeypatch.setattr(table, "_GATHER_BYTES", 1 << 16)
    rows = [{"body": f"{i:08d}" * 25} for i in range(40_000)]  # 8 MB of text
    with table.spilled_to(tmp_path):
        source = Table.from_rows(rows)
        tracemalloc.start()
        try:
            taken = source.take(np.arange(len(rows))[::-1])
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 4_000_000, f"take held {peak / 1e6:.1f} MB for 8 MB of text"  # a whole copy is 8 MB
    assert taken[:3] == rows[::-1][:3] and taken[-1] == rows[0]


def test_a_column_of_few_values_reads_as_codes_into_them():
    rows = _rows(300)
    t = Table.from_rows(rows)
    codes, values = t.codes("name")
    assert t.kind("name") == "codes" and len(values) == 13 and codes.dtype == np.int32
    assert [values[c] for c in codes] == [r["name"] for r in rows]
    assert t.kind("at") == "time" and t.kind("id") == "int"
    with pytest.raises(TypeError, match="not a column of few distinct values"):
        t.codes("id")
    assert Table.from_rows([]).codes("name")[1] == []
