"""Turn measured figures into the table: figure, target, measured, met? — as markdown and JSON.

A figure that could not be measured shows its error in the table and counts as not met; a figure with no
target is shown for reference with ``—`` in the met column.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
Figures = dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table."""

    figure: str
    target: str
    measured: str
    met: bool | None

    def markdown(self) -> str:
        """Render the row as a markdown table line."""
        met = {True: "yes", False: "**no**", None: "—"}[self.met]
        return f"| {self.figure} | {self.target} | {self.measured} | {met} |"


def _row(figures: Figures, key: str, figure: str, target: str, render: Any, check: Any = None) -> Row:
    """Build a row from ``figures[key]``, or an error row when the figure failed or is absent."""
    values = figures.get(key)
    if values is None:
        return Row(figure, target, "not measured", None if check is None else False)
    if "error" in values:
        return Row(figure, target, f"error: {values['error']}", False)
    return Row(figure, target, render(values), None if check is None else bool(check(values)))


def _overhead_rows(f: Figures) -> list[Row]:
    """Rows for service overhead and fan-out."""
    return [
        _row(f, "overhead", "Overhead p50: one-chunk article, end to end − provider latency", "≤ 5 ms",
             lambda v: f"{v['overhead_p50_ms']} ms (e2e {v['e2e_p50_ms']} ms = {v['e2e_over_latency_p50']}× "
             f"latency; service CPU {v['service_cpu_ms_per_request']} ms/request; direct provider call "
             f"+{v['direct_provider_overhead_p50_ms']} ms)",
             lambda v: v["overhead_p50_ms"] <= 5),
        _row(f, "overhead", "Overhead p95: same requests", "—", lambda v: f"{v['overhead_p95_ms']} ms"),
        *_breakdown_rows(f),
        _row(f, "fanout_c10", "Fan-out: 10-chunk article, concurrency 10, ÷ one chunk's latency", "≤ 1.3",
             lambda v: f"{v['ratio']}× ({v['e2e_median_ms']} ms)", lambda v: v["ratio"] <= 1.3),
        _row(f, "fanout_c1", "Fan-out: same article, concurrency 1, ÷ one chunk's latency", "(reference)",
             lambda v: f"{v['ratio']}× ({v['e2e_median_ms']} ms)"),
        _row(f, "first_claim_c10", "Streamed: first claim, 8-chunk article, concurrency 10, ÷ the JSON reply",
             "(reference)", _first_claim),
        _row(f, "first_claim_c1", "Streamed: first claim, same, concurrency 1, ÷ the JSON reply", "(reference)",
             _first_claim),
    ]  # fmt: skip


def _first_claim(values: dict[str, Any]) -> str:
    """Describe when the first streamed claim came, against the stream's end and a whole JSON reply."""
    return (
        f"{values['first_over_json']}× (first claim {values['first_claim_median_ms']} ms; done event "
        f"{values['done_median_ms']} ms, {values['first_over_done']}×; JSON reply {values['json_reply_median_ms']} ms)"
    )


def _layers(f: Figures) -> dict[str, Any] | None:
    """Return each layer's share of the overhead (p50 wall and CPU, ms), or None when not measured."""
    overhead, breakdown = f.get("overhead", {}), f.get("breakdown", {})
    if "error" in overhead or "layers" not in breakdown or "overhead_p50_ms" not in overhead:
        return None
    layers = breakdown["layers"]
    below = {"HTTP and middleware": "pipeline", "our pipeline": "litellm", "litellm": "sdk", "the SDK": "raw"}
    above = {"HTTP and middleware": None, "our pipeline": "pipeline", "litellm": "litellm", "the SDK": "sdk"}
    shares: dict[str, Any] = {}
    for name, lower in below.items():
        upper = above[name]
        wall = overhead["overhead_p50_ms"] if upper is None else layers[upper]["overhead_p50_ms"]
        cpu = overhead["service_cpu_ms_per_request"] if upper is None else layers[upper]["cpu_ms_per_call"]
        shares[name] = {
            "wall_ms": round(wall - layers[lower]["overhead_p50_ms"], 2),
            "cpu_ms": round(cpu - layers[lower]["cpu_ms_per_call"], 2),
        }
    shares["the HTTP call itself (floor)"] = {
        "wall_ms": layers["raw"]["overhead_p50_ms"],
        "cpu_ms": layers["raw"]["cpu_ms_per_call"],
    }
    return shares


