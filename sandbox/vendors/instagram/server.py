"""Instagram Graph API sandbox (Instagram API with Facebook Login).

Contract (Meta Graph API docs):
- every call carries the `access_token` query parameter; a wrong one is HTTP 400
  `{"error": {"message", "type": "OAuthException", "code": 190, "fbtrace_id"}}`;
- `GET /v25.0/{ig-user-id}/insights?metric=a,b&period=day&since=&until=` (unix
  seconds): `values: [{value, end_time}]` per day for day metrics (at most
  30 days between since and until), or with `metric_type=total_value` one
  `total_value: {value}` over the whole range;
- `GET /v25.0/{ig-user-id}?fields=...`; `GET /v25.0/{ig-user-id}/media?fields=&limit=`
  newest first, `paging.cursors` + `paging.next` (a full URL that repeats the token);
- `GET /v25.0/{media-id}/insights?metric=...`: lifetime values, empty `data`
  while the post is younger than 48 h;
- errors: HTTP 400 `{"error": {...}}` (code 100 for bad parameters); throttling is
  HTTP 400 with code 4 (app), 17 (user), 32 (page), 613 or 80002 (Instagram BUC),
  never 429; usage headers `X-App-Usage` and `X-Business-Use-Case-Usage` on every answer.
Rate limit: Business Use Case limit of the Instagram platform (4800 calls per 24 h
per account times its impressions; modelled as 4800 calls per hour here).
"""

from __future__ import annotations

import base64
import json
import math
import secrets
from datetime import UTC, datetime, time, timedelta
from typing import ClassVar
from urllib.parse import urlencode

from sandbox.framework import Request, Response, VendorSandbox

from .world import POST_METRICS, TOTAL_VALUE_METRICS, VALUE_METRICS, VIDEO_METRICS, instagram

MAX_RANGE_S = 30 * 86400
MEDIA_FIELDS = {
    "id",
    "caption",
    "media_type",
    "media_product_type",
    "media_url",
    "thumbnail_url",
    "permalink",
    "timestamp",
    "like_count",
    "comments_count",
    "username",
    "shortcode",
}
ACCOUNT_FIELDS = {"id", "username", "name", "biography", "followers_count", "follows_count", "media_count"}


def graph_error(
    message: str,
    code: int,
    status: int = 400,
    type_: str = "OAuthException",
    subcode: int | None = None,
    headers: dict | None = None,
) -> Response:
    err = {
        "message": message,
        "type": type_,
        "code": code,
        "fbtrace_id": base64.b64encode(secrets.token_bytes(9)).decode(),
    }
    if subcode is not None:
        err["error_subcode"] = subcode
    return Response.json({"error": err}, status, headers)


