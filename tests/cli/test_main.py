"""The ``claims`` command: extract without a server, list and show prompts, serve's start-up checks."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli.main import app
from tests.conftest import DATA_DIR
from tests.damage import filled_job_store, scribble

SAMPLE = DATA_DIR / "article-trump-musk-x-stream.txt"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner with a private cache directory."""
    monkeypatch.setenv("CLAIMS_CACHE_DIR", str(tmp_path / "cache"))
    return CliRunner()


def test_extract_prints_json_claims(runner: CliRunner, sample_article: str) -> None:
    """``claims extract FILE`` prints the same JSON reply the API gives, with grounded claims."""
    result = runner.invoke(app, ["extract", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    reply = json.loads(result.stdout)
    assert len(reply["claims"]) >= 8
    for claim in reply["claims"]:
        assert sample_article[claim["source"]["start"] : claim["source"]["end"]] == claim["source"]["quote"]


def test_extract_reads_standard_input_as_a_table(runner: CliRunner) -> None:
    """``claims extract - --format table`` reads stdin and prints a table with usage."""
    result = runner.invoke(app, ["extract", "-", "--format", "table"], input="The audience reached 1,324,994 people.\n")
    assert result.exit_code == 0, result.output
    assert "1 claims from" in result.stdout
    assert "1,324,994" in result.stdout
    assert "model calls 1" in result.stdout


def test_table_prints_brackets_in_claims_as_written(runner: CliRunner) -> None:
    """Editorial brackets ("[the middle class]", even "[/i]") are article words, not console markup."""
    text = '"We cut taxes for [the middle class] by 20% [/i]," Smith said.\n'
    result = runner.invoke(app, ["extract", "-", "--format", "table"], input=text)
    assert result.exit_code == 0, result.output
    words = result.stdout.split()  # the table folds long cells over several rows
    assert {"[the", "middle", "class]", '[/i],"', "Smith"} <= set(words)


def test_extract_refuses_unknown_prompt_with_exit_2(runner: CliRunner) -> None:
    """An unknown prompt version is a usage error: exit 2 and a one-line message."""
    result = runner.invoke(app, ["extract", str(SAMPLE), "--prompt", "extract_claims@9"])
    assert result.exit_code == 2
    assert "Unknown prompt version" in result.stderr


def test_extract_refuses_a_missing_file(runner: CliRunner) -> None:
    """A file that does not exist is reported, not a traceback."""
    result = runner.invoke(app, ["extract", "no-such-file.txt"])
    assert result.exit_code == 2
    assert "cannot use no-such-file.txt" in result.stderr


def test_prompts_list_and_show(runner: CliRunner) -> None:
    """``claims prompts list`` lists v1 as released; ``show`` prints the file with its sha256."""
    listed = runner.invoke(app, ["prompts", "list"])
    assert listed.exit_code == 0
    assert listed.stdout.startswith("extract_claims@1")
    assert "released" in listed.stdout
    shown = runner.invoke(app, ["prompts", "show", "extract_claims@1"])
    assert shown.exit_code == 0
    assert shown.stdout.startswith("# extract_claims@1  sha256:")
    assert "name: extract_claims" in shown.stdout


def test_serve_refuses_a_broken_config(runner: CliRunner, tmp_path: Path) -> None:
    """``claims serve`` with an invalid config stops with a clear message before binding a port."""
    config = tmp_path / "claims.yaml"
    config.write_text("default_model: nowhere\n", encoding="utf-8")
    result = runner.invoke(app, ["serve", "--config", str(config)])
    assert result.exit_code == 1
    assert "default_model 'nowhere' is not in models" in result.stderr


@pytest.mark.parametrize("damaged", ["scribbled", "empty"])
def test_serve_refuses_a_damaged_job_store_with_one_line_and_no_traceback(tmp_path: Path, damaged: str) -> None:
    """A real ``claims serve`` on a scribbled or 0-byte jobs.db exits 1 with one line naming it; the file stays."""
    data_dir = tmp_path / "data"
    database = filled_job_store(data_dir)
    if damaged == "scribbled":
        scribble(database)
    else:
        database.write_bytes(b"")
    environment = {**os.environ, "CLAIMS_DATA_DIR": str(data_dir), "CLAIMS_CACHE_DIR": str(tmp_path / "cache")}
    served = subprocess.run(
        [sys.executable, "-m", "service", "serve", "--port", "1"],  # refused before it would bind anything
        capture_output=True, text=True, env=environment, timeout=60,
    )  # fmt: skip
    assert served.returncode == 1
    assert served.stderr.count("\n") == 1
    assert served.stderr.startswith(f"error: Invalid configuration: the job store {database} is damaged (")
    assert f"move it aside (mv {database} {database}.damaged)" in served.stderr
    assert "Traceback" not in served.stderr
    assert database.exists()


def test_python_dash_m_service_is_the_same_command() -> None:
    """``python -m service --help`` shows the claims commands."""
    result = subprocess.run([sys.executable, "-m", "service", "--help"], capture_output=True, text=True, check=True)
    assert "extract" in result.stdout
    assert "serve" in result.stdout
    assert "prompts" in result.stdout


def test_cli_import_does_not_load_litellm() -> None:
    """Importing the CLI (what ``claims --help`` does) leaves litellm unloaded, so help is instant."""
    code = "import sys, service.cli.main; print('litellm' in sys.modules, 'fastapi' in sys.modules)"
    result = subprocess.run(  # noqa: S603 -- our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


def test_a_cached_extract_on_the_offline_model_never_imports_litellm(tmp_path: Path, sample_article: str) -> None:
    """``claims extract`` answered from the cache loads neither litellm nor FastAPI (what made it take 6 s)."""
    article = tmp_path / "article.txt"
    article.write_text(sample_article, encoding="utf-8")
    code = (
        "import sys; from service.cli.main import app\n"
        f"sys.argv = ['claims', 'extract', {str(article)!r}]\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "print('MODULES', 'litellm' in sys.modules, 'fastapi' in sys.modules, file=sys.stderr)\n"
    )
    environment = {**os.environ, "CLAIMS_CACHE_DIR": str(tmp_path / "cache")}
    runs = [
        subprocess.run(  # noqa: S603 -- our own interpreter
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=environment
        )
        for _ in range(2)
    ]
    assert json.loads(runs[1].stdout)["usage"]["cache_hits"] == json.loads(runs[1].stdout)["usage"]["chunks"]
    assert "MODULES True False" in runs[0].stderr  # the first run calls the offline model through litellm
    assert "MODULES False False" in runs[1].stderr


def test_serve_refuses_a_network_address_without_keys(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    """`claims serve --host 0.0.0.0` with no API keys exits 2 naming both ways out; loopback is served openly."""
    served: list[str] = []
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: served.append(kwargs["host"]))  # never bind in a test
    refused = runner.invoke(app, ["serve", "--host", "0.0.0.0"])  # noqa: S104 -- the address refused
    loopback = runner.invoke(app, ["serve", "--host", "127.0.0.1"])
    monkeypatch.setenv("CLAIMS_ALLOW_ANONYMOUS", "true")
    allowed = runner.invoke(app, ["serve", "--host", "0.0.0.0"])  # noqa: S104
    assert refused.exit_code == 2
    assert "api_keys" in refused.output
    assert "allow_anonymous" in refused.output
    assert (loopback.exit_code, allowed.exit_code) == (0, 0)
    assert "anyone who reaches it may use it" in allowed.output
    assert served == ["127.0.0.1", "0.0.0.0"]  # noqa: S104


def test_keys_new_prints_a_key_once_and_the_hash_that_admits_it(runner: CliRunner) -> None:
    """`claims keys new` prints a fresh key and the api_keys entry holding only its sha256."""
    from service.api.auth import key_hash
    from service.settings import ApiKey

    result = runner.invoke(app, ["keys", "new", "desk", "--scopes", "extract,read", "--rpm", "60"])
    key = result.output.split("): ", 1)[1].split()[0]
    entry = ApiKey.model_validate(json.loads(result.output.strip().splitlines()[-1].strip()[2:]))
    assert result.exit_code == 0
    assert key.startswith("ce_")
    assert len(key) > 40
    assert (entry.name, entry.scopes, entry.rpm, entry.hash) == ("desk", ["extract", "read"], 60, key_hash(key))
    assert result.output.count(key) == 1


def test_serve_starts_with_the_webhook_secret_the_example_documents(tmp_path: Path) -> None:
    """``webhook_secret: os.environ/CLAIMS_WEBHOOK_SECRET`` with that variable exported: ``claims serve`` starts."""
    from benchmarks.processes import start_service, wait_ready
    from service.jobs.webhook_secret import new_secret

    config = {"webhook_secret": "os.environ/CLAIMS_WEBHOOK_SECRET", "webhook_allowed_hosts": ["127.0.0.1"]}
    config |= {"cache_dir": str(tmp_path / "cache"), "data_dir": str(tmp_path / "data")}
    service = start_service("hooked", config, tmp_path, env={"CLAIMS_WEBHOOK_SECRET": new_secret()})
    try:
        asyncio.run(wait_ready(service, timeout_s=60))
    finally:
        service.stop()
    assert "Application startup complete" in service.log_path.read_text(encoding="utf-8")


UNSET_REFERENCES_YAML = """\
models:
  - model_name: default
    litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/OPENAI_API_KEY}
webhook_secret: os.environ/HOOK_SECRET
redis_url: redis://127.0.0.1:9/0
"""
UNSET_REFERENCES_ERROR = (
    "error: Invalid configuration: models[default].litellm_params.api_key reads os.environ/OPENAI_API_KEY, "
    "webhook_secret reads os.environ/HOOK_SECRET, which are not set or empty; export them (or VAR_FILE naming a file "
    "that holds its value) before starting\n"
)


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_refuse_an_unset_reference_in_one_line(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """An ``os.environ/VAR`` naming an unset variable stops ``serve`` and ``worker`` at once: one line, exit 1."""
    started: list[str] = []
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: started.append("serve"))  # never bind in a test
    monkeypatch.setattr("service.jobs.worker.run_worker", lambda settings: started.append("worker"))
    config = tmp_path / "claims.yaml"
    config.write_text(UNSET_REFERENCES_YAML, encoding="utf-8")

    result = runner.invoke(app, [command, "--config", str(config)])

    assert (result.exit_code, result.stderr, result.stdout) == (1, UNSET_REFERENCES_ERROR, "")
    assert started == []


def test_serve_refuses_a_webhook_secret_that_is_not_whsec(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A passphrase where a ``whsec_`` secret belongs stops ``serve`` in one line naming the variable, not the value."""
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: pytest.fail("served with an unusable secret"))
    monkeypatch.setenv("CLAIMS_WEBHOOK_SECRET", "correct horse battery staple")

    result = runner.invoke(app, ["serve"])

    assert result.exit_code == 1
    assert result.stderr == (
        "error: Invalid configuration: webhook_secret (CLAIMS_WEBHOOK_SECRET) is not a whsec_ secret: it is not "
        "base64 (after an optional whsec_); claims webhooks secret makes one\n"
    )
