"""Start a service under a real `bentoml serve` for a test, the way `pcdata serve` starts it."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"


@contextmanager
def bentoml_serve(service: str, log: Path, env: dict[str, str] | None = None, timeout: float = 120) -> Iterator[str]:
    """Yields the base URL of `service` served on a free port once `/readyz` answers 200; stops it after.

    Its output goes to `log`, never to an undrained PIPE (the access log would fill it and block the
    server). While waiting, a process that died fails the test with the log's tail; so does the deadline.
    """
    from pcdata.steps import serve_command
    from warehouse import Settings

    port = free_port()
    command, environment = serve_command(Settings.load(), service, port)
    environment.update(env or {})
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=environment, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if requests.get(f"{url}/readyz", timeout=5).status_code == 200:
                        break
                except requests.RequestException:  # not listening yet, or still starting
                    pass
                assert proc.poll() is None, f"bentoml serve {service} exited ({proc.returncode}):\n{_tail(log)}"
                assert time.monotonic() < deadline, (
                    f"bentoml serve {service} not ready in {timeout:.0f}s:\n{_tail(log)}"
                )
                time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
