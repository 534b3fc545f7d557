"""The sandbox's Firebase export: written once per world, streamed a day at a time."""

from __future__ import annotations

import gzip
import json
from copy import copy
from dataclasses import replace

import pytest

from sandbox.vendors.firebase.export import days, ensure_export, file_name
from sandbox.world import build_world


@pytest.fixture(scope="module")
def small_world():
    return build_world(3, 0.05)


def test_a_restart_on_the_same_world_keeps_the_files_and_another_world_rewrites_them(small_world, tmp_path):
    root = tmp_path / "firebase"
    assert ensure_export(small_world, root) is True
    files = sorted(root.glob("events_*.jsonl.gz"))
    assert len(files) == len(list(days(small_world))) > 100
    written = {f.name: f.stat().st_mtime_ns for f in files}

    assert ensure_export(small_world, root) is False  # same world: nothing rewritten
    assert {f.name: f.stat().st_mtime_ns for f in root.glob("events_*.jsonl.gz")} == written

    (root / ".world").unlink()  # a start killed before its stamp: everything again
    assert ensure_export(small_world, root) is True

    # the same seed and code, other events (as a change to the generator would make): rewritten
    changed = replace(small_world, events=copy(small_world.events), _slices={})
    user, offer, *rest = changed.events._columns
    changed.events._columns = (user, offer[::-1].copy(), *rest)
    assert ensure_export(changed, root) is True
    first_day, rows = next(days(changed))
    with gzip.open(root / file_name(first_day), "rt") as f:
        assert [json.loads(line) for line in f] == rows

    other = build_world(4, 0.05)
    assert ensure_export(other, root) is True
    assert sorted(f.name for f in root.glob("events_*")) == sorted(file_name(d) for d, _ in days(other))
    first_day, rows = next(days(other))
    with gzip.open(root / file_name(first_day), "rt") as f:
        assert [json.loads(line) for line in f] == rows


def test_days_come_in_order_and_hold_every_event_once(small_world):
    seen = [(day, len(rows)) for day, rows in days(small_world)]
    assert [d for d, _ in seen] == sorted({d for d, _ in seen})
    assert sum(n for _, n in seen) == len(small_world.events)
