"""Tests of batch-mode jobs (``service/jobs/batches.py``) through the real litellm -> httpx path.

OpenAI's Batch API is faked with respx (``tests/jobs/batch_fakes.py``: files, batches, their output, errors,
expiry, cancel, in OpenAI's shapes); the chat endpoint is mocked too, so a chat call the batch should have
answered is counted, and any other request fails the test.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from benchmarks.fake_batches import FakeBatches
from service.api.app import create_app
from service.settings import Settings
from service.stores.jobs.batch_store import BatchRecord
from service.stores.jobs.job_store import NewArticle, NewJob, new_job_id
from service.stores.jobs.sqlite_jobs import SqliteJobs
from tests.conftest import OPENAI_URL, hosted_settings
from tests.jobs.batch_fakes import good_answer, input_lines, route_batches
from tests.providers import scripted_openai_reply

pytestmark = pytest.mark.usefixtures("provider_keys")
GPT_4O_MINI_BATCH = (7.5e-08, 3e-07)  # litellm's input/output_cost_per_token_batches for gpt-4o-mini


def batch_job(articles: int, **job: Any) -> dict[str, Any]:
    """Return a batch-mode job body of ``articles`` two-sentence articles with figures."""
    requests = [
        {"article": {"id": f"a{n}", "text": f"Prices rose {n}% in May. Rents fell {n + 1}% in June."}}
        for n in range(articles)
    ]
    return {"mode": "batch", "requests": requests, **job}


def settled(client: TestClient, job_id: str, timeout_s: float = 30.0) -> dict[str, Any]:
    """Wait until the job is finished; return it."""
    deadline = time.monotonic() + timeout_s
    while True:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if job["state"] not in ("queued", "running"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def quick(tmp_path: Path, **overrides: object) -> Settings:
    """Settings on the OpenAI alias `gpt` polling batches every 50 ms."""
    return hosted_settings(tmp_path, job_workers=1, batch_poll_s=0.05, batch_poll_max_s=0.1, **overrides)


@pytest.fixture
def chat(http_mock: respx.MockRouter) -> respx.Route:
    """OpenAI's chat endpoint, answering like a good model (counted: batch-mode chunks should not come here)."""
    route: respx.Route = http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    return route


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest) -> dict[str, object]:
    """The job store: embedded (SQLite) or Redis (the test's own database)."""
    if request.param == "sqlite":
        return {}
    return {"redis_url": request.getfixturevalue("redis_url")}


def test_a_batch_mode_job_is_one_provider_batch_priced_at_the_batch_price(
    tmp_path: Path, http_mock: respx.MockRouter, chat: respx.Route, backend: dict[str, object]
) -> None:
    """Six articles: one upload, one batch, no chat call; claims grounded; cost at gpt-4o-mini's batch price."""
    fake = FakeBatches(good_answer, batch_seconds=0.2)
    api = route_batches(http_mock, fake)
    with TestClient(create_app(quick(tmp_path, **backend))) as client:
        submitted = client.post("/v1/jobs", json=batch_job(6))
        job = settled(client, submitted.json()["id"])
        results = client.get(f"/v1/jobs/{job['id']}/results").json()
    assert submitted.status_code == 202
    assert submitted.json()["mode"] == "batch"
    assert submitted.json()["batch"] == {
        "state": "pending", "model": "gpt", "provider_batch_id": None, "requests": 0, "answered": 0, "detail": None,
        "repairs": "batch", "follow_ups": 0, "earlier_batch_ids": [],
    }  # fmt: skip
    assert fake.created == 1
    assert chat.call_count == 0
    calls = [(call.request.method, call.request.url.path) for call in api.calls]
    assert calls[:3] == [("POST", "/v1/files"), ("GET", "/v1/batches"), ("POST", "/v1/batches")]
    assert calls[-1] == (
        "GET",
        f"/v1/files/{fake.batches[job['batch']['provider_batch_id']]['output_file_id']}/content",
    )
    assert job["state"] == "succeeded"
    assert job["batch"] == {
        "state": "ready", "model": "gpt", "provider_batch_id": next(iter(fake.batches)), "requests": 6,
        "answered": 6, "detail": None, "repairs": "batch", "follow_ups": 0, "earlier_batch_ids": [],
    }  # fmt: skip
    assert job["counts"]["claims"] == 12
    assert job["usage"]["model_calls"] == 6
    prompt_price, completion_price = GPT_4O_MINI_BATCH
    assert job["usage"]["cost_usd"] == pytest.approx(6 * (200 * prompt_price + 50 * completion_price))
    first = results[0]["result"]
    assert [claim["source"]["quote"] for claim in first["claims"]] == [
        "Prices rose 0% in May.",
        "Rents fell 1% in June.",
    ]
    assert first["warnings"] == []


