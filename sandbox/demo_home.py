"""What keeps demos from breaking each other: one demo at a time per home, one world per warehouse.

- `demo_lock`: an exclusive `flock` on `<home>/demo.lock`, held for the whole
  demo. The kernel drops it when the process dies, so a killed demo never
  leaves a stale lock behind; a second demo on the same home stops at once
  with one line naming the running one.
- `check_world`: the home remembers the world (seed, scale) its warehouse was
  built from in `<home>/world.json`. A demo, `sandbox start` or `sandbox
  appdb load` with another seed or scale is refused rather than started clean by itself: a scale-1.0 warehouse takes
  long to rebuild and may be what someone is studying, so deleting it on a
  changed `SCALE=` is not ours to decide. The refusal names the command that
  starts clean (`--fresh`) and the alternative of another home.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from warehouse import Settings


class DemoRefused(RuntimeError):
    pass


def _lock_file(settings: Settings) -> Path:
    return settings.home / "demo.lock"


def _world_file(settings: Settings) -> Path:
    return settings.home / "world.json"


@contextmanager
def demo_lock(settings: Settings) -> Iterator[None]:
    path = _lock_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise DemoRefused(
                f"a demo is already running on {settings.home} ({holder}): wait for it to finish, "
                f"or run this one on another home: `PCDATA__HOME=/tmp/other-home python -m sandbox demo`"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_world(settings: Settings, seed: int, scale: float) -> None:
    """Refuse a world other than the one the home's warehouse holds; record it on a fresh home."""
    marker = _world_file(settings)
    wanted = {"seed": seed, "scale": scale}
    has_data = (settings.destination == "duckdb" and settings.warehouse.exists()) or settings.pipelines_dir.exists()
    recorded = json.loads(marker.read_text()) if marker.exists() else None
    if recorded == wanted or not has_data:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(wanted))
        return
    built = f"seed {recorded['seed']}, scale {recorded['scale']}" if recorded else "data not written by a demo"
    raise DemoRefused(
        f"{settings.home} holds a warehouse built from {built}; the world of seed {seed}, scale {scale} would mix "
        f"with it: start clean with `python -m sandbox demo --seed {seed} --scale {scale} --fresh` "
        f"(`make demo SCALE={scale} FRESH=1`; deletes that warehouse), or use another home (PCDATA__HOME)"
    )


def start_clean(settings: Settings) -> None:
    """Forget the home's warehouse and everything that remembers what it loaded (dlt state, world marker)."""
    for path in (settings.warehouse, settings.warehouse.with_name(settings.warehouse.name + ".wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(settings.home / "dlt", ignore_errors=True)  # incremental cursors of the old world
    from sandbox.server import files_folder  # the sandbox's files, the world it keeps among them

    shutil.rmtree(files_folder(settings.sandbox_state), ignore_errors=True)
    _world_file(settings).unlink(missing_ok=True)
