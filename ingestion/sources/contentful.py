"""Contentful (Content Delivery API): the app home page CMS, as entries, links and tags.

Every run reads a full snapshot of the configured content types (home pages,
modules, playlists and their parameter blocks) with `skip`/`limit` paging
until `total`, 1000 entries a call at most: a few dozen calls for the whole
CMS. A snapshot rather than `sys.updatedAt[gte]` because the CDA never reports
deletions or unpublished entries (only the Sync API does, and it does not exist
on the Preview API, which serves drafts in production), and the relationships
of a home page must be its current ones.

Tables:
- `entry` (merge on `id`): one row per entry, sys fields, scalar fields as
  columns (single links as the linked id, lists and objects as JSON text), and
  `last_seen_at`: entries deleted from the CMS stay with an older value;
- `asset` (merge on `id`): images linked by entries (from `includes.Asset`);
- `relationship` (replace): parent entry -> linked entry or asset, field,
  position, linked content type, and whether the link resolved (a deleted
  module still linked from a home page does not);
- `playlist_item` (replace): the offer and venue ids that playlists and
  highlighted offers reference (`offerIds`, `offerId`, `venueIds`);
- `tag` (replace) and `entry_tag` (replace).

Links are resolved from `includes` (entries of content types not asked for are
loaded from there). A configured content type the space does not know is
skipped with a warning. Calls are paced under the CDA's per-second limit and
a 429 waits the `X-Contentful-RateLimit-Reset` seconds the CDA asks for.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import OffsetPaginator

from .hints import column
from .http import MAX_ATTEMPTS, RateLimiter, VendorHttp, checked

VENDOR = "contentful"
DEFAULT_BASE_URL = "https://cdn.contentful.com"  # https://preview.contentful.com with a preview token
MAX_LIMIT = 1000
log = logging.getLogger("pcdata.ingestion.contentful")

# The 13 module types of the app home page, plus the parameter blocks they link.
DEFAULT_CONTENT_TYPES = [
    "homepageNatif",
    "venuesPlaylist",
    "algolia",
    "business",
    "exclusivity",
    "highlightOffer",
    "categoryList",
    "recommendation",
    "thematicHighlight",
    "video",
    "trends",
    "videoCarousel",
    "gtlPlaylist",
    "algoliaParameters",
    "displayParameters",
    "venuesSearchParameters",
    "recommendationParameters",
    "categoryBlock",
]
# fields holding ids of the app's offers and venues
PLAYLIST_FIELDS = {"offerIds": "offer", "offerId": "offer", "venueIds": "venue"}
SYS_COLUMNS = (
    "id",
    "content_type",
    "created_at",
    "updated_at",
    "revision",
    "published_version",
    "locale",
    "environment",
    "space_id",
    "last_seen_at",
)


ENTRY_COLUMNS: TTableSchemaColumns = {
    "id": column("text"),
    "content_type": column("text"),
    "created_at": column("timestamp"),
    "updated_at": column("timestamp"),
    "last_seen_at": column("timestamp"),
    "revision": {"data_type": "bigint"},
    "published_version": {"data_type": "bigint"},
    "locale": column("text"),
    "environment": column("text"),
    "space_id": column("text"),
    "title": column("text"),
    "offer_id": column("text"),
    # module fields staging reads (single links hold the linked entry id)
    **{
        c: column("text")
        for c in (
            "algolia_parameters",
            "display_parameters",
            "venues_search_parameters",
            "recommendation_parameters",
            "layout",
            "youtube_video_id",
            "home_entry_id",
            "url",
        )
    },
    "is_geolocated": {"data_type": "bool"},
    "around_radius": {"data_type": "double"},
    "price_min": {"data_type": "double"},
    "price_max": {"data_type": "double"},
    "duration_in_minutes": {"data_type": "double"},
    "min_offers": {"data_type": "bigint"},
}
ASSET_COLUMNS: TTableSchemaColumns = {
    "id": column("text"),
    "title": column("text"),
    "url": column("text"),
    "file_name": column("text"),
    "mime_type": column("text"),
    "width": {"data_type": "bigint"},
    "height": {"data_type": "bigint"},
    "created_at": column("timestamp"),
    "updated_at": column("timestamp"),
    "last_seen_at": column("timestamp"),
}
RELATIONSHIP_COLUMNS: TTableSchemaColumns = {
    "parent_entry_id": column("text"),
    "field": column("text"),
    "position": {"data_type": "bigint"},
    "child_id": column("text"),
    "child_type": column("text"),
    "child_content_type": column("text"),
    "is_resolved": {"data_type": "bool"},
}
PLAYLIST_COLUMNS: TTableSchemaColumns = {
    "entry_id": column("text"),
    "field": column("text"),
    "position": {"data_type": "bigint"},
    "item_type": column("text"),
    "item_id": column("text"),
}


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _is_link(value) -> bool:
    return isinstance(value, dict) and isinstance(value.get("sys"), dict) and value["sys"].get("type") == "Link"


def _pages(http: VendorHttp, path: str, params: dict, page_size: int) -> Iterator[dict]:
    """Every page (whole CDA collection bodies, with their includes and errors): dlt's offset paging on skip/limit."""
    paginator = OffsetPaginator(limit=page_size, offset_param="skip", limit_param="limit", total_path="total")
    for page in http.paginate(path, params=params, paginator=paginator, data_selector="items"):
        yield page.response.json()


