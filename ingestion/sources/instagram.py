"""Instagram (Meta Graph API, Instagram API with Facebook Login): account insights and posts.

- `account_daily_insights`: one row per (account, day, metric). Day metrics
  (`reach`, `follower_count`) come as `values: [{value, end_time}]` over ranges of
  at most 30 days; `metric_type=total_value` metrics (`views`, `accounts_engaged`,
  `total_interactions`) come as `total_value: {value}` for the whole range, so they
  are asked one day at a time. Both shapes are parsed (the reference read
  `values[0]` only and stored `views` as NULL); a metric in neither shape fails
  the run instead of loading NULLs. `end_time` is the END of the Pacific day:
  the day is `end_time - 1 day`.
- `accounts`: the account's counters, one row per account and `export_date`.
- `posts`: the media list (newest first, `paging.next` followed as given) with each
  post's lifetime insights as columns; insights younger than 48 h come back empty
  and stay NULL until a later run.

Window: the first run loads `start_date`..`end_date` (default: the 8 days
ds-7..ds, ds = yesterday UTC); later runs re-pull from `lookback_days` before the
last end, merged on (account_id, date, metric) so re-pulled days replace. Posts
published within `post_refresh_days` of the last end are re-read each run.

The token travels in the `access_token` query parameter, as Meta requires: every
error raised here names the path only, never the URL with its query.
Throttling is HTTP 400/403 with codes 4/17/32/613/80001/80002 (not 429): the client waits
`estimated_time_to_regain_access` from `X-Business-Use-Case-Usage` (or backs off) and
retries, and slows down when `X-App-Usage`/BUC usage passes 90 %.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import dlt
import requests

from .hints import column
from .http import session
from .windows import HourlyBudget, window

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


INSIGHT_COLUMNS = {
    "account_id": column("text", nullable=False),
    "date": column("date", nullable=False),
    "metric": column("text", nullable=False),
    "value": column("bigint"),
    "metric_type": column("text"),
    "loaded_at": column("timestamp"),
}
ACCOUNT_COLUMNS = {
    "account_id": column("text", nullable=False),
    "export_date": column("date", nullable=False),
    "username": column("text"),
    "name": column("text"),
    "followers_count": column("bigint"),
    "follows_count": column("bigint"),
    "media_count": column("bigint"),
}
POST_COLUMNS = {
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
    """A Graph API error, in one line, without the URL's query (it holds the token)."""


def _path(url: str) -> str:
    return urlsplit(url).path


def metric_value(entry: dict):
    """The value of one insights entry, whichever shape it comes in; None when Meta has no data yet."""
    if "total_value" in entry:
        return (entry["total_value"] or {}).get("value")
    if "values" in entry:
        values = entry["values"]
        return values[0].get("value") if values else None
    raise GraphError(
        f"{VENDOR}: insights metric {entry.get('name')!r} has neither 'values' nor 'total_value': {json.dumps(entry)[:200]}"
    )


