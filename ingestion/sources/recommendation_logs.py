"""The Recommendation API's served lists ("past offer context") loaded back into the warehouse.

The service (bentos/recommendation/service.py) appends one JSON line per answer to
`<log_dir>/past_offer_context/<YYYY-MM-DD>.jsonl`: the call (call_id, logged_at, endpoint,
reco_origin, model_origin, user_id, the similar-offers call's offer_id, latency, request context)
and the offers shown, each with its rank, score and retrieval origin. The reference trains its
ranker on these rows; here they feed the serving monitoring mart.

Table `past_offer_context`: one row per offer shown, with its call's fields; a call that showed
nothing is one row with `offer_rank` 0 and no offer, so that every call is counted. Primary key
(call_id, offer_rank), merged.

Incremental by file and line: the resource state keeps, per file, the byte offset and line count
read so far; a run reads each file from there, complete lines only (a line being written is left
for the next run). A file that shrank (rewritten) is read again from its start; the merge key keeps
that free of duplicates. A malformed line fails the run with the file and line number, and nothing
of the run is loaded (state and data commit together), so nothing is lost: fix or remove the line
and run again. An empty or missing folder loads nothing and says so; the table is created anyway
(empty), so the dbt staging model always has a relation to read.

The request's latitude/longitude are not loaded (a person's position): only whether the call had
one (`is_geolocated`), and the request's filters (`request_params`, JSON).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dlt
import pyarrow as pa
from dlt.common.libs.pyarrow import py_arrow_to_table_schema_columns
from dlt.common.schema.typing import TTableSchemaColumns

log = logging.getLogger("pcdata.ingestion")
SUBFOLDER = "past_offer_context"
BATCH_ROWS = 50_000  # rows per Arrow table: a day of a busy service is millions of offers shown

SCHEMA = pa.schema(
    [
        pa.field("call_id", pa.string(), nullable=False),
        pa.field("offer_rank", pa.int64(), nullable=False),
        ("offer_id", pa.string()),
        ("score", pa.float64()),
        ("retrieval_origin", pa.string()),
        pa.field("logged_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("endpoint", pa.string(), nullable=False),
        ("reco_origin", pa.string()),
        ("model_origin", pa.string()),
        ("user_id", pa.string()),
        ("source_offer_id", pa.string()),
        ("offer_count", pa.int64()),
        ("latency_ms", pa.float64()),
        ("is_geolocated", pa.bool_()),
        ("request_params", pa.string()),
        ("log_file", pa.string()),
        ("log_line", pa.int64()),
        ("loaded_at", pa.timestamp("us", tz="UTC")),
    ]
)
# the same columns as dlt hints (a hint before the first table: the empty first load creates it alike)
COLUMNS: TTableSchemaColumns = py_arrow_to_table_schema_columns(SCHEMA)
REQUIRED = ("call_id", "logged_at", "endpoint", "offers")


class MalformedLogLine(ValueError):
    """A line of a served-list log that is not one answer: the run stops before loading anything.

    Raised `from None`: the Runner reports an error's root cause, which must be this message naming the line."""


def _text(value) -> str | None:
    return None if value is None else str(value)


