"""Batch mode end to end: a 40-article batch-mode job against the fake batch endpoint, killed or not.

The job runs once straight through, then once with ``claims serve`` killed (SIGKILL) while its batch is out
and started again, then once with three of its first batch's answers not in the reply schema (re-asked in
one follow-up batch, not by chat calls). The model is ``openai/gpt-4o-mini`` at the fake provider
(``benchmarks.fake_provider``, a real HTTP server in its own process, which outlives the service), so the job
is priced at gpt-4o-mini's batch price from litellm's map. Prints the provider's calls (batches made, batch
lines answered, chat calls) and what the job says.
Run: ``python -m benchmarks.batch_mode [--port 18130]`` (uses the two ports after it).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.client import get_json
from benchmarks.processes import Process, service_config, start_provider, start_service, wait_ready

ARTICLES = 40
BATCH_SECONDS = 8.0  # long enough to kill the service while the batch is out
INVALID = 3  # answers of the third run's first batch not in the reply schema: one follow-up batch re-asks them
PARAGRAPH = (
    "Wages rose {figure}% in town {town} last year, the regional statistics office said in its annual report on "
    "Monday, after a count of every employer in the district and a survey of two thousand households there."
)


def call(port: int, method: str, path: str, body: str | None = None) -> Any:
    """Send one request to the service; return its JSON reply (a 4xx or 5xx is an error)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"content-type": "application/json"} if body else {}
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        document = json.loads(response.read())
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {document}")
        return document
    finally:
        connection.close()


def job_body() -> str:
    """Return the 40-article batch-mode job: two paragraphs an article, each its own chunk."""
    requests = [
        {
            "article": {
                "id": f"a{n}",
                "text": "\n".join(PARAGRAPH.format(figure=n % 9 + p, town=f"{n}-{p}") for p in (1, 2)),
            }
        }
        for n in range(ARTICLES)
    ]
    return json.dumps({"mode": "batch", "requests": requests})


def serve(workdir: Path, provider: Process, port: int) -> Process:
    """Start ``claims serve`` on gpt-4o-mini at the fake provider; polls every second; wait until ready."""
    config = service_config(provider.port, workdir / "cache", 4, 16)
    config["models"][0]["litellm_params"]["model"] = "openai/gpt-4o-mini"
    config |= {"job_workers": 4, "job_lease_s": 2, "chunk_tokens": 60, "context_sentences": 0,
               "batch_poll_s": 0.5, "batch_poll_max_s": 1.0}  # fmt: skip
    service = start_service("service", config, workdir, port=port)
    asyncio.run(wait_ready(service))
    return service


def wait_for(port: int, job_id: str, done: Any, timeout_s: float = 120.0) -> dict[str, Any]:
    """Poll the job until ``done(job)``; return it."""
    deadline = time.monotonic() + timeout_s
    while not done(job := call(port, "GET", f"/v1/jobs/{job_id}")):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the job did not get there in {timeout_s} s: {job}")
        time.sleep(0.1)
    return dict(job)


def finished(job: dict[str, Any]) -> bool:
    """Say whether the job is over."""
    return job["state"] not in ("queued", "running")


def run(workdir: Path, port: int, kill: bool, invalid: int = 0) -> dict[str, Any]:
    """Run the job once (killing the service while its batch is out when ``kill``); return what was seen.

    ``port`` and the next are the provider's and the service's; 0 takes free ones. ``invalid``: that many
    answers of the first batch are not in the reply schema.
    """
    provider = start_provider(
        50, workdir, max_seconds=600, batch_seconds=BATCH_SECONDS, port=port and port + 1,
        invalid_batch_answers=invalid,
    )  # fmt: skip
    service = serve(workdir, provider, port and port + 2)
    seen: dict[str, Any] = {"killed": None}
    try:
        job = call(service.port, "POST", "/v1/jobs", job_body())
        if kill:
            out = wait_for(service.port, job["id"], lambda j: j["batch"]["state"] == "submitted")
            service.popen.send_signal(signal.SIGKILL)
            service.popen.wait(timeout=10)
            service.stop()
            seen["killed"] = {"batch": out["batch"], "counts": out["counts"]}
            service = serve(workdir, provider, port and port + 2)
        job = wait_for(service.port, job["id"], finished)
        results = call(service.port, "GET", f"/v1/jobs/{job['id']}/results?limit=100")
        stats = asyncio.run(get_json(provider.port, "/stats"))
    finally:
        service.stop()
        provider.stop()
    indexes = [result["index"] for result in results]
    return seen | {
        "job": {key: job[key] for key in ("state", "mode", "batch", "counts", "usage")},
        "results": len(results), "every_article_once": indexes == list(range(ARTICLES)),
        "provider": {"batches_created": stats["batches_created"], "batch_lines": stats["batch_lines"],
                     "chat_calls": stats["calls"], "batch_api_requests": stats["batch_api_requests"]},
    }  # fmt: skip


def main() -> None:
    """Run the job, the job with a SIGKILL while its batch is out, and the job with invalid answers; print each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18130, help="first of three loopback ports to use")
    args = parser.parse_args()
    runs = {
        "run straight through": (False, 0),
        "killed with SIGKILL while its batch was out, restarted": (True, 0),
        f"{INVALID} answers of its batch not in the reply schema": (False, INVALID),
    }
    for title, (kill, invalid) in runs.items():
        with tempfile.TemporaryDirectory(prefix="claims-batch-") as folder:
            seen = run(Path(folder), args.port, kill, invalid)
        print(f"== a {ARTICLES}-article batch-mode job, {title}")
        print(json.dumps(seen, indent=1))


if __name__ == "__main__":
    main()
