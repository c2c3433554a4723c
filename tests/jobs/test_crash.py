"""A real ``claims serve`` killed with SIGKILL in the middle of a batch, and started again: nothing lost.

The model is a real (fake) OpenAI-compatible server on loopback that counts every call, so the test can
show that the restart paid for no chunk twice: an article interrupted after its chunk was answered gets it
from the reply cache; only the calls still in flight at the kill are asked again.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks.client import get_json
from benchmarks.processes import Process, service_config, start_provider, start_service, wait_ready

ARTICLES = 100
LATENCY_S = 0.15
REPLY_SLACK_S = 0.05  # a reply on its way back when the process died is as lost as one still awaited
CHUNKS = 3  # an article of three paragraphs, each its own chunk: an interrupted article has some answered
PARAGRAPH = (  # about 70 tokens: more than a chunk's budget of 60, so a chunk of its own
    "Wages rose {figure}% in town {town} last year, the regional statistics office said in its annual report on "
    "Monday, after a count of every employer in the district and a survey of two thousand households there."
)


@pytest.fixture(autouse=True)
def real_sockets(http_mock: Any) -> None:
    """This test speaks plain HTTP over loopback (http.client), outside respx, which patches httpx only."""


def request(port: int, method: str, path: str, body: str | None = None, content_type: str = "") -> Any:
    """Send one request to the service and return its JSON reply."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body, {"content-type": content_type} if content_type else {})
        response = connection.getresponse()
        document = json.loads(response.read())
        assert response.status < 400, document
        return document
    finally:
        connection.close()


def serve(workdir: Path, provider: Process) -> Process:
    """Start ``claims serve`` on the fake model, four job workers, two-second leases; wait until ready."""
    settings = {"job_workers": 4, "job_lease_s": 2, "chunk_tokens": 60, "context_sentences": 0}
    config = service_config(provider.port, workdir / "cache", 1, 16) | settings  # chunks one at a time
    service = start_service("service", config, workdir)
    asyncio.run(wait_ready(service))
    return service


def article_text(number: int) -> str:
    """Return an article of ``CHUNKS`` paragraphs, each with a figure (the fake model claims figures)."""
    return "\n".join(PARAGRAPH.format(figure=number % 9 + part, town=f"{number}-{part}") for part in range(CHUNKS))


def provider_calls(provider: Process) -> list[tuple[float, str]]:
    """Return every call the fake model answered: when it began (wall clock) and a hash of what it asked."""
    calls: list[tuple[float, str]] = [tuple(call) for call in asyncio.run(get_json(provider.port, "/calls"))["calls"]]
    return calls


def test_a_batch_survives_sigkill_with_every_article_once_and_no_chunk_paid_twice(tmp_path: Path) -> None:
    """SIGKILL mid-batch, restart: the job completes, 100 results each once, calls ≤ chunks + in flight at kill."""
    provider = start_provider(LATENCY_S * 1000, tmp_path, max_seconds=300)
    service = serve(tmp_path, provider)
    try:
        lines = [{"article": {"id": f"a{n}", "text": article_text(n)}} for n in range(ARTICLES)]
        body = "".join(json.dumps(line) + "\n" for line in lines)
        job = request(service.port, "POST", "/v1/jobs", body, "application/x-ndjson")
        while request(service.port, "GET", f"/v1/jobs/{job['id']}")["counts"]["succeeded"] < ARTICLES // 4:
            time.sleep(0.05)
        killed_at = time.time()
        service.popen.send_signal(signal.SIGKILL)
        service.popen.wait(timeout=10)
        service.stop()
        service = serve(tmp_path, provider)
        deadline = time.monotonic() + 120
        while (finished := request(service.port, "GET", f"/v1/jobs/{job['id']}"))["state"] == "running":
            assert time.monotonic() < deadline, finished
            time.sleep(0.1)
        results = [
            result
            for offset in range(0, ARTICLES, 100)
            for result in request(service.port, "GET", f"/v1/jobs/{job['id']}/results?offset={offset}&limit=100")
        ]
        calls = provider_calls(provider)
    finally:
        service.stop()
        provider.stop()
    assert finished["state"] == "succeeded"
    assert finished["counts"]["succeeded"] == ARTICLES
    assert [result["index"] for result in results] == list(range(ARTICLES))
    assert [result["article_id"] for result in results] == [f"a{n}" for n in range(ARTICLES)]
    answered = sum(result["result"]["usage"]["model_calls"] for result in results)
    from_cache = sum(result["result"]["usage"]["cache_hits"] for result in results)
    chunks = ARTICLES * CHUNKS
    assert {result["result"]["usage"]["chunks"] for result in results} == {CHUNKS}
    assert answered + from_cache == chunks  # each chunk answered once, by the model or (after the restart) the cache
    asked_twice = len(calls) - len({digest for _, digest in calls})
    in_flight = sum(1 for began, _ in calls if began <= killed_at <= began + LATENCY_S + REPLY_SLACK_S)
    assert len({digest for _, digest in calls}) == chunks
    assert asked_twice <= in_flight  # only the calls the kill cut off were made again; no answered chunk
    print(f"\n{len(calls)} calls for {chunks} chunks; {in_flight} in flight at the kill, {asked_twice} asked again; "
          f"{from_cache} from the cache after the restart")  # fmt: skip


def test_a_batch_mode_job_killed_while_its_batch_is_out_resumes_the_same_batch(tmp_path: Path) -> None:
    """SIGKILL while the provider batch is out, restart: the same batch is polled, 40 articles each once, no chat."""
    from benchmarks.batch_mode import ARTICLES, run

    seen = run(tmp_path, 0, kill=True)
    assert seen["killed"]["batch"]["state"] == "submitted"
    assert seen["killed"]["counts"]["succeeded"] == 0
    assert seen["job"]["batch"]["provider_batch_id"] == seen["killed"]["batch"]["provider_batch_id"]
    assert seen["job"]["state"] == "succeeded"
    assert seen["job"]["counts"]["succeeded"] == ARTICLES
    assert seen["results"] == ARTICLES
    assert seen["every_article_once"]
    requests = seen["provider"].pop("batch_api_requests")
    assert seen["provider"] == {"batches_created": 1, "batch_lines": 2 * ARTICLES, "chat_calls": 0}
    assert (requests["POST /v1/files"], requests["POST /v1/batches"]) == (1, 1)  # uploaded and submitted once
