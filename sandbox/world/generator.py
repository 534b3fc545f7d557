"""The world generator: one seeded, consistent history of the pass Culture universe.

`build_world(seed, scale)` returns the whole history (users who move, offers that
get reviewed, bookings that get used or cancelled) up to `WORLD_END`.
`World.snapshot(as_of)` then gives the app database as it stood at that instant,
so a test can write the database at T1, ingest, write it at T2, and check that
the incremental load picked up exactly what changed in between.

Scale 1.0 is about 5,000 users (the demo); the shape does not change with scale.
"""

from __future__ import annotations

import bisect
import math
import random
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import accumulate

import numpy as np

from . import catalog
from .events import EventLog
from .geography import Commune, communes
from .identifiers import new_siren, new_siret
from .table import _EPOCH, _MICRO, Table, TableBuilder

WORLD_START = datetime(2023, 1, 1)
WORLD_END = datetime(2026, 11, 1)  # exclusive: the world's "now"

USERS_PER_SCALE = 5000
OFFERERS_PER_SCALE = 250


@dataclass(slots=True)
class Move:
    at: datetime
    commune: Commune
    address: str


@dataclass(slots=True)
class User:
    id: int
    created_at: datetime
    birth_date: date
    first_name: str
    last_name: str
    email: str
    phone: str
    activity: str
    civility: str
    moves: list[Move]  # moves[0] is the address given at sign-up
    favourite_categories: tuple[str, ...]

    def move_at(self, t: datetime) -> Move:
        current = self.moves[0]
        for m in self.moves[1:]:
            if m.at <= t:
                current = m
        return current

    def age_on(self, d: date) -> int:
        return d.year - self.birth_date.year - ((d.month, d.day) < (self.birth_date.month, self.birth_date.day))


class Users(Sequence[User]):
    """The world's users held as columns (a `Table`), each read back as a fresh `User` with its moves.

    A user is ids and times plus strings drawn from short lists: as objects they were the largest part
    of the core world left after the tables went to columns. The id is the position plus one, the email
    is made from the names and the id, the phone from its eight drawn digits, as the generator made them.
    """

    def __init__(self, rows: Table) -> None:
        self._rows = rows

    @staticmethod
    def row(user: User) -> dict:
        second = user.moves[1] if len(user.moves) > 1 else None
        return {
            "created_at": user.created_at,
            "birth_date": user.birth_date,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "phone": int(user.phone.removeprefix("+336")),
            "activity": user.activity,
            "civility": user.civility,
            "commune": user.moves[0].commune,
            "address": user.moves[0].address,
            "moved_at": None if second is None else second.at,
            "moved_to": None if second is None else second.commune,
            "moved_address": None if second is None else second.address,
            "favourite_categories": user.favourite_categories,
        }

    @staticmethod
    def _user(uid: int, r: dict) -> User:
        moves = [Move(r["created_at"], r["commune"], r["address"])]
        if r["moved_at"] is not None:
            moves.append(Move(r["moved_at"], r["moved_to"], r["moved_address"]))
        first, last = r["first_name"], r["last_name"]
        return User(
            id=uid,
            created_at=r["created_at"],
            birth_date=r["birth_date"],
            first_name=first,
            last_name=last,
            email=_email(first, last, uid),
            phone=f"+336{r['phone']}",
            activity=r["activity"],
            civility=r["civility"],
            moves=moves,
            favourite_categories=r["favourite_categories"],
        )

    def __len__(self) -> int:
        return len(self._rows)

    def column(self, key: str) -> list:
        """Every user's value of a key of `row` (user id i at position i - 1), without a User each."""
        return self._rows.column(key)

    def __iter__(self) -> Iterator[User]:
        for i, r in enumerate(self._rows):
            yield self._user(i + 1, r)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            start, _, step = index.indices(len(self))
            return [self._user(start + i * step + 1, r) for i, r in enumerate(self._rows[index])]
        if index < 0:
            index += len(self)
        return self._user(index + 1, self._rows[index])


def _email(first: str, last: str, uid: int) -> str:
    return f"{first.lower()}.{last.lower()}.{uid}@example.org".replace(" ", "")