def test_the_batch_input_is_openais_jsonl_a_custom_id_per_chunk(
    tmp_path: Path, http_mock: respx.MockRouter, chat: respx.Route
) -> None:
    """Each line is a chat-completions call with a custom_id, the model's name, the prompt and the JSON schema."""
    fake = FakeBatches(good_answer, batch_seconds=0.0)
    route_batches(http_mock, fake)
    with TestClient(create_app(quick(tmp_path))) as client:
        settled(client, client.post("/v1/jobs", json=batch_job(2)).json()["id"])
    lines = input_lines(fake)
    assert len(lines) == 2
    assert len({line["custom_id"] for line in lines}) == 2
    assert all(line["custom_id"].startswith("chunk-") for line in lines)
    assert {(line["method"], line["url"]) for line in lines} == {("POST", "/v1/chat/completions")}
    body = lines[0]["body"]
    assert body["model"] == "gpt-4o-mini"
    assert body["temperature"] == 0
    assert body["response_format"]["type"] == "json_schema"
    assert [message["role"] for message in body["messages"]] == ["system", "user"]
    assert "[S1] Prices rose 0% in May." in body["messages"][-1]["content"]
    assert "api_key" not in json.dumps(lines)
    assert next(iter(fake.batches.values()))["metadata"]["claims_job"].startswith("job_")


def test_a_model_without_a_batch_endpoint_is_a_422_naming_it(tmp_path: Path) -> None:
    """The offline model cannot batch: the submission is refused, naming the alias and the model."""
    with TestClient(create_app(quick(tmp_path))) as client:
        refused = client.post(
            "/v1/jobs",
            json=batch_job(1)
            | {"requests": [{"article": {"text": "Prices rose 3%."}, "options": {"model": "default"}}]},
        )
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"].endswith("/model-cannot-batch")
    assert "'default' (offline/rules)" in problem["detail"]


def test_articles_asking_two_models_cannot_share_a_batch(tmp_path: Path) -> None:
    """One batch goes to one model: a batch-mode job whose articles ask two aliases is a 422."""
    body = batch_job(1)
    body["requests"].append({"article": {"text": "Prices rose 3%."}, "options": {"model": "claude"}})
    with TestClient(create_app(quick(tmp_path))) as client:
        refused = client.post("/v1/jobs", json=body)
    assert refused.status_code == 422
    assert "must ask one model; these ask claude, gpt" in refused.json()["detail"]


BROKEN = '{"claims": "none"}'  # JSON, but not the reply schema: a repair re-asks it


def broken(body: dict[str, Any]) -> dict[str, Any]:
    """Answer a chat body with a reply that is not in the reply schema."""
    return good_answer(body) | {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": BROKEN}, "finish_reason": "stop"}]
    }


def first_one_broken() -> Any:
    """Return an answerer that breaks the first body it answers and answers the rest well."""
    answered: list[int] = []

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        answered.append(1)
        return broken(body) if len(answered) == 1 else good_answer(body)

    return answer


def batch_inputs(fake: FakeBatches) -> list[list[dict[str, Any]]]:
    """Return the input lines of each batch made, in the order they were made."""
    return [
        [json.loads(line) for line in fake.files[batch["input_file_id"]].decode().splitlines()]
        for batch in fake.batches.values()
    ]


def test_an_invalid_batch_answer_is_reasked_in_one_follow_up_batch_with_the_validation_error(
    tmp_path: Path, http_mock: respx.MockRouter, chat: respx.Route, backend: dict[str, object]
) -> None:
    """One bad line of three: one follow-up batch holding exactly its chunk's re-ask, no chat call; the job says so."""
    fake = FakeBatches(first_one_broken(), batch_seconds=0.0)
    route_batches(http_mock, fake)
    with TestClient(create_app(quick(tmp_path, **backend))) as client:
        job = settled(client, client.post("/v1/jobs", json=batch_job(3)).json()["id"])
        results = client.get(f"/v1/jobs/{job['id']}/results").json()
    assert chat.call_count == 0
    assert fake.created == 2
    first, follow_up = batch_inputs(fake)
    assert len(first) == 3
    assert len(follow_up) == 1
    reask = follow_up[0]["body"]["messages"]
    assert reask[:-2] == first[0]["body"]["messages"]  # the chunk whose answer was broken, and only it
    assert reask[-2] == {"role": "assistant", "content": BROKEN}
    assert reask[-1]["role"] == "user"
    assert "claims" in reask[-1]["content"]
    assert "list" in reask[-1]["content"]  # the validation error, as the realtime repair loop words it
    assert follow_up[0]["body"]["response_format"] == first[0]["body"]["response_format"]
    first_id, follow_up_id = fake.batches
    assert job["state"] == "succeeded"
    assert job["batch"] == {
        "state": "ready", "model": "gpt", "provider_batch_id": follow_up_id, "requests": 4, "answered": 4,
        "detail": None, "repairs": "batch", "follow_ups": 1, "earlier_batch_ids": [first_id],
    }  # fmt: skip
    assert [result["result"]["usage"]["repairs"] for result in results] == [1, 0, 0]
    assert job["counts"]["claims"] == 6
    assert job["usage"]["model_calls"] == 4
    prompt_price, completion_price = GPT_4O_MINI_BATCH
    assert job["usage"]["cost_usd"] == pytest.approx(4 * (200 * prompt_price + 50 * completion_price))


