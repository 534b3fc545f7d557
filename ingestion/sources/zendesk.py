"""Zendesk Support: tickets, users, macros with usage, satisfaction ratings.

- `tickets`: the cursor-based incremental export
  (`/api/v2/incremental/tickets/cursor.json?start_time=` on the first page, then
  `cursor=<after_cursor>` until `end_of_stream`), incremental on
  `generated_timestamp` (what Zendesk compares `start_time` with), merge on `id`.
  Custom fields are pivoted by name: `ticket_fields` gives id -> title, and each
  ticket gets one `cf_<title>` column per field (multi-select values, which are
  Zendesk tags and so hold no comma, joined with ','), and the ticket's own
  `tags` likewise. Free text (subject, description) and the `via.source`
  addresses are not loaded. Each export page arrives as an Arrow table (the
  high-volume path: dlt writes it as parquet, no row-by-row normalising).
- `ticket_metric_sets`: Zendesk's ticket metrics (first reply, first and full
  resolution times in calendar and business minutes, solved_at, assignment
  times), sideloaded on the same export pages (`include=metric_sets`: no call
  per ticket), merge on `ticket_id`. The `{calendar, business}` objects are
  flattened (`reply_time_calendar_minutes`, `reply_time_business_minutes`, ...);
  each row carries its ticket's `generated_timestamp`, the export's cursor; Arrow tables too.
- `users`: the incremental user export (no call per ticket requester), merge on `id`.
  Names and phones are never loaded; the email arrives as
  a salted hash (`email_hash`, the same function as `raw_app.user.email_hash`),
  so dbt resolves a requester to a pass Culture user; the agent-recorded user
  field `user_id` is kept as `pass_culture_user_id`.
- `macros`: active macros with the usage sideload
  (`include=usage_1h,usage_24h,usage_7d,usage_30d`), one row per macro and
  export date (a usage history; a rerun the same day replaces).
- `satisfaction_ratings`: cursor-paginated, `start_time` from the last
  `updated_at`, merge on `id`; the free-text comment is not loaded.
- `ticket_fields`: the field catalogue (replace).

Auth is Basic `{email}/token:{api_token}`. Calls are paced under the account
limit (`calls_per_minute`) and the incremental exports under their own
10 requests/min as well; a 429 is retried after its `Retry-After`. Paging is dlt's
cursor paginator (`meta.after_cursor` + `meta.has_more`; the export's own flavour above).
"""

from __future__ import annotations

import calendar
import json
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.schema.typing import TColumnSchema, TTableSchemaColumns
from dlt.sources.helpers.rest_client.auth import HttpBasicAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from .hints import column
from .http import MAX_ATTEMPTS, RateLimiter, VendorHttp
from .pii import pii_salt, pseudonymise

VENDOR = "zendesk"
USAGE_SIDELOADS = "usage_1h,usage_24h,usage_7d,usage_30d"
# ticket keys never loaded: free text written by the requester, the requester's address, duplicates
TICKET_DROPPED = {
    "description",
    "raw_subject",
    "subject",
    "via",
    "fields",
    "custom_fields",
    "satisfaction_rating",
    "collaborator_ids",
    "follower_ids",
    "email_cc_ids",
    "sharing_agreement_ids",
    "followup_ids",
    "url",
}
USER_KEPT = (
    "id",
    "role",
    "active",
    "verified",
    "suspended",
    "locale",
    "time_zone",
    "organization_id",
    "created_at",
    "updated_at",
)


def _bigint() -> TColumnSchema:
    return {"data_type": "bigint"}