@dataclass
class World:
    seed: int
    scale: float
    users: Sequence[User]  # Users: columns, a User on read
    deposits: Sequence[dict]  # the large tables are Tables: dicts on read, held as columns
    offerers: list[dict]
    venues: list[dict]
    offers: Sequence[dict]
    stocks: Sequence[dict]
    bookings: Sequence[dict]
    events: EventLog  # dicts in time order, held as columns
    end: datetime = WORLD_END
    _slices: dict = field(default_factory=dict, repr=False)
    # rows the app hard-deleted: table -> {id: when}; gone from every snapshot taken after that instant
    hard_deletes: dict[str, dict[int, datetime]] = field(default_factory=dict)

    def user(self, user_id: int) -> User:
        """One user by id, made from the columns (cheaper than a dict of every user)."""
        return self.users[user_id - 1]

    def with_hard_deletes(self, table: str, ids, at: datetime | None = None) -> World:
        """This world where the app deleted rows of `table` at `at` (default: the world's end); self unchanged."""
        deletes = {t: dict(rows) for t, rows in self.hard_deletes.items()}
        deletes.setdefault(table, {}).update(dict.fromkeys(ids, at or self.end))
        return replace(self, hard_deletes=deletes)

    def snapshot(self, as_of: datetime | None = None) -> dict[str, list[dict]]:
        from .snapshot import snapshot

        return snapshot(self, as_of or self.end)

    def snapshot_rows(self, as_of: datetime | None = None) -> dict[str, Iterator[dict]]:
        """The same snapshot as lazy rows per table, for a loader that streams them (bounded memory)."""
        from .snapshot import snapshot_rows

        return snapshot_rows(self, as_of or self.end)

    def slice(self, name: str, build: Callable[[World, random.Random], object]):
        """A vendor's part of the world (tickets, campaigns...), built once and cached.

        Each slice draws from its own generator seeded by (seed, name), so adding
        a slice never changes the core world or another slice.
        """
        if name not in self._slices:
            self._slices[name] = build(self, random.Random(f"{self.seed}:{name}"))
        return self._slices[name]


def _weighted_picker(rng: random.Random, items, weights):
    cum = list(accumulate(weights))
    total = cum[-1]

    def pick():
        return items[bisect.bisect_right(cum, rng.random() * total)]

    return pick


def _between(rng: random.Random, a: datetime, b: datetime) -> datetime:
    if b <= a:
        return a
    return a + timedelta(seconds=rng.randint(0, int((b - a).total_seconds())))


def _street_address(rng: random.Random) -> str:
    return f"{rng.randint(1, 180)} {rng.choice(catalog.STREET_TYPES)} {rng.choice(catalog.STREET_NAMES)}"


def build_world(seed: int = 42, scale: float = 1.0) -> World:
    rng = random.Random(seed)
    all_communes = communes()
    pick_commune = _weighted_picker(rng, all_communes, [c.population for c in all_communes])

    users = _users(rng, scale, pick_commune)
    # the large tables are built straight into columns (TableBuilder): no list of dicts, a small peak
    deposits = _deposits(rng, users)
    offerers, venues = _offerers_and_venues(rng, scale, pick_commune)
    offers, stocks = _offers_and_stocks(rng, venues)
    bookings = _bookings(rng, users, deposits, venues, offers, stocks)
    events = _events(rng, users, offers, bookings)
    return World(seed, scale, users, deposits, offerers, venues, offers, stocks, bookings, events)


def _users(rng: random.Random, scale: float, pick_commune) -> Users:
    n = max(50, round(USERS_PER_SCALE * scale))
    span = (WORLD_END - WORLD_START).total_seconds()
    ages = [15, 16, 17, 18, 19, 20]
    pick_age = _weighted_picker(rng, ages, [10, 10, 14, 52, 9, 5])
    categories = sorted({s.category_id for s in catalog.SUBCATEGORIES})
    users = TableBuilder()
    for uid in range(1, n + 1):
        # sign-ups grow over time: more recent dates are likelier
        created = WORLD_START + timedelta(seconds=int(span * rng.random() ** 0.8))
        age = pick_age()
        birth = created.date() - timedelta(days=round(365.25 * age) + rng.randint(1, 363))
        first, last = rng.choice(catalog.FIRST_NAMES), rng.choice(catalog.LAST_NAMES)
        commune = pick_commune()
        address = rng.choice(catalog.GARBAGE_ADDRESSES) if rng.random() < 0.03 else _street_address(rng)
        moves = [Move(created, commune, address)]
        if rng.random() < 0.10:  # one user in ten moves during the world's history
            moves.append(
                Move(
                    _between(rng, created + timedelta(days=1), WORLD_END - timedelta(hours=1)),
                    pick_commune(),
                    _street_address(rng),
                )
            )
        users.append(
            Users.row(
                User(
                    id=uid,
                    created_at=created,
                    birth_date=birth,
                    first_name=first,
                    last_name=last,
                    email=_email(first, last, uid),
                    phone=f"+336{rng.randint(10_000_000, 99_999_999)}",
                    activity=rng.choice(catalog.ACTIVITIES),
                    civility=rng.choice(("M.", "Mme")),
                    moves=moves,
                    favourite_categories=tuple(rng.sample(categories, 2)),
                )
            )
        )
    return Users(users.build())


