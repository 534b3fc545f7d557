"""The demo, run once for every end-to-end test module (and every pytest-xdist worker): `python -m sandbox demo`
on a small world.

Each mart domain has its own test module here comparing its marts with the
world's ground truth; they all read the warehouse of this one run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from filelock import FileLock

from sandbox.world import World, build_world

SEED, SCALE = 11, 0.15


def run_demo(home: Path, seed: int = SEED, scale: float = SCALE) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "PII_SALT", "PCDATA__", "DESTINATION__"))
    }
    env.update(PCDATA__HOME=str(home), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "sandbox", "demo", "--seed", str(seed), "--scale", str(scale)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@dataclass
class Demo:
    home: Path
    run: subprocess.CompletedProcess
    world: World

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    def copy_warehouse(self, dest: Path) -> Path:
        """The warehouse copied to `dest`, for a test that writes (the file alone: `pcdata transform`
        checkpoints it, test_demo.py checks)."""
        shutil.copy2(self.warehouse, dest)
        return dest

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as conn:
            return conn.execute(sql).fetchall()


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Demo:
    """One demo run for the whole session, whichever pytest-xdist worker asks first: the others wait for it
    and share its home, which every test reads only (a test that writes works on a copy)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the folder all workers' base temps share
    home, outcome = root / "demo", root / "demo-run.json"
    with FileLock(root / "demo.lock"):
        if not outcome.exists():
            home.mkdir()
            run = run_demo(home)
            outcome.write_text(json.dumps({"returncode": run.returncode, "stdout": run.stdout, "stderr": run.stderr}))
    first = subprocess.CompletedProcess(["sandbox demo"], **json.loads(outcome.read_text()))
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    return Demo(home, first, build_world(SEED, SCALE))
