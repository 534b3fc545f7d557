"""Ground truth of the recommendation marts (marts_ml.mrt_ml__recommendation_*), from the world's own objects.

Definitions the marts must follow, restated here:
- interactions: every consultation ('click') and favourite of the app's tracking events, and every
  booking of the booking ledger (cancelled ones included and flagged), as of the world's end;
- a user's booking_count counts their bookings not cancelled by the end; clicks and favourites
  count their events;
- every offer of the world has a row in the offer features.
"""

from __future__ import annotations

from collections import Counter

from sandbox.world import World

EVENT_TYPES = {"ConsultOffer": "click", "HasAddedOfferToFavorites": "favorite"}


def _cancelled(booking: dict, world: World) -> bool:
    return booking["_cancelled_at"] is not None and booking["_cancelled_at"] <= world.end


def interactions_by_type(world: World) -> dict[str, int]:
    counts = Counter(EVENT_TYPES[e["eventName"]] for e in world.events if e["eventName"] in EVENT_TYPES)
    counts["booking"] = sum(1 for b in world.bookings if b["dateCreated"] <= world.end)
    return dict(counts)


def cancelled_bookings(world: World) -> int:
    return sum(1 for b in world.bookings if _cancelled(b, world))


def user_activity(world: World) -> dict[int, tuple[int, int, int]]:
    """user id -> (non-cancelled bookings, clicks, favourites), for every user of the world."""
    bookings = Counter(b["userId"] for b in world.bookings if not _cancelled(b, world))
    events = Counter((e["userId"], EVENT_TYPES[e["eventName"]]) for e in world.events if e["eventName"] in EVENT_TYPES)
    return {u.id: (bookings[u.id], events[(u.id, "click")], events[(u.id, "favorite")]) for u in world.users}


def offers(world: World) -> int:
    return len(world.offers)
