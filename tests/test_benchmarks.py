"""The benchmark harness runs end to end in quick mode (CI proves it works; it never gates on timings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = {
    "startup",
    "first_extraction",
    "overhead",
    "breakdown",
    "cache",
    "cache_sample_1",
    "cache_sample_8",
    "fanout_c10",
    "incremental",
    "tokens_1k",
    "tokens_5k",
    "throughput_service",
    "throughput_bare",
    "load",
    "fanout_c1",
    "first_claim_c10",
    "first_claim_c1",
    "cli_help",
    "cli_prompts",
    "cli_extract_cached",
    "offline",
    "faithfulness",
    "worst_shapes",
    "workers",
    "shared_rpm",
}


def test_quick_benchmark_measures_every_figure(tmp_path: Path, redis_url: str) -> None:
    """`python -m benchmarks --quick` measures every figure against the real service and writes the table."""
    out = tmp_path / "quick"
    completed = subprocess.run(  # noqa: S603 -- our own module
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=ROOT,
        env={**os.environ, "CLAIMS_BENCH_REDIS_URL": redis_url},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    document = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    figures = document["figures"]
    assert set(figures) == FIGURES
    assert not [key for key, values in figures.items() if "error" in values]
    assert figures["cache"]["provider_calls"] == 0
    assert figures["cache_sample_1"]["provider_calls"] == figures["cache_sample_8"]["provider_calls"] == 0
    assert (figures["cache_sample_1"]["chunks"], figures["cache_sample_8"]["chunks"]) == (1, 8)
    assert set(figures["breakdown"]["layers"]) == {"raw", "sdk", "litellm", "pipeline"}
    assert figures["faithfulness"]["chunks"] > 0
    assert figures["overhead"]["provider_calls"] == document["plan"]["overhead_requests"]
    assert figures["fanout_c10"]["model_calls"] == [10] * document["plan"]["fanout_repeats"]
    assert figures["load"]["errors"] == 0
    assert figures["tokens_5k"]["sentence_pipeline_calls"] > figures["tokens_5k"]["chunks"]
    assert set(figures["worst_shapes"]["shapes"]) == {
        "one-character lines",
        "one 200 KB line",
        "numbered lines",
        "quotations",
    }
    assert figures["worst_shapes"]["healthz_samples"] > 0
    assert not figures["cli_extract_cached"]["imports_litellm"]
    assert set(figures["workers"]["articles_per_s"]) == {"1", "2", "4"}
    assert figures["shared_rpm"]["succeeded"] == document["plan"]["rpm_articles"]
    assert figures["shared_rpm"]["most_in_any_60_s"] <= 120
    assert len(document["rows"]) == 37
    table = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "| Figure | Target | Measured | Met? |" in table
    assert table.strip() in completed.stdout