def test_with_batch_repairs_realtime_an_invalid_batch_answer_is_repaired_by_a_chat_call(
    tmp_path: Path, http_mock: respx.MockRouter, chat: respx.Route
) -> None:
    """``batch_repairs: realtime``: no follow-up batch; the repair loop re-asks in one chat call, carrying the error."""
    fake = FakeBatches(first_one_broken(), batch_seconds=0.0)
    route_batches(http_mock, fake)
    with TestClient(create_app(quick(tmp_path))) as client:
        job = settled(client, client.post("/v1/jobs", json=batch_job(3, batch_repairs="realtime")).json()["id"])
        results = client.get(f"/v1/jobs/{job['id']}/results").json()
    assert job["state"] == "succeeded"
    assert fake.created == 1
    assert chat.call_count == 1
    repair = json.loads(chat.calls[0].request.content)["messages"]
    assert repair[-2] == {"role": "assistant", "content": BROKEN}
    assert "claims" in repair[-1]["content"]
    assert "list" in repair[-1]["content"]
    assert (job["batch"]["repairs"], job["batch"]["follow_ups"], job["batch"]["requests"]) == ("realtime", 0, 3)
    assert [result["result"]["usage"]["repairs"] for result in results] == [1, 0, 0]
    assert job["counts"]["claims"] == 6


@pytest.mark.parametrize("repair_attempts", [1, 2])
def test_a_chunk_still_invalid_after_its_repair_budget_fails_as_in_real_time(
    tmp_path: Path, http_mock: respx.MockRouter, chat: respx.Route, repair_attempts: int
) -> None:
    """Always broken for one article: a follow-up batch per repair in the budget, then its chunk fails; no chat call."""

    def one_article_broken(body: dict[str, Any]) -> dict[str, Any]:
        return broken(body) if "Prices rose 0%" in json.dumps(body["messages"]) else good_answer(body)

    fake = FakeBatches(one_article_broken, batch_seconds=0.0)
    route_batches(http_mock, fake)
    with TestClient(create_app(quick(tmp_path, repair_attempts=repair_attempts))) as client:
        job = settled(client, client.post("/v1/jobs", json=batch_job(2)).json()["id"])
    assert chat.call_count == 0
    assert fake.created == 1 + repair_attempts
    assert [len(lines) for lines in batch_inputs(fake)] == [2] + [1] * repair_attempts
    assert job["batch"]["follow_ups"] == repair_attempts
    assert job["batch"]["state"] == "ready"
    assert job["state"] == "partial"
    assert job["counts"]["failed"] == 1
    [error] = job["errors"]
    assert error["article_id"] == "a0"
    assert error["type"].endswith("/invalid-model-output"), error
    assert f"after {repair_attempts} repair(s)" in error["detail"]


def test_an_expired_batch_answers_what_it_did_and_the_rest_is_asked_in_real_time(
    tmp_path: Path, http_mock: respx.MockRouter, chat: respx.Route
) -> None:
    """Expired with two of five lines answered: those two come from the batch, three chat calls, the job says so."""
    route_batches(http_mock, FakeBatches(good_answer, batch_seconds=0.0, ending="expired", answers=2))
    with TestClient(create_app(quick(tmp_path))) as client:
        job = settled(client, client.post("/v1/jobs", json=batch_job(5)).json()["id"])
    assert job["state"] == "succeeded"
    assert chat.call_count == 3
    assert job["batch"]["state"] == "failed"
    assert job["batch"]["answered"] == 2
    assert job["batch"]["detail"] == "batch expired; 3 call(s) unanswered by the batch, asked in real time"
    assert job["counts"]["claims"] == 10


def test_a_failed_batch_says_why_and_its_articles_are_asked_in_real_time(
    tmp_path: Path, http_mock: respx.MockRouter, chat: respx.Route
) -> None:
    """A batch the provider failed (its input refused) is reported with the provider's reason."""
    route_batches(http_mock, FakeBatches(good_answer, batch_seconds=0.0, ending="failed"))
    with TestClient(create_app(quick(tmp_path))) as client:
        job = settled(client, client.post("/v1/jobs", json=batch_job(2)).json()["id"])
    assert job["state"] == "succeeded"
    assert chat.call_count == 2
    assert job["batch"]["state"] == "failed"
    assert job["batch"]["detail"].startswith("This line is not valid JSON.; 2 call(s) unanswered")


def test_cancelling_the_job_cancels_the_providers_batch(
    tmp_path: Path, http_mock: respx.MockRouter, chat: respx.Route, backend: dict[str, object]
) -> None:
    """DELETE while the batch is out: the provider's batch is cancelled and no article is run."""
    fake = FakeBatches(good_answer, batch_seconds=60.0)
    api = route_batches(http_mock, fake)
    with TestClient(create_app(quick(tmp_path, **backend))) as client:
        job_id = client.post("/v1/jobs", json=batch_job(3)).json()["id"]
        deadline = time.monotonic() + 20
        while client.get(f"/v1/jobs/{job_id}").json()["batch"]["state"] != "submitted":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert client.delete(f"/v1/jobs/{job_id}").json()["state"] == "cancelled"
        while client.get(f"/v1/jobs/{job_id}").json()["batch"]["state"] != "cancelled":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        job = client.get(f"/v1/jobs/{job_id}").json()
    batch = next(iter(fake.batches.values()))
    assert batch["status"] == "cancelled"
    assert ("POST", f"/v1/batches/{batch['id']}/cancel") in [(c.request.method, c.request.url.path) for c in api.calls]
    assert job["counts"]["cancelled"] == 3
    assert job["batch"]["detail"] == "the job was cancelled"
    assert chat.call_count == 0


