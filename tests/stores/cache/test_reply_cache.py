"""Tests of ``service/stores/cache/reply_cache.py``: the diskcache reply store and what its keys depend on."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from service.llm.secrets import public_params
from service.settings import ModelEntry
from service.stores.cache.disk_cache import DiskReplyCache
from service.stores.cache.reply_cache import CachedReply, NoReplyCache, cache_key

MESSAGES = [
    {"role": "system", "content": "Extract claims."},
    {"role": "user", "content": "Sentences:\n[S1] Violent crime is down 15.2%.\n"},
]
MODEL_PARAMS = {"model": "openai/gpt-4o-mini", "temperature": 0, "max_tokens": 2048}
PROMPT_SHA = "cc57d081939aae03aa94a820e95502916bd1e04027d71c237b074de2aeeccd10"


def key_of(**changes: Any) -> str:
    """Return the cache key of the reference call with some arguments changed."""
    arguments: dict[str, Any] = {
        "model_params": MODEL_PARAMS,
        "messages": MESSAGES,
        "response_mode": "json_schema",
        "prompt_sha256": PROMPT_SHA,
    }
    return cache_key(**{**arguments, **changes})


@pytest.fixture
def cached_reply() -> CachedReply:
    """A validated reply as the pipeline stores it."""
    return CachedReply(content='{"claims": []}', model="openai/gpt-4o-mini", prompt_tokens=412, completion_tokens=9)


@pytest.fixture
async def disk_cache(tmp_path: Path) -> AsyncIterator[DiskReplyCache]:
    """A disk cache in a private directory, closed after the test."""
    cache = DiskReplyCache(tmp_path / "cache", size_limit_mb=16)
    yield cache
    await cache.close()


async def test_disk_cache_round_trips_a_reply(disk_cache: DiskReplyCache, cached_reply: CachedReply) -> None:
    """What is set under a key is what get returns, and other keys stay empty."""
    await disk_cache.set(key_of(), cached_reply)

    assert await disk_cache.get(key_of()) == cached_reply
    assert await disk_cache.get(key_of(response_mode="json_object")) is None


async def test_disk_cache_overwrites_an_entry(disk_cache: DiskReplyCache, cached_reply: CachedReply) -> None:
    """Setting a key again replaces the stored reply."""
    newer = CachedReply(content='{"claims": [1]}', model="offline/rules", prompt_tokens=1, completion_tokens=2)

    await disk_cache.set("k", cached_reply)
    await disk_cache.set("k", newer)

    assert await disk_cache.get("k") == newer
    assert (await disk_cache.stats())["entries"] == 1


async def test_disk_cache_stats_count_entries(disk_cache: DiskReplyCache, cached_reply: CachedReply) -> None:
    """Stats report the number of entries, a byte count, and the hits, misses and writes made through it."""
    assert (await disk_cache.stats())["entries"] == 0

    await disk_cache.set("a", cached_reply)
    await disk_cache.set("b", cached_reply)
    await disk_cache.get("a")
    await disk_cache.get("missing")
    await disk_cache.get("missing")

    stats = await disk_cache.stats()
    assert stats.pop("bytes") > 0
    assert stats == {"entries": 2, "hits": 1, "misses": 2, "writes": 2, "unreadable": 0, "healed": 0, "failures": 0}


async def test_a_second_cache_on_the_same_directory_sees_the_entry(tmp_path: Path, cached_reply: CachedReply) -> None:
    """An entry survives closing its cache: a new instance on the directory reads it."""
    writer = DiskReplyCache(tmp_path / "cache", size_limit_mb=16)
    await writer.set(key_of(), cached_reply)
    await writer.close()

    reader = DiskReplyCache(tmp_path / "cache", size_limit_mb=16)
    try:
        assert await reader.get(key_of()) == cached_reply
    finally:
        await reader.close()


async def test_another_process_sees_the_entry(
    disk_cache: DiskReplyCache, tmp_path: Path, cached_reply: CachedReply
) -> None:
    """A worker process reading the same directory gets the reply another process stored."""
    await disk_cache.set(key_of(), cached_reply)
    script = (
        "import asyncio\n"
        "import sys\n"
        "from dataclasses import asdict\n"
        "from pathlib import Path\n"
        "from service.stores.cache.disk_cache import DiskReplyCache\n"
        "cache = DiskReplyCache(Path(sys.argv[1]), size_limit_mb=16)\n"
        "print(asdict(asyncio.run(cache.get(sys.argv[2]))))\n"
        "asyncio.run(cache.close())\n"
    )

    completed = subprocess.run(  # noqa: S603, ASYNC221 -- runs this interpreter on a fixed script
        [sys.executable, "-c", script, str(tmp_path / "cache"), key_of()],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )

    assert completed.stdout.strip() == str(asdict(cached_reply))


def test_cache_key_is_a_sha256_hex_digest() -> None:
    """Keys are 64 lower-case hex characters and the same call always gives the same key."""
    assert key_of() == key_of()
    assert len(key_of()) == 64
    assert set(key_of()) <= set("0123456789abcdef")


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"model_params": {**MODEL_PARAMS, "temperature": 0.2}}, id="temperature"),
        pytest.param({"model_params": {**MODEL_PARAMS, "model": "openai/gpt-4o"}}, id="model"),
        pytest.param({"model_params": {**MODEL_PARAMS, "api_base": "http://127.0.0.1:8080/v1"}}, id="api-base"),
        pytest.param({"messages": [MESSAGES[0], {"role": "user", "content": "[S1] Crime is up."}]}, id="content"),
        pytest.param({"messages": [{**MESSAGES[0], "role": "user"}, MESSAGES[1]]}, id="role"),
        pytest.param({"messages": MESSAGES[1:]}, id="fewer-messages"),
        pytest.param({"response_mode": "json_object"}, id="response-mode"),
        pytest.param({"prompt_sha256": "0" * 64}, id="prompt-sha"),
        pytest.param({"model_params": {**MODEL_PARAMS, "max_tokens": 64}}, id="max-tokens"),
    ],
)
def test_cache_key_changes_with_anything_that_shapes_the_reply(changes: dict[str, Any]) -> None:
    """Changing model params, messages, response mode or prompt sha256 gives another key."""
    assert key_of(**changes) != key_of()


@pytest.mark.parametrize("param", [{"rpm": 500}, {"tpm": 90_000}, {"timeout": 30}], ids=["rpm", "tpm", "timeout"])
def test_cache_key_ignores_what_bounds_the_call_without_shaping_the_reply(param: dict[str, int]) -> None:
    """Rate limits and timeouts can be tuned without losing the cache."""
    assert key_of(model_params={**MODEL_PARAMS, **param}) == key_of()


def test_cache_keys_see_token_budgets_but_never_secrets() -> None:
    """``max_tokens`` is a param like any other; ``api_key`` and ``aws_session_token`` never reach a key."""
    entry = ModelEntry(
        model_name="gpt",
        litellm_params={
            "model": "openai/gpt-4o-mini",
            "api_key": "os.environ/OPENAI_API_KEY",
            "aws_session_token": "os.environ/AWS_SESSION_TOKEN",
            "max_tokens": 2048,
            "max_completion_tokens": 2048,
        },
    )
    assert public_params(entry) == {"model": "openai/gpt-4o-mini", "max_tokens": 2048, "max_completion_tokens": 2048}


def test_cache_key_ignores_dict_key_order() -> None:
    """Params and messages with the same items in another key order give the same key."""
    reordered_params = dict(reversed(list(MODEL_PARAMS.items())))
    reordered_messages = [dict(reversed(list(message.items()))) for message in MESSAGES]

    assert list(reordered_params) != list(MODEL_PARAMS)
    assert key_of(model_params=reordered_params, messages=reordered_messages) == key_of()


async def test_no_reply_cache_stores_nothing(cached_reply: CachedReply) -> None:
    """With caching off, a set reply is never returned and stats stay at zero."""
    cache = NoReplyCache()

    await cache.set(key_of(), cached_reply)

    assert await cache.get(key_of()) is None
    assert await cache.stats() == {"entries": 0, "bytes": 0, "hits": 0, "misses": 0, "writes": 0}
    await cache.close()
