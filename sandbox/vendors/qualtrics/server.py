"""Qualtrics API v3 sandbox (api.qualtrics.com docs).

Contract: header `X-API-TOKEN` (401 with the `meta.error` envelope otherwise);
brand-wide about 3,000 requests/min, 429 with the same envelope (no
`Retry-After` promised); every JSON answer is `{result, meta:{httpStatus, requestId}}`.
- `GET /API/v3/surveys`: 100 surveys a page, `result.nextPage` a full URL or null.
- `POST /API/v3/surveys/{surveyId}/export-responses` `{"format": "csv",
  "startDate"?, "endDate"?, "timeZone"?, "useLabels"?}` -> `result.progressId`
  (startDate inclusive, endDate exclusive, on the recorded date).
- `GET .../export-responses/{progressId}`: `status` inProgress|complete|failed,
  `percentComplete`, `fileId` null until complete. A job completes on its
  `EXPORT_POLLS`-th poll (2), so a client that does not wait shows up.
- `GET .../export-responses/{fileId}/file`: a ZIP holding one CSV with three
  header rows (column ids, question texts, `{"ImportId": ...}`).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from datetime import UTC

from sandbox.framework import Request, Response, VendorSandbox

from .world import build

PAGE_SIZE = 100
EXPORT_POLLS = 2
META_COLUMNS = [  # (column id, question text row, ImportId)
    ("StartDate", "Start Date", "startDate"),
    ("EndDate", "End Date", "endDate"),
    ("Status", "Response Type", "status"),
    ("IPAddress", "IP Address", "ipAddress"),
    ("Progress", "Progress", "progress"),
    ("Duration (in seconds)", "Duration (in seconds)", "duration"),
    ("Finished", "Finished", "finished"),
    ("RecordedDate", "Recorded Date", "recordedDate"),
    ("ResponseId", "Response ID", "_recordId"),
    ("RecipientLastName", "Recipient Last Name", "recipientLastName"),
    ("RecipientFirstName", "Recipient First Name", "recipientFirstName"),
    ("RecipientEmail", "Recipient Email", "recipientEmail"),
    ("ExternalReference", "External Data Reference", "externalDataReference"),
    ("LocationLatitude", "Location Latitude", "locationLatitude"),
    ("LocationLongitude", "Location Longitude", "locationLongitude"),
    ("DistributionChannel", "Distribution Channel", "distributionChannel"),
    ("UserLanguage", "User Language", "userLanguage"),
]


def _parse_date(value: str):
    from datetime import datetime

    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


class QualtricsSandbox(VendorSandbox):
    name = "qualtrics"
    rate_limit = (3000, 60.0)

    def __init__(self, world, api_key, seed=0, files_dir=None):
        super().__init__(world, api_key, seed, files_dir)
        self.data = world.slice("qualtrics", build)
        self.surveys = {s["id"]: s for s in self.data.surveys}
        self.jobs: dict[str, dict] = {}
        self.files: dict[str, bytes] = {}

    @classmethod
    def client_config(cls, base_url, api_key, files_dir):
        return {"base_url": f"{base_url}/API/v3", "api_token": api_key}

    def routes(self):
        return [
            ("GET", r"/API/v3/surveys", self.list_surveys),
            ("POST", r"/API/v3/surveys/(?P<survey_id>[^/]+)/export-responses", self.start_export),
            (
                "GET",
                r"/API/v3/surveys/(?P<survey_id>[^/]+)/export-responses/(?P<progress_id>[^/]+)",
                self.export_progress,
            ),
            ("GET", r"/API/v3/surveys/(?P<survey_id>[^/]+)/export-responses/(?P<file_id>[^/]+)/file", self.export_file),
        ]

    # --- contract shapes ---------------------------------------------------------------
    def _envelope(self, result, status: str = "200 - OK") -> dict:
        return {
            "result": result,
            "meta": {"requestId": str(uuid.UUID(int=self.rng.getrandbits(128))), "httpStatus": status},
        }

    def _error(self, status: int, text: str, message: str, code: str) -> Response:
        return Response.json(
            {
                "meta": {
                    "httpStatus": f"{status} - {text}",
                    "error": {"errorMessage": message, "errorCode": code},
                    "requestId": str(uuid.UUID(int=self.rng.getrandbits(128))),
                }
            },
            status,
        )

    def authenticate(self, req: Request) -> Response | None:
        if req.headers.get("x-api-token") != self.api_key:
            return self._error(401, "Unauthorized", "Invalid API token.", "AUTH_6.0")
        return None

    def too_many_requests(self, retry_after: float) -> Response:
        return self._error(429, "Too Many Requests", "Too many requests. Please try again later.", "REQ_TOO_MANY")

    def server_error(self, status: int) -> Response:
        return self._error(status, "Internal Server Error", "An unexpected error occurred.", "GEN_1.0")

    def not_found(self, req: Request) -> Response:
        return self._error(404, "Not Found", "Resource not found.", "GEN_4.0")

    # --- handlers ------------------------------------------------------------------------
    def list_surveys(self, req: Request) -> Response:
        offset = int(req.arg("offset", "0"))
        page = self.data.surveys[offset : offset + PAGE_SIZE]
        host = req.headers.get("host", "127.0.0.1")
        following = (
            f"http://{host}/{self.name}/API/v3/surveys?offset={offset + PAGE_SIZE}"
            if offset + PAGE_SIZE < len(self.data.surveys)
            else None
        )
        elements = [{k: v for k, v in s.items() if not k.startswith("_")} for s in page]
        return Response.json(self._envelope({"elements": elements, "nextPage": following}))

    def start_export(self, req: Request, survey_id: str) -> Response:
        if survey_id not in self.surveys:
            return self._error(404, "Not Found", f"Could not find survey {survey_id}", "GEN_4.0")
        try:
            body = req.json() or {}
        except ValueError:
            return self._error(400, "Bad Request", "Invalid request body.", "GEN_2.0")
        if body.get("format") not in ("csv", "tsv", "json", "ndjson", "spss", "xml"):
            return self._error(400, "Bad Request", "Invalid request. Missing or invalid parameter format.", "RCE_1.1")
        try:
            start = _parse_date(body["startDate"]) if body.get("startDate") else None
            end = _parse_date(body["endDate"]) if body.get("endDate") else None
        except ValueError:
            return self._error(
                400, "Bad Request", "Invalid request. Invalid parameter startDate or endDate.", "RCE_1.1"
            )
        progress_id = f"ES_{uuid.UUID(int=self.rng.getrandbits(128)).hex[:15]}"
        with self._lock:
            self.jobs[progress_id] = {
                "survey": survey_id,
                "polls": 0,
                "start": start,
                "end": end,
                "labels": bool(body.get("useLabels")),
                "file": None,
            }
        return Response.json(
            self._envelope({"progressId": progress_id, "percentComplete": 0.0, "status": "inProgress"})
        )

    def export_progress(self, req: Request, survey_id: str, progress_id: str) -> Response:
        job = self.jobs.get(progress_id)
        if job is None or job["survey"] != survey_id:
            return self._error(404, "Not Found", f"Could not find export {progress_id}", "GEN_4.0")
        with self._lock:
            job["polls"] += 1
            done = job["polls"] >= EXPORT_POLLS
            if done and job["file"] is None:
                job["file"] = f"{uuid.UUID(int=self.rng.getrandbits(128))}-def"
                self.files[job["file"]] = self._zip(job)
        if not done:
            return Response.json(
                self._envelope(
                    {
                        "fileId": None,
                        "percentComplete": round(100.0 * job["polls"] / EXPORT_POLLS, 1),
                        "status": "inProgress",
                    }
                )
            )
        return Response.json(self._envelope({"fileId": job["file"], "percentComplete": 100.0, "status": "complete"}))

    def export_file(self, req: Request, survey_id: str, file_id: str) -> Response:
        content = self.files.get(file_id)
        if content is None:
            return self._error(404, "Not Found", f"Could not find file {file_id}", "GEN_4.0")
        return Response(
            200,
            content,
            {
                "Content-Type": "application/octet-stream",
                "Content-Disposition": f'attachment; filename="{survey_id}.zip"',
            },
        )

    # --- the file ---------------------------------------------------------------------------
    def _zip(self, job: dict) -> bytes:
        survey = self.surveys[job["survey"]]
        questions = self.data.questions[survey["id"]]
        embedded = list(self.data.embedded[survey["id"]]) + (["campaign"] if self.faults.schema_drift else [])
        columns = META_COLUMNS + [(q[0], q[1], q[2]) for q in questions] + [(e, e, e) for e in embedded]
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\r\n")
        w.writerow([c[0] for c in columns])
        w.writerow([c[1] for c in columns])
        w.writerow([json.dumps({"ImportId": c[2]}) for c in columns])
        from .world import CHOICES

        for r in self.data.responses[survey["id"]]:
            if (job["start"] and r["_recorded"] < job["start"]) or (job["end"] and r["_recorded"] >= job["end"]):
                continue
            row = []
            for col, _, _ in columns:
                value = r.get(col, "")
                if hasattr(value, "strftime"):
                    value = value.strftime("%Y-%m-%d %H:%M:%S")
                if col == "Q3" and not job["labels"] and value in CHOICES:
                    value = str(CHOICES.index(value) + 1)
                if col == "campaign":
                    value = "ir_2026"
                row.append(value)
            w.writerow(row)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(f"{survey['name']}.csv", "\ufeff" + out.getvalue())
        return buf.getvalue()