def test_a_provider_error_while_submitting_is_tried_again_and_makes_one_batch(
    tmp_path: Path, http_mock: respx.MockRouter, chat: respx.Route
) -> None:
    """A 500 on the batch's creation: tried again at the next poll, one batch made, the job succeeds."""
    fake = FakeBatches(good_answer, batch_seconds=0.0)
    failing = {"left": 1}
    real = fake.create

    def create_once_failing(body: bytes) -> tuple[int, dict[str, Any]]:
        if failing["left"]:
            failing["left"] -= 1
            return 500, {"error": {"message": "The server had an error", "type": "server_error", "code": None}}
        return real(body)

    fake.create = create_once_failing  # type: ignore[method-assign]
    route_batches(http_mock, fake)
    with TestClient(create_app(quick(tmp_path))) as client:
        job = settled(client, client.post("/v1/jobs", json=batch_job(2)).json()["id"])
    assert job["state"] == "succeeded"
    assert fake.created == 1
    assert chat.call_count == 0


async def test_a_batch_submitted_but_not_recorded_is_found_and_polled_not_submitted_again(
    tmp_path: Path, http_mock: respx.MockRouter
) -> None:
    """A process killed between submitting and recording: the next owner finds the batch by its input file."""
    from service.jobs.batches import Batches
    from service.pipeline.build import build_pipeline

    fake = FakeBatches(good_answer, batch_seconds=60.0)
    route_batches(http_mock, fake)
    settings = quick(tmp_path)
    store = SqliteJobs(settings.data_dir, lease_s=30, retention_s=3600)
    pipeline = build_pipeline(settings)
    request = json.dumps(batch_job(1)["requests"][0])
    job = NewJob(id=new_job_id(), articles=[NewArticle(0, "a0", request)], body_sha256="x", idempotency_key=None,
                 callback_url=None, callback_per_article=False, rejected_json="[]", batch_model="gpt")  # fmt: skip
    await store.create(job)
    batches = Batches(pipeline, store, owner="worker_a", idle=_no_wait)
    await batches.step()  # uploads
    record = await store.batch_of(job.id)
    assert record is not None
    assert record.state == "uploaded"
    assert record.input_file_id is not None
    fake.create(json.dumps({"input_file_id": record.input_file_id, "endpoint": "/v1/chat/completions",
                            "completion_window": "24h"}).encode())  # fmt: skip  # the submit whose reply was lost
    await batches.step()
    resumed = await store.batch_of(job.id)
    await store.close()
    await pipeline.close()
    assert fake.created == 1
    assert resumed is not None
    assert resumed.state == "submitted"
    assert resumed.provider_batch_id == next(iter(fake.batches))


async def _no_wait() -> None:
    """Idle without waiting."""


async def test_one_owner_holds_a_batch_at_a_time_on_redis(redis_url: str) -> None:
    """Two workers ask for due batches: the first gets it for its lease, the second nothing; saved, it is due again."""
    from service.stores.jobs.redis_jobs import RedisJobs

    store = RedisJobs(redis_url, lease_s=30, retention_s=3600)
    job = NewJob(id=new_job_id(), articles=[NewArticle(0, "a0", "{}")], body_sha256="x", idempotency_key=None,
                 callback_url=None, callback_per_article=False, rejected_json="[]", batch_model="gpt")  # fmt: skip
    try:
        await store.create(job)
        first = await store.due_batch("worker_a", 30)
        second = await store.due_batch("worker_b", 30)
        assert first is not None
        assert first.owner == "worker_a"
        assert second is None
        assert await store.save_batch(first.moved("uploaded", input_file_id="file-1"), 0.0)
        assert not await store.save_batch(first.moved("uploaded", input_file_id="file-2"), 0.0)  # no longer held
        again = await store.due_batch("worker_b", 30)
        assert again == BatchRecord(job_id=job.id, model="gpt", state="uploaded", input_file_id="file-1",
                                    owner="worker_b")  # fmt: skip
        assert await store.depth() == {"queued": 0, "running": 0}  # no ticket while the batch is out
    finally:
        await store.close()


async def test_one_owner_holds_a_batch_at_a_time_embedded(tmp_path: Path) -> None:
    """The same on SQLite: one owner at a time, and the job's article is held back from the queue while it is out."""
    store = SqliteJobs(tmp_path, lease_s=30, retention_s=3600)
    job = NewJob(id=new_job_id(), articles=[NewArticle(0, "a0", "{}")], body_sha256="x", idempotency_key=None,
                 callback_url=None, callback_per_article=False, rejected_json="[]", batch_model="gpt")  # fmt: skip
    try:
        await store.create(job)
        first = await store.due_batch("worker_a", 30)
        assert first is not None
        assert await store.due_batch("worker_b", 30) is None
        assert await store.claim("worker_b") is None  # held back while the batch is out
        assert await store.batch_answered(first.moved("ready", answered=1), {"chunk-1": "{}"})
        assert await store.batch_answer(job.id, "chunk-1") == "{}"
        item = await store.claim("worker_b")
        assert item is not None
        assert item.job_id == job.id
    finally:
        await store.close()


