"""Batch-mode jobs on Redis: a job's provider batch (``claims:job:<id>:batch``), its lease, and its answers.

A batch that is out sits in ``claims:batches`` by when it is due; claiming it (one script) sets its owner
and lease and moves it a lease ahead, so one worker owns a batch at a time. Saving it is the owner's only
(another script): a batch leaving ``pending``/``uploaded``/``submitted`` leaves the zset and its job joins
``claims:unticketed``, so its articles' tickets are queued (and, after a crash, by recovery's top-up).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from schemas.jobs import BatchState
from service.stores.jobs import redis_job_scripts as keys
from service.stores.jobs.batch_store import OUT, BatchRecord
from service.stores.jobs.redis_job_view import Fields, count, text

BATCHES = keys.PREFIX + "batches"
ANSWERS_A_WRITE = 500

# KEYS: batches. ARGV: now, owner, lease_s. Returns the job id claimed, or nil.
CLAIM_BATCH = """
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[3])
for _, job in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 20)) do
  local bk = 'claims:job:' .. job .. ':batch'
  if redis.call('EXISTS', bk) == 0 then
    redis.call('ZREM', KEYS[1], job)
  elseif tonumber(redis.call('HGET', bk, 'lease_until') or '0') < now then
    redis.call('HSET', bk, 'owner', ARGV[2], 'lease_until', now + lease)
    redis.call('ZADD', KEYS[1], now + lease, job)
    return job
  end
