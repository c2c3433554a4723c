"""Tests of ``service/api/factchecks_routes.py``: import, follow, show, remove and search fact-checks over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.api.auth import key_hash
from service.settings import ApiKey, Settings

ADMIN, DESK, ARCHIVIST = "ce_admin-key", "ce_desk-key", "ce_archivist-key"
CSV = (
    "claim_reviewed,url,title,rating,publisher,date_published,language\n"
    "The FBI says violent crime fell 15.2% in early 2024,https://fc.example/crime,Is crime down?,True,Snopes,"
    "2024-08-14,en\n"
    ",https://fc.example/empty,,,,,\n"
    "Musk's X stream drew 1.3 million listeners,https://fc.example/stream,Did 1.3 million listen?,Mostly True,,,en\n"
)
FIRST = {
    "url": "https://fc.example/crime",
    "claim_reviewed": "The FBI says violent crime fell 15.2% in early 2024",
    "title": "Is crime down?",
    "rating": "True",
    "publisher": "Snopes",
    "date_published": "2024-08-14",
    "language": "en",
}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The app with three keys: an admin, a desk that may read, an archivist that may import fact-checks."""
    keys = [
        ApiKey(name="ops", hash=key_hash(ADMIN), scopes=["admin"]),
        ApiKey(name="desk", hash=key_hash(DESK), scopes=["extract", "read"]),
        ApiKey(name="archivist", hash=key_hash(ARCHIVIST), scopes=["factchecks"]),
    ]
    settings = Settings(
        cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", api_keys=keys, factcheck_max_body_mb=1
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def bearer(key: str, **headers: str) -> dict[str, str]:
    """Return the headers sending ``key``, plus any others."""
    return {"authorization": f"Bearer {key}", **headers}


def masked(problem: dict[str, Any]) -> dict[str, Any]:
    """Return a problem document without its request id."""
    return {key: value for key, value in problem.items() if key != "request_id"}


def test_a_csv_import_reports_what_it_did_and_each_rejection(client: TestClient) -> None:
    """A CSV is imported while the request waits: counts, and the refused row by its line and reason."""
    response = client.post("/v1/factchecks", content=CSV, headers=bearer(ADMIN, **{"content-type": "text/csv"}))
    assert response.status_code == 200
    assert response.json() == {
        "imported": 2,
        "updated": 0,
        "rejected": 1,
        "rejections": [
            {"at": "line 3", "reason": "has no claimReviewed (claim_reviewed): the claim the fact-check reviews"}
        ],
    }
    again = client.post("/v1/factchecks", content=CSV, headers=bearer(ADMIN, **{"content-type": "text/csv"}))
    assert (again.json()["imported"], again.json()["updated"]) == (0, 2)
    shown = client.get("/v1/factchecks", params={"url": "https://fc.example/crime"}, headers=bearer(DESK))
    assert (shown.status_code, shown.json()) == (200, FIRST)


def test_an_import_asked_async_runs_as_a_job_followed_to_its_end(client: TestClient) -> None:
    """``Prefer: respond-async``: 202 with Location; the job reaches ``succeeded`` with the same report."""
    headers = bearer(ARCHIVIST, **{"content-type": "text/csv", "prefer": "respond-async"})
    response = client.post("/v1/factchecks", content=CSV, headers=headers)
    assert response.status_code == 202
    job = response.json()
    assert response.headers["location"] == f"/v1/factchecks/imports/{job['id']}"
    assert (job["state"], job["total"], job["processed"]) == ("running", 3, 0)
    deadline = time.monotonic() + 10
    while job["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.get(response.headers["location"], headers=bearer(ARCHIVIST)).json()
    assert {key: job[key] for key in ("state", "total", "processed", "error")} == {
        "state": "succeeded", "total": 3, "processed": 3, "error": None,
    }  # fmt: skip
    assert (job["report"]["imported"], job["report"]["rejected"]) == (2, 1)


def test_more_entries_than_a_request_waits_for_run_as_a_job(client: TestClient) -> None:
    """An NDJSON body of 1,001 reviews is a 202 job without being asked; every review is imported."""
    lines = [
        json.dumps({"@type": "ClaimReview", "url": f"https://fc.example/{n}", "claimReviewed": f"Claim number {n}"})
        for n in range(1001)
    ]
    headers = bearer(ADMIN, **{"content-type": "application/x-ndjson"})
    response = client.post("/v1/factchecks", content="\n".join(lines), headers=headers)
    assert response.status_code == 202
    location = response.headers["location"]
    deadline = time.monotonic() + 30
    while (job := client.get(location, headers=bearer(ADMIN)).json())["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert (job["state"], job["processed"], job["report"]["imported"]) == ("succeeded", 1001, 1001)


def test_import_and_remove_need_the_factchecks_scope_search_and_show_need_read(client: TestClient) -> None:
    """A reading desk key gets 403 on import and delete; the archivist gets 403 on reading; no key is 401."""
    csv_headers = {"content-type": "text/csv"}
    refused = client.post("/v1/factchecks", content=CSV, headers=bearer(DESK, **csv_headers))
    assert masked(refused.json()) == {
        "type": "/problems/forbidden", "title": "Forbidden", "status": 403,
        "detail": "the API key 'desk' lacks the 'factchecks' scope this operation needs", "instance": "/v1/factchecks",
    }  # fmt: skip
    assert client.delete("/v1/factchecks", params={"url": "https://x.example"}, headers=bearer(DESK)).status_code == 403
    assert (
        client.get("/v1/factchecks", params={"url": "https://x.example"}, headers=bearer(ARCHIVIST)).status_code == 403
    )
    assert client.post("/v1/factchecks", content=CSV, headers=csv_headers).status_code == 401


def test_remove_one_then_it_is_gone(client: TestClient) -> None:
    """DELETE by url is a 204, then the fact-check is a 404 to GET and to DELETE."""
    client.post("/v1/factchecks", content=CSV, headers=bearer(ADMIN, **{"content-type": "text/csv"}))
    where = {"url": "https://fc.example/crime"}
    assert client.delete("/v1/factchecks", params=where, headers=bearer(ADMIN)).status_code == 204
    gone = client.get("/v1/factchecks", params=where, headers=bearer(ADMIN))
    assert masked(gone.json()) == {
        "type": "/problems/not-found", "title": "Not found", "status": 404, "detail": "no fact-check with that url",
        "instance": "/v1/factchecks",
    }  # fmt: skip
    assert client.delete("/v1/factchecks", params=where, headers=bearer(ADMIN)).status_code == 404


@pytest.mark.parametrize(
    ("body", "content_type", "status", "slug"),
    [
        (b"a" * (1024 * 1024 + 1), "text/csv", 413, "body-too-large"),
        (b"{}", "text/plain", 415, "unsupported-media-type"),
        (b"[{", "application/ld+json", 422, "invalid-request"),
        (b"claim,link\n", "text/csv", 422, "invalid-request"),
    ],
    ids=["over-the-cap", "media-type", "not-json", "csv-columns"],
)
def test_a_body_that_cannot_be_imported_is_a_problem(
    client: TestClient, body: bytes, content_type: str, status: int, slug: str
) -> None:
    """Over ``factcheck_max_body_mb``, another media type, or unreadable whole: a problem+json 4xx, nothing stored."""
    response = client.post("/v1/factchecks", content=body, headers=bearer(ADMIN, **{"content-type": content_type}))
    assert (response.status_code, response.headers["content-type"]) == (status, "application/problem+json")
    assert response.json()["type"] == f"/problems/{slug}"


def test_an_unknown_import_is_a_404(client: TestClient) -> None:
    """An id of another shape, or one never made, is a 404."""
    for import_id in ("imp_" + "0" * 24, "nope"):
        response = client.get(f"/v1/factchecks/imports/{import_id}", headers=bearer(ADMIN))
        assert response.status_code == 404


def test_a_job_takes_the_option_and_its_results_carry_the_matches(client: TestClient) -> None:
    """A job's request with ``match_factchecks: true``: its result's crime claim lists the imported fact-check."""
    client.post("/v1/factchecks", content=CSV, headers=bearer(ADMIN, **{"content-type": "text/csv"}))
    request = {
        "article": {"id": "a1", "text": "The FBI says violent crime fell 15.2% in early 2024, its report shows."},
        "options": {"match_factchecks": True},
    }
    job = client.post("/v1/jobs", json={"requests": [request]}, headers=bearer(ADMIN)).json()
    deadline = time.monotonic() + 30
    while client.get(f"/v1/jobs/{job['id']}", headers=bearer(ADMIN)).json()["state"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    [result] = client.get(f"/v1/jobs/{job['id']}/results", headers=bearer(ADMIN)).json()
    [claim] = result["result"]["claims"]
    assert [match["url"] for match in claim["fact_checks"]] == ["https://fc.example/crime"]
