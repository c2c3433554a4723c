"""Tests of ``service/observability/logs.py``: a served process's log lines as JSON, its own and uvicorn's."""

from __future__ import annotations

import asyncio
import http.client
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.processes import start_service, wait_ready
from service.api.auth import key_hash
from tests.jobs.test_crash import request

KEY = "ce_log-test-key"


@pytest.fixture(autouse=True)
def real_sockets(http_mock: Any) -> None:
    """This test speaks plain HTTP over loopback (http.client), outside respx, which patches httpx only."""


def test_json_lines_carry_the_request_id_the_key_name_and_the_extraction_fields(tmp_path: Path) -> None:
    """With log_format json every line is JSON; the extraction's has its fields, request id and key name."""
    keys = [{"name": "desk", "hash": key_hash(KEY), "scopes": ["extract"]}]
    config = {"cache_dir": str(tmp_path / "cache"), "log_format": "json", "api_keys": keys}
    service = start_service("service", config, tmp_path)
    try:
        asyncio.run(wait_ready(service))
        body = json.dumps({"article": {"id": "a1", "text": "Prices rose 3% in June, the ONS said."}})
        headers = {"content-type": "application/json", "authorization": f"Bearer {KEY}", "x-request-id": "req-123"}
        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
        connection.request("POST", "/v1/extractions", body, headers)
        assert connection.getresponse().status == 200
        connection.close()
        request(service.port, "GET", "/healthz")
    finally:
        service.stop()
    lines = [line for line in service.log_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line, ours and uvicorn's, is JSON
    extraction = next(record for record in records if record.get("event") == "extraction")
    access = next(r for r in records if r["logger"] == "uvicorn.access" and "/v1/extractions" in r["message"])
    assert (extraction["request_id"], extraction["key"], extraction["article_id"]) == ("req-123", "desk", "a1")
    assert extraction["status"] == "complete"
    assert extraction["claims"] >= 1
    assert {"timestamp", "level", "logger", "model_calls", "prompt_tokens", "cost_usd", "ms"} <= set(extraction)
    assert (access["request_id"], access["key"]) == ("req-123", "desk")
    assert KEY not in service.log_path.read_text(encoding="utf-8")
    assert "Prices rose" not in service.log_path.read_text(encoding="utf-8")
