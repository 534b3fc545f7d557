"""Every source the platform loads: its raw dataset, what it needs first, how to build it.

Adding a source: a module in `sources/`, then one `SourceSpec` here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dlt

from .sources.adage import adage
from .sources.api_adresse import api_adresse
from .sources.app_db import LoadedRows, app_db
from .sources.appsflyer import appsflyer
from .sources.batch import batch
from .sources.brevo import brevo
from .sources.contentful import contentful
from .sources.dms import dms
from .sources.downloads import downloads
from .sources.instagram import instagram
from .sources.metabase import metabase
from .sources.qualtrics import qualtrics
from .sources.sirene import sirene
from .sources.tiktok import tiktok
from .sources.zendesk import zendesk

if TYPE_CHECKING:
    from .pipeline import Runner


@dataclass(frozen=True)
class SourceSpec:
    name: str
    dataset: str
    description: str
    build: Callable[[Runner], object]  # -> a dlt source
    needs: tuple[str, ...] = ()  # sources whose raw data this one reads to know what to ask


def _app(runner: Runner):
    return app_db(credentials=runner.app_engine(), loaded=LoadedRows(runner.pipeline("app")))


def _api_adresse(runner: Runner):
    users = sorted(runner.rows("app", "user", "id, address, postal_code, city"))
    done = dict(runner.rows("api_adresse", "user_address", "user_id, address_hash"))
    return api_adresse(users=users, done=done)


def _sirene(runner: Runner):
    return sirene(
        sirens={siren for (siren,) in runner.rows("app", "offerer", "siren") if siren},
        sirets={siret for (siret,) in runner.rows("app", "venue", "siret") if siret},
        checked_units=dict(runner.rows("sirene", "unites_legales", "siren, checked_at")),
        checked_establishments=dict(runner.rows("sirene", "etablissements", "siret, checked_at")),
    )


def _metabase(runner: Runner):
    credentials: str | None = dlt.secrets.get("sources.metabase.app_db_credentials")
    if not credentials:
        raise ValueError(
            "set sources.metabase.app_db_credentials (env SOURCES__METABASE__APP_DB_CREDENTIALS): "
            "the SQLAlchemy URL of the Metabase application database"
        )
    return metabase(app_db_credentials=credentials)


SOURCES: dict[str, SourceSpec] = {
    spec.name: spec
    for spec in (
        SourceSpec(
            "app",
            "raw_app",
            "pass Culture app database (PostgreSQL): users, deposits, offerers, venues, offers, stocks, bookings,"
            " tracking events",
            _app,
        ),
        SourceSpec(
            "api_adresse",
            "raw_api_adresse",
            "API Adresse geocoding of the users' addresses",
            _api_adresse,
            needs=("app",),
        ),
        SourceSpec(
            "sirene",
            "raw_sirene",
            "INSEE Sirene legal units and establishments of offerers and venues",
            _sirene,
            needs=("app",),
        ),
        SourceSpec(
            "zendesk",
            "raw_zendesk",
            "Zendesk Support tickets (custom fields by name), users (email hashed), macros with usage, CSAT",
            lambda runner: zendesk(),
        ),
        SourceSpec(
            "appsflyer",
            "raw_appsflyer",
            "AppsFlyer Pull API: raw installs and in-app events, daily and partner reports (iOS and Android)",
            lambda runner: appsflyer(),
        ),
        SourceSpec(
            "adage",
            "raw_adage",
            "Adage (Éducation nationale): cultural partners matching venues, involved students per department,"
            " academy and region",
            lambda runner: adage(),
        ),
        SourceSpec(
            "dms",
            "raw_dms",
            "Démarches Simplifiées (GraphQL): dossiers of the pass Culture démarches (jeunes and pro),"
            " with applicant geography and SIRET",
            lambda runner: dms(),
        ),
        SourceSpec(
            "contentful",
            "raw_contentful",
            "Contentful CDA: the app home page CMS (home pages, modules, playlists of offers and venues),"
            " links and tags",
            lambda runner: contentful(),
        ),
        SourceSpec(
            "metabase",
            "raw_metabase",
            "Metabase: cards, dashboards, collections, users (email hashed),"
            " query executions (app DB) and permissions (REST)",
            _metabase,
        ),
        SourceSpec(
            "instagram",
            "raw_instagram",
            "Instagram Graph API: daily account insights (views, reach, follower_count...), account counters,"
            " posts with lifetime insights",
            lambda runner: instagram(),
        ),
        SourceSpec(
            "tiktok",
            "raw_tiktok",
            "TikTok Business API: account daily metrics, hourly audience,"
            " videos (refresh-token rotation kept in state)",
            lambda runner: tiktok(),
        ),
        SourceSpec(
            "downloads",
            "raw_downloads",
            "App downloads: App Store Connect daily sales summaries (JWT,"
            " gzip TSV) and Google Play monthly installs files (UTF-16 CSV)",
            lambda runner: downloads(),
        ),
        SourceSpec(
            "qualtrics",
            "raw_qualtrics",
            "Qualtrics surveys and responses (async CSV export, incremental per survey), embedded region/department",
            lambda runner: qualtrics(),
        ),
        SourceSpec(
            "batch",
            "raw_batch",
            "Batch push notifications (iOS and Android): campaigns with UTM tag, campaign and transactional stats",
            lambda runner: batch(),
        ),
        SourceSpec(
            "brevo",
            "raw_brevo",
            "Brevo: sent newsletters with stats (tag = UTM), transactional templates and events (emails hashed)",
            lambda runner: brevo(),
        ),
    )
}


def in_load_order(names: list[str]) -> list[str]:
    """The requested sources, each after the sources it needs (when they are requested too)."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        for dep in SOURCES[name].needs:
            if dep in names:
                visit(dep)
        ordered.append(name)

    for name in names:
        if name not in SOURCES:
            raise KeyError(f"unknown source {name!r}; known: {', '.join(SOURCES)}")
        visit(name)
    return ordered
