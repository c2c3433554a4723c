"""Tests of ``service/jobs/deliveries.py``: one receiver never holds the others' webhooks, embedded and on Redis.

The receivers are real HTTP servers on 127.0.0.1 (an honest one, one trickling its reply a byte a second, one
answering a huge body), so the sender's deadlines, concurrency and reply reading are tried on real sockets.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import math
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import respx
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.jobs import deliveries, webhooks
from service.settings import Settings

SECRET = "whsec_" + base64.b64encode(b"a test secret of thirty-two bytes").decode()
TIMEOUT_S = 2.0  # a receiver trickling a byte a second never trips a per-read timeout of 2 s
TRICKLED = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n\r\n" + b"x" * 64
HUGE_BYTES = 100 * 1024 * 1024
POISONED = "http://127.0.0.1:82\n20/"


@dataclass
class Call:
    """One request a receiver got: its path, webhook-id, when it came and when the sender hung up."""

    path: str
    webhook_id: str
    started: float
    at: float
    ended: float | None = None
    bytes_sent: int = 0


@dataclass
class Receivers:
    """Real HTTP receivers on 127.0.0.1: ``/honest`` answers at once, ``/slow`` trickles, ``/huge`` floods."""

    port: int = 0
    calls: list[Call] = field(default_factory=list)
    in_flight: dict[str, int] = field(default_factory=dict)
    most_at_once: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        """Return the callback URL of one receiver."""
        return f"http://127.0.0.1:{self.port}{path}"

    def arrived(self, path: str) -> list[Call]:
        """Return the calls a receiver got."""
        return [call for call in self.calls if call.path == path]

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read one request and answer it as its path says."""
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
        await reader.readexactly(int(headers.get("content-length", "0")))
        call = Call(lines[0].split(" ")[1], headers.get("webhook-id", ""), time.monotonic(), time.time())
        self.calls.append(call)
        self.in_flight[call.webhook_id] = self.in_flight.get(call.webhook_id, 0) + 1
        self.most_at_once[call.webhook_id] = max(
            self.most_at_once.get(call.webhook_id, 0), self.in_flight[call.webhook_id]
        )
        answer = asyncio.create_task(self._answer(call, writer))
        hang_up = asyncio.create_task(reader.read())  # the sender sends nothing more: this ends when it hangs up
        try:
            await asyncio.wait([answer, hang_up], return_when=asyncio.FIRST_COMPLETED)
        finally:
            answer.cancel()
            hang_up.cancel()
            call.ended = time.monotonic()
            self.in_flight[call.webhook_id] -= 1
            writer.close()

    async def _answer(self, call: Call, writer: asyncio.StreamWriter) -> None:
        """Answer at once, one byte a second, or with a huge body (counting what the sender took)."""
        with contextlib.suppress(ConnectionError, OSError):  # the sender hung up
            await self._write(call, writer)

    async def _write(self, call: Call, writer: asyncio.StreamWriter) -> None:
        """Write the answer the call's path asks for."""
        if call.path == "/slow":
            for byte in TRICKLED:
                writer.write(bytes([byte]))
                await writer.drain()
                call.bytes_sent += 1
                await asyncio.sleep(1.0)
        elif call.path == "/huge":
            writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {HUGE_BYTES}\r\n\r\n".encode())
            chunk = b"y" * 65536
            while call.bytes_sent < HUGE_BYTES:
                writer.write(chunk)
                await writer.drain()
                call.bytes_sent += len(chunk)
        else:
            writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")  # one request a connection
            await writer.drain()


@pytest.fixture
def receivers(http_mock: respx.MockRouter) -> Iterator[Receivers]:
    """The receivers, served on their own event loop in a thread; the sender reaches 127.0.0.1 for real."""
    http_mock.route(host="127.0.0.1").pass_through()
    found = Receivers()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(asyncio.start_server(found.serve, "127.0.0.1", 0), loop).result()
    found.port = server.sockets[0].getsockname()[1]
    yield found

    async def shut() -> None:
        server.close()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()
        await asyncio.sleep(0.1)

    asyncio.run_coroutine_threadsafe(shut(), loop).result()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def hook_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> Settings:
    """Settings sending webhooks to 127.0.0.1, a 1-s attempt deadline, two attempts, near-instant retries."""
    monkeypatch.setenv("CLAIMS_TEST_WEBHOOK_SECRET", SECRET)
    values: dict[str, Any] = {
        "cache_dir": tmp_path / "cache",
        "data_dir": tmp_path / "data",
        "webhook_secret": "os.environ/CLAIMS_TEST_WEBHOOK_SECRET",
        "webhook_allowed_hosts": ["127.0.0.1"],
        "webhook_timeout_s": TIMEOUT_S,
        "webhook_max_attempts": 2,
        "webhook_retry_s": 0.05,
    }
    return Settings(**(values | overrides))


