"""The sandbox HTTP server: every vendor mounted under `/<vendor>` on 127.0.0.1.

Control endpoints (not part of any vendor contract) live under `/_sandbox/`:
- `GET  /_sandbox/health`                 -> {"status": "ok", "vendors": [...]}
- `POST /_sandbox/faults/<vendor>`        -> set fault knobs (see framework.Faults)
- `POST /_sandbox/rate_limit/<vendor>`    -> {"requests": n, "per_seconds": s}
- `GET  /_sandbox/stats/<vendor>`         -> request counters and the calls served
- `POST /_sandbox/reset`                  -> clear faults, limits and counters

`start()`/`stop()` run it as a separate process, found again through a small
JSON state file (pid, port, base URL), which is how the CLI and the pytest
fixture both use it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sandbox.framework import VENDOR_TIERS, DropConnection, Request, Response, VendorSandbox
from sandbox.processes import alive, terminate, wait_ready
from sandbox.vendors import client_config, sandbox_api_key
from sandbox.vendors import vendors as vendor_classes
from sandbox.world import build_world, cache
from sandbox.world.table import spilled_to


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], vendors: dict[str, VendorSandbox]):
        self.vendors = vendors
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: without this, ~40 ms per response
    server: SandboxServer

    def log_message(self, format, *args):
        pass

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = url.path.split("/", 2)  # ['', vendor, rest]
        prefix = parts[1] if len(parts) > 1 else ""
        rest = "/" + (parts[2] if len(parts) > 2 else "")
        try:
            if prefix == "_sandbox":
                response = self._control(self.command, rest, body)
            elif prefix in self.server.vendors:
                req = Request(
                    self.command,
                    rest,
                    parse_qs(url.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                response = self.server.vendors[prefix].handle(req)
            else:
                response = Response.json({"error": f"no sandbox mounted at /{prefix}"}, 404)
        except DropConnection:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        except Exception as exc:  # a sandbox bug must show as a 500, not a hung client
            response = Response.json({"error": f"sandbox error: {exc!r}"}, 500)
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

    def _control(self, method: str, path: str, body: bytes) -> Response:
        vendors = self.server.vendors
        _, action, *rest = path.split("/")
        vendor = vendors.get(rest[0]) if rest else None
        if action == "health":
            return Response.json({"status": "ok", "vendors": sorted(vendors)})
        if action == "reset":
            for v in vendors.values():
                v.reset()
            return Response.json({"status": "reset"})
        if vendor is None:
            return Response.json({"error": f"unknown vendor in {path!r}"}, 404)
        if action == "faults" and method == "POST":
            vendor.faults.update(json.loads(body or b"{}"))
            return Response.json(vendor.faults.as_dict())
        if action == "rate_limit" and method == "POST":
            knobs = json.loads(body)
            vendor.set_rate_limit(int(knobs["requests"]), float(knobs["per_seconds"]))
            return Response.json(knobs)
        if action == "stats":
            return Response.json({**vendor.stats, "calls": vendor.calls})
        return Response.json({"error": f"unknown control {method} {path}"}, 404)


def make_server(
    seed: int, scale: float, files_dir: Path, host: str = "127.0.0.1", port: int = 0, vendor_tier: str = "standard"
) -> SandboxServer:
    files_dir.mkdir(parents=True, exist_ok=True)
    kept = cache.world_file(files_dir, seed, scale)
    world = cache.load(kept)
    if world is None:
        _build_in_child(seed, scale, files_dir, kept)
        world = cache.load(kept)
        if world is None:
            raise RuntimeError(f"the world just written to {kept} cannot be read back: is the disk full?")
    vendors = {name: cls(world, sandbox_api_key(name), seed, files_dir) for name, cls in vendor_classes().items()}
    if vendor_tier == "high-volume":
        for vendor in vendors.values():
            vendor.use_high_volume_tier()
    return SandboxServer((host, port), vendors)


def _build_in_child(seed: int, scale: float, files_dir: Path, kept: Path) -> None:
    """`_build_and_keep` in a process of its own. A build's Python objects are freed when it ends, but
    the heap keeps much of their memory as fragments (a server that built its world at scale 200 held
    0.60 GiB of its own, one that read it back 0.47 GiB); a child gives all of it back when it exits.
    Spawned, not forked: the caller may have threads (a test worker), and a fork copies their locks."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        try:
            pool.submit(_build_and_keep, seed, scale, files_dir, kept).result()
        except BrokenProcessPool as exc:  # killed, not failed: an exception would be raised here as it is
            raise RuntimeError(
                f"building the world (seed {seed}, scale {scale}) died without an error: out of memory? "
                "See the kernel log (dmesg), or start a smaller scale"
            ) from exc


