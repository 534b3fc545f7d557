"""A local BigQuery (bqemulator, shimmed by `launcher.py`) as test and demo equipment.

The emulator lives in its own virtual environment, `.bqemu/` (`make bqemu`, from `requirements.txt`): it pins
sqlglot and duckdb versions the project's own environment cannot share. This module, run by the project's
python, starts it on free ports of 127.0.0.1, waits for `/healthz`, finds it again through a state file and
stops it by PID. `EmulatorHandle.config()` is the dlt configuration that points every stage at it: the
platform's 'token' credentials method with an explicit endpoint, as for any proxy.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from sandbox.processes import alive, terminate, wait_ready

REPO = Path(__file__).resolve().parents[2]
EMULATOR_VENV = REPO / ".bqemu"
LAUNCHER = Path(__file__).with_name("launcher.py")
PROJECT = "pcdata-emulator"
LOCATION = "US"  # the emulator's datasets and jobs live in one location; it checks the two agree
TOKEN = "emulator-token"  # the emulator accepts any bearer token


@dataclass
class EmulatorHandle:
    pid: int
    port: int
    grpc_port: int
    project: str = PROJECT

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"  # the scheme is required by google-cloud-bigquery

    def config(self) -> dict[str, str]:
        """dlt configuration (env var form) sending every stage to this emulator."""
        return {
            "PCDATA__DESTINATION": "bigquery",
            "DESTINATION__BIGQUERY__LOCATION": LOCATION,
            "DESTINATION__BIGQUERY__CREDENTIALS_METHOD": "token",
            "DESTINATION__BIGQUERY__API_ENDPOINT": self.endpoint,
            "DESTINATION__BIGQUERY__CREDENTIALS__PROJECT_ID": self.project,
            "DESTINATION__BIGQUERY__CREDENTIALS__TOKEN": TOKEN,
        }

    def client(self):
        """A google-cloud-bigquery client on the emulator (tests read it directly)."""
        from google.api_core.client_options import ClientOptions
        from google.cloud import bigquery
        from google.oauth2.credentials import Credentials

        return bigquery.Client(
            project=self.project,
            credentials=Credentials(token=TOKEN),
            location=LOCATION,
            client_options=ClientOptions(api_endpoint=self.endpoint),
        )


def python() -> Path:
    path = EMULATOR_VENV / "bin" / "python"
    if not path.exists():
        raise RuntimeError(f"no BigQuery emulator environment at {EMULATOR_VENV}: run `make bqemu`")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return json.loads(response.read()).get("status") == "ok"
    except (OSError, ValueError):
        return False


def read_state(state_file: Path) -> EmulatorHandle | None:
    if not state_file.exists():
        return None
    handle = EmulatorHandle(**json.loads(state_file.read_text()))
    if not alive(handle.pid):
        state_file.unlink(missing_ok=True)
        return None
    return handle


def start(state_file: Path, timeout: float = 90) -> EmulatorHandle:
    """Start the emulator in its own process (or return the one already running), in memory, on 127.0.0.1."""
    running = read_state(state_file)
    if running is not None:
        return running
    state_file.parent.mkdir(parents=True, exist_ok=True)
    port, grpc_port = _free_port(), _free_port()
    log_path = state_file.with_suffix(".log")
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [
                str(python()),
                str(LAUNCHER),
                "start",
                "--rest-host",
                "127.0.0.1",
                "--rest-port",
                str(port),
                "--grpc-host",
                "127.0.0.1",
                "--grpc-port",
                str(grpc_port),
                "--project",
                PROJECT,
                "--ephemeral",
                "--log-level",
                "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "BQEMU_ENABLE_FORMAT_EXTENSIONS": "false"},
        )
    handle = EmulatorHandle(proc.pid, port, grpc_port)
    wait_ready(proc, lambda: True if _healthy(port) else None, "BigQuery emulator", log_path, timeout)
    state_file.write_text(json.dumps(asdict(handle)))
    return handle


def stop(state_file: Path) -> bool:
    handle = read_state(state_file)
    if handle is None:
        return False
    terminate(handle.pid)
    state_file.unlink(missing_ok=True)
    return True
