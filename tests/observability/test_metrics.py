"""Tests of ``service/observability/metrics.py`` through ``GET /metrics``: what moves, and what never labels."""

from __future__ import annotations

from pathlib import Path

import respx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.api.app import create_app
from service.api.auth import key_hash
from service.settings import ApiKey
from tests.conftest import OPENAI_URL, hosted_settings
from tests.providers import openai_error

ADMIN, DESK = "ce_metrics-admin", "ce_metrics-desk"


def samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Scrape /metrics as the admin key; return every sample by name and labels."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def moved(before: dict, after: dict) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:  # type: ignore[type-arg]
    """Return the samples whose value changed, with the change."""
    return {key: value - before.get(key, 0.0) for key, value in after.items() if value != before.get(key, 0.0)}


def value(changes: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    """Return the change of the sample ``name`` whose labels include ``labels``."""
    return sum(v for (n, ls), v in changes.items() if n == name and set(labels.items()) <= set(ls))


def test_an_extraction_and_a_failing_provider_move_the_counters(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None, sample_article: str
) -> None:
    """docs/exposing.md's metrics example (offline model) and a provider answering 503 move what they should."""
    http_mock.post(OPENAI_URL).mock(return_value=openai_error(503, "overloaded", "server_error"))
    keys = [
        ApiKey(name="ops", hash=key_hash(ADMIN), scopes=["admin"]),
        ApiKey(name="desk", hash=key_hash(DESK), scopes=["extract"]),
    ]
    settings = hosted_settings(tmp_path, api_keys=keys, fallbacks={}, retry_attempts=2)
    desk = {"Authorization": f"Bearer {DESK}"}
    with TestClient(create_app(settings)) as client:
        before = samples(client)
        ok = client.post("/v1/extractions", json={"article": {"id": "cnn-1", "text": sample_article},
                                                  "options": {"model": "default"}}, headers=desk)  # fmt: skip
        failing = client.post("/v1/extractions", json={"article": {"text": "Prices rose 3%."}}, headers=desk)
        refused = client.get("/metrics", headers=desk)
        changes = moved(before, samples(client))
    assert (ok.status_code, failing.status_code, refused.status_code) == (200, 503, 403)
    usage = ok.json()["usage"]
    assert value(changes, "claims_http_requests_total", route="/v1/extractions", status="200") == 1
    assert value(changes, "claims_http_requests_total", route="/v1/extractions", status="503") == 1
    assert value(changes, "claims_extractions_total", status="complete") == 1
    assert value(changes, "claims_extractions_total", status="failed") == 1
    assert value(changes, "claims_model_calls_total", alias="default", outcome="ok") == usage["model_calls"]
    assert value(changes, "claims_model_calls_total", alias="gpt", outcome="retried") == 1
    assert value(changes, "claims_model_calls_total", alias="gpt", outcome="failed") == 1
    assert value(changes, "claims_model_tokens_total", alias="default", type="input") == usage["prompt_tokens"]
    assert value(changes, "claims_model_tokens_total", alias="default", type="output") == usage["completion_tokens"]
    assert (
        value(changes, "gen_ai_client_token_usage_count", gen_ai_request_model="rules", gen_ai_token_type="input")  # noqa: S106
        == 1
    )
    assert value(changes, "gen_ai_client_operation_duration_seconds_count", error_type="UpstreamUnavailable") == 2
    assert value(changes, "claims_reply_cache_lookups_total", result="miss") == usage["chunks"] + 1
    assert value(changes, "claims_chunks_total", outcome="failed") == 1
    labels = {label for (_, pairs) in changes for label in pairs}
    assert not [pair for pair in labels if "cnn-1" in pair[1] or "ce_" in pair[1] or "desk" in pair[1]]


def test_metrics_need_the_admin_scope_only_when_keys_are_configured(tmp_path: Path) -> None:
    """With no keys the loopback service serves /metrics openly; with keys, only to an admin key."""
    with TestClient(create_app(hosted_settings(tmp_path))) as client:
        assert client.get("/metrics").status_code == 200
    keys = [ApiKey(name="ops", hash=key_hash(ADMIN), scopes=["admin"])]
    with TestClient(create_app(hosted_settings(tmp_path, api_keys=keys))) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"X-API-Key": ADMIN}).status_code == 200


def test_an_unknown_method_is_counted_as_other_not_as_a_new_label(tmp_path: Path) -> None:
    """Any token parses as a method: it is counted as `_OTHER`, so no client can grow the label set."""
    with TestClient(create_app(hosted_settings(tmp_path))) as client:
        answer = client.request("FOO123", "/healthz")
        scraped = client.get("/metrics").text
    assert answer.status_code == 405
    assert 'method="_OTHER"' in scraped
    assert "FOO123" not in scraped
