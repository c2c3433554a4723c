"""``GET /v1/jobs/{id}/events``: a job's articles as they finish, then its end; resumed from ``Last-Event-ID``.

On both job stores (embedded SQLite, and Redis in the test database), on the offline model. The events
are read with httpx-sse from a served app; a second app on the same store, with no job workers, plays a
replica that never ran the job.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent, aconnect_sse
from pydantic import SecretStr

from service.api.app import create_app
from service.api.auth import key_hash
from service.settings import ApiKey, Settings

OWNER, OTHER = "ce_owner-key", "ce_other-key"


def article(number: int) -> dict[str, Any]:
    """Return a short extraction request whose one sentence states a figure."""
    return {"article": {"id": f"art-{number}", "text": f"Prices rose {number % 50}% in district {number} in May."}}


@pytest.fixture(params=["embedded", "redis"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings on the offline model with two keys, the jobs embedded (SQLite) or on Redis."""
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    keys = [
        ApiKey(name="owner", hash=key_hash(OWNER), scopes=["jobs"]),
        ApiKey(name="other", hash=key_hash(OTHER), scopes=["jobs"]),
    ]
    return Settings(
        cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", job_workers=2, api_keys=keys,
        redis_url=redis_url and SecretStr(redis_url),
    )  # fmt: skip


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app (its lifespan, so its job workers too) and yield a client that calls it."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


def auth(key: str = OWNER, **headers: str) -> dict[str, str]:
    """Return the headers of a request made with ``key``."""
    return {"authorization": f"Bearer {key}", **headers}


async def events_of(client: httpx.AsyncClient, job_id: str, **headers: str) -> list[ServerSentEvent]:
    """Read a job's events until the stream closes (it does after the end event)."""
    async with aconnect_sse(client, "GET", f"/v1/jobs/{job_id}/events", headers=auth(**headers)) as source:
        assert source.response.headers["content-type"].startswith("text/event-stream")
        return [event async for event in source.aiter_sse()]


