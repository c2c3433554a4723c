"""OpenTelemetry traces, optional: a span per chunk and a span per model call, under FastAPI's request span.

FastAPI itself opens a SERVER span per request (continuing the caller's ``traceparent``) with the HTTP
attributes; the chunk spans open inside it. The OpenTelemetry API ships with FastAPI, so the spans are
always made; they go nowhere (no-ops) unless an
SDK is configured. ``claims serve`` and ``claims worker`` configure one when ``OTEL_EXPORTER_OTLP_ENDPOINT``
is set and the ``otel`` extra is installed (``pip install 'claim-extractor[otel]'``): spans are exported over
OTLP/HTTP, with the standard ``OTEL_*`` variables (service name, headers, sampling) honoured.

Model call spans follow the GenAI semantic conventions: ``chat <model>``, kind CLIENT, with
``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.request.model``, ``gen_ai.response.model``,
``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``, ``gen_ai.response.finish_reasons`` and, on
failure, ``error.type``. The article's words and the prompts never go into a span, unless
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`` asks for the messages.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

logger = logging.getLogger("claims.tracing")
TRACER_NAME = "claim-extractor"
CAPTURE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"


def tracer() -> trace.Tracer:
    """Return the service's tracer (a no-op until an SDK provider is set)."""
    return trace.get_tracer(TRACER_NAME)


def configure_tracing(service_name: str = "claim-extractor") -> bool:
    """Export spans over OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set; say whether tracing is on."""
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return False
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        logger.warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but the otel extra is not installed: no traces "
            "(pip install 'claim-extractor[otel]')"
        )
        return False
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    logger.info("traces exported over OTLP to %s", os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"])
    return True


@contextmanager
def chunk_span(index: int, sentences: int) -> Iterator[Span]:
    """Open the span of one chunk's extraction."""
    attributes = {"claims.chunk.index": index, "claims.chunk.sentences": sentences}
    with tracer().start_as_current_span(
        f"chunk {index}", attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as span:
        yield span


def provider_of(model: str) -> tuple[str, str]:
    """Split litellm's ``provider/model`` into the GenAI provider name and the model name."""
    provider, _, name = model.partition("/")
    return (provider, name) if name else ("openai", provider)


@contextmanager
def model_call_span(model: str, alias: str, messages: Sequence[Mapping[str, str]]) -> Iterator[Span]:
    """Open the span of one model call, with the GenAI request attributes (the messages only when asked)."""
    provider, name = provider_of(model)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": name,
        "claims.model_alias": alias,
    }
    if os.environ.get(CAPTURE_CONTENT, "").lower() == "true":
        attributes["gen_ai.input.messages"] = json.dumps(list(messages), ensure_ascii=False)
    with tracer().start_as_current_span(
        f"chat {name}",
        kind=SpanKind.CLIENT,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        yield span


def record_reply(
    span: Span, response_model: str | None, input_tokens: int, output_tokens: int, finish: str | None
) -> None:
    """Put a model reply's GenAI attributes on its span."""
    span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
    span.set_attribute("gen_ai.usage.output_tokens", output_tokens)
    if response_model:
        span.set_attribute("gen_ai.response.model", response_model)
    if finish:
        span.set_attribute("gen_ai.response.finish_reasons", [finish])


def record_error(span: Span, error: BaseException) -> None:
    """Mark a span failed with the error's type (never its message: it may quote the article)."""
    span.set_attribute("error.type", type(error).__name__)
    span.set_status(Status(StatusCode.ERROR, type(error).__name__))