end
return nil
"""

# KEYS: batches. ARGV: job, owner, lease_until. Returns 1, or 0 when the owner no longer holds the batch.
RENEW_BATCH = """
local bk = 'claims:job:' .. ARGV[1] .. ':batch'
if redis.call('HGET', bk, 'owner') ~= ARGV[2] then return 0 end
redis.call('HSET', bk, 'lease_until', ARGV[3])
redis.call('ZADD', KEYS[1], 'XX', tonumber(ARGV[3]), ARGV[1])
return 1
"""

# KEYS: batches, unticketed. ARGV: job, owner, next_at, now, out ('1' while out), then field/value pairs.
# A batch still out whose job was cancelled meanwhile is due now (to cancel it), as on SQLite.
SAVE_BATCH = """
local bk = 'claims:job:' .. ARGV[1] .. ':batch'
if redis.call('HGET', bk, 'owner') ~= ARGV[2] then return 0 end
redis.call('HSET', bk, 'owner', '', 'lease_until', 0, unpack(ARGV, 6))
if ARGV[5] == '1' then
  local due = tonumber(ARGV[3])
  if redis.call('HGET', 'claims:job:' .. ARGV[1], 'state') == 'cancelled' then due = tonumber(ARGV[4]) end
  redis.call('ZADD', KEYS[1], due, ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('ZADD', KEYS[2], tonumber(ARGV[4]), ARGV[1])
end
return 1
"""


def new_batch_fields(model: str, repairs: str = "batch") -> dict[str, Any]:
    """Return the hash of a new batch-mode job's batch: pending."""
    return {
        "model": model, "state": "pending", "requests": 0, "answered": 0, "polls": 0, "owner": "", "lease_until": 0,
        "repairs": repairs, "follow_ups": 0,
    }  # fmt: skip


def record_of(job_id: str, fields: Fields, job_state: str | None = None) -> BatchRecord | None:
    """Read a batch hash as a record (None when there is none)."""
    if not fields:
        return None
    state: BatchState = text(fields, "state") or "pending"  # type: ignore[assignment]  # written from a BatchState
    return BatchRecord(
        job_id=job_id, model=text(fields, "model") or "", state=state, input_file_id=text(fields, "input_file_id"),
        provider_batch_id=text(fields, "provider_batch_id"), requests=count(fields, "requests"),
        answered=count(fields, "answered"), polls=count(fields, "polls"), detail=text(fields, "detail"),
        owner=text(fields, "owner") or "", job_cancelled=job_state == "cancelled",
        repairs="realtime" if text(fields, "repairs") == "realtime" else "batch",
        follow_ups=count(fields, "follow_ups"),
        earlier_batch_ids=tuple((text(fields, "earlier_batch_ids") or "").split()),
    )  # fmt: skip


def saved_fields(record: BatchRecord) -> list[str]:
    """Return a record's fields as the flat list SAVE_BATCH writes."""
    fields = {
        "state": record.state, "input_file_id": record.input_file_id or "",
        "provider_batch_id": record.provider_batch_id or "", "requests": record.requests,
        "answered": record.answered, "polls": record.polls, "detail": record.detail or "",
        "follow_ups": record.follow_ups, "earlier_batch_ids": " ".join(record.earlier_batch_ids),
    }  # fmt: skip
    return [str(part) for pair in fields.items() for part in pair]


class RedisBatches:
    """The ``BatchQueue`` part of the Redis backend."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._claim = redis.register_script(CLAIM_BATCH)
        self._save = redis.register_script(SAVE_BATCH)
        self._renew = redis.register_script(RENEW_BATCH)

    async def claim(self, owner: str, now: float, lease_s: float) -> BatchRecord | None:
        """Claim the batch due first for ``owner``, or None."""
        job = await self._claim(keys=[BATCHES], args=[repr(now), owner, repr(lease_s)])
        if job is None:
            return None
        job_id = job.decode() if isinstance(job, bytes) else str(job)
        state = await self._redis.hget(keys.job_key(job_id), "state")
        return record_of(job_id, await self._redis.hgetall(keys.job_key(job_id, "batch")), state and state.decode())

    async def renew(self, record: BatchRecord, until: float) -> bool:
        """Extend a held batch's lease to ``until``; False when its owner lost it."""
        return bool(await self._renew(keys=[BATCHES], args=[record.job_id, record.owner, repr(until)]))

    async def save(self, record: BatchRecord, next_at: float, now: float) -> bool:
        """Write a held batch's progress and free it until ``next_at``; False when its owner lost it."""
        out = "1" if record.state in OUT else "0"
        args = [record.job_id, record.owner, repr(next_at), repr(now), out, *saved_fields(record)]
        return bool(await self._save(keys=[BATCHES, keys.UNTICKETED], args=args))

    async def store_answers(self, job_id: str, answers: dict[str, str]) -> None:
        """Store a batch's answers by custom_id (written before the batch is saved as back: a repeat is harmless)."""
        items = list(answers.items())
        for start in range(0, len(items), ANSWERS_A_WRITE):
            await self._redis.hset(
                keys.job_key(job_id, "answers"), mapping=dict(items[start : start + ANSWERS_A_WRITE])
            )

    async def store_sent(self, job_id: str, custom_ids: list[str]) -> None:
        """Record the custom_ids of the batch just uploaded, in place of those of the batch before."""
        key = keys.job_key(job_id, "sent")
        await self._redis.delete(key)
        for start in range(0, len(custom_ids), ANSWERS_A_WRITE):
            await self._redis.sadd(key, *custom_ids[start : start + ANSWERS_A_WRITE])

    async def sent(self, job_id: str) -> set[str]:
        """Return the custom_ids recorded for the job's batch now out."""
        return {member.decode() for member in await self._redis.smembers(keys.job_key(job_id, "sent"))}

    async def answer(self, job_id: str, custom_id: str) -> str | None:
        """Return one stored answer, or None."""
        body = await self._redis.hget(keys.job_key(job_id, "answers"), custom_id)
        return None if body is None else body.decode()

    async def of(self, job_id: str) -> BatchRecord | None:
        """Return a job's batch record, or None."""
        return record_of(job_id, await self._redis.hgetall(keys.job_key(job_id, "batch")))

    async def due_now(self, job_id: str) -> None:
        """Make a job's batch due at once (its job was cancelled: the provider's batch is to be cancelled)."""
        if await self._redis.exists(keys.job_key(job_id, "batch")):
            await self._redis.zadd(BATCHES, {job_id: 0}, xx=True)
