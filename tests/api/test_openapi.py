"""Tests of ``service/api/openapi.py``: the published contract is what a real served process does.

Schemathesis reads ``/openapi.json`` of a real ``claims serve`` and sends what the document allows (and
what it forbids), with every check on: no 5xx, every response as documented, schema-valid requests
accepted, schema-violating ones refused.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from benchmarks.processes import Process, start_service, wait_ready
from service.api.auth import key_hash
from service.errors import problem_catalogue

ROOT = Path(__file__).parents[2]


FUZZ_KEY = "ce_schemathesis-key"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Process]:
    """``claims serve`` on the offline model with one admin API key, its cache in the test's directory."""
    admin = {"name": "fuzzer", "hash": key_hash(FUZZ_KEY), "scopes": ["admin"]}
    service = start_service("service", {"cache_dir": str(tmp_path / "cache"), "api_keys": [admin]}, tmp_path)
    asyncio.run(wait_ready(service))
    yield service
    service.stop()


@pytest.fixture(autouse=True)
def real_sockets(http_mock: Any) -> None:
    """Schemathesis speaks to the served process over loopback, outside respx (which patches httpx only here)."""


def test_schemathesis_finds_nothing_with_every_check(served: Process) -> None:
    """Every operation, fuzzed with the checks (status codes, content types, schemas, negative data): 0 failures."""
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"http://127.0.0.1:{served.port}/openapi.json"]
    command += ["--checks", "all", "--max-examples", "40", "--seed", "1", "--no-color"]
    command += ["--header", f"Authorization: Bearer {FUZZ_KEY}"]  # and ignored_auth tries without it
    # all but one: use_after_free assumes a DELETE removes its resource, and DELETE /v1/jobs/{id} cancels
    # the job by contract (DESIGN §3): the cancelled job stays readable, with its results, until purged
    command += ["--exclude-checks", "use_after_free"]
    environment = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.api.schemathesis_hooks",  # serialises NDJSON bodies
        "PYTHONPATH": str(ROOT),  # the hooks import from the checkout; schemathesis' cache stays out of it
    }
    completed = subprocess.run(  # noqa: S603 -- our own interpreter
        command, capture_output=True, text=True, timeout=600, check=False, env=environment, cwd=served.log_path.parent
    )
    assert completed.returncode == 0, completed.stdout[-4000:]
    assert "No issues found" in completed.stdout


def test_the_document_offers_what_this_deployment_has(client: TestClient) -> None:
    """``options.model`` and ``options.prompt`` list the configured aliases and prompt versions; slugs are listed."""
    document = client.get("/openapi.json").json()
    options = document["components"]["schemas"]["ExtractionOptions"]["properties"]
    assert options["model"]["anyOf"][0]["enum"] == ["default"]
    assert options["prompt"]["anyOf"][0]["enum"] == [
        "extract_claims",
        "extract_claims@1",
        "extract_claims@2",
        "extract_claims@3",
    ]
    [slug] = document["paths"]["/problems/{slug}"]["get"]["parameters"]
    assert slug["schema"]["enum"] == sorted(problem_catalogue())


def test_a_jobs_mode_is_documented_as_what_this_deployment_can_run(client: TestClient, tmp_path: Path) -> None:
    """On the offline model only ``realtime`` is offered (``batch`` is a 422 there); with an OpenAI model, both."""
    from service.api.app import create_app
    from tests.conftest import hosted_settings

    offline = client.get("/openapi.json").json()
    with TestClient(create_app(hosted_settings(tmp_path))) as hosted_client:
        hosted = hosted_client.get("/openapi.json").json()
    for document, modes in ((offline, ["realtime"]), (hosted, ["realtime", "batch"])):
        schemas = document["components"]["schemas"]
        assert schemas["BatchSubmission"]["properties"]["mode"]["enum"] == modes
        assert schemas["SingleSubmission"]["properties"]["mode"]["enum"] == modes
        [query] = [p for p in document["paths"]["/v1/jobs"]["post"]["parameters"] if p["name"] == "mode"]
        assert query["schema"]["enum"] == modes
    assert "model-cannot-batch" in offline["paths"]["/v1/jobs"]["post"]["responses"]["422"]["description"]
