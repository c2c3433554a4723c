"""The webhook signing secret: made by ``claims webhooks secret``, checked before the service starts.

Standard Webhooks serialises a symmetric secret as ``whsec_`` and the base64 of 24 to 64 random bytes (the
``standardwebhooks`` package takes the bare base64 too, so a secret made before without the prefix still
serves). The package decodes leniently (characters outside base64 are skipped), so a passphrase or a
URL-safe secret would sign with a key the receiver does not hold; the service refuses those at start-up.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from service.errors import ConfigError
from service.settings import SECRET_REFERENCE, Settings, read_secret_reference

PREFIX = "whsec_"
NEW_SECRET_BYTES = 32  # HMAC-SHA256's own output length (RFC 2104); the spec asks 24 to 64
MIN_BYTES, MAX_BYTES = 24, 64


def new_secret() -> str:
    """Return a new ``whsec_`` secret: 32 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(NEW_SECRET_BYTES)).decode("ascii")


def secret_problem(secret: str) -> str | None:
    """Say what makes ``secret`` unusable as a Standard Webhooks secret (never repeating it), or None."""
    body = secret.removeprefix(PREFIX)
    try:
        key = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except binascii.Error:
        return "it is not base64 (after an optional whsec_)"
    if not MIN_BYTES <= len(key) <= MAX_BYTES:
        return f"it holds {len(key)} bytes, where Standard Webhooks asks {MIN_BYTES} to {MAX_BYTES}"
    return None


def check_webhook_secret(settings: Settings) -> None:
    """Raise ``ConfigError`` when the configured webhook secret is set but unusable."""
    if settings.webhook_secret is None:
        return
    secret = read_secret_reference(settings.webhook_secret)
    problem = secret_problem(secret.strip()) if secret is not None else None
    if problem:
        variable = settings.webhook_secret.removeprefix(SECRET_REFERENCE)
        raise ConfigError(
            f"webhook_secret ({variable}) is not a whsec_ secret: {problem}; claims webhooks secret makes one"
        )
