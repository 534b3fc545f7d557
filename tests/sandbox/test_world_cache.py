"""The built world kept on disk: a restart on the same world reads it back instead of building it."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from sandbox import server
from sandbox.framework import Request
from sandbox.world import cache


def _answer(srv: server.SandboxServer, vendor: str, path: str, **query) -> tuple[int, bytes]:
    sandbox = srv.vendors[vendor]
    headers = {"x-insee-api-key-integration": sandbox.api_key, "api-key": sandbox.api_key}
    response = sandbox.handle(Request("GET", path, {k: [str(v)] for k, v in query.items()}, headers, b""))
    return response.status, response.body


def test_a_restart_reads_the_world_back_and_serves_the_same_answers(tmp_path, monkeypatch):
    first = server.make_server(5, 0.05, tmp_path)
    first.server_close()
    kept = list(tmp_path.glob("world-*.world"))
    assert [p.name for p in kept] == [cache.world_file(tmp_path, 5, 0.05).name]
    core = cache.load(kept[0], slices=False)  # what the app database's loader reads: no vendor slice
    assert core is not None and not core._slices and core.bookings[:] == first.vendors["zendesk"].world.bookings[:]

    def no_build(*_):
        raise AssertionError("the world was built again")

    monkeypatch.setattr(server, "_build_in_child", no_build)
    second = server.make_server(5, 0.05, tmp_path)
    second.server_close()
    assert second.vendors["zendesk"].world is not first.vendors["zendesk"].world
    end = first.vendors["brevo"].world.end.date()
    for vendor, path, query in (
        ("sirene", "/siren/" + first.vendors["sirene"].world.offerers[0]["siren"], {}),
        ("brevo", "/v3/smtp/statistics/events", {"limit": 50, "startDate": end - timedelta(days=90), "endDate": end}),
    ):
        answer = _answer(second, vendor, path, **query)
        assert answer == _answer(first, vendor, path, **query) and answer[0] == 200 and len(answer[1]) > 100

    monkeypatch.undo()  # another seed: built, and the folder keeps that world only
    server.make_server(6, 0.05, tmp_path).server_close()
    assert [p.name for p in tmp_path.glob("world-*.world")] == [cache.world_file(tmp_path, 6, 0.05).name]


@pytest.mark.parametrize("content", [b"", b"not a pickle"])
def test_an_unreadable_file_is_dropped_and_the_world_built_again(tmp_path, content):
    kept = cache.world_file(tmp_path, 5, 0.05)
    kept.write_bytes(content)
    assert cache.load(kept) is None and not kept.exists()


def test_a_kept_world_is_read_as_views_of_its_file_and_a_cut_file_is_built_again(tmp_path):
    built = server.build_world(5, 0.05)
    kept = cache.world_file(tmp_path, 5, 0.05)
    cache.save(built, kept)
    world = cache.load(kept, slices=False)
    assert world is not None and world.bookings[:] == built.bookings[:] and world.events[:] == built.events[:]
    column = world.bookings._columns[world.bookings.keys.index("id")].data
    assert not column.flags.owndata  # a view of the mapped file, not a copy read into memory
    before = kept.read_bytes()
    column[:] = -1  # a private map: the process's copy changes, the file does not
    assert kept.read_bytes() == before and cache.load(kept, slices=False).bookings[:] == built.bookings[:]

    kept.write_bytes(before[: len(before) // 2])  # a file cut short (a full disk, a copy stopped half-way)
    assert cache.load(kept) is None and not kept.exists()


def test_a_first_start_builds_in_a_process_of_its_own_and_says_so_when_it_is_killed(tmp_path):
    """Killed there (out of memory, say), the start fails saying what happened, not with a bare broken pool."""

    def builders() -> set[int]:  # this process's children that run a spawned multiprocessing worker
        found = set()
        for task in Path("/proc/self/task").iterdir():
            for pid in _read(task / "children").split():
                if "spawn_main" in _read(Path(f"/proc/{pid}/cmdline")):
                    found.add(int(pid))
        return found

    before, killed = builders(), []

    def kill_the_builder() -> None:
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline:
            for pid in builders() - before:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)

    threading.Thread(target=kill_the_builder, daemon=True).start()
    with pytest.raises(RuntimeError, match="died without an error: out of memory"):
        server.make_server(5, 2, tmp_path)
    assert killed, "no child process built the world"
    assert not list(tmp_path.glob("world-*.world"))  # nothing kept from a build that did not end


def _read(path: Path) -> str:
    """A /proc file, or nothing when its thread or process has just ended."""
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
