"""Small read-only queries on the warehouse, for summaries and reports."""

from __future__ import annotations

from .settings import Settings


def query(settings: Settings, sql: str) -> list[tuple]:
    """Rows of `sql` as tuples, on DuckDB or BigQuery."""
    if settings.destination == "duckdb":
        import duckdb

        # default configuration, as dlt and dbt-duckdb open the file: one process may hold only one per file
        with duckdb.connect(str(settings.warehouse)) as conn:
            return conn.execute(sql).fetchall()
    from google.cloud import bigquery

    return [tuple(row.values()) for row in bigquery.Client().query(sql).result()]
