"""``POST /v1/extractions`` with ``Accept: text/event-stream``: chunk events as chunks are answered, then done.

OpenAI is mocked at the HTTP boundary with respx (the real litellm -> httpx path). The stream is read
through the ASGI app directly, message by message as the app sends them (``httpx.ASGITransport`` would
buffer the body), so a test sees when each event came and can play a client that goes away.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from httpx_sse import EventSource, ServerSentEvent

from service.api.app import create_app
from service.api.auth import key_hash
from service.api.state import service_state
from service.settings import ApiKey, Settings
from tests.conftest import OPENAI_URL, hosted_settings
from tests.providers import openai_error, scripted_openai_reply

KEY = "ce_streaming-key"
AUTH = {"authorization": f"Bearer {KEY}"}
EIGHT_SENTENCES = " ".join(
    f"In district {n}, unemployment fell to {n + 2}.{n}% in May, the regional statistics office said in its "
    "monthly report."
    for n in range(8)
)
STREAM = {"accept": "text/event-stream"}


def eight_chunk_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """OpenAI's ``gpt`` as default, chunks of one sentence (the article above is eight chunks)."""
    return hosted_settings(tmp_path, chunk_tokens=50, context_sentences=0, **overrides)


def body(text: str = EIGHT_SENTENCES, **options: Any) -> dict[str, Any]:
    """Return an extraction request for ``text``."""
    return {"article": {"id": "districts", "text": text}, "options": options}


class Streamed:
    """What the app sent: the status, the headers, and each body part with the moment it was sent."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.parts: list[tuple[float, bytes]] = []

    @property
    def text(self) -> str:
        """Return the body as text."""
        return b"".join(part for _, part in self.parts).decode()

    def events(self) -> list[ServerSentEvent]:
        """Return the events of the body, read by httpx-sse's decoder (comments are not events)."""
        response = httpx.Response(200, headers={"content-type": "text/event-stream"}, text=self.text)
        return list(EventSource(response).iter_sse())

    def timed_events(self) -> list[tuple[float, str]]:
        """Return each event's name with the moment its body part was sent."""
        return [(at, part.decode().split("\n", 1)[0].removeprefix("event: ")) for at, part in self.parts if part]


async def stream(
    app: Any,
    payload: dict[str, Any],
    headers: dict[str, str],
    streamed: Streamed | None = None,
    gone: asyncio.Event | None = None,
) -> Streamed:
    """POST ``payload`` to the ASGI app, recording what it sends into ``streamed``; go away once ``gone`` is set."""
    streamed, gone, sent_body = streamed or Streamed(), gone or asyncio.Event(), False
    raw = json.dumps(payload).encode()

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            streamed.status = message["status"]
            streamed.headers = {name.decode(): value.decode() for name, value in message["headers"]}
        elif message["type"] == "http.response.body":
            streamed.parts.append((time.perf_counter(), message.get("body", b"")))

    all_headers = {"host": "t", "content-type": "application/json", "content-length": str(len(raw)), **headers}
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/extractions", "raw_path": b"/v1/extractions", "query_string": b"",
        "root_path": "", "headers": [(k.encode(), v.encode()) for k, v in all_headers.items()],
        "client": ("127.0.0.1", 50000), "server": ("t", 80),
    }  # fmt: skip
    await app(scope, receive, send)
    return streamed


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Wait until ``condition`` holds (a test failure after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.01)


