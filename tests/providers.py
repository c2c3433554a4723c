"""Real provider payload shapes for respx routes, and a scripted model that answers from the prompt."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

SENTENCE_LINE = re.compile(r"^\[S(\d+)\] (.*)$", re.MULTILINE)


def openai_chat_completion(content: str, *, prompt_tokens: int = 120, completion_tokens: int = 40) -> dict[str, Any]:
    """Return an OpenAI chat-completions response body carrying ``content``."""
    return {
        "id": "chatcmpl-AxYz12345",
        "object": "chat.completion",
        "created": 1723500000,
        "model": "gpt-4o-mini-2024-07-18",
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
        "system_fingerprint": "fp_0123456789",
    }


def openai_error(status: int, message: str, error_type: str, code: str | None = None) -> httpx.Response:
    """Return an OpenAI error response."""
    return httpx.Response(status, json={"error": {"message": message, "type": error_type, "param": None, "code": code}})


def sentence_lines(request: httpx.Request) -> list[tuple[int, str]]:
    """Return the ``[S<n>] text`` lines of the last user message of a chat-completions request."""
    messages = json.loads(request.content)["messages"]
    user = [message["content"] for message in messages if message["role"] == "user" and "[S" in message["content"]]
    return [(int(number), text) for number, text in SENTENCE_LINE.findall(user[-1])]


def claims_for_numbers(request: httpx.Request) -> list[dict[str, Any]]:
    """Script a model: one quantity claim per numbered sentence that contains a digit."""
    return [
        {
            "sentence_ids": [number],
            "quote": text,
            "text": text,
            "type": "quantity",
            "claimant": None,
            "attribution": "author",
            "checkworthiness": 0.8,
        }
        for number, text in sentence_lines(request)
        if any(char.isdigit() for char in text)
    ]


def scripted_openai_reply(request: httpx.Request) -> httpx.Response:
    """Answer a chat-completions request the way a good model would, as OpenAI shapes it."""
    content = json.dumps({"claims": claims_for_numbers(request)})
    return httpx.Response(200, json=openai_chat_completion(content))
