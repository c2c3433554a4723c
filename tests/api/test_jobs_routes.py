"""Tests of ``service/api/jobs_routes.py``: submitting jobs, following them, their results, cancelling."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api import jobs_routes
from service.api.app import create_app
from service.settings import Settings

NDJSON = {"content-type": "application/x-ndjson"}


def article(number: int) -> dict[str, Any]:
    """Return a short extraction request whose one sentence states a figure."""
    return {"article": {"id": f"art-{number}", "text": f"Prices rose {number % 50}% in district {number} in May."}}


def ndjson(requests: list[dict[str, Any]]) -> str:
    """Write requests as NDJSON, one a line."""
    return "".join(json.dumps(request) + "\n" for request in requests)


@pytest.fixture
def jobs_client(tmp_path: Path) -> Iterator[TestClient]:
    """The app on the offline model, with four in-process job workers and its own data and cache."""
    settings = Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", job_workers=4)
    with TestClient(create_app(settings)) as client:
        yield client


def wait_for(client: TestClient, job_id: str, *states: str, limit_s: float = 60) -> dict[str, Any]:
    """Poll a job until it reaches one of ``states``; return it."""
    deadline = time.monotonic() + limit_s
    while True:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if job["state"] in states or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def test_a_thousand_article_ndjson_batch_streams_back_every_article_exactly_once(jobs_client: TestClient) -> None:
    """1,000 articles as NDJSON: 202 and a Location; the NDJSON stream gives each article once, in order."""
    submitted = jobs_client.post("/v1/jobs", content=ndjson([article(n) for n in range(1000)]), headers=NDJSON)
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert submitted.headers["location"] == f"/v1/jobs/{job['id']}"
    assert (job["state"], job["counts"]["total"], job["counts"]["queued"]) == ("queued", 1000, 1000)
    with jobs_client.stream(
        "GET", f"/v1/jobs/{job['id']}/results", headers={"accept": "application/x-ndjson"}
    ) as reply:
        assert reply.headers["content-type"].startswith("application/x-ndjson")
        results = [json.loads(line) for line in reply.iter_lines() if line]
    assert [result["index"] for result in results] == list(range(1000))
    assert [result["article_id"] for result in results] == [f"art-{n}" for n in range(1000)]
    assert {result["state"] for result in results} == {"succeeded"}
    assert all(result["result"]["claims"] for result in results)
    finished = jobs_client.get(f"/v1/jobs/{job['id']}").json()
    assert finished["state"] == "succeeded"
    assert finished["counts"] | {"claims": 0} == {
        "total": 1000, "queued": 0, "running": 0, "succeeded": 1000, "failed": 0, "cancelled": 0, "claims": 0,
    }  # fmt: skip
    assert finished["counts"]["claims"] == sum(len(r["result"]["claims"]) for r in results)
    assert finished["usage"]["model_calls"] == 1000


def test_results_come_in_pages_in_either_order(jobs_client: TestClient) -> None:
    """JSON results are a page with ``Link: rel=next``; completion order holds the same articles."""
    job = jobs_client.post("/v1/jobs", json={"requests": [article(n) for n in range(7)]}).json()
    wait_for(jobs_client, job["id"], "succeeded")
    first = jobs_client.get(f"/v1/jobs/{job['id']}/results?limit=5")
    assert [result["index"] for result in first.json()] == [0, 1, 2, 3, 4]
    assert first.headers["link"] == f'</v1/jobs/{job["id"]}/results?order=submission&offset=5&limit=5>; rel="next"'
    rest = jobs_client.get(f"/v1/jobs/{job['id']}/results?limit=5&offset=5")
    assert [result["index"] for result in rest.json()] == [5, 6]
    assert "link" not in rest.headers
    by_completion = jobs_client.get(f"/v1/jobs/{job['id']}/results?order=completion").json()
    assert sorted(result["index"] for result in by_completion) == list(range(7))


def test_one_request_is_a_job_of_one_article(jobs_client: TestClient) -> None:
    """A plain extraction request is accepted as a job; its result is the synchronous extraction's."""
    request = article(3)
    job = jobs_client.post("/v1/jobs", json=request).json()
    assert job["counts"]["total"] == 1
    done = wait_for(jobs_client, job["id"], "succeeded")
    assert done["started_at"] <= done["finished_at"]
    [result] = jobs_client.get(f"/v1/jobs/{job['id']}/results").json()
    direct = jobs_client.post("/v1/extractions", json=request).json()
    assert result["result"]["claims"] == direct["claims"]


def test_invalid_lines_are_reported_by_number_and_refuse_the_job(jobs_client: TestClient) -> None:
    """Any invalid line makes the whole job a 422 listing each by line; nothing is queued."""
    body = ndjson([article(1)]) + "not json\n" + json.dumps({"article": {"text": " "}}) + "\n"
    body += json.dumps({**article(2), "options": {"model": "gpt"}}) + "\n"
    response = jobs_client.post("/v1/jobs", content=body, headers=NDJSON)
    assert response.status_code == 422
    problem = response.json()
    assert [line["line"] for line in problem["rejected"]] == [2, 3, 4]
    assert problem["rejected"][2]["detail"].startswith("unknown model 'gpt'")
    assert problem["detail"].startswith("3 of 4 requests are invalid (add ?skip_invalid=true to run the others)")
    assert jobs_client.get("/v1/jobs").json()["jobs"] == []


