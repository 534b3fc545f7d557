"""The seeded world's memory and time at several scales: build, sandbox start, app database load.

Each measure runs in a fresh Python process (its peak resident set is its own; "own" beside a peak is
the process's own memory, RssAnon sampled every 10 ms, without the kept world's file pages):
- world:   `build_world(seed, scale)`: seconds, peak MiB, and MiB still held once built;
- sandbox: the sandbox server's first start (`make_server`: the world, every vendor's slice, the
           Firebase export written to an empty folder, the world kept, in a child process): seconds
           and resident MiB once started (and peak, the child's if higher; own: both together),
           split into the process's own memory and file pages (the kept world's map: the kernel
           reads them on demand and may drop them);
- restart: a start on the world a first start (in another process) kept: seconds, MiB once started;
- appdb:   `python -m sandbox appdb load`'s work (world, snapshot into the embedded PostgreSQL of a
           home of its own, streamed when the code has `World.snapshot_rows`): seconds and peak MiB of
           the loader (PostgreSQL's own memory not counted).
The floors, measured or counted in the same run: the world's rows as numpy columns (8 bytes a
value: what "all in arrays" would hold), and the COPY of the same snapshot from CSV files already
written (the database's own share of a load). MiB per scale unit and the growth exponent between two
scales (log(m2/m1) / log(s2/s1): 1 is linear) follow each figure.

    .venv/bin/python -m benchmarks.world_memory --scales 1 5 20
    .venv/bin/python -m benchmarks.world_memory --scales 1 5 --code /tmp/world-before   # another checkout's code
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _rss_mib(kind: str = "VmRSS", pid: int | str = "self") -> float:
    """The resident set (VmRSS), or its part in the process's own memory (RssAnon) or in file pages
    (RssFile: a mapped file's pages, which the kernel may drop and read again)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # a child that has just exited
        return 0.0
    for line in status.splitlines():
        if line.startswith(f"{kind}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _children() -> list[str]:
    pids = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids += (task / "children").read_text().split()
        except OSError:  # a thread that has just ended
            continue
    return pids


def _held() -> dict:
    return {"held": _rss_mib(), "anon": _rss_mib("RssAnon"), "file": _rss_mib("RssFile")}


class _OwnPeak:
    """The highest RssAnon seen, sampled every 10 ms: the peak of the process's own memory, with its
    children's beside it when `children` (a first start builds the world in a child process). The
    kernel's peak (ru_maxrss) also counts the kept world's file pages a start reads, which it may drop."""

    def __init__(self, children: bool) -> None:
        self.mib, self.children = 0.0, children
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            pids = ["self", *(_children() if self.children else [])]
            self.mib = max(self.mib, sum(_rss_mib("RssAnon", pid) for pid in pids))
            time.sleep(0.01)


def _peak_mib(children: bool = False) -> float:
    """The kernel's peak resident set of this process, or of its largest child if that is higher."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if children:
        peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return peak / 1024


def _floor_mib(world) -> float:
    """The world's rows as 8-byte numpy values: rows x columns x 8, table by table."""
    tables = {
        "users": (len(world.users), 16),
        "deposits": (len(world.deposits), 7),
        "offerers": (len(world.offerers), 8),
        "venues": (len(world.venues), 13),
        "offers": (len(world.offers), 13),
        "stocks": (len(world.stocks), 6),
        "bookings": (len(world.bookings), 14),
        "events": (len(world.events), 6),
    }
    return sum(n * cols * 8 for n, cols in tables.values()) / 2**20


def _child(stage: str, seed: int, scale: float, home: str) -> dict:
    import sqlalchemy  # noqa: F401  (imports first: the start's resident set is not the world's)

    import sandbox.app_database  # the app source it imports: dlt, pyarrow...
    import sandbox.server  # noqa: F401
    from ingestion import embedded_postgres  # noqa: F401
    from sandbox.world import build_world

    base = _rss_mib()
    own = _OwnPeak(children=stage == "sandbox")  # a restart's first start is another process: not counted
    started = time.perf_counter()
    out = _stage(stage, seed, scale, home, build_world, started)
    return {**out, "base": base, "own_peak": own.mib}


def _stage(stage: str, seed: int, scale: float, home: str, build_world, started: float) -> dict:
    if stage == "world":
        world = build_world(seed, scale)
        rows = len(world.users) + len(world.bookings) + len(world.events) + len(world.offers) + len(world.stocks)
        return {
            "seconds": time.perf_counter() - started,
            "peak": _peak_mib(),
            "held": _rss_mib(),
            "floor": _floor_mib(world),
            "rows": rows,
        }
    if stage == "sandbox":
        from sandbox.server import make_server

        with tempfile.TemporaryDirectory() as files:
            server = make_server(seed, scale, Path(files))
            seconds = time.perf_counter() - started
            server.server_close()
        return {"seconds": seconds, **_held(), "peak": _peak_mib(children=True)}
    if stage == "restart":
        from sandbox.server import make_server

        with tempfile.TemporaryDirectory() as files:
            first = f"import pathlib, sandbox.server as s; s.make_server({seed}, {scale}, pathlib.Path({files!r}))"
            subprocess.run([sys.executable, "-c", first], check=True)  # the first start, in a process of its own
            started = time.perf_counter()
            server = make_server(seed, scale, Path(files))
            seconds = time.perf_counter() - started
            server.server_close()
        return {"seconds": seconds, **_held(), "peak": _peak_mib()}
    if stage == "appdb":
        import sqlalchemy as sa

        from ingestion.embedded_postgres import app_database_url
        from sandbox import app_database
        from sandbox.app_database import COLUMNS, write_snapshot

        engine = sa.create_engine(app_database_url(Path(home) / "pgdata"))
        ready = time.perf_counter()
        world = build_world(seed, scale)
        built = time.perf_counter()
        rows = world.snapshot_rows() if hasattr(world, "snapshot_rows") else world.snapshot()
        counts = write_snapshot(engine, rows)
        loaded = time.perf_counter()
        peak = _peak_mib()
        # the floor: the same snapshot's COPY from CSV files written beforehand
        with tempfile.TemporaryDirectory() as tmp:
            files = {}
            streamed = hasattr(world, "snapshot_rows") and hasattr(app_database, "_CsvStream")
            for table, table_rows in world.snapshot_rows().items() if streamed else ():
                path = Path(tmp) / f"{table}.csv"
                stream = app_database._CsvStream(table_rows, [n for n, _ in COLUMNS[table]])
                with path.open("w") as f:
                    while chunk := stream.read(1 << 20):
                        f.write(chunk)
                files[table] = path
            raw = engine.raw_connection()
            copy_started = time.perf_counter()
            try:
                with raw.cursor() as cur:
                    for table, path in files.items():
                        cols = ", ".join(f'"{n}"' for n, _ in COLUMNS[table])
                        cur.execute(f'truncate table public."{table}"')
                        with path.open() as f:
                            cur.copy_expert(
                                f"copy public.\"{table}\" ({cols}) from stdin with (format csv, null '\\N')", f
                            )
                raw.commit()
            finally:
                raw.close()
            floor = time.perf_counter() - copy_started if files else float("nan")
        engine.dispose()
        return {
            "seconds": loaded - ready,
            "build": built - ready,
            "write": loaded - built,
            "peak": peak,
            "copy_floor": floor,
            "rows": sum(counts.values()),
        }
    raise ValueError(stage)


def _measure(stage: str, seed: int, scale: float, code: Path, home: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code), "PCDATA__HOME": str(home)}
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", stage, "--seed", str(seed), "--scales", str(scale)],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _exponent(a: float, b: float, s1: float, s2: float) -> str:
    if a <= 0 or b <= 0 or s1 == s2:
        return "-"
    return f"{math.log(b / a) / math.log(s2 / s1):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 5, 20])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--code", type=Path, default=REPO, help="the checkout whose sandbox is measured")
    parser.add_argument("--home", type=Path, default=Path("/tmp/world-memory"), help="the app database's home")
    parser.add_argument("--stages", nargs="+", default=["world", "sandbox", "restart", "appdb"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.seed, args.scales[0], os.environ["PCDATA__HOME"])))
        return

    results: dict[float, dict[str, dict]] = {}
    print(f"code: {args.code}   seed {args.seed}")
    for scale in args.scales:
        results[scale] = {}
        for stage in args.stages:
            results[scale][stage] = r = _measure(stage, args.seed, scale, args.code, args.home)
            if "error" in r:
                print(f"scale {scale:>6g}  {stage:<8} FAILED: {r['error']}", flush=True)
                continue
            if stage == "world":
                extra = f"held {r['held']:8.0f} MiB  floor (numpy) {r['floor']:7.0f} MiB  rows {r['rows']:,}"
            elif stage in ("sandbox", "restart"):
                extra = f"held {r['held']:8.0f} MiB (own {r['anon']:.0f}, file pages {r['file']:.0f})"
            else:
                extra = (
                    f"build {r['build']:6.1f} s  write {r['write']:6.1f} s  COPY floor {r['copy_floor']:6.1f} s"
                    f"  rows {r['rows']:,}"
                )
            print(
                f"scale {scale:>6g}  {stage:<8} {r['seconds']:8.1f} s  "
                f"peak {r['peak']:7.0f} MiB (own {r['own_peak']:.0f}) "
                f"({r['peak'] - r['base']:7.0f} above start, {(r['peak'] - r['base']) / scale:5.1f} MiB/unit)  {extra}",
                flush=True,
            )

    print("\ngrowth exponents between consecutive scales (seconds / peak MiB):")
    for s1, s2 in zip(args.scales, args.scales[1:], strict=False):
        cells = []
        for stage in args.stages:
            a, b = results[s1].get(stage, {}), results[s2].get(stage, {})
            if "seconds" in a and "seconds" in b:
                time_exp, peak_exp = (
                    _exponent(a["seconds"], b["seconds"], s1, s2),
                    _exponent(a["peak"], b["peak"], s1, s2),
                )
                cells.append(f"{stage} {time_exp} / {peak_exp}")
        print(f"  {s1:g} -> {s2:g}: " + "   ".join(cells))
    if len(args.scales) > 1:
        s1, s2 = args.scales[-2], args.scales[-1]
        print(f"\nprojected at scale 200 (the slope between scales {s1:g} and {s2:g}, from scale {s2:g}):")
        for stage in args.stages:
            a, b = results[s1].get(stage, {}), results[s2].get(stage, {})
            if "peak" in a and "peak" in b:
                per_unit = (b["peak"] - a["peak"]) / (s2 - s1)
                own_per_unit = (b["own_peak"] - a["own_peak"]) / (s2 - s1)
                seconds = b["seconds"] + (b["seconds"] - a["seconds"]) / (s2 - s1) * (200 - s2)
                peak = b["peak"] + per_unit * (200 - s2)
                own = b["own_peak"] + own_per_unit * (200 - s2)
                print(
                    f"  {stage:<8} {per_unit:5.1f} MiB per scale unit: peak {peak / 1024:6.1f} GiB "
                    f"(own {own_per_unit:.1f} MiB per unit: {own / 1024:.1f} GiB), {seconds:7.0f} s"
                )
    if any("error" in r for per in results.values() for r in per.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
