"""dbt, run in process: `dbt build` (seeds, models, unit and data tests) on the warehouse."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass

from .bigquery import TOKEN_URI
from .settings import REPO, Settings


@dataclass
class DbtSummary:
    success: bool
    counts: Counter  # (resource type, status) -> n
    failures: list[str]

    def line(self) -> str:
        by_type: Counter = Counter()
        for (kind, status), n in self.counts.items():
            by_type[f"{kind} {status}"] += n
        return ", ".join(f"{n} {key}" for key, n in sorted(by_type.items()))


def profile_args(settings: Settings) -> list[str]:
    """dbt's target and the profile's variables, from the same settings dlt loads with (profiles.yml reads them),
    and the home's own folder for dbt's artifacts (`settings.dbt_target`).

    Secrets (a token, an OAuth grant) go to `DBT_ENV_SECRET_*` environment variables of this process, which
    dbt scrubs from its logs and artifacts; a service account goes as a key file, a path.
    """
    variables = {"pcdata_duckdb_path": str(settings.warehouse), "pcdata_schema_prefix": settings.schema_prefix}
    if settings.destination == "bigquery":
        config = settings.bigquery
        keyfile = _bigquery_keyfile(settings) if config.method == "service-account" else ""
        profile, secrets = config.dbt_profile(keyfile)
        variables.update(profile)
        os.environ.update(secrets)
    return [
        "--project-dir",
        str(REPO),
        "--profiles-dir",
        str(REPO),
        "--target",
        settings.destination,
        "--vars",
        json.dumps(variables),
        "--target-path",
        str(settings.dbt_target),
    ]


def _bigquery_keyfile(settings: Settings) -> str:
    """The service account dlt loads with, as the key file dbt reads.

    Written under the home, readable by its owner only: a path can travel in dbt's
    arguments, which dbt records in target/, a key cannot.
    """
    config = settings.bigquery
    fields = ("client_email", "private_key", "private_key_id", "client_id")
    key = {"project_id": config.project, **{f: config.secrets[f] for f in fields if f in config.secrets}}
    path = settings.home / "secrets" / "bigquery-service-account.json"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(json.dumps({"type": "service_account", "token_uri": TOKEN_URI, **key}))
    return str(path)


def dbt(settings: Settings, *args: str) -> DbtSummary:
    from dbt.adapters.factory import reset_adapters
    from dbt.cli.main import dbtRunner

    try:
        result = dbtRunner().invoke([*args, *profile_args(settings)])
    finally:
        reset_adapters()  # close dbt's DuckDB connection: the next step opens the file too
    counts: Counter = Counter()
    failures = []
    for r in getattr(result.result, "results", None) or []:
        kind = r.node.resource_type.value if hasattr(r.node.resource_type, "value") else str(r.node.resource_type)
        status = str(r.status.value if hasattr(r.status, "value") else r.status)
        counts[(kind, status)] += 1
        if status in ("error", "fail"):
            failures.append(f"{kind} {r.node.name}: {r.message}")
    if result.exception is not None:
        failures.append(f"dbt raised {type(result.exception).__name__}: {result.exception}")
    return DbtSummary(bool(result.success), counts, failures)
