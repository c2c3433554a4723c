"""Tests of ``service/jobs/webhook_secret.py``: new secrets in the Standard Webhooks format, bad ones refused."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from service.errors import ConfigError
from service.jobs.webhook_secret import check_webhook_secret, new_secret, secret_problem
from service.settings import Settings


def test_a_new_secret_is_whsec_and_32_random_bytes_in_base64() -> None:
    """``whsec_`` then standard base64 of 32 bytes; never the same twice; the package signs and verifies with it."""
    secret = new_secret()

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert secret_problem(secret) is None
    assert new_secret() != secret
    at = datetime.now(UTC)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(at.timestamp()))}
    headers["webhook-signature"] = Webhook(secret).sign("msg_1", at, '{"a": 1}')
    assert Webhook(secret).verify('{"a": 1}', headers) == {"a": 1}


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("correct horse battery staple", "it is not base64 (after an optional whsec_)"),
        ("whsec_" + base64.urlsafe_b64encode(b"\xfb" * 32).decode(), "it is not base64 (after an optional whsec_)"),
        ("whsec_hunter2!", "it is not base64 (after an optional whsec_)"),
        ("whsec_" + base64.b64encode(bytes(16)).decode(), "it holds 16 bytes, where Standard Webhooks asks 24 to 64"),
        ("whsec_", "it holds 0 bytes, where Standard Webhooks asks 24 to 64"),
        ("whsec_" + base64.b64encode(bytes(65)).decode(), "it holds 65 bytes, where Standard Webhooks asks 24 to 64"),
    ],
    ids=["passphrase", "url-safe-alphabet", "not-base64", "16-bytes", "empty", "65-bytes"],
)
def test_a_secret_the_receiver_could_not_share_is_named(secret: str, problem: str) -> None:
    """A passphrase, a URL-safe or short key: the package would sign with a key no receiver expects."""
    assert secret_problem(secret) == problem


def test_a_bare_base64_secret_without_the_prefix_still_serves() -> None:
    """A secret made before ``whsec_`` was asked for (bare base64 of 32 bytes) is what the package reads: accepted."""
    assert secret_problem(base64.b64encode(bytes(32)).decode()) is None


def test_unpadded_base64_is_accepted_as_the_package_reads_it() -> None:
    """``whsec_`` with its ``=`` padding dropped is the same key to ``standardwebhooks``, so it is accepted."""
    assert secret_problem("whsec_" + base64.b64encode(bytes(32)).decode().rstrip("=")) is None


def test_the_check_names_the_variable_and_never_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unusable secret at start-up: a config error naming its variable and what is wrong, not its value."""
    monkeypatch.setenv("HOOK_SECRET", "whsec_hunter2!")
    settings = Settings(webhook_secret="os.environ/HOOK_SECRET")  # noqa: S106 -- a reference, not a secret

    with pytest.raises(ConfigError) as refused:
        check_webhook_secret(settings)

    assert str(refused.value) == (
        "webhook_secret (HOOK_SECRET) is not a whsec_ secret: it is not base64 (after an optional whsec_); "
        "claims webhooks secret makes one"
    )
    monkeypatch.setenv("HOOK_SECRET", new_secret())
    check_webhook_secret(settings)
    check_webhook_secret(Settings())
