"""The worst-shaped articles: cost must grow linearly with length, and ``/healthz`` must keep answering.

Each shape (one-character lines, one line of 200 KB, 20,000 numbered lines, 10,000 quotations) is sent at
two sizes, a quarter and the whole of ``max_article_chars``, one request at a time with the cache off,
while a second connection asks ``/healthz`` every 20 ms. The service's CPU seconds per 100 KB at the two
sizes show whether the work is linear (their ratio stays near 1; a quadratic step would make it ~4); the
wall time per 100 KB includes the fake provider's latency. The ``/healthz`` latencies over all of it give
the p99 that says whether CPU work ever held the event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from benchmarks.client import Connection
from benchmarks.processes import Process, cpu_seconds
from benchmarks.stats import ms, percentile

HEALTH_INTERVAL_S = 0.02
HUNDRED_KB = 100_000


def _one_character_lines(chars: int) -> str:
    """Lines of one letter each: a sentence (and a paragraph) every two characters."""
    return ("a\n" * (chars // 2 + 1))[:chars]


def _one_long_line(chars: int) -> str:
    """One line with no full stop: a single sentence as long as the article."""
    return ("Prices rose 3% in May and wages rose 2% " * (chars // 40 + 1))[:chars]


def _numbered_lines(chars: int) -> str:
    """Short numbered lines with a figure each, one every ten characters or so: many sentences, many claims."""
    return "".join(f"{n}. Up {n % 10}%\n" for n in range(1, chars // 10 + 1))[:chars]


def _quotations(chars: int) -> str:
    """Quoted speech sentence after sentence: every line is a quotation the rules must read."""
    return ("“Crime is down 3% this year,” the mayor said. " * (chars // 46 + 1))[:chars]


SHAPES: dict[str, Callable[[int], str]] = {
    "one-character lines": _one_character_lines,
    "one 200 KB line": _one_long_line,
    "numbered lines": _numbered_lines,
    "quotations": _quotations,
}


async def _watch_health(port: int, stop: asyncio.Event, latencies: list[float]) -> None:
    """Ask ``/healthz`` every ``HEALTH_INTERVAL_S`` on its own connection until told to stop."""
    connection = Connection(port, timeout=30)
    try:
        while not stop.is_set():
            started = time.perf_counter()
            reply = await connection.request("GET", "/healthz")
            if reply.status == 200:
                latencies.append(time.perf_counter() - started)
            await asyncio.sleep(HEALTH_INTERVAL_S)
    finally:
        await connection.close()


async def _extract_one(connection: Connection, service: Process, text: str) -> dict[str, Any]:
    """POST one article with the cache off; return its wall and CPU seconds and what the reply says."""
    body = {"article": {"text": text}, "options": {"cache": False}}
    cpu_before = cpu_seconds(service.pid)
    started = time.perf_counter()
    reply = await connection.post_json("/v1/extractions", body)
    wall = time.perf_counter() - started
    cpu = cpu_seconds(service.pid) - cpu_before
    document = reply.json() if reply.status == 200 else {}
    return {
        "status": reply.status if reply.status != 200 else document.get("status"),
        "chunks": document.get("usage", {}).get("chunks"),
        "claims": len(document.get("claims", [])),
        "wall_s": wall,
        "cpu_s": cpu,
    }


def _per_100kb(seconds: float, chars: int) -> float:
    """Return seconds per 100 KB of article."""
    return round(seconds * HUNDRED_KB / chars, 3)


async def _measure_shape(connection: Connection, service: Process, make: Callable[[int], str], chars: int) -> Any:
    """Send one shape at a quarter and the whole of ``chars``; return per-100 KB figures and the CPU ratio."""
    small, large = make(chars // 4), make(chars)
    quarter = await _extract_one(connection, service, small)
    whole = await _extract_one(connection, service, large)
    cpu_small, cpu_large = _per_100kb(quarter["cpu_s"], len(small)), _per_100kb(whole["cpu_s"], len(large))
    return {
        "chars": len(large),
        "status": whole["status"],
        "chunks": whole["chunks"],
        "claims": whole["claims"],
        "wall_s_per_100kb": _per_100kb(whole["wall_s"], len(large)),
        "cpu_s_per_100kb": cpu_large,
        "cpu_s_per_100kb_quarter": cpu_small,
        "linearity": round(cpu_large / cpu_small, 2) if cpu_small else None,
    }


async def measure_worst_shapes(service: Process, chars: int) -> dict[str, Any]:
    """Extract every worst shape while watching ``/healthz``; return per-shape figures and the health p99."""
    stop = asyncio.Event()
    latencies: list[float] = []
    watcher = asyncio.create_task(_watch_health(service.port, stop, latencies))
    connection = Connection(service.port, timeout=600)
    shapes: dict[str, Any] = {}
    try:
        for name, make in SHAPES.items():
            shapes[name] = await _measure_shape(connection, service, make, chars)
    finally:
        stop.set()
        await watcher
        await connection.close()
    return {
        "shapes": shapes,
        "healthz_samples": len(latencies),
        "healthz_p50_ms": ms(percentile(latencies, 50)),
        "healthz_p99_ms": ms(percentile(latencies, 99)),
        "healthz_max_ms": ms(max(latencies, default=0.0)),
    }
