"""TikTok: account daily metrics, hourly audience and videos (Business API v1.3).

Auth is TikTok Login Kit v2's refresh flow: `POST /v2/oauth/token/` with
grant_type=refresh_token answers a 24 h access token AND a new refresh token; the
one sent is dead from then on. The rotated refresh token is kept in the source
state (`dlt.current.source_state()`, committed with the load), encrypted with a key
derived from the client secret so that the warehouse copy of the state is useless
alone; the next run uses it. The configured `refresh_token` is only the seed (and
is used again when the stored one is refused, e.g. after a re-authorisation):
a client that forgets the rotated token fails on its next run.

Business API answers are HTTP 200 even for errors: `code != 0` is an error,
retried for rate limits (40100) and system errors (5xxxx) by the shared HTTP
layer (`business_check`, one retry budget), raised for anything else with its
`message` and `request_id`, never read as "no data". The video list is dlt's
cursor paginator (`data.cursor` + `data.has_more`).

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
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import dlt
from cryptography.fernet import Fernet, InvalidToken
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from .hints import column
from .http import MAX_ATTEMPTS, Problem, RateLimiter, VendorHttp
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


DAILY_COLUMNS: TTableSchemaColumns = {
    "business_id": column("text", nullable=False),
    "date": column("date", nullable=False),
    "username": column("text"),
    **{c: column("bigint") for c in ("video_views", "likes", "comments", "shares", "followers_count", "profile_views")},
    "loaded_at": column("timestamp"),
}
HOURLY_COLUMNS: TTableSchemaColumns = {
    "business_id": column("text", nullable=False),
    "date": column("date", nullable=False),
    "hour": column("bigint", nullable=False),
    "audience": column("bigint"),
}
VIDEO_COLUMNS: TTableSchemaColumns = {
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


def business_check(response) -> Problem | None:
    """Business API answers are HTTP 200 even for errors: `code != 0` is one, retried for rate limits
    and system errors, never read as "no data"."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "code" not in body:
        return Problem("unreadable answer", retry=True) if response.status_code < 400 else None
    code = body["code"]
    if code == 0:
        return None
    described = f"code {code}: {body.get('message', '')} (request_id {body.get('request_id', '?')})"
    if code in RETRY_CODES:
        return Problem(described, retry=True)
    if code in AUTH_CODES:
        return Problem(described + " (access token refused: check sources.tiktok credentials)")
    return Problem(described)


def token_check(response) -> Problem | None:
    """The token endpoint: ask again only when refused before any rotation (rate limited)."""
    try:
        body = response.json()
    except ValueError:
        # the server may have rotated the token already: asking again with the old one would be refused
        return Problem(
            f"unreadable answer (HTTP {response.status_code}); if the token was rotated, re-authorise the app"
        )
    if isinstance(body, dict) and body.get("code") in RETRY_CODES and not body.get("access_token"):
        return Problem(f"code {body['code']}: {body.get('message', '')}", retry=True)
    return None


class _Login:
    """TikTok Login Kit v2's refresh flow, with the rotated refresh token kept (encrypted) in the source state."""

    def __init__(self, http: VendorHttp, client_key: str, client_secret: str, refresh_token: str):
        self.http, self.client_key, self.client_secret, self.configured_refresh = (
            http,
            client_key,
            client_secret,
            refresh_token,
        )
        self.auth: APIKeyAuth | None = None
        self.open_id: str | None = None

    def __call__(self) -> APIKeyAuth:
        """Trade the refresh token for an access token (once a run); keep the rotated refresh token."""
        if self.auth is not None:
            return self.auth
        state = dlt.current.source_state()
        cipher = _cipher(self.client_secret)
        stored = None
        if state.get("refresh_token"):
            try:
                stored = cipher.decrypt(state["refresh_token"].encode()).decode()
            except InvalidToken:
                log.warning(
                    "%s: the stored refresh token cannot be decrypted (client secret changed?); "
                    "using the configured one",
                    VENDOR,
                )
        candidates = [t for t in dict.fromkeys((stored, self.configured_refresh)) if t]
        self.http.add_secrets(*candidates)
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
            rotated = answer.get("refresh_token") or token
            self.http.add_secrets(answer["access_token"], rotated)
            self.auth = APIKeyAuth(name="Access-Token", api_key=answer["access_token"], location="header")
            self.open_id = answer["open_id"]
            state["refresh_token"] = cipher.encrypt(rotated.encode()).decode()
            state["refresh_token_rotated_at"] = datetime.now(UTC).isoformat()
            state["refresh_expires_in"] = answer.get("refresh_expires_in")
            return self.auth
        raise TikTokError(
            f"{VENDOR}: the refresh token was refused (invalid_grant) for the {' and '.join(refused)} token; "
            "re-authorise the app and set sources.tiktok.refresh_token"
        )

    def _token_call(self, refresh_token: str) -> dict:
        form = {
            "client_key": self.client_key,
            "client_secret": self.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        response = self.http.post(
            "/v2/oauth/token/",
            data=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            ok=(400, 401),  # OAuth errors (invalid_grant, invalid_client) are answers read above
            check=token_check,
        )
        body = response.json()
        return body if isinstance(body, dict) else {"error": "unexpected_answer"}


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
    max_attempts: int = MAX_ATTEMPTS,
):
    limiter = RateLimiter(calls_per_minute, 60.0)
    secrets = [client_secret, refresh_token]
    login = _Login(
        VendorHttp(
            VENDOR,
            base_url=auth_base_url,
            limiter=limiter,
            timeout=timeout,
            max_attempts=max_attempts,
            secrets=secrets,
        ),
        client_key,
        client_secret,
        refresh_token,
    )
    http = VendorHttp(
        VENDOR,
        base_url=f"{base_url.rstrip('/')}/open_api/v1.3",
        limiter=limiter,
        check=business_check,
        timeout=timeout,
        max_attempts=max_attempts,
        secrets=secrets,
    )

    def get(path: str, params: dict) -> dict:
        auth = login()
        http.add_secrets(auth.api_key)
        return http.get(path, params=params, auth=auth).json().get("data") or {}

    @dlt.resource(name="account_metrics", selected=False)
    def account_metrics() -> Iterator[dict]:
        state = dlt.current.resource_state()
        start, end = window(state, start_date, end_date, lookback_days)
        login()
        chunk = start
        while chunk <= end:
            chunk_end = min(end, chunk + timedelta(days=MAX_RANGE_DAYS - 1))
            data = get(
                "business/get/",
                {
                    "business_id": login.open_id,
                    "fields": json.dumps(ACCOUNT_FIELDS),
                    "start_date": chunk.isoformat(),
                    "end_date": chunk_end.isoformat(),
                },
            )
            yield {
                "business_id": login.open_id,
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
        auth = login()
        http.add_secrets(auth.api_key)
        for page in http.paginate(
            "business/video/list/",
            params={
                "business_id": login.open_id,
                "fields": json.dumps(VIDEO_FIELDS),
                "max_count": page_size,
                "cursor": 0,
            },
            auth=auth,
            paginator=JSONResponseCursorPaginator(
                cursor_path="data.cursor", cursor_param="cursor", has_more_path="data.has_more"
            ),
            data_selector="data.videos",
        ):
            rows = []
            for v in page:
                row = dict(v)
                row["business_id"] = login.open_id
                row["created_at"] = (
                    datetime.fromtimestamp(int(row.pop("create_time")), UTC) if "create_time" in row else None
                )
                row["export_date"] = end
                rows.append(row)
            yield rows

    return account_daily_activity, account_hourly_audience, videos
