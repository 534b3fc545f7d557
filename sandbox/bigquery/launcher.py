"""Start bqemulator with the shims the platform's tests need; run by the emulator venv's python (`.bqemu/`).

    .bqemu/bin/python sandbox/bigquery/launcher.py start --rest-host 127.0.0.1 --rest-port 9050 ...
    .bqemu/bin/python sandbox/bigquery/launcher.py check     # the spatial extension loads offline

The same command line as `bqemulator`. It imports nothing from the project (the project's venv pins
other sqlglot and duckdb versions), and patches bqemulator 1.4.0 in process, never on disk:
1. the spatial extension bqemulator requires is LOADed from the `duckdb-extension-spatial` wheel
   instead of `INSTALL spatial`, which downloads it (no network here);
2. multipart uploads whose media part is `*/*` (google-cloud-bigquery's `load_table_from_json`) are accepted;
3. gzip load files (dlt's default jsonl) are gunzipped before DuckDB's COPY reads them;
4. a failed jobs.query is answered as an incomplete job, so the client polls the job and raises its error
   instead of returning 0 rows (dlt runs all its SQL through jobs.query: its errors would vanish),
   and an unexpected handler exception is a 400, not a 500 the client retries for minutes;
5. with no row access policy anywhere, queries skip the row-access rewrite, which inlines every view
   of a query recursively (views are real DuckDB views: they resolve without it) and made a test on an
   intermediate view take 5 s instead of 0.1 s;
6. a parsed statement is remembered: bqemulator parses the same query text again in each of its
   detection and rewrite passes (ten or more per job), which was over half its busy time; a repeat
   costs a copy of the remembered tree (about 4x cheaper than a parse) instead.
Each patch checks that the private name it touches exists, so a new bqemulator fails at start, loudly.
"""

from __future__ import annotations

import collections
import functools
import glob
import gzip
import os
import shutil
import sys
import tempfile
import threading

VERSION = "1.4.0"


def spatial_extension() -> str:
    import duckdb_extension_spatial

    found = glob.glob(
        os.path.join(os.path.dirname(duckdb_extension_spatial.__file__), "extensions", "*", "spatial.duckdb_extension")
    )
    if not found:
        raise RuntimeError("duckdb-extension-spatial ships no spatial.duckdb_extension")
    return found[0]


def _patch_spatial() -> None:
    from bqemulator.storage import engine

    path = spatial_extension()

    def load_spatial(self) -> None:
        self._connection.execute(f"LOAD '{path}'")

    if not hasattr(engine.DuckDBEngine, "_load_spatial"):
        raise RuntimeError("bqemulator.storage.engine.DuckDBEngine._load_spatial is gone")
    engine.DuckDBEngine._load_spatial = load_spatial


def _patch_upload() -> None:
    from bqemulator.api.routes import upload

    upload._PERMITTED_MEDIA_CONTENT_TYPES = (*upload._PERMITTED_MEDIA_CONTENT_TYPES, "*/*")


def _patch_gzip_loads() -> None:
    from bqemulator.jobs import executor

    handlers = executor._LOAD_FORMAT_HANDLERS

    def gunzipping(handler):
        @functools.wraps(handler)
        def load(path: str, target_ref: str, ctx) -> None:
            with open(path, "rb") as f:
                compressed = f.read(2) == b"\x1f\x8b"
            if not compressed:
                return handler(path, target_ref, ctx)
            with tempfile.NamedTemporaryFile(suffix=".load", delete=False) as out, gzip.open(path, "rb") as src:
                shutil.copyfileobj(src, out)
            try:
                return handler(out.name, target_ref, ctx)
            finally:
                os.unlink(out.name)

        return load

    for fmt in ("CSV", "NEWLINE_DELIMITED_JSON", "JSON"):
        handlers[fmt] = gunzipping(handlers[fmt])


