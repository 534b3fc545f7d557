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

import csv
import io
import logging
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import dlt
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


def _value(name: str, raw: str):
    if raw in ("", "N/A", "None") and name not in ("campaign", "agency"):
        return None
    if name in TIMESTAMPS:
        return datetime.strptime(raw[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    if name == "date":
        return date.fromisoformat(raw[:10])
    if name in FLOATS or name.endswith("_sales_in_eur"):
        return float(raw)
    if name in INTS or name.endswith(("_unique_users", "_event_counter")):
        return int(float(raw))  # Facebook ids and counts may come back as floats
    if name in BOOLS:
        return raw.lower() == "true"
    return raw


def parse_csv(response: Response) -> list[dict]:
    """The report's rows, snake_cased and typed; a cut body is a MalformedPage."""
    text = response.content.decode("utf-8-sig")
    if text and not text.endswith("\n"):
        raise MalformedPage("the CSV does not end with a line break (cut answer)")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return []
    names = [snake(h) for h in header]
    rows = []
    for line in reader:
        if len(line) != len(names):
            raise MalformedPage(f"a CSV line has {len(line)} fields, the header {len(names)}")
        # empty fields are left out: dlt makes them NULL, and never-filled vendor columns do not clutter the schema
        row = {n: _value(n, v) for n, v in zip(names, line, strict=True) if n not in DROPPED}
        rows.append({n: v for n, v in row.items() if v is not None})
    return rows


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

    def report(kind: str, app_id: str, name: str, start: date, end: date) -> list[dict]:
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
        if len(rows) >= maximum_rows:
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

    def pull(kind: str, name: str, window_days: int) -> Iterator[list[dict]]:
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
                for r in rows:
                    r["app_id"] = r.get("app_id") or app_id
                    for k in ("agency", "campaign"):
                        if k in r and r[k] is None:
                            r[k] = ""
                if rows:
                    yield rows
                state[app_id] = max(b.isoformat(), state.get(app_id) or "")

    @dlt.resource(name="installs", primary_key=RAW_KEY, write_disposition="merge", columns=RAW_COLUMNS)
    def installs() -> Iterator[list[dict]]:
        yield from pull("raw-data", "installs_report", installs_window_days)

    @dlt.resource(name="in_app_events", primary_key=RAW_KEY, write_disposition="merge", columns=RAW_COLUMNS)
    def in_app_events() -> Iterator[list[dict]]:
        yield from pull("raw-data", "in_app_events_report", events_window_days)

    @dlt.resource(name="daily_report", primary_key=DAILY_KEY, write_disposition="merge", columns=DAILY_COLUMNS)
    def daily_report() -> Iterator[list[dict]]:
        yield from pull("agg-data", "daily_report", aggregate_window_days)

    @dlt.resource(name="partners_report", primary_key=PARTNER_KEY, write_disposition="merge", columns=PARTNER_COLUMNS)
    def partners_report() -> Iterator[list[dict]]:
        yield from pull("agg-data", "partners_by_date_report", aggregate_window_days)

    return installs, in_app_events, daily_report, partners_report
