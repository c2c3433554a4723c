"""Tests of ``service/api/auth.py`` and the keys' quotas: who may call what, and how much.

The matrix: no key, a wrong key, a revoked key, a key without the scope, a key over its requests a minute
and over its tokens a day; each answer's status and problem type, and the ``RateLimit`` headers on a 200
and a 429.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.api.auth import key_hash
from service.errors import ConfigError
from service.settings import ApiKey, Settings, get_settings

DESK, BATCH, OLD, THRIFTY, OPS = "ce_desk-key", "ce_batch-key", "ce_old-key", "ce_thrifty-key", "ce_ops-key"
ARTICLE = {"article": {"text": "Prices rose 3% in June, the ONS said."}}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """A service with five keys: desk (extract, read; 2 a minute), batch (jobs), old (revoked), thrifty, ops."""
    keys = [
        ApiKey(name="desk", hash=key_hash(DESK), scopes=["extract", "read"], rpm=2),
        ApiKey(name="batch", hash=key_hash(BATCH), scopes=["jobs"]),
        ApiKey(name="old", hash=key_hash(OLD), scopes=["extract"], revoked=True),
        ApiKey(name="thrifty", hash=key_hash(THRIFTY), scopes=["extract"], tokens_per_day=500),
        ApiKey(name="ops", hash=key_hash(OPS), scopes=["admin"]),
    ]
    settings = Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", api_keys=keys)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def bearer(key: str) -> dict[str, str]:
    """Return the Authorization header for ``key``."""
    return {"Authorization": f"Bearer {key}"}


def problem(response: object) -> tuple[int, str]:
    """Return a problem answer's status and type."""
    return response.status_code, response.json()["type"]  # type: ignore[attr-defined]


def test_no_key_a_wrong_key_and_a_revoked_key_are_401(client: TestClient) -> None:
    """Each is a 401 problem saying which, with WWW-Authenticate; none echoes the key sent."""
    missing = client.post("/v1/extractions", json=ARTICLE)
    wrong = client.post("/v1/extractions", json=ARTICLE, headers=bearer("ce_guess"))
    revoked = client.post("/v1/extractions", json=ARTICLE, headers=bearer(OLD))
    assert [problem(r) for r in (missing, wrong, revoked)] == [(401, "/problems/unauthorized")] * 3
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "required" in missing.json()["detail"]
    assert "not valid" in wrong.json()["detail"]
    assert "'old' was revoked" in revoked.json()["detail"]
    assert OLD not in revoked.text
    assert "ce_guess" not in wrong.text


def test_a_post_without_a_valid_key_is_refused_before_its_body_is_read(client: TestClient) -> None:
    """No parsing for strangers: a body too large or not JSON at all still gets the 401, not a 413 or a 422."""
    oversize = {"content-type": "application/json", "content-length": str(50 * 1024 * 1024)}
    for path in ("/v1/extractions", "/v1/jobs"):
        assert problem(client.post(path, content=b"{", headers=oversize)) == (401, "/problems/unauthorized")
        assert problem(client.post(path, content=b"not json", headers=bearer("ce_guess"))) == (
            401, "/problems/unauthorized",
        )  # fmt: skip
    with_key = client.post(
        "/v1/extractions", content=b"not json", headers={"content-type": "application/json", **bearer(DESK)}
    )
    assert problem(with_key) == (422, "/problems/invalid-request")
    lowercase_scheme = client.post("/v1/extractions", json=ARTICLE, headers={"authorization": f"bearer {DESK}"})
    assert lowercase_scheme.status_code == 200


def test_a_key_without_the_scope_is_403(client: TestClient) -> None:
    """The desk key may extract but not submit jobs; the batch key may submit jobs but not extract."""
    assert problem(client.post("/v1/jobs", json=ARTICLE, headers=bearer(DESK))) == (403, "/problems/forbidden")
    assert problem(client.post("/v1/extractions", json=ARTICLE, headers=bearer(BATCH))) == (403, "/problems/forbidden")
    assert client.post("/v1/jobs", json=ARTICLE, headers=bearer(BATCH)).status_code == 202


def test_read_routes_need_the_read_scope_and_health_needs_none(client: TestClient) -> None:
    """Prompts and models need ``read`` (admin has every scope); health and the contract are open."""
    assert client.get("/v1/models").status_code == 401
    assert client.get("/v1/models", headers=bearer(BATCH)).status_code == 403
    assert client.get("/v1/models", headers={"X-API-Key": OPS}).status_code == 200
    assert client.get("/v1/prompts", headers=bearer(DESK)).status_code == 200
    for path in ("/healthz", "/readyz", "/openapi.json", "/problems/unauthorized"):
        assert client.get(path).status_code == 200, path


