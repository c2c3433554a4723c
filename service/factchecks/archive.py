"""The archive a process searches: the store's fact-checks held in a matcher, kept up to date with the store.

At start-up (or at the first search) every row is read with its stored vector and handed to the matcher: a
restart embeds nothing again. Before each search the store's version is read (one query or one Redis GET);
when another process wrote since, only the rows changed since the version held are read and applied, so
replicas see each other's imports and removals. A store that cannot be reached then is logged, and the
search answers from what is held (an extraction never fails for it); before anything was ever loaded, it is
a 503.

Vectors are stored as float32 bytes with the embedder's tag; a row without a vector, or whose vector came
from another embedder (the ``factcheck_embedder`` setting changed), is embedded again once, at load, and its
new vector stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError

from schemas.factchecks import FactCheck, FactCheckMatch
from service.errors import StoreUnavailable, UpstreamError
from service.factchecks.embedder_choice import configured_embedder
from service.settings import Settings
from service.stores.factchecks.factcheck_store import FactCheckStore, StoredFactCheck, Written
from service.stores.factchecks.factory import open_factcheck_store

if TYPE_CHECKING:  # the matcher, numpy and bm25s (about 45 MB) load with the first fact-check held or searched
    import numpy as np

    from service.factchecks.embedders import Embedder
    from service.factchecks.matching import FactCheckMatcher

logger = logging.getLogger("claims.factchecks")
REEMBED_BATCH = 256  # stored fact-checks embedded again at a time (and their vectors stored) after a change


def vector_bytes(vectors: np.ndarray | None, row: int) -> bytes | None:
    """Return one row of ``vectors`` as float32 bytes (None without vectors)."""
    import numpy as np

    return None if vectors is None else np.ascontiguousarray(vectors[row], dtype=np.float32).tobytes()


class FactCheckArchive:
    """The fact-checks of the store, searchable in this process, re-read when the store's version moves."""

    def __init__(self, store: FactCheckStore, embedder: Embedder | None) -> None:
        self.store = store
        self._embedder = embedder
        self._tag = None if embedder is None else embedder.name
        self._built: FactCheckMatcher | None = None
        self._version = -1  # nothing loaded yet
        self._lock = asyncio.Lock()

    @property
    def loaded(self) -> bool:
        """Say whether the store's rows were read at least once."""
        return self._version >= 0

    def __len__(self) -> int:
        """Return how many fact-checks this process holds."""
        return 0 if self._built is None else len(self._built)

    @property
    def _matcher(self) -> FactCheckMatcher:
        """Return the matcher, made on first use: an archive never filled nor searched never loads it."""
        if self._built is None:
            from service.factchecks.matching import FactCheckMatcher

            self._built = FactCheckMatcher(self._embedder)
        return self._built

    async def sync(self) -> None:
        """Read what changed in the store since the version held (everything, the first time)."""
        if self.loaded and await self.store.version() == self._version:
            return
        async with self._lock:
            changes = await self.store.changes_since(max(self._version, 0))
            if changes.reset and self.loaded:
                logger.warning("the fact-check archive's store went back to version %d: reloading it", changes.version)
                for url in [row.url for row in changes.rows if row.record is None]:
                    self._matcher.remove(url)
            await self._apply(changes.rows)
            self._version = changes.version

    async def _apply(self, rows: Sequence[StoredFactCheck]) -> None:
        """Hand changed rows to the matcher: removals removed, the rest upserted with their stored vectors.

        Rows whose vector is missing or another embedder's (the configuration changed) are embedded again, a
        batch of ``REEMBED_BATCH`` at a time, and their new vectors stored, so the next start embeds nothing.
        """
        for row in rows:
            if row.record is None and self._built is not None:
                self._built.remove(row.url)
        present = [row for row in rows if row.record is not None]
        if not present:
            return
        if self._tag is None:  # lexical matching only: no vectors
            self._matcher.upsert([_record_of(row) for row in present], None)
            return
        current = [row for row in present if row.vector is not None and row.embedder == self._tag]
        if current:
            import numpy as np

            vectors = np.stack([np.frombuffer(row.vector or b"", dtype=np.float32) for row in current])
            self._matcher.upsert([_record_of(row) for row in current], vectors)
        stale = [row for row in present if not (row.vector is not None and row.embedder == self._tag)]
        if stale:
            logger.info(
                "embedding %d stored fact-checks with %s (once: their vectors are stored)", len(stale), self._tag
            )
        for start in range(0, len(stale), REEMBED_BATCH):
            await self._reembed(stale[start : start + REEMBED_BATCH])

    async def _reembed(self, rows: Sequence[StoredFactCheck]) -> None:
        """Embed stored rows again and store their vectors; an embedding model that fails leaves them lexical."""
        fact_checks = [_record_of(row) for row in rows]
        try:
            vectors = await self._matcher.vectors_for(fact_checks)
        except UpstreamError as exc:
            logger.warning("%d fact-checks held without vectors until the next start: %s", len(rows), exc.detail)
            self._matcher.upsert(fact_checks, None)
            return
        self._matcher.upsert(fact_checks, vectors)
        if vectors is not None:
            await self.store.upsert(
                [
                    StoredFactCheck(row.url, row.record, vector_bytes(vectors, i), self._tag)
                    for i, row in enumerate(rows)
                ]
            )

    async def fresh(self) -> None:
        """Sync before a search; a store out of reach is logged and what is held serves (a 503 if nothing is)."""
        try:
            await self.sync()
        except StoreUnavailable as exc:
            if not self.loaded:
                raise
            logger.warning("searching the fact-checks held in memory: %s", exc.detail)

    async def search(self, query: str, *, limit: int, language: str | None) -> list[FactCheckMatch]:
        """Return the fact-checks matching ``query``, best first."""
        await self.fresh()
        if self._built is None:  # nothing was ever held
            return []
        return await self._matcher.search(query, limit=limit, language=language)

    async def search_many(self, queries: Sequence[str], *, limit: int) -> list[list[FactCheckMatch]]:
        """Return the matches of each query, best first."""
        await self.fresh()
        if self._built is None:  # nothing was ever held
            return [[] for _ in queries]
        return await self._matcher.search_many(list(queries), limit=limit)

    async def upsert(self, fact_checks: Sequence[FactCheck]) -> Written:
        """Embed and store fact-checks (upserted by URL), then hold them here too; return what the store did."""
        vectors = await self._matcher.vectors_for(list(fact_checks))
        rows = [
            StoredFactCheck(
                check.url, check.model_dump_json(), vector_bytes(vectors, i), self._tag if vectors is not None else None
            )
            for i, check in enumerate(fact_checks)
        ]
        async with self._lock:
            written = await self.store.upsert(rows)
            latest = {check.url: i for i, check in enumerate(fact_checks)}  # a URL repeated: the last one stands
            kept = sorted(latest.values())
            self._matcher.upsert([fact_checks[i] for i in kept], None if vectors is None else vectors[kept])
            if written.version == self._version + 1:  # nobody else wrote meanwhile: what is held is the store's
                self._version = written.version
        return written

    async def get(self, url: str) -> FactCheck | None:
        """Return the stored fact-check of ``url``, or None."""
        row = await self.store.get(url)
        return None if row is None or row.record is None else FactCheck.model_validate_json(row.record)

    async def remove(self, url: str) -> bool:
        """Remove the fact-check of ``url`` from the store and from what is held; say whether it was there."""
        async with self._lock:
            removed = await self.store.remove(url)
            if self._built is not None:
                self._built.remove(url)
        return removed

    async def close(self) -> None:
        """Close the store."""
        await self.store.close()


