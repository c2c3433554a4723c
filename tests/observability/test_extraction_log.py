"""Tests of ``service/observability/extraction_log.py``: a parseable line per extraction, never the article's words."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest
import respx
from fastapi.testclient import TestClient

from service.api.app import create_app
from tests.conftest import OPENAI_URL, hosted_settings
from tests.providers import openai_error

ARTICLE = "The unemployment rate rose to 4.1% in June, the Labor Department said.\nWe love our readers."


def extraction_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return the messages the extraction log wrote."""
    return [record.getMessage() for record in caplog.records if record.name == "claims.extractions"]


def test_each_extraction_logs_one_line_with_its_request_id_usage_and_cost(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A request logs one INFO line whose request id matches the response header, with usage and cost."""
    caplog.set_level(logging.INFO, logger="claims.extractions")
    first = client.post("/v1/extractions", json={"article": {"id": "bls-june", "text": ARTICLE}})
    again = client.post("/v1/extractions", json={"article": {"id": "bls-june", "text": ARTICLE}})
    assert first.status_code == again.status_code == 200

    lines = extraction_lines(caplog)
    assert len(lines) == 2
    fields = [dict(re.findall(r"(\w+)=(\S+)", line)) for line in lines]
    assert fields[0]["request_id"] == first.headers["x-request-id"]
    assert fields[0] | {"ms": "-"} == {
        "request_id": first.headers["x-request-id"],
        "article_id": '"bls-june"',
        "status": "complete",
        "claims": str(len(first.json()["claims"])),
        "warnings": "0",
        "chunk_errors": "0",
        "model": "default",
        "answered_by": "default:1",
        "prompt": "extract_claims@1",
        "chunks": "1",
        "model_calls": "1",
        "cache_hits": "0",
        "repairs": "0",
        "retries": "0",
        "fallbacks": "0",
        "prompt_tokens": str(first.json()["usage"]["prompt_tokens"]),
        "completion_tokens": str(first.json()["usage"]["completion_tokens"]),
        "cost_usd": "0.000000",
        "ms": "-",
    }
    assert (fields[1]["model_calls"], fields[1]["cache_hits"]) == ("0", "1")


def test_the_log_line_quotes_the_client_id_and_leaves_out_the_text(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A client's id cannot break the line (it is JSON-quoted), and no words of the article are logged."""
    caplog.set_level(logging.INFO, logger="claims.extractions")
    hostile_id = "x\nextraction request_id=forged"
    response = client.post("/v1/extractions", json={"article": {"id": hostile_id, "text": ARTICLE}})
    assert response.status_code == 200

    [line] = extraction_lines(caplog)
    assert "\n" not in line
    assert 'article_id="x\\nextraction request_id=forged"' in line
    assert "unemployment" not in line
    assert "Labor Department" not in line


def test_a_job_s_articles_are_logged_one_line_each_with_the_job_and_index(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker logs each article it runs: the job id and index instead of a request id; a failure says its problem."""
    http_mock.post(OPENAI_URL).mock(return_value=openai_error(401, "bad key", "invalid_request_error"))
    caplog.set_level(logging.INFO, logger="claims.extractions")
    settings = hosted_settings(tmp_path, fallbacks={}, retry_attempts=1, job_workers=1)
    requests = [
        {"article": {"id": "ok", "text": ARTICLE}, "options": {"model": "default"}},
        {"article": {"id": "refused", "text": ARTICLE}, "options": {"model": "gpt"}},
    ]
    with TestClient(create_app(settings)) as client:
        job = client.post("/v1/jobs", json={"requests": requests}).json()
        deadline = time.monotonic() + 30
        while client.get(f"/v1/jobs/{job['id']}").json()["state"] != "partial" and time.monotonic() < deadline:
            time.sleep(0.05)
    fields = sorted((dict(re.findall(r"(\w+)=(\S+)", line)) for line in extraction_lines(caplog)), key=str)
    assert len(fields) == 2
    done, failed = sorted(fields, key=lambda line: line["index"])
    assert (done["job_id"], done["index"], done["article_id"], done["status"]) == (job["id"], "0", '"ok"', "complete")
    assert "request_id" not in done
    assert (failed["job_id"], failed["index"], failed["status"]) == (job["id"], "1", "failed")
    assert (failed["problem"], failed["problem_status"]) == ("/problems/upstream-auth", "502")