async def finished(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    """Poll the job until it is over; return it."""
    deadline = time.monotonic() + 60
    while True:
        job: dict[str, Any] = (await client.get(f"/v1/jobs/{job_id}", headers=auth())).json()
        if job["state"] not in ("queued", "running") or time.monotonic() > deadline:
            return job
        await asyncio.sleep(0.05)


async def test_each_finished_article_is_an_event_with_the_counts_then_the_end(store_settings: Settings) -> None:
    """Six articles: six article events numbered 1 to 6 in completion order, counts rising, then end: the job."""
    async with served(store_settings) as client:
        job = (await client.post("/v1/jobs", json={"requests": [article(n) for n in range(6)]}, headers=auth())).json()
        events = await events_of(client, job["id"])
        after = (await client.get(f"/v1/jobs/{job['id']}", headers=auth())).json()
    assert [event.event for event in events] == ["article"] * 6 + ["end"]
    articles = [event.json() for event in events[:-1]]
    assert [event.id for event in events[:-1]] == [str(n) for n in range(1, 7)]
    assert [found["sequence"] for found in articles] == list(range(1, 7))
    assert sorted(found["index"] for found in articles) == list(range(6))
    assert {found["article_id"] for found in articles} == {f"art-{n}" for n in range(6)}
    assert {found["state"] for found in articles} == {"succeeded"}
    assert all(found["claims"] >= 1 for found in articles)
    assert all(found["counts"]["succeeded"] >= found["sequence"] for found in articles)  # fresh as the article
    assert articles[-1]["counts"]["succeeded"] == 6
    assert events[-1].json() == after
    assert after["state"] == "succeeded"


async def test_last_event_id_resumes_after_that_article(store_settings: Settings) -> None:
    """Reconnecting with ``Last-Event-ID: 3`` gives articles 4 to 6 and the end; with 6, the end alone."""
    async with served(store_settings) as client:
        job = (await client.post("/v1/jobs", json={"requests": [article(n) for n in range(6)]}, headers=auth())).json()
        whole = await events_of(client, job["id"])
        resumed = await events_of(client, job["id"], **{"last-event-id": "3"})
        at_end = await events_of(client, job["id"], **{"last-event-id": "6"})
    expected = [("article", "4"), ("article", "5"), ("article", "6"), ("end", "6")]  # the end sets no id
    assert [(event.event, event.id) for event in resumed] == expected
    assert [event.json() | {"counts": None} for event in resumed[:-1]] == [
        event.json() | {"counts": None} for event in whole[3:-1]
    ]
    assert [event.event for event in at_end] == ["end"]


async def test_a_replica_that_did_not_run_the_job_streams_it(store_settings: Settings) -> None:
    """A second app on the same store, with no job workers, follows a job the first runs, to its end."""
    idle = store_settings.model_copy(update={"job_workers": 0})
    async with served(idle) as replica:
        job = (await replica.post("/v1/jobs", json={"requests": [article(n) for n in range(4)]}, headers=auth())).json()
        following = asyncio.ensure_future(events_of(replica, job["id"]))
        await asyncio.sleep(0.3)
        assert not following.done()  # nobody runs it yet: the stream waits (pinging)
        async with served(store_settings) as worker:
            done = await finished(worker, job["id"])
            events = await asyncio.wait_for(following, timeout=30)
    assert [event.event for event in events] == ["article"] * 4 + ["end"]
    assert events[-1].json()["state"] == done["state"] == "succeeded"


async def test_another_key_s_job_is_not_found_and_a_bad_last_event_id_is_refused(store_settings: Settings) -> None:
    """Events honour the job's owner like GET /v1/jobs/{id} (a 404), and Last-Event-ID must be a number (422)."""
    async with served(store_settings) as client:
        job = (await client.post("/v1/jobs", json=article(1), headers=auth())).json()
        stranger = await client.get(f"/v1/jobs/{job['id']}/events", headers=auth(OTHER))
        nobody = await client.get(f"/v1/jobs/{job['id']}/events")
        garbled = await client.get(f"/v1/jobs/{job['id']}/events", headers=auth(**{"last-event-id": "x"}))
        missing = await client.get("/v1/jobs/job_00000000000000000000/events", headers=auth())
    for reply, status in ((stranger, 404), (nobody, 401), (garbled, 422), (missing, 404)):
        assert reply.status_code == status, reply.text
        assert reply.headers["content-type"] == "application/problem+json"
    assert json.loads(stranger.text)["detail"] == f"no job {job['id']!r}"  # as if it did not exist


async def test_a_last_event_id_past_the_job_s_articles_is_refused(store_settings: Settings) -> None:
    """``Last-Event-ID: 99`` on a two-article job names no event the stream sent: a 422, not a silent skip."""
    async with served(store_settings) as client:
        job = (await client.post("/v1/jobs", json={"requests": [article(1), article(2)]}, headers=auth())).json()
        await finished(client, job["id"])
        beyond = await client.get(f"/v1/jobs/{job['id']}/events", headers=auth(**{"last-event-id": "99"}))
        last = await events_of(client, job["id"], **{"last-event-id": "2"})
    assert beyond.status_code == 422, beyond.text
    assert beyond.headers["content-type"] == "application/problem+json"
    assert "has 2 articles" in json.loads(beyond.text)["detail"]
    assert [event.event for event in last] == ["end"]


async def test_a_quiet_stream_sends_heartbeat_comments(
    store_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While nothing finishes, ``: ping`` comments come every interval (15 s; 50 ms here) to keep proxies open."""
    import fastapi.routing

    monkeypatch.setattr(fastapi.routing, "_PING_INTERVAL", 0.05)
    idle = store_settings.model_copy(update={"job_workers": 0})
    app = create_app(idle)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            job = (await client.post("/v1/jobs", json=article(1), headers=auth())).json()
        body = await first_bytes(app, f"/v1/jobs/{job['id']}/events", auth(), until=b": ping\n\n: ping\n\n")
    assert body.startswith(b": ping\n\n: ping\n\n")


async def first_bytes(app: Any, path: str, headers: dict[str, str], until: bytes) -> bytes:
    """GET ``path`` from the ASGI app and go away once the body holds ``until``; return the body so far."""
    received, gone = bytearray(), asyncio.Event()

    async def receive() -> dict[str, Any]:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            received.extend(message.get("body", b""))
            if until in received:
                gone.set()

    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"t"), *((k.encode(), v.encode()) for k, v in headers.items())],
        "client": ("127.0.0.1", 50000), "server": ("t", 80),
    }  # fmt: skip
    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    return bytes(received)
