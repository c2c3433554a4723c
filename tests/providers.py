"""Real provider payload shapes for respx routes, and a scripted model that answers from the prompt."""

from __future__ import annotations

import json
from typing import Any

import httpx

from service.prompts.sentence_lines import last_sentence_lines


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


def _text_of(content: Any) -> str:
    """Return a message's text, whether a string (OpenAI) or a list of content blocks (Anthropic)."""
    if isinstance(content, str):
        return content
    return "\n".join(block.get("text", "") for block in content if isinstance(block, dict))


def sentence_lines(request: httpx.Request) -> list[tuple[int, str]]:
    """Return the ``[S<n>] text`` lines of the last user message holding any, OpenAI or Anthropic shaped."""
    messages = json.loads(request.content)["messages"]
    texts = [_text_of(message["content"]) for message in messages if message["role"] == "user"]
    return last_sentence_lines(texts)


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


def openai_tool_call_completion(arguments: str) -> dict[str, Any]:
    """Return an OpenAI chat completion whose answer is a forced call of the ``report_claims`` tool."""
    body = openai_chat_completion("")
    body["choices"][0]["message"] = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_Qx1", "type": "function", "function": {"name": "report_claims", "arguments": arguments}}
        ],
        "refusal": None,
    }
    body["choices"][0]["finish_reason"] = "tool_calls"
    return body


def anthropic_message(text: str, *, stop_reason: str = "end_turn", input_tokens: int = 150) -> dict[str, Any]:
    """Return an Anthropic Messages API response body carrying ``text``."""
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 50},
    }


def anthropic_error(
    status: int, error_type: str, message: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """Return an Anthropic error response."""
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    return httpx.Response(status, json=body, headers=headers)


def scripted_anthropic_reply(request: httpx.Request) -> httpx.Response:
    """Answer a Messages API request the way a good model would, as Anthropic shapes it."""
    return httpx.Response(200, json=anthropic_message(json.dumps({"claims": claims_for_numbers(request)})))


def openai_embeddings(vectors: list[list[float]], *, prompt_tokens: int = 8) -> dict[str, Any]:
    """Return an OpenAI embeddings response body carrying one vector per input, in order."""
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": index, "embedding": vector} for index, vector in enumerate(vectors)],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }
