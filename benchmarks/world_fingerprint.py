"""Fingerprint of the seeded world: proof that a change of the world's representation changed nothing in it.

Hashes, for one seed and scale: every core table of the world (users, deposits, offerers, venues,
offers, stocks, bookings, events), the app database snapshot at the world's end and at a mid instant,
every vendor slice (after every vendor sandbox is built, as the server builds them), the Firebase
export files, and the output of every `sandbox/truth/*` function. Values are reduced to plain
Python first (dataclasses, mappings, sequences, numpy), so a row held as a dict or as a column gives
the same hash when its content is the same.

    python -m benchmarks.world_fingerprint --seed 11 --scale 0.3 --save /tmp/fp-before.json
    python -m benchmarks.world_fingerprint --seed 11 --scale 0.3 --compare /tmp/fp-before.json
    python -m benchmarks.world_fingerprint --seed 11 --scale 0.3 --through-cache --compare /tmp/fp-before.json
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import inspect
import json
import sys
import tempfile
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path

import numpy as np


def plain(value):
    """A canonical, representation-free form of `value` (sorted mappings, lists for sequences)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if not f.name.startswith("_")}
    if isinstance(value, Mapping):
        return sorted(([repr(plain(k)), plain(v)] for k, v in value.items()), key=lambda kv: kv[0])
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=repr)
    if hasattr(value, "__iter__"):
        return [plain(v) for v in value]
    if hasattr(value, "__slots__") or hasattr(value, "__dict__"):  # a small record (Commune...)
        names = getattr(value, "__slots__", None) or vars(value)
        return {n: plain(getattr(value, n)) for n in names if not n.startswith("_")}
    return repr(value)


def digest(value) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(plain(value), separators=(",", ":"), default=repr).encode())
    return h.hexdigest()[:16]


def fingerprint(seed: int, scale: float, through_cache: bool = False) -> dict[str, str]:
    from sandbox.vendors import sandbox_api_key
    from sandbox.vendors import vendors as vendor_classes
    from sandbox.world import build_world, cache
    from sandbox.world.table import spilled_to

    if not through_cache:
        world = build_world(seed, scale)
    else:  # as a restarted sandbox has it: built spilled with every slice (as a first start), kept, read back
        with tempfile.TemporaryDirectory() as files, spilled_to(Path(files)):
            world = build_world(seed, scale)
            for name, cls in vendor_classes().items():
                cls(world, sandbox_api_key(name), seed, Path(files))
            kept = cache.world_file(Path(files), seed, scale)
            cache.save(world, kept)
            world = cache.load(kept)
    out: dict[str, str] = {}
    for name in ("users", "deposits", "offerers", "venues", "offers", "stocks", "bookings", "events"):
        out[f"world.{name}"] = digest(getattr(world, name))
    mid = datetime(2025, 6, 15, 12)
    for label, as_of in (("end", None), ("mid", mid)):
        for table, rows in world.snapshot(as_of).items():
            out[f"snapshot.{label}.{table}"] = digest(rows)
    with tempfile.TemporaryDirectory() as files:
        for name, cls in vendor_classes().items():
            cls(world, sandbox_api_key(name), seed, Path(files))
        for path in sorted(Path(files).rglob("*")):
            if path.is_file() and path.name != ".world":  # the export's cache stamp names the code's hash
                out[f"file.{path.relative_to(files)}"] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    for name, value in sorted(world._slices.items()):
        if name != "firebase_export":  # the export's cache key (a digest of the events), not the world
            out[f"slice.{name}"] = digest(value)
    out.update(truth(world))
    return out


def truth(world) -> dict[str, str]:
    import importlib
    import pkgutil

    import sandbox.truth

    out = {}
    for info in pkgutil.iter_modules(sandbox.truth.__path__):
        module = importlib.import_module(f"sandbox.truth.{info.name}")
        for name, fn in sorted(vars(module).items()):
            if name.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != module.__name__:
                continue
            params = list(inspect.signature(fn).parameters.values())
            if not params or params[0].name != "world":
                continue
            required = [p for p in params[1:] if p.default is inspect.Parameter.empty]
            if name == "adage_kpis":
                args: tuple = ({2023, 2024, 2025, 2026},)
            elif name == "backlog_on":
                args = (date(2025, 6, 15),)
            elif required:
                continue
            else:
                args = ()
            out[f"truth.{info.name}.{name}"] = digest(fn(world, *args))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--scale", type=float, default=0.3)
    parser.add_argument("--save", type=Path, help="write the fingerprint there")
    parser.add_argument("--compare", type=Path, help="compare with a saved fingerprint; exit 1 on any difference")
    parser.add_argument(
        "--through-cache",
        action="store_true",
        help="the world as a restart reads it back: built spilled, kept, read (sandbox/world/cache.py)",
    )
    args = parser.parse_args()
    fp = fingerprint(args.seed, args.scale, args.through_cache)
    if args.save:
        args.save.write_text(json.dumps(fp, indent=1, sort_keys=True))
    print(f"seed {args.seed} scale {args.scale}: {len(fp)} items hashed")
    if args.compare:
        before = json.loads(args.compare.read_text())
        diff = sorted(k for k in before.keys() | fp.keys() if before.get(k) != fp.get(k))
        for key in diff:
            print(f"  DIFFERS {key}: {before.get(key)} -> {fp.get(key)}")
        print("identical" if not diff else f"{len(diff)} items differ")
        sys.exit(1 if diff else 0)


if __name__ == "__main__":
    main()
