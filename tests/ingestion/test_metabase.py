"""Metabase source: the application database (real PostgreSQL, sql_database) and the governance REST API (sandbox)."""

from datetime import datetime

import pytest
import sqlalchemy as sa

from ingestion.pipeline import IngestionFailed, Runner
from ingestion.sources.pii import pseudonymise
from sandbox.vendors.metabase.app_database import DATABASE, write_beside, write_metabase_db
from sandbox.vendors.metabase.world import build
from tests.conftest import SALT

T1 = datetime(2025, 6, 1)
APP_TABLES = ("report_card", "report_dashboard", "report_dashboardcard", "collection", "core_user", "query_execution")


@pytest.fixture
def metabase_db(app_engine, monkeypatch, settings):
    """The Metabase application database: the test's fresh database on the app server."""
    monkeypatch.setenv("SOURCES__METABASE__APP_DB_CREDENTIALS", app_engine.url.render_as_string(hide_password=False))
    return app_engine


def test_full_load_equals_the_world_and_keeps_no_personal_data(world, metabase_db, settings, duck, vendor):
    counts = write_metabase_db(metabase_db, world)
    result = Runner(settings).run("metabase")
    mb = world.slice("metabase", build)
    for table in APP_TABLES:
        assert result.rows_loaded[table] == counts[table] > 0, table
    # no name, email or password hash leaves PostgreSQL; the email arrives as its salted hash
    columns = {
        c
        for (c,) in duck(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw_metabase' and table_name = 'core_user'"
        )
    }
    assert not {"email", "first_name", "last_name", "password", "password_salt"} & columns
    hashes = dict(duck("select id, email_hash from raw_metabase.core_user"))
    assert all(hashes[u["id"]] == pseudonymise(u["email"], SALT) for u in mb.users)
    # cards keep their query on the regional mart; executions their hash as hex
    for kind, query in duck("select query_type, dataset_query from raw_metabase.report_card"):
        assert (
            ("mrt_regional__beneficiaries_monthly" in query) if kind == "native" else ('"source-table": 101' in query)
        )
    first = mb.executions[0]
    assert duck(f"select hash from raw_metabase.query_execution where id = {first['id']}")[0][0] == first["hash"].hex()
    # governance from the REST API
    assert dict(duck("select id, member_count from raw_metabase.permission_group")) == {
        g["id"]: sum(m["group_id"] == g["id"] for m in mb.memberships) for g in mb.groups
    }
    assert duck("select count(*) from raw_metabase.permission_membership")[0][0] == len(mb.memberships)
    graph = duck("select group_id, collection_id, permission from raw_metabase.collection_permission")
    assert {(g, c, p) for g, c, p in graph} == {
        (g, c, p) for g, perms in mb.collection_graph.items() for c, p in perms.items()
    }
    db_columns = {
        c
        for (c,) in duck(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw_metabase' and table_name = 'database'"
        )
    }
    assert "details" not in db_columns and duck("select count(*) from raw_metabase.database")[0][0] == len(mb.databases)
    calls = vendor("metabase").stats()["calls"]
    assert tuple(calls[0]) == ("POST", "/api/session") and sum(m == "POST" for m, _ in calls) == 1  # one login per run


def test_incremental_rerun_loads_only_what_changed(world, metabase_db, settings, duck):
    before = write_metabase_db(metabase_db, world, as_of=T1)
    runner = Runner(settings)
    first = runner.run("metabase")
    assert first.rows_loaded["query_execution"] == before["query_execution"]
    mb = world.slice("metabase", build)
    old, new = mb.as_of(T1), mb.as_of()
    write_metabase_db(metabase_db, world)
    second = runner.run("metabase")
    for table, cursor in (
        ("query_execution", "started_at"),
        ("report_card", "updated_at"),
        ("core_user", "updated_at"),
    ):
        last = max(r[cursor] for r in old[table])
        changed = sum(r[cursor] > last for r in new[table])
        assert changed and second.rows_loaded[table] == changed, table
    for table in APP_TABLES:
        n = len(new[table])
        assert duck(f"select count(*), count(distinct id) from raw_metabase.{table}")[0] == (n, n), table
    third = runner.run("metabase")
    assert not any(
        third.rows_loaded.get(t) for t in ("query_execution", "report_card", "report_dashboard", "core_user")
    )
    archived = sum(c["archived"] for c in new["report_card"])
    assert duck("select count(*) from raw_metabase.report_card where archived")[0][0] == archived


def test_writing_the_metabase_database_twice_does_not_duplicate(world, app_engine):
    first = write_metabase_db(app_engine, world)
    assert write_metabase_db(app_engine, world) == first
    with app_engine.connect() as conn:
        for table, n in first.items():
            assert conn.execute(sa.text(f'select count(*), count(distinct id) from "{table}"')).one() == (n, n)


def test_wrong_password_fails_with_a_clear_message_that_hides_it(world, metabase_db, settings, monkeypatch):
    write_metabase_db(metabase_db, world)
    monkeypatch.setenv("SOURCES__METABASE__PASSWORD", "not-the-password-s3cret")
    with pytest.raises(IngestionFailed) as err:
        Runner(settings).run("metabase")
    message = str(err.value)
    assert "HTTP 401" in message and "/api/session" in message and "credentials" in message
    assert "s3cret" not in message


@pytest.mark.parametrize("faults", [[429, 503, "drop"], ["malformed", 500]])
def test_rest_errors_are_recovered_without_loss(world, metabase_db, settings, duck, vendor, faults):
    write_metabase_db(metabase_db, world)
    vendor("metabase").faults(fail_next=faults)
    Runner(settings).run("metabase")
    mb = world.slice("metabase", build)
    assert duck("select count(*), count(distinct membership_id) from raw_metabase.permission_membership")[0] == (
        len(mb.memberships),
        len(mb.memberships),
    )
    assert duck("select count(*) from raw_metabase.permission_group")[0][0] == len(mb.groups)
    assert vendor("metabase").stats()["faults"] == len(faults)


def test_sandbox_writes_its_database_beside_the_app_database(world, app_engine, settings, duck, monkeypatch):
    """Sandbox mode: a `metabase` database on the app server, written from the world, named in the sandbox config."""
    monkeypatch.delenv("SOURCES__METABASE__APP_DB_CREDENTIALS", raising=False)
    admin = app_engine.execution_options(isolation_level="AUTOCOMMIT")
    try:
        url = write_beside(app_engine, world)
        assert url.rsplit("/", 1)[-1].startswith(DATABASE)
        monkeypatch.setenv("SOURCES__METABASE__APP_DB_CREDENTIALS", url)
        runner = Runner(settings, app_engine)
        runner.run("metabase")
        write_beside(app_engine, world)  # writing again replaces, never duplicates
        runner.run("metabase")
        expected = {t: len(rows) for t, rows in world.slice("metabase", build).as_of().items()}
        for table, n in expected.items():
            assert duck(f"select count(*), count(distinct id) from raw_metabase.{table}")[0] == (n, n), table
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"drop database if exists {DATABASE} with (force)"))


def test_without_credentials_the_error_says_what_to_set(settings, monkeypatch):
    monkeypatch.delenv("SOURCES__METABASE__APP_DB_CREDENTIALS", raising=False)
    with pytest.raises(IngestionFailed, match=r"set sources\.metabase\.app_db_credentials"):
        Runner(settings).run("metabase")
