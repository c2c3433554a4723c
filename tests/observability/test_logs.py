"""Tests of ``service/observability/logs.py``: a served process's log lines as JSON, its own and uvicorn's."""

from __future__ import annotations

import asyncio
import http.client
import json
import time
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


def wait_until_finished(port: int, job_id: str, headers: dict[str, str]) -> None:
    """Poll a job until it is no longer queued or running (30 s at most)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", f"/v1/jobs/{job_id}", headers=headers)
        state = json.loads(connection.getresponse().read())["state"]
        connection.close()
        if state not in ("queued", "running"):
            return
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {state} after 30 s")


def test_json_lines_carry_the_request_id_the_key_name_and_the_extraction_fields(tmp_path: Path) -> None:
    """With log_format json every line is JSON; an extraction's has its fields, request id (or job) and key name."""
    keys = [{"name": "desk", "hash": key_hash(KEY), "scopes": ["extract", "jobs"]}]
    config = {"cache_dir": str(tmp_path / "cache"), "log_format": "json", "api_keys": keys}
    service = start_service("service", config, tmp_path)
    try:
        asyncio.run(wait_ready(service))
        body = json.dumps({"article": {"id": "a1", "text": "Prices rose 3% in June, the ONS said."}})
        headers = {"content-type": "application/json", "authorization": f"Bearer {KEY}", "x-request-id": "req-123"}
        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
        connection.request("POST", "/v1/extractions", body, headers)
        extracted = connection.getresponse()
        extracted.read()
        assert extracted.status == 200
        connection.request("POST", "/v1/jobs", body, headers)
        job = json.loads(connection.getresponse().read())
        connection.close()
        wait_until_finished(service.port, job["id"], headers)
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
    article = next(record for record in records if record.get("event") == "extraction" and "job_id" in record)
    assert (article["job_id"], article["index"], article["key"], article["status"]) == (
        job["id"],
        0,
        "desk",
        "complete",
    )
    assert KEY not in service.log_path.read_text(encoding="utf-8")
    assert "Prices rose" not in service.log_path.read_text(encoding="utf-8")
