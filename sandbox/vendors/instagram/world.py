"""Instagram slice of the world: the pass Culture business accounts, their daily
account insights and their posts with lifetime insights.

Insights exist for the two years before the world's end (Meta keeps two years);
values grow with `world.scale`. Posts are spread over the world's history.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from sandbox.world.generator import WORLD_END, WORLD_START, World

HISTORY_DAYS = 730
ACCOUNTS = (
    ("17841402000000001", "passculture", "pass Culture"),
    ("17841402000000002", "passculture.pro", "pass Culture Pro"),
)
VALUE_METRICS = ("reach", "follower_count")  # `values: [...]` per day
TOTAL_VALUE_METRICS = ("views", "accounts_engaged", "total_interactions")  # metric_type=total_value
DAY_METRICS = VALUE_METRICS + TOTAL_VALUE_METRICS
POST_METRICS = (
    "views",
    "reach",
    "likes",
    "comments",
    "shares",
    "saved",
    "total_interactions",
    "follows",
    "profile_visits",
    "profile_activity",
)
VIDEO_METRICS = ("views", "reach", "likes", "comments", "shares", "saved", "total_interactions")
CAPTIONS = (
    "Ce week-end, {n} concerts à moins de 10 € avec le pass Culture",
    "Tu as 17 ans ? Ton crédit t'attend sur l'app #passCulture",
    "Théâtre, cinéma, livres : nos {n} coups de cœur du mois",
    "Festival d'été : réserve ta place dès maintenant",
    "Les musées gratuits près de chez toi ({n} idées)",
)


@dataclass
class InstagramSlice:
    accounts: list[dict]
    daily: dict[tuple[str, date], dict[str, int]]  # (account_id, day) -> metric -> value
    posts: list[dict]  # newest first per account
    first_day: date
    last_day: date  # inclusive: the world's yesterday
    post_insights: dict[str, dict[str, int]] = field(default_factory=dict)

    def day_rows(self, start: date, end: date) -> list[tuple[str, date, str, int]]:
        """(account_id, day, metric, value) for every day in [start, end]."""
        out = []
        for (account, day), metrics in self.daily.items():
            if start <= day <= end:
                out += [(account, day, m, v) for m, v in metrics.items()]
        return out


def build(world: World, rng: random.Random) -> InstagramSlice:
    last = (WORLD_END - timedelta(days=1)).date()
    first = last - timedelta(days=HISTORY_DAYS - 1)
    accounts, daily, posts, insights = [], {}, [], {}
    for i, (account_id, username, name) in enumerate(ACCOUNTS):
        size = (1.0 if i == 0 else 0.25) * world.scale
        followers = int(120_000 * size) + 150
        accounts.append(
            {
                "id": account_id,
                "username": username,
                "name": name,
                "followers_count": followers,
                "follows_count": 80 + i * 20,
                "biography": f"Le compte officiel {name}",
            }
        )
        day = first
        while day <= last:
            reach = max(1, int(rng.gauss(9000, 2500) * size))
            daily[(account_id, day)] = {
                "reach": reach,
                "follower_count": max(0, int(rng.gauss(60, 25) * size)),
                "views": reach * rng.randint(2, 4),
                "accounts_engaged": max(0, int(reach * rng.uniform(0.02, 0.08))),
                "total_interactions": max(0, int(reach * rng.uniform(0.03, 0.12))),
            }
            day += timedelta(days=1)
        n_posts = max(8, round(120 * size * (1 if i == 0 else 2)))
        span = (WORLD_END - WORLD_START).total_seconds()
        account_posts = []
        for _ in range(n_posts):
            at = WORLD_START + timedelta(seconds=int(span * rng.random()))
            kind = rng.choices(("IMAGE", "CAROUSEL_ALBUM", "VIDEO"), (4, 3, 3))[0]
            media_id = str(17_900_000_000_000_000 + rng.randrange(10**15))
            shortcode = "".join(
                rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") for _ in range(11)
            )
            account_posts.append(
                {
                    "id": media_id,
                    "account_id": account_id,
                    "caption": rng.choice(CAPTIONS).format(n=rng.randint(3, 12)),
                    "media_type": kind,
                    "media_product_type": "REELS" if kind == "VIDEO" else "FEED",
                    "permalink": f"https://www.instagram.com/{'reel' if kind == 'VIDEO' else 'p'}/{shortcode}/",
                    "timestamp": at.replace(microsecond=0),
                }
            )
        account_posts.sort(key=lambda p: (p["timestamp"], p["id"]), reverse=True)
        for p in account_posts:
            reach = max(1, int(rng.gauss(15000, 6000) * size))
            likes, comments = int(reach * rng.uniform(0.02, 0.1)), int(reach * rng.uniform(0.001, 0.01))
            shares, saved = int(reach * rng.uniform(0.001, 0.02)), int(reach * rng.uniform(0.001, 0.02))
            values = {
                "views": reach * rng.randint(1, 3),
                "reach": reach,
                "likes": likes,
                "comments": comments,
                "shares": shares,
                "saved": saved,
                "total_interactions": likes + comments + shares + saved,
            }
            if p["media_type"] != "VIDEO":
                values.update(
                    follows=int(reach * rng.uniform(0, 0.003)),
                    profile_visits=int(reach * rng.uniform(0, 0.02)),
                    profile_activity=int(reach * rng.uniform(0, 0.01)),
                )
            insights[p["id"]] = values
        posts += account_posts
        accounts[-1]["media_count"] = len(account_posts)
    return InstagramSlice(accounts, daily, posts, first, last, insights)


def instagram(world: World) -> InstagramSlice:
    return world.slice("instagram", build)
