"""Tests of ``service/stores/cache/disk_cache.py``: a real diskcache damaged on disk in every way heals, never fails."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import diskcache
import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import Settings
from service.stores.cache.disk_cache import DiskReplyCache
from service.stores.cache.reply_cache import CachedReply
from tests.conftest import OPENAI_URL, hosted_settings
from tests.providers import openai_chat_completion, scripted_openai_reply

ARTICLE = {"article": {"id": "a1", "text": "Prices rose 3% in May. Wages rose 2% in June."}}


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    """The app on the offline model, its reply cache in the test's own directory."""
    with TestClient(create_app(settings)) as client:
        yield client


def usage_of(client: TestClient, **options: Any) -> dict[str, int]:
    """POST the article (200 expected) and return its usage."""
    response = client.post("/v1/extractions", json={**ARTICLE, "options": options})
    assert response.status_code == 200, response.text
    usage: dict[str, int] = response.json()["usage"]
    return usage


def cache_checks(client: TestClient) -> dict[str, int]:
    """Return the reply cache's figures from /readyz (which must answer 200)."""
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    checks: dict[str, int] = ready.json()["checks"]["cache"]
    return checks


def rewrite_rows(cache_dir: Path, value: object, mode: int) -> None:
    """Overwrite every stored value of the cache's SQLite file, as a bad disk or a bad hand would."""
    with sqlite3.connect(cache_dir / "cache.db") as connection:
        connection.execute("UPDATE Cache SET value = ?, mode = ?", (value, mode))