def _deposits(rng: random.Random, users: list[User]) -> Table:
    """Credit granted by the State: 20/30/30 EUR at 15/16/17, 300 EUR at 18 (2023 rules)."""
    deposits = TableBuilder()

    def grant(user: User, at: datetime, kind: str, amount: float, expires: datetime) -> None:
        if at < WORLD_END:
            deposits.append(
                {
                    "id": len(deposits) + 1,
                    "userId": user.id,
                    "type": kind,
                    "amount": amount,
                    "source": rng.choice(("educonnect", "ubble", "dms")),
                    "dateCreated": at,
                    "expirationDate": expires,
                }
            )

    for u in users:
        if rng.random() > 0.85:  # never completes identity checks
            continue
        age = u.age_on(u.created_at.date())
        validated = u.created_at + timedelta(hours=rng.randint(1, 24 * 10))
        birthday_18 = datetime.combine(_add_years(u.birth_date, 18), datetime.min.time())
        if age < 18:
            grant(u, validated, "GRANT_15_17", 20.0 if age == 15 else 30.0, birthday_18)
            if rng.random() < 0.7:  # most come back at 18 for the full credit
                at = birthday_18 + timedelta(days=rng.randint(1, 60))
                grant(u, at, "GRANT_18", 300.0, at + timedelta(days=730))
        elif age == 18:
            grant(u, validated, "GRANT_18", 300.0, validated + timedelta(days=730))
    return deposits.build()


def _offerers_and_venues(rng: random.Random, scale: float, pick_commune) -> tuple[list[dict], list[dict]]:
    n = max(15, round(OFFERERS_PER_SCALE * scale))
    types = list(catalog.VENUE_TYPE_WEIGHTS)
    pick_type = _weighted_picker(rng, types, list(catalog.VENUE_TYPE_WEIGHTS.values()))
    sirens: set[str] = set()
    sirets: set[str] = set()
    offerers, venues = [], []
    for oid in range(1, n + 1):
        main_type = pick_type()
        commune = pick_commune()
        prefix = rng.choice(catalog.VENUE_TYPES[main_type][1])
        name = f"{prefix} {rng.choice(catalog.TITLE_WORDS)}"
        created = _between(rng, datetime(2021, 1, 1), WORLD_END - timedelta(days=60))
        siren = new_siren(rng, sirens)
        legal = (
            "9220"
            if main_type in ("PERFORMING_ARTS", "ARTISTIC_COURSE") and rng.random() < 0.6
            else rng.choice(("5710", "5499", "1000"))
        )
        offerers.append(
            {
                "id": oid,
                "siren": siren,
                "name": name,
                "postalCode": commune.postcode,
                "city": commune.city,
                "dateCreated": created,
                "validationStatus": "VALIDATED",
                # facts only the Sirene sandbox exposes
                "_legal_category": legal,
                "_naf": catalog.NAF_BY_VENUE_TYPE[main_type],
                "_non_diffusible": rng.random() < 0.04,
                "_ceased": rng.random() < 0.03,
                "_unit_created": date(rng.randint(1985, 2020), rng.randint(1, 12), rng.randint(1, 28)),
                "_commune": commune,
            }
        )
        for i in range(1 + (rng.random() < 0.35) + (rng.random() < 0.15)):
            vtype = main_type if i == 0 else pick_type()
            vcommune = commune if rng.random() < 0.7 else pick_commune()
            virtual = vtype == "DIGITAL"
            venues.append(
                {
                    "id": len(venues) + 1,
                    "managingOffererId": oid,
                    "siret": None if virtual else new_siret(rng, siren, sirets),
                    "name": f"{rng.choice(catalog.VENUE_TYPES[vtype][1])} {rng.choice(catalog.TITLE_WORDS)}",
                    "venueTypeCode": vtype,
                    "isVirtual": virtual,
                    "postalCode": None if virtual else vcommune.postcode,
                    "city": None if virtual else vcommune.city,
                    "departementCode": None if virtual else vcommune.department_code,
                    "latitude": None if virtual else round(vcommune.latitude + rng.uniform(-0.01, 0.01), 5),
                    "longitude": None if virtual else round(vcommune.longitude + rng.uniform(-0.01, 0.01), 5),
                    "dateCreated": created + timedelta(days=rng.randint(0, 30) * i),
                    "_commune": None if virtual else vcommune,
                }
            )
    return offerers, venues


