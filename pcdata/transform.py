"""dbt, run in process: `dbt build` (seeds, models, unit and data tests) on the warehouse."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from warehouse import REPO, Settings


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
    """dbt's target and the profile's variables, from the same settings dlt loads with (profiles.yml reads them)."""
    variables = {"pcdata_duckdb_path": str(settings.warehouse), "pcdata_schema_prefix": settings.schema_prefix}
    if settings.destination == "bigquery":
        variables["pcdata_bigquery_project"] = settings.bigquery_project or "unset-project"
        variables["pcdata_bigquery_location"] = settings.bigquery_location
    return [
        "--project-dir",
        str(REPO),
        "--profiles-dir",
        str(REPO),
        "--target",
        settings.destination,
        "--vars",
        json.dumps(variables),
    ]


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