TICKET_COLUMNS: TTableSchemaColumns = {
    "id": {"data_type": "bigint", "nullable": False},
    "generated_timestamp": _bigint(),
    "created_at": column("timestamp"),
    "updated_at": column("timestamp"),
    "status": column("text"),
    "priority": column("text"),
    "type": column("text"),
    "via_channel": column("text"),
    "satisfaction_score": column("text"),
    "requester_id": _bigint(),
    "submitter_id": _bigint(),
    "assignee_id": _bigint(),
    "group_id": _bigint(),
    "brand_id": _bigint(),
    "organization_id": _bigint(),
    "ticket_form_id": _bigint(),
    "problem_id": _bigint(),
    "forum_topic_id": _bigint(),
    "external_id": column("text"),
    "tags": column("text"),
    "due_at": column("timestamp"),
}
METRIC_SET_MINUTES = ("reply_time", "first_resolution_time", "full_resolution_time")
METRIC_SET_COLUMNS: TTableSchemaColumns = {
    "ticket_id": {"data_type": "bigint", "nullable": False},
    "id": _bigint(),
    "generated_timestamp": _bigint(),
    **{
        f"{m}_{clock}_minutes": _bigint()
        for m in (*METRIC_SET_MINUTES, "agent_wait_time", "requester_wait_time", "on_hold_time")
        for clock in ("calendar", "business")
    },
    **{
        t: column("timestamp")
        for t in (
            "created_at",
            "updated_at",
            "solved_at",
            "initially_assigned_at",
            "assigned_at",
            "latest_comment_added_at",
            "status_updated_at",
        )
    },
    "replies": _bigint(),
    "reopens": _bigint(),
}
USER_COLUMNS: TTableSchemaColumns = {
    "id": {"data_type": "bigint", "nullable": False},
    "role": column("text"),
    "active": {"data_type": "bool"},
    "email_hash": column("text"),
    "pass_culture_user_id": column("text"),
    "organization_id": _bigint(),
    "created_at": column("timestamp"),
    "updated_at": column("timestamp"),
}
MACRO_COLUMNS: TTableSchemaColumns = {
    "id": {"data_type": "bigint", "nullable": False},
    "export_date": {"data_type": "date", "nullable": False},
    "title": column("text"),
    "active": {"data_type": "bool"},
    "tags": column("text"),
    "created_at": column("timestamp"),
    "updated_at": column("timestamp"),
    **{u: _bigint() for u in USAGE_SIDELOADS.split(",")},
}
RATING_COLUMNS: TTableSchemaColumns = {
    "id": {"data_type": "bigint", "nullable": False},
    "ticket_id": _bigint(),
    "requester_id": _bigint(),
    "assignee_id": _bigint(),
    "group_id": _bigint(),
    "score": column("text"),
    "reason": column("text"),
    "has_comment": {"data_type": "bool"},
    "created_at": column("timestamp"),
    "updated_at": column("timestamp"),
}
FIELD_COLUMNS: TTableSchemaColumns = {
    "id": {"data_type": "bigint", "nullable": False},
    "title": column("text"),
    "column_name": column("text"),
    "type": column("text"),
}


