"""Contentful Content Delivery API (CDA) sandbox: the app home page CMS.

Contract (Contentful CDA docs):
- `GET /spaces/{space}/environments/{env}/entries?content_type=&skip=&limit=&include=&order=`
  (also `/spaces/{space}/entries` for the master environment), `/entries/{id}`,
  `/tags`, `/assets`, `/content_types`;
- auth: `Authorization: Bearer <token>` or the `access_token` query parameter;
  a wrong token is a 401 `AccessTokenInvalid` error object;
- collections: `{sys: {type: 'Array'}, total, skip, limit, items, includes: {Entry: [], Asset: []}}`,
  `limit` at most 1000 (400 above), linked entries and assets of the page's items
  in `includes` (depth `include`, default 1); links that cannot be resolved
  (deleted or unpublished entries) are listed in `errors` as `notResolvable`;
- an unknown content type is a 400 `InvalidQuery` with `unknownContentType`;
- rate limit: 55 uncached requests per second on the CDA; a 429 `RateLimitExceeded`
  carries `X-Contentful-RateLimit-Reset` (seconds to wait), no `Retry-After`;
  every answer carries `X-Contentful-RateLimit-Second-Limit`.
Filters supported: `sys.id`, `sys.id[in]`, `sys.updatedAt[gte]`/`[gt]`/`[lte]`/`[lt]`.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime

from sandbox.framework import Request, Response, VendorSandbox

from .world import CONTENT_TYPES, ENVIRONMENT, LOCALE, SPACE_ID, build, link

MAX_LIMIT = 1000
SECOND_LIMIT = 55


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _error(
    error_id: str, message: str, status: int, details: dict | None = None, headers: dict | None = None
) -> Response:
    body = {
        "sys": {"type": "Error", "id": error_id},
        "message": message,
        "requestId": hashlib.md5(f"{error_id}{message}".encode()).hexdigest()[:24],
    }
    if details is not None:
        body["details"] = details
    return Response.json(body, status, headers)


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)


def _digest(asset_id: str) -> str:
    """The hash segment of an asset URL (any stable token does; Contentful's is opaque)."""
    return hashlib.md5(asset_id.encode()).hexdigest()


class ContentfulSandbox(VendorSandbox):
    name = "contentful"
    rate_limit = (SECOND_LIMIT, 1.0)

    def __init__(self, world, api_key, seed=0, files_dir=None):
        super().__init__(world, api_key, seed, files_dir)
        self.cms = world.slice("contentful", build)
        self.entries = self.cms.by_id()
        self.assets = {a["id"]: a for a in self.cms.assets}
        self.order_key = {e["id"]: i for i, e in enumerate(self.cms.entries)}

    @classmethod
    def client_config(cls, base_url, api_key, files_dir):
        return {"base_url": base_url, "access_token": api_key, "space_id": SPACE_ID, "environment": ENVIRONMENT}

    def routes(self):
        env = r"/spaces/(?P<space>[^/]+)(?:/environments/(?P<env>[^/]+))?"
        return [
            ("GET", env + r"/entries/?", self.list_entries),
            ("GET", env + r"/entries/(?P<entry_id>[^/]+)", self.get_entry),
            ("GET", env + r"/assets/?", self.list_assets),
            ("GET", env + r"/tags/?", self.list_tags),
            ("GET", env + r"/content_types/?", self.list_content_types),
        ]

    # --- contract shapes ---------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        header = req.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else req.arg("access_token")
        if token != self.api_key:
            return _error("AccessTokenInvalid", "The access token you sent could not be found or is invalid.", 401)
        return None

    def too_many_requests(self, retry_after: float) -> Response:
        return _error(
            "RateLimitExceeded",
            "You have exceeded the rate limit of the Organization this Space belongs to by making too many API "
            "requests within a short timespan. Please wait a moment before trying the request again.",
            429,
            headers={
                "X-Contentful-RateLimit-Reset": str(max(1, math.ceil(retry_after))),
                "X-Contentful-RateLimit-Second-Limit": str(self.limiter.requests if self.limiter else SECOND_LIMIT),
            },
        )

    def server_error(self, status: int) -> Response:
        return _error(
            "InternalServerError" if status == 500 else "ServiceUnavailable", "Internal server error occurred.", status
        )

    def not_found(self, req: Request) -> Response:
        return _error("NotFound", "The resource could not be found.", 404)

    def _ok(self, body: dict) -> Response:
        return Response.json(body, headers={"X-Contentful-RateLimit-Second-Limit": str(SECOND_LIMIT)})

    def _check_space(self, space: str, env: str | None) -> Response | None:
        if space != SPACE_ID:
            return _error("NotFound", "The resource could not be found.", 404, {"type": "Space", "id": space})
        if (env or ENVIRONMENT) != ENVIRONMENT:
            return _error("NotFound", "The resource could not be found.", 404, {"type": "Environment", "id": env})
        return None

    def _paging(self, req: Request) -> tuple[int, int] | Response:
        try:
            skip, limit = int(req.arg("skip", "0")), int(req.arg("limit", "100"))
        except ValueError:
            return _error("BadRequest", "skip and limit must be integers", 400)
        if limit > MAX_LIMIT or limit < 0 or skip < 0:
            return _error("BadRequest", f"The limit parameter should be between 0 and {MAX_LIMIT}", 400)
        return skip, limit

    # --- payloads --------------------------------------------------------------------------
    def _sys(self, record: dict, kind: str) -> dict:
        sys = {
            "space": link("Space", SPACE_ID),
            "id": record["id"],
            "type": kind,
            "createdAt": _iso(record["created_at"]),
            "updatedAt": _iso(record["updated_at"]),
            "environment": link("Environment", ENVIRONMENT),
            "publishedVersion": 2 * record["revision"],
            "revision": record["revision"],
            "locale": LOCALE,
        }
        if kind == "Entry":
            sys["contentType"] = link("ContentType", record["content_type"])
        return sys

    def _entry(self, e: dict) -> dict:
        fields = {k: v for k, v in e["fields"].items() if v is not None}  # the CDA omits empty fields
        if self.faults.schema_drift:
            fields["accessibilityLabel"] = f"{e['fields'].get('title', '')} (lecteur d'écran)"
        return {
            "metadata": {"tags": [link("Tag", t) for t in e["tags"]], "concepts": []},
            "sys": self._sys(e, "Entry"),
            "fields": fields,
        }

    def _asset(self, a: dict) -> dict:
        return {
            "metadata": {"tags": [], "concepts": []},
            "sys": self._sys(a, "Asset"),
            "fields": {
                "title": a["title"],
                "file": {
                    "url": f"//images.ctfassets.net/{SPACE_ID}/{a['id']}/{_digest(a['id'])}/{a['file_name']}",
                    "details": {
                        "size": a["width"] * a["height"] // 8,
                        "image": {"width": a["width"], "height": a["height"]},
                    },
                    "fileName": a["file_name"],
                    "contentType": "image/jpeg",
                },
            },
        }

    @staticmethod
    def _links(e: dict):
        for value in e["fields"].values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict) and item.get("sys", {}).get("type") == "Link":
                    yield item["sys"]["linkType"], item["sys"]["id"]

    def _includes(self, items: list[dict], depth: int) -> tuple[dict, list]:
        seen = {e["id"] for e in items}
        entries, assets, missing = {}, {}, {}
        frontier = items
        for _ in range(depth):
            following = []
            for e in frontier:
                for kind, ident in self._links(e):
                    if kind == "Asset":
                        if ident in self.assets:
                            assets.setdefault(ident, self._asset(self.assets[ident]))
                        else:
                            missing[ident] = kind
                    elif ident in self.entries:
                        if ident not in seen:
                            seen.add(ident)
                            entries[ident] = self._entry(self.entries[ident])
                            following.append(self.entries[ident])
                    else:
                        missing[ident] = kind
            frontier = following
        errors = [
            {
                "sys": {"id": "notResolvable", "type": "error"},
                "details": {"type": "Link", "linkType": kind, "id": ident},
            }
            for ident, kind in missing.items()
        ]
        return {"Entry": list(entries.values()), "Asset": list(assets.values())}, errors

    # --- handlers ------------------------------------------------------------------------
    def list_entries(self, req: Request, space: str, env: str | None = None) -> Response:
        if (bad := self._check_space(space, env)) is not None:
            return bad
        paging = self._paging(req)
        if isinstance(paging, Response):
            return paging
        skip, limit = paging
        content_type = req.arg("content_type")
        if content_type is not None and content_type not in CONTENT_TYPES:
            return _error(
                "InvalidQuery",
                "The query you sent was invalid. Probably a filter or ordering specification is not "
                "applicable to the type of a field.",
                400,
                {"errors": [{"name": "unknownContentType", "value": "DOESNOTEXIST"}]},
            )
        try:
            include = int(req.arg("include", "1"))
        except ValueError:
            include = -1
        if not 0 <= include <= 10:
            return _error("InvalidQuery", "The include parameter should be between 0 and 10", 400)
        rows = [e for e in self.cms.entries if content_type is None or e["content_type"] == content_type]
        rows = self._filter(req, rows)
        if isinstance(rows, Response):
            return rows
        rows = self._order(req.arg("order", "sys.createdAt,sys.id"), rows)
        if isinstance(rows, Response):
            return rows
        page = rows[skip : skip + limit]
        body = {
            "sys": {"type": "Array"},
            "total": len(rows),
            "skip": skip,
            "limit": limit,
            "items": [self._entry(e) for e in page],
        }
        includes, errors = self._includes(page, include)
        if include:
            body["includes"] = includes
        if errors:
            body["errors"] = errors
        return self._ok(body)

    def _filter(self, req: Request, rows: list[dict]):
        ops = {
            "gte": lambda a, b: a >= b,
            "gt": lambda a, b: a > b,
            "lte": lambda a, b: a <= b,
            "lt": lambda a, b: a < b,
        }
        for key, values in req.query.items():
            if key == "sys.id":
                rows = [e for e in rows if e["id"] == values[0]]
            elif key == "sys.id[in]":
                wanted = set(values[0].split(","))
                rows = [e for e in rows if e["id"] in wanted]
            elif key.startswith("sys.updatedAt[") and key.endswith("]") and key[14:-1] in ops:
                try:
                    bound = _parse_time(values[0])
                except ValueError:
                    return _error("InvalidQuery", f"invalid date {values[0]!r}", 400)
                op = ops[key[14:-1]]
                rows = [
                    e
                    for e in rows
                    if op(e["updated_at"].replace(microsecond=e["updated_at"].microsecond // 1000 * 1000), bound)
                ]
        return rows

    def _order(self, order: str, rows: list[dict]):
        keys = {"sys.createdAt": "created_at", "sys.updatedAt": "updated_at", "sys.id": "id"}
        for part in reversed(order.split(",")):
            name = part.lstrip("-")
            if name not in keys:
                return _error("InvalidQuery", f"order by {name!r} is not supported", 400)
            rows = sorted(rows, key=lambda e: e[keys[name]], reverse=part.startswith("-"))
        return rows

    def get_entry(self, req: Request, space: str, entry_id: str, env: str | None = None) -> Response:
        if (bad := self._check_space(space, env)) is not None:
            return bad
        if entry_id not in self.entries:
            return _error("NotFound", "The resource could not be found.", 404, {"type": "Entry", "id": entry_id})
        return self._ok(self._entry(self.entries[entry_id]))

    def list_assets(self, req: Request, space: str, env: str | None = None) -> Response:
        if (bad := self._check_space(space, env)) is not None:
            return bad
        paging = self._paging(req)
        if isinstance(paging, Response):
            return paging
        skip, limit = paging
        rows = sorted(self.cms.assets, key=lambda a: (a["created_at"], a["id"]))
        return self._ok(
            {
                "sys": {"type": "Array"},
                "total": len(rows),
                "skip": skip,
                "limit": limit,
                "items": [self._asset(a) for a in rows[skip : skip + limit]],
            }
        )

    def list_tags(self, req: Request, space: str, env: str | None = None) -> Response:
        if (bad := self._check_space(space, env)) is not None:
            return bad
        paging = self._paging(req)
        if isinstance(paging, Response):
            return paging
        skip, limit = paging
        tags = sorted(self.cms.tags.items())
        items = [
            {
                "sys": {
                    "id": tag_id,
                    "type": "Tag",
                    "visibility": "public",
                    "space": link("Space", SPACE_ID),
                    "environment": link("Environment", ENVIRONMENT),
                    "createdAt": "2023-01-02T09:00:00.000Z",
                    "updatedAt": "2023-01-02T09:00:00.000Z",
                    "version": 1,
                },
                "name": name,
            }
            for tag_id, name in tags[skip : skip + limit]
        ]
        return self._ok({"sys": {"type": "Array"}, "total": len(tags), "skip": skip, "limit": limit, "items": items})

    def list_content_types(self, req: Request, space: str, env: str | None = None) -> Response:
        if (bad := self._check_space(space, env)) is not None:
            return bad
        items = [
            {"sys": {"id": ct, "type": "ContentType"}, "name": ct, "displayField": "title"} for ct in CONTENT_TYPES
        ]
        return self._ok({"sys": {"type": "Array"}, "total": len(items), "skip": 0, "limit": 100, "items": items})
