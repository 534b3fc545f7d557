"""Running a source: one dlt pipeline per source, into its own `raw_<source>` dataset.

The destination is chosen by configuration alone (`pcdata.destination`, see
`warehouse.settings`): the DuckDB warehouse file by default, or BigQuery with
dlt's own `destination.bigquery` settings. Load files are parquet, never
insert-values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import dlt
import sqlalchemy as sa
from dlt.common.pipeline import LoadInfo

from warehouse import Settings

from .registry import SOURCES


@dataclass
class LoadResult:
    source: str
    dataset: str
    rows_loaded: dict[str, int]  # this run, per table
    seconds: float
    load_info: LoadInfo


class IngestionFailed(RuntimeError):
    pass


class Runner:
    def __init__(self, settings: Settings, app_engine: sa.Engine | None = None):
        self.settings = settings
        self._app_engine = app_engine

    def destination(self):
        if self.settings.destination == "duckdb":
            return dlt.destinations.duckdb(str(self.settings.warehouse))
        return self.settings.bigquery.dlt_destination()  # the project, location and credentials every stage uses

    def pipeline(self, source: str) -> dlt.Pipeline:
        return dlt.pipeline(
            pipeline_name=f"pcdata_{source}",
            destination=self.destination(),
            dataset_name=SOURCES[source].dataset,
            pipelines_dir=str(self.settings.pipelines_dir),
        )

    def app_engine(self) -> sa.Engine:
        if self._app_engine is None:
            from .embedded_postgres import app_database_url

            self._app_engine = sa.create_engine(app_database_url(self.settings.pgdata))
        return self._app_engine

    def rows(self, source: str, table: str, columns: str) -> list[tuple]:
        """`select <columns> from <table>` in a source's raw dataset; no rows when it was never loaded."""
        pipeline = self.pipeline(source)
        if not pipeline.default_schema_name or table not in pipeline.default_schema.data_table_names():
            return []
        # tuples whatever the destination: BigQuery's Row objects do not sort, and callers sort and unpack rows
        return [tuple(row) for row in pipeline.dataset().query(f"select {columns} from {table}").fetchall()]

    def run(self, source: str) -> LoadResult:
        spec = SOURCES[source]
        started = time.monotonic()
        try:
            pipeline = self.pipeline(source)
            info = pipeline.run(spec.build(self), loader_file_format="parquet")
        except Exception as exc:
            raise IngestionFailed(f"ingest {source} failed: {_root_cause(exc)}") from exc
        # a run that only finished a package left pending by a killed run normalised nothing
        trace = pipeline.last_trace
        normalized = trace.last_normalize_info if trace is not None else None
        counts = normalized.row_counts if normalized is not None else {}
        rows = {table: count for table, count in counts.items() if not table.startswith("_dlt")}
        return LoadResult(source, spec.dataset, rows, time.monotonic() - started, info)


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return f"{type(exc).__name__}: {exc}"
