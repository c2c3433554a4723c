"""Tests of ``service/llm/batch_api.py``: which models can batch, batch prices, the input lines, the output."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from service.errors import UpstreamAuthError
from service.llm import batch_api
from service.settings import ModelEntry
from tests.conftest import hosted_settings
from tests.providers import openai_error


def entry(model: str, **params: object) -> ModelEntry:
    """Return an alias for ``model``."""
    return ModelEntry(model_name="m", litellm_params={"model": model, **params})


def test_only_openai_and_azure_models_can_batch() -> None:
    """OpenAI and Azure have a Batch API litellm drives whole; the offline model, Anthropic and Ollama do not."""
    assert batch_api.batch_provider(entry("openai/gpt-4o-mini")) == "openai"
    assert batch_api.batch_provider(entry("azure/my-deployment")) == "azure"
    assert batch_api.batch_provider(entry("offline/rules")) is None
    assert batch_api.batch_provider(entry("anthropic/claude-haiku-4-5")) is None
    assert batch_api.batch_provider(entry("ollama/llama3")) is None


def test_batch_prices_come_from_litellms_map_or_are_unknown() -> None:
    """gpt-4o-mini has batch prices (half its realtime ones); a model the map lacks has none."""
    assert batch_api.batch_prices(entry("openai/gpt-4o-mini")) == (7.5e-08, 3e-07)
    assert batch_api.batch_prices(entry("openai/no-such-model")) is None


def test_the_custom_id_is_the_question_asked() -> None:
    """The same alias, mode and messages give the same id; another mode or message another one."""
    messages = [{"role": "user", "content": "[S1] Prices rose 3%."}]
    same = batch_api.custom_id_for("gpt", "json_schema", messages)
    assert same == batch_api.custom_id_for("gpt", "json_schema", list(messages))
    assert same != batch_api.custom_id_for("gpt", "json_object", messages)
    assert same != batch_api.custom_id_for("gpt", "json_schema", [{"role": "user", "content": "[S1] Other."}])
    assert len(same) <= 64  # OpenAI's limit on a custom_id


def test_a_batch_line_is_the_realtime_call_without_connection_or_secret() -> None:
    """The body names the provider's model, keeps the model's own params and the prompt's, and no key or base."""
    model = entry("openai/gpt-4o-mini", api_key="os.environ/OPENAI_API_KEY", api_base="http://x/v1", temperature=0)
    line = batch_api.batch_line(model, "json_object", [{"role": "user", "content": "hi"}], {"max_tokens": 900})
    assert line == {
        "custom_id": batch_api.custom_id_for("m", "json_object", [{"role": "user", "content": "hi"}]),
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0,
            "max_tokens": 900,
            "response_format": {"type": "json_object", "schema": line["body"]["response_format"]["schema"]},
        },
    }


def test_answered_lines_keep_the_200s_and_leave_out_errors() -> None:
    """An output file's successful lines by custom_id; a non-200 response, an error or a broken line is left out."""
    ok = {"id": "chatcmpl-1", "choices": []}
    output = "\n".join(
        json.dumps(line)
        for line in [
            {
                "id": "r1",
                "custom_id": "c1",
                "response": {"status_code": 200, "request_id": "q1", "body": ok},
                "error": None,
            },
            {"id": "r2", "custom_id": "c2", "response": {"status_code": 400, "body": {"error": {}}}, "error": None},
            {"id": "r3", "custom_id": "c3", "response": None, "error": {"code": "batch_expired", "message": "…"}},
        ]
    )
    lines = (output + "\nnot json\n").splitlines()
    assert batch_api.answered_lines(lines) == {"c1": json.dumps(ok)}
    assert batch_api.answered_lines(line.encode() for line in lines) == {"c1": json.dumps(ok)}


