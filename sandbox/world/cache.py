"""The built world kept on disk, so that a sandbox restarted on the same world starts in seconds.

Building the world and every vendor's slice of it is most of a sandbox's start (at scale 200, 9 minutes
with the Firebase export already written); a restart reads it back and makes its vendors in 10 s
there. Held as columns (`table.Table`), the file is mostly numpy arrays and byte buffers, so reading
it is close to reading its 2.1 GB. The file is written once every vendor has built its slice and
before the server answers anything (so it holds no request's change), under a name made of the seed,
the scale and a hash of the sandbox's own code: a change to the generator or to a slice builder never
serves a stale world. It is replaced atomically, so a start killed half-way leaves either the old file
or none, and only the newest world is kept.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import replace
from pathlib import Path

from sandbox.world.generator import World

PACKAGE = Path(__file__).resolve().parents[1]  # sandbox/


def _code() -> str:
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def world_file(folder: Path, seed: int, scale: float) -> Path:
    return folder / f"world-seed{seed}-scale{scale:g}-{_code()}.pickle"


def load(path: Path, slices: bool = True) -> World | None:
    """The world kept at `path`, or None where there is none (or one that cannot be read: it is rebuilt).

    `slices=False`: the core world only (the app database's loader), which is read first and holds
    about a third of the whole (scale 20: a peak of 114 MiB in 0.1 s, against 328 MiB in 0.5 s)."""
    try:
        with path.open("rb") as f:
            unpickler = pickle.Unpickler(f)
            world = unpickler.load()
            kept = unpickler.load() if slices else {}  # the same unpickler: slices share the core's objects
    except FileNotFoundError:
        return None
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        path.unlink(missing_ok=True)
        return None
    if not isinstance(world, World) or not isinstance(kept, dict):
        return None
    world._slices.update(kept)
    return world


def save(world: World, path: Path) -> None:
    for stale in path.parent.glob("world-*"):  # another seed, scale or version of the code, a cut write
        stale.unlink(missing_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as f:
        pickler = pickle.Pickler(f, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dump(replace(world, _slices={}))  # the core world first, then the vendors' slices
        pickler.dump(world._slices)
    partial.replace(path)