def test_skip_invalid_runs_the_valid_lines_and_lists_the_others(jobs_client: TestClient) -> None:
    """With ``skip_invalid=true`` the valid lines run, the invalid are listed on the job as rejected."""
    body = ndjson([article(1)]) + "{\n" + ndjson([article(2)])
    response = jobs_client.post("/v1/jobs?skip_invalid=true", content=body, headers=NDJSON)
    assert response.status_code == 202
    job = response.json()
    assert job["counts"]["total"] == 2
    assert [line["line"] for line in job["rejected"]] == [2]
    results = jobs_client.get(f"/v1/jobs/{wait_for(jobs_client, job['id'], 'succeeded')['id']}/results").json()
    assert [result["article_id"] for result in results] == ["art-1", "art-2"]


def test_an_idempotency_key_returns_the_same_job_and_refuses_another_body(jobs_client: TestClient) -> None:
    """The same key and body give the same job (marked replayed); the same key with another body is a 409."""
    key = {"idempotency-key": "batch-2026-11-30"}
    first = jobs_client.post("/v1/jobs", json={"requests": [article(1)]}, headers=key)
    again = jobs_client.post("/v1/jobs", json={"requests": [article(1)]}, headers=key)
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert (first.headers.get("idempotent-replayed"), again.headers["idempotent-replayed"]) == (None, "true")
    other = jobs_client.post("/v1/jobs", json={"requests": [article(2)]}, headers=key)
    assert other.status_code == 409
    assert other.json()["type"] == "/problems/conflict"
    assert len(jobs_client.get("/v1/jobs").json()["jobs"]) == 1


def test_jobs_are_listed_newest_first_and_page_on(jobs_client: TestClient) -> None:
    """``GET /v1/jobs`` lists newest first; ``next`` pages on to older ones."""
    ids = [jobs_client.post("/v1/jobs", json=article(n)).json()["id"] for n in range(3)]
    first = jobs_client.get("/v1/jobs?limit=2").json()
    assert [job["id"] for job in first["jobs"]] == ids[:0:-1]
    rest = jobs_client.get(first["next"]).json()
    assert [job["id"] for job in rest["jobs"]] == ids[:1]


def test_an_unknown_job_is_a_404_problem(jobs_client: TestClient) -> None:
    """Following, reading or cancelling a job that does not exist is a 404 problem."""
    for response in (
        jobs_client.get("/v1/jobs/job_nope"),
        jobs_client.get("/v1/jobs/job_nope/results"),
        jobs_client.delete("/v1/jobs/job_nope"),
        jobs_client.get("/v1/jobs/job_01a22ae4860f7d3b5f3a10a25e38"),  # well formed, never made
        jobs_client.get("/v1/jobs/job_01a22ae4860f7d3b5f3a10a25e38:states"),  # another key of a store, never read
    ):
        assert (response.status_code, response.json()["type"]) == (404, "/problems/not-found")


def test_a_job_body_over_its_own_limit_is_a_413(tmp_path: Path) -> None:
    """Jobs have their own body cap (``job_max_body_mb``), larger than one extraction's."""
    settings = Settings(
        cache_dir=tmp_path / "cache",
        data_dir=tmp_path / "data",
        max_article_chars=100,
        max_html_chars=100,
        job_max_body_mb=1,
    )
    with TestClient(create_app(settings)) as client:
        small_enough = ndjson([article(n) for n in range(1000)])  # 74 KB: over an extraction's 66 KB, within 1 MB
        assert len(small_enough) > 100 * 12 + 64 * 1024
        assert client.post("/v1/jobs", content=small_enough, headers=NDJSON).status_code == 202
        too_big = ndjson([article(n) for n in range(20_000)])  # ~1.6 MB
        response = client.post("/v1/jobs", content=too_big, headers=NDJSON)
    assert (response.status_code, response.json()["type"]) == (413, "/problems/body-too-large")


def test_more_requests_than_the_limit_are_refused(tmp_path: Path) -> None:
    """A job of more requests than ``job_max_articles`` is a 422 saying the limit."""
    settings = Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", job_max_articles=3)
    with TestClient(create_app(settings)) as client:
        response = client.post("/v1/jobs", json={"requests": [article(n) for n in range(4)]})
    assert response.status_code == 422
    assert response.json()["detail"] == "the job has 4 requests; the limit is 3"


