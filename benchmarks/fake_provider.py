"""A fake OpenAI-compatible provider on loopback: fixed latency, deterministic valid replies, call counts.

``POST /v1/chat/completions`` sleeps the configured latency, then answers in OpenAI's chat-completions
shape with claims JSON (the reply schema of ``schemas/model_reply.py``) for the ``[S<n>] text`` lines of
the last user message: a ``quantity`` claim for every sentence with a figure, a ``quoted`` one for every
sentence with a quotation mark. Usage counts the prompt with ``benchmarks.tokens``. ``GET /stats`` returns
the counters, ``GET /calls`` when and what each call asked, ``POST /reset`` zeroes them. The Batch API and
the files it needs are ``benchmarks.fake_batches``'s (a batch answers every line as a chat call would, but
the first ``--invalid-batch-answers`` first asks, answered ``{"claims": "none"}``: JSON not in the reply
schema, which a repair re-asks; a re-ask is answered well). A bare asyncio
HTTP/1.1 server, so the provider itself costs next to no CPU.
Run: ``python -m benchmarks.fake_provider --latency-ms 300`` (prints ``PORT <n>``).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.fake_batches import FakeBatches
from benchmarks.tokens import count_messages, count_text
from service.prompts.sentence_lines import last_sentence_lines

QUOTE_MARKS = ("“", '"')


@dataclass
class Counters:
    """What the provider has been asked since the last reset."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    in_flight: int = 0
    max_in_flight: int = 0


def claims_for(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answer like a good model: claims for the numbered sentences of the last user message that has them."""
    users = [str(m.get("content") or "") for m in messages if m.get("role") == "user"]
    claims = []
    for number, text in last_sentence_lines(users):
        if any(char.isdigit() for char in text):
            kind, attribution, claimant = "quantity", "author", None
        elif any(mark in text for mark in QUOTE_MARKS):
            kind, attribution, claimant = "other", "quoted", "an official"
        else:
            continue
        claims.append(
            {
                "sentence_ids": [number],
                "quote": text,
                "text": text,
                "type": kind,
                "claimant": claimant,
                "attribution": attribution,
                "checkworthiness": 0.8,
            }
        )
    return claims


def chat_completion(content: str, model: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """Return an OpenAI chat-completions body carrying ``content``."""
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1723500000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class FakeProvider:
    """The provider's state and request handling."""

    def __init__(self, latency_s: float, batch_seconds: float = 1.0, invalid_batch_answers: int = 0) -> None:
        self.latency_s = latency_s
        self.invalid_left = invalid_batch_answers  # first asks in batches still to answer out of the schema
        self.counters = Counters()
        self.calls: list[tuple[float, str]] = []  # (wall-clock start, sha256 of the messages) of every call
        self.batches = FakeBatches(self.answer, batch_seconds)

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer a chat-completions body at once (a batch's line): claims for its numbered sentences."""
        content = json.dumps({"claims": claims_for(request["messages"])}, ensure_ascii=False)
        if self.invalid_left > 0 and request["messages"][-1]["role"] == "user" and len(request["messages"]) <= 2:
            self.invalid_left -= 1
            content = '{"claims": "none"}'  # a first ask (system and user): JSON, not the reply schema
        prompt_tokens, completion_tokens = count_messages(request["messages"]), count_text(content)
        return chat_completion(content, str(request.get("model", "fake")), prompt_tokens, completion_tokens)

    async def complete(self, body: bytes) -> dict[str, Any]:
        """Answer one chat-completions request after the fixed latency."""
        request = json.loads(body)
        messages = json.dumps(request["messages"], sort_keys=True).encode()
        self.calls.append((time.time(), hashlib.sha256(messages).hexdigest()))
        counters = self.counters
        counters.calls += 1
        counters.in_flight += 1
        counters.max_in_flight = max(counters.max_in_flight, counters.in_flight)
        try:
            await asyncio.sleep(self.latency_s)
            content = json.dumps({"claims": claims_for(request["messages"])}, ensure_ascii=False)
            prompt_tokens, completion_tokens = count_messages(request["messages"]), count_text(content)
            counters.prompt_tokens += prompt_tokens
            counters.completion_tokens += completion_tokens
            return chat_completion(content, str(request.get("model", "fake")), prompt_tokens, completion_tokens)
        finally:
            counters.in_flight -= 1

    async def route(self, method: str, path: str, body: bytes, content_type: str = "") -> tuple[int, Any]:
        """Dispatch one request; return status and JSON document (or raw bytes, for a file's content)."""
        if method == "POST" and path.rstrip("/").endswith("/chat/completions"):
            return 200, await self.complete(body)
        batch_answer = self.batches.route(method, path, body, content_type)
        if batch_answer is not None:
            return batch_answer
        if method == "GET" and path == "/stats":
            batches = {
                "batches_created": self.batches.created, "batch_lines": self.batches.lines,
                "batch_api_requests": dict(self.batches.requests),
            }  # fmt: skip
            return 200, {**asdict(self.counters), **batches, "latency_s": self.latency_s}
        if method == "GET" and path == "/calls":
            return 200, {"calls": self.calls}
        if method == "POST" and path == "/reset":
            self.counters = Counters()
            return 200, {"reset": True}
        return 404, {"error": {"message": f"no route {method} {path}", "type": "not_found", "code": None}}

    async def serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve keep-alive HTTP/1.1 requests on one connection until the client closes it."""
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    return
                method, path, _ = request_line.decode("latin-1").split(" ", 2)
                headers = await _read_headers(reader)
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                try:
                    status, document = await self.route(method, path, body, headers.get("content-type", ""))
                except (ValueError, KeyError, TypeError) as exc:
                    status, document = 400, {"error": {"message": str(exc), "type": "invalid_request_error"}}
                raw = isinstance(document, bytes)
                payload = document if raw else json.dumps(document).encode("utf-8")
                kind = "application/octet-stream" if raw else "application/json"
                head = (
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\ncontent-type: {kind}\r\n"
                    f"content-length: {len(payload)}\r\nconnection: keep-alive\r\n\r\n"
                )
                writer.write(head.encode("ascii") + payload)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()


async def _read_headers(reader: asyncio.StreamReader) -> dict[str, str]:
    """Read header lines up to the blank line; names lower-cased."""
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            return headers
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()


async def serve(
    latency_s: float, port: int, max_seconds: float, batch_seconds: float = 1.0, invalid_batch_answers: int = 0
) -> None:
    """Listen on 127.0.0.1 and print ``PORT <n>``; stop after ``max_seconds`` at the latest."""
    provider = FakeProvider(latency_s, batch_seconds, invalid_batch_answers)
    server = await asyncio.start_server(provider.serve_connection, "127.0.0.1", port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    async with server:
        try:
            await asyncio.wait_for(server.serve_forever(), max_seconds)
        except TimeoutError:
            return


def main() -> None:
    """Run the fake provider until killed or ``--max-seconds`` pass."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=300.0, help="fixed latency of every completion")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="stop by itself after this long")
    parser.add_argument("--batch-seconds", type=float, default=1.0, help="how long a batch takes to complete")
    parser.add_argument(
        "--invalid-batch-answers", type=int, default=0, help="answer this many first asks in batches out of the schema"
    )
    args = parser.parse_args()
    count_text("warm up the tokenizer")
    latency_s = args.latency_ms / 1000
    asyncio.run(serve(latency_s, args.port, args.max_seconds, args.batch_seconds, args.invalid_batch_answers))


if __name__ == "__main__":
    main()