def field_column(title: str) -> str:
    """The column a custom field lands in: 'cf_' + its title in ASCII snake case."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return "cf_" + (re.sub(r"[^a-z0-9]+", "_", folded).strip("_") or "field")


def _unix(value: str | int | datetime) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return calendar.timegm(value.utctimetuple())


class IncrementalExportPaginator(JSONResponseCursorPaginator):
    """Zendesk's cursor-based incremental export: `start_time` on the first page only, then
    `cursor=<after_cursor>`, until `end_of_stream` (the last page still carries an after_cursor)."""

    def __init__(self):
        super().__init__(cursor_path="after_cursor", cursor_param="cursor")

    def update_state(self, response, data=None) -> None:
        super().update_state(response, data)
        if response.json().get("end_of_stream"):
            self._next_reference = None

    def update_request(self, request) -> None:
        super().update_request(request)
        request.params.pop("start_time", None)


def _flat_value(value):
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return value


ARROW_TYPES = {
    "bigint": pa.int64(),
    "text": pa.string(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def page_table(rows: list[dict], hints: TTableSchemaColumns) -> pa.Table:
    """One export page as an Arrow table: every hinted column, typed and nullable as hinted (Zendesk's
    ISO 8601 times parsed by Arrow, a value under a text hint as its text, as dlt coerces it), then any
    other key as Arrow infers it (a field Zendesk added: kept, as a row-by-row load keeps it), nested
    or mixed values as JSON text. An unhinted key null on the whole page is left out, as dlt leaves it out."""
    fields, arrays = [], []
    for name, hint in hints.items():
        values = [r.get(name) for r in rows]
        data_type = hint.get("data_type") or "text"
        kind = ARROW_TYPES[data_type]
        if data_type == "timestamp":
            array = pa.array(values, pa.string()).cast(kind)
        elif data_type == "text":
            array = pa.array([v if v is None or isinstance(v, str) else str(v) for v in values], kind)
        else:
            array = pa.array(values, kind)
        fields.append(pa.field(name, kind, nullable=hint.get("nullable", True)))
        arrays.append(array)
    for name in dict.fromkeys(k for r in rows for k in r if k not in hints):
        values = [r.get(name) for r in rows]
        try:
            array = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            array = None
        if array is not None and pa.types.is_null(array.type):
            continue
        if array is None or pa.types.is_nested(array.type):
            array = pa.array([None if v is None else json.dumps(v) for v in values], pa.string())
        fields.append(pa.field(name, array.type))
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def ticket_row(ticket: dict, columns: dict[int, str]) -> dict:
    row = {k: v for k, v in ticket.items() if k not in TICKET_DROPPED}
    row["tags"] = _flat_value(ticket.get("tags") or []) or None
    row["via_channel"] = (ticket.get("via") or {}).get("channel")
    row["satisfaction_score"] = (ticket.get("satisfaction_rating") or {}).get("score")
    for field in ticket.get("custom_fields") or []:
        row[columns.get(field["id"], f"cf_{field['id']}")] = _flat_value(field.get("value"))
    return row


def metric_set_row(metric_set: dict, generated_timestamp: int | None) -> dict:
    """One ticket's metric set, its `{calendar, business}` minute objects flattened
    (`reply_time_in_minutes.calendar` -> `reply_time_calendar_minutes`)."""
    row: dict = {"generated_timestamp": generated_timestamp}
    for key, value in metric_set.items():
        if key == "url":
            continue
        if key.endswith("_in_minutes") and isinstance(value, dict):
            base = key.removesuffix("_in_minutes")
            row.update({f"{base}_{clock}_minutes": minutes for clock, minutes in value.items()})
        elif key.endswith("_in_minutes") and value is None:
            row.update(
                {f"{key.removesuffix('_in_minutes')}_{clock}_minutes": None for clock in ("calendar", "business")}
            )
        else:
            row[key] = value
    return row


def user_row(user: dict, salt: str) -> dict:
    row = {k: user.get(k) for k in USER_KEPT}
    row["email_hash"] = pseudonymise(user.get("email"), salt)
    row["pass_culture_user_id"] = (user.get("user_fields") or {}).get("user_id")
    return row


def macro_row(macro: dict, export_date, columns: dict[int, str]) -> dict:
    row = {
        k: macro.get(k)
        for k in ("id", "title", "active", "position", "created_at", "updated_at", *USAGE_SIDELOADS.split(","))
    }
    row["export_date"] = export_date
    for action in macro.get("actions") or []:
        field, value = action.get("field", ""), action.get("value")
        if field == "set_tags":
            row["tags"] = _flat_value(value)
        elif field == "subject":
            row["subject"] = _flat_value(value)
        elif field.startswith("custom_fields_") and field[14:].isdigit():
            row[columns.get(int(field[14:]), f"cf_{field[14:]}")] = _flat_value(value)
    return row


@dlt.source(name="zendesk")
def zendesk(
    email: str = dlt.secrets.value,
    api_token: str = dlt.secrets.value,
    subdomain: str = "passculture",
    base_url: str | None = None,
    start_date: str = "2000-01-01T00:00:00Z",
    page_size: int = 100,
    incremental_page_size: int = 1000,
    calls_per_minute: int = 200,
    incremental_calls_per_minute: int = 10,
    timeout: float = 60,
    max_attempts: int = MAX_ATTEMPTS,
):
    account, exports = RateLimiter(calls_per_minute, 60.0), RateLimiter(incremental_calls_per_minute, 60.0)
    http = VendorHttp(
        VENDOR,
        base_url=base_url or f"https://{subdomain}.zendesk.com",
        auth=HttpBasicAuth(f"{email}/token", api_token),
        headers={"Accept": "application/json"},
        limiter=lambda request: (account, exports) if "/incremental/" in str(request.url) else (account,),
        timeout=timeout,
        max_attempts=max_attempts,
        secrets=[api_token],
    )
    page_size, incremental_page_size = min(page_size, 100), min(incremental_page_size, 1000)
    fields: list[dict] = []

    def incremental(kind: str, start_time: int, include: str | None = None) -> Iterator[Any]:
        """Pages of the cursor-based incremental export, from `start_time` to the end of the stream
        (dlt PageData: the page's items, with the whole answer in `.response` for the sideloads)."""
        params: dict[str, Any] = {"start_time": start_time, "per_page": incremental_page_size}
        if include:
            params["include"] = include
        yield from http.paginate(
            f"/api/v2/incremental/{kind}/cursor.json",
            params=params,
            paginator=IncrementalExportPaginator(),
            data_selector=kind,
        )

    def paginate(path: str, key: str, params: dict | None = None) -> Iterator[list[dict]]:
        paginator = JSONResponseCursorPaginator(
            cursor_path="meta.after_cursor", cursor_param="page[after]", has_more_path="meta.has_more"
        )
        params = {**(params or {}), "page[size]": page_size}
        yield from http.paginate(path, params=params, paginator=paginator, data_selector=key)

    def ticket_field_list() -> list[dict]:
        if not fields:
            fields.extend(f for page in paginate("/api/v2/ticket_fields", "ticket_fields") for f in page)
        return fields

    start_unix = _unix(start_date)
    start_iso = datetime.fromtimestamp(start_unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def field_columns() -> dict[int, str]:
        return {f["id"]: field_column(f["title"]) for f in ticket_field_list()}

    @dlt.resource(name="ticket_fields", primary_key="id", write_disposition="replace", columns=FIELD_COLUMNS)
    def ticket_fields() -> Iterator[list[dict]]:
        yield [
            {
                "id": f["id"],
                "title": f["title"],
                "column_name": field_column(f["title"]),
                "type": f.get("type"),
                "active": f.get("active"),
                "created_at": f.get("created_at"),
                "updated_at": f.get("updated_at"),
            }
            for f in ticket_field_list()
        ]

    # TICKET_COLUMNS come with the first page rather than here: the metric set table variant is
    # declared before them, since a variant starts from a copy of the resource's hints
    @dlt.resource(name="tickets", primary_key="id", write_disposition="merge")
    def tickets(
        cursor=dlt.sources.incremental("generated_timestamp", initial_value=start_unix),
    ) -> Iterator[Any]:
        columns = field_columns()
        hints = {**TICKET_COLUMNS, **{c: column("text") for c in columns.values()}}
        metric_hints = dlt.mark.make_hints(
            table_name="ticket_metric_sets",
            primary_key="ticket_id",
            write_disposition="merge",
            columns=METRIC_SET_COLUMNS,
        )
        first = True
        for page in incremental("tickets", int(cursor.last_value), include="metric_sets"):
            # the page's metric sets, keyed to their ticket's export position so the cursor reads them too
            stamps = {t["id"]: t.get("generated_timestamp") for t in page}
            metric_sets = page_table(
                [
                    metric_set_row(m, stamps.get(m.get("ticket_id")))
                    for m in page.response.json().get("metric_sets") or []
                    if m.get("ticket_id") in stamps
                ],
                METRIC_SET_COLUMNS,
            )
            tickets_page = page_table([ticket_row(t, columns) for t in page], hints)
            # the metric set table first, then (on the first page) every ticket column, even those only NULL so far
            yield dlt.mark.with_hints(metric_sets, metric_hints, create_table_variant=True)
            yield dlt.mark.with_hints(tickets_page, dlt.mark.make_hints(columns=hints)) if first else tickets_page
            first = False

    @dlt.resource(name="users", primary_key="id", write_disposition="merge", columns=USER_COLUMNS)
    def users(cursor=dlt.sources.incremental("updated_at", initial_value=start_iso)) -> Iterator[list[dict]]:
        salt = pii_salt()
        for page in incremental("users", _unix(cursor.last_value)):
            yield [user_row(u, salt) for u in page]

    @dlt.resource(name="macros", primary_key=("id", "export_date"), write_disposition="merge", columns=MACRO_COLUMNS)
    def macros() -> Iterator[list[dict]]:
        today = datetime.now(UTC).date()
        columns = field_columns()
        for page in paginate("/api/v2/macros", "macros", {"active": "true", "include": USAGE_SIDELOADS}):
            yield [macro_row(m, today, columns) for m in page]

    @dlt.resource(name="satisfaction_ratings", primary_key="id", write_disposition="merge", columns=RATING_COLUMNS)
    def satisfaction_ratings(
        cursor=dlt.sources.incremental("updated_at", initial_value=start_iso),
    ) -> Iterator[list[dict]]:
        for page in paginate(
            "/api/v2/satisfaction_ratings", "satisfaction_ratings", {"start_time": _unix(cursor.last_value)}
        ):
            yield [
                {
                    **{
                        k: r.get(k)
                        for k in (
                            "id",
                            "ticket_id",
                            "requester_id",
                            "assignee_id",
                            "group_id",
                            "score",
                            "reason",
                            "reason_code",
                            "created_at",
                            "updated_at",
                        )
                    },
                    "has_comment": bool(r.get("comment")),
                }
                for r in page
            ]

    return ticket_fields, tickets, users, macros, satisfaction_ratings
