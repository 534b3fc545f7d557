"""Zendesk source against its sandbox: incremental tickets and users, macros with usage, CSAT."""

import calendar
from datetime import timedelta

import pytest

from ingestion.pipeline import IngestionFailed, Runner
from ingestion.sources.pii import pseudonymise
from ingestion.sources.zendesk import TICKET_COLUMNS, field_column, page_table
from sandbox.vendors.zendesk.world import build

SALT = "test-salt"


@pytest.fixture
def zd(vendor, monkeypatch):
    """The Zendesk sandbox with its limits opened up, and small pages so that paging is exercised."""
    control = vendor("zendesk")
    control.rate_limit(10_000, 60)
    monkeypatch.setenv("SOURCES__ZENDESK__PAGE_SIZE", "25")
    monkeypatch.setenv("SOURCES__ZENDESK__INCREMENTAL_PAGE_SIZE", "80")
    monkeypatch.setenv("SOURCES__ZENDESK__CALLS_PER_MINUTE", "100000")
    monkeypatch.setenv("SOURCES__ZENDESK__INCREMENTAL_CALLS_PER_MINUTE", "100000")
    return control


def _unix(t) -> int:
    return calendar.timegm(t.timetuple())


def test_full_load_equals_the_world_with_fields_by_name_and_no_plain_personal_data(world, settings, duck, zd):
    data = world.slice("zendesk", build)
    result = Runner(settings).run("zendesk")
    assert result.rows_loaded["tickets"] == len(data.tickets)
    assert result.rows_loaded["users"] == len(data.users)
    assert result.rows_loaded["satisfaction_ratings"] == len(data.satisfaction_ratings)
    assert result.rows_loaded["macros"] == len(data.macros)
    assert duck("select count(*), count(distinct id) from raw_zendesk.tickets")[0] == (len(data.tickets),) * 2
    # custom fields pivoted by name
    niveau = {t["id"]: next(f["value"] for f in t["custom_fields"] if f["id"] == 360029405277) for t in data.tickets}
    assert dict(duck(f"select id, {field_column('Niveau')} from raw_zendesk.tickets")) == niveau
    typo = {
        t["id"]: ",".join(next(f["value"] for f in t["custom_fields"] if f["id"] == 4490222594460) or []) or None
        for t in data.tickets
    }
    loaded = dict(duck("select id, cf_typologie_support_native from raw_zendesk.tickets"))
    assert {k: v or None for k, v in loaded.items()} == typo
    # the ticket's tags joined like a multi-select field's values; times as UTC instants
    assert dict(duck("select id, tags from raw_zendesk.tickets")) == {
        t["id"]: ",".join(t["tags"]) or None for t in data.tickets
    }
    loaded_times = duck("select id, epoch(created_at)::bigint, epoch(updated_at)::bigint from raw_zendesk.tickets")
    assert {i: (c, u) for i, c, u in loaded_times} == {
        t["id"]: (_unix(t["created_at"]), _unix(t["updated_at"])) for t in data.tickets
    }
    # users: email only as the salted hash of raw_app.user, the recorded pass Culture id kept
    by_hash = {u["id"]: pseudonymise(u["email"], SALT) for u in data.users}
    assert dict(duck("select id, email_hash from raw_zendesk.users")) == by_hash
    columns = {
        c for (c,) in duck("select column_name from information_schema.columns where table_schema = 'raw_zendesk'")
    }
    assert not {"email", "name", "phone", "description", "subject", "via__source__from__address", "comment"} & columns
    recorded = {u["id"]: u["user_fields"]["user_id"] for u in data.users}
    assert dict(duck("select id, pass_culture_user_id from raw_zendesk.users")) == recorded
    # macros carry the usage sideload
    assert dict(duck("select id, usage_7d from raw_zendesk.macros")) == {m["id"]: m["usage_7d"] for m in data.macros}
    # no per-ticket user lookup (N+1) and paging followed
    calls = [path for _, path in zd.stats()["calls"]]
    assert not [p for p in calls if p.startswith("/api/v2/users/")]
    assert sum(p.endswith("/incremental/tickets/cursor.json") for p in calls) == -(-len(data.tickets) // 80)


def test_ticket_metric_sets_come_with_the_export_pages_and_equal_the_world(world, settings, duck, zd):
    data = world.slice("zendesk", build)
    result = Runner(settings).run("zendesk")
    assert result.rows_loaded["ticket_metric_sets"] == len(data.tickets)
    rows = duck(
        "select ticket_id, solved_at, reply_time_calendar_minutes, reply_time_business_minutes, "
        "first_resolution_time_calendar_minutes, full_resolution_time_calendar_minutes, "
        "full_resolution_time_business_minutes from raw_zendesk.ticket_metric_sets"
    )
    got = {tid: (None if s is None else _unix(s), *rest) for tid, s, *rest in rows}
    expected = {
        tid: (
            None if m["solved_at"] is None else _unix(m["solved_at"]),
            m["reply_time_in_minutes"]["calendar"],
            m["reply_time_in_minutes"]["business"],
            m["first_resolution_time_in_minutes"]["calendar"],
            m["full_resolution_time_in_minutes"]["calendar"],
            m["full_resolution_time_in_minutes"]["business"],
        )
        for tid, m in data.metric_sets.items()
    }
    assert got == expected
    # solved only when the ticket is, never before its first reply
    status = {t["id"]: t["status"] for t in data.tickets}
    assert {tid for tid, (solved, *_) in got.items() if solved is not None} == {
        tid for tid, s in status.items() if s in ("solved", "closed")
    }
    # its own columns only, the tickets' typed columns kept
    metric_columns = {
        c
        for (c,) in duck(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw_zendesk' and table_name = 'ticket_metric_sets'"
        )
    }
    assert {"ticket_id", "solved_at", "reply_time_calendar_minutes", "full_resolution_time_business_minutes"} <= (
        metric_columns
    )
    assert not {"status", "requester_id", "cf_sujet", "reply_time_in_minutes"} & metric_columns
    assert duck(
        "select data_type from information_schema.columns where table_schema = 'raw_zendesk' "
        "and table_name = 'tickets' and column_name = 'created_at'"
    )[0][0].startswith("TIMESTAMP")
    # sideloaded on the export pages: no call per ticket, no metrics endpoint
    calls = [path for _, path in zd.stats()["calls"]]
    assert not [p for p in calls if "metrics" in p or p.startswith("/api/v2/tickets/")]
    assert sum(p.endswith("/incremental/tickets/cursor.json") for p in calls) == -(-len(data.tickets) // 80)


def test_rerun_from_the_cursor_loads_only_what_changed_and_never_duplicates(world, settings, duck, zd, monkeypatch):
    data = world.slice("zendesk", build)
    since = world.end - timedelta(days=60)
    monkeypatch.setenv("SOURCES__ZENDESK__START_DATE", since.strftime("%Y-%m-%dT%H:%M:%SZ"))
    runner = Runner(settings)
    first = runner.run("zendesk")
    recent = [t for t in data.tickets if _unix(t["updated_at"]) >= _unix(since)]
    assert first.rows_loaded["tickets"] == len(recent) > 0
    before = len(zd.stats()["calls"])
    second = runner.run("zendesk")
    # the second run starts at the last generated_timestamp: at most the tickets of that very second come back
    assert second.rows_loaded.get("tickets", 0) <= 2
    starts = [p for _, p in zd.stats()["calls"][before:] if p.endswith("/incremental/tickets/cursor.json")]
    assert len(starts) == 1
    assert duck("select count(*), count(distinct id) from raw_zendesk.tickets")[0] == (len(recent), len(recent))
    assert duck("select count(*), count(distinct ticket_id) from raw_zendesk.ticket_metric_sets")[0] == (
        len(recent),
        len(recent),
    )
    assert (
        duck("select count(*), count(distinct id) from raw_zendesk.satisfaction_ratings")[0][0]
        == duck("select count(distinct id) from raw_zendesk.satisfaction_ratings")[0][0]
    )
    # same-day macros export replaces its rows
    assert duck("select count(*) from raw_zendesk.macros")[0][0] == len(data.macros)


def test_wrong_token_fails_with_a_clear_message_that_hides_the_token(settings, zd, monkeypatch):
    monkeypatch.setenv("SOURCES__ZENDESK__API_TOKEN", "not-the-token-s3cret")
    with pytest.raises(IngestionFailed) as err:
        Runner(settings).run("zendesk")
    assert "HTTP 401" in str(err.value) and "credentials" in str(err.value) and "authenticate" in str(err.value)
    assert "s3cret" not in str(err.value)


@pytest.mark.parametrize("faults", [[429, 429], [503, "drop"], ["malformed", 502]])
def test_quota_and_server_errors_are_recovered_without_loss(world, settings, duck, zd, faults):
    data = world.slice("zendesk", build)
    zd.faults(fail_next=faults)
    Runner(settings).run("zendesk")
    n = len(data.tickets)
    assert duck("select count(*), count(distinct id) from raw_zendesk.tickets")[0] == (n, n)
    assert duck("select count(*) from raw_zendesk.users")[0][0] == len(data.users)
    assert zd.stats()["faults"] == len(faults)


def test_retry_after_is_honoured_when_the_export_limit_is_hit(world, settings, duck, zd):
    data = world.slice("zendesk", build)
    zd.rate_limit(4, 1.0)  # the client does not pace itself here: the sandbox answers 429 + Retry-After: 1
    Runner(settings).run("zendesk")
    stats = zd.stats()
    assert stats["rate_limited"] > 0
    assert duck("select count(*), count(distinct id) from raw_zendesk.tickets")[0] == (len(data.tickets),) * 2


def test_client_paces_itself_under_the_quota(world, settings, zd, monkeypatch):
    zd.rate_limit(5, 1.0)
    monkeypatch.setenv("SOURCES__ZENDESK__CALLS_PER_MINUTE", "270")  # just under 5 calls/s
    monkeypatch.setenv("SOURCES__ZENDESK__INCREMENTAL_PAGE_SIZE", "1000")
    monkeypatch.setenv("SOURCES__ZENDESK__PAGE_SIZE", "100")
    Runner(settings).run("zendesk")
    stats = zd.stats()
    assert stats["served"] >= 5 and stats["rate_limited"] == 0


def test_schema_drift_is_loaded_as_a_new_column(world, settings, duck, zd):
    zd.faults(schema_drift=True)
    Runner(settings).run("zendesk")
    assert duck("select count(custom_status_id) from raw_zendesk.tickets")[0][0] == len(
        world.slice("zendesk", build).tickets
    )


def test_a_page_becomes_one_typed_arrow_table_that_keeps_what_zendesk_adds():
    page = [
        {"id": 1, "created_at": "2026-03-01T10:00:00Z", "cf_niveau": True, "extra": 7, "gone": None, "obj": {"a": 1}},
        {"id": 2, "created_at": None, "cf_niveau": "N1", "extra": None, "gone": None, "obj": None},
    ]
    table = page_table(page, {**TICKET_COLUMNS, "cf_niveau": {"data_type": "text"}})
    assert table.schema.field("id").nullable is False  # as hinted: dlt keeps its schema without a warning
    assert str(table.schema.field("created_at").type) == "timestamp[us, tz=UTC]"
    assert table.column("created_at").to_pylist()[0].isoformat() == "2026-03-01T10:00:00+00:00"
    assert table.column("cf_niveau").to_pylist() == ["True", "N1"]  # text as dlt coerces it
    assert table.column("extra").to_pylist() == [7, None]  # a new field: kept, typed by Arrow
    assert table.column("obj").to_pylist() == ['{"a": 1}', None]  # nested: JSON text
    assert "gone" not in table.column_names and "due_at" in table.column_names  # hinted columns always there
