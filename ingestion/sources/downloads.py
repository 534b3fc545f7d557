"""App downloads: App Store Connect daily Sales summaries (Apple) and Google Play
monthly installs exports (files in the Play Console bucket).

Apple (`apple_sales`): `GET /v1/salesReports` with the SALES / SUMMARY / DAILY
filters and the vendor number from config, one call per day; auth is an ES256 JWT
(header kid = key id, payload iss = issuer id, aud = appstoreconnect-v1, exp = now
+ at most 20 min, renewed before it expires) signed with the team key (the secret
`private_key`, PEM). The answer is a gzip TSV (28 columns); a 404 means the report
is not produced yet (the last day or two) or that the day had no sales: "nothing
yet", not a failure, and the day is asked again on the next run because every run
re-pulls from the 1st of the previous month (first run: from `start_date`).
Rows are replaced per day (delete-insert on `report_date`).
Key id, issuer id and vendor number are configuration, not code (a new key or a
second vendor account is a config change).

Google Play (`google_play_installs`, `google_play_installs_by_country`): the
`stats/installs/installs_<package>_<YYYYMM>_{overview,country}.csv` files, UTF-16,
read with dlt's filesystem source from `google_play_bucket_url` (`gs://pubsite_prod_rev_<id>`
in production, a local `file://` folder in the sandbox). Only files modified since the
last run are read (the current and previous months, as Google rewrites them);
rows merge on (date, package_name[, country]) so a re-read month replaces itself.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import dlt
import jwt
from dlt.common.schema.typing import TTableSchemaColumns
from dlt.sources.filesystem import FileItemDict, filesystem
from requests import Response
from requests.auth import AuthBase

from .hints import column
from .http import MAX_ATTEMPTS, Problem, RateLimiter, VendorHttp
from .windows import days, window

log = logging.getLogger("pcdata.ingestion")
VENDOR = "downloads"
DEFAULT_BASE_URL = "https://api.appstoreconnect.apple.com"
TOKEN_LIFETIME = 19 * 60  # Apple refuses tokens that live more than 20 minutes
MEASURES = {"units", "developer_proceeds", "customer_price"}
# The documented dimension columns of a SALES/SUMMARY report (its 28 columns less the 3 measures): the
# row key hashes these and only these, so a column Apple adds (or drops) later never changes the keys
# of rows already loaded (they would read as deletions plus new rows downstream). An added column is
# still loaded, as a column.
DIMENSIONS = (
    "provider",
    "provider_country",
    "sku",
    "developer",
    "title",
    "version",
    "product_type_identifier",
    "begin_date",
    "end_date",
    "customer_currency",
    "country_code",
    "currency_of_proceeds",
    "apple_identifier",
    "promo_code",
    "parent_identifier",
    "subscription",
    "period",
    "category",
    "cmb",
    "device",
    "supported_platforms",
    "proceeds_reason",
    "preserved_pricing",
    "client",
    "order_type",
)
_FILE = re.compile(r"installs_(?P<package>.+)_(?P<month>\d{6})_(?P<dimension>[a-z_]+)\.csv$")


APPLE_COLUMNS: TTableSchemaColumns = {
    "row_key": column("text", nullable=False),
    "report_date": column("date", nullable=False),
    "units": column("bigint"),
    "developer_proceeds": column("double"),
    "customer_price": column("double"),
    **{
        c: column("text")
        for c in (
            "product_type_identifier",
            "country_code",
            "apple_identifier",
            "sku",
            "title",
            "device",
            "customer_currency",
            "begin_date",
            "end_date",
        )
    },
    "loaded_at": column("timestamp"),
}
GOOGLE_COUNTS = (
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
)


def _google_columns(by_country: bool) -> dict:
    cols = {
        "date": column("date", nullable=False),
        "package_name": column("text", nullable=False),
        **{c: column("bigint") for c in GOOGLE_COUNTS},
        "source_file": column("text"),
        "loaded_at": column("timestamp"),
    }
    if by_country:
        cols["country"] = column("text", nullable=False)
    return cols


class AppleError(RuntimeError):
    pass


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _number(value: str | None, kind=float):
    value = (value or "").strip().replace(",", "")
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        return kind(float(value))


def row_key(row: dict) -> str:
    """sha1 over the documented dimensions, in the same `k=v|...` sorted form as every key loaded so far."""
    return hashlib.sha1("|".join(f"{k}={row.get(k)}" for k in sorted(DIMENSIONS)).encode()).hexdigest()


def parse_sales_tsv(payload: bytes, report_date: date, loaded_at: datetime) -> list[dict]:
    """gzip (or plain) TSV -> rows; raises ValueError on a cut or unreadable file."""
    if payload[:2] == b"\x1f\x8b":
        payload = gzip.decompress(payload)  # EOFError/BadGzipFile on a cut file
    text = payload.decode("utf-8")
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    if not reader.fieldnames or "Units" not in reader.fieldnames or "Product Type Identifier" not in reader.fieldnames:
        raise ValueError("the sales report has no header with Units and Product Type Identifier")
    rows = []
    for raw in reader:
        if None in raw:  # more cells than the header: a broken line
            raise ValueError("a sales report line has more cells than the header")
        row = {_snake(k): (v if v != "" else None) for k, v in raw.items()}
        key = row_key(row)
        row["units"] = _number(raw.get("Units"), int)
        row["developer_proceeds"] = _number(raw.get("Developer Proceeds"))
        row["customer_price"] = _number(raw.get("Customer Price"))
        row["row_key"] = key
        row["report_date"] = report_date
        row["loaded_at"] = loaded_at
        rows.append(row)
    return rows


class AppStoreJWT(AuthBase):
    """App Store Connect's ES256 JWT (kid = key id, iss = issuer id), renewed before its 20 minutes run out."""

    def __init__(self, key_id: str, issuer_id: str, private_key: str):
        self.key_id, self.issuer_id, self.private_key = key_id, issuer_id, private_key
        self._token, self._expires = "", 0.0

    def token(self) -> str:
        now = time.time()
        if now > self._expires - 120:
            self._expires = int(now) + TOKEN_LIFETIME
            try:
                self._token = jwt.encode(
                    {"iss": self.issuer_id, "iat": int(now), "exp": self._expires, "aud": "appstoreconnect-v1"},
                    self.private_key,
                    algorithm="ES256",
                    headers={"kid": self.key_id, "typ": "JWT"},
                )
            except (ValueError, TypeError, jwt.PyJWTError) as exc:
                raise AppleError(
                    f"{VENDOR}: cannot sign the App Store Connect token with sources.downloads.private_key "
                    f"({type(exc).__name__}: not an EC P-256 private key in PEM?)"
                ) from None
        return self._token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request