def _patch_jobs_query() -> None:
    from bqemulator.api.routes import jobs
    from fastapi.responses import JSONResponse

    path = "/bigquery/v2/projects/{project_id}/queries"
    route = next((r for r in jobs.router.routes if getattr(r, "path", None) == path and "POST" in r.methods), None)
    if route is None:
        raise RuntimeError(f"bqemulator has no POST {path} route")
    original = route.endpoint

    @functools.wraps(original)  # FastAPI reads the wrapped signature: same parameters and dependencies
    async def query(*args, **kwargs):
        try:
            response = await original(*args, **kwargs)
        except Exception as exc:
            if hasattr(exc, "http_status"):  # the emulator's own errors: its handlers answer them
                raise
            message = f"{type(exc).__name__}: {exc}"
            return JSONResponse(
                status_code=400,
                content={"error": {"code": 400, "message": message, "errors": [{"reason": "invalidQuery"}]}},
            )
        if isinstance(response, dict) and response.get("jobComplete") and response.get("errors"):
            # the job was stored failed: an incomplete answer makes the client fetch it and raise its errorResult
            return {"kind": response["kind"], "jobReference": response["jobReference"], "jobComplete": False}
        return response

    jobs.router.routes.remove(route)
    jobs.router.add_api_route(path.removeprefix(jobs.router.prefix), query, methods=["POST"])


def _patch_row_access() -> None:
    from bqemulator.sql import inner_query

    original = inner_query.rewrite_for_row_access

    @functools.wraps(original)
    def rewrite_for_row_access(bq_sql: str, *, project_id, caller, catalog) -> str:
        # no policy anywhere (the platform creates none): nothing to enforce, and the rewrite would inline
        # every view of the query recursively, re-parsing the whole view stack (5 s for one intermediate model)
        if not catalog.list_all_row_access_policies():
            return bq_sql
        return original(bq_sql, project_id=project_id, caller=caller, catalog=catalog)

    inner_query.rewrite_for_row_access = rewrite_for_row_access


def _patch_parse_memo(size: int = 256) -> None:
    from sqlglot.dialects.dialect import Dialect

    original = Dialect.parse
    memo: collections.OrderedDict[tuple, list] = collections.OrderedDict()
    lock = threading.Lock()  # the emulator answers requests on several threads

    @functools.wraps(original)
    def parse(self, sql, **opts):
        if opts:  # parser options change the tree: only the plain call is remembered
            return original(self, sql, **opts)
        key = (type(self), self.version, str(self.normalization_strategy), repr(self.settings), sql)
        with lock:
            trees = memo.get(key)
            if trees is not None:
                memo.move_to_end(key)
        if trees is None:
            trees = original(self, sql)  # a ParseError is raised each time, never remembered
            with lock:
                memo[key] = trees
                if len(memo) > size:
                    memo.popitem(last=False)
        # callers rewrite the trees they get in place: each gets its own copy, the remembered one stays pristine
        return [tree.copy() if tree is not None else None for tree in trees]

    Dialect.parse = parse


def main(argv: list[str]) -> None:
    import bqemulator

    if bqemulator.__version__ != VERSION:
        raise RuntimeError(f"the shims are written for bqemulator {VERSION}, found {bqemulator.__version__}")
    os.environ.setdefault("BQEMU_ENABLE_FORMAT_EXTENSIONS", "false")  # no avro download at each start
    _patch_spatial()
    if argv[:1] == ["check"]:
        import duckdb

        duckdb.connect().execute(f"LOAD '{spatial_extension()}'")
        print(f"bqemulator {VERSION}: spatial extension loads from {spatial_extension()}")
        return
    _patch_upload()
    _patch_gzip_loads()
    _patch_jobs_query()
    _patch_row_access()
    _patch_parse_memo()
    from bqemulator.cli import main as cli

    cli(argv, prog_name="bqemulator")


if __name__ == "__main__":
    main(sys.argv[1:])
