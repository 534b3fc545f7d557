"""Qualtrics: the survey list and the responses of the active surveys, incrementally.

- `surveys`: `GET /surveys`, following `result.nextPage` to the end, merge on `id`.
- `responses`: the asynchronous export, incremental per survey: one
  `POST /surveys/{id}/export-responses` (`format=csv`, `timeZone=UTC`,
  `useLabels`, and `startDate` = the last recorded date loaded for that
  survey, kept in the resource state) per survey, several jobs at once
  (`max_concurrent_exports`); their progress is polled with a growing pause
  (`poll_interval` x 1.5 up to `poll_max_interval`, `poll_timeout` in all)
  until `status == "complete"` (not `percentComplete`), then the ZIP is
  downloaded and its CSV read (row 1 column ids, row 2 question texts, row 3
  `{"ImportId": ...}`). One row per response, merge on `response_id`, so the
  re-exported boundary never duplicates. Embedded data (user or venue id, region, department...)
  become columns; the answers are a child table `responses__answers`
  (question id, import id, question text, answer).
- Personal data is not loaded: IP address, recipient names and email,
  location, and free-text answers (ImportIds ending in `_TEXT`); text-iQ
  topics are kept.

Auth: header `X-API-TOKEN`. Calls are paced under `calls_per_minute`; 429, 5xx
and cut downloads are retried within one budget by the shared HTTP layer. The survey
list is dlt's link paginator on `result.nextPage`; the export is custom (an async job).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime

import dlt
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator

from .hints import column
from .http import MAX_ATTEMPTS, MalformedPage, RateLimiter, VendorHttp, checked

VENDOR = "qualtrics"
log = logging.getLogger("pcdata.ingestion")

META = {  # CSV column id -> column name; the personal ones (IP, recipient, location) are left out
    "StartDate": "start_date",
    "EndDate": "end_date",
    "Status": "status",
    "Progress": "progress",
    "Duration (in seconds)": "duration_seconds",
    "Finished": "finished",
    "RecordedDate": "recorded_date",
    "ResponseId": "response_id",
    "ExternalReference": "external_reference",
    "DistributionChannel": "distribution_channel",
    "UserLanguage": "user_language",
}
NOT_LOADED = {
    "IPAddress",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "LocationLatitude",
    "LocationLongitude",
}
RESERVED = set(META.values()) | {"survey_id", "answers", "exported_at"}


RESPONSE_COLUMNS: TTableSchemaColumns = {
    "response_id": {"data_type": "text", "nullable": False},
    "survey_id": {"data_type": "text", "nullable": False},
    "start_date": {"data_type": "timestamp"},
    "end_date": {"data_type": "timestamp"},
    "recorded_date": {"data_type": "timestamp"},
    "status": column("text"),
    "progress": {"data_type": "bigint"},
    "duration_seconds": {"data_type": "bigint"},
    "finished": {"data_type": "bool"},
    "external_reference": column("text"),
    "distribution_channel": column("text"),
    "user_language": column("text"),
    "exported_at": {"data_type": "timestamp"},
    # embedded data staging reads
    **{
        c: column("text")
        for c in (
            "user_id",
            "venue_id",
            "offerer_id",
            "region",
            "department",
            "deposit_type",
            "venue_type_label",
            "age",
        )
    },
}
SURVEY_COLUMNS: TTableSchemaColumns = {
    "id": {"data_type": "text", "nullable": False},
    "name": column("text"),
    "is_active": {"data_type": "bool"},
    "creation_date": {"data_type": "timestamp"},
    "last_modified": {"data_type": "timestamp"},
}


def _iso(value: str) -> str | None:
    """'2025-03-04 10:11:12' (exported in UTC) -> ISO 8601 with Z."""
    return value.replace(" ", "T") + "Z" if value else None


def _int(value: str) -> int | None:
    try:
        return int(float(value)) if value not in ("", None) else None
    except ValueError:
        return None


def parse_export(content: bytes, survey_id: str, exported_at: str) -> list[dict]:
    """The rows of an export ZIP: one dict per response, answers as a nested list."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            names = [n for n in z.namelist() if n.lower().endswith(".csv")]
            if len(names) != 1:
                raise MalformedPage(f"expected one CSV in the export ZIP, found {z.namelist()}")
            text = z.read(names[0]).decode("utf-8-sig")
    except zipfile.BadZipFile as exc:  # a cut download
        raise MalformedPage(f"unreadable export ZIP: {exc}") from exc
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 3:
        raise MalformedPage("export CSV without its three header rows")
    ids, texts = rows[0], rows[1]
    try:
        imports = [json.loads(cell).get("ImportId", "") for cell in rows[2]]
    except (ValueError, AttributeError) as exc:
        raise MalformedPage(f"export CSV row 3 is not ImportId JSON: {exc}") from exc
    if "ResponseId" not in ids or len(ids) != len(imports):
        raise MalformedPage("export CSV header without ResponseId")
    out = []
    for values in rows[3:]:
        if len(values) != len(ids):
            raise MalformedPage(f"export CSV row with {len(values)} cells, header has {len(ids)}")
        row: dict = {"survey_id": survey_id, "exported_at": exported_at, "answers": []}
        for col, question, import_id, value in zip(ids, texts, imports, values, strict=True):
            if col in NOT_LOADED:
                continue
            if col in META:
                row[META[col]] = value if value != "" else None
            elif import_id.startswith("QID"):
                if import_id.endswith("_TEXT") or value == "":
                    continue  # free text stays in Qualtrics; unanswered questions are no rows
                row["answers"].append(
                    {"question_id": col, "import_id": import_id, "question_text": question, "answer": value}
                )
            else:  # embedded data
                row[("ed_" + col) if col in RESERVED else col] = value if value != "" else None
        for key in ("start_date", "end_date", "recorded_date"):
            row[key] = _iso(row.get(key) or "")
        row["progress"] = _int(row.get("progress") or "")
        row["duration_seconds"] = _int(row.get("duration_seconds") or "")
        row["finished"] = None if row.get("finished") is None else row["finished"] in ("1", "True", "true")
        out.append(row)
    return out