def _offer_text(rng: random.Random, sub: catalog.Subcategory) -> tuple[str, dict]:
    w1, w2 = rng.sample(catalog.TITLE_WORDS, 2)
    extra: dict = {}
    if sub.category_id == "LIVRE":
        rayon = rng.choice(list(catalog.BOOK_RAYONS))
        extra = {"rayon": rayon, "macro_rayon": catalog.BOOK_RAYONS[rayon], "ean": str(rng.randint(10**12, 10**13 - 1))}
        name = f"{w1} et {w2.lower()}"
    elif sub.category_id in ("MUSIQUE_LIVE", "MUSIQUE_ENREGISTREE"):
        mtype = rng.choice(list(catalog.MUSIC_TYPES))
        extra = {"musicType": mtype, "musicSubType": rng.choice(catalog.MUSIC_TYPES[mtype])}
        name = f"{w1} {w2} - {'Tournée' if sub.is_event else 'Album'}"
    elif sub.category_id == "SPECTACLE":
        stype = rng.choice(list(catalog.SHOW_TYPES))
        extra = {"showType": stype, "showSubType": rng.choice(catalog.SHOW_TYPES[stype])}
        name = f"{w1} de {w2.lower()}"
    else:
        name = f"{w1} {w2}"
    return name, extra


def _offers_and_stocks(rng: random.Random, venues: list[dict]) -> tuple[Table, Table]:
    offers, stocks = TableBuilder(), TableBuilder()
    all_subs = [s.id for s in catalog.SUBCATEGORIES]
    for v in venues:
        for _ in range(1 + int(rng.expovariate(1 / 8))):
            shady = rng.random() < 0.12  # the latent trait compliance reviewers learn to spot
            mismatch = shady and rng.random() < 0.3
            sub_id = rng.choice(all_subs) if mismatch else rng.choice(catalog.VENUE_TYPES[v["venueTypeCode"]][0])
            sub = catalog.SUBCATEGORY_BY_ID[sub_id]
            mismatch = sub_id not in catalog.VENUE_TYPES[v["venueTypeCode"]][0]
            name, extra = _offer_text(rng, sub)
            phrase = shady and rng.random() < 0.6
            caps = shady and rng.random() < 0.4
            inflated = shady and rng.random() < 0.5
            big_stock = shady and rng.random() < 0.4
            if caps:
                name = name.upper() + " !!!"
            description = " ".join(rng.sample(catalog.DESCRIPTION_SENTENCES, rng.randint(1, 2)))
            if phrase:
                description += " " + rng.choice(catalog.SUSPICIOUS_PHRASES).capitalize() + "."
            elif rng.random() < 0.05:
                description = ""
            created = _between(
                rng, max(v["dateCreated"], WORLD_START - timedelta(days=90)), WORLD_END - timedelta(days=2)
            )
            reviewed = rng.random() < (0.8 if shady else 0.3)
            logit = (
                -3.2
                + 2.8 * phrase
                + 1.6 * inflated
                + 1.2 * caps
                + 1.0 * mismatch
                + 0.8 * big_stock
                + 1.2 * shady
                + rng.gauss(0, 0.5)
            )
            rejected = reviewed and rng.random() < 1 / (1 + math.exp(-logit))
            validated_at = created + (
                timedelta(hours=rng.randint(4, 24 * 5)) if reviewed else timedelta(minutes=rng.randint(1, 30))
            )
            offer = {
                "id": len(offers) + 1,
                "venueId": v["id"],
                "subcategoryId": sub_id,
                "name": name,
                "description": description,
                "isDuo": sub.is_event and rng.random() < 0.3,
                "extraData": extra,
                "dateCreated": created,
                "_final_validation": "REJECTED" if rejected else "VALIDATED",
                "_validation_type": "MANUAL" if reviewed else "AUTO",
                "_validated_at": validated_at,
                "_popularity": rng.lognormvariate(0, 1),
            }
            offers.append(offer)
            for _ in range(rng.randint(1, 3) if sub.is_event else 1):
                price = round(rng.uniform(sub.price_low, sub.price_high) * 2) / 2
                if inflated:
                    price = round(sub.typical_price * rng.uniform(3, 6))
                if sub.is_digital:
                    quantity = None
                elif big_stock:
                    quantity = rng.randint(1000, 5000)
                else:
                    quantity = rng.randint(20, 300) if sub.is_event else rng.randint(5, 100)
                stocks.append(
                    {
                        "id": len(stocks) + 1,
                        "offerId": offer["id"],
                        "price": float(price),
                        "quantity": quantity,
                        "beginningDatetime": created + timedelta(days=rng.randint(7, 150), hours=rng.randint(10, 21))
                        if sub.is_event
                        else None,
                        "dateCreated": created,
                    }
                )
    return offers.build(), stocks.build()