def _collection(body) -> dict:
    if not isinstance(body, dict) or not isinstance(body.get("items"), list) or "total" not in body:
        raise ValueError("not a CDA collection (no items/total)")
    return body


class _Snapshot:
    """The CMS as read in this run: entries (asked for and included), assets, tags."""

    def __init__(self):
        self.entries: dict[str, dict] = {}
        self.assets: dict[str, dict] = {}
        self.tags: list[dict] = []
        self.unresolvable: set[str] = set()


def _read_snapshot(http: VendorHttp, content_types: list[str], page_size: int, include: int) -> _Snapshot:
    snap = _Snapshot()
    known = {ct["sys"]["id"] for page in _pages(http, "content_types", {}, MAX_LIMIT) for ct in page["items"]}
    for content_type in content_types:
        if content_type not in known:
            log.warning("contentful: content type %r is unknown to the space, skipped", content_type)
            continue
        params = {"content_type": content_type, "include": include, "order": "sys.createdAt,sys.id"}
        for page in _pages(http, "entries", params, page_size):
            for item in page["items"]:
                snap.entries[item["sys"]["id"]] = item
            includes = page.get("includes") or {}
            for item in includes.get("Entry", []):
                snap.entries.setdefault(item["sys"]["id"], item)
            for item in includes.get("Asset", []):
                snap.assets[item["sys"]["id"]] = item
            for error in page.get("errors", []):
                if error.get("sys", {}).get("id") == "notResolvable":
                    snap.unresolvable.add(error.get("details", {}).get("id"))
    snap.tags = [t for page in _pages(http, "tags", {}, MAX_LIMIT) for t in page["items"]]
    return snap


def _entry_row(item: dict, seen_at: datetime) -> dict:
    sys = item["sys"]
    row = {
        "id": sys["id"],
        "content_type": sys.get("contentType", {}).get("sys", {}).get("id"),
        "created_at": _parse_time(sys.get("createdAt")),
        "updated_at": _parse_time(sys.get("updatedAt")),
        "revision": sys.get("revision"),
        "published_version": sys.get("publishedVersion"),
        "locale": sys.get("locale"),
        "environment": sys.get("environment", {}).get("sys", {}).get("id"),
        "space_id": sys.get("space", {}).get("sys", {}).get("id"),
        "last_seen_at": seen_at,
    }
    for name, value in (item.get("fields") or {}).items():
        key = f"field_{name}" if name in SYS_COLUMNS else name
        if _is_link(value):
            row[key] = value["sys"]["id"]
        elif isinstance(value, list) and value and all(_is_link(v) for v in value):
            continue  # lists of links live in `relationship`
        elif isinstance(value, (list, dict)):
            row[key] = json.dumps(value, ensure_ascii=False)
        else:
            row[key] = value
    return row


def _links(item: dict) -> Iterator[tuple[str, int, dict]]:
    for name, value in (item.get("fields") or {}).items():
        if _is_link(value):
            yield name, 0, value
        elif isinstance(value, list):
            for position, v in enumerate(value):
                if _is_link(v):
                    yield name, position, v


