"""Run every benchmark in one go: start the processes, measure each figure, stop them, report.

Order matters only for fairness: start-up first (a cold process), the latency figures on an idle service,
the bare app beside it for the throughput ratio, the load test last on that service (it grows memory),
then a second service with concurrency 1 for the fan-out reference, then the scale-out figures (an API
and worker processes on Redis), then the command-line figures with no server running.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks.commands import (
    measure_breakdown,
    measure_cached_extract,
    measure_cli,
    measure_faithfulness,
    measure_offline,
)
from benchmarks.processes import (
    Process,
    load_average,
    service_config,
    start_bare_app,
    start_provider,
    start_service,
    wait_ready,
)
from benchmarks.report import Figures, build_rows, machine, render_markdown, write_results
from benchmarks.scale import measure_shared_rpm, measure_worker_scaling
from benchmarks.scenarios import (
    Plan,
    measure_cache,
    measure_cached_sample,
    measure_fanout,
    measure_first_extraction,
    measure_incremental,
    measure_load,
    measure_overhead,
    measure_throughput,
    measure_tokens,
)
from benchmarks.stats import ms
from benchmarks.streaming import measure_first_claim
from benchmarks.tokens import encoding_name
from benchmarks.worst_shapes import measure_worst_shapes

PROVIDER_MAX_SECONDS = 1800.0
MODEL_CONCURRENCY = 64  # calls in flight per model across requests; the operator's provider rate limit


def _say(message: str) -> None:
    """Print progress on stderr (the table goes to stdout)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


async def _measure(figures: Figures, key: str, measurement: Awaitable[dict[str, Any]]) -> None:
    """Await one figure, recording an error instead of stopping the run."""
    started = time.perf_counter()
    try:
        figures[key] = await measurement
    except Exception as exc:  # a failed figure is reported in the table; the others still run
        figures[key] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    _say(f"{key}: {time.perf_counter() - started:.1f} s {'(error)' if 'error' in figures[key] else ''}")


async def _ready(process: Process) -> dict[str, Any]:
    """Wait for a server's readiness; return the start-up figure."""
    return {"ready_ms": ms(await wait_ready(process))}


async def _main_service(plan: Plan, provider: Process, workdir: Path, figures: Figures) -> None:
    """Measure every figure that runs against the service with concurrency 10."""
    config = service_config(provider.port, workdir / "cache-c10", 10, MODEL_CONCURRENCY)
    service = start_service("service-c10", config, workdir)
    try:
        await _measure(figures, "startup", _ready(service))
        if "error" in figures["startup"]:
            return
        await _measure(figures, "first_extraction", measure_first_extraction(plan, service))
        await _measure(figures, "overhead", measure_overhead(plan, service, provider))
        await _measure(figures, "breakdown", _breakdown(plan, provider, workdir))
        reply_path = workdir / "bare-reply.json"
        await _measure(figures, "cache", measure_cache(plan, service, provider, reply_path))
        await _measure(figures, "cache_sample_1", measure_cached_sample(plan, service, provider, 1))
        await _measure(figures, "cache_sample_8", measure_cached_sample(plan, service, provider, 8))
        await _measure(figures, "fanout_c10", measure_fanout(plan, service, provider))
        await _measure(figures, "first_claim_c10", measure_first_claim(plan, service))
        await _measure(figures, "incremental", measure_incremental(plan, service, provider))
        await _measure(figures, "tokens_1k", measure_tokens(service, provider, 1_000, 60_000))
        await _measure(figures, "tokens_5k", measure_tokens(service, provider, 5_000, 61_000))
        body = figures["cache"].pop("body", None)
        if body is not None:
            await _measure(figures, "throughput_service", measure_throughput(plan, service.port, body))
            await _bare_throughput(plan, body, reply_path, workdir, figures)
        await _measure(figures, "load", measure_load(plan, service, provider))
        await _measure(figures, "worst_shapes", measure_worst_shapes(service, plan.worst_shape_chars))
    finally:
        service.stop()


