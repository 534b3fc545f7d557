"""The Runner after a `kill -9` during the load phase: the waiting package is finished and reported,
then the run loads its own data (dlt's `run` alone would load the package and stop there)."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingestion.pipeline import IngestionFailed, Runner
from sandbox.vendors.tiktok.world import tiktok as tk_slice

REPO = Path(__file__).parents[2]


def _child(patch: str, source: str, *args: str) -> list[str]:
    """The command of a child process that runs `source` after `patch` (Python lines) changed one of
    dlt's steps: to die there like `kill -9`, or to wait. `args` are the child's `sys.argv[1:]`."""
    script = "\n".join(
        [
            "import os, shutil, signal, sys, time",
            "from ingestion.pipeline import Runner",
            "from warehouse import Settings",
            patch,
            f"Runner(Settings.load()).run({source!r})",
        ]
    )
    return [sys.executable, "-c", script, *args]


def _killed(patch: str, source: str = "tiktok", *args: str) -> None:
    child = subprocess.run(_child(patch, source, *args), cwd=REPO, timeout=300)
    assert child.returncode == -signal.SIGKILL, "the child did not die where its patch kills it"


@pytest.fixture
def ten_tiktok_days(monkeypatch):
    """TikTok's runs cover 1 to 10 October 2026: ten rows of account_daily_activity."""
    monkeypatch.setenv("SOURCES__TIKTOK__START_DATE", "2026-10-01")
    monkeypatch.setenv("SOURCES__TIKTOK__END_DATE", "2026-10-10")


# the child process dies like `kill -9` once its load jobs ran, before the package is marked loaded
KILLED_DURING_LOAD = """
from dlt.load.load import Load

Load.complete_package = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_run_after_a_kill_during_load_finishes_the_waiting_package_and_reports_it(
    world, settings, duck, vendor, ten_tiktok_days, monkeypatch, caplog
):
    _killed(KILLED_DURING_LOAD)
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


# the child dies like `kill -9` inside normalize's commit, in the window dlt logs as "do not kill this
# process": the package is renamed to normalized/ but its extracted copy is not deleted yet
KILLED_DURING_NORMALIZE_COMMIT = """
from dlt.common.storages.load_storage import LoadStorage

commit = LoadStorage.commit_new_load_package
def commit_then_die(self, *args, **kwargs):
    commit(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
LoadStorage.commit_new_load_package = commit_then_die
"""


def test_a_run_after_a_kill_inside_normalize_commit_loads_the_committed_package(world, settings, duck, ten_tiktok_days):
    _killed(KILLED_DURING_NORMALIZE_COMMIT)
    runner = Runner(settings)
    pipeline = runner.pipeline("tiktok")
    both = set(pipeline.list_extracted_load_packages()) & set(pipeline.list_normalized_load_packages())
    assert both, "the child did not die inside the commit"

    result = runner.run("tiktok")  # dlt alone fails here: normalising again cannot rename onto the committed copy
    assert result.finished_pending["account_daily_activity"] == 10
    assert not runner.pipeline("tiktok").has_pending_data
    assert duck("select count(*) from raw_tiktok.account_daily_activity")[0] == (10,)


# the child dies like `kill -9` while normalize deletes the package of a run that found nothing new: the
# delete (shutil.rmtree) is cut short with one part of the package gone and the rest still in extracted/
KILLED_DELETING_AN_EMPTY_PACKAGE = """
from dlt.common.storages.load_package import PackageStorage

delete = PackageStorage.delete_package
def delete_part_then_die(self, load_id, *args, **kwargs):
    if self.storage.storage_path.endswith("extracted"):
        part = os.path.join(self.storage.storage_path, load_id, sys.argv[1])
        shutil.rmtree(part) if os.path.isdir(part) else os.remove(part)
        os.kill(os.getpid(), signal.SIGKILL)
    delete(self, load_id, *args, **kwargs)
PackageStorage.delete_package = delete_part_then_die
"""


@pytest.mark.parametrize("part", ["schema.json", "new_jobs"])  # the two orders rmtree was seen to leave
def test_a_run_after_a_kill_while_an_empty_package_was_deleted_finishes_the_delete(settings, duck, vendor, part):
    runner = Runner(settings)
    first = runner.run("appsflyer").rows_loaded
    loaded = {table: duck(f"select count(*) from raw_appsflyer.{table}")[0][0] for table in first}
    _killed(KILLED_DELETING_AN_EMPTY_PACKAGE, "appsflyer", part)
    pipeline = runner.pipeline("appsflyer")
    assert pipeline.list_extracted_load_packages(), "the child did not die inside the delete"
    assert not pipeline.list_normalized_load_packages()  # nothing new was found: the package had nothing to load

    result = runner.run("appsflyer")  # dlt alone fails here: normalising the rest reads the missing part
    assert result.finished_pending == {}
    assert not runner.pipeline("appsflyer").has_pending_data
    assert {table: duck(f"select count(*) from raw_appsflyer.{table}")[0][0] for table in first} == loaded


# the child dies like `kill -9` at the end of its extract, its package whole in its own folder under
# normalize/ but not yet moved to normalize/extracted
KILLED_BEFORE_THE_EXTRACT_COMMIT = """
from dlt.extract.storage import ExtractStorage

ExtractStorage.commit_new_load_package = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_run_after_a_kill_during_extract_removes_the_dead_extract_and_loads_once(
    world, settings, duck, vendor, ten_tiktok_days, caplog
):
    _killed(KILLED_BEFORE_THE_EXTRACT_COMMIT)
    runner = Runner(settings)
    normalize = Path(runner.pipeline("tiktok").working_dir) / "normalize"
    dead = [p for p in normalize.iterdir() if p.is_dir() and p.name != "extracted"]
    assert dead and list(dead[0].glob("*/new_jobs/*")), "the child did not die at the end of its extract"

    with caplog.at_level("WARNING", logger="pcdata.ingestion"):
        result = runner.run("tiktok")
    assert "the extract of a run that did not end" in caplog.text
    assert not any(p.exists() for p in dead)
    assert result.finished_pending == {} and result.rows_loaded["account_daily_activity"] == 10
    assert duck("select count(*), count(distinct date) from raw_tiktok.account_daily_activity")[0] == (10, 10)


# the child holds its run open in the middle of its extract until it is killed
HELD_IN_EXTRACT = """
import dlt

def extract_and_wait(self, *args, **kwargs):
    open(sys.argv[1], "w").close()
    time.sleep(300)
dlt.Pipeline.extract = extract_and_wait
"""


def test_a_second_run_of_a_source_while_one_runs_is_refused_until_that_one_ends(
    settings, duck, vendor, ten_tiktok_days, tmp_path
):
    started = tmp_path / "extracting"
    child = subprocess.Popen(_child(HELD_IN_EXTRACT, "tiktok", str(started)), cwd=REPO)
    try:
        deadline = time.monotonic() + 120
        while not started.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert started.exists(), "the first run never reached its extract"
        runner = Runner(settings)
        with pytest.raises(IngestionFailed, match="ingest tiktok refused: another run is loading it"):
            runner.run("tiktok")
        assert runner.run("appsflyer").rows_loaded  # another source is not held up
    finally:
        child.kill()  # as `kill -9`: the lock goes with the process
        child.wait()
    assert runner.run("tiktok").rows_loaded["account_daily_activity"] == 10
