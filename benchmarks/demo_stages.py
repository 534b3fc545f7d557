"""The demo's stages at several scales: seconds and peak memory per stage, and how each grows with the scale.

Runs `python -m sandbox demo --fresh --scale S` in a home of its own per scale and follows its progress
lines ("1/7 sandbox APIs", "3/7 ingestion (dlt)", ...): a stage lasts from its line to the next one.
Memory is the resident set of every process of the run, sampled every 0.2 s: the demo and its children
(the sandbox server, dbt, training), plus the app database's PostgreSQL, found by its data folder in
the home. The growth exponent of a stage between two scales is log(t2/t1) / log(s2/s1): 1 is linear,
2 quadratic. A scale that fails is shown with the stage it died in and how, and the script exits 1.

    .venv/bin/python benchmarks/demo_stages.py                 # scales 1 20 200, homes under /tmp
    .venv/bin/python benchmarks/demo_stages.py --scales 0.2 1 --root /tmp/stages
    .venv/bin/python benchmarks/demo_stages.py --scales 200 --resume   # on from a killed scale-200 run
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sandbox.framework import VENDOR_TIERS  # noqa: E402

STAGE_LINE = re.compile(r"─ (\w+)/\d+ (.+?) ─")  # rich's rule: "──── 3/7 ingestion (dlt) ────"


@dataclass
class Stage:
    name: str
    seconds: float = 0.0
    peak_mib: float = 0.0


@dataclass
class Run:
    scale: float
    stages: list[Stage] = field(default_factory=list)
    seconds: float = 0.0
    peak_mib: float = 0.0
    failure: str = ""  # empty when the demo exited 0


def _run_processes(demo: psutil.Process, home: str) -> dict[int, psutil.Process]:
    """The demo's process tree and the processes started for its home (PostgreSQL, daemonised)."""
    roots = [demo]
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.pid != demo.pid and any(home in part for part in cmdline):
            roots.append(proc)
    seen: dict[int, psutil.Process] = {}
    for root in roots:
        try:
            for proc in [root, *root.children(recursive=True)]:
                seen[proc.pid] = proc
        except psutil.NoSuchProcess:
            continue
    return seen


def _tree_rss(demo: psutil.Process, home: str) -> float:
    """MiB resident in every process of the run."""
    seen = _run_processes(demo, home)
    total = 0
    for proc in seen.values():
        with contextlib.suppress(psutil.NoSuchProcess):
            total += proc.memory_info().rss
    return total / 2**20


def run_demo(scale: float, home: Path, seed: int, timeout: float, vendor_tier: str, resume: bool = False) -> Run:
    if not resume:
        shutil.rmtree(home, ignore_errors=True)  # every scale measured from nothing: no export nor state kept
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "PCDATA__", "DESTINATION__"))}
    # unbuffered: a stage starts when its line is printed, not when a pipe's buffer fills
    env.update(PCDATA__HOME=str(home), COLUMNS="200", PYTHONUNBUFFERED="1")
    log = (home / "demo-stages.log").open("a" if resume else "w")
    command = [sys.executable, "-m", "sandbox", "demo", "--seed", str(seed), "--scale", str(scale)]
    command += [] if resume else ["--fresh"]
    command += ["--vendor-tier", vendor_tier]
    started = time.monotonic()
    proc = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    run = Run(scale)
    current: list[Stage] = [Stage("start")]
    stage_started = [started]
    done = threading.Event()

    def sample() -> None:
        demo = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                rss = _tree_rss(demo, str(home))
            except psutil.NoSuchProcess:
                break
            current[0].peak_mib = max(current[0].peak_mib, rss)
            run.peak_mib = max(run.peak_mib, rss)
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    timed_out = threading.Event()

    def kill() -> None:  # the whole run: a killed demo cannot stop its sandbox and PostgreSQL itself
        timed_out.set()
        for each in _run_processes(psutil.Process(proc.pid), str(home)).values():
            with contextlib.suppress(psutil.NoSuchProcess):
                each.kill()

    killer = threading.Timer(timeout, kill)
    killer.start()
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        log.write(line)
        tail = [*tail[-20:], line.rstrip()]
        m = STAGE_LINE.search(line)
        if m:
            log.flush()  # a stage's start shows in the log as it happens
            now = time.monotonic()
            current[0].seconds = now - stage_started[0]
            run.stages.append(current[0])
            current[0], stage_started[0] = Stage(f"{m.group(1)} {m.group(2)}"), now
    code = proc.wait()
    killer.cancel()
    done.set()
    sampler.join()
    current[0].seconds = time.monotonic() - stage_started[0]
    run.stages.append(current[0])
    run.stages = [s for s in run.stages if s.name != "start" or s.seconds > 1]
    run.seconds = time.monotonic() - started
    log.close()
    if code != 0:
        if timed_out.is_set():
            how = f"killed after {timeout:.0f} s (--timeout)"
        elif code < 0:
            how = f"killed by signal {-code}"
        else:
            how = f"exit {code}: " + _last_error(tail)
        run.failure = f"in '{current[0].name}', {how}"
    return run


