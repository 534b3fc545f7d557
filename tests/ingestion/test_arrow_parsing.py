"""The Arrow readers of the high-volume resources, on hand-written answers: the same typed values as the
row-by-row readers they replaced, and a clear MalformedPage / fallback on what they cannot read."""

import gzip
import json
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from dlt.sources.helpers.requests import Response

from ingestion.sources.appsflyer import parse_csv
from ingestion.sources.brevo import brevo_time, brevo_times, event_table
from ingestion.sources.firebase import SCHEMA, MalformedExport, _read_fast, read_day
from ingestion.sources.http import MalformedPage
from ingestion.sources.pii import pseudonymise

HEADER = "Event Time,Event Name,Media Source,Campaign,Cost Value,WIFI,IP,Postal Code,Keywords,App ID\n"


def _csv(body: str | bytes) -> Response:
    response = Response()
    response.status_code = 200
    response._content = body.encode() if isinstance(body, str) else body
    return response


def test_appsflyer_csv_is_typed_by_column_name_and_drops_device_ids():
    table = parse_csv(
        _csv(
            "\ufeff"
            + HEADER
            + '2024-03-01 10:11:12.345,af_purchase,"Google, Ads",utm_a,1.50,true,1.2.3.4,01000,,id1\n'
            + "2024-03-02 00:00:00,install,N/A,,None,FALSE,,75001,,id1\n"
        )
    )
    kept = ["event_time", "event_name", "media_source", "campaign", "cost_value", "wifi", "postal_code", "app_id"]
    assert table.column_names == kept  # ip dropped, keywords never filled: left out
    rows = table.to_pylist()
    assert rows[0] == {
        "event_time": datetime(2024, 3, 1, 10, 11, 12, tzinfo=UTC),
        "event_name": "af_purchase",
        "media_source": "Google, Ads",
        "campaign": "utm_a",
        "cost_value": 1.5,
        "wifi": True,
        "postal_code": "01000",  # text: the leading zero kept
        "app_id": "id1",
    }
    assert rows[1]["media_source"] is None and rows[1]["cost_value"] is None and rows[1]["wifi"] is False
    assert rows[1]["campaign"] == ""  # part of the aggregate keys: kept as written


def test_appsflyer_aggregate_counts_may_come_as_floats():
    table = parse_csv(_csv("Date,Agency/PMD (af_prt),Installs,Total Cost\n2024-03-01,,12.0,3.25\n"))
    assert table.to_pylist() == [{"date": date(2024, 3, 1), "agency": "", "installs": 12, "total_cost": 3.25}]
    assert table.schema.field("installs").type == pa.int64()


@pytest.mark.parametrize(
    "body, problem",
    [
        (HEADER + "2024-03-01 10:11:12,install,x,y,1,true,,1,,id1", "cut answer"),
        (HEADER + "2024-03-01 10:11:12,install,x\n", "unreadable CSV"),
        (HEADER + "yesterday,install,x,y,1,true,,1,,id1\n", "wrong type"),
    ],
)
def test_appsflyer_unreadable_csv_is_a_malformed_page(body, problem):
    with pytest.raises(MalformedPage, match=problem):
        parse_csv(_csv(body))


def test_appsflyer_empty_answer_is_no_rows():
    assert parse_csv(_csv("")).num_rows == 0 and parse_csv(_csv(HEADER)).num_rows == 0


def test_brevo_page_equals_the_row_by_row_reading():
    page = [
        {"messageId": "<a@x>", "event": "opened", "date": "2024-05-01T10:00:00.123+02:00", "email": " A@B.fr "},
        {"messageId": "<b@x>", "event": "delivered", "date": "2024-05-01T10:00:00Z", "templateId": 3, "tag": "t"},
    ]
    table = event_table(page, "salt")
    assert table.column("date").to_pylist() == [brevo_time(e["date"]) for e in page]
    assert table.column("email_hash").to_pylist() == [pseudonymise(" A@B.fr ", "salt"), None]
    assert table.column("template_id").to_pylist() == [None, 3]
    # a time without offset is UTC, as brevo_time reads it
    assert brevo_times(["2024-05-01T10:00:00", None]).to_pylist() == [datetime(2024, 5, 1, 10, tzinfo=UTC), None]


def _day_lines(day: str) -> list[dict]:
    return [
        {
            "event_date": day,
            "event_timestamp": 1714557600000000 + i,
            "event_name": "ConsultOffer",
            "event_params": [{"key": "offerId", "value": {"int_value": i}}],
            "user_pseudo_id": f"p{i}",
            "geo": {"country": "France"},
            "extra_field": "ignored",
        }
        for i in range(3)
    ]


def test_firebase_fast_reader_equals_the_row_by_row_one(tmp_path):
    rows = _day_lines("20240501")
    payload = ("\n".join(json.dumps(r) for r in rows) + "\n").encode()
    fast = _read_fast(payload, False, False, "20240501")
    assert fast is not None and fast.schema == SCHEMA
    expected = [{k: v for k, v in r.items() if k != "extra_field"} for r in rows]
    assert fast.equals(pa.Table.from_pylist(expected, schema=SCHEMA))
    # gzipped (inflated by Arrow), as two gzip members (`cat a.gz b.gz` is one valid gzip file): the same rows
    packed = gzip.compress(payload[:-1]) + gzip.compress(payload[-1:])
    assert _read_fast(packed, True, False, "20240501").equals(fast)
    # a cut file is never read short: refused, named as such
    path = tmp_path / "events_20240501.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(MalformedExport, match="cut or corrupt gzip"):
        read_day(_Item({"file_url": str(path), "read_bytes": path.read_bytes}), date(2024, 5, 1))


def test_a_firebase_line_longer_than_arrows_block_is_still_read(tmp_path):
    rows = _day_lines("20240501")
    rows[1]["event_params"].append({"key": "search_query", "value": {"string_value": "x" * (3 << 20)}})
    path = tmp_path / "events_20240501.jsonl.gz"
    path.write_bytes(gzip.compress(("\n".join(json.dumps(r) for r in rows) + "\n").encode()))
    table = read_day(_Item({"file_url": str(path), "read_bytes": path.read_bytes}), date(2024, 5, 1))
    assert table.num_rows == 3
    assert len(table.column("event_params").to_pylist()[1][1]["value"]["string_value"]) == 3 << 20


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.update(event_timestamp=str(r["event_timestamp"])),  # BigQuery's INT64 as text: converted
        lambda r: r.update(event_date="20240502"),  # another day: refused, with its line
        lambda r: r.pop("event_name"),  # a required field missing: refused, with its line
    ],
)
def test_firebase_rows_the_fast_reader_refuses_go_row_by_row(tmp_path, change):
    rows = _day_lines("20240501")
    change(rows[1])
    payload = ("\n".join(json.dumps(r) for r in rows) + "\n").encode()
    assert _read_fast(payload, False, False, "20240501") is None
    path = tmp_path / "events_20240501.jsonl.gz"
    path.write_bytes(gzip.compress(payload))
    item = {"file_url": str(path), "read_bytes": path.read_bytes}
    try:
        table = read_day(_Item(item), date(2024, 5, 1))
    except MalformedExport as exc:
        assert exc.line == 2
    else:
        assert table.column("event_timestamp").to_pylist()[1] == 1714557600000001


class _Item(dict):
    def read_bytes(self) -> bytes:
        return self["read_bytes"]()
