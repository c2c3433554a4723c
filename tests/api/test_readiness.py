"""Tests of ``service/api/readiness.py`` through ``/readyz`` and the jobs routes: each part's status, 503 when not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import Settings
from tests.damage import announce_change, filled_job_store, scribble

CACHE_FIGURES = {"hits", "misses", "writes", "unreadable", "failures"}  # on disk also entries, bytes, healed


def masked(checks: dict[str, Any]) -> dict[str, Any]:
    """Return the checks with the reply cache's figures (which vary) masked."""
    cache = checks["cache"]
    assert set(cache) >= {"status", *CACHE_FIGURES}
    return checks | {"cache": {"status": cache["status"], "figures": "…"}}


def test_readiness_reports_each_part_with_its_status(settings: Settings) -> None:
    """Embedded: prompts, the reply cache and the SQLite job store, each ``ok``; no Redis check."""
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body == {"status": "ready", "checks": body["checks"]}
    assert masked(body["checks"]) == {
        "prompts": {"status": "ok", "versions": 3},
        "cache": {"status": "ok", "figures": "…"},
        "jobs": {"status": "ok", "store": "sqlite"},
    }


def test_a_job_store_damaged_while_serving_answers_503_problems_naming_it_and_readyz_503(settings: Settings) -> None:
    """Pages scribbled under the service: once met, every jobs route answers 503 store-unavailable, /readyz 503."""
    database = filled_job_store(settings.data_dir)
    with TestClient(create_app(settings.model_copy(update={"job_workers": 0}))) as client:
        assert client.get("/v1/jobs?limit=100").status_code == 200
        scribble(database)
        announce_change(database)
        listed = client.get("/v1/jobs?limit=100")
        one = client.get("/v1/jobs/job_0000000000000000000000000007")  # on a sound page: refused all the same
        submitted = client.post("/v1/jobs", json={"requests": [{"article": {"text": "Prices rose 3%."}}]})
        ready = client.get("/readyz")
    for response in (listed, one, submitted):
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "5"
        problem = response.json()
        assert (problem["type"], problem["title"]) == ("/problems/store-unavailable", "Store unavailable")
        assert problem["detail"].startswith(f"the job store {database} ")
        assert "(database disk image is malformed)" in problem["detail"]
    assert ready.status_code == 503
    problem = ready.json()
    damaged = f"the job store {database} is damaged (database disk image is malformed); restart to check it"
    assert (problem["type"], problem["detail"]) == ("/problems/not-ready", damaged)
    assert masked(problem["checks"]) == {
        "prompts": {"status": "ok", "versions": 3},
        "cache": {"status": "ok", "figures": "…"},
        "jobs": {"status": "failing", "store": "sqlite", "detail": damaged},
    }


def test_readiness_on_redis_reports_the_redis_every_store_shares(tmp_path: Path, redis_url: str) -> None:
    """With redis_url: a ``redis`` check naming what uses it, ok while Redis answers."""
    settings = Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", redis_url=redis_url, job_workers=0)
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 200
    assert masked(ready.json()["checks"]) == {
        "prompts": {"status": "ok", "versions": 3},
        "cache": {"status": "ok", "figures": "…"},
        "jobs": {"status": "ok", "store": "redis"},
        "redis": {"status": "ok", "used_by": ["jobs", "cache", "limits"]},
    }


def test_a_redis_out_of_reach_makes_readyz_503_naming_it(tmp_path: Path) -> None:
    """A redis_url where nothing listens: /readyz is 503, the job store and Redis checks failing with the reason."""
    settings = Settings(
        cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", redis_url="redis://127.0.0.1:1/0", job_workers=0
    )
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503
    problem = ready.json()
    unreachable = "the job store on Redis redis://127.0.0.1:1/0 cannot be reached (ConnectionError)"
    assert problem["detail"] == unreachable
    assert problem["checks"]["jobs"] == {"status": "failing", "store": "redis", "detail": unreachable}
    assert problem["checks"]["redis"] == {
        "status": "failing", "used_by": ["jobs", "cache", "limits"], "detail": unreachable,
    }  # fmt: skip