def _apple_detail(response) -> str:
    try:
        err = response.json()["errors"][0]
        return f"{err.get('code')}: {err.get('detail') or err.get('title')}"
    except (ValueError, KeyError, IndexError, TypeError):
        return response.text[:200]


APPLE_HINTS = {
    401: "check sources.downloads key_id, issuer_id and private_key",
    403: "check sources.downloads.vendor_number and the key's role",
}


def apple_check(response) -> Problem | None:
    """A report must be a readable (gzip) TSV, or it is asked again; 401/403 say which setting to check."""
    if response.status_code in APPLE_HINTS:
        hint = APPLE_HINTS[response.status_code]
        return Problem(f"HTTP {response.status_code}: {_apple_detail(response)} ({hint})")
    if response.status_code < 400:
        try:
            parse_sales_tsv(response.content, date.min, datetime.now(UTC))
        except (ValueError, EOFError, OSError) as exc:  # a cut gzip, a broken line
            return Problem(f"unreadable sales report ({type(exc).__name__}: {exc})", retry=True)
    return None


def _quota_pause(seconds: float) -> Callable[[Response], float]:
    """App Store Connect counts calls per hour (`X-Rate-Limit: user-hour-lim:3600;user-hour-rem:N`):
    with fewer than 5 calls left, pause `seconds` before the next one."""

    def pause(response: Response) -> float:
        m = re.search(r"user-hour-rem:(\d+)", response.headers.get("X-Rate-Limit", ""))
        if m and int(m.group(1)) < 5:
            log.warning("%s: App Store Connect hourly quota nearly spent, pausing %.0f s", VENDOR, seconds)
            return seconds
        return 0.0

    return pause


def _previous_month_start(d: date) -> date:
    return (d.replace(day=1) - timedelta(days=1)).replace(day=1)