def _breakdown_rows(f: Figures) -> list[Row]:
    """Rows for the overhead's breakdown by layer, and the bare litellm call (the floor of what litellm costs)."""
    shares = _layers(f)
    figures = {**f, "shares": shares} if shares is not None else f
    return [
        _row(figures, "shares", "Overhead p50 by layer: wall ms (CPU ms), each layer timed alone", "(reference)",
             lambda v: "; ".join(f"{name} {share['wall_ms']} ({share['cpu_ms']})" for name, share in v.items())),
        _row(f, "breakdown", "Floor: a bare litellm call, − provider latency (as the service configures litellm)",
             "(reference)", _floors),
    ]  # fmt: skip


def _floors(values: dict[str, Any]) -> str:
    """Describe the bare calls: litellm, the OpenAI SDK under it, and httpx alone."""
    layers = values["layers"]
    litellm, sdk, raw = layers["litellm"], layers["sdk"], layers["raw"]
    return (
        f"{litellm['overhead_p50_ms']} ms wall, {litellm['cpu_ms_per_call']} ms CPU (OpenAI SDK alone "
        f"{sdk['overhead_p50_ms']} ms, {sdk['cpu_ms_per_call']} ms CPU; httpx alone {raw['overhead_p50_ms']} ms, "
        f"{raw['cpu_ms_per_call']} ms CPU)"
    )


def _cache_rows(f: Figures) -> list[Row]:
    """Rows for the cache and incremental re-extraction."""
    throughput = None
    if "throughput_service" in f and "throughput_bare" in f:
        service, bare = f["throughput_service"], f["throughput_bare"]
        if "error" not in service and "error" not in bare:
            ratio = round(service["requests_per_s"] / bare["requests_per_s"], 3)
            throughput = {**service, "bare": bare["requests_per_s"], "ratio": ratio}
        else:
            throughput = {"error": service.get("error") or bare.get("error")}
    f = {**f, "throughput": throughput} if throughput is not None else f
    return [
        _row(f, "cache", "Cache: re-POSTed article, p50", "≤ 10 ms",
             lambda v: f"{v['p50_ms']} ms (p95 {v['p95_ms']} ms; service CPU {v['service_cpu_ms_per_request']} "
             f"ms/request; {v['article_words']} words, {v['chunks']} chunks, {v['claims']} claims)",
             lambda v: v["p50_ms"] <= 10),
        _row(f, "cache_sample_1", "Cache: re-POSTed one-chunk article (the sample), p50", "≤ 3 ms",
             lambda v: f"{v['p50_ms']} ms (p95 {v['p95_ms']} ms; service CPU {v['service_cpu_ms_per_request']} "
             f"ms/request; {v['chunks']} chunk, {v['claims']} claims, {v['provider_calls']} provider calls)",
             lambda v: v["p50_ms"] <= 3 and v["provider_calls"] == 0),
        _row(f, "cache_sample_8", "Cache: re-POSTed eight-chunk article (the sample eight times), p50", "≤ 10 ms",
             lambda v: f"{v['p50_ms']} ms (p95 {v['p95_ms']} ms; service CPU {v['service_cpu_ms_per_request']} "
             f"ms/request; {v['chunks']} chunks, {v['claims']} claims, {v['provider_calls']} provider calls)",
             lambda v: v["p50_ms"] <= 10 and v["provider_calls"] == 0),
        _row(f, "cache", "Cache: provider calls for the re-POSTs", "0",
             lambda v: f"{v['provider_calls']} in {v['requests']} requests", lambda v: v["provider_calls"] == 0),
        _row(f, "throughput", "Cache: cached req/s ÷ bare FastAPI endpoint, same JSON", "(reference)",
             lambda v: f"{v['ratio']}× ({v['requests_per_s']} vs {v['bare']} req/s, {v['concurrency']} connections)"),
        _row(f, "incremental", "Incremental: provider calls after one paragraph of a 10-chunk article is edited",
             "1",
             lambda v: f"exactly 1 in {v['exactly_one']}/{v['edits']} edits (median {v['median_calls']}, "
             f"mean {v['mean_calls']}, max {v['max_calls']}); unchanged re-POST {v['unchanged_repost_model_calls']}",
             lambda v: v["max_calls"] == 1 and v["exactly_one"] == v["edits"]),
    ]  # fmt: skip