class InstagramSandbox(VendorSandbox):
    name = "instagram"
    rate_limit = (4800, 3600.0)
    # the BUC limit is 4,800 calls a day per impression of the account in the last 24 h, so it grows with the
    # account: the high-volume tier stands for one seen at least 1,000 times a day (a first load at scale 200
    # asks for the insights of 36,000 posts, 7.5 hours at 4,800 an hour)
    high_volume_rate_limit = (200_000, 3600.0)
    high_volume_client_config: ClassVar[dict[str, str]] = {"calls_per_hour": "200000"}

    def __init__(self, world, api_key, seed=0, files_dir=None):
        super().__init__(world, api_key, seed, files_dir)
        self.data = instagram(world)
        self.accounts = {a["id"]: a for a in self.data.accounts}
        self.posts = {p["id"]: p for p in self.data.posts}
        self.current_base = ""  # set per request, to write `paging.next`

    @classmethod
    def client_config(cls, base_url, api_key, files_dir):
        from .world import ACCOUNTS

        return {
            "base_url": f"{base_url}/v25.0",
            "access_token": api_key,
            "account_ids": ",".join(a for a, _, _ in ACCOUNTS),
            "start_date": "2026-08-01",
            "end_date": "2026-10-31",
        }

    def routes(self):
        return [
            ("GET", r"/v(?P<version>[\d.]+)/(?P<node>\d+)/insights/?", self.insights),
            ("GET", r"/v(?P<version>[\d.]+)/(?P<node>\d+)/media/?", self.media),
            ("GET", r"/v(?P<version>[\d.]+)/(?P<node>\d+)/?", self.node),
        ]

    # --- contract shapes ------------------------------------------------------------
    def _usage_headers(self) -> dict[str, str]:
        used = len(self.limiter._hits) if self.limiter else 0
        total = self.limiter.requests if self.limiter else 1
        pct = min(100, math.ceil(100 * used / total))
        buc = {
            account: [
                {
                    "type": "instagram",
                    "call_count": pct,
                    "total_cputime": max(1, pct // 3),
                    "total_time": max(1, pct // 2),
                    "estimated_time_to_regain_access": 0,
                }
            ]
            for account in self.accounts
        }
        return {
            "X-App-Usage": json.dumps(
                {"call_count": pct, "total_cputime": max(1, pct // 3), "total_time": max(1, pct // 2)}
            ),
            "X-Business-Use-Case-Usage": json.dumps(buc),
        }

    def authenticate(self, req: Request) -> Response | None:
        token = req.arg("access_token")
        if not token:
            return graph_error("An active access token must be used to query information about the current user.", 2500)
        if token != self.api_key:
            return graph_error("Invalid OAuth access token - Cannot parse access token", 190)
        return None

    def too_many_requests(self, retry_after: float) -> Response:
        minutes = 0 if retry_after <= 1 else math.ceil(retry_after / 60)
        buc = {
            account: [
                {
                    "type": "instagram",
                    "call_count": 100,
                    "total_cputime": 40,
                    "total_time": 60,
                    "estimated_time_to_regain_access": minutes,
                }
            ]
            for account in self.accounts
        }
        return graph_error(
            "There have been too many calls to this Instagram account. Wait a bit and try again.",
            80002,
            headers={"X-Business-Use-Case-Usage": json.dumps(buc)},
        )

    def server_error(self, status: int) -> Response:
        return graph_error(
            "An unexpected error has occurred. Please retry your request later.", 2, status, "OAuthException"
        )

    def not_found(self, req: Request) -> Response:
        return graph_error(f"Unknown path components: {req.path}", 2500)

    def handle(self, req: Request) -> Response:
        response = super().handle(req)
        response.headers.update(self._usage_headers())
        return response

    def malformed(self, response: Response) -> Response:
        return Response(200, response.body[: max(1, len(response.body) // 2)], dict(response.headers))

    # --- handlers ---------------------------------------------------------------------
    def _unknown(self, node: str) -> Response:
        return graph_error(
            f"Unsupported get request. Object with ID '{node}' does not exist, cannot be loaded due to missing "
            "permissions, or does not support this operation.",
            100,
            subcode=33,
            type_="GraphMethodException",
        )

    def node(self, req: Request, version: str, node: str) -> Response:
        fields = [f for f in (req.arg("fields") or "id").split(",") if f]
        if node in self.accounts:
            bad = [f for f in fields if f not in ACCOUNT_FIELDS]
            if bad:
                return graph_error(f"(#100) Tried accessing nonexisting field ({bad[0]}) on node type (IGUser)", 100)
            return Response.json({f: self.accounts[node][f] for f in fields})
        if node in self.posts:
            return Response.json(self._media(self.posts[node], fields))
        return self._unknown(node)

    def _media(self, post: dict, fields: list[str]) -> dict:
        out = {}
        for f in fields:
            if f == "timestamp":
                out[f] = post["timestamp"].strftime("%Y-%m-%dT%H:%M:%S+0000")
            elif f == "username":
                out[f] = self.accounts[post["account_id"]]["username"]
            elif f == "like_count":
                out[f] = self.data.post_insights[post["id"]]["likes"]
            elif f == "comments_count":
                out[f] = self.data.post_insights[post["id"]]["comments"]
            elif f in ("media_url", "thumbnail_url"):
                if f == "media_url" or post["media_type"] == "VIDEO":
                    out[f] = f"https://scontent.cdninstagram.com/v/{post['id']}.jpg?oe=EXPIRING"
            elif f == "shortcode":
                out[f] = post["permalink"].rstrip("/").rsplit("/", 1)[-1]
            else:
                out[f] = post[f]
        if self.faults.schema_drift:
            out["is_shared_to_feed"] = True
        return out

    def media(self, req: Request, version: str, node: str) -> Response:
        if node not in self.accounts:
            return self._unknown(node)
        fields = [f for f in (req.arg("fields") or "id").split(",") if f]
        bad = [f for f in fields if f not in MEDIA_FIELDS]
        if bad:
            return graph_error(f"(#100) Tried accessing nonexisting field ({bad[0]}) on node type (IGMedia)", 100)
        limit = min(int(req.arg("limit", "25")), 100)
        posts = [p for p in self.data.posts if p["account_id"] == node]
        after = req.arg("after")
        start = 0
        if after:
            start = int(base64.urlsafe_b64decode(after.encode()).decode()) + 1
        page = posts[start : start + limit]
        body: dict = {"data": [self._media(p, fields) for p in page]}
        if page:
            cursors = {
                "before": base64.urlsafe_b64encode(str(start).encode()).decode(),
                "after": base64.urlsafe_b64encode(str(start + len(page) - 1).encode()).decode(),
            }
            body["paging"] = {"cursors": cursors}
            if start + len(page) < len(posts):
                query = {k: v[0] for k, v in req.query.items() if k != "before"}
                query["after"] = cursors["after"]
                host = req.headers.get("host", "127.0.0.1")
                body["paging"]["next"] = f"http://{host}/{self.name}/v{version}/{node}/media?{urlencode(query)}"
        return Response.json(body)

    def insights(self, req: Request, version: str, node: str) -> Response:
        metrics = [m for m in (req.arg("metric") or "").split(",") if m]
        if not metrics:
            return graph_error("(#100) The parameter metric is required", 100)
        if node in self.posts:
            return self._media_insights(self.posts[node], metrics)
        if node not in self.accounts:
            return self._unknown(node)
        total = req.arg("metric_type") == "total_value"
        allowed = TOTAL_VALUE_METRICS if total else VALUE_METRICS
        for m in metrics:
            if m not in allowed:
                hint = "metric_type=total_value" if m in TOTAL_VALUE_METRICS else "metric_type=time_series"
                return graph_error(f"(#100) The following metrics ({m}) should be specified with parameter {hint}", 100)
        if req.arg("period") != "day":
            return graph_error(
                "(#100) period must be one of the following values: day, week, days_28, month, lifetime", 100
            )
        try:
            since, until = int(req.arg("since")), int(req.arg("until"))
        except (TypeError, ValueError):
            return graph_error("(#100) since and until must be unix timestamps", 100)
        if until <= since or until - since > MAX_RANGE_S:
            return graph_error("(#100) There cannot be more than 30 days (2592000 s) between since and until", 100)
        first = datetime.fromtimestamp(since, UTC).date()
        last = datetime.fromtimestamp(until - 1, UTC).date()
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        days = [d for d in days if (node, d) in self.data.daily]
        data = []
        for m in metrics:
            entry = {
                "name": m,
                "period": "day",
                "title": m.replace("_", " ").title(),
                "description": f"The number of {m.replace('_', ' ')}.",
                "id": f"{node}/insights/{m}/day",
            }
            if total:
                entry["total_value"] = {"value": sum(self.data.daily[(node, d)][m] for d in days)}
            else:
                # end_time is the end of the day in Pacific time, as Meta writes it (07:00 or 08:00 UTC the next day)
                entry["values"] = [
                    {
                        "value": self.data.daily[(node, d)][m],
                        "end_time": datetime.combine(
                            d + timedelta(days=1), time(7 if 3 <= d.month <= 10 else 8)
                        ).strftime("%Y-%m-%dT%H:%M:%S+0000"),
                    }
                    for d in days
                ]
            data.append(entry)
        return Response.json(
            {
                "data": data,
                "paging": {
                    "previous": f"since={since - (until - since)}&until={since}",
                    "next": f"since={until}&until={until + (until - since)}",
                },
            }
        )

    def _media_insights(self, post: dict, metrics: list[str]) -> Response:
        allowed = VIDEO_METRICS if post["media_type"] == "VIDEO" else POST_METRICS
        for m in metrics:
            if m not in allowed:
                return graph_error(
                    f"(#100) metric[{metrics.index(m)}] must be one of the following values: {', '.join(allowed)}", 100
                )
        if post["timestamp"] > self.world.end - timedelta(hours=48):
            return Response.json({"data": []})  # insights lag up to 48 h: empty, not zeros
        values = self.data.post_insights[post["id"]]
        data = []
        for m in metrics:
            entry = {
                "name": m,
                "period": "lifetime",
                "title": m.replace("_", " ").title(),
                "id": f"{post['id']}/insights/{m}/lifetime",
            }
            if m in ("profile_activity", "total_interactions"):
                entry["total_value"] = {"value": values[m]}  # metrics with breakdowns answer in the total_value shape
            else:
                entry["values"] = [{"value": values[m]}]
            data.append(entry)
        return Response.json({"data": data})
