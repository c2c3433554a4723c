"""The SQL of the embedded jobs backend, and how its rows read as the API's jobs, results and deliveries."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from schemas import ExtractionResult
from schemas.jobs import ArticleError, Job, JobCounts, JobResult, JobUsage, RejectedLine, WebhookDelivery
from service.stores.jobs.job_store import ERRORS_SHOWN, ArticleOutcome, Delivery, WorkItem, moment
from service.stores.jobs.sqlite_batches import BATCH_SCHEMA, PURGE_BATCHES, job_batch

TERMINAL = ("succeeded", "failed", "cancelled")
DELIVERIES_SHOWN = 50

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, created_at REAL NOT NULL, started_at REAL, finished_at REAL, expires_at REAL,
    state TEXT NOT NULL, idempotency_key TEXT UNIQUE, body_sha256 TEXT NOT NULL, callback_url TEXT,
    callback_per_article INTEGER NOT NULL, rejected TEXT NOT NULL, total INTEGER NOT NULL,
    turn INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL DEFAULT 0, key_name TEXT
);
CREATE INDEX IF NOT EXISTS jobs_active ON jobs (state, turn);
CREATE TABLE IF NOT EXISTS articles (
    job_id TEXT NOT NULL, idx INTEGER NOT NULL, article_id TEXT NOT NULL, request TEXT NOT NULL,
    state TEXT NOT NULL, owner TEXT, lease_until REAL, finished_seq INTEGER, result TEXT, error TEXT,
    claims INTEGER NOT NULL DEFAULT 0, model_calls INTEGER NOT NULL DEFAULT 0,
    cache_hits INTEGER NOT NULL DEFAULT 0, prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL, cost_unknown INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, idx)
);
CREATE INDEX IF NOT EXISTS articles_waiting ON articles (job_id, state, idx);
CREATE INDEX IF NOT EXISTS articles_finished ON articles (job_id, finished_seq);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY, job_id TEXT NOT NULL, event TEXT NOT NULL, payload TEXT NOT NULL,
    state TEXT NOT NULL, attempts TEXT NOT NULL, due_at REAL NOT NULL, owner TEXT, lease_until REAL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, due_at);
"""
    + BATCH_SCHEMA
)

RESULT_COLUMNS = "SELECT idx, article_id, state, result, error FROM articles"
PAGE_IN_ORDER = {  # which articles a page may hold, with their stored bytes; their JSON is read once admitted
    "submission": "SELECT idx, state IN ('succeeded', 'failed', 'cancelled') AS finished, "
    "COALESCE(length(CAST(result AS BLOB)), 0) + COALESCE(length(CAST(error AS BLOB)), 0) AS bytes "
    "FROM articles WHERE job_id = :job AND idx >= :offset ORDER BY idx LIMIT :limit",
    "completion": "SELECT idx, 1 AS finished, "
    "COALESCE(length(CAST(result AS BLOB)), 0) + COALESCE(length(CAST(error AS BLOB)), 0) AS bytes "
    "FROM articles WHERE job_id = :job AND state IN ('succeeded', 'failed', 'cancelled') "
    "ORDER BY finished_seq LIMIT :limit OFFSET :offset",
}
RESULTS_AT = (
    "SELECT idx, article_id, state, result, error FROM articles "
    "WHERE job_id = ? AND idx IN (SELECT value FROM json_each(?))"
)
ONE_RESULT = RESULT_COLUMNS + " WHERE job_id = ? AND idx = ?"
ALL_RESULTS = RESULT_COLUMNS + " WHERE job_id = ? ORDER BY idx"
UNFINISHED = "SELECT idx FROM articles WHERE job_id = ? AND state IN ('queued', 'running') ORDER BY idx"
NEXT_JOB = (
    "SELECT id, key_name FROM jobs j WHERE state IN ('queued', 'running') AND EXISTS (SELECT 1 FROM articles a "
    "WHERE a.job_id = j.id AND (a.state = 'queued' OR (a.state = 'running' AND a.lease_until < ?1))) "
    "AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.job_id = j.id "  # a batch still out holds its job back
    "AND b.state IN ('pending', 'uploaded', 'submitted')) ORDER BY turn, created_at LIMIT 1"
)
NEXT_ARTICLE = (
    "SELECT idx, request FROM articles WHERE job_id = ?1 AND (state = 'queued' OR (state = 'running' "
    "AND lease_until < ?2)) ORDER BY idx LIMIT 1"
)
FINISH_ARTICLE = (
    "UPDATE articles SET state = :state, result = :result, error = :error, claims = :claims, "
    "model_calls = :calls, cache_hits = :hits, prompt_tokens = :prompt, completion_tokens = :completion, "
    "cost_usd = :cost, cost_unknown = :unknown, owner = NULL, lease_until = NULL, "
    "article_id = COALESCE(:article_id, article_id), "
    "finished_seq = (SELECT seq + 1 FROM jobs WHERE id = :job) "
    "WHERE job_id = :job AND idx = :idx AND owner = :owner AND state = 'running'"
)
PURGE = (
    *PURGE_BATCHES,
    "DELETE FROM articles WHERE job_id = ?",
    "DELETE FROM deliveries WHERE job_id = ?",
    "DELETE FROM jobs WHERE id = ?",
)


