"""Tests of ``service/observability/tracing.py``: the span tree of a two-chunk extraction, exported in memory."""

from __future__ import annotations

from pathlib import Path

import pytest
import respx
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from service.api.app import create_app
from tests.conftest import OPENAI_URL, hosted_settings
from tests.providers import openai_error, scripted_openai_reply

EXPORTER = InMemorySpanExporter()
TWO_PARAGRAPHS = (
    "Wages rose 4% in town A last year, the regional statistics office said in its annual report on Monday, "
    "after a count of every employer in the district and a survey of two thousand households there.\n"
    "Rents rose 7% in town B last year, the regional statistics office said in its annual report on Monday, "
    "after a count of every landlord in the district and a survey of two thousand households there."
)


@pytest.fixture(scope="module", autouse=True)
def tracer_provider() -> None:
    """Install an SDK provider exporting to memory, once per process (OpenTelemetry allows one)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
        trace.set_tracer_provider(provider)


@pytest.fixture
def spans() -> InMemorySpanExporter:
    """The exporter, emptied before the test."""
    EXPORTER.clear()
    return EXPORTER


def children(of: ReadableSpan, among: list[ReadableSpan]) -> list[ReadableSpan]:
    """Return the spans whose parent is ``of``."""
    return [span for span in among if span.parent is not None and span.parent.span_id == of.context.span_id]


def descendants(of: ReadableSpan, among: list[ReadableSpan], name_prefix: str) -> list[ReadableSpan]:
    """Return the spans under ``of``, at any depth, whose name starts with ``name_prefix``."""
    found, frontier = [], [of]
    while frontier:
        below = [span for parent in frontier for span in children(parent, among)]
        found += [span for span in below if span.name.startswith(name_prefix)]
        frontier = below
    return found


def test_a_two_chunk_extraction_is_a_request_span_with_a_chunk_and_a_model_call_span_each(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None, spans: InMemorySpanExporter
) -> None:
    """The request's span → 2 chunk spans → 1 `chat gpt-4o-mini` CLIENT span each, with the GenAI attributes."""
    http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    settings = hosted_settings(tmp_path, chunk_tokens=60, context_sentences=0, fallbacks={})
    with TestClient(create_app(settings)) as client:
        result = client.post("/v1/extractions", json={"article": {"text": TWO_PARAGRAPHS}}).json()
    finished = list(spans.get_finished_spans())
    [request] = [span for span in finished if span.kind == SpanKind.SERVER and span.name == "POST /v1/extractions"]
    chunks = descendants(request, finished, "chunk ")  # FastAPI's endpoint span stands between
    calls = [call for chunk in chunks for call in children(chunk, finished)]
    assert result["usage"]["chunks"] == 2
    assert sorted(chunk.name for chunk in chunks) == ["chunk 1", "chunk 2"]
    assert [call.name for call in calls] == ["chat gpt-4o-mini"] * 2
    for call in calls:
        attributes = dict(call.attributes or {})
        assert call.kind == SpanKind.CLIENT
        assert attributes["gen_ai.operation.name"] == "chat"
        assert attributes["gen_ai.provider.name"] == "openai"
        assert attributes["gen_ai.request.model"] == "gpt-4o-mini"
        assert attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"  # as the provider answered
        assert attributes["gen_ai.usage.input_tokens"] > 0
        assert attributes["gen_ai.usage.output_tokens"] > 0
        assert tuple(attributes["gen_ai.response.finish_reasons"]) == ("stop",)
        assert "gen_ai.input.messages" not in attributes  # no content unless asked
    assert dict(request.attributes or {})["http.response.status_code"] == 200
    texts = [str(value) for span in finished for value in (span.attributes or {}).values()]
    assert not [text for text in texts if "Wages rose" in text or "Rents rose" in text]


def test_a_failing_model_call_span_carries_its_error_type(
    tmp_path: Path, http_mock: respx.MockRouter, provider_keys: None, spans: InMemorySpanExporter
) -> None:
    """A call the provider refuses is an ERROR span with `error.type`; the request span records the 503."""
    http_mock.post(OPENAI_URL).mock(return_value=openai_error(503, "overloaded", "server_error"))
    settings = hosted_settings(tmp_path, fallbacks={}, retry_attempts=1)
    with TestClient(create_app(settings)) as client:
        assert client.post("/v1/extractions", json={"article": {"text": "Prices rose 3%."}}).status_code == 503
    finished = list(spans.get_finished_spans())
    [call] = [span for span in finished if span.name == "chat gpt-4o-mini"]
    [request] = [span for span in finished if span.name == "POST /v1/extractions"]
    assert dict(call.attributes or {})["error.type"] == "UpstreamUnavailable"
    assert call.status.status_code == StatusCode.ERROR
    assert dict(request.attributes or {})["http.response.status_code"] == 503