def test_an_ndjson_job_asks_for_batch_mode_in_the_query(
    tmp_path: Path, http_mock: respx.MockRouter, chat: respx.Route
) -> None:
    """``?mode=batch`` with an NDJSON body: one batch; the same body in realtime mode makes chat calls instead."""
    fake = FakeBatches(good_answer, batch_seconds=0.0)
    route_batches(http_mock, fake)
    body = "".join(json.dumps(request) + "\n" for request in batch_job(2)["requests"])
    headers = {"content-type": "application/x-ndjson"}
    with TestClient(create_app(quick(tmp_path))) as client:
        batched = settled(client, client.post("/v1/jobs?mode=batch", content=body, headers=headers).json()["id"])
        realtime = client.post("/v1/jobs", content=body, headers=headers | {"idempotency-key": "k1"}).json()
        realtime = settled(client, realtime["id"])
    assert (batched["mode"], batched["batch"]["state"], fake.created) == ("batch", "ready", 1)
    assert (realtime["mode"], realtime["batch"]) == ("realtime", None)
    assert chat.call_count == 0  # the realtime job's chunks were answered by the batch before, from the cache
    assert realtime["usage"]["cache_hits"] == 2


def test_a_batch_the_provider_no_longer_knows_is_given_up_and_its_articles_run_in_real_time(
    tmp_path: Path, http_mock: respx.MockRouter, chat: respx.Route, backend: dict[str, object]
) -> None:
    """The provider answers 404 to every poll of a submitted batch: the job still finishes, asked in real time."""
    fake = FakeBatches(good_answer, batch_seconds=60.0)
    real_create = fake.create

    def create_and_forget(body: bytes) -> tuple[int, dict[str, Any]]:
        status, batch = real_create(body)
        fake.batches.pop(batch["id"])  # gone at the provider: a poll of it is a 404
        return status, batch

    fake.create = create_and_forget  # type: ignore[method-assign]
    route_batches(http_mock, fake)
    with TestClient(create_app(quick(tmp_path, **backend))) as client:
        job = settled(client, client.post("/v1/jobs", json=batch_job(2)).json()["id"], timeout_s=20.0)
    assert job["state"] == "succeeded"
    assert chat.call_count == 2
    assert job["batch"]["state"] == "failed"
    assert job["batch"]["detail"].startswith("the provider refused the batch (model 'gpt' rejected the request")
    assert job["batch"]["detail"].endswith("2 call(s) unanswered by the batch, asked in real time")


def test_cancelling_a_job_whose_batch_already_finished_records_it_cancelled(
    tmp_path: Path, http_mock: respx.MockRouter, chat: respx.Route
) -> None:
    """The provider refuses to cancel a finished batch (400): the batch is recorded cancelled, not retried forever."""
    fake = FakeBatches(good_answer, batch_seconds=60.0)

    def finished_meanwhile(request: httpx.Request) -> httpx.Response:
        for batch in fake.batches.values():
            batch["_done_at"] = 0.0  # it finished just before the cancel reached the provider
        message = "Cannot cancel a batch with status 'completed'."
        return httpx.Response(400, json={"error": {"message": message, "type": "invalid_request_error"}})

    cancel_refused = http_mock.route(method="POST", url__regex=r"/v1/batches/[^/]+/cancel$").mock(
        side_effect=finished_meanwhile
    )  # routed before the fake, which would cancel it
    route_batches(http_mock, fake)
    with TestClient(create_app(quick(tmp_path))) as client:
        job_id = client.post("/v1/jobs", json=batch_job(2)).json()["id"]
        deadline = time.monotonic() + 20
        while client.get(f"/v1/jobs/{job_id}").json()["batch"]["state"] != "submitted":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert client.delete(f"/v1/jobs/{job_id}").json()["state"] == "cancelled"
        while client.get(f"/v1/jobs/{job_id}").json()["batch"]["state"] != "cancelled":
            assert time.monotonic() < deadline, client.get(f"/v1/jobs/{job_id}").json()["batch"]
            time.sleep(0.05)
    assert cancel_refused.call_count == 1
    assert chat.call_count == 0


async def test_a_step_longer_than_the_batch_lease_keeps_it_and_uploads_the_input_once(
    tmp_path: Path, http_mock: respx.MockRouter
) -> None:
    """An upload slower than the lease: the owner renews it, so a second worker neither claims it nor uploads again."""
    import asyncio

    from service.jobs.batches import Batches
    from service.pipeline.build import build_pipeline

    fake = FakeBatches(good_answer, batch_seconds=60.0)

    async def slow_upload(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.6)  # three leases of 0.2 s
        return httpx.Response(200, json=fake.upload(request.content, request.headers["content-type"]))

    uploads = http_mock.post(f"{OPENAI_URL.rsplit('/chat', 1)[0]}/files").mock(side_effect=slow_upload)
    route_batches(http_mock, fake)
    settings = quick(tmp_path, job_lease_s=0.05)  # a batch is held for 0.2 s
    store = SqliteJobs(settings.data_dir, lease_s=30, retention_s=3600)
    pipeline = build_pipeline(settings)
    request = json.dumps(batch_job(1)["requests"][0])
    job = NewJob(id=new_job_id(), articles=[NewArticle(0, "a0", request)], body_sha256="x", idempotency_key=None,
                 callback_url=None, callback_per_article=False, rejected_json="[]", batch_model="gpt")  # fmt: skip
    try:
        await store.create(job)
        first = asyncio.create_task(Batches(pipeline, store, owner="worker_a", idle=_no_wait).step())
        await asyncio.sleep(0.35)  # worker_a's first lease has run out by now
        await Batches(pipeline, store, owner="worker_b", idle=_no_wait).step()
        await first
        record = await store.batch_of(job.id)
    finally:
        await store.close()
        await pipeline.close()
    assert uploads.call_count == 1
    assert record is not None
    assert record.state == "uploaded"
    assert record.input_file_id == next(iter(fake.files))


