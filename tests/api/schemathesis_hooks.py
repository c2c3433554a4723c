"""Schemathesis hooks for this service's own media types (loaded with ``SCHEMATHESIS_HOOKS``)."""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(context: Any, value: Any) -> bytes:
    """Write the documented records (an array) as NDJSON: one JSON line each."""
    del context
    records = value if isinstance(value, list) else [value]
    return "".join(json.dumps(record) + "\n" for record in records).encode("utf-8")
