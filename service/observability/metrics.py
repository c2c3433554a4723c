"""Prometheus metrics (``prometheus-client``), served at ``GET /metrics``.

Names follow Prometheus' rules (``_total`` counters, base units: seconds, USD, tokens); model usage also
follows the OpenTelemetry GenAI conventions, mapped to Prometheus names (``gen_ai.client.token.usage`` is
``gen_ai_client_token_usage``, ``gen_ai.client.operation.duration`` is
``gen_ai_client_operation_duration_seconds``, with their attributes as labels). Labels are bounded: routes
are templates, models are configured aliases; never an article, a job or a key.

The counters live in the process (``claims serve --workers N`` has N sets; scale with one process per
container or pod and let Prometheus sum them).
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)  # OTel's advice
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
GEN_AI_LABELS = ("gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model")

HTTP_REQUESTS = Counter(
    "claims_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "claims_http_request_duration_seconds", "Time to answer an HTTP request, by route template and method.",
    ["route", "method"],
)  # fmt: skip
EXTRACTIONS = Counter("claims_extractions", "Extractions, by status: complete, partial or failed.", ["status"])
CHUNKS = Counter("claims_chunks", "Chunks extracted, by outcome: answered, cached or failed.", ["outcome"])
CACHE_LOOKUPS = Counter("claims_reply_cache_lookups", "Reply cache lookups, by result: hit or miss.", ["result"])
MODEL_CALLS = Counter(
    "claims_model_calls",
    "Model call events by alias, model and outcome: ok (a reply came back), retried (a transient failure, asked "
    "again), failed (no reply after the retries), repaired (a reply that did not validate, re-asked with the "
    "error), fell_back (the model could not answer a chunk; the next alias was asked), usage_unknown (a reply "
    "reported usage that cannot be true: negative, absurd; counted as 0 tokens and unknown cost, a provider fault).",
    ["alias", "model", "outcome"],
)
MODEL_TOKENS = Counter(
    "claims_model_tokens", "Tokens the models used, by alias and type: input or output.", ["alias", "type"]
)
MODEL_COST = Counter(
    "claims_model_cost_usd", "What the models cost, in USD, by alias (unpriced models add 0).", ["alias"]
)
TOKEN_USAGE = Histogram(
    "gen_ai_client_token_usage", "Tokens per model call (OpenTelemetry gen_ai.client.token.usage).",
    [*GEN_AI_LABELS, "gen_ai_token_type"], buckets=TOKEN_BUCKETS,
)  # fmt: skip
OPERATION_DURATION = Histogram(
    "gen_ai_client_operation_duration_seconds", "Time per model call (OpenTelemetry gen_ai.client.operation.duration).",
    [*GEN_AI_LABELS, "error_type"], buckets=DURATION_BUCKETS,
)  # fmt: skip
JOBS_SUBMITTED = Counter("claims_jobs_submitted", "Jobs created.")
JOB_ARTICLES = Counter("claims_job_articles", "Job articles finished by this process, by state.", ["state"])
JOB_ARTICLES_WAITING = Gauge("claims_job_articles_waiting", "Job articles queued or running, by state.", ["state"])
WEBHOOKS = Counter(
    "claims_webhook_deliveries", "Webhook attempts, by event and outcome: delivered, retrying or failed.",
    ["event", "outcome"],
)  # fmt: skip


def provider_and_model(model: str) -> tuple[str, str]:
    """Split litellm's ``provider/model`` string into the GenAI provider name and model name."""
    provider, _, name = model.partition("/")
    return (provider, name) if name else ("openai", provider)


def observe_call_duration(model: str, seconds: float, error_type: str = "") -> None:
    """Record how long one model call took, and the error it ended with (empty when it answered)."""
    provider, name = provider_and_model(model)
    OPERATION_DURATION.labels("chat", provider, name, error_type).observe(seconds)


def record_model_call(alias: str, model: str, input_tokens: int, output_tokens: int, cost_usd: float | None) -> None:
    """Count a model call that came back (``ok``): its tokens and cost."""
    provider, name = provider_and_model(model)
    MODEL_CALLS.labels(alias, model, "ok").inc()
    MODEL_TOKENS.labels(alias, "input").inc(input_tokens)
    MODEL_TOKENS.labels(alias, "output").inc(output_tokens)
    MODEL_COST.labels(alias).inc(cost_usd or 0.0)
    TOKEN_USAGE.labels("chat", provider, name, "input").observe(input_tokens)
    TOKEN_USAGE.labels("chat", provider, name, "output").observe(output_tokens)


def record_model_event(alias: str, model: str, outcome: str) -> None:
    """Count a ``retried``, ``failed``, ``repaired``, ``fell_back`` or ``usage_unknown`` event of a model."""
    MODEL_CALLS.labels(alias, model, outcome).inc()


def exposition() -> tuple[bytes, str]:
    """Return the metrics in Prometheus' text format, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
