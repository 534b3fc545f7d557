"""The built world kept on disk, so that a sandbox restarted on the same world starts in seconds.

Building the world and every vendor's slice of it is most of a sandbox's start (at scale 200, 9 minutes
with the Firebase export already written); a restart reads it back and makes its vendors in seconds.
Held as columns (`table.Table`), the world is mostly numpy arrays. The file keeps them apart from the
rest: a pickle (protocol 5) whose arrays are out-of-band buffers laid out in the file, and a read maps
the file instead of reading it, the arrays becoming views of that map. So a restarted sandbox holds
only the pickle's other objects (the few distinct values of coded columns, the small slices' dicts) in
its own memory: 0.47 GiB at scale 200, against 2.7 GiB when it read the whole 2.1 GB file. The columns stay
file pages that the kernel reads on demand and may drop, as it does any cache. The map is private
(copy on write): a column written in place changes the process's copy, never the file.

The file is written once every vendor has built its slice and before the server answers anything (so
it holds no request's change), under a name made of the seed, the scale and a hash of the sandbox's
own code: a change to the generator or to a slice builder never serves a stale world. It is replaced
atomically, so a start killed half-way leaves either the old file or none, and only the newest world
is kept. Layout: a header (magic; where the pickles start; where the buffer table starts, its length),
the buffers (each at a 64-byte boundary), the core world's pickle then the slices', and the table
(offset and length of each buffer, in the order the pickles ask for them).
"""

from __future__ import annotations

import hashlib
import mmap
import pickle
import shutil
import struct
from dataclasses import replace
from pathlib import Path

import numpy as np

from sandbox.world.generator import World

PACKAGE = Path(__file__).resolve().parents[1]  # sandbox/
_MAGIC = b"PCWORLD2"
_HEADER = struct.Struct("<8s3q")  # magic; offset of the pickles; offset and length of the buffer table
_ALIGN = 64  # a buffer's start: aligned for any numpy dtype


def _code() -> str:
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def world_file(folder: Path, seed: int, scale: float) -> Path:
    return folder / f"world-seed{seed}-scale{scale:g}-{_code()}.world"


def load(path: Path, slices: bool = True) -> World | None:
    """The world kept at `path`, its arrays views of the mapped file; None where there is none (or one
    that cannot be read: it is removed, and the caller rebuilds it).

    `slices=False`: the core world only (the app database's loader), about a third of the whole."""
    try:
        with path.open("rb") as f:
            magic, pickles_at, table_at, table_len = _HEADER.unpack(f.read(_HEADER.size))
            if magic != _MAGIC:
                raise pickle.UnpicklingError(f"{path} is not a kept world")
            view = memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY))
            if len(view) != table_at + table_len:
                raise pickle.UnpicklingError(f"{path} is {len(view)} bytes, not the {table_at + table_len} it records")
            spans = np.frombuffer(view[table_at : table_at + table_len], dtype=np.int64).reshape(-1, 2).tolist()
            buffers = iter([view[at : at + n] for at, n in spans])
            f.seek(pickles_at)
            unpickler = pickle.Unpickler(f, buffers=buffers)
            world = unpickler.load()
            kept = unpickler.load() if slices else {}  # the same unpickler: slices share the core's objects
    except FileNotFoundError:
        return None
    except (OSError, ValueError, struct.error, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        path.unlink(missing_ok=True)
        return None
    if not isinstance(world, World) or not isinstance(kept, dict):
        return None
    world._slices.update(kept)
    return world


def save(world: World, path: Path) -> None:
    for stale in path.parent.glob("world-*"):  # another seed, scale or version of the code, a cut write
        stale.unlink(missing_ok=True)
    partial, stream = path.with_suffix(".partial"), path.with_suffix(".stream")
    spans: list[tuple[int, int]] = []
    with partial.open("w+b") as f, stream.open("w+b") as s:
        f.write(b"\0" * _HEADER.size)

        def out_of_band(buffer: pickle.PickleBuffer) -> bool:
            raw = buffer.raw()
            at = f.tell() + -f.tell() % _ALIGN  # the next 64-byte boundary
            f.seek(at)
            f.write(raw)
            spans.append((at, raw.nbytes))
            return False  # False: the pickle records it as a buffer of the table, not its bytes

        pickler = pickle.Pickler(s, protocol=5, buffer_callback=out_of_band)
        pickler.dump(replace(world, _slices={}))  # the core world first, then the vendors' slices
        pickler.dump(world._slices)
        pickles_at = f.seek(0, 2)
        s.seek(0)
        shutil.copyfileobj(s, f)
        table = np.array(spans, dtype=np.int64).reshape(-1, 2).tobytes()
        table_at = f.tell()
        f.write(table)
        f.seek(0)
        f.write(_HEADER.pack(_MAGIC, pickles_at, table_at, len(table)))
    stream.unlink()
    partial.replace(path)
