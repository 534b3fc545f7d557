"""Every source the platform loads: its raw dataset, what it needs first, how to build it,
and what each run asks again (its window and overlap).

Adding a source: a module in `sources/`, then one `SourceSpec` here.

The window is stated here and only here, from the source's own settings: `_setting(source, name)`
reads the default off the source function, so the sentence cannot drift from what runs (a
configured value overrides the default as for any dlt setting; the sentence names the setting).
"""

from __future__ import annotations

import inspect
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
from .sources.firebase import ensure_bigquery_table, firebase
from .sources.instagram import instagram
from .sources.metabase import metabase
from .sources.qualtrics import qualtrics
from .sources.recommendation_logs import recommendation_logs
from .sources.sirene import sirene
from .sources.tiktok import tiktok
from .sources.zendesk import zendesk

if TYPE_CHECKING:
    from .pipeline import Runner


@dataclass(frozen=True)
class SourceSpec:
    name: str
    dataset: str
    about: str
    build: Callable[[Runner], object]  # -> a dlt source
    needs: tuple[str, ...] = ()  # sources whose raw data this one reads to know what to ask
    window: str = ""  # what each run asks again: the one statement of the source's window and overlap
    # waits on its vendor's rate limit most of its run: runs beside the other sources without taking
    # one of `pcdata.ingest_workers` (see ingestion.parallel)
    paced: bool = False

    @property
    def description(self) -> str:
        return f"{self.about}. Each run: {self.window}" if self.window else self.about


def _setting(source: Callable, name: str) -> str:
    """`name=<default>` of a source's setting, read off its signature."""
    return f"{name}={inspect.signature(source).parameters[name].default}"


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


def _firebase(runner: Runner):
    if runner.settings.destination == "bigquery":
        ensure_bigquery_table(runner.pipeline("firebase"))
    return firebase()


def _tiktok(runner: Runner):
    # the rotated refresh token's durable copy: beside the pipelines unless configured elsewhere
    token_file: str | None = dlt.config.get("sources.tiktok.token_file")
    token_file = token_file or str(runner.settings.home / "credentials" / "tiktok.json")
    return tiktok(token_file=token_file)


