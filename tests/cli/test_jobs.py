"""Tests of ``service/cli/jobs.py``: ``claims jobs`` against a real served process, over HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.processes import Process, start_service, wait_ready
from service.api.auth import key_hash, new_key


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """``claims serve`` on the offline model."""
    workdir = tmp_path_factory.mktemp("served")
    service = start_service(
        "service", {"cache_dir": str(workdir / "cache"), "data_dir": str(workdir / "data")}, workdir
    )
    asyncio.run(wait_ready(service))
    yield service
    service.stop()


def claims(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ``claims`` command in a process of its own (with ``env`` added to the environment)."""
    return subprocess.run(  # noqa: S603 -- our own interpreter
        [sys.executable, "-m", "service", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    """A folder of three short articles."""
    folder = tmp_path / "articles"
    folder.mkdir()
    for number in range(3):
        (folder / f"a{number}.txt").write_text(f"Prices rose {number + 2}% in May.", encoding="utf-8")
    return folder


def test_submit_wait_status_results_and_list(served: Process, articles: Path) -> None:
    """A folder submitted as a job and followed to the end; its status, streamed results and listing agree."""
    url = f"http://127.0.0.1:{served.port}"
    submitted = claims("jobs", "submit", str(articles), "--wait", "--url", url)
    assert submitted.returncode == 0, submitted.stderr
    job: dict[str, Any] = json.loads(submitted.stdout)
    assert (job["state"], job["counts"]["succeeded"]) == ("succeeded", 3)
    status = json.loads(claims("jobs", "status", job["id"], "--url", url).stdout)
    assert status["id"] == job["id"]
    results = [json.loads(line) for line in claims("jobs", "results", job["id"], "--url", url).stdout.splitlines()]
    assert [result["article_id"] for result in results] == ["a0", "a1", "a2"]
    assert job["id"] in claims("jobs", "list", "--url", url).stdout
    cancelled = json.loads(claims("jobs", "cancel", job["id"], "--url", url).stdout)
    assert cancelled["state"] == "succeeded"  # a finished job is left as it is


def test_an_error_the_service_answers_is_one_line_and_exit_2(served: Process) -> None:
    """An unknown job: the problem's title and detail on stderr, exit 2."""
    result = claims("jobs", "status", "job_nope", "--url", f"http://127.0.0.1:{served.port}")
    assert result.returncode == 2
    assert result.stderr.startswith("error: Not found: no job 'job_nope'")


def test_a_service_that_cannot_be_reached_is_exit_1(tmp_path: Path) -> None:
    """Nothing listening at the URL: a clear one-line error, exit 1."""
    result = claims("jobs", "list", "--url", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot reach the service at http://127.0.0.1:9")


DESK_KEY, READER_KEY = new_key(), new_key()


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """``claims serve`` with API keys: ``desk`` may submit and read jobs, ``reader`` may only read."""
    workdir = tmp_path_factory.mktemp("keyed")
    api_keys = [
        {"name": "desk", "hash": key_hash(DESK_KEY), "scopes": ["jobs", "read"]},
        {"name": "reader", "hash": key_hash(READER_KEY), "scopes": ["read"]},
    ]
    config = {"cache_dir": str(workdir / "cache"), "data_dir": str(workdir / "data"), "api_keys": api_keys}
    service = start_service("keyed", config, workdir)
    asyncio.run(wait_ready(service))
    yield service
    service.stop()


def test_a_keyed_service_is_reached_with_api_key_or_claims_api_key(keyed: Process, articles: Path) -> None:
    """``--api-key`` (or ``CLAIMS_API_KEY``) is sent as a bearer key: submit, follow, status, results, list, cancel."""
    url = f"http://127.0.0.1:{keyed.port}"
    submitted = claims("jobs", "submit", str(articles), "--wait", "--url", url, "--api-key", DESK_KEY)
    assert submitted.returncode == 0, submitted.stderr
    job: dict[str, Any] = json.loads(submitted.stdout)
    assert (job["state"], job["counts"]["succeeded"]) == ("succeeded", 3)
    as_desk = {"CLAIMS_API_KEY": DESK_KEY, "CLAIMS_URL": url}
    assert json.loads(claims("jobs", "status", job["id"], env=as_desk).stdout)["id"] == job["id"]
    results = [json.loads(line) for line in claims("jobs", "results", job["id"], env=as_desk).stdout.splitlines()]
    assert [result["article_id"] for result in results] == ["a0", "a1", "a2"]
    listed = claims("jobs", "list", env=as_desk)
    assert (listed.returncode, listed.stdout.split()[:3]) == (0, [job["id"], "succeeded", "3/3"])
    assert json.loads(claims("jobs", "cancel", job["id"], env=as_desk).stdout)["state"] == "succeeded"


def test_no_key_or_an_unknown_one_is_one_line_saying_how_to_send_it(keyed: Process, articles: Path) -> None:
    """A 401 from the service: its problem and how to pass the key, on one line, exit 2."""
    url = f"http://127.0.0.1:{keyed.port}"
    advice = "; pass the service's API key with --api-key KEY or CLAIMS_API_KEY\n"

    missing = claims("jobs", "list", "--url", url)
    unknown = claims("jobs", "results", "job_x", "--url", url, env={"CLAIMS_API_KEY": "ce_not-a-key"})
    submitted = claims("jobs", "submit", str(articles), "--url", url)

    assert (missing.returncode, missing.stderr) == (
        2,
        "error: Unauthorized: an API key is required: send Authorization: Bearer <key> or X-API-Key: <key>" + advice,
    )
    assert (unknown.returncode, unknown.stderr) == (2, "error: Unauthorized: the API key is not valid" + advice)
    assert (submitted.returncode, submitted.stderr.count("\n")) == (2, 1)
    assert submitted.stderr.endswith(advice)


def test_a_key_without_the_scope_is_one_line_and_exit_2(keyed: Process, articles: Path) -> None:
    """A 403 (a read-only key submitting a job): the problem and what to do, on one line, exit 2."""
    url = f"http://127.0.0.1:{keyed.port}"

    refused = claims("jobs", "submit", str(articles), "--url", url, "--api-key", READER_KEY)

    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == (
        "error: Forbidden: the API key 'reader' lacks the 'jobs' scope this operation needs; use a key holding that "
        "scope (the operator makes one: claims keys new NAME --scopes ...)\n"
    )


def test_a_key_no_header_can_carry_is_refused_before_any_request() -> None:
    """A key holding a line break (a bad paste) is a usage error naming the option, exit 2; nothing is sent."""
    refused = claims("jobs", "list", "--url", "http://127.0.0.1:9", "--api-key", "ce_abc\ndef")

    assert (refused.returncode, refused.stderr) == (
        2,
        "error: --api-key (or CLAIMS_API_KEY) holds a character no HTTP header carries: an API key is printable "
        "ASCII, as claims keys new prints it\n",
    )


def test_batch_mode_on_a_model_that_cannot_batch_is_the_services_422_in_one_line(
    served: Process, articles: Path
) -> None:
    """``--batch`` asks for batch mode; the offline model has no Batch API: the 422 says so, exit 2."""
    result = claims("jobs", "submit", str(articles), "--batch", "--url", f"http://127.0.0.1:{served.port}")
    assert result.returncode == 2
    assert result.stderr.startswith("error: Model cannot run as a batch: model 'default' (offline/rules)")


def test_submit_language_names_the_text_files_language_else_none_is_sent(articles: Path) -> None:
    """``claims jobs submit --language es`` sends each text file's article with it; without, the service detects."""
    from service.cli.jobs import _ndjson_of

    named = [json.loads(line)["article"] for line in _ndjson_of([str(articles)], "es").splitlines()]
    assert [article["language"] for article in named] == ["es", "es", "es"]
    unnamed = [json.loads(line)["article"] for line in _ndjson_of([str(articles)], None).splitlines()]
    assert all("language" not in article for article in unnamed)


SERVICE = "http://claims.test"
JOB_ID = "job_0123456789abcdef01234567"


def job_document(state: str, done: int, total: int = 2) -> dict[str, Any]:
    """Return the parts of a job ``--wait`` reads: its id, state and counts."""
    counts = {"total": total, "queued": total - done, "running": 0, "succeeded": done, "failed": 0, "cancelled": 0}
    return {"id": JOB_ID, "state": state, "counts": counts | {"claims": done}}


def events_body(*events: tuple[str, str | None, dict[str, Any]]) -> str:
    """Write server-sent events (name, id, data) as a service sends them."""
    return "".join(
        f"event: {name}\ndata: {json.dumps(data)}\n" + (f"id: {event_id}\n" if event_id else "") + "\n"
        for name, event_id, data in events
    )


def article_event(sequence: int) -> tuple[str, str, dict[str, Any]]:
    """Return the event of the ``sequence``-th article to finish."""
    return "article", str(sequence), {"sequence": sequence, "counts": job_document("running", sequence)["counts"]}


def event_stream(body: str) -> Any:
    """Return a 200 reply of server-sent events."""
    import httpx

    return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=body)


def test_wait_follows_the_job_s_events_and_never_polls(http_mock: Any) -> None:
    """``--wait`` reads the events to the end event and returns that job; GET /v1/jobs/{id} is never asked."""
    from service.cli.jobs import Service, _follow

    ended = job_document("succeeded", 2)
    body = events_body(article_event(1), article_event(2), ("end", None, ended))
    events = http_mock.get(f"{SERVICE}/v1/jobs/{JOB_ID}/events").mock(return_value=event_stream(body))
    polled = http_mock.get(f"{SERVICE}/v1/jobs/{JOB_ID}").mock(side_effect=AssertionError("polled"))
    assert _follow(Service(SERVICE), job_document("queued", 0)) == ended
    assert (events.call_count, polled.call_count) == (1, 0)


def test_wait_resumes_the_events_after_the_last_one_had(http_mock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream cut after article 1 is followed again with ``Last-Event-ID: 1``, to the end."""
    from service.cli import jobs

    monkeypatch.setattr(jobs, "POLL_S", 0)
    ended = job_document("succeeded", 2)
    events = http_mock.get(f"{SERVICE}/v1/jobs/{JOB_ID}/events").mock(
        side_effect=[
            event_stream(events_body(article_event(1))),
            event_stream(events_body(article_event(2), ("end", None, ended))),
        ]
    )
    assert jobs._follow(jobs.Service(SERVICE), job_document("running", 0)) == ended
    assert [call.request.headers.get("last-event-id") for call in events.calls] == [None, "1"]


def test_wait_polls_a_service_too_old_to_have_events(http_mock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Events answered 404 (no such route): the job is polled until it ends, as before."""
    import httpx

    from service.cli import jobs

    monkeypatch.setattr(jobs, "POLL_S", 0)
    problem = {"type": "/problems/not-found", "title": "Not found", "status": 404, "detail": "no resource at ..."}
    http_mock.get(f"{SERVICE}/v1/jobs/{JOB_ID}/events").mock(
        return_value=httpx.Response(404, json=problem, headers={"content-type": "application/problem+json"})
    )
    polled = http_mock.get(f"{SERVICE}/v1/jobs/{JOB_ID}").mock(
        side_effect=[
            httpx.Response(200, json=job_document("running", 1)),
            httpx.Response(200, json=job_document("succeeded", 2)),
        ]
    )
    assert jobs._follow(jobs.Service(SERVICE), job_document("queued", 0))["state"] == "succeeded"
    assert polled.call_count == 2


def test_submit_realtime_repairs_sends_batch_repairs_realtime_with_batch_mode(http_mock: Any, articles: Path) -> None:
    """``--batch --realtime-repairs`` asks for re-asks in real time; ``--batch`` alone leaves the default."""
    import httpx
    from typer.testing import CliRunner

    from service.cli.main import app

    submitted = http_mock.post(f"{SERVICE}/v1/jobs").mock(
        return_value=httpx.Response(202, json=job_document("queued", 0))
    )
    for flags in (["--batch", "--realtime-repairs"], ["--batch"]):
        result = CliRunner().invoke(app, ["jobs", "submit", str(articles), *flags, "--url", SERVICE])
        assert result.exit_code == 0, result.output
    queries = [dict(call.request.url.params) for call in submitted.calls]
    assert [(query["mode"], query.get("batch_repairs")) for query in queries] == [
        ("batch", "realtime"),
        ("batch", None),
    ]
