"""AppsFlyer Pull API (v5) sandbox.

Contract (support.appsflyer.com "Report generation
quotas"): `Authorization: Bearer <API token V2>`; every report answers
`text/csv` with human headers ("Install Time", "Media Source (pid)",
"Campaign (c)", "af_complete_beneficiary (Unique users)"...).
- raw data: `GET /api/raw-data/export/app/{app_id}/{installs_report|in_app_events_report|uninstall_events_report}/v5`
- aggregate: `GET /api/agg-data/export/app/{app_id}/{daily_report|partners_by_date_report}/v5`
with `from`/`to` (YYYY-MM-DD, inclusive), `timezone`, `currency`, `maximum_rows`
(200 000 by default: longer reports are cut, as AppsFlyer does).
Quotas per app, per report, per UTC day: installs 24, in-app events 12,
aggregate reports 24 (ranges of 3+ days). Over quota the answer is HTTP 403
with a plain-text "Limit reached for <report>..." body (exact status and text
unverified: AppsFlyer documents the quotas, not the error; clients must match
the text, not the status). Counts reset at 00:00 UTC (or by `/_sandbox/reset`).
Sandbox simplification: the 90-day raw-data horizon and the 60/31-day window
caps are not enforced (the world's history is older than the real "today").
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections import defaultdict
from datetime import UTC, date, datetime

import numpy as np

from sandbox.framework import Request, Response, VendorSandbox
from sandbox.world.campaigns import AGENCIES, APPS, Marketing, build
from sandbox.world.table import Table

RAW_HEADERS = [
    "Attributed Touch Type",
    "Attributed Touch Time",
    "Install Time",
    "Event Time",
    "Event Name",
    "Event Value",
    "Event Revenue",
    "Event Revenue Currency",
    "Event Revenue EUR",
    "Event Source",
    "Is Receipt Validated",
    "Partner",
    "Media Source",
    "Channel",
    "Keywords",
    "Campaign",
    "Campaign ID",
    "Adset",
    "Adset ID",
    "Ad",
    "Ad ID",
    "Ad Type",
    "Site ID",
    "Sub Site ID",
    "Cost Model",
    "Cost Value",
    "Cost Currency",
    "Region",
    "Country Code",
    "State",
    "City",
    "Postal Code",
    "DMA",
    "IP",
    "WIFI",
    "Operator",
    "Carrier",
    "Language",
    "AppsFlyer ID",
    "Advertising ID",
    "IDFA",
    "Android ID",
    "Customer User ID",
    "IDFV",
    "Platform",
    "Device Type",
    "OS Version",
    "App Version",
    "SDK Version",
    "App ID",
    "App Name",
    "Bundle ID",
    "Is Retargeting",
    "Attribution Lookback",
    "Match Type",
    "Device Category",
]
KPI_HEADERS = [
    "Impressions",
    "Clicks",
    "CTR",
    "Installs",
    "Conversion Rate",
    "Sessions",
    "Loyal Users",
    "Loyal Users/Installs",
    "Total Revenue",
    "Total Cost",
    "ROI",
    "ARPU",
    "Average eCPI",
]
DAILY_HEADERS = ["Date", "Agency/PMD (af_prt)", "Media Source (pid)", "Campaign (c)", *KPI_HEADERS]
PARTNER_EVENTS = ("af_complete_registration", "af_complete_beneficiary", "af_open_app")
PARTNER_HEADERS = [
    "Date",
    "Agency/PMD (af_prt)",
    "Media Source (pid)",
    *KPI_HEADERS,
    *[f"{e} ({m})" for e in PARTNER_EVENTS for m in ("Unique users", "Event counter", "Sales in EUR")],
]
QUOTAS = {
    "installs_report": 24,
    "uninstall_events_report": 24,
    "in_app_events_report": 12,
    "daily_report": 24,
    "partners_by_date_report": 24,
}
DEFAULT_MAX_ROWS = 200_000


def _ratio(a: float, b: float, digits: int = 4) -> str:
    return "N/A" if not b else f"{a / b:.{digits}f}"


def _by_app_and_day(table: Table, time_key: str) -> tuple[Table, np.ndarray, np.ndarray, dict[str, int]]:
    """A report's rows with their app (as a code) and day (as an ordinal) in columns beside: a request's
    window is then found on these columns, and only its rows are made into dicts."""
    if not len(table):
        return table, np.zeros(0, dtype=np.int16), np.zeros(0, dtype=np.int32), {}
    codes, app_ids = table.codes("app_id")
    app_codes = {app: code for code, app in enumerate(sorted(app_ids))}
    apps = np.array([app_codes[a] for a in app_ids], dtype=np.int16)[codes]
    if table.kind(time_key) == "time":  # a raw report's datetimes, read as numbers: no datetime per row
        days = table.times(time_key).astype("datetime64[D]").astype(np.int32) + _ORDINAL_1970
    else:  # an aggregate report's dates: a row per app, day and campaign
        days = np.array([d.toordinal() for d in table.column(time_key)], dtype=np.int32)
    return table, apps, days, app_codes


_ORDINAL_1970 = date(1970, 1, 1).toordinal()


class AppsflyerSandbox(VendorSandbox):
    name = "appsflyer"
    rate_limit = (60, 60.0)  # beyond the daily quotas: "one call per minute" per app per report for short ranges

    def __init__(self, world, api_key, seed=0, files_dir=None):
        super().__init__(world, api_key, seed, files_dir)
        self.mkt = world.slice("marketing", build)
        self.apps = {app_id: platform for platform, app_id in APPS.items()}
        self.quota_used: dict[tuple[str, str, date], int] = defaultdict(int)
        self._quota_lock = threading.Lock()
        self._raw_index = {
            "installs_report": _by_app_and_day(self.mkt.installs, "install_time"),
            "in_app_events_report": _by_app_and_day(self.mkt.in_app_events, "event_time"),
        }
        self._aggregate_index = {
            report: _by_app_and_day(rows, "day")
            for report, rows in world.slice("appsflyer_reports", build_reports).items()
        }

    @classmethod
    def client_config(cls, base_url, api_key, files_dir):
        # the world's history starts in 2023: backfill it in year-long windows
        # (the real API caps raw windows at 60/31 days); a retried aggregate call need not wait the real
        # minute per report: the sandbox allows 60 calls a minute in all
        return {
            "base_url": base_url,
            "api_token": api_key,
            "app_ids": json.dumps([APPS["ios"], APPS["android"]]),
            "start_date": "2023-01-01",
            "installs_window_days": "366",
            "events_window_days": "366",
            "calls_per_minute": "60",
        }

    def routes(self):
        return [
            (
                "GET",
                r"/api/raw-data/export/app/(?P<app_id>[^/]+)/(?P<report>installs_report|in_app_events_report|uninstall_events_report)/v5",
                self.raw,
            ),
            (
                "GET",
                r"/api/agg-data/export/app/(?P<app_id>[^/]+)/(?P<report>daily_report|partners_by_date_report)/v5",
                self.aggregate,
            ),
        ]

    # --- contract shapes -------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        if req.headers.get("authorization") != f"Bearer {self.api_key}":
            return Response.text("Unauthorized: the API token is missing, invalid or was revoked", 401)
        return None

    def too_many_requests(self, retry_after: float) -> Response:
        return Response.text("Too Many Requests", 429, headers={"Retry-After": str(max(1, round(retry_after)))})

    def server_error(self, status: int) -> Response:
        return Response.text("Internal Server Error", status)

    def not_found(self, req: Request) -> Response:
        return Response.text("Not Found", 404)

    def reset(self) -> None:
        super().reset()
        with self._quota_lock:
            self.quota_used.clear()

    def _check(self, req: Request, app_id: str, report: str) -> tuple[date, date, int] | Response:
        if app_id not in self.apps:
            return Response.text(f"App {app_id} was not found in your account", 404)
        try:
            start = date.fromisoformat((req.arg("from") or "")[:10])
            end = date.fromisoformat((req.arg("to") or "")[:10])
            max_rows = int(req.arg("maximum_rows") or DEFAULT_MAX_ROWS)
        except ValueError:
            return Response.text("Invalid request: 'from' and 'to' are required dates (yyyy-mm-dd)", 400)
        if end < start:
            return Response.text("Invalid request: 'to' is before 'from'", 400)
        key = (app_id, report, datetime.now(UTC).date())
        with self._quota_lock:
            if self.quota_used[key] >= QUOTAS[report]:
                return Response.text(
                    f"Limit reached for {report}: you have reached the maximum number of reports "
                    f"({QUOTAS[report]}) that can be generated today for app {app_id}. "
                    "Quotas reset at 00:00 UTC.",
                    403,
                )
            self.quota_used[key] += 1
        return start, end, max_rows

    def _csv(self, headers: list[str], rows: list[list], max_rows: int) -> Response:
        if self.faults.schema_drift:
            headers = [*headers, "Store Reinstall"]
            rows = [[*r, "false"] for r in rows]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows[:max_rows])
        return Response.text(out.getvalue(), content_type="text/csv")

    # --- raw data ---------------------------------------------------------------------------
    def raw(self, req: Request, app_id: str, report: str) -> Response:
        checked = self._check(req, app_id, report)
        if isinstance(checked, Response):
            return checked
        start, end, max_rows = checked
        if report not in self._raw_index:
            return self._csv(RAW_HEADERS, [], max_rows)
        table, apps, days, app_codes = self._raw_index[report]
        # the window's rows found on the (app, day) columns: only they are made into dicts
        wanted = (apps == app_codes.get(app_id, -1)) & (days >= start.toordinal()) & (days <= end.toordinal())
        selected = table.take(np.flatnonzero(wanted))
        if report == "installs_report":
            records = (dict(i, event_name="install", event_time=i["install_time"], event_value="") for i in selected)
        else:
            records = iter(selected)
        rows = [self._raw_row(r) for r in records]
        rows.reverse()  # AppsFlyer lists the most recent first
        return self._csv(RAW_HEADERS, rows, max_rows)

    def _raw_row(self, r: dict) -> list:
        c, commune, ios = r["campaign"], r["commune"], r["platform"] == "ios"
        fmt = "%Y-%m-%d %H:%M:%S"
        values = {
            "Attributed Touch Type": r["touch_type"],
            "Attributed Touch Time": r["touch_time"].strftime(fmt),
            "Install Time": r["install_time"].strftime(fmt),
            "Event Time": r["event_time"].strftime(fmt),
            "Event Name": r["event_name"],
            "Event Value": r["event_value"],
            "Event Source": "SDK",
            "Media Source": c["media_source"],
            "Channel": c["af_channel"],
            "Campaign": c["utm"],
            "Campaign ID": c["af_campaign_id"],
            "Adset": f"{c['utm']}_adset",
            "Ad": f"{c['utm']}_ad",
            "Cost Model": "CPI" if r["cost"] is not None else "",
            "Cost Value": "" if r["cost"] is None else f"{r['cost']:.2f}",
            "Cost Currency": "EUR" if r["cost"] is not None else "",
            "Region": "EU",
            "Country Code": "FR",
            "State": commune.department_code,
            "City": commune.city,
            "Postal Code": commune.postcode,
            "IP": "",
            "WIFI": "true",
            "Language": "fr-FR",
            "AppsFlyer ID": r["appsflyer_id"],
            "Customer User ID": str(r["user_id"]),
            "Platform": r["platform"],
            "Device Type": "iPhone" if ios else "Samsung SM-A536B",
            "OS Version": r["os_version"],
            "App Version": r["app_version"],
            "SDK Version": "v6.15.0",
            "App ID": r["app_id"],
            "App Name": "pass Culture",
            "Bundle ID": "app.passculture" if ios else r["app_id"],
            "Is Retargeting": "false",
            "Attribution Lookback": "7d",
            "Match Type": "id_matching" if r["touch_type"] == "click" else "probabilistic",
            "Device Category": "phone",
        }
        return [values.get(h, "") for h in RAW_HEADERS]

    def aggregate(self, req: Request, app_id: str, report: str) -> Response:
        checked = self._check(req, app_id, report)
        if isinstance(checked, Response):
            return checked
        start, end, max_rows = checked
        table, apps, days, app_codes = self._aggregate_index[report]
        wanted = (apps == app_codes.get(app_id, -1)) & (days >= start.toordinal()) & (days <= end.toordinal())
        rows = [r["row"] for r in table.take(np.flatnonzero(wanted))]
        return self._csv(DAILY_HEADERS if report == "daily_report" else PARTNER_HEADERS, rows, max_rows)


# --- aggregate reports -------------------------------------------------------------------
def _aggregates(mkt: Marketing) -> tuple[dict[tuple, dict], dict[tuple, dict]]:
    """The daily and partners-by-date reports' figures by key (app, day, agency, media source[, campaign])."""
    by_utm = mkt.campaign_by_utm()
    daily: dict[tuple, dict] = defaultdict(lambda: defaultdict(float))
    for s in mkt.ad_spend:
        utm = s["utm"]
        d = daily[(APPS[s["platform"]], s["day"], AGENCIES[by_utm[utm]["id"] % 3], by_utm[utm]["media_source"], utm)]
        for k in ("impressions", "clicks", "cost"):
            d[k] += s[k]
    for i in mkt.installs:
        c = i["campaign"]
        d = daily[(i["app_id"], i["install_time"].date(), AGENCIES[c["id"] % 3], c["media_source"], c["utm"])]
        d["installs"] += 1
        d["sessions"] += 3
        d["loyal"] += 1 if (i["user_id"] % 3) else 0
    for i in mkt.organic_installs:
        d = daily[(i["app_id"], i["install_time"].date(), "", "Organic", "None")]
        d["installs"] += 1
        d["sessions"] += 2
    partners: dict[tuple, dict] = defaultdict(lambda: defaultdict(float))
    for (app_id, day, agency, source, _utm), d in daily.items():
        p = partners[(app_id, day, agency, source)]
        for k, v in d.items():
            p[k] += v
    for e in mkt.in_app_events:
        c = e["campaign"]
        p = partners[(e["app_id"], e["event_time"].date(), AGENCIES[c["id"] % 3], c["media_source"])]
        p[f"{e['event_name']}:users"] += 1
        p[f"{e['event_name']}:count"] += 1
    return daily, partners


