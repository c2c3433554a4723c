"""Figures measured by running commands, not HTTP: CLI wall time, lazy imports, offline model speed.

Each runs in a fresh subprocess, so import costs are what a user pays, and nothing the harness imported
skews them.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any

import yaml

from benchmarks.processes import clean_environment
from benchmarks.stats import ms

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_ARTICLE = ROOT / "tests" / "data" / "article-trump-musk-x-stream.txt"
IMPORT_PROBE = """
import sys
from service.cli.main import app
sys.argv = ["claims", *sys.argv[1:]]
try:
    app()
except SystemExit:
    pass
print("LITELLM_IMPORTED", "litellm" in sys.modules, file=sys.stderr)
"""
BREAKDOWN_LIMIT_S = 600.0
OFFLINE_PROBE = """
import sys
from benchmarks.offline_speed import measure_offline_sentences_per_second
print("SENTENCES_PER_S", measure_offline_sentences_per_second(float(sys.argv[1])))
"""


def _claims_command() -> list[str]:
    """Return the ``claims`` console script beside this Python, else ``python -m service``."""
    script = Path(sys.executable).parent / "claims"
    return [str(script)] if script.exists() else [sys.executable, "-m", "service"]


def _run(
    command: list[str], timeout: float = 120.0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command from the repository root with a clean environment (plus ``env``)."""
    return subprocess.run(  # noqa: S603 -- our own commands
        command, capture_output=True, text=True, timeout=timeout, env=clean_environment(env), cwd=ROOT, check=False
    )


def measure_cli(arguments: list[str], repeats: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Time ``claims <arguments>`` (median of ``repeats``) and say whether it imported litellm."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        completed = _run([*_claims_command(), *arguments], env=env)
        seconds.append(time.perf_counter() - started)
        if completed.returncode != 0:
            raise RuntimeError(f"claims {' '.join(arguments)} failed: {completed.stderr[-500:]}")
    probe = _run([sys.executable, "-c", IMPORT_PROBE, *arguments], env=env)
    imported = "LITELLM_IMPORTED True" in probe.stderr
    return {"command": f"claims {' '.join(arguments)}", "wall_ms": ms(median(seconds)), "imports_litellm": imported}


def measure_cached_extract(repeats: int, cache_dir: Path) -> dict[str, Any]:
    """Time ``claims extract`` on the sample article answered from the cache (a first run fills it)."""
    env = {"CLAIMS_CACHE_DIR": str(cache_dir)}
    arguments = ["extract", str(SAMPLE_ARTICLE)]
    first = _run([*_claims_command(), *arguments], env=env)
    if first.returncode != 0:
        raise RuntimeError(f"claims extract failed: {first.stderr[-500:]}")
    return measure_cli(arguments, max(repeats, 3), env)


def measure_faithfulness(articles: int) -> dict[str, Any]:
    """Return the faithfulness gate's CPU cost a chunk, measured in a fresh process (``faithfulness_speed``)."""
    completed = _run([sys.executable, "-m", "benchmarks.faithfulness_speed", str(articles)], timeout=300)
    if completed.returncode != 0:
        raise RuntimeError(f"faithfulness_speed failed: {completed.stderr.strip()[-500:]}")
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def measure_breakdown(port: int, latency_ms: float, requests: int, config: dict[str, Any], workdir: Path) -> Any:
    """Return each layer's overhead alone (raw HTTP, SDK, litellm, pipeline), from ``benchmarks.breakdown``."""
    config_path = workdir / "breakdown.claims.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    command = [sys.executable, "-m", "benchmarks.breakdown", str(port), str(latency_ms), str(requests)]
    completed = _run([*command, str(config_path)], timeout=BREAKDOWN_LIMIT_S)
    for line in completed.stdout.splitlines():
        if line.startswith("BREAKDOWN "):
            return json.loads(line.removeprefix("BREAKDOWN "))
    raise RuntimeError(f"breakdown failed: {completed.stderr.strip()[-500:]}")


def measure_offline(seconds: float) -> dict[str, Any]:
    """Return the offline model's sentences per second, from ``benchmarks.offline_speed`` when it exists."""
    if importlib.util.find_spec("benchmarks.offline_speed") is None:
        return {"sentences_per_s": None, "note": "benchmarks/offline_speed.py is missing"}
    completed = _run([sys.executable, "-c", OFFLINE_PROBE, str(seconds)], timeout=120 + seconds * 10)
    for line in completed.stdout.splitlines():
        if line.startswith("SENTENCES_PER_S "):
            return {"sentences_per_s": round(float(line.split()[1]), 1), "note": "one process, one core"}
    return {"sentences_per_s": None, "note": f"offline_speed failed: {completed.stderr.strip()[-300:]}"}
