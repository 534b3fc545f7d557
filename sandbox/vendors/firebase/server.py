"""Firebase Analytics sandbox: the GA4 export of the app's events, as files in a bucket.

No HTTP API: Firebase exports to BigQuery daily tables (`events_YYYYMMDD`). At start-up the sandbox
writes the world's events as those tables exported to newline-delimited JSON, one gzip file per day, under
`files_dir/firebase` (a local stand-in for the bucket the export is copied to, or for the export dataset
itself), once per world (`ensure_export`); see `export.py` for the schema.
"""

from __future__ import annotations

from pathlib import Path

from sandbox.framework import VendorSandbox

from .export import ensure_export


class FirebaseSandbox(VendorSandbox):
    name = "firebase"

    def __init__(self, world, api_key, seed=0, files_dir=None):
        super().__init__(world, api_key, seed, files_dir)
        if files_dir is not None:
            ensure_export(world, Path(files_dir) / "firebase")

    @classmethod
    def client_config(cls, base_url, api_key, files_dir):
        return {"bucket_url": (Path(files_dir) / "firebase").resolve().as_uri()}

    def routes(self):
        return []
