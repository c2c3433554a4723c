"""The embedded jobs backend: the job store and its work queue in one SQLite file under ``data_dir``.

No server is needed, and nothing is lost when the process dies: a job and its requests are committed before
the 202 is sent, each result is committed as its article finishes, and an article whose worker died is
handed out again once its lease runs out. Several processes on one machine (``claims serve --workers N``)
share the file: every hand-out and every result is one ``BEGIN IMMEDIATE`` transaction. The queue is these
tables rather than a queue library because none that is maintained runs on SQLite under asyncio with
leases and fair turns across jobs; the Redis backend uses one.

Fairness: each hand-out goes to the job served least recently (a turn counter), so a small job submitted
behind a 10,000-article batch gets the next free worker, not the batch's ten-thousand-and-first.
All SQL runs on one thread per store (its own connection), off the event loop.

A damaged file is never used: at start-up ``sqlite_check.damage`` (empty, not SQLite, or failing
``PRAGMA quick_check``) refuses the store with a one-line ``ConfigError`` naming the file, and it is left
where it is: it holds clients' accepted jobs, which setting it aside would lose without anyone deciding
to. At run time any SQLite error is ``StoreUnavailable`` (a 503 naming the store); damage met then stops
the store (every call a 503, ``health`` and so ``/readyz`` failing) until the service is restarted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import takewhile
from pathlib import Path
from typing import Any, TypeVar

from schemas.jobs import Job, JobResult
from service.errors import ConfigError, StoreUnavailable
from service.stores.jobs.batch_store import BatchRecord
from service.stores.jobs.job_store import (
    RESULTS_PAGE_BYTES,
    ArticleOutcome,
    Delivery,
    IdempotencyConflict,
    NewJob,
    Order,
    WorkItem,
    wall_clock,
    webhook_payload,
    within_budget,
)
from service.stores.jobs.sqlite_batches import (
    add_batch_columns,
    claim_due_batch,
    insert_batch,
    job_batch,
    renew_held_batch,
    save_held_batch,
    sent_ids,
    store_answers,
    store_sent,
    stored_answer,
)
from service.stores.jobs.sqlite_check import create_whole, damage, described, is_damage, open_on_thread
from service.stores.jobs.sqlite_job_rows import (
    ALL_RESULTS,
    FINISH_ARTICLE,
    NEXT_ARTICLE,
    NEXT_JOB,
    ONE_RESULT,
    PAGE_IN_ORDER,
    PURGE,
    RESULTS_AT,
    SCHEMA,
    UNFINISHED,
    delivery_to_send,
    finish_arguments,
    job_result,
    job_view,
)

T = TypeVar("T")
logger = logging.getLogger("claims.jobs")
DATABASE = "jobs.db"
INLINE_RESULTS = 100  # a job.completed webhook carries the results themselves up to this many articles


class SqliteJobs:
    """The ``JobStore`` and ``WorkQueue`` of the embedded default."""

    def __init__(self, data_dir: Path, *, lease_s: float, retention_s: float) -> None:
        self._path = data_dir / DATABASE
        self._lease_s = lease_s
        self._retention_s = retention_s
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claims-jobs-db")
        self._connection: sqlite3.Connection | None = None
        self._damaged: str | None = None  # what damage a query met at run time; the store stays failing
        open_on_thread(self._thread, data_dir, self._connect, "the jobs database")

    # --- plumbing -----------------------------------------------------------------------------------

    def _connect(self) -> None:
        """Check the database on the store's thread (refusing a damaged one), open it and create its tables."""
        problem = damage(self._path)
        if problem is not None:
            aside = self._path.with_name(DATABASE + ".damaged")
            raise ConfigError(
                f"the job store {self._path} is damaged ({problem}); it holds the accepted jobs, so the service "
                f"will not start on it: move it aside (mv {self._path} {aside}) to start with an empty job store, "
                "and bring back what can still be read as docs/jobs.md says (A damaged job store)"
            )
        create_whole(self._path, SCHEMA)
        connection = sqlite3.connect(self._path, timeout=30, isolation_level=None, check_same_thread=False)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(SCHEMA)
        columns = {row["name"] for row in connection.execute("PRAGMA table_info(jobs)")}
        if "key_name" not in columns:  # a database made before API keys
            try:
                connection.execute("ALTER TABLE jobs ADD COLUMN key_name TEXT")
            except sqlite3.OperationalError as exc:  # another process starting on it added it first
                if "duplicate column" not in str(exc):
                    raise
        add_batch_columns(connection)
        self._connection = connection

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` with the connection on the store's thread; a SQLite failure is ``StoreUnavailable``.

        Once damage is met, nothing more is read or written (writing into a damaged file spreads the damage):
        every call is ``StoreUnavailable`` until the service is restarted, and the start-up check decides.
        """
        connection = self._connection
        assert connection is not None  # noqa: S101 -- opened in __init__
        if self._damaged is not None:
            raise StoreUnavailable(self._damaged)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, work, connection)
        except sqlite3.Error as exc:
            if is_damage(exc) and self._damaged is None:
                self._damaged = f"the job store {self._path} is damaged ({described(exc)}); restart to check it"
                logger.error("%s", self._damaged)
            raise StoreUnavailable(f"the job store {self._path} cannot be used ({described(exc)})") from exc

    async def health(self) -> str | None:
        """Return why the job store cannot be used (damage met earlier, or a query failing now), or None."""
        if self._damaged is not None:
            return self._damaged
        try:
            await self._run(lambda connection: connection.execute("SELECT id FROM jobs LIMIT 1").fetchall())
        except StoreUnavailable as exc:
            return self._damaged or exc.detail
        return None

    @staticmethod
    @contextmanager
    def _transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """Hold the write lock for one transaction (other processes wait, up to the busy timeout)."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    claim_waits = False

    async def depth(self) -> dict[str, int]:
        """Return how many articles are queued and running now."""

        def depth(connection: sqlite3.Connection) -> dict[str, int]:
            rows = connection.execute(
                "SELECT state, COUNT(*) FROM articles WHERE state IN ('queued', 'running') GROUP BY state"
            ).fetchall()
            return {"queued": 0, "running": 0} | {row[0]: int(row[1]) for row in rows}

        return await self._run(depth)

    async def recover(self) -> None:
        """Do nothing: ``claim`` hands out an article whose lease ran out like a waiting one."""

    async def lost_reason(self, job_id: str) -> str | None:
        """Return None: the database keeps every job until its retention runs out."""
        return None

    async def close(self) -> None:
        """Close the connection and the store's thread."""
        if self._connection is not None:
            self._thread.submit(self._connection.close).result()
            self._connection = None
        self._thread.shutdown(wait=True)

    # --- the job store -----------------------------------------------------------------------------

    async def create(self, job: NewJob) -> tuple[Job, bool]:
        """Store a new job and its articles in one transaction, or return the earlier one for its key."""

        def create(connection: sqlite3.Connection) -> tuple[Job, bool]:
            with self._transaction(connection):
                existing = self._by_key(connection, job)
                if existing is not None:
                    return existing, False
                connection.execute(
                    "INSERT INTO jobs (id, created_at, state, idempotency_key, body_sha256, callback_url, "
                    "callback_per_article, rejected, total, key_name) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)",
                    (job.id, wall_clock(), job.idempotency_key, job.body_sha256, job.callback_url,
                     int(job.callback_per_article), job.rejected_json, len(job.articles), job.key_name),
                )  # fmt: skip
                connection.executemany(
                    "INSERT INTO articles (job_id, idx, article_id, request, state) VALUES (?, ?, ?, ?, 'queued')",
                    ((job.id, a.index, a.article_id, a.request_json) for a in job.articles),
                )
                if job.batch_model is not None:
                    insert_batch(connection, job.id, job.batch_model, job.batch_repairs)
            return job_view(connection, job.id), True

        return await self._run(create)

    def _by_key(self, connection: sqlite3.Connection, job: NewJob) -> Job | None:
        """Return the job created before under ``job``'s Idempotency-Key; refuse the key with another body."""
        if job.idempotency_key is None:
            return None
        row = connection.execute(
            "SELECT id, body_sha256 FROM jobs WHERE idempotency_key = ?", (job.idempotency_key,)
        ).fetchone()
        if row is None:
            return None
        if row["body_sha256"] != job.body_sha256:
            raise IdempotencyConflict(job.idempotency_key)
        return job_view(connection, row["id"])

    async def get(self, job_id: str) -> Job | None:
        """Return a job as the API shows it, or None."""

        def get(connection: sqlite3.Connection) -> Job | None:
            exists = connection.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone()
            return job_view(connection, job_id) if exists else None

        return await self._run(get)

    async def recent(self, limit: int, before: str | None, key_name: str | None = None) -> list[Job]:
        """Return jobs newest first (only ``key_name``'s when given), those created before job ``before``."""

        def recent(connection: sqlite3.Connection) -> list[Job]:
            query = "SELECT id FROM jobs WHERE 1 = 1"
            arguments: tuple[Any, ...] = ()
            if key_name is not None:
                query += " AND key_name = ?"
                arguments = (key_name,)
            if before is not None:
                query += " AND (created_at, id) < (SELECT created_at, id FROM jobs WHERE id = ?)"
                arguments = (*arguments, before)
            rows = connection.execute(query + " ORDER BY created_at DESC, id DESC LIMIT ?", (*arguments, limit))
            return [job_view(connection, row["id"]) for row in rows.fetchall()]

        return await self._run(recent)

    async def cancel(self, job_id: str) -> Job | None:
        """Cancel a job's unfinished articles (their workers lose their leases); return the job."""

        def cancel(connection: sqlite3.Connection) -> Job | None:
            with self._transaction(connection):
                row = connection.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
                if row is None:
                    return None
                if row["state"] in ("queued", "running"):
                    self._cancel_articles(connection, job_id)
                    self._close_job(connection, job_id, "cancelled")
            return job_view(connection, job_id)

        return await self._run(cancel)

    async def results(
        self, job_id: str, order: Order, offset: int, limit: int, budget_bytes: int = RESULTS_PAGE_BYTES
    ) -> list[JobResult]:
        """Return a page of finished articles' results, in submission or completion order.

        In submission order ``offset`` is the first article's index and the page stops before the first
        article not finished yet; in completion order it counts finished articles. ``limit`` results at
        most, and no more than ``budget_bytes`` of stored JSON (UTF-8) once the first is in: sizes are
        read first, and only the admitted results' JSON.
        """
        query = PAGE_IN_ORDER[order]

        def results(connection: sqlite3.Connection) -> list[JobResult]:
            rows = connection.execute(query, {"job": job_id, "offset": offset, "limit": limit})
            finished = takewhile(lambda row: bool(row["finished"]), rows)  # submission order: by index from offset
            admitted = within_budget(((row["idx"], row["bytes"]) for row in finished), budget_bytes)
            found = {row["idx"]: row for row in connection.execute(RESULTS_AT, (job_id, json.dumps(admitted)))}
            return [job_result(found[index]) for index in admitted]

        return await self._run(results)

    async def purge(self) -> int:
        """Delete the finished jobs whose retention has run out, with their articles and deliveries."""

        def purge(connection: sqlite3.Connection) -> int:
            with self._transaction(connection):
                rows = connection.execute("SELECT id FROM jobs WHERE expires_at < ?", (wall_clock(),)).fetchall()
                expired = [(row["id"],) for row in rows]
                for statement in PURGE:
                    connection.executemany(statement, expired)
            return len(expired)

        return await self._run(purge)

    # --- the work queue ----------------------------------------------------------------------------

    async def claim(self, owner: str) -> WorkItem | None:
        """Hand the next waiting article (or one whose lease ran out) of the job served least recently."""

        def claim(connection: sqlite3.Connection) -> WorkItem | None:
            now = wall_clock()
            with self._transaction(connection):
                job = connection.execute(NEXT_JOB, (now,)).fetchone()
                if job is None:
                    return None
                article = connection.execute(NEXT_ARTICLE, (job["id"], now)).fetchone()
                connection.execute(
                    "UPDATE articles SET state = 'running', owner = ?, lease_until = ? WHERE job_id = ? AND idx = ?",
                    (owner, now + self._lease_s, job["id"], article["idx"]),
                )
                connection.execute(
                    "UPDATE jobs SET turn = (SELECT MAX(turn) FROM jobs) + 1, state = 'running', "
                    "started_at = COALESCE(started_at, ?) WHERE id = ?",
                    (now, job["id"]),
                )
            return WorkItem(
                job_id=job["id"], index=article["idx"], request_json=article["request"], owner=owner,
                key_name=job["key_name"],
            )  # fmt: skip

        return await self._run(claim)

    async def renew(self, item: WorkItem) -> bool:
        """Extend the lease on ``item``; False when it was lost (the job was cancelled, or another has it)."""

        def renew(connection: sqlite3.Connection) -> bool:
            cursor = connection.execute(
                "UPDATE articles SET lease_until = ? WHERE job_id = ? AND idx = ? AND owner = ? AND state = 'running'",
                (wall_clock() + self._lease_s, item.job_id, item.index, item.owner),
            )
            return cursor.rowcount == 1

        return await self._run(renew)

    async def finish(self, item: WorkItem, outcome: ArticleOutcome) -> bool:
        """Record the outcome once, if ``item`` still holds the article; complete the job after its last one."""

        def finish(connection: sqlite3.Connection) -> bool:
            with self._transaction(connection):
                cursor = connection.execute(FINISH_ARTICLE, finish_arguments(item, outcome))
                if cursor.rowcount != 1:
                    return False
                connection.execute("UPDATE jobs SET seq = seq + 1 WHERE id = ?", (item.job_id,))
                self._after_article(connection, item)
            return True

        return await self._run(finish)

    def _after_article(self, connection: sqlite3.Connection, item: WorkItem) -> None:
        """Queue the article's webhook when asked for, and complete the job when nothing is left to run."""
        job = connection.execute("SELECT callback_url, callback_per_article FROM jobs WHERE id = ?", (item.job_id,))
        row = job.fetchone()
        if row["callback_url"] and row["callback_per_article"]:
            article = connection.execute(ONE_RESULT, (item.job_id, item.index)).fetchone()
            data = {"job_id": item.job_id, **job_result(article).model_dump(mode="json")}
            self._queue_delivery(connection, item.job_id, "article.completed", data)
        left = connection.execute(
            "SELECT COUNT(*) FROM articles WHERE job_id = ? AND state IN ('queued', 'running')", (item.job_id,)
        ).fetchone()[0]
        if left == 0:
            self._complete(connection, item.job_id)

    def _complete(self, connection: sqlite3.Connection, job_id: str) -> None:
        """Close a job whose articles have all finished: succeeded, partial or failed."""
        counts = dict(
            connection.execute(
                "SELECT state, COUNT(*) FROM articles WHERE job_id = ? GROUP BY state", (job_id,)
            ).fetchall()
        )
        succeeded, failed = counts.get("succeeded", 0), counts.get("failed", 0)
        state = "failed" if failed and not succeeded else "partial" if failed else "succeeded"
        self._close_job(connection, job_id, state)

    def _close_job(self, connection: sqlite3.Connection, job_id: str, state: str) -> None:
        """Give a job its final state, start its retention clock, and queue its completion webhook."""
        now = wall_clock()
        connection.execute(
            "UPDATE jobs SET state = ?, finished_at = ?, expires_at = ? WHERE id = ?",
            (state, now, now + self._retention_s, job_id),
        )
        job = job_view(connection, job_id)
        if job.callback_url:
            payload: dict[str, Any] = {"job": job.model_dump(mode="json")}
            if job.counts.total <= INLINE_RESULTS:
                rows = connection.execute(ALL_RESULTS, (job_id,)).fetchall()
                payload["results"] = [job_result(row).model_dump(mode="json") for row in rows]
            self._queue_delivery(connection, job_id, "job.completed", payload)

    def _cancel_articles(self, connection: sqlite3.Connection, job_id: str) -> None:
        """Cancel a job's unfinished articles, numbering them in completion order."""
        rows = connection.execute(UNFINISHED, (job_id,))
        for (index,) in rows.fetchall():
            connection.execute("UPDATE jobs SET seq = seq + 1 WHERE id = ?", (job_id,))
            connection.execute(
                "UPDATE articles SET state = 'cancelled', owner = NULL, lease_until = NULL, "
                "finished_seq = (SELECT seq FROM jobs WHERE id = ?) WHERE job_id = ? AND idx = ?",
                (job_id, job_id, index),
            )

    def _queue_delivery(self, connection: sqlite3.Connection, job_id: str, event: str, data: dict[str, Any]) -> None:
        """Queue a webhook, due now; its id is the ``webhook-id`` of every attempt."""
        payload = webhook_payload(event, data, wall_clock())
        connection.execute(
            "INSERT INTO deliveries (id, job_id, event, payload, state, attempts, due_at) "
            "VALUES (?, ?, ?, ?, 'pending', '[]', ?)",
            (f"msg_{secrets.token_hex(12)}", job_id, event, payload, wall_clock()),
        )

    async def release(self, owner: str) -> int:
        """Hand back the articles ``owner`` holds, to be run by another worker at once."""

        def release(connection: sqlite3.Connection) -> int:
            cursor = connection.execute(
                "UPDATE articles SET state = 'queued', owner = NULL, lease_until = NULL "
                "WHERE owner = ? AND state = 'running'",
                (owner,),
            )
            return cursor.rowcount

        return await self._run(release)

    async def due_deliveries(self, owner: str, limit: int, lease_s: float) -> list[Delivery]:
        """Claim the webhook deliveries due now (pending, or leased by a worker that died)."""

        def due(connection: sqlite3.Connection) -> list[Delivery]:
            now = wall_clock()
            with self._transaction(connection):
                rows = connection.execute(
                    "UPDATE deliveries SET owner = ?, lease_until = ? WHERE id IN (SELECT id FROM deliveries WHERE "
                    "state = 'pending' AND due_at <= ? AND (lease_until IS NULL OR lease_until < ?) "
                    "ORDER BY due_at, rowid LIMIT ?) "
                    "RETURNING id, job_id, event, payload, attempts, owner, lease_until, "
                    "(SELECT callback_url FROM jobs WHERE jobs.id = deliveries.job_id) AS callback_url",
                    (owner, now + lease_s, now, now, limit),
                ).fetchall()
            return [delivery_to_send(row) for row in rows]

        return await self._run(due)

    async def postpone(self, delivery: Delivery, wait_s: float) -> bool:
        """Give a claimed delivery back unsent, due again in ``wait_s``, if its claim still holds it."""

        def give_back(connection: sqlite3.Connection) -> bool:
            with self._transaction(connection):
                cursor = connection.execute(
                    "UPDATE deliveries SET owner = NULL, lease_until = NULL, due_at = ? "
                    "WHERE id = ? AND owner = ? AND state = 'pending'",
                    (wall_clock() + wait_s, delivery.id, delivery.owner),
                )
            return cursor.rowcount == 1

        return await self._run(give_back)

    async def delivered(
        self, delivery: Delivery, status: int | None, error: str | None, retry_in: float | None
    ) -> bool:
        """Record one attempt, if its claim still holds the delivery: delivered (2xx), due again, or failed."""

        def record(connection: sqlite3.Connection) -> bool:
            with self._transaction(connection):
                row = connection.execute(
                    "SELECT attempts FROM deliveries WHERE id = ? AND owner = ?", (delivery.id, delivery.owner)
                ).fetchone()
                if row is None:  # the job was purged meanwhile, or another claim took the delivery
                    return False
                attempts = [*json.loads(row["attempts"]), {"at": wall_clock(), "status_code": status, "error": error}]
                ok = status is not None and 200 <= status < 300
                state = "delivered" if ok else "pending" if retry_in is not None else "failed"
                connection.execute(
                    "UPDATE deliveries SET state = ?, attempts = ?, due_at = ?, owner = NULL, lease_until = NULL "
                    "WHERE id = ?",
                    (state, json.dumps(attempts), wall_clock() + (retry_in or 0), delivery.id),
                )
            return True

        return await self._run(record)

    # --- the job as the API shows it ---------------------------------------------------------------

    # --- provider batches of batch-mode jobs ------------------------------------------------------------

    async def due_batch(self, owner: str, lease_s: float) -> BatchRecord | None:
        """Claim for ``lease_s`` a batch due now (to send, to poll, or to cancel with its job), or None."""

        def due(connection: sqlite3.Connection) -> BatchRecord | None:
            with self._transaction(connection):
                return claim_due_batch(connection, owner, wall_clock(), lease_s)

        return await self._run(due)

    async def renew_batch(self, record: BatchRecord, lease_s: float) -> bool:
        """Hold ``record.owner``'s batch ``lease_s`` longer (a step still at work); False if no longer held."""

        def renew(connection: sqlite3.Connection) -> bool:
            with self._transaction(connection):
                return renew_held_batch(connection, record, wall_clock() + lease_s)

        return await self._run(renew)

    async def save_batch(
        self,
        record: BatchRecord,
        next_in_s: float,
        *,
        answers: dict[str, str] | None = None,
        sent: list[str] | None = None,
    ) -> bool:
        """Record where a held batch is, with its answers or the custom_ids sent (one transaction); give it up."""

        def save(connection: sqlite3.Connection) -> bool:
            with self._transaction(connection):
                if not save_held_batch(connection, record, wall_clock() + next_in_s):
                    return False
                if answers:
                    store_answers(connection, record.job_id, answers)
                if sent is not None:
                    store_sent(connection, record.job_id, sent)
                return True

        return await self._run(save)

    async def batch_answered(self, record: BatchRecord, answers: dict[str, str]) -> bool:
        """Store a held batch's answers, record its final state and release the job's articles (one transaction)."""

        def answered(connection: sqlite3.Connection) -> bool:
            with self._transaction(connection):
                if not save_held_batch(connection, record, wall_clock()):
                    return False
                store_answers(connection, record.job_id, answers)
                return True

        return await self._run(answered)

    async def batch_requests(self, job_id: str) -> list[str]:
        """Return the stored request JSON of a job's articles, in submission order."""

        def requests(connection: sqlite3.Connection) -> list[str]:
            rows = connection.execute("SELECT request FROM articles WHERE job_id = ? ORDER BY idx", (job_id,))
            return [str(row["request"]) for row in rows.fetchall()]

        return await self._run(requests)

    async def batch_sent(self, job_id: str) -> set[str]:
        """Return the custom_ids sent in the job's batch now out (empty when none were recorded)."""
        return await self._run(lambda connection: sent_ids(connection, job_id))

    async def batch_answer(self, job_id: str, custom_id: str) -> str | None:
        """Return the provider's answer for one call of a job's batch, or None."""
        return await self._run(lambda connection: stored_answer(connection, job_id, custom_id))

    async def batch_of(self, job_id: str) -> BatchRecord | None:
        """Return a job's batch record (None: a realtime job)."""
        return await self._run(lambda connection: job_batch(connection, job_id))
