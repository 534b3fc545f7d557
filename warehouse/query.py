"""Reading the warehouse the settings select: DuckDB (default) or BigQuery."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .settings import Settings

if TYPE_CHECKING:
    import pandas as pd


def query(settings: Settings, sql: str) -> list[tuple]:
    """Rows of `sql` as tuples."""
    if settings.destination == "duckdb":
        import duckdb

        # default configuration, as dlt and dbt-duckdb open the file: one process may hold only one per file
        with duckdb.connect(str(settings.warehouse)) as conn:
            return conn.execute(sql).fetchall()
    return [tuple(row.values()) for row in _bigquery(settings).query(sql).result()]


def read_table(settings: Settings, schema: str, table: str) -> pd.DataFrame:
    """A whole (small) table of a dbt schema as a DataFrame: marts for training and reports, never a raw fact table."""
    schema = settings.schema_prefix + schema
    if settings.destination == "duckdb":
        import duckdb

        with duckdb.connect(str(settings.warehouse)) as conn:
            return conn.execute(f'select * from {schema}."{table}"').df()
    return _bigquery(settings).query(f"select * from `{schema}.{table}`").to_dataframe()


def _bigquery(settings: Settings):
    """A client on the project and credentials dlt loads with: dlt, dbt and ML read one configuration."""
    import dlt
    from dlt.common.configuration.specs import GcpServiceAccountCredentials
    from google.cloud import bigquery

    credentials = dlt.secrets.get("destination.bigquery.credentials", GcpServiceAccountCredentials)
    location: str | None = dlt.config.get("destination.bigquery.location")
    return bigquery.Client(
        project=credentials.project_id, credentials=credentials.to_native_credentials(), location=location
    )