def _token_rows(f: Figures) -> list[Row]:
    """Rows for prompt tokens per article token."""
    rows = []
    for key, words, target in (("tokens_1k", "1,000", 2.0), ("tokens_5k", "5,000", 1.5)):
        rows.append(
            _row(f, key, f"Tokens: prompt tokens sent ÷ article tokens, ~{words} words", f"≤ {target}",
                 lambda v: f"{v['ratio']} ({v['prompt_tokens_sent']} ÷ {v['article_tokens']}, {v['chunks']} calls)",
                 lambda v, target=target: v["ratio"] <= target)
        )  # fmt: skip
        rows.append(
            _row(f, key, f"Tokens: sentence-by-sentence, ±5 sentences of context, ~{words} words",
                 "≥ 5 (DESIGN §9)",
                 lambda v: f"{v['sentence_pipeline_ratio']} ({v['sentence_pipeline_calls']} calls; "
                 f"{round(v['sentence_pipeline_prompt_tokens'] / v['prompt_tokens_sent'], 2)}× the service)",
                 lambda v: v["sentence_pipeline_ratio"] >= 5)
        )  # fmt: skip
    return rows


def _load_rows(f: Figures) -> list[Row]:
    """Rows for the load test, the offline model and start-up."""
    return [
        _row(f, "load", "Load: 100 concurrent ~20 KB articles, errors", "0",
             lambda v: f"{v['errors']} of {v['requests']} ({v['provider_calls']} provider calls)",
             lambda v: v["errors"] == 0),
        _row(f, "load", "Load: latency p99", "—", lambda v: f"{v['p99_ms']} ms (p50 {v['p50_ms']} ms)"),
        _row(f, "load", "Load: peak RSS of the service process", "≤ 300 MB",
             lambda v: f"{v['peak_rss_mb']} MB (before: {v['rss_before_mb']} MB)", lambda v: v["peak_rss_mb"] <= 300),
        _row(f, "offline", "Offline model: sentences per second, one core", "—",
             lambda v: f"{v['sentences_per_s']:,}" if v["sentences_per_s"] is not None else f"missing ({v['note']})"),
        _row(f, "faithfulness", "Faithfulness gate: CPU a chunk, its texts read for the first time", "≤ 300 µs",
             lambda v: f"{v['first_reading_us_per_chunk']} µs (p95 {v['first_reading_p95_us']} µs; read again "
             f"{v['read_again_us_per_chunk']} µs; reworded claims {v.get('reworded_us_per_chunk', '—')} µs; "
             f"grounding {v['grounding_us_per_chunk']} µs; "
             f"{v['claims_per_chunk']} claims a chunk, {v['chunks']} chunks)",
             lambda v: v["first_reading_us_per_chunk"] <= 300),
        _row(f, "startup", "Start-up: process start → /readyz 200", "—", lambda v: f"{v['ready_ms']} ms"),
        _row(f, "first_extraction", "Start-up: first extraction after ready − provider latency", "—",
             lambda v: f"{v['first_extraction_over_latency_ms']} ms"),
        _row(f, "cli_help", "Start-up: `claims --help` wall time", "litellm not imported",
             lambda v: f"{v['wall_ms']} ms (litellm imported: {'yes' if v['imports_litellm'] else 'no'})",
             lambda v: not v["imports_litellm"]),
        _row(f, "cli_prompts", "Start-up: `claims prompts list` wall time", "litellm not imported",
             lambda v: f"{v['wall_ms']} ms (litellm imported: {'yes' if v['imports_litellm'] else 'no'})",
             lambda v: not v["imports_litellm"]),
        _row(f, "cli_extract_cached", "Start-up: `claims extract` of the sample article, cached", "≤ 1,500 ms",
             lambda v: f"{v['wall_ms']} ms (litellm imported: {'yes' if v['imports_litellm'] else 'no'})",
             lambda v: v["wall_ms"] <= 1500),
    ]  # fmt: skip


