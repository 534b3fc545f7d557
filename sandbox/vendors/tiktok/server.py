"""TikTok sandbox: token refresh (API for Business and Login Kit v2) + Business API v1.3 account data.

Contract (TikTok API for Business and TikTok for Developers docs):
- `POST /open_api/v1.3/tt_user/oauth2/refresh_token/` (JSON body: client_id,
  client_secret, grant_type=refresh_token, refresh_token) -> the envelope
  `{code, message, request_id, data}` with `data: {access_token, expires_in,
  open_id, refresh_token, refresh_token_expires_in, scope, token_type}`; errors
  are HTTP 200 with `code != 0` (codes for a bad client / a dead refresh token
  unverified: modelled as 40001 and 40002 with their message);
- `POST /v2/oauth/token/` (form: client_key, client_secret, grant_type=refresh_token,
  refresh_token) -> `{access_token, expires_in, open_id, refresh_token,
  refresh_expires_in, scope, token_type}`. The refresh token ROTATES: the one
  used is invalid afterwards, so a client that does not keep the new one fails
  on its next run (`{"error": "invalid_grant", ...}`);
- Business API calls carry the header `Access-Token`; every answer is HTTP 200
  `{"code", "message", "request_id", "data"}`, errors included (`code != 0`):
  40105 bad token, 40100 rate limit, 40002 bad parameter, 50000 system error;
- `GET /open_api/v1.3/business/get/?business_id=&fields=[json]&start_date=&end_date=`
  -> account fields + `metrics: [{date, ..., audience_activity: [{hour, count}]}]`;
- `GET /open_api/v1.3/business/video/list/?business_id=&fields=[json]&max_count=&cursor=`
  -> `{videos, cursor, has_more}`, newest first, at most 20 a page.
Rate limit: not documented numerically for these endpoints (unverified); modelled as 600 calls/min.
"""

from __future__ import annotations

import json
import secrets
import time as _time
from datetime import date, timedelta

from sandbox.framework import Request, Response, VendorSandbox

from .world import tiktok

MAX_DAYS = 30  # business/get date range (unverified)
MAX_COUNT = 20
ACCOUNT_FIELDS = {
    "username",
    "display_name",
    "profile_image",
    "audience_countries",
    "audience_genders",
    "likes",
    "comments",
    "shares",
    "followers_count",
    "profile_views",
    "video_views",
    "audience_activity",
}
VIDEO_FIELDS = {
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
}


def initial_refresh_token(api_key: str) -> str:
    return f"rft.{api_key}.initial"


def _request_id() -> str:
    return _time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(10).upper()


def business(code: int, message: str, data=None, status: int = 200) -> Response:
    return Response.json(
        {"code": code, "message": message, "request_id": _request_id(), "data": data if data is not None else {}},
        status,
    )