def test_a_page_cut_short_by_its_size_still_links_to_the_rest(
    jobs_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the page's byte budget the page stops early, and ``Link: rel=next`` picks up where it stopped."""
    job = jobs_client.post("/v1/jobs", json={"requests": [article(n) for n in range(5)]}).json()
    wait_for(jobs_client, job["id"], "succeeded")
    one_result = len(json.dumps(jobs_client.get(f"/v1/jobs/{job['id']}/results?limit=1").json()[0]["result"]))
    monkeypatch.setattr(jobs_routes, "RESULTS_PAGE_BYTES", one_result * 2)
    seen: list[int] = []
    url: str | None = f"/v1/jobs/{job['id']}/results?limit=100"
    while url is not None:
        page = jobs_client.get(url)
        assert 1 <= len(page.json()) <= 2
        seen += [result["index"] for result in page.json()]
        link = page.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    assert seen == [0, 1, 2, 3, 4]
    with jobs_client.stream(
        "GET", f"/v1/jobs/{job['id']}/results", headers={"accept": "application/x-ndjson"}
    ) as streamed:
        assert [json.loads(line)["index"] for line in streamed.iter_lines() if line] == [0, 1, 2, 3, 4]


def test_an_html_page_without_an_id_is_listed_under_its_result_s_id(jobs_client: TestClient) -> None:
    """A page's id comes from the text read from it: the job's listing and the result agree on it."""
    page = "<!doctype html><html><body><nav>Home 2%</nav><article><p>Prices rose 3% in May.</p></article></body></html>"
    job = jobs_client.post("/v1/jobs", json={"article": {"text": page}}).json()
    wait_for(jobs_client, job["id"], "succeeded")
    [listed] = jobs_client.get(f"/v1/jobs/{job['id']}/results").json()
    direct = jobs_client.post("/v1/extractions", json={"article": {"text": page}}).json()
    assert listed["article_id"] == listed["result"]["article_id"] == direct["article_id"]


def test_ndjson_lines_end_at_line_feeds_only_and_a_bom_is_no_line(jobs_client: TestClient) -> None:
    """U+2028 and U+0085 inside a JSON string are text, not line ends; a BOM before the first line is skipped."""
    requests = [article(1), {"article": {"id": "sep", "text": "Prices rose 4%\u2028in May\u0085and June."}}, article(3)]
    body = "\ufeff" + "\r\n".join(json.dumps(request, ensure_ascii=False) for request in requests) + "\r\n"
    submitted = jobs_client.post("/v1/jobs", content=body.encode(), headers=NDJSON)
    assert submitted.status_code == 202, submitted.text
    assert submitted.json()["counts"]["total"] == 3


def test_metadata_that_utf8_cannot_hold_or_too_large_is_a_422(jobs_client: TestClient) -> None:
    """A lone surrogate in metadata (valid JSON, but no UTF-8), over 16 KB or nested 900 deep: a 422, never a 500."""
    lone = '{"article": {"text": "Crime fell 5% in 2023.", "metadata": {"k": "\\udc00"}}}'
    large = {"article": {"text": "Crime fell 5% in 2023.", "metadata": {"k": "x" * 20_000}}}
    deep = '{"article": {"text": "Crime fell 5% in 2023.", "metadata": {"k": ' + "[" * 900 + "]" * 900 + "}}}"
    for path in ("/v1/jobs", "/v1/extractions"):
        answers = [
            jobs_client.post(path, content=lone, headers={"content-type": "application/json"}),
            jobs_client.post(path, content=lone, headers=NDJSON) if path == "/v1/jobs" else None,
            jobs_client.post(path, json=large),
            jobs_client.post(path, content=deep, headers={"content-type": "application/json"}),
        ]
        for answer in filter(None, answers):
            assert answer.status_code == 422, answer.text
            assert "metadata" in answer.json()["detail"]


def test_an_empty_idempotency_key_is_a_422_not_a_key_every_client_shares(jobs_client: TestClient) -> None:
    """``Idempotency-Key:`` with no value would bind every later keyless-looking submission to the first body."""
    answer = jobs_client.post("/v1/jobs", json=article(1), headers={"Idempotency-Key": ""})
    assert (answer.status_code, answer.json()["type"]) == (422, "/problems/invalid-request")


def test_a_body_of_more_json_arrays_than_its_requests_can_need_is_refused_before_parsing(tmp_path: Path) -> None:
    """Nested empty lists cost 20 times their bytes once parsed: past 64 a request on average, a 422 at once."""
    settings = Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", job_workers=0, job_max_articles=10)
    bomb = '{"article": {"text": "Crime fell 5%.", "metadata": {"a": [' + ",".join(["[]"] * 2_000) + "]}}}"
    brackets = {"article": {"text": "[" * 5_000 + " Crime fell 5% {in 2023}."}}  # text: not structure
    with TestClient(create_app(settings)) as client:
        refused = client.post("/v1/jobs", content=bomb, headers=NDJSON)
        accepted = client.post("/v1/jobs", json=brackets)
    assert (refused.status_code, refused.json()["type"]) == (422, "/problems/invalid-request")
    assert "JSON objects and arrays" in refused.json()["detail"]
    assert accepted.status_code == 202
