"""Where things live, from environment variables with local defaults.

Everything the platform writes locally goes under `PCDATA_HOME` (default
`.pcdata/` in the repo): the DuckDB warehouse, dlt's pipeline state, the
embedded PostgreSQL data and the sandbox's state file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse: Path  # the DuckDB file dlt writes and dbt reads
    destination: str  # 'duckdb' (default) or 'bigquery'
    app_db_url: str | None  # None: the embedded PostgreSQL under home/pgdata

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("PCDATA_HOME", REPO / ".pcdata")).resolve()
        return cls(
            home=home,
            warehouse=Path(os.environ.get("PCDATA_DUCKDB_PATH", home / "warehouse.duckdb")).resolve(),
            destination=os.environ.get("PCDATA_DESTINATION", "duckdb"),
            app_db_url=os.environ.get("PCDATA_APP_DB_URL") or None,
        )

    @property
    def pipelines_dir(self) -> Path:
        return self.home / "dlt"

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def sandbox_state(self) -> Path:
        return self.home / "sandbox.json"

    @property
    def bentoml_home(self) -> Path:
        """The BentoML store (models and bentos); `BENTOML_HOME` wins when set."""
        return Path(os.environ.get("BENTOML_HOME", self.home / "bentoml"))

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    def dbt_env(self) -> dict[str, str]:
        """What dbt needs to read the same warehouse (profiles.yml reads these)."""
        env = {"PCDATA_DUCKDB_PATH": str(self.warehouse), "DBT_PROFILES_DIR": str(REPO)}
        if self.destination == "bigquery":
            env["PCDATA_DBT_TARGET"] = "bigquery"
        return env
