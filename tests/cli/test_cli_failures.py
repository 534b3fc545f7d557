"""Every CLI failure a new user meets: exit 1 with one line saying what happened and what to run.

In process (click's CliRunner) on an empty home: none of these starts a server or loads data.
"""

from __future__ import annotations

import json
import os
import socket

import pytest
from click.testing import CliRunner

from pcdata.cli import main as pcdata
from sandbox import demo_home
from sandbox.cli import main as sandbox_cli
from warehouse import Settings


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PCDATA__HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def one_line_failure(result, *expected: str) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("error: "), result.output  # the last line, whole: nothing wrapped after it
    assert sum(line.startswith("error: ") for line in lines) == 1
    for text in expected:
        assert text in lines[-1]
    assert "Traceback" not in result.output
    return lines[-1]


def test_transform_of_an_unknown_model_fails(home):
    result = CliRunner().invoke(pcdata, ["transform", "--select", "nosuchmodel"])
    one_line_failure(result, "'nosuchmodel' selects no model", "pcdata transform --select")


def test_ingest_without_credentials_names_the_settings_and_the_sandbox(home):
    result = CliRunner().invoke(pcdata, ["ingest", "zendesk"])
    line = one_line_failure(
        result,
        "zendesk is not configured: set SOURCES__ZENDESK__EMAIL, SOURCES__ZENDESK__API_TOKEN ",
        "python -m sandbox",
    )
    assert len(line) < 400


def test_serve_before_training_says_to_train(home):
    result = CliRunner().invoke(pcdata, ["serve", "compliance", "--port", str(_free_port())])
    one_line_failure(result, "no trained compliance model", "pcdata train compliance")


def test_serve_on_a_busy_port_names_a_free_one(home):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(pcdata, ["serve", "compliance", "--port", str(port)])
    one_line_failure(result, f"port {port} is already in use", "pcdata serve compliance --port")


def test_sandbox_start_while_one_runs_is_refused(home):
    state = Settings.load().sandbox_state
    state.parent.mkdir(parents=True)
    # this test process stands in for the running server: alive, so the state file is not stale
    state.write_text(json.dumps({"pid": os.getpid(), "port": 1, "seed": 1, "scale": 0.1, "files_dir": "x"}))
    result = CliRunner().invoke(sandbox_cli, ["start", "--scale", "0.2"])
    one_line_failure(result, "a sandbox already runs at http://127.0.0.1:1", "python -m sandbox stop")
    assert state.exists()


def test_a_second_demo_on_the_same_home_is_refused(home):
    with demo_home.demo_lock(Settings.load()):  # the first demo, still running
        result = CliRunner().invoke(sandbox_cli, ["demo", "--scale", "0.1"])
    one_line_failure(result, "a demo is already running on", f"pid {os.getpid()}", "PCDATA__HOME=")


def test_a_demo_of_another_world_is_refused_then_fresh_starts_clean(home):
    settings = Settings.load()
    demo_home.check_world(settings, 42, 1.0)  # what a scale-1.0 demo records
    settings.warehouse.write_bytes(b"a scale-1.0 warehouse")
    (settings.pipelines_dir / "pcdata_app").mkdir(parents=True)
    kept_world = settings.home / "sandbox_files" / "world-seed42-scale1-x.world"  # the old world a sandbox kept
    kept_world.parent.mkdir()
    kept_world.write_bytes(b"")

    result = CliRunner().invoke(sandbox_cli, ["demo", "--scale", "0.2"])
    one_line_failure(result, "seed 42, scale 1.0", "--seed 42 --scale 0.2 --fresh", "FRESH=1")
    assert settings.warehouse.exists()
    for command in (["start", "--scale", "0.2"], ["appdb", "load", "--scale", "0.2"]):  # nor load it piecemeal
        one_line_failure(CliRunner().invoke(sandbox_cli, command), "seed 42, scale 1.0", "--fresh")

    demo_home.start_clean(settings)  # what --fresh does before the demo
    assert not settings.warehouse.exists() and not settings.pipelines_dir.exists() and not kept_world.exists()
    demo_home.check_world(settings, 42, 0.2)  # now accepted, and recorded
    settings.warehouse.write_bytes(b"a scale-0.2 warehouse")
    with pytest.raises(demo_home.DemoRefused, match=r"seed 42, scale 0\.2"):
        demo_home.check_world(settings, 42, 1.0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
