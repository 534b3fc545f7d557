"""Instagram (Meta Graph API, Instagram API with Facebook Login): account insights and posts.

- `account_daily_insights`: one row per (account, day, metric). Day metrics
  (`reach`, `follower_count`) come as `values: [{value, end_time}]` over ranges of
  at most 30 days; `metric_type=total_value` metrics (`views`, `accounts_engaged`,
  `total_interactions`) come as `total_value: {value}` for the whole range, so they
  are asked one day at a time. Both shapes are parsed (reading `values` only
  would store `views` as NULL); a metric in neither shape fails the run instead
  of loading NULLs. `end_time` is the END of the Pacific day:
  the day is `end_time - 1 day`.
- `accounts`: the account's counters, one row per account and `export_date`.
- `posts`: the media list (newest first, `paging.next` followed as given) with each
  post's lifetime insights as columns; insights younger than 48 h come back empty
  and stay NULL until a later run.

Window (its defaults: `ingestion.registry`): the first run loads `start_date`..`end_date`
(default: `lookback_days` before yesterday UTC to yesterday); later runs re-pull from `lookback_days` before the
last end, merged on (account_id, date, metric) so re-pulled days replace. Posts
published within `post_refresh_days` of the last end are re-read each run.

The token travels in the `access_token` query parameter, as Meta requires: every
error raised names the path only, never the URL with its query, and the token is
scrubbed (http.VendorHttp). Throttling is HTTP 400/403 with codes 4/17/32/613/80001/80002
(not 429): `graph_check` makes it a retry that waits `estimated_time_to_regain_access`
from `X-Business-Use-Case-Usage` (or backs off), within the one retry budget; calls
pause when `X-App-Usage`/BUC usage passes 90 %.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import dlt
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator

from .hints import column
from .http import MAX_ATTEMPTS, Problem, RateLimiter, VendorHttp
from .windows import window

log = logging.getLogger("pcdata.ingestion")
VENDOR = "instagram"
DEFAULT_BASE_URL = "https://graph.facebook.com/v25.0"
DAY_METRICS = ("reach", "follower_count")
TOTAL_VALUE_METRICS = ("views", "accounts_engaged", "total_interactions")
POST_METRICS = (
    "views",
    "reach",
    "likes",
    "comments",
    "shares",
    "saved",
    "total_interactions",
    "follows",
    "profile_visits",
    "profile_activity",
)
VIDEO_METRICS = ("views", "reach", "likes", "comments", "shares", "saved", "total_interactions")
MEDIA_FIELDS = "id,caption,media_type,media_product_type,permalink,timestamp,like_count,comments_count"
THROTTLE_CODES = {4, 17, 32, 613, 80001, 80002}
MAX_RANGE_DAYS = 30


INSIGHT_COLUMNS: TTableSchemaColumns = {
    "account_id": column("text", nullable=False),
    "date": column("date", nullable=False),
    "metric": column("text", nullable=False),
    "value": column("bigint"),
    "metric_type": column("text"),
    "loaded_at": column("timestamp"),
}
ACCOUNT_COLUMNS: TTableSchemaColumns = {
    "account_id": column("text", nullable=False),
    "export_date": column("date", nullable=False),
    "username": column("text"),
    "name": column("text"),
    "followers_count": column("bigint"),
    "follows_count": column("bigint"),
    "media_count": column("bigint"),
}
POST_COLUMNS: TTableSchemaColumns = {
    "post_id": column("text", nullable=False),
    "account_id": column("text"),
    "posted_at": column("timestamp"),
    "caption": column("text"),
    "media_type": column("text"),
    "media_product_type": column("text"),
    "permalink": column("text"),
    "url_id": column("text"),
    "like_count": column("bigint"),
    "comments_count": column("bigint"),
    "export_date": column("date"),
    "insights_available": column("bool"),
    **{m: column("bigint") for m in POST_METRICS},
}


class GraphError(RuntimeError):
    """An answer the Graph API should not have given (an unknown insights shape)."""


def metric_value(entry: dict):
    """The value of one insights entry, whichever shape it comes in; None when Meta has no data yet."""
    if "total_value" in entry:
        return (entry["total_value"] or {}).get("value")
    if "values" in entry:
        values = entry["values"]
        return values[0].get("value") if values else None
    raise GraphError(
        f"{VENDOR}: insights metric {entry.get('name')!r} has neither 'values' nor 'total_value': "
        f"{json.dumps(entry)[:200]}"
    )


def _unix(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def _day_of(end_time: str) -> date:
    return (datetime.strptime(end_time, "%Y-%m-%dT%H:%M:%S%z") - timedelta(days=1)).date()


def graph_check(response) -> Problem | None:
    """Meta's errors: a JSON `error` object, throttling as HTTP 400/403 with codes (not 429)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return Problem("unreadable answer", retry=True) if response.status_code < 400 else None
    error = body.get("error")
    if error is None and response.status_code < 400:
        return None
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    sub = f"/{error['error_subcode']}" if error.get("error_subcode") else ""
    described = (
        f"HTTP {response.status_code}: {error.get('type', '?')} code {code}{sub}: {str(error.get('message', ''))[:200]}"
        f" (fbtrace_id {error.get('fbtrace_id', '?')})"
    )
    if code == 190 or code in (102, 2500) or response.status_code == 401:
        return Problem(
            described
            + f" (check the access token in sources.{VENDOR}.access_token, env SOURCES__INSTAGRAM__ACCESS_TOKEN)"
        )
    if code in THROTTLE_CODES or code in (1, 2) or response.status_code >= 500:
        return Problem(described, retry=True, wait=_regain_seconds(response) or None)
    return Problem(described)


