"""Batch push notifications (MEP API 1.1): campaigns with their UTM tag, campaign stats, transactional stats.

One Live API key per app (iOS, Android: the `api_keys` secret, a mapping
platform -> key) goes in the URL path, the company REST key in
`X-Authorization`. Campaigns are listed with `from`/`limit` offset paging
(until a short page), then each campaign's detail gives its deeplink, from
which `utm_campaign` is parsed (A/B campaigns: one per version); stats are
asked for live campaigns only. Transactional stats per group are pulled by
date window (6 months at most per call), re-pulling the last `repull_days` (the window: `ingestion.registry`).

Batch answers 429 "wait at least 5 seconds" without a Retry-After header: the
shared session waits `rate_limit_wait` seconds (5) before its retry. The Live keys
are secrets sitting in URL paths: they are given to the shared session as secrets,
so every error shows them as `***`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import dlt
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.sources.helpers.rest_client.auth import APIKeyAuth

from .hints import column, columns
from .http import MAX_ATTEMPTS, RateLimiter, ShortPageOffsetPaginator, VendorHttp

VENDOR = "batch"
DEFAULT_BASE_URL = "https://api.batch.com"
GROUPS = ["Cancel_booking", "Offer_link", "Soon_expiring_bookings", "Today_stock", "Favorites_not_booked"]
STAT_FIELDS = ("sent", "sent_optins", "direct_open", "influenced_open", "reengaged", "errors")
log = logging.getLogger("pcdata.ingestion")


CAMPAIGN_COLUMNS: TTableSchemaColumns = {
    **{
        c: column("text")
        for c in ("campaign_token", "operating_system", "name", "utm_campaign", "utm_campaign_version_b", "tags")
    },
    "created_date": {"data_type": "timestamp"},
    "push_time": {"data_type": "timestamp"},
    "live": {"data_type": "bool"},
    "dev_only": {"data_type": "bool"},
    "from_api": {"data_type": "bool"},
    "is_ab_test": {"data_type": "bool"},
    "updated_at": {"data_type": "timestamp"},
}
STATS_COLUMNS: TTableSchemaColumns = {
    "campaign_token": column("text"),
    "operating_system": column("text"),
    "version": column("text"),
    "date": {"data_type": "date"},
    **columns(STAT_FIELDS, "bigint"),
    "updated_at": {"data_type": "timestamp"},
}
TRANSAC_COLUMNS: TTableSchemaColumns = {
    "group_id": column("text"),
    "operating_system": column("text"),
    "date": {"data_type": "date"},
    **columns(("sent", "direct_open", "influenced_open", "reengaged", "errors"), "bigint"),
    "updated_at": {"data_type": "timestamp"},
}


def utm_campaign(message: dict | None) -> str | None:
    link = (message or {}).get("deeplink") or ""
    values = parse_qs(urlsplit(link).query).get("utm_campaign")
    return values[0] if values else None


def _messages(messages) -> tuple[dict | None, dict | None, bool]:
    """(message A, message B, is_ab) from a list or an A/B object."""
    if isinstance(messages, dict):
        a, b = messages.get("a") or [], messages.get("b") or []
        return (a[0] if a else None), (b[0] if b else None), True
    return ((messages or [None])[0]), None, False


def _timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@dlt.source(name="batch")
def batch(
    rest_api_key: str = dlt.secrets.value,
    api_keys: dict[str, str] = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    groups: list[str] | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    repull_days: int = 7,
    page_size: int = 100,
    calls_per_minute: int = 240,
    rate_limit_wait: float = 5,
    timeout: float = 60,
    max_attempts: int = MAX_ATTEMPTS,
):
    """`api_keys`: {"ios": <Live API key>, "android": <Live API key>}; transactional stats start at
    `start_date` on the first run (default: 30 days ago) and end at `end_date` (default yesterday, UTC)."""
    http = VendorHttp(
        VENDOR,
        base_url=f"{base_url.rstrip('/')}/1.1",
        auth=APIKeyAuth(name="X-Authorization", api_key=rest_api_key, location="header"),
        headers={"Content-Type": "application/json"},
        limiter=RateLimiter(calls_per_minute, 60.0),
        default_wait=rate_limit_wait,  # Batch's 429 says "wait at least 5 seconds" and carries no Retry-After
        timeout=timeout,
        max_attempts=max_attempts,
        secrets=[rest_api_key, *api_keys.values()],
    )

    def get(api_key: str, path: str, **params):
        return http.get(f"{api_key}/{path}", params=params).json()

    groups = groups or GROUPS
    last = date.fromisoformat(end_date) if end_date else datetime.now(UTC).date() - timedelta(days=1)
    first = date.fromisoformat(start_date) if start_date else last - timedelta(days=30)
    now = datetime.now(UTC)
    live: list[tuple[str, str, str]] = []  # (platform, api key, token) of live campaigns, filled by `campaigns`

    def listed(api_key: str) -> Iterator[dict]:
        paginator = ShortPageOffsetPaginator(page_size, offset_param="from")
        for page in http.paginate(f"{api_key}/campaigns/list", paginator=paginator, data_selector="$"):
            yield from page

    @dlt.resource(name="campaigns", primary_key="campaign_token", write_disposition="merge", columns=CAMPAIGN_COLUMNS)
    def campaigns() -> Iterator[list[dict]]:
        for platform, api_key in sorted(api_keys.items()):
            rows = []
            for item in listed(api_key):
                detail = get(api_key, f"campaigns/{item['campaign_token']}")
                a, b, ab = _messages(detail.get("messages"))
                rows.append(
                    {
                        "campaign_token": item["campaign_token"],
                        "operating_system": platform,
                        "name": detail.get("name"),
                        "created_date": _timestamp(detail.get("created_date")),
                        "push_time": _timestamp(detail.get("push_time")),
                        "live": bool(detail.get("live")),
                        "dev_only": bool(detail.get("dev_only")),
                        "from_api": bool(detail.get("from_api")),
                        "tags": ",".join(detail.get("labels") or []),
                        "utm_campaign": utm_campaign(a),
                        "utm_campaign_version_b": utm_campaign(b),
                        "is_ab_test": ab,
                        "updated_at": now,
                    }
                )
                if detail.get("live"):
                    live.append((platform, api_key, item["campaign_token"]))
            yield rows

    @dlt.transformer(
        name="campaign_stats",
        data_from=campaigns,
        primary_key=("campaign_token", "date", "version"),
        write_disposition="merge",
        columns=STATS_COLUMNS,
    )
    def campaign_stats(_rows: list[dict]) -> Iterator[list[dict]]:
        while live:
            platform, api_key, token = live.pop(0)
            body = get(api_key, f"campaigns/stats/{token}")
            rows = []
            for day in body.get("detail") or []:
                base = {"campaign_token": token, "operating_system": platform, "date": day["date"], "updated_at": now}
                rows.append({**base, "version": "all", **{k: day.get(k) for k in STAT_FIELDS}})
                for version, counts in (day.get("versions") or {}).items():
                    rows.append({**base, "version": version, **{k: counts.get(k) for k in STAT_FIELDS}})
            if rows:
                yield rows

    @dlt.resource(
        name="transactional_stats",
        primary_key=("group_id", "operating_system", "date"),
        write_disposition="merge",
        columns=TRANSAC_COLUMNS,
    )
    def transactional_stats() -> Iterator[list[dict]]:
        state = dlt.current.resource_state().setdefault("pulled_until", {})
        for platform, api_key in sorted(api_keys.items()):
            done = state.get(platform)
            # re-pull the last `repull_days` days already loaded: late data replaces them (merge)
            start = first if done is None else max(first, date.fromisoformat(done) + timedelta(days=1 - repull_days))
            while start <= last:
                stop = min(last, start + timedelta(days=179))
                rows = []
                for group in groups:
                    body = get(api_key, f"transactional/stats/{group}", since=start.isoformat(), until=stop.isoformat())
                    rows += [
                        {
                            "group_id": group,
                            "operating_system": platform,
                            "date": d["date"],
                            "updated_at": now,
                            **{k: d.get(k) for k in ("sent", "direct_open", "influenced_open", "reengaged", "errors")},
                        }
                        for d in body.get("detail") or []
                    ]
                if rows:
                    yield rows
                state[platform] = stop.isoformat()
                start = stop + timedelta(days=1)

    return campaigns, campaign_stats, transactional_stats
