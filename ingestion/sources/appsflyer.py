"""AppsFlyer Pull API (v5): raw installs and in-app events, daily and partner aggregate reports.

Every report is a `text/csv` answer with human headers ("Install Time",
"Media Source (pid)", "Campaign (c)"...), renamed to snake_case and typed here.
For each app (iOS and Android ids, a config list) and report, the window is
`[last pulled day - repull_days, end_date]` (end_date: yesterday UTC by
default), so late attribution is re-pulled; `merge` on natural keys
makes re-pulled days replace what was loaded, never duplicate:
- installs / in-app events: app_id + appsflyer_id + event_time + event_name;
- daily report: app_id + date + agency + media_source + campaign;
- partner report (its own schema, with the af_* event KPIs): app_id + date + agency + media_source.
Raw windows are cut to the API's caps (60 days for installs, 31 for in-app events).

Daily quotas (per app and report, reset 00:00 UTC): when AppsFlyer answers
"Limit reached", that app/report stops for this run (no retry: it would only
burn more quota), what was pulled is loaded, the cursor stays at the last
complete window, and a warning says when it resumes. Device identifiers (IP,
IDFA, IDFV, Android and advertising ids) are not loaded.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import dlt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.sources.helpers.requests import Response
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth

from .hints import column, columns
from .http import MAX_ATTEMPTS, MalformedPage, Problem, RateLimiter, VendorHttp, VendorHTTPError

VENDOR = "appsflyer"
DEFAULT_BASE_URL = "https://hq1.appsflyer.com"
log = logging.getLogger("pcdata.ingestion")

RENAMES = {
    "Media Source (pid)": "media_source",
    "Campaign (c)": "campaign",
    "Agency/PMD (af_prt)": "agency",
    "Loyal Users/Installs": "loyal_users_rate",
}
DROPPED = {"ip", "advertising_id", "idfa", "idfv", "android_id", "imei", "oaid", "amazon_fire_id", "user_agent"}
TIMESTAMPS = {"attributed_touch_time", "install_time", "event_time"}
FLOATS = {
    "event_revenue",
    "event_revenue_eur",
    "cost_value",
    "ctr",
    "conversion_rate",
    "loyal_users_rate",
    "total_revenue",
    "total_cost",
    "roi",
    "arpu",
    "average_ecpi",
}
INTS = {"impressions", "clicks", "installs", "sessions", "loyal_users"}
BOOLS = {"wifi", "is_retargeting", "is_receipt_validated"}
RAW_KEY = ("app_id", "appsflyer_id", "event_time", "event_name")
DAILY_KEY = ("app_id", "date", "agency", "media_source", "campaign")
PARTNER_KEY = ("app_id", "date", "agency", "media_source")


RAW_COLUMNS: TTableSchemaColumns = {
    **{
        c: column("text")
        for c in (
            "app_id",
            "appsflyer_id",
            "event_name",
            "event_value",
            "media_source",
            "channel",
            "campaign",
            "campaign_id",
            "adset",
            "ad",
            "customer_user_id",
            "platform",
            "city",
            "postal_code",
            "state",
            "country_code",
            "attributed_touch_type",
            "cost_currency",
            "app_version",
            "os_version",
        )
    },
    **columns(TIMESTAMPS, "timestamp"),
    **columns(("cost_value", "event_revenue"), "double"),
    "is_retargeting": {"data_type": "bool"},
}
AGG_COLUMNS: TTableSchemaColumns = {
    "date": {"data_type": "date"},
    **{c: column("text") for c in ("app_id", "agency", "media_source")},
    **columns(INTS, "bigint"),
    **columns(FLOATS - {"event_revenue", "event_revenue_eur", "cost_value"}, "double"),
}
DAILY_COLUMNS: TTableSchemaColumns = {**AGG_COLUMNS, "campaign": column("text")}
PARTNER_EVENTS = ("af_complete_registration", "af_complete_beneficiary", "af_open_app")
PARTNER_COLUMNS: TTableSchemaColumns = {
    **AGG_COLUMNS,
    **columns([f"{e}_{m}" for e in PARTNER_EVENTS for m in ("unique_users", "event_counter")], "bigint"),
    **columns([f"{e}_sales_in_eur" for e in PARTNER_EVENTS], "double"),
}


def snake(header: str) -> str:
    if header in RENAMES:
        return RENAMES[header]
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


NULLS = ("", "N/A", "None")  # what AppsFlyer writes for "no value"
KEPT_AS_WRITTEN = ("campaign", "agency")  # part of the aggregate keys: "" and "None" (organic) are values there
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
UTC_MICROS = pa.timestamp("us", tz="UTC")


def _typed(name: str, text: pa.Array) -> pa.Array:
    """One CSV column (read as text) typed by its name, vectorised; AppsFlyer's null spellings become NULL."""
    if name in KEPT_AS_WRITTEN:
        return text
    text = pc.if_else(pc.is_in(text, value_set=pa.array(NULLS)), pa.scalar(None, pa.string()), text)
    if name in TIMESTAMPS:
        return pc.strptime(pc.utf8_slice_codeunits(text, 0, 19), format=TIME_FORMAT, unit="us").cast(UTC_MICROS)
    if name == "date":
        return pc.strptime(pc.utf8_slice_codeunits(text, 0, 10), format="%Y-%m-%d", unit="s").cast(pa.date32())
    if name in FLOATS or name.endswith("_sales_in_eur"):
        return text.cast(pa.float64())
    if name in INTS or name.endswith(("_unique_users", "_event_counter")):
        # Facebook ids and counts may come back as floats ("12.0"): truncated as int(float(x)) would
        return pc.trunc(text.cast(pa.float64())).cast(pa.int64())
    if name in BOOLS:
        return pc.equal(pc.utf8_lower(text), "true")
    return text


