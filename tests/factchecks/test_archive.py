"""Tests of ``service/factchecks/archive.py``: the store's fact-checks in a matcher, vectors kept, replicas in step."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from schemas.factchecks import FactCheck
from service.factchecks.archive import FactCheckArchive
from service.multilingual.encoder import Vectors
from service.stores.factchecks.factcheck_store import FactCheckStore
from service.stores.factchecks.redis_factchecks import RedisFactChecks
from service.stores.factchecks.sqlite_factchecks import SqliteFactChecks

CHECKS = [
    FactCheck(url="https://fc.example/crime", claim_reviewed="Violent crime fell 15.2% in 2024", title="Crime down?"),
    FactCheck(url="https://fc.example/vaccine", claim_reviewed="The vaccine alters human DNA", title="Does it?"),
    FactCheck(url="https://fc.example/moon", claim_reviewed="The moon landing was staged in 1969", title="Staged?"),
]


class CountingEmbedder:
    """A deterministic embedder (words hashed into 64 dimensions, unit rows) that counts the texts it embeds."""

    def __init__(self, name: str = "test/hashed-words") -> None:
        self._name = name
        self.passages_embedded = 0

    @property
    def name(self) -> str:
        """Name the vector space."""
        return self._name

    def _embed(self, texts: Sequence[str]) -> Vectors:
        """Return one unit row a text: its words hashed into 64 buckets."""
        rows = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                rows[row, hashlib.sha256(word.encode()).digest()[0] % 64] += 1.0
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)

    async def queries(self, texts: Sequence[str]) -> Vectors:
        """Embed searches."""
        return self._embed(texts)

    async def passages(self, texts: Sequence[str]) -> Vectors:
        """Embed fact-checks, counting them."""
        self.passages_embedded += len(texts)
        return self._embed(texts)


OpenStore = Callable[[], FactCheckStore]


@pytest.fixture(params=["sqlite", "redis"])
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OpenStore]:
    """Open stores on one backend's shared place: each is another process's (a restart, a replica)."""
    opened: list[FactCheckStore] = []
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None

    def opener() -> FactCheckStore:
        store: FactCheckStore = (
            RedisFactChecks(url, retention_s=60) if url else SqliteFactChecks(tmp_path / "data", retention_s=60)
        )
        opened.append(store)
        return store

    yield opener
    for store in opened:
        await store.close()


def archive_on(store: FactCheckStore, embedder: CountingEmbedder) -> FactCheckArchive:
    """Return an archive on ``store`` whose matcher embeds with ``embedder``."""
    return FactCheckArchive(store, embedder)


async def test_a_restart_reads_the_stored_vectors_and_embeds_nothing(open_store: OpenStore) -> None:
    """Imported once (three passages embedded); a new process holds the three again without embedding any."""
    first = CountingEmbedder()
    written = await archive_on(open_store(), first).upsert(CHECKS)
    assert (written.imported, first.passages_embedded) == (3, 3)
    second = CountingEmbedder()
    restarted = archive_on(open_store(), second)
    await restarted.sync()
    assert (len(restarted), second.passages_embedded) == (3, 0)
    assert await restarted.get("https://fc.example/moon") == CHECKS[2]


async def test_vectors_of_another_embedder_are_made_again_once_and_stored(open_store: OpenStore) -> None:
    """A configuration with another embedder embeds the stored fact-checks at load, once: the next start does not."""
    await archive_on(open_store(), CountingEmbedder("test/old")).upsert(CHECKS)
    changed = CountingEmbedder("test/new")
    await archive_on(open_store(), changed).sync()
    assert changed.passages_embedded == 3
    after = CountingEmbedder("test/new")
    archive = archive_on(open_store(), after)
    await archive.sync()
    assert (len(archive), after.passages_embedded) == (3, 0)


async def test_a_replica_sees_another_s_imports_and_removals_at_its_next_search(open_store: OpenStore) -> None:
    """Two processes on one store: an import and a removal by one are in the other's matcher before it searches."""
    one, other = archive_on(open_store(), CountingEmbedder()), archive_on(open_store(), CountingEmbedder())
    await other.sync()
    assert len(other) == 0
    await one.upsert(CHECKS)
    await other.fresh()
    assert len(other) == 3
    assert await one.remove("https://fc.example/vaccine") is True
    await other.fresh()
    assert len(other) == 2
    await one.upsert([CHECKS[1]])
    await other.fresh()
    assert len(other) == 3


async def test_a_store_out_of_reach_is_a_503_before_anything_was_loaded(tmp_path: Path) -> None:
    """With nothing held yet, a search cannot answer: ``StoreUnavailable``; once loaded, what is held serves."""
    from service.errors import StoreUnavailable

    archive = archive_on(RedisFactChecks("redis://127.0.0.1:1/0", retention_s=60), CountingEmbedder())
    try:
        with pytest.raises(StoreUnavailable):
            await archive.fresh()
    finally:
        await archive.close()
    held = archive_on(SqliteFactChecks(tmp_path / "data", retention_s=60), CountingEmbedder())
    await held.sync()
    await held.upsert(CHECKS)
    await held.store.close()  # the store is gone from under a loaded archive
    await held.fresh()
    assert len(held) == 3
