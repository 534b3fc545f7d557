"""TikTok: account daily metrics, hourly audience and videos (Business API v1.3).

Auth is a refresh flow whose refresh token ROTATES: each refresh answers a 24 h
access token and a new refresh token, and the one sent is dead from then on.
`auth_flow` picks the documented endpoint: `business` (default; API for Business,
`POST /open_api/v1.3/tt_user/oauth2/refresh_token/`, JSON body with `client_id` =
`client_key`, in the `{code, message, request_id, data}` envelope) or `login_kit`
(Login Kit v2, `POST /v2/oauth/token/` on `auth_base_url`, a form, plain OAuth
answers). The rotated token is written at once, encrypted, to `token_file`
(`token_store.TokenStore`), before any other call: a run that fails or is killed
right after the refresh leaves the next run a token that works. It is also kept
in the source state (committed with the load, restored from the destination on a
fresh machine). The next run tries the newest of these first, then the configured
`refresh_token` (the seed, used again after a re-authorisation).

Business API answers are HTTP 200 even for errors: `code != 0` is an error,
retried for rate limits (40100) and system errors (5xxxx) by the shared HTTP
layer (`business_check`, one retry budget), raised for anything else with its
`message` and `request_id`, never read as "no data". The video list is dlt's
cursor paginator (`data.cursor` + `data.has_more`).

Window: like Instagram, the first run loads `start_date`..`end_date` (default:
`lookback_days` before yesterday to yesterday), later runs re-pull from `lookback_days` before the last end; rows merge
on (business_id, date[, hour]) so re-pulled days replace. The video list (cursor +
has_more) is a snapshot merged on item_id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import dlt
from cryptography.fernet import InvalidToken
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from .hints import column
from .http import MAX_ATTEMPTS, Problem, RateLimiter, VendorHttp
from .token_store import StoredToken, TokenStore, cipher
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
FLOWS = ("business", "login_kit")
BUSINESS_REFRESH_PATH = "tt_user/oauth2/refresh_token/"
RETRY_CODES = {40100, 50000, 50002, 51001}
AUTH_CODES = {40001, 40104, 40105, 40102}
MAX_RANGE_DAYS = 30
REAUTHORISE_WARNING_DAYS = 30  # a refresh token does not outlive its first grant (a year): say so a month ahead


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
    """The token endpoints: ask again only when refused before any rotation (rate limited, system busy)."""
    try:
        body = response.json()
    except ValueError:
        # the server may have rotated the token already: asking again with the old one would be refused
        return Problem(
            f"unreadable answer (HTTP {response.status_code}); if the token was rotated, re-authorise the app"
        )
    if not isinstance(body, dict):
        return None
    data: dict = body["data"] if isinstance(body.get("data"), dict) else body
    if body.get("code") in RETRY_CODES and not data.get("access_token"):
        return Problem(f"code {body['code']}: {body.get('message', '')}", retry=True)
    return None


@dataclass(frozen=True)
class _Answer:
    """A token endpoint's answer, whichever flow: the tokens, or why not."""

    access_token: str | None = None
    refresh_token: str | None = None
    open_id: str | None = None
    refresh_expires_in: int | None = None
    error: str | None = None  # the vendor's words: code/error, message, request id
    refused: bool = False  # this refresh token was refused (try the next candidate)


