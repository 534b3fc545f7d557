"""The fault matrix: every source against every fault, then a clean rerun, compared key for key.

For each fault, a fresh home runs every source once with the fault on (faulty run), then once with
the sandbox behaving (clean rerun); its raw tables are then compared with those of a home that only
ever had clean runs (the baseline). A cell holds when, after those two runs, no baseline row is
missing (lost) and no row is there twice or unexpected (duplicated): no manual repair is needed.

Faults:
- `429`, `5xx`, `drop`, `malformed`, `slow`: the sandbox answers the third request of each vendor so
  (a burst of them for 429 and 5xx);
- `drift`: every vendor adds a field or column to its payloads;
- `bad_key`: every credential the sandbox checks is wrong;
- `outage`: every vendor's base URL points at a port nobody listens on;
- `kill`: `pcdata ingest` is killed with SIGKILL as soon as a normalised package appears (inside
  normalize's commit, the window dlt asks not to kill, during the load, or while a source that found
  nothing new deletes its empty package).

`python -m sandbox.fault_matrix --scale 0.1` prints the whole matrix; the test suite runs a subset.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import requests
import sqlalchemy as sa

from sandbox.config import forget, sandbox_config, use
from sandbox.server import SandboxHandle
from sandbox.vendors import sandbox_api_key, vendors

HTTP_FAULTS: dict[str, dict] = {
    "429": {"fail_next": [None, None, 429, 429, 429, 429]},
    "5xx": {"fail_next": [None, None, 503, 500, 502]},
    "drop": {"fail_next": [None, None, "drop", "drop"]},
    "malformed": {"fail_next": [None, None, "malformed"]},
    "slow": {"fail_next": [None, None, "slow"]},
    "drift": {"schema_drift": True},
}
FAULTS = [*HTTP_FAULTS, "bad_key", "outage", "kill"]
# daily snapshots keyed by the day they were taken: two homes loaded either side of midnight hold
# different days, so each side's latest snapshot is compared, without its day
SNAPSHOT_DAY = {("raw_zendesk", "macros"): "export_date"}


@dataclass
class Cell:
    source: str
    fault: str
    faulty_run: str  # "loaded", or the one-line error the user saw
    rerun: str  # "loaded", or the error of the clean rerun (a cell that needs a person)
    lost: int
    duplicated: int

    @property
    def holds(self) -> bool:
        return self.rerun == "loaded" and self.lost == 0 and self.duplicated == 0


class FaultMatrix:
    def __init__(self, handle: SandboxHandle, app_engine: sa.Engine, workdir: Path, sources: Iterable[str]):
        self.handle = handle
        self.app_engine = app_engine
        self.workdir = workdir
        self.sources = list(sources)
        # the app database goes by URL too, for the `pcdata ingest` child of the kill run
        app_url = app_engine.url.render_as_string(hide_password=False)
        self.base_config = sandbox_config(handle, app_engine) | {"SOURCES__APP__CREDENTIALS": app_url}
        self.timings: list[tuple[str, str, float]] = []  # (home, source, seconds) of every run

    # --- running sources --------------------------------------------------------------------
    def home(self, name: str) -> Path:
        home = self.workdir / name
        shutil.rmtree(home, ignore_errors=True)
        return home

    @contextmanager
    def configured(self, home: Path, overrides: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
        """dlt resolves the sandbox configuration (plus overrides) for this home, and only inside the block:
        the process (a test session) gets its own configuration back afterwards."""
        config = {**self.base_config, **(overrides or {}), "PCDATA__HOME": str(home)}
        use(config)
        try:
            yield config
        finally:
            forget()

    def ingest(self, home: Path, overrides: dict[str, str] | None = None) -> dict[str, str]:
        """Run every source once in `home`; what each run ended with, by source."""
        from ingestion.pipeline import Runner
        from warehouse import Settings

        outcome = {}
        with self.configured(home, overrides):
            settings = Settings.load()
            # side by side, as `pcdata ingest` runs them: each vendor's faults are its own
            for ended in Runner(settings, self.app_engine).run_all(self.sources, settings.ingest_workers):
                if ended.status == "loaded":
                    outcome[ended.source] = "loaded"
                elif ended.status == "failed":  # the matrix records what the user would read
                    outcome[ended.source] = " ".join(str(ended.error).split())[:300]
                else:
                    outcome[ended.source] = f"not run: {', '.join(ended.blocked_by) or 'interrupted'} did not load"
                self.timings.append((home.name, ended.source, ended.seconds))
        return outcome

    def ingest_killed(self, home: Path, timeout: float = 300) -> dict[str, str]:
        """`pcdata ingest` of every source in a child process, killed (SIGKILL) once a package is normalised."""
        with self.configured(home) as config:
            env = {**os.environ, **config}
        command = [sys.executable, "-c", "from pcdata.cli import main; main()", "ingest", *self.sources]
        home.mkdir(parents=True, exist_ok=True)
        log = home / "ingest_killed.log"
        with log.open("wb") as out:
            child = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        waiting = home / "dlt" / "pipelines"
        deadline = time.monotonic() + timeout
        killed = False
        while child.poll() is None and time.monotonic() < deadline:
            if any(waiting.glob("*/load/normalized/*")):
                child.send_signal(signal.SIGKILL)
                killed = True
                break
            time.sleep(0.02)
        if child.poll() is None:
            child.kill()
        child.wait()
        if killed:
            return dict.fromkeys(self.sources, "killed during load")
        last = (log.read_text(errors="replace").strip().splitlines() or [""])[-1]
        return dict.fromkeys(self.sources, f"exited {child.returncode}: {last[:200]}")

    # --- faults -----------------------------------------------------------------------------
    def set_faults(self, knobs: dict) -> None:
        for name in vendors():
            requests.post(f"{self.handle.base_url}/_sandbox/faults/{name}", json=knobs, timeout=10).raise_for_status()

    def reset(self) -> None:
        requests.post(f"{self.handle.base_url}/_sandbox/reset", timeout=10).raise_for_status()

    def bad_keys(self) -> dict[str, str]:
        """Every credential the sandboxes check, made wrong: each vendor's key (also inside a TikTok
        refresh token and a Metabase password), and the App Store Connect key id its JWTs name."""
        keys = {sandbox_api_key(name) for name in vendors()}
        wrong = {k: f"wrong-{v}" for k, v in self.base_config.items() if any(key in v for key in keys)}
        return wrong | {"SOURCES__DOWNLOADS__KEY_ID": "WRONGKEYID"}

    def outage(self, attempts: int = 2) -> dict[str, str]:
        """Every base URL pointed at a local port nobody listens on; each call tried `attempts` times
        (the sources' own setting) so that the matrix does not wait out the whole back-off."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead = f"http://127.0.0.1:{s.getsockname()[1]}"
        base = self.handle.base_url
        urls = {k: v.replace(base, dead) for k, v in self.base_config.items() if base in v}
        return urls | {f"SOURCES__{name.upper()}__MAX_ATTEMPTS": str(attempts) for name in vendors()}

    # --- the matrix -------------------------------------------------------------------------
    def baseline(self) -> Path:
        self.reset()
        home = self.home("baseline")
        outcome = self.ingest(home)
        failed = {s: o for s, o in outcome.items() if o != "loaded"}
        if failed:
            raise RuntimeError(f"the clean baseline failed: {failed}")
        return home

    def run(self, fault: str, baseline: Path) -> list[Cell]:
        home = self.home(fault)
        self.reset()
        try:
            if fault in HTTP_FAULTS:
                self.set_faults(HTTP_FAULTS[fault])
                faulty = self.ingest(home)
            elif fault == "bad_key":
                faulty = self.ingest(home, self.bad_keys())
            elif fault == "outage":
                faulty = self.ingest(home, self.outage())
            elif fault == "kill":
                faulty = self.ingest_killed(home)
            else:
                raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        finally:
            self.reset()
        rerun = self.ingest(home)
        differences = compare(baseline, home, self.datasets())
        return [
            Cell(source, fault, faulty[source], rerun[source], *differences.get(source, (0, 0)))
            for source in self.sources
        ]

    def datasets(self) -> dict[str, str]:
        from ingestion.registry import SOURCES

        return {source: SOURCES[source].dataset for source in self.sources}


def compare(baseline: Path, candidate: Path, datasets: dict[str, str]) -> dict[str, tuple[int, int]]:
    """(rows lost, rows duplicated or unexpected) per source, candidate against baseline.

    A table with a primary key in its dlt schema is compared on that key; any other table (appended
    facts, child tables) on all its columns except dlt's own bookkeeping (`_dlt_*`)."""
    out: dict[str, tuple[int, int]] = {}
    with duckdb.connect() as conn:
        conn.execute(f"attach '{baseline / 'warehouse.duckdb'}' as b (read_only)")
        conn.execute(f"attach '{candidate / 'warehouse.duckdb'}' as c (read_only)")
        for source, dataset in datasets.items():
            lost = extra = 0
            for table, key in _keys(conn, dataset, baseline, source).items():
                present = conn.execute(
                    "select count(*) from information_schema.tables "
                    "where table_catalog = 'c' and table_schema = ? and table_name = ?",
                    [dataset, table],
                ).fetchone()
                day = SNAPSHOT_DAY.get((dataset, table))
                columns = ", ".join(f'"{k}"' for k in key if k != day)
                b_rows, c_rows = (_rows(db, dataset, table, columns, day) for db in ("b", "c"))
                if not present or not present[0]:
                    lost += conn.execute(f"select count(*) from ({b_rows})").fetchone()[0]  # type: ignore[index]
                    continue
                lost += conn.execute(f"select count(*) from ({b_rows} except all {c_rows})").fetchone()[0]  # type: ignore[index]
                extra += conn.execute(f"select count(*) from ({c_rows} except all {b_rows})").fetchone()[0]  # type: ignore[index]
            out[source] = (lost, extra)
    return out


def _rows(db: str, dataset: str, table: str, columns: str, day: str | None) -> str:
    relation = f'{db}."{dataset}"."{table}"'
    latest = f' where "{day}" = (select max("{day}") from {relation})' if day else ""
    return f"select {columns} from {relation}{latest}"


def _keys(conn: duckdb.DuckDBPyConnection, dataset: str, home: Path, source: str) -> dict[str, list[str]]:
    """Each baseline table of `dataset` and the columns it is compared on."""
    import dlt

    pipeline = dlt.attach(pipeline_name=f"pcdata_{source}", pipelines_dir=str(home / "dlt" / "pipelines"))
    schema = pipeline.default_schema
    keys = {}
    for table in schema.data_table_names():
        columns = schema.get_table_columns(table)
        key = [c for c, spec in columns.items() if spec.get("primary_key")]
        if not key:
            stored = conn.execute(
                "select column_name from information_schema.columns "
                "where table_catalog = 'b' and table_schema = ? and table_name = ?",
                [dataset, table],
            ).fetchall()
            key = [c for (c,) in stored if not c.startswith("_dlt_")]
        keys[table] = key
    return keys


def render(cells: list[Cell]) -> str:
    lines = [f"{'source':<12} {'fault':<10} {'faulty run':<28} {'rerun':<8} {'lost':>6} {'dup':>6}  holds"]
    for c in cells:
        faulty = c.faulty_run if len(c.faulty_run) <= 28 else c.faulty_run[:25] + "..."
        rerun = "loaded" if c.rerun == "loaded" else "FAILED"
        lines.append(
            f"{c.source:<12} {c.fault:<10} {faulty:<28} {rerun:<8} {c.lost:>6} {c.duplicated:>6}  "
            + ("yes" if c.holds else "NO")
        )
    return "\n".join(lines)


def main() -> None:
    import argparse

    from ingestion.embedded_postgres import start_embedded, stop_embedded
    from ingestion.registry import SOURCES, in_load_order
    from sandbox import server
    from sandbox.app_database import write_snapshot
    from sandbox.vendors.metabase.app_database import write_beside
    from sandbox.world import build_world

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--faults", nargs="*", default=FAULTS, choices=FAULTS)
    parser.add_argument("--sources", nargs="*", default=None, help="default: every source")
    parser.add_argument("--workdir", type=Path, default=Path(".pcdata/fault_matrix"))
    args = parser.parse_args()

    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    handle = server.start(workdir / "sandbox.json", args.seed, args.scale, timeout=600)
    url = start_embedded(workdir / "pgdata")
    try:
        engine = sa.create_engine(url)
        world = build_world(args.seed, args.scale)
        write_snapshot(engine, world.snapshot())
        write_beside(engine, world)
        matrix = FaultMatrix(handle, engine, workdir, in_load_order(args.sources or list(SOURCES)))
        baseline = matrix.baseline()
        cells = []
        for fault in args.faults:
            started = time.monotonic()
            cells += matrix.run(fault, baseline)
            print(f"{fault}: {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
        print(render(cells))
        for c in cells:
            if c.rerun != "loaded":
                print(f"\n{c.source} after {c.fault}, clean rerun: {c.rerun}")
        held = sum(c.holds for c in cells)
        print(f"\n{held} of {len(cells)} cells hold")
        sys.exit(0 if held == len(cells) else 1)
    finally:
        server.stop(workdir / "sandbox.json")
        stop_embedded(workdir / "pgdata")


if __name__ == "__main__":
    main()