def parse_csv(response: Response) -> pa.Table:
    """The report as one Arrow table, snake_cased and typed (pyarrow's CSV reader, no row of Python);
    a cut body or a line with the wrong number of fields is a MalformedPage.

    Columns that are empty on every line are left out, as dlt leaves out a key that is never set:
    never-filled vendor columns do not clutter the schema (hinted columns exist anyway)."""
    body = response.content.removeprefix(codecs.BOM_UTF8)
    if body and not body.endswith(b"\n"):
        raise MalformedPage("the CSV does not end with a line break (cut answer)")
    header = next(csv.reader(io.StringIO(body[: body.find(b"\n")].decode("utf-8"))), None) if body.strip() else None
    if not header:
        return pa.table({})
    names = [snake(h) for h in header]
    kept = [n for n in names if n not in DROPPED]
    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                include_columns=kept,
                column_types=dict.fromkeys(kept, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:  # "Expected 56 columns, got 12", an unterminated quote...
        raise MalformedPage(f"unreadable CSV ({exc})") from None
    try:
        columns = {n: _typed(n, table.column(n).combine_chunks()) for n in kept}
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:  # a number or a time that is not one
        raise MalformedPage(f"a value of the wrong type ({exc})") from None
    return pa.table({n: c for n, c in columns.items() if c.null_count < len(c) or not len(c)})


def _keyed(rows: pa.Table, app_id: str, key: tuple[str, ...]) -> pa.Table:
    """The report's rows with the app they were asked for where the CSV names none, and the merge key's
    columns declared NOT NULL, as the table is (a NULL there fails the load, as it failed dlt's rows)."""
    asked = pa.scalar(app_id, pa.string())
    if "app_id" not in rows.column_names:
        rows = rows.append_column("app_id", pa.array([app_id] * rows.num_rows, pa.string()))
    else:
        rows = rows.set_column(rows.column_names.index("app_id"), "app_id", pc.coalesce(rows.column("app_id"), asked))
    return rows.cast(pa.schema([f.with_nullable(f.name not in key) for f in rows.schema]))


class QuotaReached(RuntimeError):
    pass


def _limit_reached(response: Response) -> bool:
    return response.status_code in (400, 403, 429) and b"limit reached" in response.content[:500].lower()


def appsflyer_check(response: Response) -> Problem | None:
    """A daily quota answered (even as a 429) is final: asking again would burn quota for nothing.
    A success must be a whole CSV: a cut one is asked again."""
    if _limit_reached(response):
        return Problem(f"HTTP {response.status_code}: {response.text[:200].strip()}")
    if response.status_code < 400:
        try:
            response.rows = parse_csv(response)  # type: ignore[attr-defined]  # kept: a report may be 1M rows
        except ValueError as exc:
            return Problem(f"unreadable page ({exc})", retry=True)
    return None


def _windows(start: date, end: date, days: int) -> Iterator[tuple[date, date]]:
    while start <= end:
        stop = min(end, start + timedelta(days=days - 1))
        yield start, stop
        start = stop + timedelta(days=1)


@dlt.source(name="appsflyer")
def appsflyer(
    api_token: str = dlt.secrets.value,
    app_ids: list[str] = dlt.config.value,
    base_url: str = DEFAULT_BASE_URL,
    start_date: str | None = None,
    end_date: str | None = None,
    repull_days: int = 14,
    installs_window_days: int = 60,
    events_window_days: int = 31,
    aggregate_window_days: int = 3650,
    calls_per_minute: float = 1.0,
    maximum_rows: int = 1_000_000,
    timeout: float = 300,
    max_attempts: int = MAX_ATTEMPTS,
):
    """`app_ids`: the iOS id (id…) and the Android package; `start_date`: first day of the first run
    (default: 89 days ago, the raw data horizon); `end_date`: last day pulled (default yesterday, UTC)."""
    if isinstance(app_ids, str):
        app_ids = [a.strip() for a in app_ids.split(",") if a.strip()]
    limiters: dict[str, RateLimiter] = {}

    def pace(request) -> tuple[RateLimiter, ...]:
        # the aggregate Pull API allows one call per minute per app and report; raw data has daily quotas only
        path = urlsplit(request.url).path
        if "/api/agg-data/" not in path:
            return ()
        return (limiters.setdefault(path, RateLimiter(max(1, round(calls_per_minute * 60)), 3600.0)),)

    http = VendorHttp(
        VENDOR,
        base_url=base_url,
        auth=BearerTokenAuth(api_token),
        headers={"Accept": "text/csv"},
        limiter=pace,
        check=appsflyer_check,
        timeout=timeout,
        max_attempts=max_attempts,
        secrets=[api_token],
    )

    def report(kind: str, app_id: str, name: str, start: date, end: date) -> pa.Table:
        params = {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "timezone": "UTC",
            "currency": "preferred",
            "maximum_rows": str(maximum_rows),
        }
        try:
            response = http.get(f"api/{kind}/export/app/{app_id}/{name}/v5", params=params)
            rows = getattr(response, "rows", None)
            if rows is None:
                rows = parse_csv(response)
        except VendorHTTPError as err:
            if err.response is not None and _limit_reached(err.response):
                raise QuotaReached(
                    f"appsflyer: daily quota reached for {name} of app {app_id} "
                    f"(HTTP {err.status_code}: {err.response.text[:200].strip()})"
                ) from None
            raise
        if rows.num_rows >= maximum_rows:
            log.warning(
                "appsflyer: %s of %s from %s to %s hit maximum_rows=%d: the report is cut, use shorter windows",
                name,
                app_id,
                start,
                end,
                maximum_rows,
            )
        return rows

    last = date.fromisoformat(end_date) if end_date else datetime.now(UTC).date() - timedelta(days=1)
    first = date.fromisoformat(start_date) if start_date else last - timedelta(days=89)

    def pull(kind: str, name: str, window_days: int, key: tuple[str, ...]) -> Iterator[pa.Table]:
        state = dlt.current.resource_state().setdefault("pulled_until", {})
        for app_id in app_ids:
            done = state.get(app_id)
            # re-pull the last `repull_days` days already loaded: late data replaces them (merge)
            start = first if done is None else max(first, date.fromisoformat(done) + timedelta(days=1 - repull_days))
            for a, b in _windows(start, last, window_days):
                try:
                    rows = report(kind, app_id, name, a, b)
                except QuotaReached as exc:
                    log.warning(
                        "%s; loaded up to %s, the rest (%s to %s) is pulled on the next run after 00:00 UTC",
                        exc,
                        state.get(app_id, "nothing"),
                        a,
                        last,
                    )
                    dlt.current.resource_state().setdefault("quota_reached", {})[app_id] = datetime.now(UTC).isoformat()
                    break
                if rows.num_rows:
                    yield _keyed(rows, app_id, key)
                state[app_id] = max(b.isoformat(), state.get(app_id) or "")

    @dlt.resource(name="installs", primary_key=RAW_KEY, write_disposition="merge", columns=RAW_COLUMNS)
    def installs() -> Iterator[pa.Table]:
        yield from pull("raw-data", "installs_report", installs_window_days, RAW_KEY)

    @dlt.resource(name="in_app_events", primary_key=RAW_KEY, write_disposition="merge", columns=RAW_COLUMNS)
    def in_app_events() -> Iterator[pa.Table]:
        yield from pull("raw-data", "in_app_events_report", events_window_days, RAW_KEY)

    @dlt.resource(name="daily_report", primary_key=DAILY_KEY, write_disposition="merge", columns=DAILY_COLUMNS)
    def daily_report() -> Iterator[pa.Table]:
        yield from pull("agg-data", "daily_report", aggregate_window_days, DAILY_KEY)

    @dlt.resource(name="partners_report", primary_key=PARTNER_KEY, write_disposition="merge", columns=PARTNER_COLUMNS)
    def partners_report() -> Iterator[pa.Table]:
        yield from pull("agg-data", "partners_by_date_report", aggregate_window_days, PARTNER_KEY)

    return installs, in_app_events, daily_report, partners_report
