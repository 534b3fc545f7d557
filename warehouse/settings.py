"""The platform's settings, from dlt's configuration.

    [pcdata]                  # .dlt/config.toml, or PCDATA__HOME / PCDATA__DESTINATION
    home = ".pcdata"          # local state: DuckDB file, dlt pipelines, embedded PostgreSQL, BentoML store, reports
    destination = "duckdb"    # or "bigquery": dlt's destination, its credentials under [destination.bigquery]
    schema_prefix = ""        # e.g. "dev_me_": personal dev schemas (dev_me_marts_regional)
    ingest_workers = 4        # sources loading at once (paced ones run beside them); 1: one after another

A relative `home` is relative to the project directory (dlt's run directory:
the current directory, or `DLT_PROJECT_DIR`). The DuckDB file is dlt's own
`destination.duckdb.credentials` when set, else `<home>/warehouse.duckdb`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dlt

from .bigquery import BigQueryConfig

REPO = Path(__file__).resolve().parents[1]  # the dbt project and the bentos live beside the code
DESTINATIONS = ("duckdb", "bigquery")
# most of a source's time is waiting on HTTP, so a few run side by side even on 2 cores
DEFAULT_INGEST_WORKERS = 4


def _config(key: str) -> str | None:
    # config.toml holds the defaults, env vars and secrets.toml may override: read both accessors
    value: object = dlt.config.get(key) or dlt.secrets.get(key)
    return str(value) if value else None


@dataclass(frozen=True)
class Settings:
    home: Path
    destination: str  # 'duckdb' or 'bigquery'
    warehouse: Path  # the DuckDB file (DuckDB destination only)
    schema_prefix: str = ""  # before every dbt schema name: personal dev datasets
    ingest_workers: int = DEFAULT_INGEST_WORKERS  # sources loading at once: see ingestion.parallel

    @classmethod
    def load(cls) -> Settings:
        project = Path(dlt.current.run_context().run_dir)
        home = project / (_config("pcdata.home") or ".pcdata")
        destination = _config("pcdata.destination") or "duckdb"
        if destination not in DESTINATIONS:
            raise ValueError(f"pcdata.destination is {destination!r}: set it to one of {', '.join(DESTINATIONS)}")
        duckdb_file = _config("destination.duckdb.credentials")
        warehouse = project / duckdb_file if duckdb_file else home / "warehouse.duckdb"
        workers = _config("pcdata.ingest_workers") or str(DEFAULT_INGEST_WORKERS)
        if not workers.isdigit() or int(workers) < 1:
            raise ValueError(f"pcdata.ingest_workers is {workers!r}: set it to a whole number, 1 or more")
        return cls(
            home=home.resolve(),
            destination=destination,
            warehouse=warehouse.resolve(),
            schema_prefix=_config("pcdata.schema_prefix") or "",
            ingest_workers=int(workers),
        )

    @property
    def bigquery(self) -> BigQueryConfig:
        """The project, location and credentials dlt loads with: dbt, the quality gates and ML use the same."""
        return BigQueryConfig.load()

    def warehouse_name(self) -> str:
        """Where the marts are, in words: the DuckDB file, or the BigQuery project."""
        if self.destination == "duckdb":
            return str(self.warehouse)
        return f"BigQuery project {self.bigquery.project} ({self.bigquery.location})"

    @property
    def pipelines_dir(self) -> Path:
        """dlt's pipelines: `DLT_DATA_DIR=<home>/dlt dlt pipeline pcdata_app info` finds them."""
        return self.home / "dlt" / "pipelines"

    @property
    def pgdata(self) -> Path:
        """The embedded PostgreSQL's data, when no app database URL is configured."""
        return self.home / "pgdata"

    @property
    def dbt_target(self) -> Path:
        """dbt's artifacts (manifest, compiled SQL, run results, partial-parse state) for this home's warehouse:
        two homes building at once, such as a DuckDB and a BigQuery run, never write each other's."""
        return self.home / "dbt" / "target"

    @property
    def sandbox_state(self) -> Path:
        return self.home / "sandbox.json"

    @property
    def bentoml_home(self) -> Path:
        """The BentoML store: `BENTOML_HOME=<home>/bentoml bentoml models list` reads it."""
        return self.home / "bentoml"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def recommendation_log_dir(self) -> Path:
        """Where the Recommendation API writes its served lists (`past_offer_context/<date>.jsonl`) and the
        `recommendation_logs` source reads them: `sources.recommendation_logs.log_dir`, else `<home>/logs`.
        `pcdata serve recommendation` sets the service's RECOMMENDATION_LOG_DIR to it, so the two agree."""
        configured = _config("sources.recommendation_logs.log_dir")
        if configured:
            return (Path(dlt.current.run_context().run_dir) / configured).resolve()
        return self.home / "logs"
