"""The Recommendation API's served-list logs loaded back: full, incremental by file and line, a malformed
line, an empty folder. The lines are written by the service's own `log_answer`."""

from __future__ import annotations

import json
import logging
import time
import uuid
from types import SimpleNamespace

import duckdb
import pytest

from ingestion.pipeline import IngestionFailed, Runner
from models_ml.recommendation.serving import Answer
from warehouse import Settings

TABLE = "raw_recommendation.past_offer_context"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("PCDATA__HOME", str(tmp_path / "home"))
    settings = Settings.load()
    folder = settings.recommendation_log_dir / "past_offer_context"
    assert settings.recommendation_log_dir == settings.home / "logs"  # where `pcdata serve` points the service
    return SimpleNamespace(settings=settings, folder=folder)


def _service(folder):
    """The service's logging method on a stand-in instance (no model needed)."""
    from bentos.recommendation.service import Recommendation

    folder.mkdir(parents=True, exist_ok=True)
    self = SimpleNamespace(tag="recommendation_bundle:v1", log_dir=folder)
    return lambda *args, **kwargs: Recommendation.inner.log_answer(self, *args, **kwargs)


def _answer(n: int, origin: str = "algo") -> Answer:
    return Answer([f"{100 + i}" for i in range(n)], [1.0 - i / 10 for i in range(n)], ["cooc"] * n, origin)


def _write_calls(folder, calls: list[tuple[str, int]]) -> list[str]:
    """One logged answer per (endpoint, offers shown); returns the call ids."""
    log_answer, ids = _service(folder), []
    for endpoint, n in calls:
        call_id = str(uuid.uuid4())
        fields = (
            {"user_id": "7", "context": {"latitude": 48.85, "longitude": 2.35, "params": {"priceMax": 20}}}
            if endpoint == "playlist_recommendation"
            else {"user_id": None, "offer_id": "42", "context": {}}
        )
        log_answer(endpoint, call_id, _answer(n), time.perf_counter(), **fields)
        ids.append(call_id)
    return ids


def _rows(settings, sql: str = f"select call_id, offer_rank, offer_id from {TABLE}") -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_full_load_one_row_per_offer_shown_and_every_call(home):
    ids = _write_calls(
        home.folder, [("playlist_recommendation", 3), ("similar_offers", 2), ("playlist_recommendation", 0)]
    )
    (today,) = home.folder.glob("*.jsonl")
    today.rename(home.folder / "2026-01-02.jsonl")  # an earlier day's file, then today's
    ids += _write_calls(home.folder, [("similar_offers", 1)])
    result = Runner(home.settings).run("recommendation_logs")
    assert result.rows_loaded == {"past_offer_context": 3 + 2 + 1 + 1}
    rows = _rows(home.settings)
    assert sorted(rows) == sorted(
        [(ids[0], r, f"{99 + r}") for r in (1, 2, 3)]
        + [(ids[1], r, f"{99 + r}") for r in (1, 2)]
        + [(ids[2], 0, None)]  # a call that showed nothing is still a call
        + [(ids[3], 1, "100")]
    )
    first = _rows(
        home.settings,
        f"select endpoint, reco_origin, model_origin, user_id, score, retrieval_origin, is_geolocated, "
        f"request_params, offer_count, log_file, log_line from {TABLE} where call_id = '{ids[0]}' and offer_rank = 2",
    )
    assert first == [
        (
            "playlist_recommendation",
            "algo",
            "recommendation_bundle:v1",
            "7",
            0.9,
            "cooc",
            True,
            '{"priceMax": 20}',
            3,
            "2026-01-02.jsonl",
            1,
        )
    ]
    similar = _rows(home.settings, f"select source_offer_id, user_id from {TABLE} where call_id = '{ids[1]}'")
    assert set(similar) == {("42", None)}
    columns = {c for (c,) in _rows(home.settings, "select column_name from information_schema.columns")}
    assert not {"latitude", "longitude", "context__latitude"} & columns  # a person's position is not loaded