def submit(client: TestClient, callback_url: str, number: int = 1) -> str:
    """Submit a one-article job with a callback; return its id."""
    article = {"article": {"id": f"a{number}", "text": f"Prices rose {number}% in May."}}
    response = client.post("/v1/jobs", json={**article, "callback_url": callback_url})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


def settled(client: TestClient, job_id: str, limit_s: float) -> dict[str, Any]:
    """Wait until the job has finished and its webhook is no longer pending (or the limit passed); return the job."""
    deadline = time.monotonic() + limit_s
    while True:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if job["webhooks"] and all(hook["state"] != "pending" for hook in job["webhooks"]):
            return job
        if time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def arrival_delay(client: TestClient, receivers: Receivers, job_id: str, limit_s: float) -> float:
    """Return how long after its job finished the honest receiver got its webhook (the limit when it did not)."""
    deadline = time.monotonic() + limit_s
    while not receivers.arrived("/honest") and time.monotonic() < deadline:
        time.sleep(0.02)
    job = client.get(f"/v1/jobs/{job_id}").json()
    assert job["finished_at"] is not None
    if not receivers.arrived("/honest"):
        return limit_s
    return receivers.arrived("/honest")[0].at - datetime.fromisoformat(job["finished_at"]).timestamp()


def test_a_trickling_receiver_delays_no_other_webhook_and_is_cut_at_its_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receivers: Receivers
) -> None:
    """One byte a second from one receiver: the honest webhook still goes out at once; the slow attempts are cut.

    Each slow attempt ends at ``webhook_timeout_s`` as a whole, not after the reply's 130 s.
    """
    with TestClient(create_app(hook_settings(tmp_path, monkeypatch))) as client:
        slow = submit(client, receivers.url("/slow"), 1)
        time.sleep(0.5)  # the slow attempt is in flight
        honest = submit(client, receivers.url("/honest"), 2)
        delay = arrival_delay(client, receivers, honest, limit_s=12)
        assert delay < 1.5, f"the honest webhook went out {delay:.1f} s after its job finished"
        [hook] = settled(client, slow, limit_s=2 * TIMEOUT_S + 3)["webhooks"]
    assert hook["state"] == "failed"
    assert [attempt["error"] for attempt in hook["attempts"]] == [f"no reply within {TIMEOUT_S:g} s"] * 2
    calls = receivers.arrived("/slow")
    assert len(calls) == 2
    assert all(call.ended is not None and call.ended - call.started < TIMEOUT_S + 0.5 for call in calls)


def most_at_once(calls: list[Call]) -> int:
    """Return how many of these calls were in flight at once, at most."""
    edges = sorted([(call.started, 1) for call in calls] + [(call.ended or math.inf, -1) for call in calls])
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def test_one_tenant_s_many_slow_webhooks_take_two_slots_and_delay_no_other_receiver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receivers: Receivers, http_mock: respx.MockRouter
) -> None:
    """Twenty jobs calling one trickling receiver: it gets two attempts at once; another receiver is called at once.

    Before, the twenty filled all eight slots in turn (claimed by due time) and the honest webhook waited behind them.
    """
    http_mock.route(host="localhost").pass_through()  # the honest receiver is another host: localhost
    settings = hook_settings(tmp_path, monkeypatch, webhook_allowed_hosts=["127.0.0.1", "localhost"])
    with TestClient(create_app(settings)) as client:
        for number in range(20):
            submit(client, receivers.url("/slow"), number)
        time.sleep(1.0)  # the slow deliveries are due and the first are in flight
        honest = submit(client, receivers.url("/honest").replace("127.0.0.1", "localhost"), 99)
        delay = arrival_delay(client, receivers, honest, limit_s=15)
        assert delay < 1.5, f"the honest webhook went out {delay:.1f} s after its job finished"
    assert most_at_once(receivers.arrived("/slow")) <= deliveries.RECEIVER_AT_ONCE


