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
    return [tuple(row.values()) for row in settings.bigquery.client().query(sql).result()]


def read_table(settings: Settings, schema: str, table: str, columns: list[str] | None = None) -> pd.DataFrame:
    """A table of a dbt schema as a DataFrame (all its rows; `columns`, or all of them): marts for training
    and reports, never a raw fact table."""
    schema = settings.schema_prefix + schema
    select = ", ".join(columns) if columns else "*"
    if settings.destination == "duckdb":
        import duckdb

        with duckdb.connect(str(settings.warehouse)) as conn:
            return conn.execute(f'select {select} from {schema}."{table}"').df()
    client = settings.bigquery.client()
    return client.query(f"select {select} from `{client.project}.{schema}.{table}`").to_dataframe()


def tables(settings: Settings, schema_prefix: str) -> list[tuple[str, str]]:
    """(schema, table) of every table and view in the schemas (BigQuery: datasets) named `<schema_prefix>...`."""
    if settings.destination == "duckdb":
        return query(
            settings,
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema like '{schema_prefix}%' order by 1, 2",
        )
    client = settings.bigquery.client()
    found = [
        (dataset.dataset_id, table.table_id)
        for dataset in client.list_datasets()
        if dataset.dataset_id.startswith(schema_prefix)
        for table in client.list_tables(dataset.reference)
    ]
    return sorted(found)


def table_name(settings: Settings, schema: str, table: str) -> str:
    """A table's name as the warehouse's SQL quotes it."""
    return f"`{schema}.{table}`" if settings.destination == "bigquery" else f'{schema}."{table}"'
