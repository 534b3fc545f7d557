"""Background processes of the test and demo equipment (vendor sandbox, BigQuery emulator): wait, probe, stop.

Each is started detached (its own session, its log in a file) and found again by PID through a state file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def alive(pid: int) -> bool:
    try:  # reap it first when it is this process's child: a zombie still answers signal 0
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_ready(proc: subprocess.Popen, ready: Callable[[], T | None], what: str, log: Path, timeout: float) -> T:
    """Poll `ready()` until it returns something; fail at once if `proc` exits, kill it after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the {what} exited with code {proc.returncode}; see {log}")
        answer = ready()
        if answer is not None:
            return answer
        time.sleep(0.1)
    proc.kill()
    raise TimeoutError(f"the {what} did not start within {timeout:.0f}s; see {log}")


def terminate(pid: int, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it is still there after `grace` seconds."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