def test_a_huge_reply_is_not_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receivers: Receivers) -> None:
    """A 200 with a 100 MB body is a delivered webhook, of which the sender read a few KB and hung up."""
    with TestClient(create_app(hook_settings(tmp_path, monkeypatch, webhook_timeout_s=5))) as client:
        job = submit(client, receivers.url("/huge"))
        [hook] = settled(client, job, limit_s=10)["webhooks"]
    assert (hook["state"], [attempt["status_code"] for attempt in hook["attempts"]]) == ("delivered", [200])
    [call] = receivers.arrived("/huge")
    assert call.bytes_sent < HUGE_BYTES / 4, f"the sender read {call.bytes_sent:,} bytes of the reply"


def test_one_webhook_id_is_sent_once_per_attempt_on_redis_with_a_short_lease(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receivers: Receivers, redis_url: str
) -> None:
    """Two processes' senders share Redis and a short lease: an attempt in flight is never handed to the other."""
    monkeypatch.setattr(deliveries, "LEASE_MARGIN_S", 0.5)
    with ExitStack() as stack:
        clients = [
            stack.enter_context(
                TestClient(create_app(hook_settings(tmp_path / name, monkeypatch, redis_url=redis_url)))
            )
            for name in ("first", "second")
        ]
        job = submit(clients[0], receivers.url("/slow"))
        [hook] = settled(clients[0], job, limit_s=20)["webhooks"]
    sent = receivers.arrived("/slow")
    assert receivers.most_at_once == {hook["id"]: 1}, "one webhook-id was in flight twice at once"
    assert hook["state"] == "failed"
    assert len(sent) == len(hook["attempts"]) == 2


def plant_callback(settings: Settings, redis_url: str | None, job_id: str, url: str) -> None:
    """Write a callback URL straight into the job store, past every check of the API (as a bug or an old row would)."""
    if redis_url is None:
        with sqlite3.connect(settings.data_dir / "jobs.db") as connection:
            connection.execute("UPDATE jobs SET callback_url = ? WHERE id = ?", (url, job_id))
    else:
        client = redis.Redis.from_url(redis_url)
        assert client.hset(f"claims:job:{job_id}", "callback_url", url) == 0  # the field was there
        client.close()


@pytest.mark.parametrize("backend", ["embedded", "redis"])
def test_a_poisoned_callback_in_the_store_fails_its_attempts_and_blocks_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receivers: Receivers, request: pytest.FixtureRequest, backend: str
) -> None:
    """A callback URL with a newline in its port, planted in the store first in line, blocks no other webhook.

    Its attempts fail, naming the character, and the honest job queued after it gets its webhook.
    """
    redis_url = request.getfixturevalue("redis_url") if backend == "redis" else None
    settings = hook_settings(tmp_path, monkeypatch, redis_url=redis_url)
    with TestClient(create_app(settings.model_copy(update={"job_workers": 0}))) as api_only:
        poisoned = submit(api_only, receivers.url("/poisoned"), 1)
        honest = submit(api_only, receivers.url("/honest"), 2)
    plant_callback(settings, redis_url, poisoned, POISONED)
    with TestClient(create_app(settings)) as client:
        delay = arrival_delay(client, receivers, honest, limit_s=8)
        assert delay < 3, f"the honest webhook waited {delay:.1f} s behind the poisoned one"
        [hook] = settled(client, poisoned, limit_s=10)["webhooks"]
    assert hook["state"] == "failed"
    assert len(hook["attempts"]) == 2
    assert "U+000A at position 20" in hook["attempts"][0]["error"]


def test_a_bug_while_sending_one_webhook_is_its_failed_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receivers: Receivers
) -> None:
    """Any exception in one delivery is recorded as that delivery's failed attempt; the others go out."""
    real_headers = webhooks.signed_headers

    def buggy_for_one(secret: str, delivery: Any, at: Any) -> dict[str, str]:
        if delivery.callback_url.endswith("/buggy"):
            raise RuntimeError("a bug of ours")
        return real_headers(secret, delivery, at)

    monkeypatch.setattr(webhooks, "signed_headers", buggy_for_one)
    with TestClient(create_app(hook_settings(tmp_path, monkeypatch, job_workers=1))) as client:
        buggy = submit(client, receivers.url("/buggy"), 1)
        honest = submit(client, receivers.url("/honest"), 2)
        delay = arrival_delay(client, receivers, honest, limit_s=8)
        assert delay < 3, f"the honest webhook waited {delay:.1f} s behind the buggy one"
        [hook] = settled(client, buggy, limit_s=10)["webhooks"]
    assert hook["state"] == "failed"
    assert [attempt["error"] for attempt in hook["attempts"]] == ["internal error: RuntimeError"] * 2