def _unix(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def _day_of(end_time: str) -> date:
    return (datetime.strptime(end_time, "%Y-%m-%dT%H:%M:%S%z") - timedelta(days=1)).date()


class _Graph:
    def __init__(
        self,
        base_url: str,
        access_token: str,
        calls_per_hour: int,
        timeout: float,
        max_throttle_wait: float,
        http_attempts: int = 6,
    ):
        self.base_url = base_url.rstrip("/")
        self.token = access_token
        self.http = session(timeout=timeout, max_attempts=http_attempts)
        self.limiter = HourlyBudget(calls_per_hour, 3600.0)
        self.max_throttle_wait = max_throttle_wait
        self.calls = 0

    def get(self, path_or_url: str, params: dict | None = None) -> dict:
        """GET a Graph node or a `paging.next` URL (which already carries the token)."""
        if path_or_url.startswith("http"):
            url, query = path_or_url, None
        else:
            url, query = f"{self.base_url}/{path_or_url.lstrip('/')}", {**(params or {}), "access_token": self.token}
        path = _path(url)
        waited, unreadable, attempt = 0.0, 0, 0
        while True:
            attempt += 1
            self.limiter.wait()
            try:
                response = self.http.get(url, params=query)
            except requests.RequestException as exc:  # its message would hold the URL, token included
                raise GraphError(f"{VENDOR}: GET {path} failed after retries: {type(exc).__name__}") from None
            self.calls += 1
            usage = self._usage(response)
            try:
                body = response.json()
            except ValueError:
                body = None
            if body is None or not isinstance(body, dict):
                if response.status_code >= 500:
                    raise GraphError(f"{VENDOR}: HTTP {response.status_code} on GET {path} (after retries)")
                unreadable += 1
                log.warning("%s: unreadable answer from GET %s (attempt %d)", VENDOR, path, unreadable)
                if unreadable >= 3:
                    raise GraphError(f"{VENDOR}: GET {path} answered an unreadable page {unreadable} times")
                time.sleep(0.2 * unreadable)
                continue
            error = body.get("error")
            if error is None and response.status_code < 400:
                if usage >= 90:  # close to the limit: let the window slide a little
                    time.sleep(min(30.0, self.max_throttle_wait))
                return body
            error = error or {}
            code = error.get("code")
            described = (
                f"{VENDOR}: HTTP {response.status_code} on GET {path}: {error.get('type', '?')} code {code}"
                f"{'/' + str(error['error_subcode']) if error.get('error_subcode') else ''}: {error.get('message', '')[:200]}"
                f" (fbtrace_id {error.get('fbtrace_id', '?')})"
            )
            if code == 190 or code in (102, 2500) or response.status_code == 401:
                raise GraphError(
                    described
                    + f" (check the access token in sources.{VENDOR}.access_token, env SOURCES__INSTAGRAM__ACCESS_TOKEN)"
                )
            if code in THROTTLE_CODES or code in (1, 2) or response.status_code >= 500:
                regain = self._regain_seconds(response)
                pause = regain if regain > 0 else min(60.0, 2.0 ** (attempt - 1))
                if waited + pause > self.max_throttle_wait or attempt > 8:
                    raise GraphError(described + f" (still throttled after {attempt} attempts)")
                log.warning(
                    "%s: throttled or transient error on GET %s (code %s), waiting %.0f s", VENDOR, path, code, pause
                )
                time.sleep(pause)
                waited += pause
                continue
            raise GraphError(described)

    @staticmethod
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

    @staticmethod
    def _regain_seconds(response) -> float:
        try:
            buc = json.loads(response.headers.get("X-Business-Use-Case-Usage") or "{}")
            minutes = max(
                (float(e.get("estimated_time_to_regain_access", 0)) for es in buc.values() for e in es), default=0
            )
        except (ValueError, TypeError, AttributeError):
            minutes = 0
        return minutes * 60


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
    max_throttle_wait: float = 900,
    http_attempts: int = 6,
):
    graph = _Graph(base_url, access_token, calls_per_hour, timeout, max_throttle_wait, http_attempts)
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
                body = graph.get(
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
                body = graph.get(
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
            body = graph.get(account, {"fields": "id,username,name,followers_count,follows_count,media_count"})
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
            target: str = f"{account}/media"
            params: dict | None = {"fields": MEDIA_FIELDS, "limit": page_size}
            while target:
                body = graph.get(target, params)
                rows, older = [], False
                for media in body.get("data", []):
                    posted = datetime.strptime(media["timestamp"], "%Y-%m-%dT%H:%M:%S%z")
                    if cutoff is not None and posted < cutoff:
                        older = True  # newest first: the rest is older, its insights are settled
                        break
                    rows.append(_post_row(graph, account, media, posted, end))
                yield rows
                target = None if older else (body.get("paging") or {}).get("next")
                params = None
        state["last_end"] = end.isoformat()

    return account_daily_insights, accounts, posts


def _post_row(graph: _Graph, account: str, media: dict, posted: datetime, export_date: date) -> dict:
    metrics = VIDEO_METRICS if media.get("media_type") == "VIDEO" else POST_METRICS
    insights = graph.get(f"{media['id']}/insights", {"metric": ",".join(metrics)}).get("data", [])
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
