"""The app database as it stood at one instant of the world's history.

Column names follow the pass Culture backend (camelCase, quoted in PostgreSQL).
Every table carries `dateUpdated`, the last change at or before `as_of`: the
cursor of the incremental load. Rows whose creation is after `as_of` do not
exist yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .generator import World


def _latest(*stamps: datetime | None, as_of: datetime) -> datetime:
    return max(s for s in stamps if s is not None and s <= as_of)


def _seen(stamp: datetime | None, as_of: datetime) -> datetime | None:
    return stamp if stamp is not None and stamp <= as_of else None


def snapshot(world: World, as_of: datetime) -> dict[str, list[dict]]:
    return {table: list(rows) for table, rows in snapshot_rows(world, as_of).items()}


def snapshot_rows(world: World, as_of: datetime) -> dict[str, Iterator[dict]]:
    """The snapshot's tables as lazy row iterators, in load order: one table's rows are made while it is
    written (the app database loader streams them into COPY), never the whole snapshot at once."""
    tables = {
        "user": _users(world, as_of),
        "deposit": (d | {"dateUpdated": d["dateCreated"]} for d in world.deposits if d["dateCreated"] <= as_of),
        "offerer": (
            {k: v for k, v in o.items() if not k.startswith("_")} | {"dateUpdated": o["dateCreated"]}
            for o in world.offerers
            if o["dateCreated"] <= as_of
        ),
        "venue": (
            {k: v for k, v in v.items() if not k.startswith("_")} | {"dateUpdated": v["dateCreated"]}
            for v in world.venues
            if v["dateCreated"] <= as_of
        ),
        "offer": _offers(world, as_of),
        "stock": _stocks(world, as_of),
        "booking": (_booking(b, as_of) for b in world.bookings if b["dateCreated"] <= as_of),
    }
    for table, deleted in world.hard_deletes.items():
        tables[table] = _kept(tables[table], deleted, as_of)
    return tables


def _kept(rows: Iterator[dict], deleted: dict[int, datetime], as_of: datetime) -> Iterator[dict]:
    return (r for r in rows if not (r["id"] in deleted and deleted[r["id"]] <= as_of))


def _users(world: World, as_of: datetime) -> Iterator[dict]:
    deposit_types: dict[int, set[str]] = {}
    deposit_dates: dict[int, list[datetime]] = {}
    for d in world.deposits:
        if d["dateCreated"] <= as_of:
            deposit_types.setdefault(d["userId"], set()).add(d["type"])
            deposit_dates.setdefault(d["userId"], []).append(d["dateCreated"])

    for u in world.users:
        if u.created_at > as_of:
            continue
        move = u.move_at(as_of)
        types = deposit_types.get(u.id, set())
        role = "BENEFICIARY" if "GRANT_18" in types else "UNDERAGE_BENEFICIARY" if types else "USER"
        yield {
            "id": u.id,
            "email": u.email,
            "firstName": u.first_name,
            "lastName": u.last_name,
            "phoneNumber": u.phone,
            "dateOfBirth": u.birth_date,
            "civility": u.civility,
            "activity": u.activity,
            "address": move.address,
            "postalCode": move.commune.postcode,
            "city": move.commune.city,
            "departementCode": move.commune.department_code,
            "roles": role,
            "isActive": True,
            "dateCreated": u.created_at,
            "dateUpdated": _latest(u.created_at, move.at, *deposit_dates.get(u.id, []), as_of=as_of),
        }


def _offers(world: World, as_of: datetime) -> Iterator[dict]:
    for o in world.offers:
        if o["dateCreated"] > as_of:
            continue
        decided = o["_validated_at"] <= as_of
        validation = o["_final_validation"] if decided else "PENDING"
        yield {
            "id": o["id"],
            "venueId": o["venueId"],
            "subcategoryId": o["subcategoryId"],
            "name": o["name"],
            "description": o["description"],
            "isDuo": o["isDuo"],
            "extraData": o["extraData"],
            "validation": validation,
            "isActive": validation == "VALIDATED",
            "lastValidationType": o["_validation_type"] if decided else None,
            "lastValidationDate": o["_validated_at"] if decided else None,
            "dateCreated": o["dateCreated"],
            "dateUpdated": _latest(o["dateCreated"], _seen(o["_validated_at"], as_of), as_of=as_of),
        }


def _booking(b: dict, as_of: datetime) -> dict:
    used, cancelled = _seen(b["_used_at"], as_of), _seen(b["_cancelled_at"], as_of)
    status = "CANCELLED" if cancelled else "USED" if used else "CONFIRMED"
    return {
        "id": b["id"],
        "userId": b["userId"],
        "depositId": b["depositId"],
        "stockId": b["stockId"],
        "venueId": b["venueId"],
        "offererId": b["offererId"],
        "quantity": b["quantity"],
        "amount": b["amount"],
        "token": b["token"],
        "status": status,
        "dateCreated": b["dateCreated"],
        "dateUsed": used,
        "cancellationDate": cancelled,
        "cancellationReason": b["cancellationReason"] if cancelled else None,
        "dateUpdated": _latest(b["dateCreated"], used, cancelled, as_of=as_of),
    }


def _stocks(world: World, as_of: datetime) -> Iterator[dict]:
    # a stock's booked quantity and last touch come from its bookings: one pass over them first
    booked: dict[int, int] = {}
    stock_touched: dict[int, datetime] = {}
    for b in world.bookings:
        if b["dateCreated"] > as_of:
            continue
        booking = _booking(b, as_of)
        updated = booking["dateUpdated"]
        if booking["status"] != "CANCELLED":
            booked[b["stockId"]] = booked.get(b["stockId"], 0) + b["quantity"]
        stock_touched[b["stockId"]] = max(stock_touched.get(b["stockId"], updated), updated)

    for s in world.stocks:
        if s["dateCreated"] > as_of:
            continue
        yield {
            **s,
            "dnBookedQuantity": booked.get(s["id"], 0),
            # the backend bumps a stock when its booked quantity changes
            "dateUpdated": _latest(s["dateCreated"], stock_touched.get(s["id"]), as_of=as_of),
        }