@pytest.mark.parametrize("backend_name", ["sqlite", "redis"])
async def test_a_renewed_batch_lease_holds_it_from_other_workers(
    tmp_path: Path, backend_name: str, request: pytest.FixtureRequest
) -> None:
    """Renewed by its owner, a batch is not claimable after its first lease; another worker cannot renew it."""
    import asyncio

    from service.stores.jobs.redis_jobs import RedisJobs

    store: SqliteJobs | RedisJobs = (
        SqliteJobs(tmp_path, lease_s=30, retention_s=3600)
        if backend_name == "sqlite"
        else RedisJobs(request.getfixturevalue("redis_url"), lease_s=30, retention_s=3600)
    )
    job = NewJob(id=new_job_id(), articles=[NewArticle(0, "a0", "{}")], body_sha256="x", idempotency_key=None,
                 callback_url=None, callback_per_article=False, rejected_json="[]", batch_model="gpt")  # fmt: skip
    try:
        await store.create(job)
        held = await store.due_batch("worker_a", 0.2)
        assert held is not None
        assert await store.renew_batch(held, 5.0)
        await asyncio.sleep(0.3)  # the first lease has run out; the renewed one has not
        assert await store.due_batch("worker_b", 0.2) is None
        assert not await store.renew_batch(replace(held, owner="worker_b"), 5.0)
        assert await store.save_batch(held.moved("uploaded", input_file_id="file-1"), 0.0)
        assert not await store.renew_batch(held, 5.0)  # saved: given up
    finally:
        await store.close()


@pytest.mark.parametrize("backend_name", ["sqlite", "redis"])
async def test_a_job_cancelled_while_its_batch_is_held_has_it_due_at_once_after_the_step(
    tmp_path: Path, backend_name: str, request: pytest.FixtureRequest
) -> None:
    """Cancelled mid-step, the batch is due as soon as the step saves it (to cancel it), not at its next poll."""
    from service.stores.jobs.redis_jobs import RedisJobs

    store: SqliteJobs | RedisJobs = (
        SqliteJobs(tmp_path, lease_s=30, retention_s=3600)
        if backend_name == "sqlite"
        else RedisJobs(request.getfixturevalue("redis_url"), lease_s=30, retention_s=3600)
    )
    job = NewJob(id=new_job_id(), articles=[NewArticle(0, "a0", "{}")], body_sha256="x", idempotency_key=None,
                 callback_url=None, callback_per_article=False, rejected_json="[]", batch_model="gpt")  # fmt: skip
    try:
        await store.create(job)
        held = await store.due_batch("worker_a", 30)
        assert held is not None
        await store.cancel(job.id)  # DELETE while worker_a polls the batch
        assert await store.save_batch(held.moved("submitted", provider_batch_id="batch_1", polls=1), 600.0)
        again = await store.due_batch("worker_b", 30)
    finally:
        await store.close()
    assert again is not None
    assert again.job_cancelled
    assert again.provider_batch_id == "batch_1"


