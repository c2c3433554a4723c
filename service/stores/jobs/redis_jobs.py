"""The jobs backend at scale: the job store in Redis hashes, the work queue on saq, shared by every process.

Why saq: it is asyncio-native (our pipeline is), keeps each queued item durable in Redis, and finds the work
of a dead worker by itself (a heartbeat every ``job_lease_s / 3``; a sweep re-queues an item whose heartbeat
stopped). arq is in maintenance only; rq and dramatiq run synchronous functions in forked processes; taskiq
would do, with more moving parts than we need.

How it fits the jobs API: each article submitted puts one *ticket* on the saq queue. A worker that takes a
ticket is handed an article by one Lua script (``TAKE_TURN``): the next one of the job served least recently,
so a small job behind a 10,000-article batch waits for one free worker, not for the batch. The ticket keeps
the article it was given, so when its worker dies and saq re-queues the ticket, whoever takes it runs that
same article again. Results are exactly once: an outcome is recorded only by the worker the article is
handed to (``FINISH`` checks), and every step that changes counts is one script.

A Redis that restarted empty has lost its jobs. Each process notices (``claims:epoch`` is gone or new), logs
it, and a job id made before the restart is answered 410 ``job-lost`` instead of 404; workers carry on
with new jobs. A Redis that cannot be reached is a 503 ``store-unavailable`` on the jobs routes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from saq.job import Job as Ticket
from saq.job import Status
from saq.queue.redis import RedisQueue

from schemas.jobs import ArticleError, Job, JobResult
from service.errors import ClaimServiceError, StoreUnavailable
from service.stores import redis_guard
from service.stores.jobs import redis_job_scripts as keys
from service.stores.jobs.batch_store import BatchRecord
from service.stores.jobs.job_store import (
    RESULTS_PAGE_BYTES,
    ArticleOutcome,
    Delivery,
    IdempotencyConflict,
    NewJob,
    Order,
    WorkItem,
    job_id_time,
    wall_clock,
    webhook_payload,
    within_budget,
)
from service.stores.jobs.redis_batches import BATCHES, RedisBatches, new_batch_fields
from service.stores.jobs.redis_job_view import job_view, result_sizes, results_at, text
from service.stores.redis_connection import JOBS_TIMEOUT_S, open_redis, redacted

logger = logging.getLogger("claims.jobs")
logging.getLogger("saq").setLevel(logging.WARNING)  # a line per ticket at INFO; our own logs say what matters
QUEUE_NAME = "claims-articles"
CLAIM_WAIT_S = 1.0  # a claim waits this long for a ticket before the worker looks round (and can stop)
CLAIM_TRIES = 20  # tickets with nothing left to run are skipped, this many in one claim at most
MAX_ATTEMPTS = 5  # an article whose worker died this many times fails instead of killing a sixth
INLINE_RESULTS = 100  # a job.completed webhook carries the results themselves up to this many articles
TICKET_BATCH = 500
TOP_UP_AFTER_S = 30.0  # a job whose tickets were not all queued this long after its creation gets them again
IDEMPOTENCY_CLAIM_S = 60  # an Idempotency-Key claimed by a create that died before storing its job frees up
DELIVERY_TTL_EXTRA_S = 86_400.0


reached = redis_guard.reached("the job store")


@dataclass(frozen=True, slots=True)
class Held:
    """An article this process runs, the saq ticket that handed it out, and the process's owner name."""

    item: WorkItem
    ticket: Ticket
    process: str