def _rows(line: dict, where: str, log_file: str, log_line: int, now: datetime) -> list[dict]:
    missing = [k for k in REQUIRED if k not in line]
    if missing:
        raise MalformedLogLine(f"{where}: missing {', '.join(missing)}")
    offers = line["offers"]
    if not isinstance(offers, list) or not all(isinstance(o, dict) for o in offers):
        raise MalformedLogLine(f"{where}: 'offers' is not a list of objects")
    try:
        logged_at = datetime.fromisoformat(str(line["logged_at"]))
    except ValueError:
        raise MalformedLogLine(f"{where}: logged_at {line['logged_at']!r} is not an ISO timestamp") from None
    logged_at = logged_at.replace(tzinfo=UTC) if logged_at.tzinfo is None else logged_at.astimezone(UTC)
    context = line.get("context") or {}
    params = context.get("params") if isinstance(context, dict) else None
    call = {
        "call_id": str(line["call_id"]),
        "logged_at": logged_at,
        "endpoint": str(line["endpoint"]),
        "reco_origin": _text(line.get("reco_origin")),
        "model_origin": _text(line.get("model_origin")),
        "user_id": _text(line.get("user_id")),
        "source_offer_id": _text(line.get("offer_id")),
        "offer_count": len(offers),
        "latency_ms": line.get("latency_ms"),
        "is_geolocated": isinstance(context, dict) and context.get("latitude") is not None,
        "request_params": json.dumps(params, sort_keys=True) if params else None,
        "log_file": log_file,
        "log_line": log_line,
        "loaded_at": now,
    }
    if not offers:  # nothing shown: still a call
        return [call | {"offer_rank": 0, "offer_id": None, "score": None, "retrieval_origin": None}]
    rows = []
    for position, offer in enumerate(offers, start=1):
        try:
            rank = int(offer.get("rank", position))
            score = None if offer.get("score") is None else float(offer["score"])
        except (TypeError, ValueError):
            raise MalformedLogLine(f"{where}: offer {position} has a rank or score that is not a number") from None
        if offer.get("offer_id") is None or rank < 1:
            raise MalformedLogLine(f"{where}: offer {position} has no offer_id or a rank below 1")
        rows.append(
            call
            | {
                "offer_rank": rank,
                "offer_id": str(offer["offer_id"]),
                "score": score,
                "retrieval_origin": _text(offer.get("origin")),
            }
        )
    return rows


def read_new_lines(path: Path, seen: dict, now: datetime) -> Iterator[tuple[list[dict], dict]]:
    """(rows, the file's new position) per batch of complete lines after `seen` (offset, lines)."""
    offset, lines = int(seen.get("offset", 0)), int(seen.get("lines", 0))
    size = path.stat().st_size
    if size < offset:
        log.warning("recommendation_logs: %s is shorter than when last read: reading it again from the start", path)
        offset, lines = 0, 0
    if size == offset:
        return
    rows: list[dict] = []
    with path.open("rb") as f:
        f.seek(offset)
        for raw in f:
            if not raw.endswith(b"\n"):  # still being written: the next run takes it whole
                break
            lines += 1
            offset += len(raw)
            if not raw.strip():
                continue
            where = f"{path}, line {lines}"
            try:
                line = json.loads(raw)
            except ValueError as exc:
                raise MalformedLogLine(f"{where}: not JSON ({exc})") from None
            if not isinstance(line, dict):
                raise MalformedLogLine(f"{where}: not a JSON object")
            rows += _rows(line, where, path.name, lines, now)
            if len(rows) >= BATCH_ROWS:
                yield rows, {"offset": offset, "lines": lines}
                rows = []
    yield rows, {"offset": offset, "lines": lines}


@dlt.source(name="recommendation_logs")
def recommendation_logs(log_dir: str = dlt.config.value):
    """`log_dir`: the service's RECOMMENDATION_LOG_DIR (the folder holding `past_offer_context/`)."""

    @dlt.resource(
        name="past_offer_context",
        primary_key=("call_id", "offer_rank"),
        write_disposition="merge",
        columns=COLUMNS,
    )
    def past_offer_context() -> Iterator[pa.Table]:
        folder = Path(log_dir) / SUBFOLDER
        files = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
        state = dlt.current.resource_state().setdefault("files", {})
        now = datetime.now(UTC)
        total = 0
        for path in files:
            for rows, position in read_new_lines(path, state.get(path.name, {}), now):
                if rows:
                    total += len(rows)
                    yield pa.Table.from_pylist(rows, schema=SCHEMA)
                state[path.name] = position  # committed with the data, or not at all
        if not files:
            log.info("recommendation_logs: no served-list logs under %s: nothing to load", folder)
        elif not total:
            log.info("recommendation_logs: no new lines in %d file(s) under %s: nothing to load", len(files), folder)
        if not total:
            # an empty Arrow table creates the table with the same columns as a load with rows (dlt's
            # materialize_table_schema would add its _dlt_load_id/_dlt_id columns, NOT NULL, which
            # Arrow loads do not fill), so that staging always has a relation to read
            yield pa.Table.from_pylist([], schema=SCHEMA)

    return past_offer_context
