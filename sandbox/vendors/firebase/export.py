"""The world's app events as Firebase Analytics writes them: the GA4 export schema, one file per day.

In production Firebase exports to BigQuery daily tables `analytics_<property_id>.events_YYYYMMDD`; here
each day is a newline-delimited JSON file `events_YYYYMMDD.jsonl.gz` in a folder standing for the
export bucket (what `bq extract --destination_format NEWLINE_DELIMITED_JSON` of those tables gives).
Field names and shapes are GA4's: `event_date` 'YYYYMMDD', `event_timestamp` in microseconds,
`event_params` a list of `{key, value: {string_value, int_value, float_value, double_value}}`
(one of the four set), `user_id` the app's user id as text, `user_pseudo_id` the app instance,
`platform`, `geo`, `device`, `app_info`, `event_bundle_sequence_id`, nested records kept nested.

Everything below is derived from the world's events and the user's id (no random draw), so the
files are the same on every start for a given world.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from itertools import groupby
from pathlib import Path

import orjson

from sandbox.world.generator import World

STREAM_IDS = {"ANDROID": "2173046281", "IOS": "2173038810", "WEB": "2941551407"}
APP_IDS = {"ANDROID": "app.passculture.webapp", "IOS": "app.passculture", "WEB": "passculture.app"}
INSTALL_SOURCES = {"ANDROID": "com.android.vending", "IOS": "iTunes", "WEB": None}
# where the event was triggered from (the world's `origin`) -> the screen Firebase records
SCREENS = {"home": "Home", "search": "SearchResults", "venue": "Venue", "offer": "Offer"}
SESSION_SECONDS = 30 * 60  # GA4's default session timeout: events of a user within it share a ga_session_id


def file_name(day: date) -> str:
    return f"events_{day:%Y%m%d}.jsonl.gz"


def platform_of(user_id: int) -> str:
    bucket = zlib.crc32(f"platform-{user_id}".encode()) % 100
    return "ANDROID" if bucket < 62 else "IOS" if bucket < 92 else "WEB"


def pseudo_id(user_id: int) -> str:
    """The app instance id (one device per user here): 32 hex characters, like Firebase's."""
    return hashlib.md5(f"instance-{user_id}".encode()).hexdigest()


def _micros(at: datetime) -> int:
    return int(at.replace(tzinfo=UTC).timestamp()) * 1_000_000 + at.microsecond


def _param(key: str, value) -> dict:
    typed = {"string_value": None, "int_value": None, "float_value": None, "double_value": None}
    slot = "string_value" if isinstance(value, str) else "int_value" if isinstance(value, int) else "double_value"
    typed[slot] = value
    return {"key": key, "value": typed}


def _app_version(at: datetime) -> str:
    # one minor release a fortnight since 2023, like the app's 1.2xx.y
    return f"1.{200 + (at - datetime(2023, 1, 1)).days // 14}.{at.day % 3}"


def ga4_events(world: World) -> Iterator[dict]:
    """Every world event as a GA4 export row, in timestamp order."""
    amounts = {(b["userId"], b["offerId"], b["dateCreated"]): float(b["amount"]) for b in world.bookings}
    sequence: dict[int, int] = {}
    sessions: dict[int, tuple[datetime, int]] = {}  # user -> (last event, session id)
    devices: dict[int, tuple[str, str]] = {}  # user -> (platform, pseudo id): hashed once per user, for this export
    for e in world.events:
        at, user = e["eventTimestamp"], e["userId"]
        last = sessions.get(user)
        if last is None or (at - last[0]).total_seconds() > SESSION_SECONDS:
            last = (at, int(at.replace(tzinfo=UTC).timestamp()))
        sessions[user] = (at, last[1])
        sequence[user] = sequence.get(user, 0) + 1
        if user not in devices:
            devices[user] = (platform_of(user), pseudo_id(user))
        platform, pseudo = devices[user]
        params = [
            _param("offerId", e["offerId"]),
            _param("origin", e["origin"]),
            _param("firebase_screen", SCREENS.get(e["origin"], e["origin"])),
            _param("ga_session_id", last[1]),
        ]
        amount = amounts.get((user, e["offerId"], at)) if e["eventName"] == "BookingConfirmation" else None
        if amount is not None:
            params.append(_param("price", amount))
        yield {
            "event_date": f"{at:%Y%m%d}",
            "event_timestamp": _micros(at),
            "event_name": e["eventName"],
            "event_params": params,
            "event_bundle_sequence_id": sequence[user],
            "user_id": str(user),
            "user_pseudo_id": pseudo,
            "platform": platform,
            "stream_id": STREAM_IDS[platform],
            "geo": {"continent": "Europe", "sub_continent": "Western Europe", "country": "France"},
            "device": {"category": "mobile" if platform != "WEB" else "desktop", "operating_system": platform},
            "app_info": {
                "id": APP_IDS[platform],
                "version": _app_version(at),
                "install_source": INSTALL_SOURCES[platform],
                "firebase_app_id": f"1:{STREAM_IDS[platform]}:{platform.lower()}:passculture",
            },
        }


def _day(row: dict) -> date:
    return date(int(row["event_date"][:4]), int(row["event_date"][4:6]), int(row["event_date"][6:]))


def days(world: World) -> Iterator[tuple[date, list[dict]]]:
    """The export one day at a time, in order (the world's events are sorted by time): one day in memory."""
    previous = None
    for day, rows in groupby(ga4_events(world), key=_day):
        if previous is not None and day <= previous:
            raise ValueError(f"the world's events are not in time order: {day} after {previous}")
        previous = day
        yield day, list(rows)


def by_day(world: World) -> dict[date, list[dict]]:
    return dict(days(world))


def write_day(root: Path, day: date, rows: list[dict]) -> Path:
    """One day's export file, written whole then renamed (a reader never sees half a file)."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / file_name(day)
    tmp = path.with_name(f".{path.name}.tmp")
    payload = b"".join(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE) for row in rows)
    # level 1: the files are rewritten at every sandbox start, where level 5 cost a third of the time
    tmp.write_bytes(gzip.compress(payload, compresslevel=1, mtime=0))
    tmp.replace(path)
    return path


def write_export(world: World, root: Path, until: date | None = None) -> list[Path]:
    """The export folder as it stands after Firebase's last daily export (days before `until`, if given)."""
    return [write_day(root, day, rows) for day, rows in days(world) if until is None or day < until]


def ensure_export(world: World, root: Path) -> bool:
    """The whole export, written only when the folder does not already hold this world's (True when written).

    The files depend only on the world and this code, and writing them is most of a sandbox start at
    large scales: a restart on the same world (a demo rerun) keeps them. The stamp is written last, so
    a start killed half-way writes everything again next time.
    """
    from sandbox.world import generator

    code = hashlib.sha256(Path(__file__).read_bytes() + Path(generator.__file__).read_bytes()).hexdigest()[:16]
    key = f"seed={world.seed} scale={world.scale} events={len(world.events)} code={code}"
    stamp = root / ".world"
    if stamp.exists() and stamp.read_text() == key:
        return False
    stamp.unlink(missing_ok=True)
    for stale in root.glob("events_*"):  # another world's days
        stale.unlink()
    write_export(world, root)
    stamp.write_text(key)
    return True
