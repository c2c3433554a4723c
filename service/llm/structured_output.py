"""How a model is asked for JSON, per provider: JSON schema, a forced tool call, JSON mode, or the prompt alone.

The mode is the model's ``structured_output`` setting, else chosen from litellm's capability data
(``supports_response_schema`` → ``json_schema``; ``supports_function_calling`` → ``tool``; otherwise
``json_object``). Every mode but ``prompt`` has a next one down to try when a server rejects it (llama.cpp's
server answers HTTP 500 to ``json_schema``), so a server's quirk costs one probe, not every request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

from schemas import ModelReply
from service.offline import OFFLINE_PROVIDER
from service.settings import ModelEntry, StructuredOutput

TOOL_NAME = "report_claims"
STEP_DOWN: dict[StructuredOutput, StructuredOutput] = {
    "json_schema": "json_object",
    "tool": "json_object",
    "json_object": "prompt",
}


def _capability(litellm: Any, check: str, model: str) -> bool:
    """Ask litellm whether ``model`` has a capability; unknown models have none."""
    try:
        return bool(getattr(litellm, check)(model=model))
    except Exception:  # litellm raises for models missing from its data
        return False


def auto_mode(load_litellm: Callable[[], Any], entry: ModelEntry) -> StructuredOutput:
    """Return the configured mode, or the best one litellm says the model supports.

    litellm is loaded (``load_litellm``, ~1.5 s the first time) only when its capability data is needed:
    not for a configured mode, nor for the offline model, which reads JSON mode like any other (litellm
    knows nothing of it and answers ``json_object``), so a cached ``claims extract`` never imports it.
    """
    if entry.structured_output is not None:
        return entry.structured_output
    if entry.model.startswith(OFFLINE_PROVIDER + "/"):
        return "json_object"
    litellm = load_litellm()
    if _capability(litellm, "supports_response_schema", entry.model):
        return "json_schema"
    if _capability(litellm, "supports_function_calling", entry.model):
        return "tool"
    return "json_object"


def _inline_refs(node: Any, definitions: dict[str, Any]) -> Any:
    """Return a JSON schema with every ``$ref`` replaced by its definition (tool modes mangle refs)."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline_refs(definitions[node["$ref"].rsplit("/", 1)[-1]], definitions)
        return {key: _inline_refs(value, definitions) for key, value in node.items() if key != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(item, definitions) for item in node]
    return node


def reply_tool() -> dict[str, Any]:
    """Return the function definition a ``tool``-mode model must call with its claims."""
    return {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "description": "Report the checkable claims found in the numbered sentences.",
            "parameters": inline_reply_schema(),
        },
    }


@cache
def _inline_reply_schema_text() -> str:
    """Render the reply's inlined JSON schema once (pydantic's schema generation costs milliseconds)."""
    schema = ModelReply.model_json_schema()
    return json.dumps(_inline_refs(schema, schema.get("$defs", {})))


def inline_reply_schema() -> dict[str, Any]:
    """Return a fresh copy of the reply's JSON schema with nested models inlined."""
    inlined: dict[str, Any] = json.loads(_inline_reply_schema_text())
    return inlined


def request_arguments(mode: StructuredOutput, entry: ModelEntry) -> dict[str, Any]:
    """Return the litellm arguments that ask ``entry`` for structured output in ``mode``.

    JSON mode on a self-hosted OpenAI-compatible server (a model with its own ``api_base``) also carries
    the schema: llama.cpp's server constrains decoding to it, and vLLM and Ollama ignore it.
    """
    if mode == "json_schema":
        return {"response_format": ModelReply}
    if mode == "tool":
        return {"tools": [reply_tool()], "tool_choice": {"type": "function", "function": {"name": TOOL_NAME}}}
    if mode == "json_object" and "api_base" in entry.litellm_params:
        return {"response_format": {"type": "json_object", "schema": inline_reply_schema()}}
    if mode == "json_object":
        return {"response_format": {"type": "json_object"}}
    return {}


def reply_text(message: Any, mode: StructuredOutput) -> str:
    """Return the reply's JSON text: the forced tool call's arguments in ``tool`` mode, else the content."""
    if mode == "tool":
        for call in getattr(message, "tool_calls", None) or []:
            if call.function.name == TOOL_NAME:
                return str(call.function.arguments or "")
    return str(getattr(message, "content", None) or "")
