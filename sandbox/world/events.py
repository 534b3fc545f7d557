"""The world's app events, held as columns.

Events are six in ten of the world's objects (about 54,000 per scale unit): as one dict each they took
most of its memory. Here an event is five numbers (18 bytes); reading gives the same dicts as
before, made on the fly: `{"id", "userId", "offerId", "eventName", "eventTimestamp", "origin"}`, in
time order, `id` numbering that order from 1.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from datetime import datetime

import numpy as np

from .table import _EPOCH, _MICRO, RowsAsDicts, spill

NAMES = ("ConsultOffer", "BookingConfirmation", "HasAddedOfferToFavorites")
ORIGINS = ("home", "search", "venue", "offer")
_CHUNK = 65_536  # events turned back into Python values at a time when iterating


def _narrow(ids: np.ndarray) -> np.ndarray:
    """Ids as 32-bit numbers where they fit (user and offer ids do at any scale): 8 bytes less an event."""
    if not len(ids) or (ids.min() >= -(2**31) and ids.max() < 2**31):
        return ids.astype(np.int32)
    return ids


class EventLog(RowsAsDicts):
    """Append while generating (`add`), then `sort_by_time()` once; read-only afterwards."""

    _chunk = _CHUNK

    def __init__(self) -> None:
        self._user, self._offer, self._at = array("q"), array("q"), array("q")
        self._name, self._origin = array("b"), array("b")
        self._columns: tuple[np.ndarray, ...] | None = None

    def add(self, user_id: int, offer_id: int, name: str, at: datetime, origin: str) -> None:
        self._user.append(user_id)
        self._offer.append(offer_id)
        self._name.append(NAMES.index(name))
        self._at.append((at - _EPOCH) // _MICRO)
        self._origin.append(ORIGINS.index(origin))

    def sort_by_time(self) -> EventLog:
        """Time order, ties in the order added (a stable sort, as `list.sort` was). Each column is made,
        spilled (where the world is built `spilled_to` a folder) and its unsorted array let go in turn."""
        order = np.argsort(np.frombuffer(self._at, dtype=np.int64), kind="stable")
        user = spill(_narrow(np.frombuffer(self._user, dtype=np.int64)[order]))
        offer = spill(_narrow(np.frombuffer(self._offer, dtype=np.int64)[order]))
        self._user = self._offer = array("q")
        name = spill(np.frombuffer(self._name, dtype=np.int8)[order])
        origin = spill(np.frombuffer(self._origin, dtype=np.int8)[order])
        self._name = self._origin = array("b")
        at = spill(np.frombuffer(self._at, dtype=np.int64)[order])
        self._at = array("q")
        self._columns = (user, offer, name, at, origin)
        return self

    def _sorted(self) -> tuple[np.ndarray, ...]:
        if self._columns is None:
            raise RuntimeError("EventLog read before sort_by_time()")
        return self._columns

    def __len__(self) -> int:
        return len(self._sorted()[0])

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The columns in time order, not to be written to: user ids, offer ids, `NAMES` codes, times in
        microseconds since 1970, `ORIGINS` codes. For a reader of every event that needs no dict per event."""
        return self._sorted()

    def _rows(self, start: int, stop: int) -> Iterator[dict]:
        users, offers, names, ats, origins = (c[start:stop].tolist() for c in self._sorted())
        for i, (user, offer, name, at, origin) in enumerate(zip(users, offers, names, ats, origins, strict=True)):
            yield {
                "id": start + i + 1,
                "userId": user,
                "offerId": offer,
                "eventName": NAMES[name],
                "eventTimestamp": _EPOCH + at * _MICRO,
                "origin": ORIGINS[origin],
            }
