"""Every source loaded one at a time (workers=1) and in parallel, against a running sandbox: wall time and peak memory.

Each mode loads every source from scratch (a fresh warehouse and dlt state of its own, under --runs-dir)
against the same sandbox and app database, in this process, with `Runner.run_all` (what `pcdata ingest`
runs). The floor is measured in the same run: the slowest source alone (its time in the sequential mode,
where nothing runs beside it), and the critical path (the longest chain of needs, e.g. app then sirene).
A parallel run cannot end before either.

    PCDATA__HOME=/tmp/home-s1 .venv/bin/python -m sandbox start --seed 11 --scale 1
    PCDATA__HOME=/tmp/home-s1 .venv/bin/python -m sandbox appdb load --seed 11 --scale 1
    .venv/bin/python benchmarks/ingestion_parallel.py --sandbox-home /tmp/home-s1 --warmup [--workers 1,2,4,8]

`--sandbox-home` is the PCDATA__HOME of the running sandbox (a demo's with --keep-running works): only its
sandbox state and app database are read; nothing is written there.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import threading
import time
from pathlib import Path

import psutil
import requests
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingestion.embedded_postgres import app_database_url  # noqa: E402
from ingestion.parallel import LOADED, Outcome  # noqa: E402
from ingestion.pipeline import Runner  # noqa: E402
from ingestion.registry import SOURCES, in_load_order  # noqa: E402
from sandbox import server  # noqa: E402
from sandbox.config import forget, sandbox_config, use  # noqa: E402
from warehouse import Settings  # noqa: E402


class PeakRss:
    """The process's resident memory, sampled every 0.2 s while the block runs: its peak in MiB."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        process = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, process.memory_info().rss)
            self._stop.wait(0.2)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mib(self) -> float:
        return self.peak / 2**20


def run_mode(
    config: dict[str, str], sandbox_url: str, home: Path, names: list[str], workers: int
) -> tuple[float, float, float, list[Outcome]]:
    """Every source into a fresh `home`, `workers` at a time: (wall s, CPU s, peak RSS MiB, outcomes)."""
    shutil.rmtree(home, ignore_errors=True)
    # every mode meets the same vendors: AppsFlyer's daily report quota and TikTok's rotated refresh
    # token (a fresh home starts from the configured one) are the sandbox's state, reset here
    requests.post(f"{sandbox_url}/_sandbox/reset", timeout=30).raise_for_status()
    use({**config, "PCDATA__HOME": str(home)})
    try:
        runner = Runner(Settings.load())
        process = psutil.Process()
        with PeakRss() as rss:
            started, cpu = time.monotonic(), sum(process.cpu_times()[:2])
            outcomes = runner.run_all(names, workers)
            wall, cpu = time.monotonic() - started, sum(process.cpu_times()[:2]) - cpu
    finally:
        forget()
    for outcome in outcomes:
        if outcome.status != LOADED:
            print(f"  workers={workers}: {outcome.source} {outcome.status}: {outcome.error or outcome.blocked_by}")
    return wall, cpu, rss.mib, outcomes


def critical_path(alone: dict[str, float]) -> tuple[float, list[str]]:
    """The longest chain of needs, by the sources' times alone: no schedule ends before it."""
    best: dict[str, tuple[float, list[str]]] = {}
    for name in in_load_order(list(alone)):
        before = max((best[n] for n in SOURCES[name].needs if n in best), default=(0.0, []))
        best[name] = (before[0] + alone[name], [*before[1], name])
    return max(best.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox-home", required=True, type=Path, help="PCDATA__HOME of the running sandbox")
    parser.add_argument("--runs-dir", type=Path, default=Path("/tmp/bench-ingestion-parallel"))
    parser.add_argument("--workers", default="1,4", help="comma-separated; 1 (the floor's measure) always runs")
    parser.add_argument("--sources", nargs="*", default=list(SOURCES))
    parser.add_argument(
        "--warmup",
        action="store_true",
        help="load everything once first (a fresh sandbox builds each vendor's slice on its first request)",
    )
    args = parser.parse_args()

    handle = server.read_state(args.sandbox_home / "sandbox.json")
    if handle is None:
        sys.exit(f"no sandbox runs for {args.sandbox_home}: start one (see this script's docstring)")
    app_url = app_database_url(args.sandbox_home / "pgdata")
    config = sandbox_config(handle, sa.create_engine(app_url)) | {"SOURCES__APP__CREDENTIALS": app_url}
    config["RUNTIME__LOG_LEVEL"] = "ERROR"  # the sources' schema notes, once per mode, would drown the figures
    modes = sorted({1, *(int(w) for w in args.workers.split(","))})
    print(
        f"sandbox {handle.base_url} (seed {handle.seed}, scale {handle.scale}); sources: {len(args.sources)}; "
        f"cpus: {psutil.cpu_count()}; load average {psutil.getloadavg()[0]:.1f}"
    )

    if args.warmup:
        wall, _, _, _ = run_mode(config, handle.base_url, args.runs_dir / "warmup", args.sources, max(modes))
        print(f"warm-up (workers={max(modes)}): {wall:.1f}s")

    results: dict[int, tuple[float, float, float, dict[str, Outcome]]] = {}
    for workers in modes:
        wall, cpu, mib, outcomes = run_mode(
            config, handle.base_url, args.runs_dir / f"workers-{workers}", args.sources, workers
        )
        results[workers] = (wall, cpu, mib, {o.source: o for o in outcomes})
        print(f"workers={workers}: {wall:.1f}s, CPU {cpu:.1f}s, peak RSS {mib:.0f} MiB")

    sequential = results[1][3]
    alone = {name: o.seconds for name, o in sequential.items()}
    slowest = max(alone, key=alone.__getitem__)
    path_seconds, path = critical_path(alone)
    # the work itself: this process's CPU seconds of the sequential run, spread over every core
    cpu_floor = results[1][1] / (psutil.cpu_count() or 1)
    floor = max(alone[slowest], path_seconds, cpu_floor)

    print()
    header = f"{'source':<20}{'rows':>10}{'alone s':>9}" + "".join(f"{f'w={w} start':>11}{'s':>7}" for w in modes[1:])
    print(header)
    for name in in_load_order(args.sources):
        o = sequential[name]
        rows = sum((o.result.rows_loaded if o.result else {}).values())
        line = f"{name + (' (paced)' if SOURCES[name].paced else ''):<20}{rows:>10}{alone[name]:>9.1f}"
        for w in modes[1:]:
            by_source = results[w][3]
            p = by_source[name]
            origin = min(x.started for x in by_source.values() if x.started)
            line += f"{(p.started - origin if p.started else 0):>11.1f}{p.seconds:>7.1f}"
        print(line)

    print()
    print(
        f"floor: slowest source alone {slowest} {alone[slowest]:.1f}s; critical path {' > '.join(path)} "
        f"{path_seconds:.1f}s; CPU work {results[1][1]:.1f}s over {psutil.cpu_count()} cores {cpu_floor:.1f}s"
    )
    print(
        f"{'mode':<12}{'wall s':>8}{'CPU s':>8}{'cores busy':>12}{'vs sequential':>15}{'vs floor':>10}"
        f"{'peak RSS MiB':>14}"
    )
    for workers, (wall, cpu, mib, _) in results.items():
        print(
            f"{'workers=' + str(workers):<12}{wall:>8.1f}{cpu:>8.1f}{cpu / wall:>12.2f}"
            f"{results[1][0] / wall:>14.2f}x{wall / floor:>9.2f}x{mib:>14.0f}"
        )


if __name__ == "__main__":
    main()
