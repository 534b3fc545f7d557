"""App downloads sandbox: App Store Connect Sales reports (Apple) and the Google
Play monthly installs exports (files in a bucket).

Apple contract (App Store Connect API docs):
- `GET /v1/salesReports?filter[frequency]=DAILY&filter[reportDate]=YYYY-MM-DD&filter[reportSubType]=SUMMARY
  &filter[reportType]=SALES&filter[vendorNumber]=...` (`filter[version]=1_0` allowed);
- `Authorization: Bearer <JWT>`: ES256, header kid = the key id, payload iss = the issuer id,
  aud = "appstoreconnect-v1", exp at most 20 minutes ahead; the signature is VERIFIED with the
  team key's public key; failures are 401 `{"errors": [{"status": "401", "code": "NOT_AUTHORIZED", ...}]}`;
- the answer is a gzip file (`Content-Type: application/a-gzip`): a TSV with the 28 SALES columns;
- a report not produced yet (the last day, before the morning after) or a day without sales is a 404
  `{"errors": [{"status": "404", "code": "NOT_FOUND", ...}]}`; 429 `RATE_LIMIT_EXCEEDED` with `X-Rate-Limit`.
Rate limit: 3600 requests per hour (`X-Rate-Limit: user-hour-lim:3600;user-hour-rem:N`).

Google Play: no HTTP API. At start-up the sandbox writes the Play Console exports the way Google
drops them in the developer bucket: `stats/installs/installs_<package>_<YYYYMM>_<dimension>.csv`
(dimensions `overview` and `country`), UTF-16 (LE with BOM), one file per month, under
`files_dir/google_play` (a local stand-in for `gs://pubsite_prod_rev_<id>`).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sandbox.framework import Request, Response, VendorSandbox

from .world import APPLE_APP, GOOGLE_PACKAGE, downloads

APPLE_COLUMNS = (
    "Provider",
    "Provider Country",
    "SKU",
    "Developer",
    "Title",
    "Version",
    "Product Type Identifier",
    "Units",
    "Developer Proceeds",
    "Begin Date",
    "End Date",
    "Customer Currency",
    "Country Code",
    "Currency of Proceeds",
    "Apple Identifier",
    "Customer Price",
    "Promo Code",
    "Parent Identifier",
    "Subscription",
    "Period",
    "Category",
    "CMB",
    "Device",
    "Supported Platforms",
    "Proceeds Reason",
    "Preserved Pricing",
    "Client",
    "Order Type",
)
GOOGLE_COLUMNS = (
    "Daily Device Installs",
    "Daily Device Uninstalls",
    "Daily Device Upgrades",
    "Total User Installs",
    "Daily User Installs",
    "Daily User Uninstalls",
    "Active Device Installs",
    "Install events",
    "Update events",
    "Uninstall events",
)
CURRENCY = {"FR": "EUR", "RE": "EUR", "GP": "EUR", "MQ": "EUR", "GF": "EUR", "YT": "EUR", "BE": "EUR", "NC": "XPF"}
KEY_ID = "2X9R4HXF34"
ISSUER_ID = "57246542-96fe-1a63-e053-0824d011072a"
VENDOR_NUMBER = "89412345"
MAX_TOKEN_LIFETIME = 20 * 60


def private_key_pem(api_key: str) -> str:
    """The sandbox team key, derived from the sandbox's public test key (so every process agrees)."""
    secret = int.from_bytes(hashlib.sha256(f"apple:{api_key}".encode()).digest(), "big") % (2**255)
    key = ec.derive_private_key(secret or 1, ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def apple_errors(status: int, code: str, title: str, detail: str, headers: dict | None = None) -> Response:
    return Response.json(
        {"errors": [{"id": str(uuid.uuid4()), "status": str(status), "code": code, "title": title, "detail": detail}]},
        status,
        headers,
    )


def google_play_file(package: str, month: date, dimension: str) -> str:
    return f"stats/installs/installs_{package}_{month:%Y%m}_{dimension}.csv"


class DownloadsSandbox(VendorSandbox):
    name = "downloads"
    rate_limit = (3600, 3600.0)

    def __init__(self, world, api_key, seed=0, files_dir=None):
        super().__init__(world, api_key, seed, files_dir)
        self.data = downloads(world)
        self.public_key = serialization.load_pem_private_key(private_key_pem(api_key).encode(), None).public_key()
        if files_dir is not None:
            self.write_google_play(Path(files_dir) / "google_play")

    @classmethod
    def client_config(cls, base_url, api_key, files_dir):
        return {
            "base_url": base_url,
            "key_id": KEY_ID,
            "issuer_id": ISSUER_ID,
            "vendor_number": VENDOR_NUMBER,
            "private_key": private_key_pem(api_key),
            "google_play_bucket_url": (Path(files_dir) / "google_play").resolve().as_uri(),
            "start_date": "2026-08-01",
            "end_date": "2026-10-31",
            "quota_pause_seconds": "1",  # the sandbox's hourly quota is its own: no need to wait a real minute
        }

    def routes(self):
        return [("GET", r"/v1/salesReports/?", self.sales_report)]

    # --- Google Play files ------------------------------------------------------------
    def google_play_months(self) -> list[date]:
        months, m = [], self.data.first_day.replace(day=1)
        while m <= self.data.last_day:
            months.append(m)
            m = (m + timedelta(days=32)).replace(day=1)
        return months

    def google_play_csv(self, month: date, dimension: str) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        keys = [
            "daily_device_installs",
            "daily_device_uninstalls",
            "daily_device_upgrades",
            "total_user_installs",
            "daily_user_installs",
            "daily_user_uninstalls",
            "active_device_installs",
            "install_events",
            "update_events",
            "uninstall_events",
        ]
        writer.writerow(("Date", "Package Name", *(("Country",) if dimension == "country" else ()), *GOOGLE_COLUMNS))
        for day in sorted(d for d in self.data.google if (d.year, d.month) == (month.year, month.month)):
            if dimension == "overview":
                totals = self.data.google_overview(day)
                writer.writerow((day.isoformat(), GOOGLE_PACKAGE, *(totals[k] for k in keys)))
            else:
                for country, stats in sorted(self.data.google[day].items()):
                    writer.writerow((day.isoformat(), GOOGLE_PACKAGE, country, *(stats[k] for k in keys)))
        return out.getvalue()

    def write_google_play(self, root: Path) -> None:
        for month in self.google_play_months():
            for dimension in ("overview", "country"):
                path = root / google_play_file(GOOGLE_PACKAGE, month, dimension)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(
                    self.google_play_csv(month, dimension).encode("utf-16")
                )  # BOM + UTF-16-LE, as Google writes

    # --- Apple contract ------------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return self._unauthorized(
                "Provide a properly configured and signed bearer token, and make sure that it has not expired."
            )
        token = auth[len("Bearer ") :]
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "ES256" or header.get("kid") != KEY_ID:
                raise jwt.InvalidTokenError("unknown key id or algorithm")
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=["ES256"],
                audience="appstoreconnect-v1",
                issuer=ISSUER_ID,
                options={"require": ["exp", "iss", "aud"]},
            )
            if claims["exp"] - int(time.time()) > MAX_TOKEN_LIFETIME + 5:
                raise jwt.InvalidTokenError("exp more than 20 minutes ahead")
        except jwt.PyJWTError:
            return self._unauthorized(
                "Provide a properly configured and signed bearer token, and make sure that it has not expired."
            )
        return None

    def _unauthorized(self, detail: str) -> Response:
        return apple_errors(401, "NOT_AUTHORIZED", "Authentication credentials are missing or invalid.", detail)

    def too_many_requests(self, retry_after: float) -> Response:
        return apple_errors(
            429,
            "RATE_LIMIT_EXCEEDED",
            "The request rate limit has been reached.",
            "We've received too many requests for this API. Please wait and try again or slow down your request rate.",
            {"X-Rate-Limit": "user-hour-lim:3600;user-hour-rem:0", "Retry-After": str(max(1, round(retry_after)))},
        )

    def server_error(self, status: int) -> Response:
        return apple_errors(
            status,
            "UNEXPECTED_ERROR",
            "An unexpected error occurred.",
            "An unexpected error occurred on the server side.",
        )

    def not_found(self, req: Request) -> Response:
        return apple_errors(
            404,
            "NOT_FOUND",
            "The specified resource does not exist",
            "The path provided does not match a defined resource type.",
        )

    def sales_report(self, req: Request) -> Response:
        f = {k[len("filter[") : -1]: v[0] for k, v in req.query.items() if k.startswith("filter[")}
        expected = {"frequency": "DAILY", "reportSubType": "SUMMARY", "reportType": "SALES"}
        for key, value in expected.items():
            if f.get(key) != value:
                return apple_errors(
                    400,
                    "PARAMETER_ERROR.INVALID",
                    "A parameter has an invalid value",
                    f"'{f.get(key)}' is not a valid value for filter[{key}] here; expected {value}",
                )
        if f.get("version", "1_0") != "1_0":
            return apple_errors(
                400,
                "PARAMETER_ERROR.INVALID",
                "A parameter has an invalid value",
                "filter[version] must be 1_0 for SALES SUMMARY",
            )
        if f.get("vendorNumber") != VENDOR_NUMBER:
            return apple_errors(
                403,
                "FORBIDDEN_ERROR",
                "This request is forbidden for security reasons",
                "You are not permitted to download reports for this vendor number.",
            )
        try:
            day = date.fromisoformat(f.get("reportDate", ""))
        except ValueError:
            return apple_errors(
                400,
                "PARAMETER_ERROR.INVALID",
                "A parameter has an invalid value",
                "filter[reportDate] must be YYYY-MM-DD",
            )
        # daily reports appear the morning after: the world's last day is not produced yet
        if day >= self.world.end.date() - timedelta(days=1):
            return apple_errors(
                404,
                "NOT_FOUND",
                "The request cannot be fulfilled because the report is not available yet.",
                "Report is not available yet. Daily reports are available by 5 am Pacific Time the next day.",
            )
        rows = self.data.apple.get(day)
        if not rows:
            return apple_errors(
                404, "NOT_FOUND", "The specified resource does not exist", "There were no sales for the date specified."
            )
        out = io.StringIO()
        out.write("\t".join(APPLE_COLUMNS + (("Store Region",) if self.faults.schema_drift else ())) + "\n")
        us = f"{day:%m/%d/%Y}"
        for r in rows:
            cur = CURRENCY.get(r["country"], "EUR")
            values = (
                "APPLE",
                "US",
                APPLE_APP["sku"],
                "pass Culture SAS",
                APPLE_APP["title"],
                APPLE_APP["version"],
                r["product_type"],
                str(r["units"]),
                "0",
                us,
                us,
                cur,
                r["country"],
                cur,
                APPLE_APP["apple_identifier"],
                "0",
                "",
                "",
                "",
                "",
                "Education",
                "",
                r["device"],
                "iOS",
                "",
                "",
                "",
                "",
            )
            out.write("\t".join(values + (("EU",) if self.faults.schema_drift else ())) + "\n")
        body = gzip.compress(out.getvalue().encode("utf-8"), mtime=0)
        return Response(
            200,
            body,
            {
                "Content-Type": "application/a-gzip",
                "Content-Disposition": f"attachment; filename=S_D_{VENDOR_NUMBER}_{day:%Y%m%d}.txt.gz",
                "X-Rate-Limit": "user-hour-lim:3600;user-hour-rem:3599",
            },
        )
