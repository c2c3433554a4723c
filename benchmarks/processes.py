"""Start, watch and stop the processes under test: the fake provider, the service and the bare app.

Every server binds 127.0.0.1; every process is started by this harness and ended by its own pid. The
service runs as ``python -m service serve`` (the ``claims serve`` command) with a temporary ``claims.yaml``
passed through ``CLAIMS_CONFIG`` and its cache in a temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from benchmarks.client import get_json

PROVIDER_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AZURE_API_KEY", "AZURE_OPENAI_API_KEY")
READY_TIMEOUT_S = 60.0


@dataclass
class Process:
    """A server this harness started: its process, port and log file."""

    name: str
    popen: subprocess.Popen[bytes]
    port: int
    log_path: Path
    started_at: float
    ready_after_s: float | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        """Return the process id."""
        return self.popen.pid

    def stop(self) -> None:
        """Stop the process (SIGINT, then SIGKILL after 10 s) and close its log."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        if self._log is not None:
            self._log.close()
        if self.popen.stdout is not None:  # the provider's port came through it
            self.popen.stdout.close()

    def log_tail(self, lines: int = 20) -> str:
        """Return the end of the process's log, for error messages."""
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    """Return a port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return this environment without CLAIMS_* settings or provider keys, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMS_") and k not in PROVIDER_KEYS}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def start_provider(
    latency_ms: float,
    workdir: Path,
    max_seconds: float,
    batch_seconds: float = 1.0,
    port: int = 0,
    invalid_batch_answers: int = 0,
) -> Process:
    """Start the fake provider (its batches taking ``batch_seconds``; on ``port``, 0: any) and wait for its port.

    ``invalid_batch_answers``: that many first asks answered in batches get a reply not in the reply schema.
    """
    log_path = workdir / "provider.log"
    log = log_path.open("wb")
    command = [sys.executable, "-m", "benchmarks.fake_provider", "--latency-ms", str(latency_ms)]
    command += ["--max-seconds", str(max_seconds), "--batch-seconds", str(batch_seconds), "--port", str(port)]
    command += ["--invalid-batch-answers", str(invalid_batch_answers)]
    started = time.perf_counter()
    popen = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, env=clean_environment(), cwd=_root())  # noqa: S603 -- our own module
    assert popen.stdout is not None
    line = popen.stdout.readline().decode().strip()
    if not line.startswith("PORT "):
        popen.kill()
        raise RuntimeError(f"fake provider did not start: {line!r}; see {log_path}")
    process = Process("provider", popen, int(line.split()[1]), log_path, started, _log=log)
    process.ready_after_s = time.perf_counter() - started
    return process


def service_config(provider_port: int, cache_dir: Path, concurrency: int, model_concurrency: int) -> dict[str, Any]:
    """Return the ``claims.yaml`` of the service under test: one model, the fake provider."""
    return {
        "default_model": "default",
        "models": [
            {
                "model_name": "default",
                "litellm_params": {
                    "model": "openai/fake",
                    "api_base": f"http://127.0.0.1:{provider_port}/v1",
                    "api_key": "none",
                },
                "max_concurrency": model_concurrency,
            }
        ],
        "cache_dir": str(cache_dir),
        "data_dir": str(cache_dir.parent / f"{cache_dir.name}-jobs"),
        "max_concurrency": concurrency,
        "retry_attempts": 1,
        "log_level": "INFO",
    }


def start_service(
    name: str, config: Mapping[str, Any], workdir: Path, env: Mapping[str, str] | None = None, port: int = 0
) -> Process:
    """Write the config, start ``python -m service serve`` (``env`` added; on ``port``, 0: a free one) and return."""
    config_path = workdir / f"{name}.claims.yaml"
    config_path.write_text(yaml.safe_dump(dict(config)), encoding="utf-8")
    port = port or free_port()
    command = [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return _spawn(name, command, port, workdir, {**(env or {}), "CLAIMS_CONFIG": str(config_path)})


def start_worker(name: str, config: Mapping[str, Any], workdir: Path) -> Process:
    """Write the config, start ``python -m service worker`` (no port) and return at once (see ``wait_logged``)."""
    config_path = workdir / f"{name}.claims.yaml"
    config_path.write_text(yaml.safe_dump(dict(config)), encoding="utf-8")
    command = [sys.executable, "-m", "service", "worker"]
    return _spawn(name, command, 0, workdir, {"CLAIMS_CONFIG": str(config_path)})


def wait_logged(process: Process, text: str, timeout_s: float = READY_TIMEOUT_S) -> float:
    """Wait until ``text`` appears in the process's log; return seconds from process start."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited with {process.popen.returncode}:\n{process.log_tail()}")
        if text in process.log_path.read_text(encoding="utf-8", errors="replace"):
            process.ready_after_s = time.perf_counter() - process.started_at
            return process.ready_after_s
        time.sleep(0.02)
    raise RuntimeError(f"{process.name} did not log {text!r} in {timeout_s} s:\n{process.log_tail()}")


def start_bare_app(reply_path: Path, workdir: Path) -> Process:
    """Start the bare FastAPI app under uvicorn with the service's uvicorn options."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "benchmarks.bare_app:create_bare_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "info"]
    return _spawn("bare", command, port, workdir, {"BENCH_BARE_REPLY": str(reply_path)})


def _spawn(name: str, command: list[str], port: int, workdir: Path, env: Mapping[str, str]) -> Process:
    """Start a server process with its output in a log file."""
    log_path = workdir / f"{name}.log"
    log = log_path.open("wb")
    started = time.perf_counter()
    popen = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=clean_environment(env), cwd=_root())  # noqa: S603 -- our own modules
    return Process(name, popen, port, log_path, started, _log=log)


async def wait_ready(process: Process, path: str = "/readyz", timeout_s: float = READY_TIMEOUT_S) -> float:
    """Poll ``path`` every 5 ms until it answers 200; return seconds from process start to ready."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited with {process.popen.returncode}:\n{process.log_tail()}")
        try:
            await get_json(process.port, path, limit_s=2.0)
        except (OSError, ValueError, TimeoutError, asyncio.IncompleteReadError):
            await asyncio.sleep(0.005)
            continue
        process.ready_after_s = time.perf_counter() - process.started_at
        return process.ready_after_s
    raise RuntimeError(f"{process.name} not ready after {timeout_s} s:\n{process.log_tail()}")


def memory_kib(pid: int) -> dict[str, int]:
    """Return the process's current (VmRSS) and peak (VmHWM) resident set size in KiB, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system, all threads) the process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> float:
    """Return the machine's one-minute load average (other work on the machine skews timings)."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def reset_peak_rss(pid: int) -> bool:
    """Reset the process's peak RSS (VmHWM) to its current RSS; False where the kernel refuses."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _root() -> Path:
    """Return the repository root (the benchmarks' parent), where ``service`` imports from."""
    return Path(__file__).resolve().parent.parent
