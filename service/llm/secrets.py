"""Model secrets: resolved from the environment (or a ``*_FILE`` secret file) at call time, never shown.

Config holds references (``api_key: os.environ/OPENAI_API_KEY``), never values. At call time the
variable is read; when it is unset but ``OPENAI_API_KEY_FILE`` names a file (Docker and Kubernetes
secrets), the file's content is used. Cache keys and logs see only ``public_params``; every message about
a model passes through ``redact``.
"""

from __future__ import annotations

import re
from typing import Any

from service.errors import UpstreamAuthError
from service.settings import SECRET_REFERENCE, ModelEntry, is_secret_param, read_secret_reference

_KEY_SHAPED = re.compile(r"\b(?:sk|pk|key|sess)-[A-Za-z0-9_\-*]{6,}")
MIN_SECRET_LENGTH = 6


def public_params(entry: ModelEntry) -> dict[str, Any]:
    """Return the model's litellm params without any secret-bearing entry (for cache keys and logs)."""
    return {key: value for key, value in entry.litellm_params.items() if not is_secret_param(key)}


def resolve_secrets(entry: ModelEntry) -> dict[str, Any]:
    """Return litellm params with each ``os.environ/VAR`` reference replaced by its value."""
    resolved: dict[str, Any] = {}
    for key, value in entry.litellm_params.items():
        if isinstance(value, str) and value.startswith(SECRET_REFERENCE):
            variable = value.removeprefix(SECRET_REFERENCE)
            secret = read_secret_reference(value)
            if secret is None:
                raise UpstreamAuthError(
                    f"model {entry.model_name!r} needs environment variable {variable} (or {variable}_FILE), "
                    "which is not set",
                    model_alias=entry.model_name,
                )
            value = secret
        resolved[key] = value
    return resolved


def secret_values(entry: ModelEntry) -> list[str]:
    """Return the values of the model's secret references that are set (environment or file), for redaction."""
    values = []
    for value in entry.litellm_params.values():
        if isinstance(value, str) and value.startswith(SECRET_REFERENCE):
            secret = read_secret_reference(value)
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                values.append(secret)
    return values


def redact(text: str, entry: ModelEntry) -> str:
    """Remove the model's secret values, and anything shaped like an API key, from ``text``."""
    for secret in secret_values(entry):
        text = text.replace(secret, "[redacted]")
    return _KEY_SHAPED.sub("[redacted]", text)
