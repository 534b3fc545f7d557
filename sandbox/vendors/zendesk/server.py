"""Zendesk Support API sandbox.

Contract (developer.zendesk.com): Basic auth
`{email}/token:{api_token}`, 401 `{"error": "Couldn't authenticate you"}`
otherwise; account-wide 700 requests/min (Enterprise), the incremental
export endpoints 10 requests/min on top; 429 with `Retry-After` (seconds).
- `GET /api/v2/incremental/tickets/cursor.json?start_time=<unix>` then
  `?cursor=<after_cursor>`: `{tickets, after_cursor, after_url, before_cursor,
  before_url, end_of_stream}`, `per_page` up to 1000, compared with each
  ticket's `generated_timestamp`; the same for `/incremental/users/cursor.json`
  (compared with `updated_at`). `include=metric_sets` on the ticket export
  sideloads the page's ticket metrics: a top-level `metric_sets` array, one per
  ticket of the page (`ticket_id`, `solved_at`, `reply_time_in_minutes`
  {calendar, business}, `first_resolution_time_in_minutes`,
  `full_resolution_time_in_minutes`, ...; the Ticket Metrics JSON format).
- `GET /api/v2/ticket_fields`, `GET /api/v2/macros?include=usage_7d,...`,
  `GET /api/v2/satisfaction_ratings?start_time=` with cursor pagination
  (`page[size]` up to 100, `page[after]`; `meta.has_more`, `meta.after_cursor`,
  `links.next`).
- `GET /api/v2/users/{id}`: the per-user call; the source must never make it once per ticket.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar
from urllib.parse import urlencode

import numpy as np

from sandbox.framework import RateLimit, Request, Response, VendorSandbox

from .world import build, iso, unix

SANDBOX_EMAIL = "data-bot@passculture.app"
INCREMENTAL_LIMIT = (10, 60.0)
# the High Volume API add-on: 2,500 requests a minute account-wide and 30 a minute on the incremental exports
HIGH_VOLUME_INCREMENTAL_LIMIT = (30, 60.0)


def _keys(stamps: list[int], ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    return np.array(stamps, dtype=np.int64), np.array(ids, dtype=np.int64)


def _encode(*parts) -> str:
    return base64.urlsafe_b64encode("|".join(map(str, parts)).encode()).decode()


def _decode(cursor: str) -> list[str]:
    return base64.urlsafe_b64decode(cursor.encode()).decode().split("|")


class ZendeskSandbox(VendorSandbox):
    name = "zendesk"
    rate_limit = (700, 60.0)
    high_volume_rate_limit = (2500, 60.0)
    high_volume_client_config: ClassVar[dict[str, str]] = {
        "calls_per_minute": "2500",
        "incremental_calls_per_minute": "30",
    }
    incremental_limit = INCREMENTAL_LIMIT

    def __init__(self, world, api_key, seed=0, files_dir=None):
        super().__init__(world, api_key, seed, files_dir)
        self.data = world.slice("zendesk", build)
        self.incremental_limiter = RateLimit(*self.incremental_limit)
        self.tickets, self.users = self.data.tickets, self.data.users  # Tables, in the exports' order
        # each export's (stamp, id) keys as columns: a page is found by bisection, not by a rescan of every item
        self._keys = {
            "tickets": _keys([unix(t) for t in self.tickets.column("updated_at")], self.tickets.column("id")),
            "users": _keys([unix(t) for t in self.users.column("updated_at")], self.users.column("id")),
        }
        self._user_row = {user_id: row for row, user_id in enumerate(self.users.column("id"))}
        # the last (start_time, end_time) window of ratings asked for, in id order: the pages of one listing
        # share it, so each page is a slice, not a scan and a sort of every rating (quadratic in a full load)
        self._ratings_window: tuple[tuple[int, int], Sequence[dict]] = ((-1, -1), [])
        self.expected_auth = "Basic " + base64.b64encode(f"{SANDBOX_EMAIL}/token:{api_key}".encode()).decode()

    @classmethod
    def client_config(cls, base_url, api_key, files_dir):
        return {"base_url": base_url, "subdomain": "passculture", "email": SANDBOX_EMAIL, "api_token": api_key}

    def set_rate_limit(self, requests: int, per_seconds: float) -> None:
        # a test's limit replaces both the account-wide and the incremental export limits
        super().set_rate_limit(requests, per_seconds)
        self.incremental_limiter = RateLimit(requests, per_seconds)

    def use_high_volume_tier(self) -> None:
        super().use_high_volume_tier()
        self.incremental_limit = HIGH_VOLUME_INCREMENTAL_LIMIT
        self.incremental_limiter = RateLimit(*self.incremental_limit)

    def reset(self) -> None:
        super().reset()
        self.incremental_limiter = RateLimit(*self.incremental_limit)

    def routes(self):
        return [
            ("GET", r"/api/v2/incremental/tickets/cursor\.json", self.incremental_tickets),
            ("GET", r"/api/v2/incremental/users/cursor\.json", self.incremental_users),
            ("GET", r"/api/v2/ticket_fields(?:\.json)?", self.ticket_fields),
            ("GET", r"/api/v2/macros(?:\.json)?", self.macros),
            ("GET", r"/api/v2/satisfaction_ratings(?:\.json)?", self.satisfaction_ratings),
            ("GET", r"/api/v2/users/(?P<user_id>\d+)(?:\.json)?", self.show_user),
        ]

    # --- contract shapes ---------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        if req.headers.get("authorization") != self.expected_auth:
            return Response.json({"error": "Couldn't authenticate you"}, 401)
        return None

    def too_many_requests(self, retry_after: float) -> Response:
        return Response.json(
            {"error": "APIRateLimitExceeded", "description": "Number of allowed API requests per minute exceeded"},
            429,
            {"Retry-After": str(max(1, round(retry_after)))},
        )

    def server_error(self, status: int) -> Response:
        return Response.json({"error": "InternalError", "description": "Something went wrong"}, status)

    def not_found(self, req: Request) -> Response:
        return Response.json({"error": "InvalidEndpoint", "description": "Not found"}, 404)

    def _invalid(self, description: str) -> Response:
        return Response.json({"error": "InvalidPaginationParameter", "description": description}, 400)

    # --- payloads -----------------------------------------------------------------------
    def _ticket(self, t: dict) -> dict:
        fields = t["custom_fields"]
        body = {k: v for k, v in t.items() if not k.startswith("_")}
        body.update(
            {
                "url": f"https://passculture.zendesk.com/api/v2/tickets/{t['id']}.json",
                "external_id": None,
                "raw_subject": t["subject"],
                "recipient": "support@passculture.app",
                "collaborator_ids": [],
                "follower_ids": [],
                "email_cc_ids": [],
                "forum_topic_id": None,
                "problem_id": None,
                "has_incidents": False,
                "is_public": True,
                "due_at": None,
                "fields": fields,
                "sharing_agreement_ids": [],
                "followup_ids": [],
                "allow_channelback": False,
                "allow_attachments": True,
                "from_messaging_channel": t["via"]["channel"] == "native_messaging",
                "created_at": iso(t["created_at"]),
                "updated_at": iso(t["updated_at"]),
                "generated_timestamp": unix(t["updated_at"]),
            }
        )
        if self.faults.schema_drift:
            body["custom_status_id"] = 360012345678
        return body

    def _user(self, u: dict) -> dict:
        body = {k: v for k, v in u.items() if not k.startswith("_")}
        body.update(
            {
                "url": f"https://passculture.zendesk.com/api/v2/users/{u['id']}.json",
                "external_id": None,
                "created_at": iso(u["created_at"]),
                "updated_at": iso(u["updated_at"]),
                "last_login_at": None,
                "photo": None,
                "shared": False,
                "moderator": u["role"] != "end-user",
                "ticket_restriction": "requested" if u["role"] == "end-user" else None,
            }
        )
        return body

    # --- incremental exports ----------------------------------------------------------------
    def _incremental(self, req: Request, kind: str, items: Sequence[dict], stamp, render, sideload=None) -> Response:
        if (wait := self.incremental_limiter.acquire()) is not None:
            self._count("rate_limited")
            return self.too_many_requests(wait)
        per_page = min(int(req.arg("per_page", "1000")), 1000)
        stamps, ids = self._keys[kind]
        if (cursor := req.arg("cursor")) is not None:
            ts, ident = map(int, _decode(cursor))
            lo, hi = np.searchsorted(stamps, ts, "left"), np.searchsorted(stamps, ts, "right")
            first = int(lo + np.searchsorted(ids[lo:hi], ident, "right"))  # the first key after (ts, ident)
        elif (start := req.arg("start_time")) is not None:
            first = int(np.searchsorted(stamps, int(start), "left"))
        else:
            return Response.json({"error": "InvalidValue", "description": "start_time or cursor is required"}, 400)
        page = items[first : first + per_page]
        remaining = len(items) - first
        last = (
            (stamp(page[-1]), page[-1]["id"])
            if page
            else (int(req.arg("start_time") or 0), -1)
            if cursor is None
            else tuple(map(int, _decode(cursor)))
        )
        after = _encode(*last)
        base = f"https://passculture.zendesk.com/api/v2/incremental/{kind}/cursor.json"
        return Response.json(
            {
                kind: [render(i) for i in page],
                "after_cursor": after,
                "after_url": f"{base}?{urlencode({'cursor': after})}",
                "before_cursor": None,
                "before_url": None,
                "end_of_stream": remaining <= per_page,
                **(sideload(page) if sideload else {}),
            }
        )

    def _metric_set(self, m: dict) -> dict:
        return {
            **{k: iso(v) if isinstance(v, datetime) else v for k, v in m.items()},
            "url": f"https://passculture.zendesk.com/api/v2/ticket_metrics/{m['id']}.json",
            "group_stations": 1,
            "assignee_stations": 0 if m["assigned_at"] is None else 1,
        }

    def incremental_tickets(self, req: Request) -> Response:
        sideloads = set((req.arg("include") or "").split(","))

        def metric_sets(page: list[dict]) -> dict:
            return {"metric_sets": [self._metric_set(self.data.metric_sets[t["id"]]) for t in page]}

        return self._incremental(
            req,
            "tickets",
            self.tickets,
            lambda t: unix(t["updated_at"]),
            self._ticket,
            metric_sets if "metric_sets" in sideloads else None,
        )

    def incremental_users(self, req: Request) -> Response:
        return self._incremental(req, "users", self.users, lambda u: unix(u["updated_at"]), self._user)

    # --- cursor-paginated lists ---------------------------------------------------------------
    def _cursor_list(self, req: Request, key: str, items: Sequence[dict], render, path: str) -> Response:
        try:
            size = int(req.arg("page[size]", "100"))
        except ValueError:
            return self._invalid("page[size] must be an integer")
        if size > 100:
            return self._invalid("page[size] must be less than or equal to 100")
        after = req.arg("page[after]")
        start = int(_decode(after)[0]) if after else 0
        page = items[start : start + size]
        has_more = start + size < len(items)
        after_cursor = _encode(start + size) if page else None
        extra = {k: v[0] for k, v in req.query.items() if not k.startswith("page[")}
        query = urlencode({**extra, "page[size]": size, "page[after]": after_cursor})
        next_url = f"https://passculture.zendesk.com{path}?{query}" if has_more else None
        return Response.json(
            {
                key: [render(i) for i in page],
                "meta": {
                    "has_more": has_more,
                    "after_cursor": after_cursor,
                    "before_cursor": _encode(start) if page else None,
                },
                "links": {"next": next_url, "prev": None},
            }
        )

    def ticket_fields(self, req: Request) -> Response:
        return self._cursor_list(req, "ticket_fields", self.data.ticket_fields, dict, "/api/v2/ticket_fields")

    def macros(self, req: Request) -> Response:
        sideloads = set((req.arg("include") or "").split(","))
        items = [m for m in self.data.macros if req.arg("active") != "true" or m["active"]]

        def render(m: dict) -> dict:
            body = {k: v for k, v in m.items() if not k.startswith("usage_")}
            body.update(
                {
                    "url": f"https://passculture.zendesk.com/api/v2/macros/{m['id']}.json",
                    "created_at": iso(m["created_at"]),
                    "updated_at": iso(m["updated_at"]),
                    "restriction": None,
                }
            )
            body.update({k: m[k] for k in ("usage_1h", "usage_24h", "usage_7d", "usage_30d") if k in sideloads})
            return body

        return self._cursor_list(req, "macros", items, render, "/api/v2/macros")

    def satisfaction_ratings(self, req: Request) -> Response:
        start = int(req.arg("start_time") or 0)
        end = int(req.arg("end_time") or 2**40)
        window, items = self._ratings_window
        if window != (start, end):  # the window's rows by id, read from the columns (no dict held per rating)
            ratings = self.data.satisfaction_ratings
            updated = ratings.times("updated_at").astype("datetime64[s]").astype(np.int64)  # whole seconds, as unix()
            rows = np.flatnonzero((updated >= start) & (updated < end))
            items = ratings.take(rows[np.argsort(ratings.numbers("id")[rows], kind="stable")])
            self._ratings_window = (start, end), items

        def render(r: dict) -> dict:
            return {
                **r,
                "url": f"https://passculture.zendesk.com/api/v2/satisfaction_ratings/{r['id']}.json",
                "created_at": iso(r["created_at"]),
                "updated_at": iso(r["updated_at"]),
            }

        return self._cursor_list(req, "satisfaction_ratings", items, render, "/api/v2/satisfaction_ratings")

    def show_user(self, req: Request, user_id: str) -> Response:
        row = self._user_row.get(int(user_id))
        if row is None:
            return Response.json({"error": "RecordNotFound", "description": "Not found"}, 404)
        return Response.json({"user": self._user(self.users[row])})
