"""Where the platform's data lives, shared by every stage (ingestion, dbt, quality, models, CLI).

`Settings` reads dlt's configuration, the one source of truth: `.dlt/config.toml`
(committed defaults), `.dlt/secrets.toml` (never committed) or environment
variables in dlt's form (`PCDATA__HOME`, `DESTINATION__BIGQUERY__...`).
`query` and `read_table` read the warehouse that configuration selects;
`bigquery.BigQueryConfig` is BigQuery's project, location and credentials,
the one connection every stage makes (dlt, dbt, quality gates, ML).
"""

from .query import query, read_table, table_name, tables
from .settings import REPO, Settings

__all__ = ["REPO", "Settings", "query", "read_table", "table_name", "tables"]
