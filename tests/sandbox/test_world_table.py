"""The world's columnar tables give back exactly the dicts they were given."""

from datetime import date, datetime

import pytest

from sandbox.world import table
from sandbox.world.table import Table, TableBuilder


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
            "extra": {"i": i} if i % 2 else {},  # unhashable: kept as is
            "mixed": i if i < 150 else float(i),  # ints, then floats in a later chunk
            "empty": None,
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("chunk", [7, 65_536])
def test_rows_read_back_equal_and_in_key_order(monkeypatch, chunk):
    monkeypatch.setattr(table, "_BUILD_CHUNK", chunk)
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


def test_sorted_by_is_stable_and_take_reorders():
    rows = [{"id": i, "at": datetime(2024, 1, 1 + (i * 7) % 5)} for i in range(40)]
    t = Table.from_rows(rows)
    assert list(t.sorted_by("at")) == sorted(rows, key=lambda r: r["at"])
    assert list(t.take([3, 1, 2])) == [rows[3], rows[1], rows[2]]


def test_a_row_of_another_shape_is_refused():
    builder = TableBuilder()
    builder.append({"a": 1, "b": 2})
    with pytest.raises(ValueError):
        builder.append({"b": 2, "a": 1})
    assert len(Table.from_rows([])) == 0