class RedisJobs:
    """The ``JobStore`` and ``WorkQueue`` on Redis (``redis_url``), shared by API replicas and workers."""

    claim_waits = True

    def __init__(self, redis_url: str, *, lease_s: float, retention_s: float) -> None:
        self.where = redacted(redis_url)
        self._redis = open_redis(redis_url, timeout_s=JOBS_TIMEOUT_S)  # claims block CLAIM_WAIT_S at most
        self._queue = RedisQueue(self._redis, name=QUEUE_NAME)
        self._lease_s = lease_s
        self._heartbeat_s = max(1, round(lease_s))
        self._retention_s = retention_s
        self._take_turn = self._redis.register_script(keys.TAKE_TURN)
        self._holds = self._redis.register_script(keys.HOLDS)
        self._finish = self._redis.register_script(keys.FINISH)
        self._cancel = self._redis.register_script(keys.CANCEL)
        self._release = self._redis.register_script(keys.RELEASE)
        self._due = self._redis.register_script(keys.DUE_DELIVERIES)
        self._record_delivery = self._redis.register_script(keys.RECORD_DELIVERY)
        self._postpone_delivery = self._redis.register_script(keys.POSTPONE_DELIVERY)
        self._batches = RedisBatches(self._redis)
        self._held: dict[str, Held] = {}
        self._epoch: float | None = None

    # --- the epoch: has Redis restarted empty? --------------------------------------------------------

    async def _check_epoch(self) -> float:
        """Return when this Redis's jobs began; log when it restarted empty since this process last looked."""
        await self._redis.set(keys.EPOCH, repr(wall_clock()), nx=True)
        current = float(await self._redis.get(keys.EPOCH) or 0.0)
        if self._epoch is not None and current != self._epoch:
            logger.error(
                "the Redis holding the jobs (%s) restarted empty: jobs submitted before %s are lost (GET answers "
                "410 job-lost for them); new jobs run as usual",
                self.where, _iso(current),
            )  # fmt: skip
        self._epoch = current
        return current

    @reached
    async def lost_reason(self, job_id: str) -> str | None:
        """Say why a job that is not found was lost: it was submitted before Redis restarted empty."""
        made = job_id_time(job_id)
        epoch = await self._check_epoch()
        if made is None or made >= int(epoch * 1000) / 1000:  # ids keep milliseconds: compare at that grain
            return None
        return (
            f"no job {job_id!r} here, and its id was made at {_iso(made)}, before the Redis holding the jobs "
            f"restarted empty (at about {_iso(epoch)}): a job submitted then is lost with its results; submit it again"
        )

    # --- the job store ---------------------------------------------------------------------------------

    @reached
    async def create(self, job: NewJob) -> tuple[Job, bool]:
        """Store a new job and queue a ticket per article, or return the job made before under its key."""
        await self._check_epoch()
        if job.idempotency_key is not None:
            earlier = await self._by_key(job)
            if earlier is not None:
                return earlier, False
        await self._store(job)
        if job.batch_model is None:  # a batch-mode job's tickets are queued once its batch is back
            await self._queue_tickets(job.id, range(len(job.articles)))
            await self._ticketed(job.id, len(job.articles))
        created = await job_view(self._redis, job.id)
        assert created is not None  # noqa: S101 -- stored above, expires only once finished
        return created, True

    async def _by_key(self, job: NewJob) -> Job | None:
        """Claim ``job``'s Idempotency-Key for it, or return the job that holds it (409 with another body)."""
        assert job.idempotency_key is not None  # noqa: S101 -- the caller checked
        key = keys.idempotency_key(job.idempotency_key)
        for _ in range(50):
            if await self._redis.set(key, job.id, nx=True, ex=IDEMPOTENCY_CLAIM_S):  # made permanent when stored
                return None
            holder = (await self._redis.get(key) or b"").decode()
            fields = await self._redis.hmget(keys.job_key(holder), ["body_sha256"]) if holder else [None]
            if fields[0] is not None:
                if fields[0].decode() != job.body_sha256:
                    raise IdempotencyConflict(job.idempotency_key)
                return await job_view(self._redis, holder)
            await asyncio.sleep(0.05)  # its holder is storing the job this moment
        raise StoreUnavailable(f"the job holding Idempotency-Key {job.idempotency_key} was never stored")

    async def _store(self, job: NewJob) -> None:
        """Write the job, its requests and its waiting articles in one transaction."""
        total = len(job.articles)
        meta = {
            "created_at": repr(wall_clock()), "state": "queued", "body_sha256": job.body_sha256,
            "idempotency_key": job.idempotency_key or "", "callback_url": job.callback_url or "",
            "callback_per_article": "1" if job.callback_per_article else "0", "rejected": job.rejected_json,
            "total": total, "queued": total, "running": 0, "succeeded": 0, "failed": 0, "cancelled": 0, "claims": 0,
            "model_calls": 0, "cache_hits": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0,
            "cost_unknown": 0, "seq": 0, "ticketed": 0, "key_name": job.key_name or "",
        }  # fmt: skip
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.job_key(job.id), mapping=meta)
            for start in range(0, total, TICKET_BATCH):
                batch = job.articles[start : start + TICKET_BATCH]
                pipe.hset(keys.job_key(job.id, "requests"), mapping={a.index: a.request_json for a in batch})
                pipe.hset(keys.job_key(job.id, "ids"), mapping={a.index: a.article_id for a in batch})
                pipe.hset(keys.job_key(job.id, "states"), mapping=dict.fromkeys((a.index for a in batch), "queued"))
                pipe.rpush(keys.job_key(job.id, "pending"), *(a.index for a in batch))
            pipe.zadd(keys.FAIR, {job.id: 0})
            pipe.zadd(keys.JOBS, {job.id: wall_clock()})
            if job.key_name is not None:
                pipe.zadd(keys.jobs_of(job.key_name), {job.id: wall_clock()})
            if job.batch_model is None:
                pipe.zadd(keys.UNTICKETED, {job.id: wall_clock()})  # until every ticket is queued (a crash may stop it)
            else:
                pipe.hset(keys.job_key(job.id, "batch"), mapping=new_batch_fields(job.batch_model, job.batch_repairs))
                pipe.zadd(BATCHES, {job.id: 0})
            if job.idempotency_key is not None:
                pipe.persist(keys.idempotency_key(job.idempotency_key))  # the job exists: the key holds until it ends
            await pipe.execute()

    async def _ticketed(self, job_id: str, total: int) -> None:
        """Note that every ticket of the job is queued."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.job_key(job_id), "ticketed", str(total))
            pipe.zrem(keys.UNTICKETED, job_id)
            await pipe.execute()

    async def _queue_tickets(self, job_id: str, numbers: range) -> None:
        """Put a ticket per article on the saq queue (a ticket already queued under its key is left alone)."""
        for start in range(numbers.start, numbers.stop, TICKET_BATCH):
            batch = range(start, min(start + TICKET_BATCH, numbers.stop))
            await asyncio.gather(*(self._queue.enqueue(self._ticket(job_id, n)) for n in batch))

    def _ticket(self, job_id: str, number: int) -> Ticket:
        """Return ticket ``number`` of a job: no timeout (an article takes what it takes), a heartbeat, retried."""
        return Ticket(
            function="claims.article", key=f"{job_id}:{number}", timeout=0, heartbeat=self._heartbeat_s,
            retries=1_000_000, ttl=600,
        )  # fmt: skip

    @reached
    async def get(self, job_id: str) -> Job | None:
        """Return a job as the API shows it, or None."""
        return await job_view(self._redis, job_id)

    @reached
    async def recent(self, limit: int, before: str | None, key_name: str | None = None) -> list[Job]:
        """Return jobs newest first (only ``key_name``'s when given), those created before job ``before``."""
        listing = keys.JOBS if key_name is None else keys.jobs_of(key_name)  # a key's own listing: no scan of all
        start = 0
        if before is not None:
            rank = await self._redis.zrevrank(listing, before)
            if rank is None:
                return []
            start = rank + 1
        found: list[Job] = []
        while len(found) < limit:
            ids = await self._redis.zrevrange(listing, start, start + limit - 1)
            if not ids:
                break
            start += len(ids)
            for job_id in ids:
                job = await job_view(self._redis, job_id.decode())
                if job is not None:
                    found.append(job)
                elif key_name is not None:  # expired with its retention: leaves its key's listing now
                    await self._redis.zrem(listing, job_id)
        return found[:limit]

    @reached
    async def cancel(self, job_id: str) -> Job | None:
        """Cancel a job's unfinished articles (their workers lose them at their next heartbeat); return the job."""
        now = wall_clock()
        delivery = _delivery_id()
        args: list[str | float] = [job_id, repr(now), self._retention_s, delivery, self._delivery_ttl()]
        if not await self._cancel(keys=[], args=args):
            return None
        await self._batches.due_now(job_id)  # its provider batch, if out, is cancelled by the batch loop
        return await job_view(self._redis, job_id)

    @reached
    async def results(
        self, job_id: str, order: Order, offset: int, limit: int, budget_bytes: int = RESULTS_PAGE_BYTES
    ) -> list[JobResult]:
        """Return a page of finished articles' results, in submission or completion order.

        In submission order ``offset`` is the first article's index and the page stops before the first
        article not finished yet; in completion order it counts finished articles. ``limit`` results at
        most, and no more than ``budget_bytes`` of stored JSON once the first is in (lengths asked first).
        """
        if order == "submission":
            by_index = keys.job_key(job_id, "by_index")
            found = [int(index) for index in await self._redis.zrangebyscore(by_index, offset, offset + limit - 1)]
            indexes = [index for n, index in enumerate(found) if index == offset + n]
        else:
            by_completion = keys.job_key(job_id, "by_completion")
            indexes = [int(index) for index in await self._redis.zrange(by_completion, offset, offset + limit - 1)]
        sizes = await result_sizes(self._redis, job_id, indexes)
        return await results_at(self._redis, job_id, within_budget(zip(indexes, sizes, strict=True), budget_bytes))

    @reached
    async def purge(self) -> int:
        """Drop the listing's entries of jobs Redis has expired (their retention ran out); return how many."""
        old = await self._redis.zrangebyscore(keys.JOBS, "-inf", wall_clock() - self._retention_s)
        if not old:
            return 0
        async with self._redis.pipeline(transaction=False) as pipe:
            for job_id in old:
                pipe.exists(keys.job_key(job_id.decode()))
            alive = await pipe.execute()
        gone = [job_id for job_id, exists in zip(old, alive, strict=True) if not exists]
        if gone:
            await self._redis.zrem(keys.JOBS, *gone)
        return len(gone)

    # --- the work queue --------------------------------------------------------------------------------

    @reached
    async def claim(self, owner: str) -> WorkItem | None:
        """Wait up to a second for a ticket, and take the article it hands out (the fairest one), or None."""
        for _ in range(CLAIM_TRIES):
            ticket = await self._queue.dequeue(timeout=CLAIM_WAIT_S)
            if ticket is None:
                return None
            ticket.started = int(wall_clock() * 1000)
            ticket.attempts += 1
            ticket.worker_id = owner
            await ticket.update(status=Status.ACTIVE)
            claimant = f"{owner}/{ticket.key}/{ticket.attempts}"  # this hand-out, not just this process
            taken = await self._take_turn(
                keys=[keys.TICKETS, keys.FAIR, keys.TURN], args=[ticket.key, claimant, repr(wall_clock())]
            )
            if not taken:
                await self._spend(ticket)  # its article finished, or was cancelled: nothing to run
                continue
            job_id, index, request, attempts = taken[0].decode(), int(taken[1]), taken[2].decode(), int(taken[3])
            item = WorkItem(
                job_id=job_id, index=index, request_json=request, owner=claimant, ticket=ticket.key,
                key_name=taken[4].decode() or None,
            )  # fmt: skip
            self._held[ticket.key] = Held(item, ticket, owner)
            if attempts <= MAX_ATTEMPTS:
                return item
            await self._give_up(item, attempts)
        return None

    async def _give_up(self, item: WorkItem, attempts: int) -> None:
        """Fail an article whose workers kept dying while they ran it (a seventh would die too)."""
        article_id = str(json.loads(item.request_json).get("article", {}).get("id") or "-")
        error = ClaimServiceError(
            f"the article was handed out {attempts} times and its worker stopped (killed or crashed) each time; "
            "it was not tried again"
        )
        problem = ArticleError(
            index=item.index, article_id=article_id, type=error.problem_type, title=error.title, status=error.status,
            detail=error.detail,
        )  # fmt: skip
        logger.error("job %s article %d: %s", item.job_id, item.index, error.detail)
        outcome = ArticleOutcome(
            succeeded=False, result_json=None, error=problem, claims=0, model_calls=0, cache_hits=0,
            prompt_tokens=0, completion_tokens=0, cost_usd=0.0,
        )  # fmt: skip
        await self.finish(item, outcome)

    async def _spend(self, ticket: Ticket) -> None:
        """Mark a ticket done, unless it was handed out again meanwhile (then it is another claim's to finish)."""
        current = await self._queue.job(ticket.key)
        if current is not None and current.attempts != ticket.attempts:
            return
        await ticket.finish(Status.COMPLETE)

    async def _forget(self, held: Held) -> None:
        """Drop a hand-out whose article is over: its ticket no longer points at it, and the ticket is spent."""
        self._held.pop(held.ticket.key, None)
        await self._redis.hdel(keys.TICKETS, held.ticket.key)
        await self._spend(held.ticket)

    @reached
    async def renew(self, item: WorkItem) -> bool:
        """Beat the ticket's heartbeat while the article is still ours; False when it is not (cancelled, taken)."""
        held = self._held.get(item.ticket or "")
        if held is None or held.item != item:
            return False
        holds = await self._holds(keys=[], args=[item.job_id, item.index, item.owner])
        if holds == 1:
            await held.ticket.update()  # the heartbeat: saq's sweep leaves a ticket alone while it beats
            return True
        if holds == 0:  # the article is over (its job was cancelled)
            await self._forget(held)
        else:  # another hand-out runs it now, with this ticket
            self._held.pop(held.ticket.key, None)
        return False

    @reached
    async def finish(self, item: WorkItem, outcome: ArticleOutcome) -> bool:
        """Record the outcome once, if ``item`` still holds the article; complete the job after its last one."""
        stored = (
            (outcome.result_json or "")
            if outcome.succeeded
            else (outcome.error.model_dump_json() if outcome.error else "")
        )
        args: list[str | float] = [
            item.job_id, item.index, item.owner, "succeeded" if outcome.succeeded else "failed", stored,
            outcome.claims, outcome.model_calls, outcome.cache_hits, outcome.prompt_tokens, outcome.completion_tokens,
            repr(outcome.cost_usd or 0.0), "1" if outcome.cost_usd is None else "0", repr(wall_clock()),
            self._retention_s, item.ticket or "", _delivery_id(), _delivery_id(), self._delivery_ttl(),
            outcome.article_id or "",
        ]  # fmt: skip
        recorded = int(await self._finish(keys=[], args=args))
        held = self._held.get(item.ticket or "")
        if held is not None and held.item == item:
            if recorded == 0:  # no longer running (cancelled): drop the ticket's pointer to it too
                await self._forget(held)
            elif recorded > 0:
                self._held.pop(held.ticket.key, None)
                await self._spend(held.ticket)
            else:  # -1: another hand-out runs the article now, with this ticket: it is that one's to finish
                self._held.pop(held.ticket.key, None)
        return recorded > 0

    @reached
    async def release(self, owner: str) -> int:
        """Hand back what ``owner`` runs: each article queued again, its ticket re-queued for another worker."""
        handed_back = 0
        for key, held in list(self._held.items()):
            if held.process != owner:
                continue
            self._held.pop(key, None)
            if await self._release(keys=[], args=[held.item.job_id, held.item.index, held.item.owner]):
                await held.ticket.retry("handed back by a worker shutting down")
                handed_back += 1
        return handed_back

    @reached
    async def depth(self) -> dict[str, int]:
        """Return the tickets queued and running on saq (an article each, and spent ones until taken)."""
        return {"queued": await self._queue.count("queued"), "running": await self._queue.count("active")}

    @reached
    async def recover(self) -> None:
        """Notice a Redis that restarted empty; re-queue the tickets of dead workers; queue any a crash left out."""
        await self._check_epoch()
        await self._queue.sweep(lock=max(1, round(self._lease_s / 3)), abort=0.05)
        for job_id in await self._redis.zrangebyscore(keys.UNTICKETED, "-inf", wall_clock() - TOP_UP_AFTER_S):
            await self._top_up(job_id.decode())

    async def _top_up(self, job_id: str) -> None:
        """Queue the tickets of a job whose creator stopped (died, lost Redis) before queueing them all.

        Queueing every ticket again is safe: one still queued is left alone, and one more than the articles
        left finds nothing to run and is done at once.
        """
        total = await self._redis.hget(keys.job_key(job_id), "total")
        if total is None:  # the job is gone
            await self._redis.zrem(keys.UNTICKETED, job_id)
            return
        logger.warning("job %s: queueing the tickets its creator did not", job_id)
        await self._queue_tickets(job_id, range(int(total)))
        await self._ticketed(job_id, int(total))

    # --- provider batches of batch-mode jobs ---------------------------------------------------------------

    @reached
    async def due_batch(self, owner: str, lease_s: float) -> BatchRecord | None:
        """Claim for ``lease_s`` a batch due now (to send, to poll, or to cancel with its job), or None."""
        return await self._batches.claim(owner, wall_clock(), lease_s)

    @reached
    async def renew_batch(self, record: BatchRecord, lease_s: float) -> bool:
        """Hold ``record.owner``'s batch ``lease_s`` longer (a step still at work); False if no longer held."""
        return await self._batches.renew(record, wall_clock() + lease_s)

    @reached
    async def save_batch(
        self,
        record: BatchRecord,
        next_in_s: float,
        *,
        answers: dict[str, str] | None = None,
        sent: list[str] | None = None,
    ) -> bool:
        """Record where a held batch is and give it up until ``next_in_s`` from now; False if no longer held.

        Its answers and the custom_ids sent are written first: the record saved after them is what says they
        count, and a step redone after a crash between the two writes them again.
        """
        if answers:
            await self._batches.store_answers(record.job_id, answers)
        if sent is not None:
            await self._batches.store_sent(record.job_id, sent)
        now = wall_clock()
        return await self._batches.save(record, now + next_in_s, now)

    @reached
    async def batch_answered(self, record: BatchRecord, answers: dict[str, str]) -> bool:
        """Store a held batch's answers, record its final state and queue its articles' tickets."""
        await self._batches.store_answers(record.job_id, answers)
        if not await self.save_batch(record, 0.0):
            return False
        total = int(await self._redis.hget(keys.job_key(record.job_id), "total") or 0)
        await self._queue_tickets(record.job_id, range(total))
        await self._ticketed(record.job_id, total)
        return True

    @reached
    async def batch_requests(self, job_id: str) -> list[str]:
        """Return the stored request JSON of a job's articles, in submission order."""
        stored = await self._redis.hgetall(keys.job_key(job_id, "requests"))
        return [stored[index].decode() for index in sorted(stored, key=int)]

    @reached
    async def batch_sent(self, job_id: str) -> set[str]:
        """Return the custom_ids sent in the job's batch now out (empty when none were recorded)."""
        return await self._batches.sent(job_id)

    @reached
    async def batch_answer(self, job_id: str, custom_id: str) -> str | None:
        """Return the provider's answer for one call of a job's batch, or None."""
        return await self._batches.answer(job_id, custom_id)

    @reached
    async def batch_of(self, job_id: str) -> BatchRecord | None:
        """Return a job's batch record (None: a realtime job)."""
        return await self._batches.of(job_id)

    # --- webhooks --------------------------------------------------------------------------------------

    def _delivery_ttl(self) -> int:
        """Return how long a delivery's record lives: the job's retention and a day."""
        return round(self._retention_s + DELIVERY_TTL_EXTRA_S)

    @reached
    async def due_deliveries(self, owner: str, limit: int, lease_s: float) -> list[Delivery]:
        """Lease the webhook deliveries due now to ``owner``; their bodies are built at the first attempt and kept."""
        now = wall_clock()
        due = await self._due(keys=[keys.DELIVERIES], args=[repr(now), repr(now + lease_s), limit, owner])
        deliveries = []
        for raw in due:
            delivery = await self._delivery(raw.decode())
            if delivery is None:
                await self._redis.zrem(keys.DELIVERIES, raw)
            else:
                deliveries.append(replace(delivery, owner=owner, lease_until=now + lease_s))
        return deliveries

    async def _delivery(self, delivery_id: str) -> Delivery | None:
        """Read a delivery and build its body if this is its first attempt; None when it or its job expired."""
        fields = await self._redis.hgetall(keys.delivery_key(delivery_id))
        job_id = text(fields, "job_id")
        if job_id is None:
            return None
        callback = await self._redis.hget(keys.job_key(job_id), "callback_url")
        if not callback:
            return None
        payload = text(fields, "payload")
        if payload is None:
            built = await self._payload(job_id, text(fields, "event") or "", int(text(fields, "index") or -1), fields)
            if built is None:
                return None
            await self._redis.hsetnx(keys.delivery_key(delivery_id), "payload", built)
            payload = (await self._redis.hget(keys.delivery_key(delivery_id), "payload") or b"").decode()
        return Delivery(
            id=delivery_id, job_id=job_id, event=text(fields, "event") or "", payload=payload,
            callback_url=callback.decode(), attempts=len(json.loads(text(fields, "attempts") or "[]")),
        )  # fmt: skip

    async def _payload(self, job_id: str, event: str, index: int, fields: Any) -> str | None:
        """Build a webhook body: the job and (up to 100) its results, or one article's result."""
        at = float(text(fields, "created_at") or wall_clock())
        if event == "article.completed":
            found = await results_at(self._redis, job_id, [index])
            return webhook_payload(event, {"job_id": job_id, **found[0].model_dump(mode="json")}, at)
        job = await job_view(self._redis, job_id)
        if job is None:
            return None
        job.webhooks = [hook for hook in job.webhooks if hook.event != "job.completed"]
        data: dict[str, Any] = {"job": job.model_dump(mode="json")}
        if job.counts.total <= INLINE_RESULTS:
            finished = await self._redis.zrange(keys.job_key(job_id, "by_index"), 0, -1)
            found = await results_at(self._redis, job_id, [int(n) for n in finished])
            data["results"] = [result.model_dump(mode="json") for result in found]
        return webhook_payload(event, data, at)

    @reached
    async def postpone(self, delivery: Delivery, wait_s: float) -> bool:
        """Give a claimed delivery back unsent, due again in ``wait_s``, if its claim still holds it."""
        args = [delivery.id, delivery.owner, repr(wall_clock() + wait_s)]
        return bool(await self._postpone_delivery(keys=[keys.DELIVERIES], args=args))

    async def delivered(
        self, delivery: Delivery, status: int | None, error: str | None, retry_in: float | None
    ) -> bool:
        """Record one attempt if its claim still holds the delivery: delivered (2xx), due again, or failed for good."""
        attempt = json.dumps({"at": wall_clock(), "status_code": status, "error": error})
        ok = status is not None and 200 <= status < 300
        state = "delivered" if ok else "pending" if retry_in is not None else "failed"
        due_at = wall_clock() + (retry_in or 0.0)
        args = [delivery.id, delivery.owner, attempt, state, repr(due_at)]
        return bool(await self._record_delivery(keys=[keys.DELIVERIES], args=args))

    async def health(self) -> str | None:
        """Return why the Redis holding the jobs cannot be used now (it does not answer a PING), or None."""
        try:
            await self._redis.ping()
        except (RedisError, OSError) as exc:
            return f"the job store on Redis {self.where} cannot be reached ({type(exc).__name__})"
        return None

    async def close(self) -> None:
        """Close the queue's and the store's connections (a Redis that cannot be reached has none to close)."""
        try:
            await self._queue.disconnect()
        except (RedisError, OSError):
            await self._redis.aclose()


def _delivery_id() -> str:
    """Return a new webhook delivery id (its ``webhook-id``)."""
    return f"msg_{secrets.token_hex(12)}"


def _iso(seconds: float) -> str:
    """Return a time as ISO 8601 in UTC, to the second."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