def _recommendation_logs(runner: Runner):
    return recommendation_logs(log_dir=str(runner.settings.recommendation_log_dir))


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
            "pass Culture app database (PostgreSQL): users, deposits, offerers, venues, offers, stocks, bookings",
            _app,
            window="every table from its update timestamp's last value (rows changed since the last run), merged on id",
        ),
        SourceSpec(
            "firebase",
            "raw_firebase",
            "Firebase Analytics export (GA4 schema, one file or table a day): the app's events (offer consulted,"
            " added to favourites, booking confirmed) with their params kept nested",
            _firebase,
            window=(
                f"the days after the newest loaded, and the last {_setting(firebase, 'lookback_days')} loaded again "
                "(GA4 rewrites a day for up to 72 hours), each replacing itself (delete-insert on event_date)"
            ),
        ),
        SourceSpec(
            "api_adresse",
            "raw_api_adresse",
            "API Adresse geocoding of the users' addresses",
            _api_adresse,
            needs=("app",),
            window=(
                "users whose address is new or changed since its last geocoding (hash), at most "
                f"{_setting(api_adresse, 'max_rows_per_run')}; rows answered error again"
            ),
        ),
        SourceSpec(
            "sirene",
            "raw_sirene",
            "INSEE Sirene legal units and establishments of offerers and venues",
            _sirene,
            needs=("app",),
            window=(
                f"SIRENs/SIRETs never looked up or looked up more than {_setting(sirene, 'refresh_days')} "
                f"days ago, at most {_setting(sirene, 'max_per_run')} of each"
            ),
            paced=True,
        ),
        SourceSpec(
            "zendesk",
            "raw_zendesk",
            "Zendesk Support tickets (custom fields by name), users (email hashed), macros with usage, CSAT",
            lambda runner: zendesk(),
            window="the incremental exports from their last cursor (no overlap: the cursor is Zendesk's own)",
            paced=True,
        ),
        SourceSpec(
            "appsflyer",
            "raw_appsflyer",
            "AppsFlyer Pull API: raw installs and in-app events, daily and partner reports (iOS and Android)",
            lambda runner: appsflyer(),
            window=(
                f"from start_date, then the last {_setting(appsflyer, 'repull_days')} days already "
                "loaded again, up to yesterday (UTC)"
            ),
        ),
        SourceSpec(
            "adage",
            "raw_adage",
            "Adage (Éducation nationale): cultural partners matching venues, involved students per department,"
            " academy and region",
            lambda runner: adage(),
            window=(
                f"partners modified since the newest seen, less {_setting(adage, 'lookback_hours')} "
                "hours; involved students: the configured school years"
            ),
        ),
        SourceSpec(
            "dms",
            "raw_dms",
            "Démarches Simplifiées (GraphQL): dossiers of the pass Culture démarches (jeunes and pro),"
            " with applicant geography and SIRET",
            lambda runner: dms(),
            window=(
                "per démarche, dossiers modified since the newest seen, less "
                f"{_setting(dms, 'lookback_minutes')} minutes"
            ),
        ),
        SourceSpec(
            "contentful",
            "raw_contentful",
            "Contentful CDA: the app home page CMS (home pages, modules, playlists of offers and venues),"
            " links and tags",
            lambda runner: contentful(),
            window="a full snapshot of the configured content types",
        ),
        SourceSpec(
            "metabase",
            "raw_metabase",
            "Metabase: cards, dashboards, collections, users (email hashed),"
            " query executions (app DB) and permissions (REST)",
            _metabase,
            window=(
                "cards, dashboards, users and query executions since their last updated_at/started_at; "
                "permissions a snapshot"
            ),
        ),
        SourceSpec(
            "instagram",
            "raw_instagram",
            "Instagram Graph API: daily account insights (views, reach, follower_count...), account counters,"
            " posts with lifetime insights",
            lambda runner: instagram(),
            window=(
                f"days from {_setting(instagram, 'lookback_days')} before the last end to yesterday; "
                f"posts published within {_setting(instagram, 'post_refresh_days')} days of it re-read"
            ),
        ),
        SourceSpec(
            "tiktok",
            "raw_tiktok",
            "TikTok Business API: account daily metrics, hourly audience,"
            " videos (the rotated refresh token written to an encrypted token file at once)",
            _tiktok,
            window=(
                f"days from {_setting(tiktok, 'lookback_days')} before the last end to yesterday; videos a snapshot"
            ),
        ),
        SourceSpec(
            "downloads",
            "raw_downloads",
            "App downloads: App Store Connect daily sales summaries (JWT,"
            " gzip TSV) and Google Play monthly installs files (UTF-16 CSV)",
            lambda runner: downloads(),
            window=(
                "Apple: every day from the 1st of the previous month (first run: start_date); Google "
                "Play: the files modified since the last run"
            ),
        ),
        SourceSpec(
            "qualtrics",
            "raw_qualtrics",
            "Qualtrics surveys and responses (async CSV export, incremental per survey), embedded region/department",
            lambda runner: qualtrics(),
            window="per survey, the responses recorded since the last export's newest",
        ),
        SourceSpec(
            "batch",
            "raw_batch",
            "Batch push notifications (iOS and Android): campaigns with UTM tag, campaign and transactional stats",
            lambda runner: batch(),
            window=(
                f"campaigns a snapshot; stats from the last {_setting(batch, 'repull_days')} days already loaded, again"
            ),
        ),
        SourceSpec(
            "brevo",
            "raw_brevo",
            "Brevo: sent newsletters with stats (tag = UTM), transactional templates and events (emails hashed)",
            lambda runner: brevo(),
            window=(
                "newsletters a snapshot; transactional events from the newest seen, less "
                f"{_setting(brevo, 'repull_days')} days"
            ),
        ),
        SourceSpec(
            "recommendation_logs",
            "raw_recommendation",
            "Recommendation API served lists ('past offer context'): one row per offer shown, with its call,"
            " from the service's JSON-lines files",
            _recommendation_logs,
            window="per log file, the complete lines after the last one read (byte offset), merged on call_id + rank",
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
