"""Tests of ``service/cli/webhooks.py``: ``claims webhooks secret`` prints a secret the service starts with."""

from __future__ import annotations

from typer.testing import CliRunner

from service.cli.main import app
from service.jobs.webhook_secret import secret_problem


def test_webhooks_secret_prints_a_new_whsec_secret_alone_on_stdout() -> None:
    """Stdout is the secret and nothing else (``export CLAIMS_WEBHOOK_SECRET=$(claims webhooks secret)``)."""
    runner = CliRunner()

    first, second = runner.invoke(app, ["webhooks", "secret"]), runner.invoke(app, ["webhooks", "secret"])

    assert (first.exit_code, second.exit_code) == (0, 0)
    secret = first.stdout.removesuffix("\n")
    assert "\n" not in secret
    assert secret.startswith("whsec_")
    assert secret_problem(secret) is None
    assert second.stdout != first.stdout
    assert "CLAIMS_WEBHOOK_SECRET" in first.stderr