def test_the_batch_input_and_output_are_encoded_and_parsed_off_the_event_loop(
    tmp_path: Path, http_mock: respx.MockRouter, chat: respx.Route, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thirty articles (tens of kB each way): the JSONL is written and read on the CPU thread, not the event loop."""
    import threading

    from service.llm import batch_api

    threads: dict[str, str] = {}

    def recorded(name: str) -> Any:
        real = getattr(batch_api, name)

        def record(*args: Any) -> Any:
            threads[name] = threading.current_thread().name
            return real(*args)

        return record

    for name in ("input_jsonl", "answered_lines"):
        monkeypatch.setattr(batch_api, name, recorded(name))
    route_batches(http_mock, FakeBatches(good_answer, batch_seconds=0.0))
    with TestClient(create_app(quick(tmp_path))) as client:
        job = settled(client, client.post("/v1/jobs", json=batch_job(30)).json()["id"])
    assert (job["state"], job["batch"]["answered"], chat.call_count) == ("succeeded", 30, 0)
    assert threads["input_jsonl"].startswith("claims-cpu")
    assert threads["answered_lines"].startswith("claims-cpu")


async def _step_until(batches: Any, store: Any, job_id: str, done: Any) -> BatchRecord:
    """Step the batch loop until the job's batch record satisfies ``done``; return it (30 s at most)."""
    import asyncio

    deadline = time.monotonic() + 30  # the first step reads and chunks the articles: seconds on a busy machine
    while True:
        await batches.step()
        record = await store.batch_of(job_id)
        if done(record):
            return record  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, record
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("backend_name", ["sqlite", "redis"])
async def test_a_store_reopened_while_the_follow_up_batch_is_out_polls_it_and_never_submits_again(
    tmp_path: Path, http_mock: respx.MockRouter, backend_name: str, request: pytest.FixtureRequest
) -> None:
    """A restart (a new store, pipeline and loop) with the follow-up batch out: the same batch is polled to the end."""
    from service.jobs.batches import Batches
    from service.pipeline.build import build_pipeline
    from service.stores.jobs.redis_jobs import RedisJobs

    def open_store() -> SqliteJobs | RedisJobs:
        if backend_name == "sqlite":
            return SqliteJobs(settings.data_dir, lease_s=30, retention_s=3600)
        return RedisJobs(request.getfixturevalue("redis_url"), lease_s=30, retention_s=3600)

    fake = FakeBatches(first_one_broken(), batch_seconds=60.0)
    route_batches(http_mock, fake)
    settings = quick(tmp_path)
    requests = [NewArticle(n, f"a{n}", json.dumps(r)) for n, r in enumerate(batch_job(2)["requests"])]
    job = NewJob(id=new_job_id(), articles=requests, body_sha256="x", idempotency_key=None, callback_url=None,
                 callback_per_article=False, rejected_json="[]", batch_model="gpt")  # fmt: skip
    store, pipeline = open_store(), build_pipeline(settings)
    try:
        await store.create(job)
        batches = Batches(pipeline, store, owner="worker_a", idle=_no_wait)
        await _step_until(batches, store, job.id, lambda record: record.state == "submitted")
        for batch in fake.batches.values():
            batch["_done_at"] = 0.0  # the first batch is back
        out = await _step_until(batches, store, job.id, lambda r: r.state == "submitted" and r.follow_ups == 1)
    finally:
        await store.close()
        await pipeline.close()
    store, pipeline = open_store(), build_pipeline(settings)  # the process restarted
    try:
        batches = Batches(pipeline, store, owner="worker_b", idle=_no_wait)
        still_out = await _step_until(batches, store, job.id, lambda record: record.polls > out.polls)
        for batch in fake.batches.values():
            batch["_done_at"] = 0.0  # the follow-up is back
        back = await _step_until(batches, store, job.id, lambda record: record.state == "ready")
        reasked = await store.batch_answer(job.id, batch_inputs(fake)[1][0]["custom_id"])
    finally:
        await store.close()
        await pipeline.close()
    assert fake.created == 2
    assert fake.requests["POST /v1/files"] == 2
    first_id, follow_up_id = fake.batches
    assert (out.provider_batch_id, out.earlier_batch_ids) == (follow_up_id, (first_id,))
    assert (still_out.state, still_out.provider_batch_id) == ("submitted", follow_up_id)
    assert (back.provider_batch_id, back.follow_ups, back.requests, back.answered) == (follow_up_id, 1, 3, 3)
    assert reasked is not None  # the re-ask's answer is there for the article worker


def test_an_output_line_naming_a_call_the_job_did_not_send_is_ignored_not_counted(
    tmp_path: Path, http_mock: respx.MockRouter, chat: respx.Route
) -> None:
    """The output holds an answer to a custom_id never sent: not counted as answered, not stored, said in the detail."""
    fake = FakeBatches(good_answer, batch_seconds=0.0)
    real_complete = fake._complete
    stranger_id = "chunk-" + "0" * 40

    def with_a_stranger(batch: dict[str, Any]) -> None:
        real_complete(batch)
        body = good_answer({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "[S1] It rose 5%."}]})
        line = {"id": "batch_req_x", "custom_id": stranger_id, "error": None,
                "response": {"status_code": 200, "request_id": "req_x", "body": body}}  # fmt: skip
        fake.files[batch["output_file_id"]] += (json.dumps(line) + "\n").encode()

    fake._complete = with_a_stranger  # type: ignore[method-assign]
    route_batches(http_mock, fake)
    with TestClient(create_app(quick(tmp_path))) as client:
        job = settled(client, client.post("/v1/jobs", json=batch_job(2)).json()["id"])
    assert job["state"] == "succeeded"
    assert (job["batch"]["requests"], job["batch"]["answered"]) == (2, 2)
    assert job["batch"]["detail"] == "1 output line(s) named a call the job did not send, ignored"
    assert chat.call_count == 0
    import asyncio

    async def stored() -> str | None:
        store = SqliteJobs(quick(tmp_path).data_dir, lease_s=30, retention_s=3600)
        try:
            return await store.batch_answer(job["id"], stranger_id)
        finally:
            await store.close()

    assert asyncio.run(stored()) is None