def _last_error(tail: list[str]) -> str:
    errors = [line for line in tail if "error" in line.lower()]
    return (errors or tail or ["no output"])[-1][:160]


def _exponent(a: float, b: float, scale_a: float, scale_b: float) -> str:
    if a <= 0 or b <= 0:
        return ""
    return f"{math.log(b / a) / math.log(scale_b / scale_a):.2f}"


def report(runs: list[Run]) -> None:
    names = list(dict.fromkeys(s.name for r in runs for s in r.stages))
    header = ["stage"] + [f"scale {r.scale:g}: s / MiB" for r in runs]
    header += [f"exp {a.scale:g}->{b.scale:g}" for a, b in itertools.pairwise(runs)]
    rows = []
    for name in [*names, "whole demo"]:
        cells, seconds = [name], []
        for r in runs:
            if name == "whole demo":
                s = Stage(name, r.seconds, r.peak_mib)
            else:
                s = next((x for x in r.stages if x.name == name), None)
            seconds.append(s.seconds if s else 0.0)
            cells.append(f"{s.seconds:8.1f} / {s.peak_mib:6.0f}" if s else "not reached")
        for i in range(len(runs) - 1):
            a, b = runs[i], runs[i + 1]
            cells.append("" if a.failure or b.failure else _exponent(seconds[i], seconds[i + 1], a.scale, b.scale))
        rows.append(cells)
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)))
    for r in runs:
        if r.failure:
            print(f"scale {r.scale:g} failed {r.failure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 20.0, 200.0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--root", type=Path, default=Path("/tmp/pcdata-demo-stages"), help="a home per scale in it")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per scale before the run is killed")
    parser.add_argument(
        "--vendor-tier",
        choices=VENDOR_TIERS,
        default="high-volume",
        help="the vendors' plans, the same at every scale (default high-volume: on the standard ones a first load "
        "at scale 200 waits about 5 hours on Brevo's 300 event calls an hour)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="go on with each scale's home as a killed run left it (its sandbox, if still up, its loads): the "
        "stages it had finished are quick reruns, not first runs",
    )
    args = parser.parse_args()
    runs = []
    for scale in sorted(args.scales):
        print(f"scale {scale:g}: demo in {args.root / f'scale-{scale:g}'} ...", flush=True)
        home = args.root / f"scale-{scale:g}"
        run = run_demo(scale, home, args.seed, args.timeout, args.vendor_tier, args.resume)
        failed = f", FAILED {run.failure}" if run.failure else ""
        print(f"  {run.seconds:.0f} s, peak {run.peak_mib:.0f} MiB{failed}")
        runs.append(run)
    report(runs)
    sys.exit(1 if any(r.failure for r in runs) else 0)


if __name__ == "__main__":
    main()