def test_over_its_requests_a_minute_a_key_gets_429_with_rate_limit_headers(client: TestClient) -> None:
    """The desk key has 2 a minute: the first answer says 1 left; the third is a 429 with Retry-After, RateLimit."""
    first = client.post("/v1/extractions", json=ARTICLE, headers=bearer(DESK))
    client.post("/v1/extractions", json=ARTICLE, headers=bearer(DESK))
    third = client.post("/v1/extractions", json=ARTICLE, headers=bearer(DESK))
    assert first.status_code == 200
    assert first.headers["ratelimit-policy"] == '"requests";q=2;w=60'
    assert first.headers["ratelimit"].startswith('"requests";r=1;t=')
    assert problem(third) == (429, "/problems/quota-exceeded")
    assert 0 < int(third.headers["retry-after"]) <= 60
    assert third.headers["ratelimit"].startswith('"requests";r=0;t=')
    assert "2 requests a minute" in third.json()["detail"]


def test_over_its_tokens_a_day_a_key_gets_429_until_the_day_resets(client: TestClient) -> None:
    """The thrifty key has 500 tokens a day: its first extraction spends most; the next one's prompt does not fit."""
    first = client.post("/v1/extractions", json=ARTICLE, headers=bearer(THRIFTY))
    spent = first.json()["usage"]["prompt_tokens"] + first.json()["usage"]["completion_tokens"]
    second = client.post("/v1/extractions", json=ARTICLE, headers=bearer(THRIFTY))
    assert 0 < spent <= 500
    assert first.headers["ratelimit"].startswith(f'"tokens";r={500 - spent};t=')
    assert problem(second) == (429, "/problems/quota-exceeded")
    assert 86_000 < int(second.headers["retry-after"]) <= 86_400
    assert "tokens for the day are used up" in second.json()["detail"]


def test_a_key_is_never_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    """Whatever happens to a request, the key it carried appears in no log line."""
    with caplog.at_level(logging.DEBUG):
        client.post("/v1/extractions", json=ARTICLE, headers=bearer(DESK))
        client.post("/v1/extractions", json=ARTICLE, headers=bearer(OLD))
        client.post("/v1/jobs", json=ARTICLE, headers=bearer(DESK))
    assert caplog.records
    assert not [record for record in caplog.records if DESK in record.getMessage() or OLD in record.getMessage()]


