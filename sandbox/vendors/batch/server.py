"""Batch push notifications sandbox ("MEP" API 1.1).

Contract (doc.batch.com): the app's Live API key sits
in the path (`/1.1/{api_key}/...`, one key per app: iOS and Android) and the
company REST key in the `X-Authorization` header.
- `GET campaigns/list?from=&limit=` (limit at most 100): a JSON array of
  `{campaign_token, dev_only, created_date, name, live, from_api}`;
- `GET campaigns/{token}`: the campaign with `labels` and `messages`, a list of
  `{title, body, deeplink}` or an A/B object `{"a": [...], "b": [...]}`;
- `GET campaigns/stats/{token}`: `{campaign_token, detail: [{date, sent, sent_optins,
  direct_open, influenced_open, reengaged, errors, versions?: {a, b}}]}`;
- `GET transactional/stats/{group_id}?since=&until=` (window of 6 months at most).
Errors: `{"code": <NAME>, "error_code": <n>, "message": ...}` with 401
AUTHENTICATION_INVALID (10), 403 API_MISUSE (12), 404 ROUTE_NOT_FOUND (20),
429 TOO_MANY_REQUESTS (60) "wait at least 5 seconds" (no Retry-After header),
500 SERVER_ERROR (0). The envelope's field names are unverified.
"""

from __future__ import annotations

from datetime import date, timedelta

from sandbox.framework import Request, Response, VendorSandbox
from sandbox.world.campaigns import APPS, build

MAX_LIMIT = 100
MAX_WINDOW_DAYS = 186


def _error(status: int, code: str, number: int, message: str) -> Response:
    return Response.json({"code": code, "error_code": number, "message": message}, status)


class BatchSandbox(VendorSandbox):
    name = "batch"
    rate_limit = (6000, 60.0)  # not published by Batch (unverified): generous, so tests are not slowed

    def __init__(self, world, api_key, seed=0, files_dir=None):
        super().__init__(world, api_key, seed, files_dir)
        mkt = world.slice("marketing", build)
        self.live_keys = {self.live_key(api_key, p): p for p in APPS}
        self.campaigns = {p: [c for c in mkt.batch_campaigns if c["platform"] == p] for p in APPS}
        self.by_token = {c["campaign_token"]: c for c in mkt.batch_campaigns}
        self.transactional: dict[tuple[str, str], list[dict]] = {}
        for row in mkt.batch_transactional:
            self.transactional.setdefault((row["platform"], row["group_id"]), []).append(row)

    @staticmethod
    def live_key(api_key: str, platform: str) -> str:
        return f"{platform.upper()}LIVE{api_key.replace('-', '').upper()}"

    @classmethod
    def client_config(cls, base_url, api_key, files_dir):
        import json

        return {
            "base_url": base_url,
            "rest_api_key": api_key,
            "api_keys": json.dumps({p: cls.live_key(api_key, p) for p in APPS}),
            "start_date": "2023-01-01",
            "calls_per_minute": "5000",
        }

    def routes(self):
        key = r"/1\.1/(?P<key>[^/]+)"
        return [
            ("GET", key + r"/campaigns/list", self.list_campaigns),
            ("GET", key + r"/campaigns/stats/(?P<token>[^/]+)", self.campaign_stats),
            ("GET", key + r"/campaigns/(?P<token>[^/]+)", self.campaign),
            ("GET", key + r"/transactional/stats/(?P<group_id>[^/]+)", self.transactional_stats),
        ]

    # --- contract shapes ---------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        parts = req.path.split("/")
        if len(parts) < 3 or parts[2] not in self.live_keys or req.headers.get("x-authorization") != self.api_key:
            return _error(
                401, "AUTHENTICATION_INVALID", 10, "Authentication invalid: check your API key and REST API key"
            )
        return None

    def too_many_requests(self, retry_after: float) -> Response:
        return _error(
            429,
            "TOO_MANY_REQUESTS",
            60,
            "Too many requests: you have been rate limited, wait at least 5 seconds before retrying",
        )

    def server_error(self, status: int) -> Response:
        return _error(status, "SERVER_ERROR", 0, "Internal server error")

    def not_found(self, req: Request) -> Response:
        return _error(404, "ROUTE_NOT_FOUND", 20, "Route not found")

    # --- handlers ------------------------------------------------------------------------
    def list_campaigns(self, req: Request, key: str) -> Response:
        try:
            offset, limit = int(req.arg("from", "0")), int(req.arg("limit", "10"))
        except ValueError:
            return _error(403, "API_MISUSE", 12, "from and limit must be integers")
        if not 0 < limit <= MAX_LIMIT:
            return _error(403, "API_MISUSE", 12, f"limit must be between 1 and {MAX_LIMIT}")
        page = self.campaigns[self.live_keys[key]][offset : offset + limit]
        return Response.json(
            [
                {k: c[k] for k in ("campaign_token", "dev_only", "created_date", "name", "live", "from_api")}
                for c in page
            ]
        )

    def _campaign(self, key: str, token: str) -> dict | None:
        c = self.by_token.get(token)
        return c if c is not None and c["platform"] == self.live_keys[key] else None

    def campaign(self, req: Request, key: str, token: str) -> Response:
        if (c := self._campaign(key, token)) is None:
            return _error(404, "ROUTE_NOT_FOUND", 20, f"Campaign {token} not found")
        body = {
            k: c[k]
            for k in ("campaign_token", "dev_only", "created_date", "name", "live", "from_api", "labels", "messages")
        }
        body.update(push_time=c["send_date"], targeting={"segments": ["NEW", "ONE_TIME", "ENGAGED"]})
        if self.faults.schema_drift:
            body["capping"] = {"per_user": 1}
        return Response.json(body)

    def campaign_stats(self, req: Request, key: str, token: str) -> Response:
        if (c := self._campaign(key, token)) is None:
            return _error(404, "ROUTE_NOT_FOUND", 20, f"Campaign {token} not found")
        return Response.json({"campaign_token": token, "detail": c["stats"]})

    def transactional_stats(self, req: Request, key: str, group_id: str) -> Response:
        try:
            since, until = date.fromisoformat(req.arg("since", "")), date.fromisoformat(req.arg("until", ""))
        except ValueError:
            return _error(403, "API_MISUSE", 12, "since and until must be dates (YYYY-MM-DD)")
        if until < since or until - since > timedelta(days=MAX_WINDOW_DAYS):
            return _error(
                403, "API_MISUSE", 12, "the window between since and until must be positive and at most 6 months"
            )
        rows = [r for r in self.transactional.get((self.live_keys[key], group_id), []) if since <= r["date"] <= until]
        return Response.json(
            {
                "group_id": group_id,
                "detail": [
                    {
                        "date": r["date"].isoformat(),
                        **{k: r[k] for k in ("sent", "direct_open", "influenced_open", "reengaged", "errors")},
                    }
                    for r in rows
                ],
            }
        )
