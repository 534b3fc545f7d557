"""What Great Expectations 1.x needs to run its SQL engine on DuckDB (through duckdb-engine).

Four gaps, each measured with GE 1.24.1 + duckdb-engine 0.17.0 on DuckDB 1.4/2.0 and SQLAlchemy 2.0/2.1:

1. GE runs a metric query inside `with engine.connect()`, returns the CursorResult and fetches
   it after the connection went back to the pool; the pool's reset (a rollback) discards DuckDB's
   pending result, so every bundled metric comes back empty: `MetricResolutionError: list index
   out of range`. GE already keeps one persisted connection for SQLite, SQL Server, BigQuery and
   Databricks; DuckDB joins that list.
2. duckdb-engine inherits PostgreSQL's column reflection, whose query reads
   `pg_catalog.pg_collation`, which DuckDB does not have; GE then falls back to a query that drops
   the schema name (`SELECT * FROM t`). Columns are read from `information_schema.columns` instead.
3. duckdb-engine opens the file with a user agent in its configuration, and DuckDB refuses a second
   configuration for a file the process already holds (dlt's or dbt's connection in the demo).
4. GE knows no regex operator for an unknown dialect ("Regex is not supported for dialect duckdb");
   pointing its dialect module at PostgreSQL's gives it `~` (a full match in DuckDB: our patterns
   are written to mean the same under both semantics) and PostgreSQL's type classes for type checks.
"""

from __future__ import annotations

import re

_installed = False


class _DuckDBDialectName:
    """Compares equal to 'duckdb', as GE's GXSqlDialect members compare equal to their names."""

    value = "duckdb"

    def __eq__(self, other: object) -> bool:
        return str(getattr(other, "value", other)).lower() == "duckdb"

    def __hash__(self) -> int:
        return hash("duckdb")


def install() -> None:
    global _installed
    if _installed:
        return
    import duckdb_engine
    import great_expectations.execution_engine.sqlalchemy_execution_engine as ge_sql
    import sqlalchemy as sa
    import sqlalchemy.dialects.postgresql as pg

    ge_sql._PERSISTED_CONNECTION_DIALECTS = (*ge_sql._PERSISTED_CONNECTION_DIALECTS, _DuckDBDialectName())

    original_init = ge_sql.SqlAlchemyExecutionEngine.__init__

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if self.engine is not None and self.engine.dialect.name == "duckdb":
            self.dialect_module = pg

    ge_sql.SqlAlchemyExecutionEngine.__init__ = __init__

    extra_types = {
        "varchar": sa.VARCHAR,
        "double": pg.DOUBLE_PRECISION,
        "float": pg.REAL,
        "hugeint": sa.NUMERIC,
        "decimal": sa.NUMERIC,
    }

    def sa_type(dialect, data_type: str):
        base = re.sub(r"\(.*\)", "", data_type).strip().lower()
        cls = extra_types.get(base) or dialect.ischema_names.get(base)
        return cls() if cls is not None else sa.types.NullType()

    def get_columns(self, connection, table_name, schema=None, **kw):
        rows = connection.execute(
            sa.text(
                "select column_name, data_type, is_nullable from information_schema.columns "
                "where table_schema = :schema and table_name = :table order by ordinal_position"
            ),
            {"schema": schema or "main", "table": table_name},
        ).fetchall()
        if not rows:
            raise sa.exc.NoSuchTableError(f"{schema}.{table_name}")
        return [
            {"name": name, "type": sa_type(self, data_type), "nullable": nullable == "YES", "default": None}
            for name, data_type, nullable in rows
        ]

    duckdb_engine.Dialect.get_columns = get_columns

    def connect(self, *cargs, **cparams):
        # DuckDB lets one process open a file several times only with one configuration: dlt, dbt and
        # warehouse.query open it with the default one, duckdb-engine adds a user agent to it
        import duckdb

        config = {**cparams.get("config", {}), **cparams.get("url_config", {})}
        return duckdb_engine.ConnectionWrapper(duckdb.connect(cparams.get("database", ":memory:"), config=config))

    duckdb_engine.Dialect.connect = connect
    _installed = True