def test_reruns_read_only_new_complete_lines_without_duplicates(home):
    _write_calls(home.folder, [("playlist_recommendation", 4)])
    Runner(home.settings).run("recommendation_logs")
    again = Runner(home.settings).run("recommendation_logs")
    assert again.rows_loaded.get("past_offer_context", 0) == 0 and len(_rows(home.settings)) == 4
    ids = _write_calls(home.folder, [("similar_offers", 2)])
    (path,) = home.folder.glob("*.jsonl")
    full_line = json.dumps(
        {"call_id": "c-late", "logged_at": "2026-01-03T10:00:00+00:00", "endpoint": "x", "offers": []}
    )
    with path.open("a") as f:
        f.write(full_line[:20])  # a line the service is still writing
    result = Runner(home.settings).run("recommendation_logs")
    assert result.rows_loaded == {"past_offer_context": 2}
    assert {r[0] for r in _rows(home.settings)} >= set(ids) and len(_rows(home.settings)) == 6
    with path.open("a") as f:
        f.write(full_line[20:] + "\n")
    result = Runner(home.settings).run("recommendation_logs")
    assert result.rows_loaded == {"past_offer_context": 1} and ("c-late", 0, None) in _rows(home.settings)
    # a file rewritten shorter is read again from its start: merged, no duplicates
    path.write_text(path.read_text().splitlines(keepends=True)[0])
    Runner(home.settings).run("recommendation_logs")
    keys = _rows(home.settings, f"select count(*), count(distinct (call_id, offer_rank)) from {TABLE}")
    assert keys == [(7, 7)]


def test_a_malformed_line_fails_naming_file_and_line_and_loses_nothing(home):
    _write_calls(home.folder, [("playlist_recommendation", 2)])
    Runner(home.settings).run("recommendation_logs")
    ids = _write_calls(home.folder, [("playlist_recommendation", 3)])
    (path,) = home.folder.glob("*.jsonl")
    with path.open("a") as f:
        f.write('{"call_id": "broken", "offers": [\n')
    ids += _write_calls(home.folder, [("similar_offers", 1)])
    with pytest.raises(IngestionFailed) as failed:
        Runner(home.settings).run("recommendation_logs")
    message = str(failed.value)
    assert f"{path.name}, line 3" in message and "not JSON" in message, message
    assert len(_rows(home.settings)) == 2  # nothing of the failed run, and nothing before it lost
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2] + lines[3:]))  # the line removed, as an operator would
    result = Runner(home.settings).run("recommendation_logs")
    assert result.rows_loaded == {"past_offer_context": 4}
    assert {r[0] for r in _rows(home.settings)} >= set(ids) and len(_rows(home.settings)) == 6
    with path.open("a") as f:
        f.write(json.dumps({"call_id": "c", "logged_at": "2026-01-03T10:00:00", "endpoint": "x"}) + "\n")
    with pytest.raises(IngestionFailed, match=rf"{path.name}, line 4: missing offers"):
        Runner(home.settings).run("recommendation_logs")


def test_an_empty_or_missing_folder_loads_nothing_and_says_so(home, caplog):
    caplog.set_level(logging.INFO, logger="pcdata.ingestion")
    result = Runner(home.settings).run("recommendation_logs")
    assert result.rows_loaded.get("past_offer_context", 0) == 0
    assert "nothing to load" in caplog.text and str(home.folder) in caplog.text
    assert _rows(home.settings) == []  # the table exists, empty: staging always has a relation to read
    home.folder.mkdir(parents=True)
    caplog.clear()
    Runner(home.settings).run("recommendation_logs")
    assert "nothing to load" in caplog.text and _rows(home.settings) == []
    # the service's first answers after empty runs load into the table those runs created
    _write_calls(home.folder, [("playlist_recommendation", 2)])
    assert Runner(home.settings).run("recommendation_logs").rows_loaded == {"past_offer_context": 2}
