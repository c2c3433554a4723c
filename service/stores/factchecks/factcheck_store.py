"""What the fact-check archive keeps, whichever backend keeps it: rows by URL, a version, import jobs.

A row is a fact-check as JSON, the vector its embedder gave it (float32 bytes, so a restart never embeds
again) and that embedder's tag (a vector from another embedder is not used). Every write takes the store's
version one higher and stamps the rows it wrote (a removed row is kept as a tombstone, its ``record`` None):
a process holding the archive in memory asks for the version before it searches and, when it moved, reads
only the rows changed since the version it holds. So replicas (and ``claims serve --workers N``) see each
other's imports and removals at their next search.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from schemas.factcheck_archive import ImportJob


@dataclass(frozen=True, slots=True)
class StoredFactCheck:
    """One row: the fact-check (JSON; None once removed), its vector (float32 bytes) and the embedder's tag."""

    url: str
    record: str | None
    vector: bytes | None = None
    embedder: str | None = None


@dataclass(frozen=True, slots=True)
class Written:
    """What an upsert did: the store's version after it, the rows new to the store and those replaced."""

    version: int
    imported: int
    updated: int


@dataclass(frozen=True, slots=True)
class Changes:
    """The rows changed after a version (tombstones included), and the version they bring the reader to.

    ``reset`` says the store's version went below the reader's (a Redis that restarted empty, a file replaced):
    the rows are then every row, and the reader starts over from them.
    """

    version: int
    rows: list[StoredFactCheck]
    reset: bool = False


class FactCheckStore(Protocol):
    """The archive's persistence: SQLite (embedded) or Redis (scaled out)."""

    async def upsert(self, rows: Sequence[StoredFactCheck]) -> Written:
        """Write the rows by URL in one step (a URL repeated: the last wins); return what was new and replaced."""
        ...

    async def remove(self, url: str) -> bool:
        """Remove one fact-check (a tombstone stays for the replicas); say whether it was there."""
        ...

    async def get(self, url: str) -> StoredFactCheck | None:
        """Return the row of ``url``, or None when there is none (or it was removed)."""
        ...

    async def version(self) -> int:
        """Return the store's version: it moves with every write."""
        ...

    async def changes_since(self, version: int) -> Changes:
        """Return the rows written after ``version`` (0: every row), with the version they bring the reader to."""
        ...

    async def count(self) -> int:
        """Return how many fact-checks the archive holds."""
        ...

    async def save_import(self, job: ImportJob) -> None:
        """Store (or replace) an import job's state, for any replica to show."""
        ...

    async def load_import(self, job_id: str) -> ImportJob | None:
        """Return an import job's state, or None when there is no such job (or it expired)."""
        ...

    async def health(self) -> str | None:
        """Return why the store cannot be used now, or None."""
        ...

    async def close(self) -> None:
        """Release connections and threads."""
        ...
