"""A durable, encrypted home for a rotating credential (TikTok's refresh token).

A vendor that rotates its refresh token on every refresh revokes the one it was
sent: the new one must outlive the run that received it, whatever happens to the
rest of that run. dlt's source state is not enough (it is committed with the load
and discarded when the run fails), so the token is also written here, the moment
it is issued: a small file, Fernet-encrypted with a key derived from the client
secret (the file alone is useless), replaced atomically (write, fsync, rename) so
that a crash leaves the old or the new token, never half of one, readable by its
owner only. `exclusive()` holds a lock file while a run refreshes and writes, so two runs
at once (a demo and a manual ingest) refresh one after the other, the second with the
token the first wrote, instead of each killing the other's token.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

log = logging.getLogger("pcdata.ingestion")


def cipher(purpose: str, secret: str) -> Fernet:
    """A Fernet key derived from a secret the runner already holds (never stored)."""
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"{purpose}:{secret}".encode()).digest()))


@dataclass(frozen=True)
class StoredToken:
    token: str
    issued_at: str  # ISO 8601, UTC: the newest of several candidates is tried first
    where: str  # "token file", "source state": said in errors, never the token


class TokenStore:
    """One encrypted token in one file. `path=None`: no file (the source state alone)."""

    def __init__(self, path: str | Path | None, fernet: Fernet, vendor: str):
        self.path = Path(path) if path else None
        self.fernet = fernet
        self.vendor = vendor

    @contextlib.contextmanager
    def exclusive(self):
        """One refresher at a time on this token (an advisory lock beside the token file)."""
        if self.path is None:
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def load(self) -> StoredToken | None:
        if self.path is None or not self.path.exists():
            return None
        try:
            entry = json.loads(self.path.read_text())
            token = self.fernet.decrypt(entry["token"].encode()).decode()
        except (ValueError, KeyError, InvalidToken):
            log.warning(
                "%s: the token file %s cannot be read or decrypted (client secret changed?); ignoring it",
                self.vendor,
                self.path,
            )
            return None
        return StoredToken(token, entry.get("issued_at", ""), "token file")

    def save(self, token: str) -> str:
        """Write `token` durably before anything else uses it; returns its issue time."""
        issued_at = datetime.now(UTC).isoformat()
        if self.path is None:
            return issued_at
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        payload = json.dumps({"token": self.fernet.encrypt(token.encode()).decode(), "issued_at": issued_at})
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w") as f:  # mkstemp creates it 0600
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        try:  # the rename itself must survive a power cut too
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            pass
        return issued_at
