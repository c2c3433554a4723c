"""The scale-out figures on a real Redis: job throughput of 1, 2 and 4 workers, and one rpm shared by three.

Throughput is of ``claims worker`` processes against a model answering in 300 ms; the shared ``rpm`` limit
is held across three of them, model calls counted per minute at the fake provider.

Each figure starts its own fake provider, one ``claims serve`` (API only) and its workers, all on the Redis
at ``CLAIMS_BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/14``, flushed before each figure).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import time
from pathlib import Path
from typing import Any

import redis

from benchmarks.client import get_json
from benchmarks.processes import Process, service_config, start_provider, start_service, start_worker, wait_logged
from benchmarks.processes import wait_ready as wait_http_ready

BENCH_REDIS_URL = os.environ.get("CLAIMS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
WORKER_LATENCY_MS = 300.0
ARTICLES_AT_ONCE = 4  # job_workers of each worker process
WORKER_COUNTS = (1, 2, 4)
RPM = 120
RPM_WORKERS = 3


def _flush_redis() -> None:
    """Empty the benchmark's Redis database (its own number; nothing else lives there)."""
    client = redis.Redis.from_url(BENCH_REDIS_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    finally:
        client.close()


def _request(port: int, method: str, path: str, body: str | None = None, content_type: str = "") -> Any:
    """Send one request to the API and return its JSON reply."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body, {"content-type": content_type} if content_type else {})
        response = connection.getresponse()
        document = json.loads(response.read())
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {document}")
        return document
    finally:
        connection.close()


def _articles(count: int, seed: int) -> str:
    """Return ``count`` one-chunk articles as NDJSON, each with a figure the fake model claims."""
    lines = [
        {"article": {"id": f"s{seed}-{n}", "text": f"Rents in district {seed}-{n} rose {n % 9 + 1}% last year, "
                     "the statistics office said on Monday."}}
        for n in range(count)
    ]  # fmt: skip
    return "".join(json.dumps(line) + "\n" for line in lines)


async def _run_job(api: Process, count: int, seed: int, limit_s: float) -> tuple[float, dict[str, Any]]:
    """Submit ``count`` articles as one job; return the seconds until it finished, and the job."""
    started = time.perf_counter()
    job = _request(api.port, "POST", "/v1/jobs", _articles(count, seed), "application/x-ndjson")
    while (job := _request(api.port, "GET", f"/v1/jobs/{job['id']}"))["state"] in ("queued", "running"):
        if time.perf_counter() - started > limit_s:
            raise TimeoutError(f"job not done in {limit_s} s: {job['counts']}")
        await asyncio.sleep(0.05)
    return time.perf_counter() - started, job


def _start(
    provider: Process, workdir: Path, workers: int, extra: dict[str, Any], model: dict[str, Any] | None = None
) -> tuple[Process, list[Process]]:
    """Start an API-only ``claims serve`` and ``workers`` worker processes on the benchmark's Redis."""
    config = service_config(provider.port, workdir / "cache", 1, 256) | {
        "redis_url": BENCH_REDIS_URL, "job_workers": ARTICLES_AT_ONCE, "log_level": "WARNING", **extra,
    }  # fmt: skip
    config["models"][0]["litellm_params"] |= model or {}
    api = start_service(f"api-{workers}", config | {"job_workers": 0}, workdir)
    started = [start_worker(f"worker-{workers}-{n}", config | {"log_level": "INFO"}, workdir) for n in range(workers)]
    return api, started


async def measure_worker_scaling(workdir: Path, articles: int) -> dict[str, Any]:
    """Run ``articles`` one-chunk articles through 1, 2 and 4 worker processes; articles/s, and ratios to 1."""
    provider = start_provider(WORKER_LATENCY_MS, workdir, max_seconds=1800)
    rates: dict[int, float] = {}
    try:
        for count in WORKER_COUNTS:
            _flush_redis()  # a cold cache for each: every article pays its model call
            api, workers = _start(provider, workdir, count, {"cache_enabled": False})
            try:
                await wait_http_ready(api)
                for worker in workers:
                    wait_logged(worker, " ready: ")
                seconds, job = await _run_job(api, articles, seed=count, limit_s=600)
                if job["counts"]["succeeded"] != articles:
                    raise RuntimeError(f"{count} worker(s): {job['counts']}")
                rates[count] = articles / seconds
            finally:
                for process in [*workers, api]:
                    process.stop()
    finally:
        provider.stop()
    base = rates[1]
    return {
        "articles": articles,
        "latency_ms": WORKER_LATENCY_MS,
        "articles_at_once_per_worker": ARTICLES_AT_ONCE,
        "articles_per_s": {str(n): round(rate, 2) for n, rate in rates.items()},
        "ratio_to_one": {str(n): round(rate / base, 2) for n, rate in rates.items()},
    }


def _most_in_any_minute(starts: list[float]) -> int:
    """Return the largest number of calls that began within any 60 seconds."""
    starts = sorted(starts)
    most, first = 0, 0
    for last, began in enumerate(starts):
        while began - starts[first] >= 60:
            first += 1
        most = max(most, last - first + 1)
    return most


async def measure_shared_rpm(workdir: Path, articles: int) -> dict[str, Any]:
    """Push ``articles`` one-chunk articles through 3 workers sharing rpm 120; count calls a minute at the model."""
    _flush_redis()
    provider = start_provider(50, workdir, max_seconds=1800)
    try:
        config_extra = {"cache_enabled": False, "rate_limit_wait_s": 600}
        api, workers = _start(provider, workdir, RPM_WORKERS, config_extra, model={"rpm": RPM})
        try:
            await wait_http_ready(api)
            for worker in workers:
                wait_logged(worker, " ready: ")
            seconds, job = await _run_job(api, articles, seed=99, limit_s=articles / RPM * 60 + 120)
        finally:
            for process in [*workers, api]:
                process.stop()
        calls = [float(began) for began, _ in (await get_json(provider.port, "/calls"))["calls"]]
    finally:
        provider.stop()
    first = min(calls)
    per_minute = [sum(1 for began in calls if minute * 60 <= began - first < (minute + 1) * 60)
                  for minute in range(int((max(calls) - first) // 60) + 1)]  # fmt: skip
    return {
        "rpm": RPM,
        "workers": RPM_WORKERS,
        "articles": articles,
        "succeeded": job["counts"]["succeeded"],
        "seconds": round(seconds, 1),
        "calls": len(calls),
        "calls_per_minute_from_first": per_minute,
        "most_in_any_60_s": _most_in_any_minute(calls),
    }