def fact_check_of(fields: dict[str, str | None]) -> FactCheck | str:
    """Return the fact-check the fields make, or why they make none (the contract's own validation said)."""
    try:
        return FactCheck.model_validate(fields)
    except ValidationError as exc:
        return "; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'fact-check'}: {error['msg']}" for error in exc.errors()
        )


def _record_of(row: StoredFactCheck) -> FactCheck:
    """Return the fact-check a stored row holds (a removal has none; callers pass only present rows)."""
    return FactCheck.model_validate_json(row.record or "")


def archive_for(settings: Settings) -> FactCheckArchive:
    """Return the configured archive: its store opened (nothing read yet), the matcher it fills with its embedder.

    The embedder is the ``factcheck_embedder`` setting's (``embedder_choice``); the offline model is loaded only
    when a text is first embedded.
    """
    return FactCheckArchive(open_factcheck_store(settings), configured_embedder(settings))


async def preload(archive: FactCheckArchive) -> None:
    """Read the archive at start-up, so the first search pays nothing; a store out of reach is retried at it."""
    try:
        await archive.sync()
    except StoreUnavailable as exc:
        logger.warning("the fact-check archive was not loaded at start-up (loaded at the first search): %s", exc.detail)
    else:
        logger.info("fact-check archive loaded: %d fact-checks", len(archive))