def test_batch_repairs_is_taken_from_the_query_with_ndjson_and_refused_when_unknown(
    tmp_path: Path, http_mock: respx.MockRouter, chat: respx.Route
) -> None:
    """``?batch_repairs=realtime`` sets an NDJSON job's re-asks to real time; a value it does not know is a 422."""
    route_batches(http_mock, FakeBatches(good_answer, batch_seconds=0.0))
    body = "".join(json.dumps(request) + "\n" for request in batch_job(1)["requests"])
    headers = {"content-type": "application/x-ndjson"}
    with TestClient(create_app(quick(tmp_path))) as client:
        ndjson = client.post("/v1/jobs?mode=batch&batch_repairs=realtime", content=body, headers=headers)
        refused = client.post("/v1/jobs", json=batch_job(1, batch_repairs="later"))
        job = settled(client, ndjson.json()["id"])
    assert ndjson.status_code == 202
    assert (job["state"], job["batch"]["repairs"]) == ("succeeded", "realtime")
    assert refused.status_code == 422
    assert "batch_repairs" in refused.json()["detail"]


async def test_a_job_store_made_before_follow_up_batches_gains_their_columns_and_keeps_its_batches(
    tmp_path: Path,
) -> None:
    """A batches table without repairs, follow_ups, earlier_batch_ids: opened, they are added with their defaults."""
    import sqlite3

    store = SqliteJobs(tmp_path, lease_s=30, retention_s=3600)
    job = NewJob(id=new_job_id(), articles=[NewArticle(0, "a0", "{}")], body_sha256="x", idempotency_key=None,
                 callback_url=None, callback_per_article=False, rejected_json="[]", batch_model="gpt")  # fmt: skip
    await store.create(job)
    await store.close()
    with sqlite3.connect(tmp_path / "jobs.db") as connection:
        for column in ("repairs", "follow_ups", "earlier_batch_ids"):
            connection.execute(f"ALTER TABLE batches DROP COLUMN {column}")
        connection.execute("DROP TABLE batch_sent")
    reopened = SqliteJobs(tmp_path, lease_s=30, retention_s=3600)
    try:
        record = await reopened.batch_of(job.id)
        sent = await reopened.batch_sent(job.id)
    finally:
        await reopened.close()
    assert record == BatchRecord(job_id=job.id, model="gpt")
    assert sent == set()


def test_cancelling_the_job_while_its_follow_up_batch_is_out_cancels_that_batch(
    tmp_path: Path, http_mock: respx.MockRouter, chat: respx.Route
) -> None:
    """DELETE while the follow-up of re-asks is out: the provider's follow-up batch is cancelled, no chat call."""
    fake = FakeBatches(first_one_broken(), batch_seconds=0.0)
    real_create = fake.create

    def first_quick_then_slow(body: bytes) -> tuple[int, dict[str, Any]]:
        made = real_create(body)
        fake.batch_seconds = 60.0  # the follow-up stays out
        return made

    fake.create = first_quick_then_slow  # type: ignore[method-assign]
    api = route_batches(http_mock, fake)
    with TestClient(create_app(quick(tmp_path))) as client:
        job_id = client.post("/v1/jobs", json=batch_job(2)).json()["id"]
        deadline = time.monotonic() + 20
        follow_up_out = ("submitted", 1)
        while (
            (batch := client.get(f"/v1/jobs/{job_id}").json()["batch"])["state"],
            batch["follow_ups"],
        ) != follow_up_out:
            assert time.monotonic() < deadline, batch
            time.sleep(0.05)
        assert client.delete(f"/v1/jobs/{job_id}").json()["state"] == "cancelled"
        while (batch := client.get(f"/v1/jobs/{job_id}").json()["batch"])["state"] != "cancelled":
            assert time.monotonic() < deadline, batch
            time.sleep(0.05)
    first_id, follow_up_id = fake.batches
    assert (fake.batches[first_id]["status"], fake.batches[follow_up_id]["status"]) == ("completed", "cancelled")
    cancels = [c.request.url.path for c in api.calls if c.request.url.path.endswith("/cancel")]
    assert cancels == [f"/v1/batches/{follow_up_id}/cancel"]
    assert (batch["provider_batch_id"], batch["earlier_batch_ids"]) == (follow_up_id, [first_id])
    assert chat.call_count == 0


def test_an_idempotency_key_binds_batch_repairs_but_not_its_default_spelled_out(
    tmp_path: Path, http_mock: respx.MockRouter, chat: respx.Route
) -> None:
    """NDJSON under one key: ``?batch_repairs=batch`` spelled out is the same job; ``realtime`` is a 409."""
    route_batches(http_mock, FakeBatches(good_answer, batch_seconds=0.0))
    body = "".join(json.dumps(request) + "\n" for request in batch_job(1)["requests"])
    headers = {"content-type": "application/x-ndjson", "idempotency-key": "backlog-2026-12-07"}
    with TestClient(create_app(quick(tmp_path))) as client:
        first = client.post("/v1/jobs?mode=batch", content=body, headers=headers)
        spelled_out = client.post("/v1/jobs?mode=batch&batch_repairs=batch", content=body, headers=headers)
        other = client.post("/v1/jobs?mode=batch&batch_repairs=realtime", content=body, headers=headers)
        settled(client, first.json()["id"])
    assert (first.status_code, spelled_out.status_code, other.status_code) == (202, 202, 409)
    assert spelled_out.json()["id"] == first.json()["id"]
    assert spelled_out.headers["idempotent-replayed"] == "true"
