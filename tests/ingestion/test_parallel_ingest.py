"""Sources in parallel: a slow source does not hold up the others, a dependant waits for its need,
a failure lets the rest load and is named, one worker keeps the load order.

The scheduling tests run stand-in sources (sleeps) through `ingestion.parallel`; the last tests run
real sources against the sandbox and the CLI.
"""

from __future__ import annotations

import threading
import time

import pytest
from click.testing import CliRunner

from ingestion.parallel import FAILED, LOADED, SKIPPED, Schedule, run_sources
from ingestion.registry import SOURCES, in_load_order
from pcdata import steps
from pcdata.cli import main as pcdata


class StandIns:
    """Sources that sleep: `run(name)` records when each started and ended, and how many ran at once."""

    def __init__(self, seconds: dict[str, float], failing: tuple[str, ...] = ()):
        self.seconds, self.failing = seconds, failing
        self.started: dict[str, float] = {}
        self.ended: dict[str, float] = {}
        self.running: set[str] = set()
        self.most_at_once: dict[str, int] = {}  # per source: how many ran while it started
        self.lock = threading.Lock()

    def run(self, name: str) -> str:
        with self.lock:
            self.started[name] = time.monotonic()
            self.running.add(name)
            self.most_at_once[name] = len(self.running)
        time.sleep(self.seconds[name])
        with self.lock:
            self.running.discard(name)
            self.ended[name] = time.monotonic()
        if name in self.failing:
            raise RuntimeError(f"{name} broke")
        return f"{name} result"


def test_a_slow_source_does_not_delay_an_independent_one_and_a_dependant_waits_for_its_need():
    sources = StandIns({"slow": 1.0, "fast": 0.05, "dependant": 0.05, "other": 0.05})
    needs = {"dependant": ("slow",)}
    schedule = Schedule.of(["slow", "fast", "dependant", "other"], lambda n: needs.get(n, ()))
    outcomes = run_sources(schedule, sources.run, workers=2)

    assert [o.status for o in outcomes] == [LOADED] * 4
    assert outcomes[0].result == "slow result"
    assert sources.ended["fast"] < sources.started["slow"] + 0.5  # not after the slow one
    assert sources.ended["other"] < sources.ended["slow"]
    assert sources.started["dependant"] >= sources.ended["slow"]


def test_paced_sources_run_beside_the_workers_and_never_hold_them():
    sources = StandIns({"paced_a": 0.8, "paced_b": 0.8, "a": 0.1, "b": 0.1, "c": 0.1, "d": 0.1})
    schedule = Schedule.of(["paced_a", "paced_b", "a", "b", "c", "d"], lambda n: (), paced=["paced_a", "paced_b"])
    started = time.monotonic()
    run_sources(schedule, sources.run, workers=2)

    # with 2 workers taken by the paced ones, a..d would wait 0.8 s; they all end well before
    assert max(sources.ended[n] for n in "abcd") - started < 0.7
    assert sources.started["paced_b"] < sources.ended["paced_a"]  # both paced at once
    assert max(sources.most_at_once.values()) <= 4  # 2 workers + the 2 paced


def test_a_failure_lets_the_others_load_and_skips_its_dependants_only():
    sources = StandIns({"broken": 0.05, "dependant": 0.05, "second": 0.05, "free": 0.3}, failing=("broken",))
    needs = {"dependant": ("broken",), "second": ("dependant",)}
    schedule = Schedule.of(["broken", "dependant", "second", "free"], lambda n: needs.get(n, ()))
    seen = []
    outcomes = {o.source: o for o in run_sources(schedule, sources.run, workers=3, on_outcome=seen.append)}

    assert outcomes["broken"].status == FAILED and "broken broke" in str(outcomes["broken"].error)
    assert (outcomes["dependant"].status, outcomes["dependant"].blocked_by) == (SKIPPED, ("broken",))
    assert (outcomes["second"].status, outcomes["second"].blocked_by) == (SKIPPED, ("dependant",))
    assert outcomes["free"].status == LOADED
    assert {"dependant", "second"}.isdisjoint(sources.started)
    assert sorted(o.source for o in seen) == sorted(outcomes)  # every outcome reported as it ended, once


def test_one_worker_keeps_the_load_order_one_at_a_time():
    order = in_load_order(list(SOURCES))
    sources = StandIns(dict.fromkeys(order, 0.0))
    started = []
    schedule = Schedule.of(order, lambda n: SOURCES[n].needs, [n for n in order if SOURCES[n].paced])
    run_sources(schedule, sources.run, workers=1, on_start=started.append)

    assert started == order
    assert set(sources.most_at_once.values()) == {1}
    assert order.index("app") < order.index("api_adresse") and order.index("app") < order.index("sirene")


# --- real sources ---------------------------------------------------------------------------------------
def test_sandbox_sources_load_side_by_side_and_a_failing_one_is_named(settings, duck, vendor, monkeypatch):
    vendor("contentful").faults(latency_ms=700)  # every Contentful answer takes 0.7 s
    monkeypatch.setenv("SOURCES__TIKTOK__BASE_URL", "http://127.0.0.1:9/tiktok")  # nothing listens there
    ended: dict[str, float] = {}
    loaded = {}

    with pytest.raises(steps.StepFailed) as failed:
        steps.ingest(
            settings,
            ["contentful", "batch", "tiktok"],
            workers=3,
            on_done=lambda result: loaded.setdefault(result.source, result),
            on_outcome=lambda outcome: ended.setdefault(outcome.source, time.monotonic()),
        )

    message = str(failed.value)
    assert message.startswith("step 'ingest tiktok' failed: tiktok: nothing answers at http://127.0.0.1:9/tiktok")
    assert "python -m sandbox start" in message
    assert ended["batch"] < ended["contentful"]  # the fast one did not wait for the slow one
    assert sorted(loaded) == ["batch", "contentful"] and all(r.rows_loaded for r in loaded.values())  # both loaded
    assert duck("select count(*) from raw_contentful.entry")[0][0] == loaded["contentful"].rows_loaded["entry"]


def test_the_cli_exits_non_zero_naming_every_failed_source(tmp_path, monkeypatch):
    monkeypatch.setenv("PCDATA__HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(pcdata, ["ingest", "zendesk", "dms", "--workers", "2"])

    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("error: step 'ingest zendesk, dms' failed: zendesk is not configured: set ")
    assert "; dms is not configured: set SOURCES__DMS__" in lines[-1]
    # and each source's own line as it ended
    assert any(line.startswith("  zendesk failed") for line in lines)
    assert any(line.startswith("  dms failed") for line in lines)
