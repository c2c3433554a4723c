"""Streamed extractions: when each server-sent event arrives, and the first claim against the whole reply.

``measure_first_claim`` (a row of the benchmark) POSTs fresh eight-chunk articles with ``Accept:
text/event-stream`` and times, from the request's start, the first ``chunk`` event holding a claim and the
``done`` event (the whole reply), beside a JSON POST of another fresh article of the same size. Run alone it
prints each event of one streamed extraction with its arrival time, against a service already running::

    python -m benchmarks.streaming --url http://127.0.0.1:18140 --chunks 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass
from statistics import median
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from benchmarks.articles import GeneratedArticle, article_of_chunks
from benchmarks.processes import Process
from benchmarks.scenarios import EXTRACTIONS, Plan, request_body
from benchmarks.stats import ms

STREAM = {"accept": "text/event-stream"}


@dataclass(frozen=True, slots=True)
class TimedEvent:
    """One event of a stream: when it arrived (seconds from the request's start), its name and what it held."""

    at_s: float
    event: str
    chunk: int | None
    claims: int
    cached: bool = False


async def stream_events(client: httpx.AsyncClient, article: GeneratedArticle) -> list[TimedEvent]:
    """POST ``article`` for server-sent events; return each event with its arrival time."""
    started = time.perf_counter()
    events = []
    async with aconnect_sse(client, "POST", EXTRACTIONS, json=request_body(article), headers=STREAM) as source:
        if source.response.status_code != 200:
            await source.response.aread()
            raise RuntimeError(f"extraction refused: {source.response.status_code} {source.response.text[:300]}")
        async for event in source.aiter_sse():
            data = json.loads(event.data)
            if event.event == "error":
                raise RuntimeError(f"extraction failed: {event.data[:300]}")
            chunk = data.get("chunk") if event.event == "chunk" else None
            claims, cached = len(data.get("claims", [])), bool(data.get("cached"))
            events.append(TimedEvent(time.perf_counter() - started, event.event, chunk, claims, cached))
    return events


async def measure_first_claim(plan: Plan, service: Process, chunks: int = 8) -> dict[str, Any]:
    """Time fresh ``chunks``-chunk articles streamed: the first claim's event and done; and a JSON reply beside."""
    first, done, whole = [], [], []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.port}", timeout=120) as client:
        for repeat in range(plan.fanout_repeats):
            events = await stream_events(client, article_of_chunks(40_000 + repeat * 7, chunks))
            assert [event.event for event in events] == ["chunk"] * chunks + ["done"], events
            assert not any(event.cached for event in events), "a fresh article's chunk came from the cache"
            first.append(next(event.at_s for event in events if event.claims))
            done.append(events[-1].at_s)
            other = request_body(article_of_chunks(50_000 + repeat * 7, chunks))  # made before the clock starts
            started = time.perf_counter()
            reply = await client.post(EXTRACTIONS, json=other)
            reply.raise_for_status()
            assert reply.json()["usage"]["cache_hits"] == 0, reply.json()["usage"]
            whole.append(time.perf_counter() - started)
    return {
        "chunks": chunks,
        "repeats": plan.fanout_repeats,
        "first_claim_median_ms": ms(median(first)),
        "done_median_ms": ms(median(done)),
        "json_reply_median_ms": ms(median(whole)),
        "first_over_done": round(median(first) / median(done), 3),
        "first_over_json": round(median(first) / median(whole), 3),
    }


async def _print_one(url: str, chunks: int, seed: int) -> None:
    """Stream one fresh article from the service at ``url`` (warmed first) and print each event's arrival time."""
    article = article_of_chunks(seed, chunks)
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        warm = await client.post(EXTRACTIONS, json=request_body(article_of_chunks(seed + 1, 1)))  # lazy imports
        warm.raise_for_status()
        events = await stream_events(client, article)
    print(f"POST {url}{EXTRACTIONS} (Accept: text/event-stream): {len(article.text):,} characters, {chunks} chunks")
    for event in events:
        where = f"chunk {event.chunk}" if event.chunk is not None else "final result"
        print(f"{event.at_s * 1000:9.1f} ms  event: {event.event:<5}  {where:<12}  {event.claims} claims")


def main() -> None:
    """Print the events of one streamed extraction with their arrival times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="a running claims serve")
    parser.add_argument("--chunks", type=int, default=8, help="how many chunks the article is cut into")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="the article's seed (fresh by default)")
    arguments = parser.parse_args()
    asyncio.run(_print_one(arguments.url, arguments.chunks, arguments.seed))


if __name__ == "__main__":
    main()
