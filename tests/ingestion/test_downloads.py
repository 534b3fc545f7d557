"""App downloads against the sandbox: App Store Connect (verified ES256 JWT, gzip TSV, 404 = not yet)
and Google Play UTF-16 monthly files read with dlt's filesystem source."""

import os
import time
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ingestion.pipeline import IngestionFailed, Runner
from sandbox.vendors.downloads.server import google_play_file
from sandbox.vendors.downloads.world import GOOGLE_PACKAGE
from sandbox.vendors.downloads.world import downloads as dl_slice

START, END = date(2026, 10, 1), date(2026, 10, 31)


@pytest.fixture
def runner(settings, monkeypatch):
    monkeypatch.setenv("SOURCES__DOWNLOADS__START_DATE", START.isoformat())
    monkeypatch.setenv("SOURCES__DOWNLOADS__END_DATE", END.isoformat())
    return Runner(settings)


def _apple(world, start=START, end=date(2026, 10, 30)):
    return {
        (d, r["country"], r["product_type"], r["device"]): r["units"]
        for d, rows in dl_slice(world).apple.items()
        if start <= d <= end
        for r in rows
    }


def test_full_load_equals_the_world_and_the_unpublished_day_is_not_an_error(world, runner, duck, vendor):
    result = runner.run("downloads")
    expected = _apple(world)  # 10-31 answers 404 'not available yet': skipped, not a failure
    got = {
        (d, c, p, dev): u
        for d, c, p, dev, u in duck(
            "select report_date, country_code, product_type_identifier, device, units from raw_downloads.apple_sales"
        )
    }
    assert got == expected and result.rows_loaded["apple_sales"] == len(expected)
    october = [d for d in dl_slice(world).google if d.month == 10 and d.year == 2026]
    assert result.rows_loaded["google_play_installs"] == len(october)  # only months from start_date
    installs = dict(duck("select date, daily_device_installs from raw_downloads.google_play_installs"))
    assert installs == {d: dl_slice(world).google_overview(d)["daily_device_installs"] for d in october}
    assert (
        duck(
            "select count(*), count(distinct (date, package_name, country))"
            " from raw_downloads.google_play_installs_by_country"
        )[0]
        == (len(october) * 7,) * 2
    )


def test_rerun_repulls_from_the_previous_month_and_replaces_days(world, runner, duck, vendor, sandbox, monkeypatch):
    monkeypatch.setenv("SOURCES__DOWNLOADS__END_DATE", "2026-10-15")
    runner.run("downloads")
    monkeypatch.setenv("SOURCES__DOWNLOADS__END_DATE", END.isoformat())
    calls_before = len(vendor("downloads").stats()["calls"])
    second = runner.run("downloads")
    assert len(vendor("downloads").stats()["calls"]) - calls_before == 31  # 10-01 (start_date bound) .. 10-31
    expected = _apple(world)
    assert duck("select count(*), count(distinct row_key) from raw_downloads.apple_sales")[0] == (len(expected),) * 2
    assert "google_play_installs" not in second.rows_loaded  # no file changed since the last run
    # Google rewrites the current month's file: it is read again and replaces its days
    path = Path(sandbox.files_dir) / "google_play" / google_play_file(GOOGLE_PACKAGE, date(2026, 10, 1), "overview")
    text = path.read_bytes().decode("utf-16")
    lines = text.splitlines()
    cells = lines[1].split(",")
    cells[2] = "99999"
    path.write_bytes("\n".join([lines[0], ",".join(cells), *lines[2:]]).encode("utf-16") + "\n".encode("utf-16")[2:])
    future = time.time() + 5
    os.utime(path, (future, future))
    try:
        third = runner.run("downloads")
        assert third.rows_loaded["google_play_installs"] == 31
        assert (
            duck("select daily_device_installs from raw_downloads.google_play_installs where date = '2026-10-01'")[0][0]
            == 99999
        )
        assert duck("select count(*), count(distinct date) from raw_downloads.google_play_installs")[0] == (31, 31)
    finally:
        path.write_bytes(text.encode("utf-16"))


def test_a_key_the_sandbox_does_not_know_is_refused_and_not_shown(runner, monkeypatch, vendor):
    other = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    monkeypatch.setenv("SOURCES__DOWNLOADS__PRIVATE_KEY", other)
    with pytest.raises(IngestionFailed) as err:
        runner.run("downloads")
    assert "HTTP 401" in str(err.value) and "key_id" in str(err.value)
    assert other.splitlines()[1][:20] not in str(err.value)


def test_vendor_number_comes_from_config(runner, monkeypatch, vendor):
    monkeypatch.setenv("SOURCES__DOWNLOADS__VENDOR_NUMBER", "12345678")
    with pytest.raises(IngestionFailed) as err:
        runner.run("downloads")
    assert "HTTP 403" in str(err.value) and "vendor_number" in str(err.value)


@pytest.mark.parametrize("faults", [[429, 503], ["drop"], ["malformed"]])
def test_quota_and_server_errors_are_recovered_without_loss(world, runner, duck, vendor, faults):
    vendor("downloads").faults(fail_next=faults)
    runner.run("downloads")
    n = len(_apple(world))
    assert duck("select count(*), count(distinct row_key) from raw_downloads.apple_sales")[0] == (n, n)
    assert vendor("downloads").stats()["faults"] == len(faults)


def test_a_drifted_report_keeps_every_row_key(world, runner, duck, vendor):
    """An added column (Apple's drift) never changes a row's key: keys hash the documented dimensions only."""
    runner.run("downloads")
    baseline = {k for (k,) in duck("select row_key from raw_downloads.apple_sales")}
    vendor("downloads").faults(schema_drift=True)  # every report gains a 'Store Region' column
    runner.run("downloads")
    assert {k for (k,) in duck("select row_key from raw_downloads.apple_sales")} == baseline
    assert duck("select count(*) from raw_downloads.apple_sales where store_region = 'EU'")[0][0] == len(baseline)


def test_the_row_key_is_the_one_loaded_before_for_a_report_without_drift():
    import hashlib

    from ingestion.sources.downloads import MEASURES, parse_sales_tsv
    from sandbox.vendors.downloads.server import APPLE_COLUMNS

    values = [f"v{i}" for i in range(len(APPLE_COLUMNS))]
    for measure, value in (("Units", "3"), ("Developer Proceeds", "0"), ("Customer Price", "0")):
        values[APPLE_COLUMNS.index(measure)] = value
    tsv = "\t".join(APPLE_COLUMNS) + "\n" + "\t".join(values) + "\n"
    drifted = "\t".join((*APPLE_COLUMNS, "Store Region")) + "\n" + "\t".join((*values, "EU")) + "\n"
    (row,) = parse_sales_tsv(tsv.encode(), date(2026, 10, 1), None)
    (drift_row,) = parse_sales_tsv(drifted.encode(), date(2026, 10, 1), None)
    assert drift_row["row_key"] == row["row_key"]
    dims = {k: v for k, v in row.items() if k not in MEASURES | {"row_key", "report_date", "loaded_at"}}
    before = hashlib.sha1("|".join(f"{k}={dims[k]}" for k in sorted(dims)).encode()).hexdigest()
    assert row["row_key"] == before  # keys already in the warehouse stay valid
