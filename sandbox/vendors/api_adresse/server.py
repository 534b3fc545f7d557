"""API Adresse (IGN Géoplateforme geocoder) sandbox.

Contract (IGN Géoplateforme geocoding docs): no auth; 50 requests/s per
IP, 429 above; `GET /search/`, `GET /reverse/` answer GeoCodeJSON;
`POST /search/csv/` takes a multipart CSV (`data`, repeated `columns`, optional
`postcode`/`citycode` column filters, optional `delimiter`) and answers the same
CSV with the `result_*` columns appended. It geocodes against the world's real
communes, so results carry true INSEE codes, and answers `not-found` for garbage
addresses.

As the real geocoder (addok-csv) can:
- without `delimiter` it GUESSES the separator (Python's csv.Sniffer, as addok-csv
  does): an address holding a quoted word ("12 impasse "Le Clos" ...") makes it
  guess a space, the header then lacks the `columns` and the whole batch is refused;
- a row can come back with `result_status=error` (a transient failure of that
  row's geocoding, the rest of the batch being fine): fault knob `rate_row_error`.
Counters in stats: `csv_without_delimiter`, `csv_with_postcode_filter`, `row_errors`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
import uuid

from sandbox.framework import Request, Response, VendorSandbox
from sandbox.world import catalog
from sandbox.world.geography import Commune, communes, communes_by_postcode, department_context, lambert93

RESULT_COLUMNS = [
    "longitude",
    "latitude",
    "result_score",
    "result_score_next",
    "result_label",
    "result_type",
    "result_id",
    "result_banId",
    "result_housenumber",
    "result_name",
    "result_street",
    "result_postcode",
    "result_city",
    "result_context",
    "result_citycode",
    "result_oldcitycode",
    "result_oldcity",
    "result_district",
    "result_status",
]
_STREET = re.compile(
    r"^\s*(\d{1,4})\s*(?:bis|ter)?,?\s+((?:" + "|".join(catalog.STREET_TYPES) + r")\b.+?)\s*$", re.IGNORECASE
)
_POSTCODE = re.compile(r"\b(\d{5})\b")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _jitter(key: str) -> tuple[float, float]:
    h = hashlib.sha256(key.encode()).digest()
    return (h[0] - 128) / 25600, (h[1] - 128) / 25600  # within about ±500 m


def geocode(q: str, postcode: str | None = None, citycode: str | None = None) -> list[dict]:
    """Candidate results for a free-text address, best first (GeoCodeJSON properties + coordinates)."""
    folded = _fold(q)
    pc = postcode or (m.group(1) if (m := _POSTCODE.search(q)) else None)
    candidates: list[Commune] = communes_by_postcode().get(pc, []) if pc else []
    if not candidates:  # no postcode: match the city name alone
        candidates = [c for c in communes() if re.search(rf"\b{re.escape(_fold(c.city))}\b", folded)]
    if citycode:
        candidates = [c for c in candidates if c.citycode == citycode]
    scored = []
    for c in candidates:
        city_hit = _fold(c.city) in folded or _fold(c.city.split(" ")[0]) in folded
        scored.append((0.5 + 0.45 * city_hit, c))
    scored.sort(key=lambda sc: -sc[0])
    street_part = _POSTCODE.split(q)[0].strip() if pc else q
    street = _STREET.match(street_part)
    results = []
    for score, c in scored[:5]:
        if street is None:
            break  # only a municipality could be matched: the CSV endpoint reports that as not-found
        housenumber, street_name = (
            street.group(1),
            " ".join(w.capitalize() if i == 0 else w for i, w in enumerate(street.group(2).split())),
        )
        dlat, dlon = _jitter(f"{c.citycode}|{housenumber}|{_fold(street_name)}")
        lat, lon = round(c.latitude + dlat, 6), round(c.longitude + dlon, 6)
        x, y = lambert93(lat, lon)
        street_key = hashlib.sha1(_fold(street_name).encode()).hexdigest()[:4]
        results.append(
            {
                "coordinates": [lon, lat],
                "label": f"{housenumber} {street_name} {c.postcode} {c.city}",
                "score": round(score + (0.04 if score > 0.9 else 0), 4),
                "housenumber": housenumber,
                "id": f"{c.citycode}_{street_key}_{int(housenumber):05d}",
                "banId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ban:{c.citycode}:{street_key}:{housenumber}")),
                "name": f"{housenumber} {street_name}",
                "postcode": c.postcode,
                "citycode": c.citycode,
                "x": x,
                "y": y,
                "city": c.city,
                "context": department_context().get(c.department_code, c.department_code),
                "type": "housenumber",
                "importance": round(min(1.0, 0.4 + c.population / 2_000_000), 5),
                "street": street_name,
                "_type": "address",
            }
        )
    return results


class ApiAdresseSandbox(VendorSandbox):
    name = "api_adresse"
    rate_limit = (50, 1.0)

    def __init__(self, world, api_key, seed=0, files_dir=None):
        super().__init__(world, api_key, seed, files_dir)
        self.stats.update(csv_without_delimiter=0, csv_with_postcode_filter=0, row_errors=0)

    def routes(self):
        return [
            ("GET", r"/search/?", self.search),
            ("GET", r"/reverse/?", self.reverse),
            ("POST", r"/search/csv/?", self.search_csv),
        ]

    def too_many_requests(self, retry_after: float) -> Response:
        return Response.json(
            {"code": 429, "message": "Too many requests"}, 429, {"Retry-After": str(max(1, round(retry_after)))}
        )

    def _error(self, message: str) -> Response:
        return Response.json({"code": 400, "message": message}, 400)

    def search(self, req: Request) -> Response:
        q = (req.arg("q") or "").strip()
        if len(q) < 3:
            return self._error("q must contain between 3 and 200 chars and start with a number or a letter")
        limit = int(req.arg("limit", "5"))
        found = geocode(q, req.arg("postcode"), req.arg("citycode"))[:limit]
        features = [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": f.pop("coordinates")}, "properties": f}
            for f in found
        ]
        return Response.json({"type": "FeatureCollection", "features": features, "query": q})

    def reverse(self, req: Request) -> Response:
        try:
            lon, lat = float(req.arg("lon")), float(req.arg("lat"))
        except (TypeError, ValueError):
            return self._error("lon and lat must be floats")
        nearest = min(communes(), key=lambda c: (c.latitude - lat) ** 2 + (c.longitude - lon) ** 2)
        x, y = lambert93(nearest.latitude, nearest.longitude)
        distance = round(((nearest.latitude - lat) ** 2 + (nearest.longitude - lon) ** 2) ** 0.5 * 111_000)
        props = {
            "label": f"{nearest.city} {nearest.postcode}",
            "score": 0.99,
            "id": nearest.citycode,
            "name": nearest.city,
            "postcode": nearest.postcode,
            "citycode": nearest.citycode,
            "x": x,
            "y": y,
            "city": nearest.city,
            "context": department_context().get(nearest.department_code, ""),
            "type": "municipality",
            "importance": 0.5,
            "distance": distance,
        }
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [nearest.longitude, nearest.latitude]},
            "properties": props,
        }
        return Response.json({"type": "FeatureCollection", "features": [feature]})

    def search_csv(self, req: Request) -> Response:
        form = req.form()
        if not form.get("data"):
            return self._error("A CSV file must be provided in data field")
        try:
            text = form["data"][0].decode("utf-8-sig")
        except UnicodeDecodeError:
            return self._error("CSV file must be UTF-8 encoded")
        if form.get("delimiter"):
            delimiter = form["delimiter"][0]
            delimiter = delimiter.decode() if isinstance(delimiter, bytes) else delimiter
        else:
            self._count("csv_without_delimiter")
            try:
                delimiter = csv.Sniffer().sniff(text[:4096]).delimiter
            except csv.Error:
                return self._error("Unable to detect the CSV delimiter; set the delimiter parameter")
        if form.get("postcode"):
            self._count("csv_with_postcode_filter")
        reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
        header = reader.fieldnames or []
        columns = form.get("columns") or header
        missing = [c for c in columns + form.get("postcode", []) + form.get("citycode", []) if c not in header]
        if missing:
            return self._error(f"column(s) not found in CSV header: {', '.join(missing)}")
        extra = ["result_depcode"] if self.faults.schema_drift else []
        out = io.StringIO()
        writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header + RESULT_COLUMNS + extra)
        for row in reader:
            q = " ".join((row.get(c) or "").strip() for c in columns).strip()
            pc = row.get(form["postcode"][0]) if form.get("postcode") else None
            cc = row.get(form["citycode"][0]) if form.get("citycode") else None
            best = geocode(q, pc, cc) if q else []
            values = [row.get(c, "") for c in header]
            if q and self.faults.rate_row_error and self.rng.random() < self.faults.rate_row_error:
                self._count("row_errors")
                writer.writerow(values + [""] * (len(RESULT_COLUMNS) - 1) + ["error"] + [""] * len(extra))
            elif not q:
                writer.writerow(values + [""] * (len(RESULT_COLUMNS) - 1) + ["skipped"] + [""] * len(extra))
            elif not best:
                writer.writerow(values + [""] * (len(RESULT_COLUMNS) - 1) + ["not-found"] + [""] * len(extra))
            else:
                b = best[0]
                lon, lat = b["coordinates"]
                score_next = best[1]["score"] if len(best) > 1 else ""
                writer.writerow(
                    values
                    + [
                        lon,
                        lat,
                        b["score"],
                        score_next,
                        b["label"],
                        b["type"],
                        b["id"],
                        b["banId"],
                        b["housenumber"],
                        b["name"],
                        b["street"],
                        b["postcode"],
                        b["city"],
                        b["context"],
                        b["citycode"],
                        "",
                        "",
                        "",
                        "ok",
                    ]
                    + [b["context"].split(",")[0]] * len(extra)
                )
        return Response.text(out.getvalue(), content_type="text/csv")
