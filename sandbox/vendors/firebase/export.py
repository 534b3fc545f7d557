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
import random
import zlib
from array import array
from collections.abc import Iterator
from datetime import date, datetime
from itertools import groupby
from pathlib import Path

import numpy as np
import orjson

from sandbox.world.events import NAMES, ORIGINS
from sandbox.world.generator import World
from sandbox.world.table import _EPOCH, _MICRO

STREAM_IDS = {"ANDROID": "2173046281", "IOS": "2173038810", "WEB": "2941551407"}
APP_IDS = {"ANDROID": "app.passculture.webapp", "IOS": "app.passculture", "WEB": "passculture.app"}
INSTALL_SOURCES = {"ANDROID": "com.android.vending", "IOS": "iTunes", "WEB": None}
# where the event was triggered from (the world's `origin`) -> the screen Firebase records
SCREENS = {"home": "Home", "search": "SearchResults", "venue": "Venue", "offer": "Offer"}
SESSION_SECONDS = 30 * 60  # GA4's default session timeout: events of a user within it share a ga_session_id
_CHUNK = 65_536  # events read from the columns at a time


def file_name(day: date) -> str:
    return f"events_{day:%Y%m%d}.jsonl.gz"


def platform_of(user_id: int) -> str:
    bucket = zlib.crc32(f"platform-{user_id}".encode()) % 100
    return "ANDROID" if bucket < 62 else "IOS" if bucket < 92 else "WEB"


def pseudo_id(user_id: int) -> str:
    """The app instance id (one device per user here): 32 hex characters, like Firebase's."""
    return hashlib.md5(f"instance-{user_id}".encode()).hexdigest()


def _param(key: str, value) -> dict:
    typed = {"string_value": None, "int_value": None, "float_value": None, "double_value": None}
    slot = "string_value" if isinstance(value, str) else "int_value" if isinstance(value, int) else "double_value"
    typed[slot] = value
    return {"key": key, "value": typed}


def _app_version(at: datetime) -> str:
    # one minor release a fortnight since 2023, like the app's 1.2xx.y
    return f"1.{200 + (at - datetime(2023, 1, 1)).days // 14}.{at.day % 3}"


def _booking_amounts(world: World) -> dict[int, float]:
    """The amount of each booking confirmation, by its position among the world's events: the booking made
    by that user, of that offer, at that instant (the last such booking if several). Matched on sorted
    columns, not through a dict of every booking (1.8 million tuples at scale 200)."""
    bookings = world.bookings
    b_user, b_offer, b_amount = (bookings.numbers(k) for k in ("userId", "offerId", "amount"))
    b_at = bookings.times("dateCreated").astype(np.int64)
    order = np.lexsort((b_offer, b_user, b_at))  # by time, then user, then offer; equal keys in row order
    b_user, b_offer, b_at, b_amount = b_user[order], b_offer[order], b_at[order], b_amount[order]
    user, offer, name, at, _ = world.events.arrays()
    confirmed = np.flatnonzero(name == NAMES.index("BookingConfirmation"))
    lo = np.searchsorted(b_at, at[confirmed], side="left")
    hi = np.searchsorted(b_at, at[confirmed], side="right")
    amounts: dict[int, float] = {}
    for event, first, last in zip(confirmed.tolist(), lo.tolist(), hi.tolist(), strict=True):
        u, o = int(user[event]), int(offer[event])
        for i in range(last - 1, first - 1, -1):  # the bookings at that instant, the last one first
            if b_user[i] == u and b_offer[i] == o:
                amounts[event] = float(b_amount[i])
                break
    return amounts


def ga4_events(world: World) -> Iterator[dict]:
    """Every world event as a GA4 export row, in timestamp order. The per-user state (event sequence,
    session, device) is held in arrays indexed by user id, not in dicts of every user (a million at
    scale 200): at scale 50 the export's own-memory peak above its start went from 260 to 110 MiB."""
    amounts = _booking_amounts(world)
    users, offers, names, ats, origins = world.events.arrays()
    size = int(users.max()) + 1 if len(users) else 0
    sequence = array("q", bytes(8 * size))
    last_at, session_id = array("q", [-(2**63)] * size), array("q", bytes(8 * size))
    platform_code, pseudo = array("b", [-1] * size), bytearray(32 * size)  # -1: the user's device not yet made
    platforms = tuple(STREAM_IDS)
    for start in range(0, len(users), _CHUNK):
        stop = start + _CHUNK
        chunk = zip(
            users[start:stop].tolist(),
            offers[start:stop].tolist(),
            names[start:stop].tolist(),
            ats[start:stop].tolist(),
            origins[start:stop].tolist(),
            strict=True,
        )
        for i, (user, offer_id, name_code, micros, origin_code) in enumerate(chunk, start):
            at = _EPOCH + micros * _MICRO
            if micros - last_at[user] > SESSION_SECONDS * 1_000_000:
                session_id[user] = micros // 1_000_000
            last_at[user] = micros
            sequence[user] += 1
            if platform_code[user] < 0:
                platform_code[user] = platforms.index(platform_of(user))
                pseudo[32 * user : 32 * user + 32] = pseudo_id(user).encode()
            platform, origin = platforms[platform_code[user]], ORIGINS[origin_code]
            params = [
                _param("offerId", offer_id),
                _param("origin", origin),
                _param("firebase_screen", SCREENS.get(origin, origin)),
                _param("ga_session_id", session_id[user]),
            ]
            if (amount := amounts.get(i)) is not None:
                params.append(_param("price", amount))
            yield {
                "event_date": f"{at:%Y%m%d}",
                "event_timestamp": micros,
                "event_name": NAMES[name_code],
                "event_params": params,
                "event_bundle_sequence_id": sequence[user],
                "user_id": str(user),
                "user_pseudo_id": pseudo[32 * user : 32 * user + 32].decode(),
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


def _source(world: World, rng: random.Random) -> str:
    """A digest of what the export is made from: the events' columns and the bookings' user, offer, time
    and amount (what `_booking_amounts` reads), as numbers, whatever the tables' layout. A slice of the
    world (`World.slice`), so it is kept with it: a restart reads it back instead of hashing again."""
    bookings = world.bookings
    digest = hashlib.blake2b(digest_size=16)
    for column in (
        *world.events.arrays(),
        *(bookings.numbers(k) for k in ("userId", "offerId", "amount")),
        bookings.times("dateCreated"),
    ):
        digest.update(str(column.dtype).encode())
        digest.update(np.ascontiguousarray(column).view(np.uint8))
    return digest.hexdigest()


def ensure_export(world: World, root: Path) -> bool:
    """The whole export, written only when the folder does not already hold this world's (True when written).

    The files depend only on the world's events and bookings and on this code, and writing them is most of
    a sandbox start at large scales (13 minutes at scale 200): a restart on the same world keeps them, and
    so does a new start whose generator changed without changing them. The stamp is written last, so a
    start killed half-way writes everything again next time.
    """
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    key = f"seed={world.seed} scale={world.scale} source={world.slice('firebase_export', _source)} code={code}"
    stamp = root / ".world"
    if stamp.exists() and stamp.read_text() == key:
        return False
    stamp.unlink(missing_ok=True)
    for stale in root.glob("events_*"):  # another world's days
        stale.unlink()
    write_export(world, root)
    stamp.write_text(key)
    return True