async def _breakdown(plan: Plan, provider: Process, workdir: Path) -> dict[str, Any]:
    """Time each layer of an uncached call alone, in a process of its own, against the same provider."""
    config = service_config(provider.port, workdir / "cache-breakdown", 10, MODEL_CONCURRENCY)
    arguments = (provider.port, plan.latency_ms, plan.breakdown_requests, config, workdir)
    return {"layers": await asyncio.to_thread(measure_breakdown, *arguments)}


async def _bare_throughput(plan: Plan, body: dict[str, Any], reply_path: Path, workdir: Path, figures: Figures) -> None:
    """Measure the bare FastAPI endpoint's requests per second for the same request and reply."""
    bare = start_bare_app(reply_path, workdir)
    try:
        await wait_ready(bare)
        await _measure(figures, "throughput_bare", measure_throughput(plan, bare.port, body))
    finally:
        bare.stop()


async def _sequential_service(plan: Plan, provider: Process, workdir: Path, figures: Figures) -> None:
    """Measure the fan-out reference on a service that asks one chunk at a time."""
    service = start_service("service-c1", service_config(provider.port, workdir / "cache-c1", 1, 1), workdir)
    try:
        await wait_ready(service)
        await measure_first_extraction(plan, service)  # pay the lazy imports outside the figure
        await _measure(figures, "fanout_c1", measure_fanout(plan, service, provider))
        await _measure(figures, "first_claim_c1", measure_first_claim(plan, service))
    finally:
        service.stop()


async def _commands(plan: Plan, figures: Figures) -> None:
    """Measure the figures taken from commands, with no server running."""

    async def cli(arguments: list[str]) -> dict[str, Any]:
        return measure_cli(arguments, plan.cli_repeats)

    async def offline() -> dict[str, Any]:
        return measure_offline(plan.offline_seconds)

    async def faithfulness() -> dict[str, Any]:
        return measure_faithfulness(plan.faithfulness_articles)

    async def cached_extract() -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="claims-bench-cli-") as cache_dir:
            return measure_cached_extract(plan.cli_repeats, Path(cache_dir))

    await _measure(figures, "cli_help", cli(["--help"]))
    await _measure(figures, "cli_prompts", cli(["prompts", "list"]))
    await _measure(figures, "cli_extract_cached", cached_extract())
    await _measure(figures, "offline", offline())
    await _measure(figures, "faithfulness", faithfulness())


async def _scale(plan: Plan, figures: Figures) -> None:
    """Measure the scale-out figures on Redis: workers' throughput, and one rpm shared by three."""
    with tempfile.TemporaryDirectory(prefix="claims-bench-scale-") as folder:
        workdir = Path(folder)
        await _measure(figures, "workers", measure_worker_scaling(workdir, plan.scale_articles))
        await _measure(figures, "shared_rpm", measure_shared_rpm(workdir, plan.rpm_articles))


async def run(plan: Plan, quick: bool, out: Path, *, scale_out: bool = True) -> dict[str, Any]:
    """Run every figure, print the table, write ``<out>.json`` and ``<out>.md``; return the document."""
    figures: Figures = {}
    started = time.perf_counter()
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="claims-bench-") as folder:
        workdir = Path(folder)
        provider = start_provider(plan.latency_ms, workdir, PROVIDER_MAX_SECONDS)
        try:
            await _main_service(plan, provider, workdir, figures)
            await _sequential_service(plan, provider, workdir, figures)
        finally:
            provider.stop()
    if scale_out:
        await _scale(plan, figures)
    await _commands(plan, figures)
    rows = build_rows(figures)
    meta = machine()
    settings = {
        "mode": "quick" if quick else "full",
        "provider_latency_ms": plan.latency_ms,
        "tokenizer": encoding_name(),
        "model_concurrency": MODEL_CONCURRENCY,
        "elapsed_s": round(time.perf_counter() - started, 1),
        "load_average_1m": f"{load_before} before, {load_average()} after",
    }
    markdown = render_markdown(rows, meta, settings)
    document = {
        "machine": meta,
        "settings": settings,
        "plan": asdict(plan),
        "rows": [asdict(row) for row in rows],
        "figures": figures,
    }
    print(markdown)
    json_path, md_path = write_results(out, document, markdown)
    _say(f"wrote {json_path} and {md_path}")
    return document
