"""The Runner after a `kill -9` during the load phase: the waiting package is finished and reported,
then the run loads its own data (dlt's `run` alone would load the package and stop there)."""

import signal
import subprocess
import sys
from pathlib import Path

from ingestion.pipeline import Runner
from sandbox.vendors.tiktok.world import tiktok as tk_slice

# the child process dies like `kill -9` once its load jobs ran, before the package is marked loaded
KILLED_DURING_LOAD = """
import os, signal
from dlt.load.load import Load
from ingestion.pipeline import Runner
from warehouse import Settings

Load.complete_package = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
Runner(Settings.load()).run("tiktok")
"""


def test_a_run_after_a_kill_during_load_finishes_the_waiting_package_and_reports_it(
    world, settings, duck, vendor, monkeypatch, caplog
):
    monkeypatch.setenv("SOURCES__TIKTOK__START_DATE", "2026-10-01")
    monkeypatch.setenv("SOURCES__TIKTOK__END_DATE", "2026-10-10")
    child = subprocess.run([sys.executable, "-c", KILLED_DURING_LOAD], cwd=Path(__file__).parents[2], timeout=300)
    assert child.returncode == -signal.SIGKILL
    runner = Runner(settings)
    assert runner.pipeline("tiktok").has_pending_data

    monkeypatch.setenv("SOURCES__TIKTOK__END_DATE", "2026-10-31")  # this run has more to load than the package
    with caplog.at_level("WARNING", logger="pcdata.ingestion"):
        result = runner.run("tiktok")
    assert result.finished_pending["account_daily_activity"] == 10  # the killed run's 10 days
    assert "left by an interrupted run" in caplog.text
    assert result.rows_loaded["account_daily_activity"] > 0  # and this run's own data, not nothing
    assert not runner.pipeline("tiktok").has_pending_data
    days = [d for d in tk_slice(world).days if d.isoformat() >= "2026-10-01" and d.isoformat() <= "2026-10-31"]
    assert duck("select count(*), count(distinct date) from raw_tiktok.account_daily_activity")[0] == (len(days),) * 2
