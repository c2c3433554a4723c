"""Read a model's reply text as the reply schema, leniently where it is safe.

Safe leniency: a JSON object wrapped in a Markdown code fence, or followed or preceded by prose, is taken
as the first complete JSON object in the text. Anything else is rejected with an error message written
for the model, which the repair re-ask carries back to it.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from schemas import ModelReply
from service.errors import validation_summary

MAX_ERRORS_SHOWN = 5


class ReplyRejected(ValueError):
    """The reply is not JSON in the reply schema; the message says why, for the model to fix."""


def _first_json_object(content: str) -> Any:
    """Decode the first complete JSON object in ``content`` (code fences and prose around it ignored)."""
    decoder = json.JSONDecoder()
    position = content.find("{")
    while position >= 0:
        try:
            value, _ = decoder.raw_decode(content, position)
        except json.JSONDecodeError:
            position = content.find("{", position + 1)
            continue
        return value
    raise ReplyRejected("the reply contains no JSON object")


def parse_model_reply(content: str) -> ModelReply:
    """Return the reply as a ``ModelReply``, or raise ``ReplyRejected`` saying what is wrong."""
    try:
        return ModelReply.model_validate_json(content)
    except ValidationError:
        pass  # not clean JSON in the schema; try the lenient reading below
    value = _first_json_object(content)
    try:
        return ModelReply.model_validate(value)
    except ValidationError as exc:
        summary = validation_summary(exc.errors(), root="reply", limit=MAX_ERRORS_SHOWN)
        raise ReplyRejected(f"the JSON does not match the reply schema: {summary}") from exc
