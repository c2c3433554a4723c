"""How the Redis jobs backend's hashes read as the API's jobs, results and webhook deliveries."""

from __future__ import annotations

import json
from collections.abc import Mapping

from redis.asyncio import Redis

from schemas import ExtractionResult
from schemas.jobs import ArticleError, Job, JobBatch, JobCounts, JobResult, JobUsage, RejectedLine, WebhookDelivery
from service.steps.cpu import off_the_loop
from service.stores.jobs.job_store import ERRORS_SHOWN, moment
from service.stores.jobs.redis_job_scripts import delivery_key, job_key

DELIVERIES_SHOWN = 50
Fields = Mapping[bytes, bytes]


def text(fields: Fields, name: str) -> str | None:
    """Return a hash field as text, or None when it is missing or empty."""
    value = fields.get(name.encode())
    return value.decode() if value else None


def number(fields: Fields, name: str) -> float | None:
    """Return a hash field as a number, or None when it is missing or empty."""
    value = text(fields, name)
    return float(value) if value is not None else None


def count(fields: Fields, name: str) -> int:
    """Return a hash field as a whole number, zero when missing."""
    return int(fields.get(name.encode(), b"0"))


async def job_view(redis: Redis, job_id: str) -> Job | None:
    """Assemble a job from its hash, its failed articles' errors and its webhook deliveries; None when gone."""
    fields: Fields = await redis.hgetall(job_key(job_id))
    if not fields:
        return None
    failed = await redis.zrange(job_key(job_id, "failed"), 0, ERRORS_SHOWN - 1)
    errors = await redis.hmget(job_key(job_id, "errors"), failed) if failed else []
    delivery_ids = await redis.lrange(job_key(job_id, "deliveries"), -DELIVERIES_SHOWN, -1)
    batch = _batch(await redis.hgetall(job_key(job_id, "batch")))
    return Job(
        id=job_id,
        state=text(fields, "state") or "queued",
        created_at=moment(number(fields, "created_at")),
        started_at=moment(number(fields, "started_at")),
        finished_at=moment(number(fields, "finished_at")),
        expires_at=moment(number(fields, "expires_at")),
        counts=JobCounts(
            total=count(fields, "total"),
            queued=count(fields, "queued"),
            running=count(fields, "running"),
            succeeded=count(fields, "succeeded"),
            failed=count(fields, "failed"),
            cancelled=count(fields, "cancelled"),
            claims=count(fields, "claims"),
        ),
        usage=_usage(fields),
        errors=[ArticleError.model_validate_json(error) for error in errors if error],
        rejected=[RejectedLine.model_validate(line) for line in json.loads(text(fields, "rejected") or "[]")],
        callback_url=text(fields, "callback_url"),
        callback_per_article=text(fields, "callback_per_article") == "1",
        mode="batch" if batch is not None else "realtime",
        batch=batch,
        submitted_by=text(fields, "key_name"),
        webhooks=[view for view in [await _delivery(redis, d.decode()) for d in delivery_ids] if view is not None],
        links={"self": f"/v1/jobs/{job_id}", "results": f"/v1/jobs/{job_id}/results"},
    )


def _batch(fields: Fields) -> JobBatch | None:
    """Read a batch-mode job's batch hash as the job shows it (None: a realtime job)."""
    if not fields:
        return None
    shown = {
        "state": text(fields, "state"), "model": text(fields, "model"),
        "provider_batch_id": text(fields, "provider_batch_id"), "requests": count(fields, "requests"),
        "answered": count(fields, "answered"), "detail": text(fields, "detail"),
        "repairs": text(fields, "repairs") or "batch", "follow_ups": count(fields, "follow_ups"),
        "earlier_batch_ids": (text(fields, "earlier_batch_ids") or "").split(),
    }  # fmt: skip
    return JobBatch.model_validate(shown)


def _usage(fields: Fields) -> JobUsage:
    """Read what a job's articles cost; an unknown cost anywhere makes the total unknown."""
    return JobUsage(
        model_calls=count(fields, "model_calls"),
        cache_hits=count(fields, "cache_hits"),
        prompt_tokens=count(fields, "prompt_tokens"),
        completion_tokens=count(fields, "completion_tokens"),
        cost_usd=None if text(fields, "cost_unknown") == "1" else round(number(fields, "cost_usd") or 0.0, 8),
    )


async def _delivery(redis: Redis, delivery_id: str) -> WebhookDelivery | None:
    """Read one webhook delivery, attempts included; None when it expired."""
    fields: Fields = await redis.hgetall(delivery_key(delivery_id))
    if not fields:
        return None
    recorded = json.loads(text(fields, "attempts") or "[]")
    attempts = [{"at": moment(a["at"]), "status_code": a["status_code"], "error": a["error"]} for a in recorded]
    return WebhookDelivery(id=delivery_id, event=text(fields, "event"), state=text(fields, "state"), attempts=attempts)


async def result_sizes(redis: Redis, job_id: str, indexes: list[int]) -> list[int]:
    """Return the stored length of each finished article's result and error at ``indexes``, in that order."""
    if not indexes:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for index in indexes:
            pipe.hstrlen(job_key(job_id, "results"), str(index))
            pipe.hstrlen(job_key(job_id, "errors"), str(index))
        lengths = await pipe.execute()
    return [lengths[n] + lengths[n + 1] for n in range(0, len(lengths), 2)]


async def results_at(redis: Redis, job_id: str, indexes: list[int]) -> list[JobResult]:
    """Read the results of a job's articles at ``indexes`` (finished ones), in that order."""
    if not indexes:
        return []
    states = await redis.hmget(job_key(job_id, "states"), indexes)
    ids = await redis.hmget(job_key(job_id, "ids"), indexes)
    results = await redis.hmget(job_key(job_id, "results"), indexes)
    errors = await redis.hmget(job_key(job_id, "errors"), indexes)

    def parsed() -> list[JobResult]:
        return [
            JobResult(
                index=index,
                article_id=(article_id or b"-").decode(),
                state=(state or b"cancelled").decode(),
                result=ExtractionResult.model_validate_json(result) if result else None,
                error=ArticleError.model_validate_json(error) if error else None,
            )
            for index, state, article_id, result, error in zip(indexes, states, ids, results, errors, strict=True)
        ]

    stored = sum(len(result or b"") + len(error or b"") for result, error in zip(results, errors, strict=True))
    return await off_the_loop(parsed, size=stored)  # a page of many results parses for a while
