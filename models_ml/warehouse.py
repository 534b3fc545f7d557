"""Reading a mart into a DataFrame, from DuckDB (default) or BigQuery."""

from __future__ import annotations

import os

import pandas as pd

from pcdata.settings import Settings


def read_mart(settings: Settings, schema: str, table: str) -> pd.DataFrame:
    prefix = os.environ.get("PCDATA_SCHEMA_PREFIX", "")
    if settings.destination == "duckdb":
        import duckdb

        # default config, as dbt-duckdb opens it: a process may hold only one configuration per file
        with duckdb.connect(str(settings.warehouse)) as conn:
            return conn.execute(f'select * from {prefix}{schema}."{table}"').df()
    from google.cloud import bigquery  # production path: dlt's bigquery extra brings the client

    client = bigquery.Client()
    return client.query(f"select * from `{prefix}{schema}.{table}`").to_dataframe()
