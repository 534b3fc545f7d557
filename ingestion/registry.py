"""Every source the platform loads: its raw dataset, what it needs first, how to build it.

Adding a source: a module in `sources/`, then one `SourceSpec` here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import dlt

from .sources.api_adresse import api_adresse, geocoding_queue
from .sources.app_db import app_db
from .sources.pii import pii_salt
from .sources.sirene import due_for_lookup, sirene

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
    return app_db(credentials=runner.app_engine())


def _api_adresse(runner: Runner):
    users = sorted(runner.rows("app", "user", "id, address, postal_code, city"))
    done = dict(runner.rows("api_adresse", "user_address", "user_id, address_hash"))
    limit = dlt.config.get("sources.api_adresse.max_rows_per_run", int) or 50_000
    return api_adresse(candidates=geocoding_queue(users, done, pii_salt(), limit))


def _sirene(runner: Runner):
    refresh = dlt.config.get("sources.sirene.refresh_days", int) or 30
    limit = dlt.config.get("sources.sirene.max_per_run", int) or 5000
    sirens = {siren for (siren,) in runner.rows("app", "offerer", "siren") if siren}
    sirets = {siret for (siret,) in runner.rows("app", "venue", "siret") if siret}
    units = dict(runner.rows("sirene", "unites_legales", "siren, checked_at"))
    etabs = dict(runner.rows("sirene", "etablissements", "siret, checked_at"))
    return sirene(sirens=due_for_lookup(sirens, units, refresh, limit), sirets=due_for_lookup(sirets, etabs, refresh, limit))


SOURCES: dict[str, SourceSpec] = {
    spec.name: spec
    for spec in (
        SourceSpec("app", "raw_app", "pass Culture app database (PostgreSQL): users, deposits, offerers, venues, offers, stocks, bookings, tracking events", _app),
        SourceSpec("api_adresse", "raw_api_adresse", "API Adresse geocoding of the users' addresses", _api_adresse, needs=("app",)),
        SourceSpec("sirene", "raw_sirene", "INSEE Sirene legal units and establishments of offerers and venues", _sirene, needs=("app",)),
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
