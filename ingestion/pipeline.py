"""Running a source: one dlt pipeline per source, into its own `raw_<source>` dataset.

The destination is chosen by configuration alone (`pcdata.destination`, see
`warehouse.settings`): the DuckDB warehouse file by default, or BigQuery with
dlt's own `destination.bigquery` settings. Load files are parquet, never
insert-values.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dlt
import sqlalchemy as sa
from dlt.common.pipeline import LoadInfo
from dlt.common.storages.load_package import PackageStorage

from warehouse import Settings

from .parallel import Outcome, Schedule, run_sources
from .registry import SOURCES, in_load_order
from .sources.http import scrub

log = logging.getLogger("pcdata.ingestion")


@dataclass
class LoadResult:
    source: str
    dataset: str
    rows_loaded: dict[str, int]  # this run, per table
    seconds: float
    load_info: LoadInfo
    # rows per table of load packages an interrupted run (e.g. killed during its load) left behind,
    # finished before this run extracted anything
    finished_pending: dict[str, int] = field(default_factory=dict)


class IngestionFailed(RuntimeError):
    pass


def duckdb_destination(path: Path):
    """dlt's DuckDB destination on the warehouse file, with row order not kept on insert.

    Every load inserts whole parquet files (into a merge's staging table, then staging into raw),
    and keeping the files' row order constrains how DuckDB parallelises them. Without it, at scale
    200, the Firebase load step (10.7 million events) took 57.8 s instead of 70.8 s, at a process
    peak of 4.0 GiB instead of 3.7 (the app tables' loads, dominated by the merge's deduplicating
    window, did not change). Nothing reads raw in its row order: every query that needs one says it."""
    from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

    return dlt.destinations.duckdb(DuckDbCredentials(str(path), global_config={"preserve_insertion_order": False}))


class Runner:
    def __init__(self, settings: Settings, app_engine: sa.Engine | None = None):
        self.settings = settings
        self._app_engine = app_engine
        self._lock = threading.Lock()  # sources run in threads (run_all): one app engine for all
        self._rows_lock = threading.Lock()

    def destination(self):
        if self.settings.destination == "duckdb":
            return duckdb_destination(self.settings.warehouse)
        return self.settings.bigquery.dlt_destination()  # the project, location and credentials every stage uses

    def pipeline(self, source: str) -> dlt.Pipeline:
        return dlt.pipeline(
            pipeline_name=f"pcdata_{source}",
            destination=self.destination(),
            dataset_name=SOURCES[source].dataset,
            pipelines_dir=str(self.settings.pipelines_dir),
        )

    def app_engine(self) -> sa.Engine:
        with self._lock:
            if self._app_engine is None:
                from .embedded_postgres import app_database_url

                self._app_engine = sa.create_engine(app_database_url(self.settings.pgdata))
            return self._app_engine

    def rows(self, source: str, table: str, columns: str) -> list[tuple]:
        """`select <columns> from <table>` in a source's raw dataset; no rows when it was never loaded."""
        # one reader at a time: two dependants starting together (api_adresse, sirene) would otherwise
        # open the same pipeline's working directory (pcdata_app) from two threads at once
        with self._rows_lock:
            pipeline = self.pipeline(source)
            if not pipeline.default_schema_name or table not in pipeline.default_schema.data_table_names():
                return []
            # tuples whatever the destination: BigQuery's Row objects do not sort, and callers sort and unpack rows
            return [tuple(row) for row in pipeline.dataset().query(f"select {columns} from {table}").fetchall()]

    def run_all(
        self,
        names: list[str],
        workers: int = 1,
        on_start: Callable[[str], None] | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> list[Outcome]:
        """Load `names`, `workers` at a time, each after the sources it needs (see `ingestion.parallel`);
        one outcome per source, in load order. A failure does not stop the others: look at each outcome."""
        schedule = Schedule.of(
            in_load_order(names), lambda name: SOURCES[name].needs, [n for n in names if SOURCES[n].paced]
        )
        if workers > 1:
            _import_before_threads()
        with self._warehouse_held_open(workers):
            return run_sources(schedule, self.run, workers, on_start, on_outcome)

    @contextmanager
    def _warehouse_held_open(self, workers: int) -> Iterator[None]:
        """Keep one connection to the DuckDB file open while sources load into it from several threads.

        Each pipeline opens and closes its own connection; from concurrent threads, one closing the
        last connection (DuckDB drops the database from its instance cache) while another opens the
        file fails with "Unique file handle conflict: Cannot attach". With this connection held, every
        pipeline attaches to the same open database, and DuckDB's transactions keep the loads (one
        dataset each) apart: no lock around the load step is needed."""
        if workers <= 1 or self.settings.destination != "duckdb":
            yield
            return
        import duckdb

        self.settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
        held = duckdb.connect(str(self.settings.warehouse))
        try:
            yield
        finally:
            held.close()

    def run(self, source: str) -> LoadResult:
        """Load a source: first whatever an interrupted run left pending, then this run's data."""
        spec = SOURCES[source]
        started = time.monotonic()
        with self._only_run_of(source):
            try:
                pipeline = self.pipeline(source)
                _drop_dead_extracts(pipeline)
                pending = self._finish_pending(pipeline)
                info = pipeline.run(spec.build(self), loader_file_format="parquet")
            except Exception as exc:
                raise IngestionFailed(f"ingest {source} failed: {_root_cause(exc)}") from exc
        trace = pipeline.last_trace
        normalized = trace.last_normalize_info if trace is not None else None
        counts = normalized.row_counts if normalized is not None else {}
        rows = {table: count for table, count in counts.items() if not table.startswith("_dlt")}
        return LoadResult(source, spec.dataset, rows, time.monotonic() - started, info, pending)

    @contextmanager
    def _only_run_of(self, source: str) -> Iterator[None]:
        """Hold a source's lock while it runs. dlt keeps a pipeline's state and packages in its working
        folder and does not guard it: two runs of one source at once (two `pcdata ingest` started
        together) would extract, normalise and load each other's packages. The second is refused."""
        self.settings.pipelines_dir.mkdir(parents=True, exist_ok=True)
        # beside the working folder, not in it: dlt may wipe that folder whole
        with (self.settings.pipelines_dir / f".pcdata_{source}.lock").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise IngestionFailed(
                    f"ingest {source} refused: another run is loading it into {self.settings.pipelines_dir} "
                    "(a `pcdata ingest` still running?); wait for it to end, then run this one again"
                ) from None
            yield  # the lock goes with the file's closing, or with the process if it is killed

    def _finish_pending(self, pipeline: dlt.Pipeline) -> dict[str, int]:
        """Load the packages a killed or failed run left (extracted or normalised, not loaded), and say so.

        dlt's `run` would load them and return WITHOUT extracting this run's data; loading them
        first, explicitly, keeps `run` doing what it says. Their jobs are idempotent (merge keys,
        delete-insert), so a package that was half loaded when the run died loads again whole.
        """
        if not pipeline.has_pending_data:
            return {}
        extracted = Path(pipeline.working_dir) / "normalize" / "extracted"
        normalized = set(pipeline.list_normalized_load_packages())
        for load_id in pipeline.list_extracted_load_packages():
            # killed between normalize's commit (new/<id> renamed to normalized/<id>, atomic) and its clean-up
            # of the extracted copy: the normalised package is whole, the extracted one is stale, and
            # normalising it again would fail on the rename
            if load_id in normalized:
                shutil.rmtree(Path(pipeline.working_dir) / "load" / "new" / load_id, ignore_errors=True)
                shutil.rmtree(extracted / load_id, ignore_errors=True)
            # killed while normalize deleted a package with nothing to load (a run that found no new rows):
            # extract commits a package whole (one rename), so a part missing means the delete was cut short,
            # and normalising the rest fails on the missing file; finish the delete, there is nothing to lose
            elif not all((extracted / load_id / part).exists() for part in _PACKAGE_PARTS):
                shutil.rmtree(extracted / load_id, ignore_errors=True)
        if not pipeline.has_pending_data:
            return {}
        if pipeline.list_extracted_load_packages():
            pipeline.normalize()
        load_ids = list(pipeline.list_normalized_load_packages())
        rows = _package_rows(pipeline, load_ids)
        pipeline.load()
        log.warning(
            "%s: finished %d load package(s) left by an interrupted run (%s): %s",
            pipeline.pipeline_name,
            len(load_ids),
            ", ".join(load_ids),
            ", ".join(f"{t} {n}" for t, n in sorted(rows.items())) or "no rows",
        )
        return rows


def _drop_dead_extracts(pipeline: dlt.Pipeline) -> None:
    """Remove what a run killed during its extract left: dlt extracts into a folder of its own under
    `normalize/` (a random name) and moves each package to `normalize/extracted` once whole, so such a
    folder outlives its run only if the run died. Nothing in it was committed; the next extract reads
    the same data again. Left alone, a killed first load of a large source would keep its gigabytes."""
    normalize = Path(pipeline.working_dir) / "normalize"
    if not normalize.is_dir():
        return
    for folder in normalize.iterdir():
        if folder.is_dir() and folder.name != "extracted":
            size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
            shutil.rmtree(folder)
            log.warning(
                "%s: removed %s, the extract of a run that did not end (%.1f MB)",
                pipeline.pipeline_name,
                folder,
                size / 1e6,
            )


# what normalize reads from every extracted package (dlt's PackageStorage writes all three at creation)
_PACKAGE_PARTS = (
    PackageStorage.SCHEMA_FILE_NAME,
    PackageStorage.LOAD_PACKAGE_STATE_FILE_NAME,
    PackageStorage.NEW_JOBS_FOLDER,
)

# imported lazily by dlt and the sources, and circular inside: two threads importing pandas at once
# (the first Arrow page of two sources) get "partially initialized module 'pandas' has no attribute
# 'DataFrame'". Imported once here, before any thread starts.
IMPORTED_BEFORE_THREADS = (
    "pandas",
    "pyarrow",
    "pyarrow.compute",
    "pyarrow.csv",
    "pyarrow.parquet",
    "dlt.common.libs.pandas",
    "dlt.common.libs.pyarrow",
)


def _import_before_threads() -> None:
    import importlib

    for module in IMPORTED_BEFORE_THREADS:
        importlib.import_module(module)


def _package_rows(pipeline: dlt.Pipeline, load_ids: list[str]) -> dict[str, int]:
    """Rows per table in normalised packages, from their parquet files' metadata (nothing is read)."""
    import pyarrow.parquet as pq

    rows: dict[str, int] = {}
    for load_id in load_ids:
        info = pipeline.get_load_package_info(load_id)
        for state in ("new_jobs", "started_jobs", "completed_jobs"):  # completed: loaded before the kill
            for job in info.jobs.get(state, []):
                table = job.job_file_info.table_name
                if table.startswith("_dlt") or not job.file_path.endswith(".parquet"):
                    continue
                rows[table] = rows.get(table, 0) + pq.ParquetFile(job.file_path).metadata.num_rows
    return rows


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return scrub(f"{type(exc).__name__}: {exc}")