async def post_json(app: Any, payload: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    """POST ``payload`` for a JSON reply."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.post("/v1/extractions", json=payload, headers=headers or {})


async def test_chunk_events_come_as_chunks_are_answered_then_done_equals_the_json_reply(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """Eight chunk events, each sent while later chunks wait on the model, then done: the JSON reply exactly."""

    async def slow_reply(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)
        return scripted_openai_reply(request)

    http_mock.post(OPENAI_URL).mock(side_effect=slow_reply)
    app = create_app(eight_chunk_settings(tmp_path, max_concurrency=1))
    async with app.router.lifespan_context(app):
        streamed = await stream(app, body(cache=False), STREAM)
        replied = await post_json(app, body(cache=False))
    assert streamed.status == 200
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert streamed.headers["cache-control"] == "no-cache"
    events = streamed.events()
    assert [event.event for event in events] == ["chunk"] * 8 + ["done"]
    chunks = [event.json() for event in events[:-1]]
    assert [chunk["chunk"] for chunk in chunks] == list(range(1, 9))  # one at a time: in order
    assert {chunk["chunks"] for chunk in chunks} == {8}
    assert [len(chunk["claims"]) for chunk in chunks] == [1] * 8
    assert all(chunk["cached"] is False and chunk["errors"] == [] for chunk in chunks)
    assert replied.status_code == 200
    assert events[-1].json() == replied.json()
    assert [claim for chunk in chunks for claim in chunk["claims"]] == replied.json()["claims"]
    times = [at for at, name in streamed.timed_events() if name == "chunk"]
    assert all(later - earlier >= 0.04 for earlier, later in itertools.pairwise(times))  # one per reply


async def test_chunk_claims_are_provisional_the_done_event_de_duplicates_them(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """A sentence said twice gives a claim in each of two chunk events and one claim in done (and in JSON)."""
    text = EIGHT_SENTENCES.split(" In district 1")[0] + " " + EIGHT_SENTENCES.split(" In district 1")[0]
    http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    app = create_app(eight_chunk_settings(tmp_path))
    async with app.router.lifespan_context(app):
        events = (await stream(app, body(text), STREAM)).events()
        replied = await post_json(app, body(text))
    chunk_claims = [claim["text"] for event in events[:-1] for claim in event.json()["claims"]]
    assert [event.event for event in events] == ["chunk", "chunk", "done"]
    assert len(chunk_claims) == 2
    assert len(set(chunk_claims)) == 1
    assert [claim["text"] for claim in events[-1].json()["claims"]] == chunk_claims[:1]
    assert events[-1].json() | {"usage": None} == replied.json() | {"usage": None}
    assert replied.json()["usage"]["cache_hits"] == 2  # the streamed chunks' replies were cached as JSON's are


async def test_chunk_claims_are_filtered_as_the_reply_s_are(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """``min_checkworthiness`` above the model's 0.8 leaves every chunk event's claims empty, as in done."""
    http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    app = create_app(eight_chunk_settings(tmp_path))
    async with app.router.lifespan_context(app):
        events = (await stream(app, body(min_checkworthiness=0.9), STREAM)).events()
    assert [event.json()["claims"] for event in events] == [[]] * 9


async def test_a_failure_after_streaming_began_is_an_error_event_with_the_json_reply_s_problem(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """Every chunk refused by the provider: chunk events with their errors, then error, the problem JSON would be."""
    http_mock.post(OPENAI_URL).mock(
        return_value=openai_error(401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key")
    )
    app = create_app(eight_chunk_settings(tmp_path, fallbacks={}))
    async with app.router.lifespan_context(app):
        streamed = await stream(app, body(), STREAM)
        replied = await post_json(app, body())
    events = streamed.events()
    assert streamed.status == 200
    assert [event.event for event in events] == ["chunk"] * 8 + ["error"]
    assert all(event.json()["errors"][0]["code"] == replied.json()["type"].rsplit("/", 1)[1] for event in events[:-1])
    problem = events[-1].json()
    assert replied.headers["content-type"] == "application/problem+json"
    assert problem["status"] == replied.status_code >= 500
    masked = {"request_id": "-"}
    assert problem | masked == replied.json() | masked
    assert problem["instance"] == "/v1/extractions"


async def test_errors_before_streaming_stay_ordinary_problem_responses(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """An invalid body (422), an unknown model (422) and a key over its day (429) are problems, not streams."""
    http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    keys = [ApiKey(name="streamer", hash=key_hash(KEY), scopes=["extract"], tokens_per_day=4000)]
    app = create_app(eight_chunk_settings(tmp_path, api_keys=keys))
    async with app.router.lifespan_context(app):
        empty = await stream(app, {"article": {"text": ""}}, STREAM | AUTH)
        unknown = await stream(app, body(model="nope"), STREAM | AUTH)
        spending = await post_json(app, body(), AUTH)  # 8 x 160 tokens: what is left is under the next estimate
        over = await stream(app, body(cache=False), STREAM | AUTH)
    for streamed, status, slug in (
        (empty, 422, "invalid-request"),
        (unknown, 422, "unknown-model"),
        (over, 429, "quota-exceeded"),
    ):
        assert streamed.status == status, streamed.text
        assert streamed.headers["content-type"] == "application/problem+json"
        assert json.loads(streamed.text)["type"].endswith(slug)
    assert spending.status_code == 200
    assert "ratelimit" in over.headers


async def test_a_client_that_goes_away_stops_the_model_calls_and_the_key_pays_what_was_answered(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """Leaving after the first chunk event: the call in flight is cancelled, no other starts, 160 tokens charged."""
    calls, never = 0, asyncio.Event()

    async def first_answers(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls > 1:
            await never.wait()
        return scripted_openai_reply(request)  # 120 prompt + 40 completion tokens

    http_mock.post(OPENAI_URL).mock(side_effect=first_answers)
    keys = [ApiKey(name="streamer", hash=key_hash(KEY), scopes=["extract"], tokens_per_day=100_000)]
    settings = eight_chunk_settings(tmp_path, api_keys=keys, max_concurrency=1)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        quotas = service_state(app).quotas
        streamed, gone = Streamed(), asyncio.Event()
        streaming = asyncio.ensure_future(stream(app, body(), STREAM | AUTH, streamed, gone))
        await until(lambda: calls == 2 and "event: chunk" in streamed.text)
        gone.set()
        await asyncio.wait_for(streaming, timeout=10)
        await asyncio.sleep(0.2)  # long enough for another chunk to be asked, were it going to be
        tokens = next(s for s in await quotas.standing(settings.api_keys[0]) if s.policy.name == "tokens")
    assert [event.event for event in streamed.events()] == ["chunk"]
    assert calls == 2  # the first answered, the second was in flight when the client left; six never asked
    assert tokens.remaining == 100_000 - 160


async def test_a_streamed_extraction_is_counted_and_logged_as_a_json_one_is(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None, caplog: pytest.LogCaptureFixture
) -> None:
    """One streamed and one JSON extraction: each adds one to claims_extractions and writes one extraction line."""
    from prometheus_client import REGISTRY

    def extractions() -> float:
        return REGISTRY.get_sample_value("claims_extractions_total", {"status": "complete"}) or 0.0

    http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    app = create_app(eight_chunk_settings(tmp_path))
    async with app.router.lifespan_context(app):
        before = extractions()
        with caplog.at_level("INFO", logger="claims.extractions"):
            await stream(app, body(cache=False), STREAM)
            streamed = extractions()
            await post_json(app, body(cache=False))
    lines = [record for record in caplog.records if record.name == "claims.extractions"]
    assert (streamed - before, extractions() - streamed) == (1, 1)
    assert len(lines) == 2
    streamed_line, json_line = (re.sub(r"request_id=\S+|\bms=\S+", "", line.getMessage()) for line in lines)
    assert streamed_line == json_line
    assert "claims=8 " in streamed_line
