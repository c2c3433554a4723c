"""Tests of ``service/api/request_log.py``: one parseable line per extraction, with cost, never the article's words."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient

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
