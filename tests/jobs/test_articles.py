"""Tests of ``service/jobs/articles.py``: fair scheduling across jobs, cancellation, a failing article."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.offline import provider
from tests.conftest import OPENAI_URL, hosted_settings
from tests.providers import scripted_openai_reply

pytestmark = pytest.mark.usefixtures("provider_keys")
MODEL_LATENCY_S = 0.2


def article(number: int) -> dict[str, Any]:
    """Return a one-sentence extraction request."""
    return {"article": {"id": f"art-{number}", "text": f"Prices rose {number % 50}% in district {number} in May."}}


@pytest.fixture
def slow_model(http_mock: respx.MockRouter) -> respx.Route:
    """An OpenAI model that answers after 200 ms, many calls at once."""

    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(MODEL_LATENCY_S)
        return scripted_openai_reply(request)

    route: respx.Route = http_mock.post(OPENAI_URL).mock(side_effect=answer)
    return route


@pytest.fixture
def jobs_client(tmp_path: Path, slow_model: respx.Route) -> Iterator[TestClient]:
    """The app on the slow model with two job workers and short leases."""
    with TestClient(create_app(hosted_settings(tmp_path, job_workers=2, job_lease_s=0.6))) as client:
        yield client


def job_of(client: TestClient, job_id: str) -> dict[str, Any]:
    """Return a job."""
    job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
    return job


def test_a_small_job_behind_a_thousand_article_batch_finishes_within_seconds(jobs_client: TestClient) -> None:
    """Turns go round the jobs: a one-article job submitted after a 1,000-article batch takes the next free worker."""
    big = jobs_client.post("/v1/jobs", json={"requests": [article(n) for n in range(1000)]}).json()
    time.sleep(0.3)  # the batch is running
    submitted = time.monotonic()
    small = jobs_client.post("/v1/jobs", json=article(5000)).json()
    while job_of(jobs_client, small["id"])["state"] != "succeeded":
        assert time.monotonic() - submitted < 5, "the small job waited behind the batch"
        time.sleep(0.05)
    waited = time.monotonic() - submitted
    batch = job_of(jobs_client, big["id"])
    assert waited < 2 * MODEL_LATENCY_S + 1  # one model call, after at most one article in flight per worker
    assert batch["state"] == "running"
    assert batch["counts"]["succeeded"] < 100  # the batch was far from done: the small job did not wait for it
    jobs_client.delete(f"/v1/jobs/{big['id']}")


def test_cancelling_stops_the_running_articles_and_skips_the_queued(
    jobs_client: TestClient, slow_model: respx.Route
) -> None:
    """DELETE: the job is cancelled at once; its articles in flight stop; nothing more is asked of the model."""
    job = jobs_client.post("/v1/jobs", json={"requests": [article(n) for n in range(50)]}).json()
    time.sleep(0.5)
    cancelled = jobs_client.delete(f"/v1/jobs/{job['id']}").json()
    assert cancelled["state"] == "cancelled"
    calls = slow_model.call_count
    time.sleep(1.0)
    assert slow_model.call_count <= calls + 2  # at most the two in flight, which stop at their next renewal
    final = job_of(jobs_client, job["id"])
    assert final["counts"]["cancelled"] + final["counts"]["succeeded"] == 50
    assert final["counts"]["cancelled"] >= 40
    results = jobs_client.get(f"/v1/jobs/{job['id']}/results?limit=1000").json()
    assert sorted(result["index"] for result in results) == list(range(50))


def test_a_bug_while_extracting_fails_the_article_not_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error costs its article (an internal-error problem); the next article still runs."""
    with TestClient(create_app(hosted_settings(tmp_path, default_model="default", job_workers=1))) as client:
        real_rules = provider.extract_offline_reply
        calls: list[int] = []

        def rules_failing_once(sentences: Any, language: str | None = None) -> Any:
            calls.append(1)
            return real_rules(None if len(calls) == 1 else sentences, language)  # the first call hits a bug

        monkeypatch.setattr(provider, "extract_offline_reply", rules_failing_once)
        job = client.post("/v1/jobs", json={"requests": [article(1), article(2)]}).json()
        deadline = time.monotonic() + 10
        while job_of(client, job["id"])["state"] == "running" or job_of(client, job["id"])["state"] == "queued":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        final = job_of(client, job["id"])
    assert final["state"] == "partial"
    [error] = final["errors"]
    assert (error["index"], error["status"], error["type"]) == (0, 500, "/problems/internal-error")
    assert final["counts"]["succeeded"] == 1


def test_an_article_queued_before_a_rule_it_breaks_fails_with_a_422_not_for_ever(tmp_path: Path) -> None:
    """A request stored before ``article.url`` took http(s) only (``javascript:``): its article fails, named, once."""
    queued = article(1) | {"article": {**article(1)["article"], "url": "https://example.com/a"}}
    settings = hosted_settings(tmp_path, default_model="default", job_workers=0)
    with TestClient(create_app(settings)) as client:
        job = client.post("/v1/jobs", json={"requests": [queued, article(2)]}).json()
    with sqlite3.connect(settings.data_dir / "jobs.db") as database:  # as an older version stored it
        database.execute("UPDATE articles SET request = replace(request, 'https://example.com/a', 'javascript:1')")
    with TestClient(create_app(settings.model_copy(update={"job_workers": 1}))) as client:
        deadline = time.monotonic() + 10
        while job_of(client, job["id"])["state"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        final = job_of(client, job["id"])
    assert (final["state"], final["counts"]["succeeded"]) == ("partial", 1)
    [error] = final["errors"]
    assert (error["index"], error["status"], error["type"]) == (0, 422, "/problems/invalid-request")
    assert error["detail"].startswith("the request stored for this article is no longer valid: article.url: ")
