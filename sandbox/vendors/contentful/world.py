"""Contentful slice of the world: the app's home pages as the CMS holds them.

Home pages (`homepageNatif`) list modules (offer playlists `algolia`, venue
playlists, business blocks, highlighted offers, videos, category lists...);
playlists carry their parameter blocks (`algoliaParameters` with the offer ids
of the playlist, `displayParameters`, `venuesSearchParameters` with venue ids).
Offer and venue ids are real ones of the core world. A few home pages still
link a module that was deleted since (an unresolvable link, as the CDA answers
it), some modules are shared by several home pages, entries carry tags.

`build(world, rng)` returns a `ContentfulSlice`; `world.slice("contentful", build)`
caches it. Size grows with the world's scale (about 250 entries at scale 1.0).
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sandbox.world import catalog
from sandbox.world.generator import WORLD_END, WORLD_START, World

SPACE_ID = "pcsandbox0space"
ENVIRONMENT = "master"
LOCALE = "fr-FR"

# The app home page's 13 top-level module types and the blocks they link.
MODULE_TYPES = (
    "homepageNatif",
    "venuesPlaylist",
    "algolia",
    "business",
    "exclusivity",
    "highlightOffer",
    "categoryList",
    "recommendation",
    "thematicHighlight",
    "video",
    "trends",
    "videoCarousel",
    "gtlPlaylist",
)
BLOCK_TYPES = (
    "algoliaParameters",
    "displayParameters",
    "venuesSearchParameters",
    "recommendationParameters",
    "categoryBlock",
)
CONTENT_TYPES = MODULE_TYPES + BLOCK_TYPES
# module types that get entries in the sandbox (the others exist but hold none)
_MODULE_WEIGHTS = {
    "algolia": 10,
    "venuesPlaylist": 3,
    "business": 3,
    "highlightOffer": 2,
    "exclusivity": 2,
    "video": 2,
    "categoryList": 1,
    "recommendation": 2,
}

TAGS = {
    "homeJeunes": "Home 18+",
    "homeAdos": "Home 15-17",
    "rentree": "Rentrée",
    "ete": "Été",
    "festival": "Festivals",
    "regionBretagne": "Région Bretagne",
    "regionOccitanie": "Région Occitanie",
    "partenariat": "Partenariat",
}
LAYOUTS = ("one-item-medium", "two-items", "three-items")


@dataclass
class ContentfulSlice:
    entries: list[dict]  # {id, content_type, created_at, updated_at, revision, tags: [ids], fields: {CDA-shaped}}
    assets: list[dict]  # {id, created_at, updated_at, revision, title, file_name, width, height}
    tags: dict[str, str]  # tag id -> name
    dangling: set[str] = field(default_factory=set)  # entry ids linked but not published (deleted modules)

    def by_id(self) -> dict[str, dict]:
        return {e["id"]: e for e in self.entries}


def _new_id(rng: random.Random, taken: set[str]) -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(22))
        if value not in taken:
            taken.add(value)
            return value


def link(kind: str, ident: str) -> dict:
    return {"sys": {"type": "Link", "linkType": kind, "id": ident}}


def build(world: World, rng: random.Random) -> ContentfulSlice:
    taken: set[str] = set()
    entries: list[dict] = []
    assets: list[dict] = []
    span = (WORLD_END - timedelta(days=30) - WORLD_START).total_seconds()
    validated = [o for o in world.offers if o["_final_validation"] == "VALIDATED"]
    physical_venues = [v for v in world.venues if not v["isVirtual"]]
    categories = sorted({s.category_id for s in catalog.SUBCATEGORIES})

    def stamp() -> tuple[datetime, datetime, int]:
        created = WORLD_START + timedelta(seconds=rng.randint(0, int(span)))
        edits = rng.choice((0, 0, 1, 1, 2, 5))
        updated = (
            created + timedelta(seconds=rng.randint(0, int((WORLD_END - timedelta(days=1) - created).total_seconds())))
            if edits
            else created
        )
        return created, updated, 1 + edits

    def add(content_type: str, fields: dict, tags: int = 0) -> str:
        created, updated, revision = stamp()
        ident = _new_id(rng, taken)
        entries.append(
            {
                "id": ident,
                "content_type": content_type,
                "created_at": created,
                "updated_at": updated,
                "revision": revision,
                "tags": sorted(rng.sample(sorted(TAGS), tags)),
                "fields": fields,
            }
        )
        return ident

    def image(title: str) -> dict:
        created, updated, revision = stamp()
        ident = _new_id(rng, taken)
        assets.append(
            {
                "id": ident,
                "created_at": created,
                "updated_at": updated,
                "revision": revision,
                "title": title,
                "file_name": f"{title.lower().replace(' ', '-')[:40]}.jpg",
                "width": rng.choice((750, 1080, 1440)),
                "height": rng.choice((420, 600, 1080)),
            }
        )
        return link("Asset", ident)

    def display(title: str) -> dict:
        return link(
            "Entry",
            add(
                "displayParameters",
                {
                    "title": f"Affichage - {title}",
                    "layout": rng.choice(LAYOUTS),
                    "minOffers": rng.randint(1, 4),
                    "subtitle": rng.choice((None, "Près de chez toi", "Les pépites du moment")),
                },
            ),
        )

    def module(kind: str) -> str:
        title = f"{rng.choice(catalog.TITLE_WORDS)} {rng.choice(catalog.TITLE_WORDS).lower()}"
        tags = rng.choice((0, 0, 1, 2))
        if kind == "algolia":
            cats = rng.sample(categories, rng.randint(1, 2))
            offers = rng.sample(validated, min(len(validated), rng.randint(4, 16)))
            params = add(
                "algoliaParameters",
                {
                    "title": f"Paramètres - {title}",
                    "categories": cats,
                    "offerIds": [str(o["id"]) for o in offers],
                    "isGeolocated": rng.random() < 0.4,
                    "aroundRadius": rng.choice((None, 10, 30, 100)),
                    "priceMin": rng.choice((None, 0)),
                    "priceMax": rng.choice((None, 20, 50, 300)),
                    "hitsPerPage": rng.choice((10, 20, 30)),
                    "isDuo": rng.random() < 0.1,
                },
            )
            return add(
                "algolia",
                {"title": title, "algoliaParameters": link("Entry", params), "displayParameters": display(title)},
                tags,
            )
        if kind == "venuesPlaylist":
            venues = rng.sample(physical_venues, min(len(physical_venues), rng.randint(3, 10)))
            params = add(
                "venuesSearchParameters",
                {
                    "title": f"Lieux - {title}",
                    "venueIds": [str(v["id"]) for v in venues],
                    "venueTypes": sorted({v["venueTypeCode"] for v in venues}),
                    "isGeolocated": rng.random() < 0.6,
                    "aroundRadius": rng.choice((None, 20, 50)),
                },
            )
            return add(
                "venuesPlaylist",
                {"title": title, "venuesSearchParameters": link("Entry", params), "displayParameters": display(title)},
                tags,
            )
        if kind == "business":
            return add(
                "business",
                {
                    "title": title,
                    "firstLine": f"Découvre {title}",
                    "secondLine": "Offre partenaire",
                    "url": f"https://passculture.app/{title.lower().replace(' ', '-')}",
                    "image": image(title),
                    "targetNotConnectedUsersOnly": rng.random() < 0.2,
                },
                tags,
            )
        if kind in ("highlightOffer", "exclusivity"):
            offer = rng.choice(validated)
            fields = {"title": title, "offerId": str(offer["id"]), "image": image(title)}
            fields.update(
                {"offerTag": rng.choice(("coup-de-coeur", "nouveau", None)), "color": rng.choice(("lilac", "coral"))}
                if kind == "highlightOffer"
                else {"alt": f"Exclusivité {title}"}
            )
            return add(kind, fields, tags)
        if kind == "video":
            offers = rng.sample(validated, min(len(validated), rng.randint(1, 4)))
            return add(
                "video",
                {
                    "title": title,
                    "youtubeVideoId": "".join(
                        rng.choice(string.ascii_letters + string.digits + "-_") for _ in range(11)
                    ),
                    "durationInMinutes": round(rng.uniform(0.5, 12), 1),
                    "offerIds": [str(o["id"]) for o in offers],
                    "videoThumbnail": image(title),
                },
                tags,
            )
        if kind == "categoryList":
            blocks = [
                link(
                    "Entry", add("categoryBlock", {"title": cat.capitalize(), "image": image(cat), "homeEntryId": None})
                )
                for cat in rng.sample(categories, rng.randint(3, 6))
            ]
            return add("categoryList", {"title": title, "categoryBlockList": blocks}, tags)
        if kind == "recommendation":
            params = add(
                "recommendationParameters",
                {
                    "title": f"Reco - {title}",
                    "categories": rng.sample(categories, 2),
                    "isRecoShuffled": rng.random() < 0.5,
                },
            )
            return add(
                "recommendation",
                {
                    "title": title,
                    "recommendationParameters": link("Entry", params),
                    "displayParameters": display(title),
                },
                tags,
            )
        raise ValueError(kind)

    kinds, weights = list(_MODULE_WEIGHTS), list(_MODULE_WEIGHTS.values())
    n_homes = max(3, round(12 * world.scale))
    modules: list[str] = []
    dangling: set[str] = set()
    for h in range(n_homes):
        chosen: list[str] = []
        for _ in range(rng.randint(5, 12)):
            if modules and rng.random() < 0.15:  # a module reused on another home page
                ident = rng.choice(modules)
            else:
                ident = module(rng.choices(kinds, weights)[0])
                modules.append(ident)
            if ident not in chosen:
                chosen.append(ident)
        links = [link("Entry", i) for i in chosen]
        if rng.random() < 0.3:  # a module deleted since: the home page still links it
            gone = _new_id(rng, taken)
            dangling.add(gone)
            links.insert(rng.randrange(len(links) + 1), link("Entry", gone))
        add(
            "homepageNatif",
            {"title": "Home principale" if h == 0 else f"Home {rng.choice(catalog.TITLE_WORDS)} {h}", "modules": links},
            tags=rng.choice((1, 1, 2)),
        )
    # category blocks point at home pages (thematic homes)
    homes = [e["id"] for e in entries if e["content_type"] == "homepageNatif"]
    for e in entries:
        if e["content_type"] == "categoryBlock":
            e["fields"]["homeEntryId"] = rng.choice(homes)
    return ContentfulSlice(entries, assets, dict(TAGS), dangling)
