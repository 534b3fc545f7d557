"""Brevo (ex-Sendinblue) API v3 sandbox: newsletters, transactional templates and events.

Contract (developers.brevo.com): header `api-key`;
errors `{"code": "unauthorized", "message": "Key not found"}` (401),
`{"code": "invalid_parameter", ...}` (400);
- `GET /v3/emailCampaigns?status=sent&limit=&offset=&statistics=globalStats`
  -> `{campaigns: [{id, name, tag, sentDate, shareLink, statistics: {globalStats, campaignStats}}], count}`
  (limit at most 100, offset paging);
- `GET /v3/smtp/templates?templateStatus=true&limit=&offset=` -> `{templates: [...], count}`;
- `GET /v3/smtp/statistics/events?startDate=&endDate=&event=&limit=&offset=` -> `{events: [...]}`
  (dates inclusive, 90 days at most, limit at most 5000; an empty result is `{}`).
  Event dates mix ISO 8601 with and without milliseconds, in Paris time.
Rate limits: 300 calls/hour on /smtp, 100/hour elsewhere (one window here,
the /smtp one); 429 with `x-sib-ratelimit-limit`, `x-sib-ratelimit-remaining`
and `x-sib-ratelimit-reset` (seconds), no Retry-After.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from sandbox.framework import Request, Response, VendorSandbox
from sandbox.world.campaigns import build

PARIS = ZoneInfo("Europe/Paris")
UTC = ZoneInfo("UTC")
MAX_CAMPAIGNS = 100
MAX_EVENTS = 5000
EVENTS = ("delivered", "opened", "unsubscribed", "clicks", "hardBounces", "softBounces", "requests")


def _error(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    return Response.json({"code": code, "message": message}, status, headers)


def _when(t, millis: bool) -> str:
    local = t.replace(tzinfo=UTC).astimezone(PARIS)
    return local.isoformat(timespec="milliseconds" if millis else "seconds")


class BrevoSandbox(VendorSandbox):
    name = "brevo"
    rate_limit = (300, 3600.0)
    # Enterprise plans get 600 an hour on /v3/smtp/*, and a "rate limit add-on" beyond it that Brevo sizes on
    # request: 6,000 an hour is our assumption, enough for a first backfill at scale 200 (about 1,800 event pages)
    high_volume_rate_limit = (6000, 3600.0)

    def __init__(self, world, api_key, seed=0, files_dir=None):
        super().__init__(world, api_key, seed, files_dir)
        mkt = world.slice("marketing", build)
        self.newsletters = sorted(mkt.newsletters, key=lambda n: n["sentDate"], reverse=True)  # Brevo: newest first
        self.templates = mkt.templates
        # events in date order with their Paris day beside them: a window is found by bisection and
        # each (window, filters) list is kept for the pages that follow, not rescanned per page
        self.events = mkt.email_events  # a Table (columns, dicts on read), in date order as the slice keeps it
        # as day ordinals, a column: Paris is a whole number of hours from UTC, so each distinct UTC hour
        # is turned into its Paris day once, not each event
        hours, inverse = np.unique(self.events.times("date").astype("datetime64[h]"), return_inverse=True)
        paris_days = [h.replace(tzinfo=UTC).astimezone(PARIS).date().toordinal() for h in hours.tolist()]
        self._days = np.array(paris_days, dtype=np.int32)[inverse]
        self._matching = lru_cache(maxsize=8)(self._newest_first)

    def _newest_first(self, start: date, end: date, event: str | None, template: str | None) -> list[dict]:
        lo = int(np.searchsorted(self._days, start.toordinal(), "left"))
        window = self.events[lo : int(np.searchsorted(self._days, end.toordinal(), "right"))]
        items = [
            e
            for e in window
            if (event is None or e["event"] == event) and (template is None or str(e["templateId"]) == template)
        ]
        items.reverse()
        return items

    @classmethod
    def client_config(cls, base_url, api_key, files_dir):
        # the world's history starts in 2023; the sandbox's hourly window lets a demo go faster
        # than 300 calls/hour pacing
        return {
            "base_url": base_url,
            "api_key": api_key,
            "start_date": "2023-01-01",
            "calls_per_hour": "180000",
            "campaign_calls_per_hour": "180000",
        }

    def routes(self):
        return [
            ("GET", r"/v3/emailCampaigns", self.email_campaigns),
            ("GET", r"/v3/smtp/templates", self.smtp_templates),
            ("GET", r"/v3/smtp/statistics/events", self.smtp_events),
        ]

    # --- contract shapes ---------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        if req.headers.get("api-key") != self.api_key:
            return _error(401, "unauthorized", "Key not found")
        return None

    def too_many_requests(self, retry_after: float) -> Response:
        return _error(
            429,
            "too_many_requests",
            "The expected rate limit is exceeded.",
            {
                "x-sib-ratelimit-limit": str(self.rate_limit[0]),
                "x-sib-ratelimit-remaining": "0",
                "x-sib-ratelimit-reset": str(max(1, round(retry_after))),
            },
        )

    def server_error(self, status: int) -> Response:
        return _error(status, "internal_error", "Internal server error")

    def not_found(self, req: Request) -> Response:
        return _error(404, "document_not_found", "Route not found")

    def _paging(self, req: Request, default: int, maximum: int) -> tuple[int, int] | Response:
        try:
            limit, offset = int(req.arg("limit", str(default))), int(req.arg("offset", "0"))
        except ValueError:
            return _error(400, "invalid_parameter", "limit and offset must be integers")
        if not 0 < limit <= maximum or offset < 0:
            return _error(400, "invalid_parameter", f"limit must be between 1 and {maximum}")
        return limit, offset

    # --- handlers ------------------------------------------------------------------------
    def email_campaigns(self, req: Request) -> Response:
        paging = self._paging(req, 50, MAX_CAMPAIGNS)
        if isinstance(paging, Response):
            return paging
        limit, offset = paging
        status = req.arg("status")
        items = self.newsletters if status in (None, "sent") else []
        page = items[offset : offset + limit]
        return Response.json({"campaigns": [self._campaign(n) for n in page], "count": len(items)})

    def _campaign(self, n: dict) -> dict:
        stats = {
            k: n[k]
            for k in (
                "delivered",
                "sent",
                "uniqueViews",
                "viewed",
                "uniqueClicks",
                "clickers",
                "unsubscriptions",
                "hardBounces",
                "softBounces",
                "complaints",
            )
        }
        stats.update(
            trackableViews=n["uniqueViews"],
            estimatedViews=n["uniqueViews"],
            opensRate=round(100 * n["uniqueViews"] / max(1, n["delivered"]), 2),
            appleMppOpens=0,
            deferred=0,
            returnBounce=0,
        )
        body = {
            "id": n["id"],
            "name": n["name"],
            "subject": n["name"],
            "type": "classic",
            "status": "sent",
            "tag": n["tag"],
            "testSent": False,
            "header": "[DEFAULT_HEADER]",
            "footer": "[DEFAULT_FOOTER]",
            "sender": {"name": "pass Culture", "email": "newsletter@passculture.app", "id": 1},
            "replyTo": "support@passculture.app",
            "toField": "",
            "htmlContent": "<html>…</html>",
            "shareLink": f"https://my.brevo.com/sh/{n['id']:06d}",
            "inlineImageActivation": False,
            "mirrorActive": True,
            "recurring": False,
            "createdAt": _when(n["createdAt"], True),
            "modifiedAt": _when(n["sentDate"], True),
            "sentDate": _when(n["sentDate"], True),
            "recipients": {"lists": [2], "exclusionLists": []},
            "statistics": {
                "globalStats": stats,
                "campaignStats": [{"listId": 2, **stats}],
                "mirrorClick": 0,
                "remaining": 0,
                "linksStats": {},
                "statsByDomain": {},
            },
        }
        if self.faults.schema_drift:
            body["utmCampaignValue"] = n["tag"]
        return body

    def smtp_templates(self, req: Request) -> Response:
        paging = self._paging(req, 50, 1000)
        if isinstance(paging, Response):
            return paging
        limit, offset = paging
        items = self.templates
        if req.arg("templateStatus") is not None:
            active = req.arg("templateStatus") == "true"
            items = [t for t in items if t["isActive"] == active]
        page = items[offset : offset + limit]
        return Response.json(
            {
                "count": len(items),
                "templates": [
                    {
                        "id": t["id"],
                        "name": t["name"],
                        "subject": t["subject"],
                        "isActive": t["isActive"],
                        "testSent": True,
                        "sender": {"name": "pass Culture", "email": "support@passculture.app", "id": 1},
                        "replyTo": "support@passculture.app",
                        "toField": "{{contact.FIRSTNAME}}",
                        "tag": t["tag"],
                        "htmlContent": "<html>…</html>",
                        "createdAt": _when(t["createdAt"], True),
                        "modifiedAt": _when(t["modifiedAt"], True),
                    }
                    for t in page
                ],
            }
        )

    def smtp_events(self, req: Request) -> Response:
        paging = self._paging(req, 2500, MAX_EVENTS)
        if isinstance(paging, Response):
            return paging
        limit, offset = paging
        try:
            start, end = date.fromisoformat(req.arg("startDate", "")), date.fromisoformat(req.arg("endDate", ""))
        except ValueError:
            return _error(400, "invalid_parameter", "startDate and endDate are required (YYYY-MM-DD)")
        if end < start or (end - start) > timedelta(days=90):
            return _error(400, "invalid_parameter", "the date range must be positive and at most 90 days")
        event = req.arg("event")
        if event is not None and event not in EVENTS:
            return _error(400, "invalid_parameter", f"event must be one of {', '.join(EVENTS)}")
        template = req.arg("templateId")
        # Brevo filters on the day in its own (Paris) time zone, newest first
        items = self._matching(start, end, event, template)
        page = items[offset : offset + limit]
        if not page:
            return Response.json({})
        return Response.json(
            {
                "events": [
                    {
                        "email": e["email"],
                        "date": _when(e["date"], millis=bool(i % 2)),
                        "subject": e["subject"],
                        "messageId": e["messageId"],
                        "event": e["event"],
                        "tag": e["tag"],
                        "templateId": e["templateId"],
                        "from": e["from"],
                        **({"ip": "203.0.113.7"} if e["event"] == "opened" else {}),
                    }
                    for i, e in enumerate(page)
                ]
            }
        )
