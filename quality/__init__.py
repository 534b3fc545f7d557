"""Data quality gates (Great Expectations), as code.

- `raw.py`: one suite per raw table, grouped in one checkpoint per raw dataset, from the dlt schema
  stored in the dataset and from `knowledge.py` (what we know of each vendor);
- `marts.py`: one suite per mart, one checkpoint per mart schema, derived from the dbt manifest;
- `gate.py`: runs them in the warehouse (`pcdata quality raw|marts`), keeps results and row-count
  history under `<home>/quality/`, writes Data Docs under `<reports>/quality/`;
- `duckdb_fix.py`: what GE's SQL engine needs on DuckDB.
- `bigquery_client.py`: GE's BigQuery engine on the platform's configured credentials.
"""