@dlt.source(name="contentful")
def contentful(
    space_id: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    environment: str = "master",
    base_url: str = DEFAULT_BASE_URL,
    content_types: list[str] | None = None,
    page_size: int = MAX_LIMIT,
    include: int = 1,
    requests_per_second: float = 55,  # the CDA's uncached limit; 14 on the Preview API
    timeout: float = 60,
    max_attempts: int = MAX_ATTEMPTS,
):
    http = VendorHttp(
        VENDOR,
        base_url=f"{base_url.rstrip('/')}/spaces/{space_id}/environments/{environment}",
        auth=BearerTokenAuth(access_token),
        headers={"Accept": "application/json"},
        limiter=RateLimiter(requests_per_second, 1.0),
        check=checked(lambda r: _collection(r.json())),
        wait_headers=("X-Contentful-RateLimit-Reset",),  # the CDA's 429 says how long to wait here
        timeout=timeout,
        max_attempts=max_attempts,
        secrets=[access_token],
    )
    wanted = list(content_types or DEFAULT_CONTENT_TYPES)
    page_size = max(1, min(page_size, MAX_LIMIT))
    cache: dict[str, Any] = {}

    def snapshot() -> _Snapshot:
        # read once per run, shared by every table
        if "snap" not in cache:
            cache["snap"] = _read_snapshot(http, wanted, page_size, include)
            cache["at"] = datetime.now(UTC)
        return cache["snap"]

    @dlt.resource(name="entry", primary_key="id", write_disposition="merge", columns=ENTRY_COLUMNS)
    def entry() -> Iterator[list[dict]]:
        snap = snapshot()
        yield [_entry_row(item, cache["at"]) for item in snap.entries.values()]

    @dlt.resource(name="asset", primary_key="id", write_disposition="merge", columns=ASSET_COLUMNS)
    def asset() -> Iterator[list[dict]]:
        snap = snapshot()
        rows = []
        for item in snap.assets.values():
            fields, sys = item.get("fields") or {}, item["sys"]
            file = fields.get("file") or {}
            image = (file.get("details") or {}).get("image") or {}
            url = file.get("url")
            rows.append(
                {
                    "id": sys["id"],
                    "title": fields.get("title"),
                    "url": f"https:{url}" if url and url.startswith("//") else url,
                    "file_name": file.get("fileName"),
                    "mime_type": file.get("contentType"),
                    "width": image.get("width"),
                    "height": image.get("height"),
                    "created_at": _parse_time(sys.get("createdAt")),
                    "updated_at": _parse_time(sys.get("updatedAt")),
                    "last_seen_at": cache["at"],
                }
            )
        yield rows

    @dlt.resource(
        name="relationship",
        primary_key=("parent_entry_id", "field", "position"),
        write_disposition="replace",
        columns=RELATIONSHIP_COLUMNS,
    )
    def relationship() -> Iterator[list[dict]]:
        snap = snapshot()
        rows = []
        for parent in snap.entries.values():
            for name, position, value in _links(parent):
                kind, child = value["sys"].get("linkType"), value["sys"].get("id")
                if kind not in ("Entry", "Asset"):
                    continue
                target = (snap.entries if kind == "Entry" else snap.assets).get(child)
                rows.append(
                    {
                        "parent_entry_id": parent["sys"]["id"],
                        "field": name,
                        "position": position,
                        "child_id": child,
                        "child_type": kind,
                        "is_resolved": target is not None,
                        "child_content_type": target["sys"]["contentType"]["sys"]["id"]
                        if target is not None and kind == "Entry"
                        else None,
                    }
                )
        yield rows

    @dlt.resource(
        name="playlist_item",
        primary_key=("entry_id", "field", "position"),
        write_disposition="replace",
        columns=PLAYLIST_COLUMNS,
    )
    def playlist_item() -> Iterator[list[dict]]:
        rows = []
        for item in snapshot().entries.values():
            for name, item_type in PLAYLIST_FIELDS.items():
                value = (item.get("fields") or {}).get(name)
                values = value if isinstance(value, list) else [value] if value is not None else []
                rows += [
                    {
                        "entry_id": item["sys"]["id"],
                        "field": name,
                        "position": i,
                        "item_type": item_type,
                        "item_id": str(v),
                    }
                    for i, v in enumerate(values)
                ]
        yield rows

    @dlt.resource(
        name="tag",
        primary_key="tag_id",
        write_disposition="replace",
        columns={"tag_id": column("text"), "tag_name": column("text"), "visibility": column("text")},
    )
    def tag() -> Iterator[list[dict]]:
        yield [
            {"tag_id": t["sys"]["id"], "tag_name": t.get("name"), "visibility": t["sys"].get("visibility")}
            for t in snapshot().tags
        ]

    @dlt.resource(
        name="entry_tag",
        primary_key=("entry_id", "tag_id"),
        write_disposition="replace",
        columns={"entry_id": column("text"), "tag_id": column("text")},
    )
    def entry_tag() -> Iterator[list[dict]]:
        yield [
            {"entry_id": item["sys"]["id"], "tag_id": t["sys"]["id"]}
            for item in snapshot().entries.values()
            for t in (item.get("metadata") or {}).get("tags", [])
        ]

    return entry, asset, relationship, playlist_item, tag, entry_tag
