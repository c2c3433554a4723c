"""Tests of ``service/api/server.py`` and the timeout and shutdown middleware, on a real ``claims serve`` process.

Slow clients are real sockets trickling bytes; shutdown is a real SIGTERM to the served process while a
request waits on a slow (real, loopback) model server.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.processes import Process, service_config, start_provider, start_service, wait_ready

TIMEOUTS = {"request_header_timeout_s": 1, "request_body_timeout_s": 1, "shutdown_grace_s": 1}


@pytest.fixture(autouse=True)
def real_sockets(http_mock: Any) -> Iterator[None]:
    """Let this module's own loopback sockets through (respx only patches httpx, which these tests do not use)."""
    return iter([None])


def serve(tmp_path: Path, provider_latency_ms: float) -> tuple[Process, Process]:
    """Start a slow fake model server and ``claims serve`` on it with one-second timeouts; wait until ready."""
    provider = start_provider(provider_latency_ms, tmp_path, max_seconds=120)
    config = service_config(provider.port, tmp_path / "cache", 4, 4) | TIMEOUTS
    service = start_service("service", config, tmp_path)
    asyncio.run(wait_ready(service))
    return provider, service


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """One served process for the slow-client tests."""
    provider, service = serve(tmp_path_factory.mktemp("served"), 10)
    yield service
    service.stop()
    provider.stop()


def read_all(connection: socket.socket, limit_s: float) -> bytes:
    """Read until the server closes the connection (or ``limit_s`` passes)."""
    connection.settimeout(limit_s)
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except TimeoutError:
        pass
    return received


def split_response(raw: bytes) -> tuple[str, dict[str, str], Any]:
    """Return the status line, the headers and the JSON body of a raw HTTP response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status, headers, json.loads(body)


def test_request_headers_trickled_in_are_cut_off_with_a_408_problem(served: Process) -> None:
    """A slowloris client that never finishes its headers gets 408 problem+json and a closed connection."""
    with socket.create_connection(("127.0.0.1", served.port)) as connection:
        started = time.monotonic()
        connection.sendall(b"POST /v1/extractions HTTP/1.1\r\nHost: test\r\n")
        raw = read_all(connection, limit_s=10)
        waited = time.monotonic() - started
    status, headers, problem = split_response(raw)
    assert status == "HTTP/1.1 408 Request Timeout"
    assert headers["content-type"] == "application/problem+json"
    assert problem["type"] == "/problems/request-timeout"
    assert problem["detail"] == "the request headers did not arrive within 1 s"
    assert 0.9 < waited < 5


def test_a_body_that_stalls_is_answered_408_problem(served: Process) -> None:
    """Headers promise 100 bytes and 10 come: after the body timeout the reply is a 408 problem, then close."""
    with socket.create_connection(("127.0.0.1", served.port)) as connection:
        connection.sendall(
            b"POST /v1/extractions HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"article":'
        )
        raw = read_all(connection, limit_s=10)
    status, headers, problem = split_response(raw)
    assert status.startswith("HTTP/1.1 408")
    assert (problem["status"], problem["type"]) == (408, "/problems/request-timeout")
    assert problem["detail"] == "the request body did not arrive within 1 s"
    assert headers["connection"] == "close"


def test_an_idle_keep_alive_connection_is_closed_without_a_reply(served: Process) -> None:
    """A connection that sends nothing at all is closed quietly: there is no request to answer."""
    with socket.create_connection(("127.0.0.1", served.port)) as connection:
        assert read_all(connection, limit_s=10) == b""


def test_shutdown_waits_its_grace_period_then_answers_in_flight_requests_503(tmp_path: Path) -> None:
    """SIGTERM while a request waits on a slow model: after the 1 s grace it gets a whole 503 problem."""
    provider, service = serve(tmp_path, provider_latency_ms=30_000)
    answers: list[tuple[int, dict[str, str], bytes]] = []

    def post() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
        body = json.dumps({"article": {"text": "Prices rose 3% in May."}})
        connection.request("POST", "/v1/extractions", body, {"content-type": "application/json"})
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        answers.append((response.status, headers, response.read()))

    client = threading.Thread(target=post)
    try:
        client.start()
        time.sleep(1.0)  # the request is in flight, waiting on the model
        stopped_at = time.monotonic()
        service.popen.send_signal(signal.SIGTERM)
        client.join(timeout=20)
        exit_code = service.popen.wait(timeout=20)
        waited = time.monotonic() - stopped_at
    finally:
        service.stop()
        provider.stop()
    [(status, headers, body)] = answers
    problem = json.loads(body)
    assert (status, headers["content-type"]) == (503, "application/problem+json")
    assert (problem["type"], problem["title"]) == ("/problems/shutting-down", "Service shutting down")
    assert headers["retry-after"] == "5"
    assert problem["request_id"] == headers["x-request-id"]
    assert 0.9 < waited < 10
    assert exit_code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down gracefully