def _column(values: np.ndarray, typecode: str) -> array:
    """A numpy column as an `array.array`: 8 bytes a value as in numpy, but read one value at a time as
    fast as a list (a plain int or float; a numpy scalar costs several times more, per booking drawn)."""
    return array(typecode, values.astype({"q": np.int64, "d": np.float64, "b": np.int8}[typecode]).tobytes())


def _bookings(rng, users, deposits, venues, offers, stocks) -> Table:
    venue_by_id = {v["id"]: v for v in venues}
    # what a booking reads of its stock and offer, by row from their columns rather than as a tuple per
    # row (hundreds of bytes each, held through the whole step). An offer's stocks are consecutive rows
    # (appended offer by offer): first_stock[i] to last_stock[i] - 1 are the stock rows of offer row i.
    offer_ids, offer_venues = _column(offers.numbers("id"), "q"), _column(offers.numbers("venueId"), "q")
    duos, popularity = _column(offers.numbers("isDuo"), "b"), _column(offers.numbers("_popularity"), "d")
    stock_ids, prices = _column(stocks.numbers("id"), "q"), _column(stocks.numbers("price"), "d")
    # when each stock's show begins, in microseconds; NaT (the smallest int64) where it is None
    begins, never = _column(stocks.times("beginningDatetime").astype(np.int64), "q"), np.iinfo(np.int64).min
    stock_offers, ids = stocks.numbers("offerId"), offers.numbers("id")
    first_stock = _column(np.searchsorted(stock_offers, ids, side="left"), "q")
    last_stock = _column(np.searchsorted(stock_offers, ids, side="right"), "q")
    # bookable offers (their rows), by category and by (category, department), in validation time order,
    # beside those times in microseconds: bisect searches them as it searched the datetimes
    keyed: dict[tuple, list[int]] = {}
    for row, o in enumerate(offers):
        if o["_final_validation"] != "VALIDATED":
            continue
        cat = catalog.SUBCATEGORY_BY_ID[o["subcategoryId"]].category_id
        dep = venue_by_id[o["venueId"]]["departementCode"]
        for key in ((cat,), (cat, dep), ("*",)):
            keyed.setdefault(key, []).append(row)
    validated_at = offers.times("_validated_at").astype(np.int64)
    pools: dict[tuple, tuple[array, array]] = {}
    for key in list(keyed):
        rows = np.array(keyed.pop(key), dtype=np.int64)
        rows = rows[np.argsort(validated_at[rows], kind="stable")]  # stable: ties in offer order, as before
        pools[key] = (_column(validated_at[rows], "q"), _column(rows, "q"))
    no_pool = (array("q"), array("q"))
    categories = sorted({s.category_id for s in catalog.SUBCATEGORIES})
    # deposits come in user order (see _deposits): walk the users beside them, one User made at a time
    walk = iter(users)
    user = next(walk, None)

    def choose_offer(user: User, at: datetime, at_us: int) -> int | None:
        """An offer's row."""
        cat = rng.choice(user.favourite_categories) if rng.random() < 0.6 else rng.choice(categories)
        dep = user.move_at(at).commune.department_code
        for key in ((cat, dep), (cat,), ("*",)) if rng.random() < 0.6 else ((cat,), ("*",)):
            times, rows = pools.get(key, no_pool)
            k = bisect.bisect_right(times, at_us)
            if k:
                candidates = [rows[rng.randrange(k)] for _ in range(3)]
                return max(candidates, key=popularity.__getitem__)  # popular offers win more often
        return None

    bookings = TableBuilder()
    for d in deposits:
        while user is not None and user.id != d["userId"]:
            user = next(walk, None)
        assert user is not None, "deposits out of user order"
        remaining = d["amount"]
        end = min(d["expirationDate"], WORLD_END - timedelta(hours=1))
        n = _poisson(rng, 5.0 if d["type"] == "GRANT_18" else 1.5)
        for at in sorted(_between(rng, d["dateCreated"], end) for _ in range(n)):
            at_us = (at - _EPOCH) // _MICRO
            row = choose_offer(user, at, at_us)
            if row is None:
                continue
            offer_id, is_duo, venue_id = offer_ids[row], bool(duos[row]), offer_venues[row]
            stock = rng.choice(range(first_stock[row], last_stock[row]))  # the same draw as from a list of them
            stock_id, amount, begins_us = stock_ids[stock], prices[stock], begins[stock]
            starts = None if begins_us == never else _EPOCH + begins_us * _MICRO  # the datetime the row held
            if starts is not None and begins_us <= at_us:
                continue  # the show is over
            quantity = 2 if is_duo and rng.random() < 0.3 else 1
            if amount * quantity > remaining:
                continue
            cancelled_at = used_at = None
            if rng.random() < 0.12:
                cancelled_at = at + timedelta(hours=rng.randint(1, 120))
            elif starts is not None:
                used_at = starts
            elif rng.random() < 0.85:
                used_at = at + timedelta(hours=rng.randint(1, 240))
            if cancelled_at is None:
                remaining -= amount * quantity
            venue = venue_by_id[venue_id]
            bookings.append(
                {
                    "id": len(bookings) + 1,
                    "userId": user.id,
                    "depositId": d["id"],
                    "stockId": stock_id,
                    "offerId": offer_id,
                    "venueId": venue["id"],
                    "offererId": venue["managingOffererId"],
                    "quantity": quantity,
                    "amount": amount,
                    "token": f"{rng.getrandbits(30):08X}"[-6:],
                    "dateCreated": at,
                    "_used_at": used_at,
                    "_cancelled_at": cancelled_at,
                    "cancellationReason": "BENEFICIARY" if cancelled_at else None,
                }
            )
    return bookings.build()