def _usage(response) -> float:
    pct = 0.0
    try:
        app = json.loads(response.headers.get("X-App-Usage") or "{}")
        pct = max([pct, *(float(v) for v in app.values())])
        buc = json.loads(response.headers.get("X-Business-Use-Case-Usage") or "{}")
        for entries in buc.values():
            for e in entries:
                pct = max(pct, *(float(e.get(k, 0)) for k in ("call_count", "total_cputime", "total_time")))
    except (ValueError, TypeError, AttributeError):
        pass
    return pct


def _regain_seconds(response) -> float:
    try:
        buc = json.loads(response.headers.get("X-Business-Use-Case-Usage") or "{}")
        minutes = max(
            (float(e.get("estimated_time_to_regain_access", 0)) for es in buc.values() for e in es), default=0
        )
    except (ValueError, TypeError, AttributeError):
        minutes = 0
    return minutes * 60


class _QueryToken(APIKeyAuth):
    """The token as the `access_token` query parameter, unless the URL has it (`paging.next` links do)."""

    def __call__(self, request):
        if f"{self.name}=" in urlsplit(request.url).query:
            return request
        return super().__call__(request)


def _ids(account_ids) -> list[str]:
    if isinstance(account_ids, (list, tuple)):
        return [str(a) for a in account_ids]
    text = str(account_ids).strip()
    if text.startswith("["):
        return [str(a) for a in json.loads(text)]
    return [a.strip() for a in text.split(",") if a.strip()]