@dlt.source(name="downloads")
def downloads(
    key_id: str = dlt.config.value,
    issuer_id: str = dlt.config.value,
    vendor_number: str = dlt.config.value,
    private_key: str = dlt.secrets.value,
    google_play_bucket_url: str = dlt.config.value,
    base_url: str = DEFAULT_BASE_URL,
    start_date: str | None = None,
    end_date: str | None = None,
    calls_per_hour: int = 3600,
    quota_pause_seconds: float = 60.0,
    timeout: float = 60,
    max_attempts: int = MAX_ATTEMPTS,
):
    http = VendorHttp(
        VENDOR,
        base_url=base_url,
        auth=AppStoreJWT(key_id, issuer_id, private_key),
        headers={"Accept": "application/a-gzip"},
        limiter=RateLimiter(calls_per_hour, 3600.0, spread=False),  # an hourly budget, not a pace
        check=apple_check,
        describe=_apple_detail,
        pause_after=_quota_pause(quota_pause_seconds),
        timeout=timeout,
        max_attempts=max_attempts,
        secrets=[private_key],
    )

    def report(day: date) -> bytes | None:
        """The day's SALES/SUMMARY/DAILY report; None while Apple has none (404: not produced yet, or no sales)."""
        params = {
            "filter[frequency]": "DAILY",
            "filter[reportDate]": day.isoformat(),
            "filter[reportSubType]": "SUMMARY",
            "filter[reportType]": "SALES",
            "filter[vendorNumber]": vendor_number,
            "filter[version]": "1_0",
        }
        response = http.get("v1/salesReports", params=params, ok=(404,))
        if response.status_code == 404:
            log.info("%s: no Apple sales report for %s yet (%s)", VENDOR, day, _apple_detail(response))
            return None
        return response.content

    @dlt.resource(
        name="apple_sales",
        primary_key="row_key",
        merge_key="report_date",
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        columns=APPLE_COLUMNS,
    )
    def apple_sales() -> Iterator[list[dict]]:
        state = dlt.current.resource_state()
        _, end = window({}, start_date, end_date, 0)
        first = (
            date.fromisoformat(start_date) if start_date and not state.get("last_end") else _previous_month_start(end)
        )
        first = min(first, _previous_month_start(end))
        if start_date:
            first = max(first, date.fromisoformat(start_date))
        for day in days(first, end):
            payload = report(day)  # a cut report was asked again by the shared layer (apple_check)
            if payload is not None:
                yield parse_sales_tsv(payload, day, datetime.now(UTC))
        state["last_end"] = end.isoformat()

    first_month = date.fromisoformat(start_date).replace(day=1) if start_date else None

    def google_play(dimension: str, name: str, key: tuple[str, ...]):
        files = filesystem(
            bucket_url=google_play_bucket_url,
            file_glob=f"stats/installs/installs_*_{dimension}.csv",
            incremental=dlt.sources.incremental("modification_date"),
        ).with_name(f"google_play_{dimension}_files")

        @dlt.transformer(
            name=name, primary_key=key, write_disposition="merge", columns=_google_columns(dimension == "country")
        )
        def read(items: list[FileItemDict]) -> Iterator[list[dict]]:
            now = datetime.now(UTC)
            for item in items:
                m = _FILE.search(item["file_name"])
                if not m:
                    continue
                month = datetime.strptime(m["month"], "%Y%m").date()
                if first_month and month < first_month:
                    continue
                text = item.read_bytes().decode("utf-16")  # Play Console writes UTF-16 (with a BOM)
                rows = []
                for raw in csv.DictReader(io.StringIO(text)):
                    row = {_snake(k): (v.strip() if isinstance(v, str) else v) for k, v in raw.items() if k}
                    if not row.get("date"):
                        continue
                    out = {
                        "date": date.fromisoformat(row["date"]),
                        "package_name": row.get("package_name") or m["package"],
                        **{c: _number(row.get(c), int) for c in GOOGLE_COUNTS},
                        "source_file": item["file_name"],
                        "loaded_at": now,
                    }
                    if dimension == "country":
                        out["country"] = row.get("country") or "-1"
                    rows.append(out)
                yield rows

        return files | read

    return (
        apple_sales,
        google_play("overview", "google_play_installs", ("date", "package_name")),
        google_play("country", "google_play_installs_by_country", ("date", "package_name", "country")),
    )
