"""API Adresse source against its sandbox: geocoding the users' addresses."""

from datetime import datetime

import pytest

from ingestion.pipeline import Runner
from sandbox.app_database import write_snapshot
from sandbox.world import catalog

T1 = datetime(2026, 5, 1)


def _load(world, app_engine, settings, as_of=None):
    write_snapshot(app_engine, world.snapshot(as_of))
    runner = Runner(settings, app_engine)
    runner.run("app")
    return runner, runner.run("api_adresse")


def test_full_load_geocodes_every_user_to_the_right_commune(world, app_engine, settings, duck, vendor):
    _, result = _load(world, app_engine, settings)
    users = world.snapshot()["user"]
    assert result.rows_loaded["user_address"] == len(users)
    got = dict(duck("select user_id, result_citycode from raw_api_adresse.user_address"))
    status = dict(duck("select user_id, result_status from raw_api_adresse.user_address"))
    by_id = {u.id: u for u in world.users}
    for u in users:
        if u["address"] in catalog.GARBAGE_ADDRESSES:
            assert status[u["id"]] == "not-found"
        else:
            assert status[u["id"]] == "ok"
            assert got[u["id"]] == by_id[u["id"]].move_at(world.end).commune.citycode
    # the street address never reaches the warehouse outside the app dataset
    columns = {
        c for (c,) in duck("select column_name from information_schema.columns where table_schema = 'raw_api_adresse'")
    }
    assert not {"user_full_address", "result_label", "result_street", "result_housenumber", "result_name"} & columns
    assert vendor("api_adresse").stats()["served"] == -(-len(users) // 500)  # 500 addresses a call


def test_rerun_geocodes_only_new_or_changed_addresses(world, app_engine, settings, duck, vendor):
    runner, _ = _load(world, app_engine, settings, T1)
    before = {u["id"]: (u["address"], u["postalCode"]) for u in world.snapshot(T1)["user"]}
    write_snapshot(app_engine, world.snapshot())
    runner.run("app")
    second = runner.run("api_adresse")
    changed = [u for u in world.snapshot()["user"] if before.get(u["id"]) != (u["address"], u["postalCode"])]
    assert changed and second.rows_loaded["user_address"] == len(changed)
    assert runner.run("api_adresse").rows_loaded == {}
    assert duck("select count(*) = count(distinct user_id) from raw_api_adresse.user_address")[0][0]


@pytest.mark.parametrize("faults", [[429, 503], ["drop", 500], ["malformed"]])
def test_throttling_errors_and_cut_pages_are_recovered_without_loss(world, app_engine, settings, duck, vendor, faults):
    vendor("api_adresse").faults(fail_next=faults)
    _, result = _load(world, app_engine, settings)
    n = len(world.snapshot()["user"])
    assert result.rows_loaded["user_address"] == n
    assert duck("select count(*), count(distinct user_id) from raw_api_adresse.user_address")[0] == (n, n)
    assert vendor("api_adresse").stats()["faults"] == len(faults)


def test_a_page_that_stays_unreadable_fails_loudly_and_loads_nothing(world, app_engine, settings, duck, vendor):
    from ingestion.pipeline import IngestionFailed

    write_snapshot(app_engine, world.snapshot())
    runner = Runner(settings, app_engine)
    runner.run("app")
    vendor("api_adresse").faults(rate_malformed=1.0)
    with pytest.raises(IngestionFailed, match=r"api_adresse.*unreadable page"):
        runner.run("api_adresse")
    assert (
        duck(
            "select count(*) from information_schema.tables"
            " where table_schema = 'raw_api_adresse' and table_name = 'user_address'"
        )[0][0]
        == 0
    )


def test_rows_answered_error_are_not_stored_and_are_sent_again_next_run(
    world, app_engine, settings, duck, vendor, caplog
):
    n = len(world.snapshot()["user"])
    vendor("api_adresse").faults(rate_row_error=0.2)  # transient per-row failures, HTTP 200
    runner, first = _load(world, app_engine, settings)
    errors = vendor("api_adresse").stats()["row_errors"]
    assert errors > 0 and first.rows_loaded["user_address"] == n - errors
    assert "result_status=error" in caplog.text
    assert duck("select count(*) from raw_api_adresse.user_address where result_status = 'error'")[0][0] == 0
    vendor("api_adresse").faults(rate_row_error=0.0)
    second = runner.run("api_adresse")
    assert second.rows_loaded["user_address"] == errors  # exactly the failed ones, asked again
    assert duck("select count(*), count(distinct user_id) from raw_api_adresse.user_address")[0] == (n, n)


def test_a_quoted_word_in_an_address_does_not_break_the_batch(world, app_engine, settings, duck, vendor):
    snapshot = world.snapshot()
    user = next(u for u in snapshot["user"] if u["address"] not in catalog.GARBAGE_ADDRESSES)
    number, rest = user["address"].split(" ", 1)
    user["address"] = f'{number} {rest.split(" ", 1)[0]} "{rest.split(" ", 1)[1]}"'  # e.g. 12 Rue "des Lilas"
    write_snapshot(app_engine, snapshot)
    runner = Runner(settings, app_engine)
    runner.run("app")
    runner.run("api_adresse")
    stats = vendor("api_adresse").stats()
    assert stats["csv_without_delimiter"] == 0 and stats["csv_with_postcode_filter"] == stats["served"]
    status, citycode = duck(
        f"select result_status, result_citycode from raw_api_adresse.user_address where user_id = {user['id']}"
    )[0]
    assert (
        status == "ok"
        and citycode == next(u for u in world.users if u.id == user["id"]).move_at(world.end).commune.citycode
    )


def test_the_sandbox_guesses_the_delimiter_wrong_when_none_is_sent(vendor):
    """As the real geocoder: without `delimiter`, a quoted word makes it guess a space and refuse the batch."""
    import requests

    data = 'user_id,user_full_address\n1,"12 Rue ""des Lilas"" 75011 Paris"\n2,3 Rue de la Paix 75002 Paris\n'
    url = f"{vendor('api_adresse').url}/search/csv/"
    files = {"data": ("users.csv", data.encode(), "text/csv")}
    guessed = requests.post(url, files=files, data={"columns": "user_full_address"}, timeout=10)
    assert guessed.status_code == 400 and "user_full_address" in guessed.text
    told = requests.post(url, files=files, data={"columns": "user_full_address", "delimiter": ","}, timeout=10)
    assert told.status_code == 200 and told.text.splitlines()[0].endswith("result_status")