class TikTokSandbox(VendorSandbox):
    name = "tiktok"
    rate_limit = (600, 60.0)
    client_key = "sandbox-tiktok-client"

    def __init__(self, world, api_key, seed=0, files_dir=None):
        super().__init__(world, api_key, seed, files_dir)
        self.data = tiktok(world)
        self._reset_tokens()

    def _reset_tokens(self) -> None:
        self.refresh_tokens = {initial_refresh_token(self.api_key)}
        self.access_tokens: set[str] = set()
        self.refreshes = 0

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._reset_tokens()

    @classmethod
    def client_config(cls, base_url, api_key, files_dir):
        return {
            "base_url": base_url,
            "auth_base_url": base_url,
            "client_key": cls.client_key,
            "client_secret": api_key,
            "refresh_token": initial_refresh_token(api_key),
            "start_date": "2026-08-01",
            "end_date": "2026-10-31",
        }

    def routes(self):
        return [
            ("POST", r"/open_api/v1.3/tt_user/oauth2/refresh_token/?", self.business_refresh),
            ("POST", r"/v2/oauth/token/?", self.token),
            ("GET", r"/open_api/v1.3/business/get/?", self.account),
            ("GET", r"/open_api/v1.3/business/video/list/?", self.video_list),
        ]

    # --- contract shapes -------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        if req.path.startswith(("/v2/oauth/", "/open_api/v1.3/tt_user/oauth2/")):
            return None  # the token endpoints check their body themselves
        token = req.headers.get("access-token")
        if not token:
            return business(40104, "Access token is empty. Please add it to the header.")
        if token not in self.access_tokens:
            return business(40105, "The access token is invalid or has been revoked.")
        return None

    def too_many_requests(self, retry_after: float) -> Response:
        return business(40100, "Too many requests. Please retry in some time.")

    def server_error(self, status: int) -> Response:
        return business(50000, "System error, please retry later.", status=status)

    def not_found(self, req: Request) -> Response:
        return Response.text("404 page not found", 404)

    # --- handlers ----------------------------------------------------------------------
    def _rotate(self, used: str | None) -> tuple[str, str] | None:
        """Trade a live refresh token for (access, refresh); the one used dies. None: refused."""
        with self._lock:
            if used not in self.refresh_tokens:
                return None
            self.refresh_tokens.discard(used)  # rotation: the old refresh token is dead now
            access, refresh = f"act.{secrets.token_urlsafe(24)}", f"rft.{secrets.token_urlsafe(24)}"
            self.refresh_tokens.add(refresh)
            self.access_tokens.add(access)
            self.refreshes += 1
        return access, refresh

    def business_refresh(self, req: Request) -> Response:
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            return business(40002, "The request body must be JSON.")
        if not isinstance(body, dict):
            return business(40002, "The request body must be a JSON object.")
        if body.get("client_id") != self.client_key or body.get("client_secret") != self.api_key:
            return business(40001, "client_id or client_secret is invalid.")
        if body.get("grant_type") != "refresh_token":
            return business(40002, "grant_type: must be refresh_token.")
        tokens = self._rotate(body.get("refresh_token"))
        if tokens is None:
            return business(40002, "refresh_token: invalid, expired or already used.")
        access, refresh = tokens
        return business(
            0,
            "OK",
            {
                "access_token": access,
                "expires_in": 86400,
                "open_id": self.data.business_id,
                "refresh_token": refresh,
                "refresh_token_expires_in": 31536000,
                "scope": "user.info.basic,user.info.stats,video.list",
                "token_type": "Bearer",
            },
        )

    def token(self, req: Request) -> Response:
        form = {k: v[0] for k, v in req.form().items()}
        log_id = _request_id()
        if form.get("client_key") != self.client_key or form.get("client_secret") != self.api_key:
            return Response.json(
                {
                    "error": "invalid_client",
                    "error_description": "Client key or secret is incorrect.",
                    "log_id": log_id,
                },
                401,
            )
        if form.get("grant_type") != "refresh_token":
            return Response.json(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant_type is not supported.",
                    "log_id": log_id,
                },
                400,
            )
        tokens = self._rotate(form.get("refresh_token"))
        if tokens is None:
            return Response.json(
                {
                    "error": "invalid_grant",
                    "error_description": "Refresh token is invalid or expired.",
                    "log_id": log_id,
                },
                400,
            )
        access, refresh = tokens
        return Response.json(
            {
                "access_token": access,
                "expires_in": 86400,
                "open_id": self.data.business_id,
                "refresh_token": refresh,
                "refresh_expires_in": 31536000,
                "scope": "user.info.basic,user.info.stats,video.list",
                "token_type": "Bearer",
            }
        )

    def _fields(self, req: Request, allowed: set[str]) -> list[str] | Response:
        raw = req.arg("fields")
        try:
            fields = json.loads(raw) if raw else []
        except ValueError:
            return business(40002, "fields: must be a JSON array of strings.")
        bad = [f for f in fields if f not in allowed]
        if not isinstance(fields, list) or bad:
            return business(40002, f"fields: invalid field(s) {bad}.")
        return fields

    def account(self, req: Request) -> Response:
        if req.arg("business_id") != self.data.business_id:
            return business(40002, "business_id: invalid or not authorized by this access token.")
        fields = self._fields(req, ACCOUNT_FIELDS)
        if isinstance(fields, Response):
            return fields
        try:
            start, end = date.fromisoformat(req.arg("start_date", "")), date.fromisoformat(req.arg("end_date", ""))
        except ValueError:
            return business(40002, "start_date and end_date must be YYYY-MM-DD.")
        if end < start or (end - start).days + 1 > MAX_DAYS:
            return business(
                40002, f"The date range cannot exceed {MAX_DAYS} days and end_date must not be before start_date."
            )
        d = self.data
        out: dict = {}
        for f in fields:
            if f in ("username", "display_name", "followers_count"):
                out[f] = getattr(d, f)
            elif f == "profile_image":
                out[f] = "https://p16-sign-va.tiktokcdn.com/avatar/passculture.jpeg"
            elif f == "audience_countries":
                out[f] = [
                    {"country": "FR", "percentage": 0.91},
                    {"country": "BE", "percentage": 0.03},
                    {"country": "RE", "percentage": 0.02},
                ]
            elif f == "audience_genders":
                out[f] = [
                    {"gender": "Female", "percentage": 0.58},
                    {"gender": "Male", "percentage": 0.40},
                    {"gender": "Other", "percentage": 0.02},
                ]
        metric_fields = [
            f
            for f in fields
            if f
            in ("likes", "comments", "shares", "followers_count", "profile_views", "video_views", "audience_activity")
        ]
        metrics = []
        day = start
        while day <= end:
            if day in d.days:
                row = {"date": d.days[day]["date"], **{f: d.days[day][f] for f in metric_fields}}
                if self.faults.schema_drift:
                    row["engaged_audience"] = row.get("likes", 0) // 2
                metrics.append(row)
            day += timedelta(days=1)
        out["metrics"] = metrics
        return business(0, "OK", out)

    def video_list(self, req: Request) -> Response:
        if req.arg("business_id") != self.data.business_id:
            return business(40002, "business_id: invalid or not authorized by this access token.")
        fields = self._fields(req, VIDEO_FIELDS)
        if isinstance(fields, Response):
            return fields
        try:
            max_count = int(req.arg("max_count", "20"))
            cursor = int(req.arg("cursor", "0"))
        except ValueError:
            return business(40002, "max_count and cursor must be integers.")
        if not 1 <= max_count <= MAX_COUNT:
            return business(40002, f"max_count must be between 1 and {MAX_COUNT}.")
        page = self.data.videos[cursor : cursor + max_count]
        videos = [{f: v[f] for f in (fields or ["item_id"])} for v in page]
        return business(
            0,
            "OK",
            {"videos": videos, "cursor": cursor + len(page), "has_more": cursor + len(page) < len(self.data.videos)},
        )