def _kpis(d: dict) -> list:
    imp, clk, inst, cost = d.get("impressions", 0), d.get("clicks", 0), d.get("installs", 0), d.get("cost", 0.0)
    return [
        int(imp),
        int(clk),
        _ratio(clk, imp),
        int(inst),
        _ratio(inst, clk),
        int(d.get("sessions", 0)),
        int(d.get("loyal", 0)),
        _ratio(d.get("loyal", 0), inst),
        "0.00",
        f"{cost:.2f}",
        _ratio(-cost, cost, 2) if cost else "N/A",
        "0.00",
        _ratio(cost, inst, 2),
    ]


def _partner_kpis(d: dict) -> list:
    events = []
    for e in PARTNER_EVENTS:
        events += [int(d.get(f"{e}:users", 0)), int(d.get(f"{e}:count", 0)), "0.00"]
    return [*_kpis(d), *events]


def build_reports(world, rng) -> dict[str, Table]:
    """The aggregate reports' CSV rows, rendered once in key order beside their app and day: a slice of
    the world (`world.slice("appsflyer_reports", ...)`), so a restart reads them with the world it keeps."""
    daily, partners = _aggregates(world.slice("marketing", build))
    return {
        "daily_report": Table.from_rows(
            {"app_id": app, "day": day, "row": [day.isoformat(), agency, source, utm, *_kpis(d)]}
            for (app, day, agency, source, utm), d in sorted(daily.items())
        ),
        "partners_by_date_report": Table.from_rows(
            {"app_id": app, "day": day, "row": [day.isoformat(), agency, source, *_partner_kpis(d)]}
            for (app, day, agency, source), d in sorted(partners.items())
        ),
    }


def world_counts(world) -> dict:
    """What a full load must hold, for tests: rows per report and app."""
    mkt = world.slice("marketing", build)
    reports = world.slice("appsflyer_reports", build_reports)
    return {
        "installs": len(mkt.installs),
        "in_app_events": len(mkt.in_app_events),
        "daily_report": len(reports["daily_report"]),
        "partners_report": len(reports["partners_by_date_report"]),
    }
