"""Tests of ``tests/conftest.py``'s Redis database: named in the header, the tests' own, none other flushed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from benchmarks.processes import free_port
from tests.conftest import OWNED_BY_TESTS, redis_database_of, refusal_to_flush, skip_or_fail

ROOT = Path(__file__).parents[1]
A_REDIS_TEST = ("tests/stores", "-k", "test_one_process_reads_what_another_wrote")  # a test that needs Redis


def run_pytest(*arguments: str, redis_url: str) -> subprocess.CompletedProcess[str]:
    """Run pytest in a process of its own with ``CLAIMS_TEST_REDIS_URL`` set; return what it printed."""
    environment = {**os.environ, "CLAIMS_TEST_REDIS_URL": redis_url, "COLUMNS": "1000"}  # a skip reason whole
    environment.pop("CLAIMS_REQUIRE_SERVICES", None)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *arguments]
    return subprocess.run(  # noqa: S603 -- this interpreter running pytest
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def test_pytest_s_header_names_the_redis_database_the_tests_flush() -> None:
    """The session's header says which database the tests flush, from ``CLAIMS_TEST_REDIS_URL``."""
    header = run_pytest("--collect-only", "tests/test_errors.py", redis_url="redis://127.0.0.1:6379/9").stdout
    assert (
        "redis: the tests that need Redis FLUSHDB redis://127.0.0.1:6379/9 (database 9) before and after each; "
        "set CLAIMS_TEST_REDIS_URL to move it"
    ) in header


def test_the_database_is_read_off_the_url() -> None:
    """A path ``/15`` or a query ``?db=3`` names the database; a bare host names none, which the tests refuse."""
    assert redis_database_of("redis://127.0.0.1:6379/15") == 15
    assert redis_database_of("unix:///run/redis.sock?db=3") == 3
    assert redis_database_of("redis://127.0.0.1:6379") is None
    refusal = refusal_to_flush(None, "redis://127.0.0.1:6379")
    assert refusal is not None
    assert "names no database" in refusal


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis server of this test's own (``redis-server`` on a free port, keeping nothing): its database 0's URL."""
    server = shutil.which("redis-server")
    if server is None:
        skip_or_fail("no redis-server here to start a private one: apt-get install -y redis-server")
    port = free_port()
    arguments = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    process = subprocess.Popen([server, *arguments], stdout=subprocess.DEVNULL)  # noqa: S603 -- a fixed command
    client = redis.Redis(port=port, socket_connect_timeout=1)
    try:
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.025)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


def test_a_database_holding_keys_not_the_tests_is_never_flushed(private_redis: str) -> None:
    """Keys the tests did not write (no mark of theirs): a test needing Redis is skipped, saying so; they stay."""
    client = redis.Redis.from_url(private_redis)
    client.set("someone-else:data", "keep me")
    assert refusal_to_flush(client, private_redis) == (
        f"database 0 at {private_redis} holds keys the tests did not write (1), and they flush their database: "
        "set CLAIMS_TEST_REDIS_URL to an empty one (or empty this one yourself)"
    )
    run = run_pytest(*A_REDIS_TEST, redis_url=private_redis)
    assert "1 skipped" in run.stdout, run.stdout[-2000:]
    assert "holds keys the tests did not write (1)" in run.stdout
    assert client.keys("*") == [b"someone-else:data"]
    client.close()


def test_the_tests_own_database_is_flushed_and_marked_as_theirs(private_redis: str) -> None:
    """An empty database becomes the tests': each test's leftovers are flushed and the mark stays for the next run."""
    client = redis.Redis.from_url(private_redis)
    assert refusal_to_flush(client, private_redis) is None
    for _ in range(2):
        run = run_pytest(*A_REDIS_TEST, redis_url=private_redis)
        assert "1 passed" in run.stdout, run.stdout[-2000:]
        assert client.keys("*") == [OWNED_BY_TESTS.encode()]
        client.set("left-by-a-killed-run", "1")  # the mark says whose it is: the next run may flush it
    client.close()