def _build_and_keep(seed: int, scale: float, files_dir: Path, kept: Path) -> None:
    """Build the world and every vendor's slice of it (each vendor made once on it, which also writes the
    file-drop vendors' exports) and keep it at `kept`, before any request. Built `spilled_to` the files
    folder: the tables' arrays go to files as they are made (scale 200: an own-memory peak of about 1
    GiB, against about 3.5 GiB with the world in memory). The server then reads it back as a restart
    does."""
    with spilled_to(files_dir):
        world = build_world(seed, scale)
        for name, cls in vendor_classes().items():
            cls(world, sandbox_api_key(name), seed, files_dir)
    cache.save(world, kept)


# --- running it as a process ---------------------------------------------------------
@dataclass
class SandboxHandle:
    pid: int
    port: int
    seed: int
    scale: float
    files_dir: str  # where file-drop vendors write their exports: a local stand-in for a bucket
    vendor_tier: str = "standard"  # the vendors' plans it stands for (framework.VENDOR_TIERS)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def vendor_url(self, vendor: str) -> str:
        return f"{self.base_url}/{vendor}"

    def client_config(self) -> dict[str, str]:
        """dlt configuration (env var form) pointing every vendor source at this sandbox."""
        return client_config(self.base_url, Path(self.files_dir), self.vendor_tier)


def files_folder(state_file: Path) -> Path:
    """The sandbox's own files beside its state file: vendors' file drops and the world it keeps (world.cache)."""
    return state_file.parent / "sandbox_files"


def read_state(state_file: Path) -> SandboxHandle | None:
    if not state_file.exists():
        return None
    handle = SandboxHandle(**json.loads(state_file.read_text()))
    if not alive(handle.pid):
        state_file.unlink(missing_ok=True)  # stale: the process is gone
        return None
    return handle


def start(
    state_file: Path, seed: int, scale: float, timeout: float | None = None, vendor_tier: str = "standard"
) -> SandboxHandle:
    """Start the server in its own process (or return the one already running).

    It listens once the world and every vendor's slice are built, which grows with the scale (about
    10 s per scale unit on 2 busy cores, the Firebase export's first write included): the default
    wait allows 20 s per unit beyond a minute. A restart on the same world reads the world its first
    start kept (`world.cache`), in about a twentieth of a second per scale unit.
    """
    timeout = 60 + 20 * scale if timeout is None else timeout
    running = read_state(state_file)
    if running is not None:
        if (running.seed, running.scale, running.vendor_tier) == (seed, scale, vendor_tier):
            return running
        stop(state_file)
    state_file.parent.mkdir(parents=True, exist_ok=True)
    log_path = state_file.parent / "sandbox.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sandbox.server",
                "--seed",
                str(seed),
                "--scale",
                str(scale),
                "--state-file",
                str(state_file),
                "--vendor-tier",
                vendor_tier,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=Path(__file__).resolve().parents[1],
        )

    def started() -> SandboxHandle | None:  # the server writes its state file once it listens
        handle = read_state(state_file)
        return handle if handle is not None and handle.pid == proc.pid else None

    return wait_ready(proc, started, "sandbox server", log_path, timeout)


def stop(state_file: Path) -> bool:
    handle = read_state(state_file)
    if handle is None:
        return False
    terminate(handle.pid, grace=5.0)
    state_file.unlink(missing_ok=True)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve every vendor sandbox on 127.0.0.1.")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state-file", type=Path, required=True)
    parser.add_argument("--vendor-tier", choices=VENDOR_TIERS, default="standard")
    args = parser.parse_args()
    files_dir = files_folder(args.state_file)
    server = make_server(args.seed, args.scale, files_dir, port=args.port, vendor_tier=args.vendor_tier)
    signal.signal(signal.SIGTERM, lambda *_: (args.state_file.unlink(missing_ok=True), os._exit(0)))
    state = {
        "pid": os.getpid(),
        "port": server.server_address[1],
        "seed": args.seed,
        "scale": args.scale,
        "files_dir": str(files_dir),
        "vendor_tier": args.vendor_tier,
    }
    tmp = args.state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(args.state_file)  # atomic: readers never see half a file
    server.serve_forever()


if __name__ == "__main__":
    main()