@dlt.source(name="instagram")
def instagram(
    access_token: str = dlt.secrets.value,
    account_ids: str = dlt.config.value,
    base_url: str = DEFAULT_BASE_URL,
    start_date: str | None = None,
    end_date: str | None = None,
    lookback_days: int = 7,
    post_refresh_days: int = 30,
    page_size: int = 50,
    calls_per_hour: int = 4800,
    timeout: float = 30,
    max_wait: float = 900,  # Meta may ask to wait minutes (estimated_time_to_regain_access)
    max_attempts: int = MAX_ATTEMPTS,
):
    http = VendorHttp(
        VENDOR,
        base_url=base_url,
        auth=_QueryToken(name="access_token", api_key=access_token, location="query"),
        limiter=RateLimiter(calls_per_hour, 3600.0, spread=False),  # an hourly budget, not a pace
        check=graph_check,
        pause_after=lambda r: 30.0 if r.status_code < 400 and _usage(r) >= 90 else 0.0,  # let the window slide
        timeout=timeout,
        max_wait=max_wait,
        max_attempts=max_attempts,
        secrets=[access_token],
    )

    def get(path: str, params: dict | None = None) -> dict:
        return http.get(path, params=params).json()

    accounts_list = _ids(account_ids)
    if not accounts_list:
        raise ValueError("sources.instagram.account_ids is empty (comma-separated Instagram business account ids)")

    @dlt.resource(
        name="account_daily_insights",
        primary_key=("account_id", "date", "metric"),
        write_disposition="merge",
        columns=INSIGHT_COLUMNS,
    )
    def account_daily_insights() -> Iterator[list[dict]]:
        state = dlt.current.resource_state()
        start, end = window(state, start_date, end_date, lookback_days)
        now = datetime.now(UTC)
        for account in accounts_list:
            chunk = start
            while chunk <= end:  # day metrics: one call per 30 days
                chunk_end = min(end, chunk + timedelta(days=MAX_RANGE_DAYS - 1))
                body = get(
                    f"{account}/insights",
                    {
                        "metric": ",".join(DAY_METRICS),
                        "period": "day",
                        "since": _unix(chunk),
                        "until": _unix(chunk_end + timedelta(days=1)),
                    },
                )
                rows = []
                for entry in body.get("data", []):
                    if "values" not in entry and "total_value" not in entry:
                        metric_value(entry)  # raises: an unknown shape
                    for v in entry.get("values", []):
                        day = _day_of(v["end_time"])
                        if chunk <= day <= chunk_end:
                            rows.append(
                                {
                                    "account_id": account,
                                    "date": day,
                                    "metric": entry["name"],
                                    "value": v.get("value"),
                                    "metric_type": "time_series",
                                    "loaded_at": now,
                                }
                            )
                yield rows
                chunk = chunk_end + timedelta(days=1)
            day = start
            while day <= end:  # total_value metrics: one total per call, so one call per day
                body = get(
                    f"{account}/insights",
                    {
                        "metric": ",".join(TOTAL_VALUE_METRICS),
                        "metric_type": "total_value",
                        "period": "day",
                        "since": _unix(day),
                        "until": _unix(day + timedelta(days=1)),
                    },
                )
                yield [
                    {
                        "account_id": account,
                        "date": day,
                        "metric": entry["name"],
                        "value": metric_value(entry),
                        "metric_type": "total_value",
                        "loaded_at": now,
                    }
                    for entry in body.get("data", [])
                ]
                day += timedelta(days=1)
        state["last_end"] = end.isoformat()

    @dlt.resource(
        name="accounts", primary_key=("account_id", "export_date"), write_disposition="merge", columns=ACCOUNT_COLUMNS
    )
    def accounts() -> Iterator[dict]:
        _, end = window({}, start_date, end_date, lookback_days)
        for account in accounts_list:
            body = get(account, {"fields": "id,username,name,followers_count,follows_count,media_count"})
            yield {"account_id": body.pop("id"), "export_date": end, **body}

    @dlt.resource(name="posts", primary_key="post_id", write_disposition="merge", columns=POST_COLUMNS)
    def posts() -> Iterator[list[dict]]:
        state = dlt.current.resource_state()
        _, end = window({}, start_date, end_date, lookback_days)
        last_end = state.get("last_end")
        cutoff = (
            datetime.combine(date.fromisoformat(last_end), datetime.min.time(), UTC) - timedelta(days=post_refresh_days)
            if last_end
            else None
        )
        for account in accounts_list:
            for page in http.paginate(
                f"{account}/media",
                params={"fields": MEDIA_FIELDS, "limit": page_size},
                paginator=JSONLinkPaginator(next_url_path="paging.next"),  # followed as given
                data_selector="data",
            ):
                rows, older = [], False
                for media in page:
                    posted = datetime.strptime(media["timestamp"], "%Y-%m-%dT%H:%M:%S%z")
                    if cutoff is not None and posted < cutoff:
                        older = True  # newest first: the rest is older, its insights are settled
                        break
                    rows.append(_post_row(get, account, media, posted, end))
                yield rows
                if older:
                    break
        state["last_end"] = end.isoformat()

    return account_daily_insights, accounts, posts


def _post_row(get, account: str, media: dict, posted: datetime, export_date: date) -> dict:
    metrics = VIDEO_METRICS if media.get("media_type") == "VIDEO" else POST_METRICS
    insights = get(f"{media['id']}/insights", {"metric": ",".join(metrics)}).get("data", [])
    values = {entry["name"]: metric_value(entry) for entry in insights}
    permalink = media.get("permalink") or ""
    row = {
        "post_id": media["id"],
        "account_id": account,
        "posted_at": posted,
        "caption": media.get("caption"),
        "media_type": media.get("media_type"),
        "media_product_type": media.get("media_product_type"),
        "permalink": permalink,
        "url_id": permalink.rstrip("/").rsplit("/", 1)[-1] if permalink else None,
        "like_count": media.get("like_count"),
        "comments_count": media.get("comments_count"),
        "export_date": export_date,
        "insights_available": bool(insights),
    }
    row.update({m: values.get(m) for m in POST_METRICS})
    return row
