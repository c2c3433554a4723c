"""The embedded archive: fact-checks, their vectors and import jobs in one SQLite file under ``data_dir``.

Processes on one machine (``claims serve --workers N``, ``claims worker``) share the file: each write is one
``BEGIN IMMEDIATE`` transaction that takes the version one higher. All SQL runs on one thread per store, off
the event loop; a SQLite failure is ``StoreUnavailable`` (a 503 naming the file), and a damaged file is
refused at start-up with a one-line ``ConfigError``, as the job store does.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from schemas.factcheck_archive import ImportJob
from service.errors import ConfigError, StoreUnavailable
from service.stores.factchecks.factcheck_store import Changes, StoredFactCheck, Written
from service.stores.jobs.sqlite_check import create_whole, damage, described, open_on_thread

T = TypeVar("T")
DATABASE = "factchecks.db"
SCHEMA = """
CREATE TABLE IF NOT EXISTS factchecks (
    url TEXT PRIMARY KEY,
    record TEXT,
    vector BLOB,
    embedder TEXT,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS factchecks_by_version ON factchecks (version);
CREATE TABLE IF NOT EXISTS imports (id TEXT PRIMARY KEY, job TEXT NOT NULL, updated_at REAL NOT NULL);
"""
UPSERT = (
    "INSERT INTO factchecks (url, record, vector, embedder, version) VALUES (?, ?, ?, ?, ?) ON CONFLICT (url) DO "
    "UPDATE SET record = excluded.record, vector = excluded.vector, embedder = excluded.embedder, "
    "version = excluded.version"
)
ROW = "SELECT url, record, vector, embedder FROM factchecks"


class SqliteFactChecks:
    """The ``FactCheckStore`` of the embedded default."""

    def __init__(self, data_dir: Path, *, retention_s: float) -> None:
        self._path = data_dir / DATABASE
        self._retention_s = retention_s
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claims-factchecks-db")
        self._connection: sqlite3.Connection | None = None
        open_on_thread(self._thread, data_dir, self._connect, "the fact-check archive")

    def _connect(self) -> None:
        """Check the file (refusing a damaged one), create it whole when absent, and open it in WAL mode."""
        problem = damage(self._path)
        if problem is not None:
            raise ConfigError(
                f"the fact-check archive {self._path} is damaged ({problem}); move it aside and import the "
                "fact-checks again"
            )
        create_whole(self._path, SCHEMA)
        connection = sqlite3.connect(self._path, timeout=30, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        self._connection = connection

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` on the store's thread; a SQLite failure is ``StoreUnavailable``."""
        connection = self._connection
        if connection is None:
            raise StoreUnavailable(f"the fact-check archive {self._path} is closed")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, work, connection)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"the fact-check archive {self._path} cannot be used ({described(exc)})") from exc

    @staticmethod
    @contextmanager
    def _transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """Hold the write lock for one transaction (other processes wait, up to the busy timeout)."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @staticmethod
    def _version(connection: sqlite3.Connection) -> int:
        """Return the highest version any row carries (0 for an empty archive)."""
        return int(connection.execute("SELECT COALESCE(MAX(version), 0) FROM factchecks").fetchone()[0])

    async def upsert(self, rows: Sequence[StoredFactCheck]) -> Written:
        """Write the rows by URL in one transaction under a new version; count the new and the replaced."""

        def upsert(connection: sqlite3.Connection) -> Written:
            imported = updated = 0
            with self._transaction(connection):
                version = self._version(connection) + 1
                for row in rows:
                    found = connection.execute("SELECT record FROM factchecks WHERE url = ?", (row.url,)).fetchone()
                    if found is not None and found[0] is not None:
                        updated += 1
                    else:
                        imported += 1
                    connection.execute(UPSERT, (row.url, row.record, row.vector, row.embedder, version))
            return Written(version=version, imported=imported, updated=updated)

        return await self._run(upsert)

    async def remove(self, url: str) -> bool:
        """Leave a tombstone for ``url`` under a new version; say whether a fact-check was there."""

        def remove(connection: sqlite3.Connection) -> bool:
            with self._transaction(connection):
                version = self._version(connection) + 1
                cursor = connection.execute(
                    "UPDATE factchecks SET record = NULL, vector = NULL, embedder = NULL, version = ? "
                    "WHERE url = ? AND record IS NOT NULL",
                    (version, url),
                )
                return cursor.rowcount > 0

        return await self._run(remove)

    async def get(self, url: str) -> StoredFactCheck | None:
        """Return the row of ``url`` unless there is none or it was removed."""

        def get(connection: sqlite3.Connection) -> StoredFactCheck | None:
            found = connection.execute(f"{ROW} WHERE url = ? AND record IS NOT NULL", (url,)).fetchone()
            return None if found is None else StoredFactCheck(*found)

        return await self._run(get)

    async def version(self) -> int:
        """Return the store's version (an index lookup)."""
        return await self._run(self._version)

    async def changes_since(self, version: int) -> Changes:
        """Return the rows stamped after ``version`` and the highest version among them (or ``version``)."""

        def changes(connection: sqlite3.Connection) -> Changes:
            connection.execute("BEGIN")  # one snapshot: the version and the rows agree
            try:
                current = self._version(connection)
                since = version if current >= version else 0
                found = connection.execute(f"{ROW} WHERE version > ? ORDER BY url", (since,)).fetchall()
            finally:
                connection.execute("COMMIT")
            rows = [StoredFactCheck(*row) for row in found]
            return Changes(version=max(current, since), rows=rows, reset=since != version)

        return await self._run(changes)

    async def count(self) -> int:
        """Return how many fact-checks the archive holds (tombstones not counted)."""
        return await self._run(
            lambda connection: int(
                connection.execute("SELECT COUNT(*) FROM factchecks WHERE record IS NOT NULL").fetchone()[0]
            )
        )

    async def save_import(self, job: ImportJob) -> None:
        """Store an import job's state; jobs untouched for longer than the retention are deleted."""
        now = time.time()

        def save(connection: sqlite3.Connection) -> None:
            with self._transaction(connection):
                connection.execute(
                    "INSERT INTO imports (id, job, updated_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                    "job = excluded.job, updated_at = excluded.updated_at",
                    (job.id, job.model_dump_json(), now),
                )
                connection.execute("DELETE FROM imports WHERE updated_at < ?", (now - self._retention_s,))

        await self._run(save)

    async def load_import(self, job_id: str) -> ImportJob | None:
        """Return an import job's state, or None."""

        def load(connection: sqlite3.Connection) -> str | None:
            found = connection.execute("SELECT job FROM imports WHERE id = ?", (job_id,)).fetchone()
            return None if found is None else str(found[0])

        text = await self._run(load)
        return None if text is None else ImportJob.model_validate_json(text)

    async def health(self) -> str | None:
        """Return why the archive cannot be read now, or None."""
        try:
            await self.version()
        except StoreUnavailable as exc:
            return exc.detail
        return None

    async def close(self) -> None:
        """Close the connection and the store's thread."""
        if self._connection is not None:
            self._thread.submit(self._connection.close).result()
            self._connection = None
        self._thread.shutdown(wait=True)
