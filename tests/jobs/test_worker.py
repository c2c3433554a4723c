"""``claims worker`` processes on a real Redis: killed with SIGKILL mid-batch, stopped with SIGTERM, refused alone.

The model is the fake OpenAI-compatible server on loopback that records every call; the API is a real
``claims serve`` with no workers of its own, and the workers are real ``claims worker`` processes.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from benchmarks.client import get_json
from benchmarks.processes import (
    Process,
    clean_environment,
    service_config,
    start_provider,
    start_service,
    start_worker,
    wait_logged,
    wait_ready,
)
from tests.jobs.test_crash import article_text, request

ARTICLES = 120
CHUNKS = 2
LATENCY_S = 0.3
OWNER = re.compile(r"worker (worker_[0-9a-f]+) ready")


@pytest.fixture(autouse=True)
def real_sockets(http_mock: Any) -> None:
    """These tests speak plain HTTP over loopback (http.client), outside respx, which patches httpx only."""


def shared_config(provider: Process, workdir: Path, redis_url: str, **overrides: Any) -> dict[str, Any]:
    """Return a config on the fake model and the tests' Redis: two-chunk articles, two-second leases."""
    config = service_config(provider.port, workdir / "cache", 1, 64)
    return config | {"redis_url": redis_url, "job_lease_s": 2, "chunk_tokens": 60, "context_sentences": 0} | overrides


def start_workers(count: int, config: dict[str, Any], workdir: Path, name: str = "worker") -> list[tuple[Process, str]]:
    """Start ``count`` workers (logs ``<name><n>.log``) and wait until each is ready; return each with its owner id."""
    workers = [start_worker(f"{name}{n}", config, workdir) for n in range(count)]
    started = []
    for worker in workers:
        wait_logged(worker, " ready: ")
        found = OWNER.search(worker.log_path.read_text(encoding="utf-8"))
        assert found is not None, worker.log_tail()
        started.append((worker, found.group(1)))
    return started


def submit(api: Process, articles: int) -> str:
    """Submit a job of ``articles`` two-paragraph articles as NDJSON; return its id."""
    lines = [
        {"article": {"id": f"a{n}", "text": article_text(n)[: article_text(n).rfind("\n")]}} for n in range(articles)
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines)
    job: dict[str, Any] = request(api.port, "POST", "/v1/jobs", body, "application/x-ndjson")
    return str(job["id"])


def wait_for(api: Process, job_id: str, done: Any, timeout_s: float = 120) -> dict[str, Any]:
    """Poll the job until ``done(job)`` holds; return it."""
    deadline = time.monotonic() + timeout_s
    while not done(job := request(api.port, "GET", f"/v1/jobs/{job_id}")):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    found: dict[str, Any] = job
    return found


def all_results(api: Process, job_id: str) -> list[dict[str, Any]]:
    """Read every result of a job, page by page."""
    return [
        result
        for offset in range(0, ARTICLES, 100)
        for result in request(api.port, "GET", f"/v1/jobs/{job_id}/results?offset={offset}&limit=100")
    ]


def held_by(redis_url: str, job_id: str, owner: str) -> int:
    """Count the articles of a job that worker ``owner`` holds now, as Redis records it (one hand-out each)."""
    client = redis.Redis.from_url(redis_url)
    try:
        owners = client.hgetall(f"claims:job:{job_id}:owners")
    finally:
        client.close()
    return sum(1 for holder in owners.values() if holder.decode().startswith(owner + "/"))  # owner/ticket/attempt


def test_a_worker_killed_mid_batch_loses_nothing_and_pays_only_for_its_calls_in_flight(
    tmp_path: Path, redis_url: str
) -> None:
    """3 workers, 120 articles, one SIGKILLed: 120 results each once; calls ≤ chunks + its chunks in flight."""
    provider = start_provider(LATENCY_S * 1000, tmp_path, max_seconds=300)
    config = shared_config(provider, tmp_path, redis_url, job_workers=4)
    api = start_service("api", config | {"job_workers": 0}, tmp_path)
    processes = [provider, api]
    try:
        asyncio.run(wait_ready(api))
        workers = start_workers(3, config, tmp_path)
        processes += [worker for worker, _ in workers]
        job_id = submit(api, ARTICLES)
        wait_for(api, job_id, lambda job: job["counts"]["succeeded"] >= ARTICLES // 4)
        victim, owner = workers[0]
        victim.popen.send_signal(signal.SIGSTOP)  # frozen, it can take nothing more: count what it holds
        held = held_by(redis_url, job_id, owner)
        victim.popen.send_signal(signal.SIGKILL)
        victim.popen.wait(timeout=10)
        finished = wait_for(api, job_id, lambda job: job["state"] not in ("queued", "running"))
        results = all_results(api, job_id)
        calls = asyncio.run(get_json(provider.port, "/calls"))["calls"]
    finally:
        for process in reversed(processes):
            process.stop()
    chunks = ARTICLES * CHUNKS
    assert finished["state"] == "succeeded", finished
    assert finished["counts"]["succeeded"] == ARTICLES
    assert [result["index"] for result in results] == list(range(ARTICLES))
    assert [result["article_id"] for result in results] == [f"a{n}" for n in range(ARTICLES)]
    assert {result["result"]["usage"]["chunks"] for result in results} == {CHUNKS}
    assert len({digest for _, digest in calls}) == chunks  # every chunk answered
    assert held > 0
    assert len(calls) <= chunks + held * CHUNKS
    print(f"\n{len(calls)} model calls for {chunks} chunks; the killed worker held {held} article(s) "
          f"({held * CHUNKS} chunks at most in flight)")  # fmt: skip


def test_a_worker_stopped_with_sigterm_hands_back_what_it_cannot_finish(tmp_path: Path, redis_url: str) -> None:
    """SIGTERM with a short grace: the worker exits, handing back its articles; another worker finishes them."""
    provider = start_provider(1500, tmp_path, max_seconds=120)  # replies slower than the grace period (0.5 s)
    config = shared_config(provider, tmp_path, redis_url, job_workers=2, shutdown_grace_s=0.5)
    api = start_service("api", config | {"job_workers": 0}, tmp_path)
    processes = [provider, api]
    try:
        asyncio.run(wait_ready(api))
        [(first, _)] = start_workers(1, config, tmp_path)
        processes.append(first)
        job_id = submit(api, 2)
        wait_for(api, job_id, lambda job: job["counts"]["running"] == 2)
        first.popen.send_signal(signal.SIGTERM)
        assert first.popen.wait(timeout=15) == 0
        handed = wait_for(api, job_id, lambda job: job["counts"]["queued"] == 2, timeout_s=5)
        [(second, _)] = start_workers(1, config | {"shutdown_grace_s": 30}, tmp_path, name="second")
        processes.append(second)
        finished = wait_for(api, job_id, lambda job: job["state"] == "succeeded", timeout_s=60)
    finally:
        for process in reversed(processes):
            process.stop()
    assert handed["counts"]["running"] == 0
    assert finished["counts"]["succeeded"] == 2
    assert "handed back 2 running article(s)" in first.log_path.read_text(encoding="utf-8")


def test_a_worker_without_redis_is_refused_with_the_setting_to_set(tmp_path: Path) -> None:
    """``claims worker`` with nothing shared to work from exits 2, naming redis_url."""
    (tmp_path / "claims.yaml").write_text("job_workers: 2\n", encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "service", "worker"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
        env=clean_environment({"CLAIMS_CONFIG": str(tmp_path / "claims.yaml")}),
    )
    assert completed.returncode == 2
    assert "redis_url" in completed.stderr
