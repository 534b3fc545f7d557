"""TikTok: account daily metrics, hourly audience and videos (Business API v1.3).

Auth is TikTok Login Kit v2's refresh flow: `POST /v2/oauth/token/` with
grant_type=refresh_token answers a 24 h access token AND a new refresh token; the
one sent is dead from then on. The rotated refresh token is kept in the source
state (`dlt.current.source_state()`, committed with the load), encrypted with a key
derived from the client secret so that the warehouse copy of the state is useless
alone; the next run uses it. The configured `refresh_token` is only the seed (and
is used again when the stored one is refused, e.g. after a re-authorisation).
The reference did not keep the rotated token and broke when TikTok rotated it.

Business API answers are HTTP 200 even for errors: `code != 0` is an error,
retried for rate limits (40100) and system errors (5xxxx), raised for anything
else with its `message` and `request_id`, never read as "no data".

Window: like Instagram, the first run loads `start_date`..`end_date` (default
ds-7..ds), later runs re-pull from `lookback_days` before the last end; rows merge
on (business_id, date[, hour]) so re-pulled days replace. The video list (cursor +
has_more) is a snapshot merged on item_id.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import dlt
import requests
from cryptography.fernet import Fernet, InvalidToken

from .hints import column
from .http import RateLimiter, session
from .windows import window

log = logging.getLogger("pcdata.ingestion")
VENDOR = "tiktok"
DEFAULT_BASE_URL = "https://business-api.tiktok.com"
DEFAULT_AUTH_BASE_URL = "https://open.tiktokapis.com"
ACCOUNT_FIELDS = [
    "username",
    "display_name",
    "followers_count",
    "likes",
    "comments",
    "shares",
    "profile_views",
    "video_views",
    "audience_activity",
]
VIDEO_FIELDS = [
    "item_id",
    "create_time",
    "thumbnail_url",
    "caption",
    "share_url",
    "embed_url",
    "video_views",
    "likes",
    "comments",
    "shares",
    "reach",
    "video_duration",
    "full_video_watched_rate",
    "total_time_watched",
    "average_time_watched",
    "impression_sources",
    "audience_countries",
]
RETRY_CODES = {40100, 50000, 50002, 51001}
AUTH_CODES = {40001, 40104, 40105, 40102}
MAX_RANGE_DAYS = 30


DAILY_COLUMNS = {
    "business_id": column("text", nullable=False),
    "date": column("date", nullable=False),
    "username": column("text"),
    **{c: column("bigint") for c in ("video_views", "likes", "comments", "shares", "followers_count", "profile_views")},
    "loaded_at": column("timestamp"),
}
HOURLY_COLUMNS = {
    "business_id": column("text", nullable=False),
    "date": column("date", nullable=False),
    "hour": column("bigint", nullable=False),
    "audience": column("bigint"),
}
VIDEO_COLUMNS = {
    "item_id": column("text", nullable=False),
    "business_id": column("text"),
    "created_at": column("timestamp"),
    "caption": column("text"),
    "share_url": column("text"),
    "embed_url": column("text"),
    "thumbnail_url": column("text"),
    **{c: column("bigint") for c in ("video_views", "reach", "likes", "comments", "shares")},
    **{
        c: column("double")
        for c in ("video_duration", "full_video_watched_rate", "total_time_watched", "average_time_watched")
    },
    "export_date": column("date"),
}


class TikTokError(RuntimeError):
    """A TikTok error in one line: code, message, request id; never a token."""


def _cipher(client_secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"pcdata-tiktok:{client_secret}".encode()).digest()))


class _Client:
    def __init__(self, base_url, auth_base_url, client_key, client_secret, refresh_token, calls_per_minute, timeout):
        self.base_url = base_url.rstrip("/")
        self.auth_base_url = auth_base_url.rstrip("/")
        self.client_key, self.client_secret, self.configured_refresh = client_key, client_secret, refresh_token
        self.http = session(timeout=timeout)
        self.limiter = RateLimiter(calls_per_minute, 60.0)
        self.access_token: str | None = None
        self.open_id: str | None = None

    # --- auth ----------------------------------------------------------------------
    def login(self) -> None:
        """Trade the refresh token for an access token; keep the rotated refresh token in the source state."""
        if self.access_token:
            return
        state = dlt.current.source_state()
        cipher = _cipher(self.client_secret)
        stored = None
        if state.get("refresh_token"):
            try:
                stored = cipher.decrypt(state["refresh_token"].encode()).decode()
            except InvalidToken:
                log.warning(
                    "%s: the stored refresh token cannot be decrypted (client secret changed?); using the configured one",
                    VENDOR,
                )
        candidates = [t for t in dict.fromkeys((stored, self.configured_refresh)) if t]
        refused = []
        for token in candidates:
            answer = self._token_call(token)
            if answer.get("error") == "invalid_grant":
                refused.append("stored" if token == stored else "configured")
                continue
            if answer.get("error") or not answer.get("access_token"):
                raise TikTokError(
                    f"{VENDOR}: token refresh failed: {answer.get('error')}: {answer.get('error_description', '')}"
                    f" (log_id {answer.get('log_id', '?')}; check sources.tiktok.client_key / client_secret)"
                )
            self.access_token, self.open_id = answer["access_token"], answer["open_id"]
            rotated = answer.get("refresh_token") or token
            state["refresh_token"] = cipher.encrypt(rotated.encode()).decode()
            state["refresh_token_rotated_at"] = datetime.now(UTC).isoformat()
            state["refresh_expires_in"] = answer.get("refresh_expires_in")
            return
        raise TikTokError(
            f"{VENDOR}: the refresh token was refused (invalid_grant) for the {' and '.join(refused)} token; "
            "re-authorise the app and set sources.tiktok.refresh_token"
        )

    def _token_call(self, refresh_token: str) -> dict:
        url = f"{self.auth_base_url}/v2/oauth/token/"
        form = {
            "client_key": self.client_key,
            "client_secret": self.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        for attempt in range(1, 6):
            self.limiter.wait()
            try:
                response = self.http.post(url, data=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
            except requests.RequestException as exc:
                raise TikTokError(
                    f"{VENDOR}: POST /v2/oauth/token/ failed after retries: {type(exc).__name__}"
                ) from None
            try:
                body = response.json()
            except ValueError:
                # the server may have rotated the token already: asking again with the old one would be refused
                raise TikTokError(
                    f"{VENDOR}: unreadable answer from POST /v2/oauth/token/ (HTTP {response.status_code}); "
                    "if the token was rotated, re-authorise the app"
                ) from None
            if isinstance(body, dict) and body.get("code") in RETRY_CODES and not body.get("access_token"):
                time.sleep(min(30.0, 0.5 * 2**attempt))  # rate limited before any rotation: safe to ask again
                continue
            if response.status_code >= 500:
                raise TikTokError(f"{VENDOR}: HTTP {response.status_code} on POST /v2/oauth/token/ (after retries)")
            return body if isinstance(body, dict) else {"error": "unexpected_answer"}
        raise TikTokError(f"{VENDOR}: POST /v2/oauth/token/ still rate limited after retries")

    # --- business API ----------------------------------------------------------------
    def get(self, path: str, params: dict) -> dict:
        self.login()
        url = f"{self.base_url}/open_api/v1.3/{path.lstrip('/')}"
        unreadable = 0
        for attempt in range(1, 9):
            self.limiter.wait()
            try:
                response = self.http.get(url, params=params, headers={"Access-Token": self.access_token})
            except requests.RequestException as exc:
                raise TikTokError(
                    f"{VENDOR}: GET {urlsplit(url).path} failed after retries: {type(exc).__name__}"
                ) from None
            try:
                body = response.json()
            except ValueError:
                body = None
            if not isinstance(body, dict) or "code" not in body:
                if response.status_code >= 400:
                    raise TikTokError(
                        f"{VENDOR}: HTTP {response.status_code} on GET {urlsplit(url).path}: {response.text[:200]}"
                    )
                unreadable += 1
                log.warning("%s: unreadable answer from GET %s (attempt %d)", VENDOR, urlsplit(url).path, unreadable)
                if unreadable >= 3:
                    raise TikTokError(
                        f"{VENDOR}: GET {urlsplit(url).path} answered an unreadable page {unreadable} times"
                    )
                time.sleep(0.2 * unreadable)
                continue
            code = body.get("code")
            described = f"{VENDOR}: GET {urlsplit(url).path}: code {code}: {body.get('message', '')} (request_id {body.get('request_id', '?')})"
            if code == 0:
                return body.get("data") or {}
            if code in RETRY_CODES:
                pause = min(60.0, 0.5 * 2**attempt)
                log.warning("%s (retrying in %.1f s)", described, pause)
                time.sleep(pause)
                continue
            if code in AUTH_CODES:
                raise TikTokError(described + " (access token refused: check sources.tiktok credentials)")
            raise TikTokError(described)
        raise TikTokError(f"{VENDOR}: GET {urlsplit(url).path} still failing with code {code} after retries")


@dlt.source(name="tiktok")
def tiktok(
    client_key: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    refresh_token: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    auth_base_url: str = DEFAULT_AUTH_BASE_URL,
    start_date: str | None = None,
    end_date: str | None = None,
    lookback_days: int = 7,
    page_size: int = 20,
    calls_per_minute: int = 600,
    timeout: float = 30,
):
    client = _Client(base_url, auth_base_url, client_key, client_secret, refresh_token, calls_per_minute, timeout)

    @dlt.resource(name="account_metrics", selected=False)
    def account_metrics() -> Iterator[dict]:
        state = dlt.current.resource_state()
        start, end = window(state, start_date, end_date, lookback_days)
        client.login()
        chunk = start
        while chunk <= end:
            chunk_end = min(end, chunk + timedelta(days=MAX_RANGE_DAYS - 1))
            data = client.get(
                "business/get/",
                {
                    "business_id": client.open_id,
                    "fields": json.dumps(ACCOUNT_FIELDS),
                    "start_date": chunk.isoformat(),
                    "end_date": chunk_end.isoformat(),
                },
            )
            yield {
                "business_id": client.open_id,
                "username": data.get("username"),
                "metrics": data.get("metrics") or [],
            }
            chunk = chunk_end + timedelta(days=1)
        state["last_end"] = end.isoformat()

    @dlt.transformer(
        data_from=account_metrics,
        name="account_daily_activity",
        primary_key=("business_id", "date"),
        write_disposition="merge",
        columns=DAILY_COLUMNS,
    )
    def account_daily_activity(page: dict) -> Iterator[list[dict]]:
        now = datetime.now(UTC)
        yield [
            {
                "business_id": page["business_id"],
                "username": page["username"],
                "date": date.fromisoformat(m["date"]),
                **{k: v for k, v in m.items() if k not in ("date", "audience_activity")},
                "loaded_at": now,
            }
            for m in page["metrics"]
        ]

    @dlt.transformer(
        data_from=account_metrics,
        name="account_hourly_audience",
        primary_key=("business_id", "date", "hour"),
        write_disposition="merge",
        columns=HOURLY_COLUMNS,
    )
    def account_hourly_audience(page: dict) -> Iterator[list[dict]]:
        yield [
            {
                "business_id": page["business_id"],
                "date": date.fromisoformat(m["date"]),
                "hour": int(a["hour"]),
                "audience": a.get("count"),
            }
            for m in page["metrics"]
            for a in (m.get("audience_activity") or [])
        ]

    @dlt.resource(name="videos", primary_key="item_id", write_disposition="merge", columns=VIDEO_COLUMNS)
    def videos() -> Iterator[list[dict]]:
        _, end = window({}, start_date, end_date, lookback_days)
        client.login()
        cursor = 0
        while True:
            data = client.get(
                "business/video/list/",
                {
                    "business_id": client.open_id,
                    "fields": json.dumps(VIDEO_FIELDS),
                    "max_count": page_size,
                    "cursor": cursor,
                },
            )
            rows = []
            for v in data.get("videos") or []:
                row = dict(v)
                row["business_id"] = client.open_id
                row["created_at"] = (
                    datetime.fromtimestamp(int(row.pop("create_time")), UTC) if "create_time" in row else None
                )
                row["export_date"] = end
                rows.append(row)
            yield rows
            if not data.get("has_more") or data.get("cursor") in (None, cursor):
                return
            cursor = data["cursor"]

    return account_daily_activity, account_hourly_audience, videos