def test_a_config_holding_a_key_instead_of_its_hash_is_refused(tmp_path: Path) -> None:
    """``hash`` must be ``sha256:<hex>``: a key pasted in plain text fails at start-up, without being echoed."""
    config = tmp_path / "claims.yaml"
    config.write_text(f"api_keys: [{{name: desk, hash: {DESK}, scopes: [extract]}}]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="never the key") as refused:
        get_settings(config)
    assert DESK not in str(refused.value)


def test_a_key_sees_its_own_jobs_and_admin_sees_all(tmp_path: Path) -> None:
    """A job belongs to the key that submitted it: another key gets 404 (not 403), the admin key sees it."""
    keys = [
        ApiKey(name="a", hash=key_hash("ce_a"), scopes=["jobs"]),
        ApiKey(name="b", hash=key_hash("ce_b"), scopes=["jobs"]),
        ApiKey(name="ops", hash=key_hash(OPS), scopes=["admin"]),
    ]
    settings = Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", api_keys=keys, job_workers=0)
    with TestClient(create_app(settings)) as client:
        job = client.post("/v1/jobs", json=ARTICLE, headers=bearer("ce_a")).json()
        path = f"/v1/jobs/{job['id']}"
        seen = {
            "a": client.get(path, headers=bearer("ce_a")).status_code,
            "b": client.get(path, headers=bearer("ce_b")).status_code,
            "b results": client.get(path + "/results", headers=bearer("ce_b")).status_code,
            "b cancel": client.delete(path, headers=bearer("ce_b")).status_code,
            "ops": client.get(path, headers=bearer(OPS)).status_code,
        }
        listed = {name: client.get("/v1/jobs", headers=bearer(key)).json()["jobs"] for name, key in
                  (("a", "ce_a"), ("b", "ce_b"), ("ops", OPS))}  # fmt: skip
        still = client.get(path, headers=bearer("ce_a")).json()
    assert seen == {"a": 200, "b": 404, "b results": 404, "b cancel": 404, "ops": 200}
    assert job["submitted_by"] == "a"
    assert [len(jobs) for jobs in listed.values()] == [1, 0, 1]
    assert still["state"] == "queued"  # b's DELETE cancelled nothing


def test_a_job_s_articles_count_against_the_key_that_submitted_it(tmp_path: Path) -> None:
    """A key with 500 tokens a day: its job's first article spends most; the next ones fail with quota-exceeded."""
    keys = [ApiKey(name="thrifty", hash=key_hash(THRIFTY), scopes=["jobs"], tokens_per_day=500)]
    settings = Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", api_keys=keys, job_workers=1)
    articles = [{"article": {"id": f"a{n}", "text": f"Prices rose {n}% in June."}} for n in range(3)]
    with TestClient(create_app(settings)) as client:
        job = client.post("/v1/jobs", json={"requests": articles}, headers=bearer(THRIFTY)).json()
        for _ in range(100):
            finished = client.get(f"/v1/jobs/{job['id']}", headers=bearer(THRIFTY)).json()
            if finished["state"] not in ("queued", "running"):
                break
            time.sleep(0.05)
    assert (finished["state"], finished["counts"]["succeeded"], finished["counts"]["failed"]) == ("partial", 1, 2)
    assert {error["type"] for error in finished["errors"]} == {"/problems/quota-exceeded"}
    assert finished["usage"]["prompt_tokens"] + finished["usage"]["completion_tokens"] <= 500


def test_the_contract_documents_keys_only_when_they_are_required(client: TestClient, tmp_path: Path) -> None:
    """With keys, operations list both schemes and their 401/403/429; without, the document asks for none."""
    secured = client.get("/openapi.json").json()
    with TestClient(create_app(Settings(cache_dir=tmp_path / "c2", data_dir=tmp_path / "d2"))) as open_client:
        open_document = open_client.get("/openapi.json").json()
    extraction = secured["paths"]["/v1/extractions"]["post"]
    assert set(secured["components"]["securitySchemes"]) == {"HTTPBearer", "APIKeyHeader"}
    assert {"401", "403", "429"} <= set(extraction["responses"])
    assert "security" not in open_document["paths"]["/v1/extractions"]["post"]
    assert "securitySchemes" not in open_document["components"]
    assert "401" not in open_document["paths"]["/v1/extractions"]["post"]["responses"]


def test_an_idempotency_key_belongs_to_the_api_key_that_sent_it(tmp_path: Path) -> None:
    """Two keys sending the same Idempotency-Key and body get two jobs, each its own; a replay stays within a key."""
    keys = [
        ApiKey(name="a", hash=key_hash("ce_a"), scopes=["jobs"]),
        ApiKey(name="b", hash=key_hash("ce_b"), scopes=["jobs"]),
    ]
    settings = Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", api_keys=keys, job_workers=0)
    with TestClient(create_app(settings)) as client:
        first = client.post("/v1/jobs", json=ARTICLE, headers=bearer("ce_a") | {"Idempotency-Key": "k1"})
        other = client.post("/v1/jobs", json=ARTICLE, headers=bearer("ce_b") | {"Idempotency-Key": "k1"})
        again = client.post("/v1/jobs", json=ARTICLE, headers=bearer("ce_a") | {"Idempotency-Key": "k1"})
    assert (first.status_code, other.status_code, again.status_code) == (202, 202, 202)
    assert other.json()["id"] != first.json()["id"]
    assert other.json()["submitted_by"] == "b"
    assert "idempotent-replayed" not in other.headers
    assert (again.json()["id"], again.headers["idempotent-replayed"]) == (first.json()["id"], "true")


def test_a_worker_that_does_not_know_a_job_s_key_runs_none_of_its_articles(tmp_path: Path) -> None:
    """A job submitted under key a, run by a process whose api_keys lack it: its article fails unauthorized."""
    data = {"cache_dir": tmp_path / "cache", "data_dir": tmp_path / "data"}
    submitter = Settings(**data, api_keys=[ApiKey(name="a", hash=key_hash("ce_a"), scopes=["jobs"])], job_workers=0)
    runner = Settings(**data, api_keys=[ApiKey(name="ops", hash=key_hash(OPS), scopes=["admin"])], job_workers=1)
    with TestClient(create_app(submitter)) as client:
        job = client.post("/v1/jobs", json=ARTICLE, headers=bearer("ce_a")).json()
    with TestClient(create_app(runner)) as client:
        for _ in range(100):
            finished = client.get(f"/v1/jobs/{job['id']}", headers=bearer(OPS)).json()
            if finished["state"] == "failed":
                break
            time.sleep(0.05)
    assert finished["state"] == "failed"
    assert finished["errors"][0]["type"] == "/problems/unauthorized"
    assert "is not among this process's api_keys" in finished["errors"][0]["detail"]


def test_behind_a_proxy_s_root_path_a_keyless_post_is_still_refused_before_its_body(tmp_path: Path) -> None:
    """With ``--root-path /api`` the path arrives as /api/v1/extractions: still a 401 before the body is read."""
    settings = Settings(
        cache_dir=tmp_path / "cache",
        data_dir=tmp_path / "data",
        api_keys=[ApiKey(name="desk", hash=key_hash(DESK), scopes=["extract"])],
    )
    oversize = {"content-type": "application/json", "content-length": str(50 * 1024 * 1024)}
    with TestClient(create_app(settings), root_path="/api") as client:
        refused = client.post("/api/v1/extractions", content=b"{", headers=oversize)
    assert problem(refused) == (401, "/problems/unauthorized")
