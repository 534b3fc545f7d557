"""Brevo (ex-Sendinblue) API v3: newsletters with their statistics, transactional templates and events.

- `newsletters`: every sent email campaign (`/v3/emailCampaigns?status=sent`), offset
  paging over all pages (a busy month sends more than one page of campaigns), with
  `statistics.globalStats` flattened (delivered, unique views, unsubscriptions...);
  the campaign `tag` is the UTM tag shared with Batch and AppsFlyer; merge on `campaign_id`
  (cumulative stats: each run replaces them).
- `templates`: transactional templates, merge on `id`.
- `transactional_events`: `/v3/smtp/statistics/events` for delivered, opened and
  unsubscribed, by date window (90 days at most) and offset paging; incremental on the
  event `date` (normalised to UTC: Brevo mixes ISO 8601 with and without milliseconds),
  re-pulling the last day (late events), merge on message_id + event + date. The
  recipient's email is loaded only as `email_hash` (salted SHA-256); IPs are dropped.
Rate limits: 100 calls/hour on campaigns, 300 on /smtp: calls are paced under
both, and a 429 waits for `x-sib-ratelimit-reset` seconds (Brevo sends no
Retry-After); offset paging is dlt's, stopping at a short page (events have no count).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import dlt
import pyarrow as pa
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.sources.helpers.rest_client.auth import APIKeyAuth

from .hints import column
from .http import MAX_ATTEMPTS, RateLimiter, ShortPageOffsetPaginator, VendorHttp
from .pii import pii_salt, pseudonymise

VENDOR = "brevo"
DEFAULT_BASE_URL = "https://api.brevo.com"
EVENT_TYPES = ["delivered", "opened", "unsubscribed"]
STATS = {
    "delivered": "delivered",
    "sent": "sent",
    "uniqueViews": "unique_views",
    "viewed": "views",
    "uniqueClicks": "unique_clicks",
    "clickers": "clickers",
    "unsubscriptions": "unsubscriptions",
    "hardBounces": "hard_bounces",
    "softBounces": "soft_bounces",
    "complaints": "complaints",
}


NEWSLETTER_COLUMNS: TTableSchemaColumns = {
    "campaign_id": {"data_type": "bigint"},
    "name": column("text"),
    "tag": column("text"),
    "share_link": column("text"),
    "status": column("text"),
    "sent_date": {"data_type": "timestamp"},
    "stats_updated_at": {"data_type": "timestamp"},
    **{c: {"data_type": "bigint"} for c in STATS.values()},
}
TEMPLATE_COLUMNS: TTableSchemaColumns = {
    "id": {"data_type": "bigint"},
    "name": column("text"),
    "tag": column("text"),
    "subject": column("text"),
    "is_active": {"data_type": "bool"},
    "created_at": {"data_type": "timestamp"},
    "modified_at": {"data_type": "timestamp"},
}
EVENT_COLUMNS: TTableSchemaColumns = {
    "message_id": column("text"),
    "event": column("text"),
    "date": {"data_type": "timestamp"},
    "email_hash": column("text"),
    "template_id": {"data_type": "bigint"},
    "tag": column("text"),
    "subject": column("text"),
}


def brevo_time(value: str | None) -> datetime | None:
    """Brevo timestamps, with or without milliseconds, any offset -> aware UTC datetime."""
    if not value:
        return None
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC)


UTC_MICROS = pa.timestamp("us", tz="UTC")


EVENT_SCHEMA = pa.schema(
    [
        pa.field("message_id", pa.string(), nullable=False),  # the primary key's columns
        pa.field("event", pa.string(), nullable=False),
        pa.field("date", UTC_MICROS, nullable=False),
        pa.field("email_hash", pa.string()),
        pa.field("template_id", pa.int64()),
        pa.field("tag", pa.string()),
        pa.field("subject", pa.string()),
    ]
)


def brevo_times(values: list[str | None]) -> pa.Array:
    """`brevo_time` of a whole page: Arrow's ISO 8601 cast where every value has its offset,
    else value by value (a time without offset is UTC)."""
    try:
        return pa.array(values, pa.string()).cast(UTC_MICROS)
    except pa.ArrowInvalid:
        return pa.array([brevo_time(v) for v in values], UTC_MICROS)


def event_table(page: list[dict], salt: str) -> pa.Table:
    """One page of transactional events as an Arrow table (dlt skips its row normaliser); the email
    only as its salted hash, the IP never."""
    return pa.Table.from_arrays(
        [
            pa.array([e["messageId"] for e in page], pa.string()),
            pa.array([e["event"] for e in page], pa.string()),
            brevo_times([e["date"] for e in page]),
            pa.array([pseudonymise(e.get("email"), salt) for e in page], pa.string()),
            pa.array([e.get("templateId") for e in page], pa.int64()),
            pa.array([e.get("tag") for e in page], pa.string()),
            pa.array([e.get("subject") for e in page], pa.string()),
        ],
        schema=EVENT_SCHEMA,
    )


@dlt.source(name="brevo")
def brevo(
    api_key: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    start_date: str | None = None,
    end_date: str | None = None,
    page_size: int = 100,
    events_page_size: int = 2500,
    events_window_days: int = 90,
    repull_days: int = 1,
    calls_per_hour: int = 280,
    campaign_calls_per_hour: int = 95,
    timeout: float = 60,
    max_attempts: int = MAX_ATTEMPTS,
    max_wait: float = 900,  # hourly quotas: x-sib-ratelimit-reset may ask for many minutes
):
    """Transactional events start at `start_date` on the first run (default: 30 days ago) and end
    at `end_date` (default today, UTC)."""
    smtp, campaigns = RateLimiter(calls_per_hour, 3600.0), RateLimiter(campaign_calls_per_hour, 3600.0)
    http = VendorHttp(
        VENDOR,
        base_url=base_url,
        auth=APIKeyAuth(name="api-key", api_key=api_key, location="header"),
        headers={"Accept": "application/json"},
        limiter=lambda request: (smtp if "/v3/smtp/" in str(request.url) else campaigns,),
        wait_headers=("x-sib-ratelimit-reset",),
        max_wait=max_wait,
        timeout=timeout,
        max_attempts=max_attempts,
        secrets=[api_key],
    )

    def pages(path: str, key: str, size: int, **params) -> Iterator[list[dict]]:
        for page in http.paginate(path, params=params, paginator=ShortPageOffsetPaginator(size), data_selector=key):
            if page:
                yield page

    salt = pii_salt()
    last = date.fromisoformat(end_date) if end_date else datetime.now(UTC).date()
    first = date.fromisoformat(start_date) if start_date else last - timedelta(days=30)
    now = datetime.now(UTC)
    first_moment = datetime.combine(first, datetime.min.time(), UTC)

    @dlt.resource(name="newsletters", primary_key="campaign_id", write_disposition="merge", columns=NEWSLETTER_COLUMNS)
    def newsletters() -> Iterator[list[dict]]:
        for page in pages(
            "/v3/emailCampaigns",
            "campaigns",
            page_size,
            status="sent",
            statistics="globalStats",
            excludeHtmlContent="true",
        ):
            rows = []
            for c in page:
                stats = (c.get("statistics") or {}).get("globalStats") or {}
                rows.append(
                    {
                        "campaign_id": c["id"],
                        "name": c.get("name"),
                        "tag": c.get("tag"),
                        "status": c.get("status"),
                        "sent_date": brevo_time(c.get("sentDate")),
                        "share_link": c.get("shareLink"),
                        **{snake: stats.get(key) for key, snake in STATS.items()},
                        "stats_updated_at": now,
                    }
                )
            yield rows

    @dlt.resource(name="templates", primary_key="id", write_disposition="merge", columns=TEMPLATE_COLUMNS)
    def templates() -> Iterator[list[dict]]:
        for page in pages("/v3/smtp/templates", "templates", page_size):
            yield [
                {
                    "id": t["id"],
                    "name": t.get("name"),
                    "subject": t.get("subject"),
                    "tag": t.get("tag"),
                    "is_active": t.get("isActive"),
                    "created_at": brevo_time(t.get("createdAt")),
                    "modified_at": brevo_time(t.get("modifiedAt")),
                }
                for t in page
            ]

    @dlt.resource(
        name="transactional_events",
        primary_key=("message_id", "event", "date"),
        write_disposition="merge",
        columns=EVENT_COLUMNS,
    )
    def transactional_events(
        cursor=dlt.sources.incremental("date", initial_value=first_moment, lag=86400 * repull_days),
    ) -> Iterator[pa.Table]:
        # the re-pull overlap is dlt's `lag`, already applied to last_value: not subtracted again
        start = max(first, (cursor.last_value or cursor.initial_value).date())
        while start <= last:
            stop = min(last, start + timedelta(days=events_window_days - 1))
            for event in EVENT_TYPES:
                for page in pages(
                    "/v3/smtp/statistics/events",
                    "events",
                    events_page_size,
                    startDate=start.isoformat(),
                    endDate=stop.isoformat(),
                    event=event,
                ):
                    yield event_table(page, salt)
            start = stop + timedelta(days=1)

    return newsletters, templates, transactional_events