def _wait_and_download(
    http: VendorHttp, jobs: dict[str, str], poll_interval: float, poll_max_interval: float, poll_timeout: float
) -> Iterator[tuple[str, bytes]]:
    """Poll the jobs (survey id -> progress id) with a growing pause; yield (survey id, ZIP) as each completes."""
    pending = dict(jobs)
    interval, waited = poll_interval, 0.0
    while pending:
        time.sleep(interval)
        waited += interval
        for survey_id, progress_id in list(pending.items()):
            result = http.get(f"surveys/{survey_id}/export-responses/{progress_id}").json()["result"]
            status = result.get("status")
            if status == "complete" and result.get("fileId"):
                response = http.get(
                    f"surveys/{survey_id}/export-responses/{result['fileId']}/file",
                    check=checked(lambda r: _check_zip(r.content)),
                )
                del pending[survey_id]
                yield survey_id, response.content
            elif status == "failed":
                raise RuntimeError(
                    f"{VENDOR}: the response export of survey {survey_id} failed: {result.get('error') or result}"
                )
        if pending and waited >= poll_timeout:
            raise TimeoutError(f"{VENDOR}: response exports of {sorted(pending)} not complete after {waited:.0f} s")
        interval = min(interval * 1.5, poll_max_interval)


def _check_zip(content: bytes) -> bytes:
    if not zipfile.is_zipfile(io.BytesIO(content)):
        raise MalformedPage("the export file is not a readable ZIP (cut download?)")
    return content


@dlt.source(name="qualtrics")
def qualtrics(
    api_token: str = dlt.secrets.value,
    data_center: str | None = None,
    base_url: str | None = None,
    survey_ids: list[str] | None = None,
    start_date: str = "2020-01-01T00:00:00Z",
    calls_per_minute: int = 600,
    max_concurrent_exports: int = 10,
    poll_interval: float = 1.0,
    poll_max_interval: float = 30.0,
    poll_timeout: float = 900.0,
    timeout: float = 60,
    max_attempts: int = MAX_ATTEMPTS,
):
    if not base_url and not data_center:
        raise ValueError("qualtrics: set sources.qualtrics.data_center (e.g. 'fra1') or sources.qualtrics.base_url")
    http = VendorHttp(
        VENDOR,
        base_url=base_url or f"https://{data_center}.qualtrics.com/API/v3",
        auth=APIKeyAuth(name="X-API-TOKEN", api_key=api_token, location="header"),
        headers={"Accept": "application/json"},
        limiter=RateLimiter(calls_per_minute, 60.0),
        timeout=timeout,
        max_attempts=max_attempts,
        secrets=[api_token],
    )
    listed: list[dict] = []

    def all_surveys() -> list[dict]:
        if not listed:
            pages = http.paginate(
                "surveys", paginator=JSONLinkPaginator(next_url_path="result.nextPage"), data_selector="result.elements"
            )
            listed.extend(s for page in pages for s in page)
        return listed

    def start(survey_id: str, since: str | None) -> str:
        body = {"format": "csv", "timeZone": "UTC", "useLabels": True}
        if since:
            body["startDate"] = since
        return http.post(f"surveys/{survey_id}/export-responses", json=body).json()["result"]["progressId"]

    @dlt.resource(name="surveys", primary_key="id", write_disposition="merge", columns=SURVEY_COLUMNS)
    def surveys() -> Iterator[list[dict]]:
        yield [
            {
                "id": s["id"],
                "name": s.get("name"),
                "owner_id": s.get("ownerId"),
                "is_active": s.get("isActive"),
                "creation_date": s.get("creationDate"),
                "last_modified": s.get("lastModified"),
            }
            for s in all_surveys()
        ]

    @dlt.resource(name="responses", primary_key="response_id", write_disposition="merge", columns=RESPONSE_COLUMNS)
    def responses() -> Iterator[list[dict]]:
        state = dlt.current.resource_state().setdefault("last_recorded", {})
        wanted = survey_ids or [s["id"] for s in all_surveys() if s.get("isActive")]
        for i in range(0, len(wanted), max_concurrent_exports):
            batch = wanted[i : i + max_concurrent_exports]
            exported_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            jobs = {sid: start(sid, state.get(sid) or start_date) for sid in batch}
            for survey_id, content in _wait_and_download(http, jobs, poll_interval, poll_max_interval, poll_timeout):
                rows = parse_export(content, survey_id, exported_at)
                if rows:
                    # inclusive startDate: the last response comes back next time and merges onto itself
                    state[survey_id] = max(r["recorded_date"] for r in rows if r["recorded_date"])
                    yield rows

    return surveys, responses
