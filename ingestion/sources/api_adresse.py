"""API Adresse (IGN Géoplateforme): geocode the users whose address is new or changed.

Not a pull but an enrichment: `geocoding_queue` compares the users' current
addresses in the raw app dataset with the hashes already geocoded, and the
`user_address` resource sends the difference through the CSV batch endpoint
(`POST /search/csv/`, 500 rows a call, paced under the 50 calls/s limit), on the
shared HTTP layer (a cut CSV answer is asked again within the one retry budget).
Each call says its `delimiter` (the geocoder otherwise guesses it, and an address
holding a quoted word makes it guess a space and refuse the whole batch) and uses
the documented `postcode` filter (the name of the column holding each row's
postcode: candidates outside the user's postcode are not considered).

A row answered `result_status=error` is a transient failure of that row alone: it
is not stored, so its address hash is not marked done and the next run sends it
again (a user geocoded before keeps the previous result meanwhile).

What is stored is what the regional marts need and no more: INSEE commune
code, postcode, city, context (department and region), score and status, and
coordinates rounded to 3 decimals (about 100 m). The address itself, the
house number and the street never leave the app dataset; the address travels
as a salted hash so that the next run knows it was done.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import partial
from itertools import islice

import dlt
from dlt.common.schema.typing import TTableSchemaColumns

from .http import MAX_ATTEMPTS, MalformedPage, RateLimiter, VendorHttp, checked
from .pii import pii_salt, pseudonymise

log = logging.getLogger("pcdata.ingestion")
VENDOR = "api_adresse"
DEFAULT_BASE_URL = "https://data.geopf.fr/geocodage"
KEPT_RESULT_COLUMNS = (
    "result_score",
    "result_score_next",
    "result_type",
    "result_postcode",
    "result_city",
    "result_context",
    "result_citycode",
    "result_oldcitycode",
    "result_oldcity",
    "result_district",
    "result_status",
)
COLUMNS: TTableSchemaColumns = {
    "user_id": {"data_type": "bigint", "nullable": False},
    "address_hash": {"data_type": "text", "nullable": False},
    "latitude": {"data_type": "double"},
    "longitude": {"data_type": "double"},
    "result_score": {"data_type": "double"},
    "result_score_next": {"data_type": "double"},
    "geocoded_at": {"data_type": "timestamp"},
    **{c: {"data_type": "text"} for c in KEPT_RESULT_COLUMNS if c not in ("result_score", "result_score_next")},
}


def full_address(address: str | None, postcode: str | None, city: str | None) -> str:
    """The string sent to the geocoder: street, postcode, city, blanks dropped."""
    return " ".join(part.strip() for part in (address, postcode, city) if part and part.strip())


def geocoding_queue(
    users: Iterable[tuple[int, str | None, str | None, str | None]],
    done: dict[int, str],
    salt: str,
    limit: int = 50_000,
) -> list[dict]:
    """Users (id, address, postcode, city) whose address hash differs from the one geocoded last."""
    queue = []
    for user_id, address, postcode, city in users:
        text = full_address(address, postcode, city)
        digest = pseudonymise(text, salt)
        if text and done.get(user_id) != digest:
            queue.append(
                {
                    "user_id": user_id,
                    "user_full_address": text,
                    "postcode": (postcode or "").strip(),
                    "address_hash": digest,
                }
            )
            if len(queue) >= limit:
                break
    return queue


def _float(value: str | None) -> float | None:
    return float(value) if value else None


DELIMITER = ","
RETRY_NEXT_RUN = "error"  # result_status of a row whose geocoding failed transiently


def _parse_results(response, chunk: list[dict]) -> list[dict]:
    """Read the answer CSV; it must hold exactly one result line per user sent."""
    reader = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=DELIMITER)
    if not reader.fieldnames or "result_status" not in reader.fieldnames or "user_id" not in reader.fieldnames:
        raise MalformedPage(f"CSV header without user_id/result_status: {reader.fieldnames}")
    rows = list(reader)
    sent = {str(c["user_id"]) for c in chunk}
    if len(rows) != len(chunk) or {r["user_id"] for r in rows} != sent or any(r["result_status"] is None for r in rows):
        raise MalformedPage(f"expected {len(chunk)} result lines, got {len(rows)} (truncated answer?)")
    by_id = {str(c["user_id"]): c for c in chunk}
    now = datetime.now(UTC)
    out = []
    for r in rows:
        lat, lon = _float(r.get("latitude")), _float(r.get("longitude"))
        out.append(
            {
                "user_id": int(r["user_id"]),
                "address_hash": by_id[r["user_id"]]["address_hash"],
                "latitude": round(lat, 3) if lat is not None else None,
                "longitude": round(lon, 3) if lon is not None else None,
                "result_score": _float(r.get("result_score")),
                "result_score_next": _float(r.get("result_score_next")),
                **{
                    c: (r.get(c) or None) for c in KEPT_RESULT_COLUMNS if c not in ("result_score", "result_score_next")
                },
                "geocoded_at": now,
            }
        )
    return out


def _chunks(items: list[dict], size: int) -> Iterator[list[dict]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


@dlt.source(name="api_adresse")
def api_adresse(
    users: list[tuple[int, str | None, str | None, str | None]] | None = None,
    done: dict[int, str] | None = None,
    max_rows_per_run: int = 50_000,
    base_url: str = DEFAULT_BASE_URL,
    chunk_size: int = 500,
    calls_per_second: int = 40,
    timeout: float = 60,
    max_attempts: int = MAX_ATTEMPTS,
):
    """`users`: (id, address, postcode, city) from the app; `done`: user id -> address hash already geocoded.
    At most `max_rows_per_run` addresses are sent per run (the rest waits for the next one)."""
    candidates = geocoding_queue(users or [], done or {}, pii_salt(), max_rows_per_run)
    http = VendorHttp(
        VENDOR,
        base_url=base_url,
        limiter=RateLimiter(calls_per_second, 1.0),
        timeout=timeout,
        max_attempts=max_attempts,
    )

    @dlt.resource(name="user_address", primary_key="user_id", write_disposition="merge", columns=COLUMNS)
    def user_address() -> Iterator[list[dict]]:
        for chunk in _chunks(candidates, chunk_size):
            body = io.StringIO()
            writer = csv.writer(body, delimiter=DELIMITER, lineterminator="\n")
            writer.writerow(["user_id", "user_full_address", "postcode"])
            writer.writerows([c["user_id"], c["user_full_address"], c["postcode"]] for c in chunk)
            response = http.post(
                "search/csv/",
                files={"data": ("users.csv", body.getvalue().encode("utf-8"), "text/csv")},
                data={"columns": "user_full_address", "postcode": "postcode", "delimiter": DELIMITER},
                check=checked(partial(_parse_results, chunk=chunk)),  # a cut CSV is asked again
            )
            rows = _parse_results(response, chunk)
            failed = [r for r in rows if r["result_status"] == RETRY_NEXT_RUN]
            if failed:
                log.warning(
                    "%s: %d of %d addresses answered result_status=error (transient); sent again next run",
                    VENDOR,
                    len(failed),
                    len(rows),
                )
            yield [r for r in rows if r["result_status"] != RETRY_NEXT_RUN]

    return user_address