class _Login:
    """The refresh flow, with each rotated refresh token written durably the moment it is issued.

    `auth_flow`:
    - `business` (default): API for Business, `POST {base_url}/open_api/v1.3/tt_user/oauth2/refresh_token/`
      with a JSON body (client_id, client_secret, grant_type=refresh_token, refresh_token), answered in
      the `{code, message, request_id, data}` envelope (`data`: access_token, refresh_token, open_id,
      expires_in, refresh_token_expires_in);
    - `login_kit`: Login Kit v2, `POST {auth_base_url}/v2/oauth/token/` with a form (client_key, ...),
      answered as plain OAuth (`access_token`, ..., or `error` / `error_description` / `log_id`).

    Candidates, newest first: the token file, the source state (restored from the destination on a
    fresh machine), the configured seed. A refused one costs one call and the next is tried.
    """

    def __init__(
        self,
        http: VendorHttp,
        flow: str,
        client_key: str,
        client_secret: str,
        refresh_token: str,
        store: TokenStore,
    ):
        if flow not in FLOWS:
            raise ValueError(f"sources.tiktok.auth_flow must be one of {', '.join(FLOWS)}, not {flow!r}")
        self.http, self.flow, self.client_key, self.client_secret = http, flow, client_key, client_secret
        self.configured_refresh, self.store = refresh_token, store
        self.auth: APIKeyAuth | None = None
        self.open_id: str | None = None

    def _candidates(self, state: dict) -> list[StoredToken]:
        found = []
        if (filed := self.store.load()) is not None:
            found.append(filed)
        if state.get("refresh_token"):
            try:
                token = self.store.fernet.decrypt(state["refresh_token"].encode()).decode()
                found.append(StoredToken(token, state.get("refresh_token_rotated_at") or "", "source state"))
            except InvalidToken:
                log.warning(
                    "%s: the refresh token in the source state cannot be decrypted (client secret changed?)", VENDOR
                )
        found.sort(key=lambda t: t.issued_at, reverse=True)
        if self.configured_refresh:
            found.append(StoredToken(self.configured_refresh, "", "configured sources.tiktok.refresh_token"))
        unique: dict[str, StoredToken] = {}
        for t in found:
            unique.setdefault(t.token, t)
        return list(unique.values())

    def __call__(self) -> APIKeyAuth:
        """Trade the refresh token for an access token (once a run); keep the rotated refresh token."""
        if self.auth is not None:
            return self.auth
        with self.store.exclusive():  # read the newest token, refresh, write the rotated one: one run at a time
            return self._refresh(dlt.current.source_state())

    def _refresh(self, state: dict) -> APIKeyAuth:
        candidates = self._candidates(state)
        self.http.add_secrets(*(t.token for t in candidates))
        refused = []
        for candidate in candidates:
            answer = self._token_call(candidate.token)
            if answer.refused:
                refused.append(f"{candidate.where}: {answer.error}")
                continue
            if answer.error or not answer.access_token:
                raise TikTokError(
                    f"{VENDOR}: token refresh failed: {answer.error or 'no access_token in the answer'}"
                    " (check sources.tiktok.client_key / client_secret)"
                )
            rotated = answer.refresh_token or candidate.token
            self.http.add_secrets(answer.access_token, rotated)
            # first the durable copy: from now on the token sent is dead, whatever happens to this run
            try:
                issued_at = self.store.save(rotated)
            except OSError as exc:  # the run goes on: its state, committed with the load, still keeps the token
                issued_at = datetime.now(UTC).isoformat()
                log.error(
                    "%s: the rotated refresh token could not be written to %s (%s: %s); only this run's state"
                    " keeps it, and a failure of this run would need a re-authorisation: fix sources.tiktok.token_file",
                    VENDOR,
                    self.store.path,
                    type(exc).__name__,
                    exc.strerror or exc,
                )
            state["refresh_token"] = self.store.fernet.encrypt(rotated.encode()).decode()
            state["refresh_token_rotated_at"] = issued_at
            state["refresh_expires_in"] = answer.refresh_expires_in
            if answer.refresh_expires_in is not None and answer.refresh_expires_in < REAUTHORISE_WARNING_DAYS * 86400:
                log.warning(
                    "%s: the refresh token expires in %d days: re-authorise the app before then"
                    " and set sources.tiktok.refresh_token",
                    VENDOR,
                    answer.refresh_expires_in // 86400,
                )
            self.auth = APIKeyAuth(name="Access-Token", api_key=answer.access_token, location="header")
            self.open_id = answer.open_id
            return self.auth
        raise TikTokError(
            f"{VENDOR}: every refresh token was refused ({'; '.join(refused)}); "
            "if sources.tiktok.client_key / client_secret are right, re-authorise the app and set "
            "sources.tiktok.refresh_token"
        )

    def _token_call(self, refresh_token: str) -> _Answer:
        if self.flow == "business":
            response = self.http.post(
                BUSINESS_REFRESH_PATH,
                json={
                    "client_id": self.client_key,
                    "client_secret": self.client_secret,
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                },
                check=token_check,
            )
            body = response.json()
            if not isinstance(body, dict) or "code" not in body:
                return _Answer(error="an answer without the {code, message, request_id, data} envelope")
            data: dict = body["data"] if isinstance(body.get("data"), dict) else {}
            if body["code"] != 0:
                error = f"code {body['code']}: {body.get('message', '')} (request_id {body.get('request_id', '?')})"
                return _Answer(error=error, refused=True)
            return _Answer(
                access_token=data.get("access_token"),
                refresh_token=data.get("refresh_token"),
                open_id=data.get("open_id"),
                refresh_expires_in=data.get("refresh_token_expires_in"),
            )
        response = self.http.post(
            "/v2/oauth/token/",
            data={
                "client_key": self.client_key,
                "client_secret": self.client_secret,
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
            },
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            ok=(400, 401),  # OAuth errors (invalid_grant, invalid_client) are answers read here
            check=token_check,
        )
        body = response.json()
        if not isinstance(body, dict):
            return _Answer(error="unexpected_answer")
        if body.get("error"):
            error = f"{body['error']}: {body.get('error_description', '')} (log_id {body.get('log_id', '?')})"
            return _Answer(error=error, refused=body["error"] == "invalid_grant")
        return _Answer(
            access_token=body.get("access_token"),
            refresh_token=body.get("refresh_token"),
            open_id=body.get("open_id"),
            refresh_expires_in=body.get("refresh_expires_in"),
        )


@dlt.source(name="tiktok")
def tiktok(
    client_key: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    refresh_token: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    auth_base_url: str = DEFAULT_AUTH_BASE_URL,
    auth_flow: str = "business",
    token_file: str | None = None,
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
            base_url=f"{base_url.rstrip('/')}/open_api/v1.3" if auth_flow == "business" else auth_base_url,
            limiter=limiter,
            timeout=timeout,
            max_attempts=max_attempts,
            secrets=secrets,
        ),
        auth_flow,
        client_key,
        client_secret,
        refresh_token,
        TokenStore(token_file, cipher("pcdata-tiktok", client_secret), VENDOR),
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
