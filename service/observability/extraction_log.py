"""One log line per extraction, for operators: how it went and what it cost, never the article's words.

``claims.extractions`` logs at INFO, as ``key=value`` pairs a log pipeline can parse: the request id (the
same as the ``X-Request-ID`` header and the problem documents), or for a job's article the job id and the
article's index (a worker logs a line per article, and one per article that failed, with its problem);
the client's article id (JSON-quoted, so a hostile id cannot forge a line), status, claims, the model
asked for and the models that answered (``answered_by=alias:chunks,…``), the prompt, usage, cost and wall
time. With ``log_format: json`` the same facts are fields of the JSON line.
"""

from __future__ import annotations

import json
import logging

from schemas import ExtractionResult

logger = logging.getLogger("claims.extractions")

JobArticle = tuple[str, int] | None
"""A job's id and the article's index in it, when the extraction ran as part of a job."""


def _origin(request_id: str, job: JobArticle) -> dict[str, str | int]:
    """Return the fields that say where an extraction came from: a request, or a job's article."""
    return {"request_id": request_id} if job is None else {"job_id": job[0], "index": job[1]}


def _origin_text(request_id: str, job: JobArticle) -> str:
    """Return the origin as the line's ``key=value`` pairs."""
    return " ".join(f"{key}={value}" for key, value in _origin(request_id, job).items())


def log_extraction(result: ExtractionResult, seconds: float, *, request_id: str = "", job: JobArticle = None) -> None:
    """Log an extraction's outcome, usage and cost at INFO: a request's (its id) or a job's article's."""
    usage, prompt = result.usage, result.provenance.prompt
    fields = {  # as fields of their own in JSON lines (log_format: json); the article's words never
        "event": "extraction", **_origin(request_id, job), "article_id": result.article_id, "status": result.status,
        "claims": len(result.claims), "warnings": len(result.warnings), "chunk_errors": len(result.errors),
        "model": result.provenance.requested_model, "prompt": f"{prompt.name}@{prompt.version}",
        "chunks": usage.chunks, "model_calls": usage.model_calls, "cache_hits": usage.cache_hits,
        "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
        "cost_usd": usage.cost_usd, "ms": round(seconds * 1000, 1),
    }  # fmt: skip
    logger.info(
        "extraction %s article_id=%s status=%s claims=%d warnings=%d chunk_errors=%d model=%s "
        "answered_by=%s prompt=%s@%d chunks=%d model_calls=%d cache_hits=%d repairs=%d retries=%d fallbacks=%d "
        "prompt_tokens=%d completion_tokens=%d cost_usd=%s ms=%.1f",
        _origin_text(request_id, job),
        json.dumps(result.article_id),
        result.status,
        len(result.claims),
        len(result.warnings),
        len(result.errors),
        result.provenance.requested_model,
        ",".join(f"{model.alias}:{model.chunks}" for model in result.provenance.models) or "-",
        prompt.name,
        prompt.version,
        usage.chunks,
        usage.model_calls,
        usage.cache_hits,
        usage.repairs,
        usage.retries,
        usage.fallbacks,
        usage.prompt_tokens,
        usage.completion_tokens,
        "unknown" if usage.cost_usd is None else f"{usage.cost_usd:.6f}",
        seconds * 1000,
        extra=fields,
    )


def log_failed_article(job: tuple[str, int], article_id: str, problem_type: str, status: int, seconds: float) -> None:
    """Log a job's article that failed, with its problem type and status (its detail is on the job)."""
    fields = {"event": "extraction", **_origin("", job), "article_id": article_id, "status": "failed",
              "problem": problem_type, "problem_status": status, "ms": round(seconds * 1000, 1)}  # fmt: skip
    logger.info(
        "extraction %s article_id=%s status=failed problem=%s problem_status=%d ms=%.1f",
        _origin_text("", job), json.dumps(article_id), problem_type, status, seconds * 1000, extra=fields,
    )  # fmt: skip