async def test_a_refused_key_on_upload_is_the_services_upstream_auth_error(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """A 401 from /v1/files is translated like a chat call's: UpstreamAuthError naming the alias, no retry."""
    route = http_mock.post("https://api.openai.com/v1/files").mock(
        return_value=openai_error(
            401, "Incorrect API key provided: sk-test-****", "invalid_request_error", "invalid_api_key"
        )
    )
    gpt = hosted_settings(tmp_path).model_entry("gpt")
    assert gpt is not None
    with pytest.raises(UpstreamAuthError) as raised:
        await batch_api.upload_input(gpt, batch_api.input_jsonl([{"custom_id": "c1"}]))
    assert route.call_count == 1
    assert "'gpt'" in raised.value.detail
    assert isinstance(route.calls[0].request, httpx.Request)
    assert b'"custom_id": "c1"' in route.calls[0].request.content


async def test_an_unrecorded_batch_is_found_past_the_first_page_of_the_providers_list(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None
) -> None:
    """OpenAI lists batches newest first, 100 a page: one made before 150 others is found on the second page."""
    made = [f"batch_{n:04d}" for n in range(151)]  # batch_0000 is ours, over file-ours; the others came after

    def page(request: httpx.Request) -> httpx.Response:
        newest_first = list(reversed(made))
        after = request.url.params.get("after")
        start = newest_first.index(after) + 1 if after else 0
        shown = newest_first[start : start + int(request.url.params.get("limit", "20"))]
        data = [
            {"id": batch_id, "object": "batch", "endpoint": "/v1/chat/completions", "errors": None,
             "input_file_id": "file-ours" if batch_id == "batch_0000" else f"file-{batch_id}",
             "completion_window": "24h", "status": "in_progress", "created_at": 1765000000}
            for batch_id in shown
        ]  # fmt: skip
        more = start + len(shown) < len(newest_first)
        return httpx.Response(200, json={"object": "list", "data": data, "first_id": shown[0], "last_id": shown[-1],
                                         "has_more": more})  # fmt: skip

    route = http_mock.get(url__regex=r"^https://api\.openai\.com/v1/batches").mock(side_effect=page)
    gpt = hosted_settings(tmp_path).model_entry("gpt")
    assert gpt is not None
    assert await batch_api.submitted_batch(gpt, "file-ours") == "batch_0000"
    assert await batch_api.submitted_batch(gpt, "file-never-submitted") is None
    assert route.call_count == 4
    assert route.calls[1].request.url.params["after"] == "batch_0051"


def _output_lines(count: int) -> list[str]:
    """Return ``count`` batch output lines, each answered with a chat completion."""
    response = {"status_code": 200, "body": {"choices": []}}
    return [
        json.dumps({"id": f"r{n}", "custom_id": f"c{n}", "response": response, "pad": "x" * n}) for n in range(count)
    ]


async def test_an_openai_output_file_is_read_as_it_arrives_in_blocks_of_whole_lines(
    http_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streamed 256 bytes at a time: several blocks, each of whole lines, together every line once, in order."""
    lines = _output_lines(60)
    http_mock.get("https://api.openai.com/v1/files/file-out/content").mock(
        return_value=httpx.Response(200, content="\n".join(lines).encode() + b"\n")
    )
    monkeypatch.setattr(batch_api, "OUTPUT_CHUNK", 256)
    monkeypatch.setenv("CLAIMS_TEST_BATCH_KEY", "sk-test")
    gpt = entry("openai/gpt-4o-mini", api_key="os.environ/CLAIMS_TEST_BATCH_KEY")
    blocks = [block async for block in batch_api.file_lines(gpt, "file-out")]
    assert len(blocks) > 10  # streamed: not one block of the whole file
    assert [line.decode() for block in blocks for line in block if line] == lines
    answers: dict[str, str] = {}
    for block in blocks:
        answers.update(batch_api.answered_lines(block))
    assert sorted(answers, key=lambda custom_id: int(custom_id[1:])) == [f"c{n}" for n in range(60)]


async def test_an_azure_output_file_which_litellm_does_not_stream_is_read_once_line_by_line(
    http_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Azure's file content comes whole (litellm streams only OpenAI's): one block, every line, no final newline."""
    lines = _output_lines(5)
    route = http_mock.get(url__regex=r"^https://claims-test\.openai\.azure\.com/openai/files/file-out/content").mock(
        return_value=httpx.Response(200, content="\n".join(lines).encode())
    )
    monkeypatch.setenv("CLAIMS_TEST_BATCH_KEY", "az-test")
    azure = entry(
        "azure/my-deployment", api_key="os.environ/CLAIMS_TEST_BATCH_KEY", api_base="https://claims-test.openai.azure.com",
        api_version="2024-10-21",
    )  # fmt: skip
    blocks = [block async for block in batch_api.file_lines(azure, "file-out")]
    assert route.call_count == 1
    assert len(blocks) == 1
    assert [line if isinstance(line, str) else line.decode() for line in blocks[0]] == lines


COMPLETED_BATCH = {
    "id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions", "errors": None,
    "input_file_id": "file-in", "completion_window": "24h", "status": "completed", "output_file_id": "file-out",
    "error_file_id": None, "created_at": 1, "request_counts": {"total": 1, "completed": 1, "failed": 0},
    "metadata": None,
}  # fmt: skip


async def test_a_registered_callback_does_not_make_litellm_download_a_finished_batchs_output_again(
    http_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A litellm callback registered: polling a completed batch does not fetch its output file for litellm's log."""
    import asyncio

    from litellm.integrations.custom_logger import CustomLogger

    from service.llm.client import configure_litellm

    class Listener(CustomLogger):  # type: ignore[misc]
        """Hears litellm's successes (and so turns its success logging on)."""

    litellm = configure_litellm()
    for name in ("_async_success_callback", "success_callback", "_async_failure_callback", "failure_callback"):
        monkeypatch.setattr(litellm, name, [])  # litellm files the callback in these too: restored afterwards
    monkeypatch.setattr(litellm, "callbacks", [Listener()])
    http_mock.get("https://api.openai.com/v1/batches/batch_1").mock(
        return_value=httpx.Response(200, json=COMPLETED_BATCH)
    )
    content = http_mock.get("https://api.openai.com/v1/files/file-out/content").mock(
        return_value=httpx.Response(200, content=b"{}\n")
    )
    monkeypatch.setenv("CLAIMS_TEST_BATCH_KEY", "sk-test")
    gpt = entry("openai/gpt-4o-mini", api_key="os.environ/CLAIMS_TEST_BATCH_KEY")
    status = await batch_api.batch_status(gpt, "batch_1")
    await asyncio.sleep(0.5)  # litellm's logging runs on its background worker
    assert (status.status, status.output_file_id) == ("completed", "file-out")
    assert content.call_count == 0