def job_view(connection: sqlite3.Connection, job_id: str) -> Job:
    """Assemble a job: its row, counts, usage, errors and webhook deliveries."""
    job = connection.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    totals = connection.execute(
        "SELECT state, COUNT(*) AS n, SUM(claims) AS claims, SUM(model_calls) AS calls, SUM(cache_hits) AS hits, "
        "SUM(prompt_tokens) AS prompt, SUM(completion_tokens) AS completion, SUM(cost_usd) AS cost, "
        "SUM(cost_unknown) AS unknown FROM articles WHERE job_id = ? GROUP BY state",
        (job_id,),
    ).fetchall()
    by_state = {row["state"]: row for row in totals}
    batch = job_batch(connection, job_id)
    errors = connection.execute(
        "SELECT error FROM articles WHERE job_id = ? AND state = 'failed' ORDER BY idx LIMIT ?",
        (job_id, ERRORS_SHOWN),
    ).fetchall()
    deliveries = connection.execute(
        "SELECT id, event, state, attempts FROM deliveries WHERE job_id = ? ORDER BY rowid DESC LIMIT ?",
        (job_id, DELIVERIES_SHOWN),
    ).fetchall()
    return Job(
        id=job["id"],
        state=job["state"],
        created_at=moment(job["created_at"]),
        started_at=moment(job["started_at"]),
        finished_at=moment(job["finished_at"]),
        expires_at=moment(job["expires_at"]),
        counts=_counts(job["total"], by_state),
        usage=_usage(totals),
        errors=[ArticleError.model_validate_json(row["error"]) for row in errors],
        rejected=[RejectedLine.model_validate(line) for line in json.loads(job["rejected"])],
        callback_url=job["callback_url"],
        callback_per_article=bool(job["callback_per_article"]),
        mode="batch" if batch is not None else "realtime",
        batch=None if batch is None else batch.view(),
        submitted_by=job["key_name"],
        webhooks=[_delivery(row) for row in reversed(deliveries)],
        links={"self": f"/v1/jobs/{job_id}", "results": f"/v1/jobs/{job_id}/results"},
    )


def finish_arguments(item: WorkItem, outcome: ArticleOutcome) -> dict[str, Any]:
    """Return the parameters of ``FINISH_ARTICLE`` for an outcome."""
    return {
        "state": "succeeded" if outcome.succeeded else "failed",
        "result": outcome.result_json,
        "error": outcome.error.model_dump_json() if outcome.error else None,
        "claims": outcome.claims,
        "calls": outcome.model_calls,
        "hits": outcome.cache_hits,
        "prompt": outcome.prompt_tokens,
        "completion": outcome.completion_tokens,
        "cost": outcome.cost_usd,
        "unknown": int(outcome.cost_usd is None),
        "job": item.job_id,
        "idx": item.index,
        "owner": item.owner,
        "article_id": outcome.article_id,
    }


def _counts(total: int, by_state: dict[str, sqlite3.Row]) -> JobCounts:
    """Count a job's articles by state, and the claims of those that succeeded."""
    count = {state: int(by_state[state]["n"]) if state in by_state else 0 for state in ("queued", "running", *TERMINAL)}
    claims = int(by_state["succeeded"]["claims"] or 0) if "succeeded" in by_state else 0
    return JobCounts(total=total, claims=claims, **count)


def _usage(totals: list[sqlite3.Row]) -> JobUsage:
    """Sum what a job's articles cost; an unknown cost anywhere makes the total unknown."""
    unknown = any(row["unknown"] for row in totals)
    return JobUsage(
        model_calls=sum(row["calls"] or 0 for row in totals),
        cache_hits=sum(row["hits"] or 0 for row in totals),
        prompt_tokens=sum(row["prompt"] or 0 for row in totals),
        completion_tokens=sum(row["completion"] or 0 for row in totals),
        cost_usd=None if unknown else round(sum(row["cost"] or 0.0 for row in totals), 8),
    )


def job_result(row: sqlite3.Row) -> JobResult:
    """Build one article's result from its row (the stored result is trusted JSON we wrote)."""
    return JobResult(
        index=row["idx"],
        article_id=row["article_id"],
        state=row["state"],
        result=ExtractionResult.model_validate_json(row["result"]) if row["result"] else None,
        error=ArticleError.model_validate_json(row["error"]) if row["error"] else None,
    )


def delivery_to_send(row: sqlite3.Row) -> Delivery:
    """Build a delivery to send from its claimed row (its owner and lease included)."""
    return Delivery(
        id=row["id"],
        job_id=row["job_id"],
        event=row["event"],
        payload=row["payload"],
        callback_url=row["callback_url"] or "",
        attempts=len(json.loads(row["attempts"])),
        owner=row["owner"],
        lease_until=row["lease_until"],
    )


def _delivery(row: sqlite3.Row) -> WebhookDelivery:
    """Build a webhook delivery's view, attempts included."""
    recorded = json.loads(row["attempts"])
    attempts = [{"at": moment(a["at"]), "status_code": a["status_code"], "error": a["error"]} for a in recorded]
    return WebhookDelivery(id=row["id"], event=row["event"], state=row["state"], attempts=attempts)
