"""Tests of the fact-check stores (``sqlite_factchecks.py`` and ``redis_factchecks.py``, on a real Redis): one contract.

Each test runs on both backends; the Redis one is skipped with the reason where no Redis answers (a failure
under ``CLAIMS_REQUIRE_SERVICES=1``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from schemas.factcheck_archive import ImportJob, ImportReport, Rejection
from service.stores.factchecks.factcheck_store import Changes, FactCheckStore, StoredFactCheck, Written
from service.stores.factchecks.redis_factchecks import RedisFactChecks
from service.stores.factchecks.sqlite_factchecks import SqliteFactChecks

OpenStore = Callable[[], FactCheckStore]


@pytest.fixture(params=["sqlite", "redis"])
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OpenStore]:
    """Open stores on one backend's shared place (one file, one Redis database): each open is another process's."""
    opened: list[FactCheckStore] = []
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")

        def opener() -> FactCheckStore:
            opened.append(RedisFactChecks(url, retention_s=60))
            return opened[-1]
    else:

        def opener() -> FactCheckStore:
            opened.append(SqliteFactChecks(tmp_path / "data", retention_s=60))
            return opened[-1]

    yield opener
    for store in opened:
        await store.close()


def row(url: str, text: str = "claim", vector: bytes | None = b"\x00\x00\x80?") -> StoredFactCheck:
    """Return a row of a fact-check at ``url`` (its vector: one float32 1.0)."""
    return StoredFactCheck(url, f'{{"url": "{url}", "claim_reviewed": "{text}"}}', vector, "test/embedder")


async def test_upserts_count_new_and_replaced_rows_and_move_the_version(open_store: OpenStore) -> None:
    """New URLs are imported, known ones updated (a URL twice in one write: once each), each write one version."""
    store = open_store()
    assert await store.version() == 0
    assert await store.upsert([row("https://a.example/1"), row("https://a.example/2")]) == Written(1, 2, 0)
    written = await store.upsert(
        [row("https://a.example/2", "new"), row("https://a.example/3"), row("https://a.example/3", "x")]
    )
    assert written == Written(2, 1, 2)
    assert await store.count() == 3
    assert await store.get("https://a.example/3") == row("https://a.example/3", "x")
    assert await store.get("https://a.example/none") is None


async def test_another_process_reads_only_what_changed_since_its_version(open_store: OpenStore) -> None:
    """A second opening sees the first's writes; from a version, only the rows written after it, removals included."""
    writer, reader = open_store(), open_store()
    await writer.upsert([row("https://a.example/1"), row("https://a.example/2")])
    assert await reader.changes_since(0) == Changes(1, [row("https://a.example/1"), row("https://a.example/2")])
    assert await writer.remove("https://a.example/1") is True
    assert await writer.remove("https://a.example/1") is False
    await writer.upsert([row("https://a.example/3", vector=None)])
    changes = await reader.changes_since(1)
    assert changes.version == 3
    assert sorted(changes.rows, key=lambda r: r.url) == [
        StoredFactCheck("https://a.example/1", None, None, None),
        StoredFactCheck("https://a.example/3", row("https://a.example/3").record, None, "test/embedder"),
    ]
    assert await reader.changes_since(3) == Changes(3, [])
    assert (await reader.count(), await reader.get("https://a.example/1")) == (2, None)


async def test_a_reader_ahead_of_the_store_starts_over(open_store: OpenStore, request: pytest.FixtureRequest) -> None:
    """A store whose version went below the reader's (a Redis flushed, a file replaced) hands over every row, reset."""
    store = open_store()
    await store.upsert([row("https://a.example/1")])
    changes = await store.changes_since(5)
    assert changes == Changes(1, [row("https://a.example/1")], reset=True)


async def test_import_jobs_are_saved_for_any_process_to_show(open_store: OpenStore) -> None:
    """An import job saved by one opening is read whole by another; an unknown id is None."""
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    report = ImportReport(imported=3, updated=1, rejected=1, rejections=[Rejection(at="line 9", reason="no url")])
    job = ImportJob(
        id="imp_" + "0" * 24, state="running", total=10, processed=5, report=report, created_at=now, updated_at=now
    )
    await open_store().save_import(job)
    assert await open_store().load_import(job.id) == job
    assert await open_store().load_import("imp_" + "1" * 24) is None


async def test_a_flushed_redis_is_seen_as_a_reset(redis_url: str) -> None:
    """A Redis that restarted empty has version 0: a replica holding version 1 is told to start over, with nothing."""
    store = RedisFactChecks(redis_url, retention_s=60)
    try:
        await store.upsert([row("https://a.example/1")])
        redis.Redis.from_url(redis_url).delete("claims:factchecks:version", "claims:factchecks:records",
                                               "claims:factchecks:changes")  # fmt: skip
        assert await store.changes_since(1) == Changes(0, [], reset=True)
    finally:
        await store.close()


async def test_an_unreachable_redis_is_a_503_naming_it_without_its_password() -> None:
    """No Redis at the URL: every call is ``StoreUnavailable``, the detail naming the Redis, never the password."""
    from service.errors import StoreUnavailable

    store = RedisFactChecks("redis://:s3cret@127.0.0.1:1/0", retention_s=60)
    try:
        with pytest.raises(StoreUnavailable) as raised:
            await store.version()
        assert "s3cret" not in raised.value.detail
        assert raised.value.detail.startswith("the fact-check archive on Redis redis://:***@127.0.0.1:1/0")
        assert await store.health() == raised.value.detail
    finally:
        await store.close()
