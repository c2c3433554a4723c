"""OpenAI's Batch API faked in-process with respx (``benchmarks.fake_batches`` behind respx routes)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import respx

from benchmarks.fake_batches import FakeBatches
from benchmarks.fake_provider import chat_completion, claims_for

OPENAI_API = "https://api.openai.com/v1"
BATCH_PATHS = r"^https://api\.openai\.com/v1/(files|batches)(/.*)?(\?.*)?$"


def good_answer(body: dict[str, Any]) -> dict[str, Any]:
    """Answer a chat body as a good model would: a quantity claim per numbered sentence with a figure."""
    content = json.dumps({"claims": claims_for(body["messages"])})
    return chat_completion(content, str(body["model"]), prompt_tokens=200, completion_tokens=50)


def route_batches(router: respx.MockRouter, fake: FakeBatches) -> respx.Route:
    """Send every /v1/files and /v1/batches request to ``fake``; return the route (its calls are the API's)."""

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode()
        found = fake.route(request.method, path, request.content, request.headers.get("content-type", ""))
        if found is None:
            return httpx.Response(404, json={"error": {"message": f"no {path}", "type": "invalid_request_error"}})
        status, document = found
        if isinstance(document, bytes):
            return httpx.Response(status, content=document, headers={"content-type": "application/octet-stream"})
        return httpx.Response(status, json=document)

    route: respx.Route = router.route(url__regex=BATCH_PATHS).mock(side_effect=answer)
    return route


def input_lines(fake: FakeBatches) -> list[dict[str, Any]]:
    """Return the lines of every batch input uploaded to ``fake`` (the files batches were made over)."""
    inputs = {batch["input_file_id"] for batch in fake.batches.values()}
    return [json.loads(line) for file_id in sorted(inputs) for line in fake.files[file_id].decode().splitlines()]