def _worst_shape_rows(f: Figures) -> list[Row]:
    """Rows for the worst-shaped articles: time per 100 KB, linearity, and /healthz while they run."""
    shapes = f.get("worst_shapes", {}).get("shapes", {})
    rows = [
        _row(
            {**f, "shape": values},
            "shape",
            f"Worst shape: {name} ({values.get('chars', 0):,} chars)",
            "CPU ÷ 100 KB at full ÷ at ¼ size ≤ 1.5",
            lambda v: (
                f"{v['wall_s_per_100kb']} s/100 KB wall, {v['cpu_s_per_100kb']} s/100 KB service CPU "
                f"(¼ size: {v['cpu_s_per_100kb_quarter']}; ratio {v['linearity']}); {v['chunks']} chunks, "
                f"{v['claims']} claims, {v['status']}"
            ),
            lambda v: v["linearity"] is not None and v["linearity"] <= 1.5,
        )
        for name, values in shapes.items()
    ]
    rows.append(
        _row(f, "worst_shapes", "Worst shapes: /healthz p99 while they are extracted", "≤ 100 ms",
             lambda v: f"{v['healthz_p99_ms']} ms (p50 {v['healthz_p50_ms']} ms, max {v['healthz_max_ms']} ms, "
             f"{v['healthz_samples']} probes)",
             lambda v: v["healthz_p99_ms"] <= 100)
    )  # fmt: skip
    return rows


def _scale_rows(f: Figures) -> list[Row]:
    """Rows for the scale-out figures: workers' throughput, and a shared rate limit."""
    rows = [
        _row(f, "workers", f"Scale-out: {n} worker process{'es' if n > 1 else ''} ÷ 1, articles/s, 300 ms model",
             f"≥ {0.8 * n:.1f}" if n > 1 else "(reference)",
             lambda v, n=n: f"{v['ratio_to_one'][str(n)]}× ({v['articles_per_s'][str(n)]} articles/s; "
             f"{v['articles']} articles, {v['articles_at_once_per_worker']} at once per worker)",
             None if n == 1 else (lambda v, n=n: v["ratio_to_one"][str(n)] >= 0.8 * n))
        for n in (1, 2, 4)
    ]  # fmt: skip
    rows.append(
        _row(f, "shared_rpm", "Scale-out: rpm 120 shared by 3 workers, most model calls in any 60 s", "≤ 120",
             lambda v: f"{v['most_in_any_60_s']} (calls a minute from the first: {v['calls_per_minute_from_first']}; "
             f"{v['succeeded']}/{v['articles']} articles in {v['seconds']} s)",
             lambda v: v["most_in_any_60_s"] <= v["rpm"] and v["succeeded"] == v["articles"])
    )  # fmt: skip
    return rows


def build_rows(figures: Figures) -> list[Row]:
    """Return every row of the table, in the issue's order."""
    return [
        *_overhead_rows(figures),
        *_cache_rows(figures),
        *_token_rows(figures),
        *_load_rows(figures),
        *_worst_shape_rows(figures),
        *_scale_rows(figures),
    ]


def _first_line(path: str, prefix: str) -> str:
    """Return the value of the first ``prefix: value`` line of a /proc file, or ``unknown``."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _git_revision() -> str:
    """Return the checkout's commit, marked ``-dirty`` when the work tree has changes."""
    try:
        head = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def _git(*arguments: str) -> str:
    """Run a read-only git command in the checkout; return its output."""
    completed = subprocess.run(["git", *arguments], capture_output=True, text=True, cwd=ROOT, check=True)  # noqa: S603, S607 -- git from PATH, fixed arguments
    return completed.stdout.strip()


def machine() -> dict[str, Any]:
    """Describe the machine and software the run used."""
    versions: dict[str, str | None] = {}
    for package in ("litellm", "fastapi", "uvicorn", "pydantic", "diskcache"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": _first_line("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "memory": _first_line("/proc/meminfo", "MemTotal"),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "packages": versions,
        "revision": _git_revision(),
    }


def render_markdown(rows: list[Row], meta: dict[str, Any], settings: dict[str, Any]) -> str:
    """Render the table with the machine and run settings above it."""
    packages = ", ".join(f"{name} {version}" for name, version in meta["packages"].items())
    lines = [
        f"Run {meta['date']} on {meta['cpu']}, {meta['cores']} cores, {meta['memory']} RAM, Python "
        f"{meta['python']} ({packages}), revision {meta['revision']}.",
        f"Settings: {', '.join(f'{k}={v}' for k, v in settings.items())}.",
        "Timings are wall clock on a shared machine: a load average above the core count means other work "
        "competed for the CPU; service CPU per request is the steadier figure.",
        "",
        "| Figure | Target | Measured | Met? |",
        "| --- | --- | --- | --- |",
        *(row.markdown() for row in rows),
    ]
    return "\n".join(lines) + "\n"


def write_results(out: Path, document: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    """Write ``<out>.json`` and ``<out>.md``; return their paths."""
    out.parent.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out.with_suffix(".json"), out.with_suffix(".md")
    json_path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(markdown, encoding="utf-8")
    return json_path, md_path