def _events(rng, users, offers, bookings) -> EventLog:
    """App tracking events (consultations, favourites, booking confirmations) for the recommender."""
    # validated offers as (validated at, id, category) tuples, in validation order
    validated = sorted(
        (
            (o["_validated_at"], o["id"], catalog.SUBCATEGORY_BY_ID[o["subcategoryId"]].category_id)
            for o in offers
            if o["_final_validation"] == "VALIDATED"
        ),
        key=lambda o: o[0],
    )
    times = [o[0] for o in validated]
    by_cat: dict[str, list[tuple]] = {}
    for o in validated:
        by_cat.setdefault(o[2], []).append(o)
    events = EventLog()

    def add(user_id: int, offer_id: int, name: str, at: datetime, origin: str) -> None:
        if at < WORLD_END:
            events.add(user_id, offer_id, name, at, origin)

    for b in bookings:
        for _ in range(rng.randint(1, 3)):
            add(
                b["userId"],
                b["offerId"],
                "ConsultOffer",
                b["dateCreated"] - timedelta(minutes=rng.randint(1, 3 * 24 * 60)),
                rng.choice(("home", "search", "venue")),
            )
        add(b["userId"], b["offerId"], "BookingConfirmation", b["dateCreated"], "offer")
    for u in users:
        for _ in range(_poisson(rng, 6)):
            at = _between(rng, u.created_at, WORLD_END - timedelta(minutes=1))
            pool = by_cat.get(rng.choice(u.favourite_categories)) if rng.random() < 0.7 else None
            if pool:
                offer = rng.choice(pool)
                if offer[0] > at:
                    continue
            else:
                k = bisect.bisect_right(times, at)
                if not k:
                    continue
                offer = validated[rng.randrange(k)]
            add(u.id, offer[1], "ConsultOffer", at, rng.choice(("home", "search", "venue")))
            if rng.random() < 0.2:
                add(u.id, offer[1], "HasAddedOfferToFavorites", at + timedelta(seconds=rng.randint(5, 300)), "offer")
    return events.sort_by_time()


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method: fine for the small rates used here
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