@pytest.mark.parametrize(
    ("value", "mode"),
    [("not json at all", 3), ('{"content": 5}', 3), (b"\x80\x04garbage", 4)],
    ids=["text-not-json", "json-not-a-reply", "pickle-garbage"],
)
def test_an_entry_that_cannot_be_read_is_a_miss_deleted_counted_and_logged_once(
    app_client: TestClient, settings: Settings, value: object, mode: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Garbage in a stored value: the next POST asks the model, the entry is replaced, one warning is logged."""
    assert usage_of(app_client)["cache_hits"] == 0
    rewrite_rows(settings.cache_dir, value, mode)
    with caplog.at_level(logging.WARNING, logger="claims.cache"):
        healed = usage_of(app_client)
        assert healed["cache_hits"] == 0
        assert healed["model_calls"] == healed["chunks"]
        rewrite_rows(settings.cache_dir, value, mode)
        usage_of(app_client)
    assert usage_of(app_client)["cache_hits"] == 1  # rewritten with the fresh reply
    assert cache_checks(app_client)["unreadable"] == 2
    assert [record.message.split(" (")[0] for record in caplog.records] == ["a reply cache entry could not be read"]


async def test_garbage_in_a_value_file_is_a_miss(tmp_path: Path) -> None:
    """A large reply lives in a ``.val`` file; garbage written there reads as a miss and the entry goes."""
    cache = DiskReplyCache(tmp_path / "cache", size_limit_mb=16)
    big = CachedReply(content='{"claims": []}' + " " * 100_000, model="m", prompt_tokens=1, completion_tokens=1)
    await cache.set("k", big)
    [value_file] = list((tmp_path / "cache").rglob("*.val"))
    value_file.write_bytes(b"\x00garbage")
    assert await cache.get("k") is None
    assert ((await cache.stats())["unreadable"], (await cache.stats())["entries"]) == (1, 0)
    await cache.set("k", big)
    assert await cache.get("k") == big
    await cache.close()


class PlantedPickle:
    """An object whose unpickling creates a file: what an attacker with write access to the cache would plant."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return open, (str(self.marker), "w")


@pytest.mark.parametrize("size", [10, 200_000], ids=["in-the-row", "in-a-value-file"])
async def test_a_planted_pickle_is_never_loaded(tmp_path: Path, size: int) -> None:
    """A pickle written into the cache by plain diskcache (as a hand with file access could) reads as a miss."""
    cache_dir, marker = tmp_path / "cache", tmp_path / "pwned"
    planter = diskcache.Cache(str(cache_dir))
    planter.set("k", [PlantedPickle(marker), "x" * size])
    planter.close()
    cache = DiskReplyCache(cache_dir, size_limit_mb=16)
    assert await cache.get("k") is None
    assert not marker.exists()
    assert (await cache.stats())["unreadable"] == 1
    await cache.close()


async def test_only_text_is_stored_through_the_cache_disk(tmp_path: Path) -> None:
    """What this cache writes is text: a reply's row in SQLite is JSON, never a pickle."""
    cache = DiskReplyCache(tmp_path / "cache", size_limit_mb=16)
    await cache.set("k", CachedReply(content='{"claims": []}', model="m", prompt_tokens=1, completion_tokens=1))
    await cache.close()
    with sqlite3.connect(tmp_path / "cache" / "cache.db") as connection:
        modes = {mode for (mode,) in connection.execute("SELECT mode FROM Cache")}
    assert modes == {diskcache.core.MODE_RAW}


async def test_a_second_process_opening_a_damaged_database_sets_it_aside_and_the_first_goes_on(tmp_path: Path) -> None:
    """Garbage over the SQLite file: a process opening it (another worker, a restart) starts afresh; none fails."""
    cache_dir = tmp_path / "cache"
    reply = CachedReply(content='{"claims": []}', model="m", prompt_tokens=1, completion_tokens=1)
    running = DiskReplyCache(cache_dir, size_limit_mb=16)
    await running.set("k", reply)
    (cache_dir / "cache.db").write_bytes(b"this is not a database " * 400)
    second = DiskReplyCache(cache_dir, size_limit_mb=16)
    assert await second.get("k") is None
    await second.set("k", reply)
    assert await second.get("k") == reply
    assert await running.get("k") == reply  # its open file, set aside, still reads
    assert len(list(cache_dir.glob("cache.db.damaged-*"))) == 1
    await running.close()
    await second.close()
    assert await DiskReplyCache(cache_dir, size_limit_mb=16).get("k") == reply  # the fresh file was kept, not set aside


async def test_a_damaged_database_at_start_up_is_set_aside_too(tmp_path: Path) -> None:
    """A service started on a damaged cache file starts, with a fresh cache."""
    cache_dir = tmp_path / "cache"
    await DiskReplyCache(cache_dir, size_limit_mb=16).close()
    (cache_dir / "cache.db").write_bytes(b"\x00garbage" * 1000)
    with TestClient(create_app(Settings(cache_dir=cache_dir))) as client:
        assert usage_of(client)["cache_hits"] == 0
        assert usage_of(client)["cache_hits"] == 1
    assert len(list(cache_dir.glob("cache.db.damaged-*"))) == 1


def test_a_cache_that_cannot_be_used_at_all_fails_readiness_with_the_reason_and_never_an_extraction(
    app_client: TestClient, settings: Settings
) -> None:
    """The cache directory replaced by a file: extractions still answer; /readyz is 503 naming why; then recovers."""
    usage_of(app_client)
    for path in sorted(settings.cache_dir.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    settings.cache_dir.rmdir()
    settings.cache_dir.write_text("a file where the cache was", encoding="utf-8")
    not_ready = app_client.get("/readyz")
    assert not_ready.status_code == 503
    problem = not_ready.json()
    assert (problem["type"], problem["title"]) == ("/problems/not-ready", "Service not ready")
    assert problem["detail"].startswith(f"cache_dir {settings.cache_dir} cannot be used")
    assert usage_of(app_client)["cache_hits"] == 0  # answered all the same, without the cache
    settings.cache_dir.unlink()
    assert app_client.get("/readyz").status_code == 200
    assert usage_of(app_client)["cache_hits"] == 0
    assert usage_of(app_client)["cache_hits"] == 1


@pytest.mark.usefixtures("provider_keys")
def test_cache_false_asks_again_and_replaces_a_doubtful_entry(tmp_path: Path, http_mock: respx.MockRouter) -> None:
    """An entry that is valid but wrong (no claims) is refreshed by ``cache: false``; later POSTs get the new one."""
    first = iter([httpx.Response(200, json=openai_chat_completion('{"claims": []}'))])
    http_mock.post(OPENAI_URL).mock(side_effect=lambda request: next(first, None) or scripted_openai_reply(request))
    with TestClient(create_app(hosted_settings(tmp_path))) as client:

        def claims(**options: Any) -> int:
            return len(client.post("/v1/extractions", json={**ARTICLE, "options": options}).json()["claims"])

        assert (claims(), claims()) == (0, 0)  # the empty reply, then the same from the cache
        assert claims(cache=False) == 2
        assert claims() == 2
