"""The Redis jobs backend's keys and its Lua scripts: each step that must not be seen half done is one script.

Keys, all under ``claims:``::

    claims:epoch                      when this Redis's jobs began (missing: it restarted empty)
    claims:jobs                       zset of job ids by creation time (the listing)
    claims:jobs:key:<name>            the same, of one API key's jobs
    claims:idem:<key>                 the job made under an Idempotency-Key
    claims:fair                       zset of jobs with articles waiting, by the turn they were last served
    claims:turn                       the turn counter
    claims:tickets                    hash: queue ticket -> "<job id> <index>" it is running
    claims:unticketed                 zset of jobs (by creation time) whose tickets are not all queued yet
    claims:deliveries                 zset of webhook delivery ids by when they are due
    claims:batches                    zset of batch-mode jobs whose provider batch is out, by when it is due
    claims:delivery:<id>              hash: one webhook delivery
    claims:job:<id>                   hash: the job (state, times, counts, usage, callback)
    claims:job:<id>:<part>            requests, ids, states, owners, attempts (hashes by index); pending (list);
                                      results, errors (hashes); failed, by_index, by_completion (zsets);
                                      deliveries (list); batch (hash: its provider batch), answers (hash:
                                      custom_id -> the batch's answer), for a batch-mode job

The scripts name the keys of the job they touch from its id, so the backend needs one Redis (or a primary
with replicas), not a Redis Cluster.
"""

from __future__ import annotations

PREFIX = "claims:"
EPOCH = PREFIX + "epoch"
JOBS = PREFIX + "jobs"
FAIR = PREFIX + "fair"
TURN = PREFIX + "turn"
TICKETS = PREFIX + "tickets"
UNTICKETED = PREFIX + "unticketed"
DELIVERIES = PREFIX + "deliveries"
JOB_PARTS = (
    "requests", "ids", "states", "owners", "attempts", "pending", "results", "errors", "failed", "by_index",
    "by_completion", "deliveries", "batch", "answers", "sent",
)  # fmt: skip


def job_key(job_id: str, part: str | None = None) -> str:
    """Return the key of a job's hash, or of one of its parts."""
    return f"{PREFIX}job:{job_id}" + (f":{part}" if part else "")


def jobs_of(key_name: str) -> str:
    """Return the key of the listing of one API key's jobs (a zset by creation time)."""
    return f"{PREFIX}jobs:key:{key_name}"


def idempotency_key(key: str) -> str:
    """Return the key that remembers the job made under an Idempotency-Key."""
    return f"{PREFIX}idem:{key}"


def delivery_key(delivery_id: str) -> str:
    """Return the key of a webhook delivery's hash."""
    return f"{PREFIX}delivery:{delivery_id}"


_COMMON = """
local prefix = 'claims:job:'
local parts = {PARTS}

local function queue_delivery(id, job, event, index, now, ttl)
  local key = 'claims:delivery:' .. id
  redis.call('HSET', key, 'job_id', job, 'event', event, 'index', index, 'state', 'pending', 'attempts', '[]',
             'created_at', now)
  redis.call('EXPIRE', key, ttl)
  redis.call('ZADD', 'claims:deliveries', now, id)
  redis.call('RPUSH', prefix .. job .. ':deliveries', id)
end

local function close_job(job, state, now, retention, delivery, delivery_ttl)
  local jk = prefix .. job
  redis.call('HSET', jk, 'state', state, 'finished_at', now, 'expires_at', now + retention)
  redis.call('ZREM', 'claims:fair', job)
  redis.call('DEL', jk .. ':pending')
  local callback = redis.call('HGET', jk, 'callback_url')
  if callback and callback ~= '' then
    queue_delivery(delivery, job, 'job.completed', -1, now, delivery_ttl)
  end
  redis.call('EXPIRE', jk, math.ceil(retention))
  for _, part in ipairs(parts) do
    redis.call('EXPIRE', jk .. ':' .. part, math.ceil(retention))
  end
  local idem = redis.call('HGET', jk, 'idempotency_key')
  if idem and idem ~= '' then
    redis.call('EXPIRE', 'claims:idem:' .. idem, math.ceil(retention))
  end
end
""".replace("PARTS", ", ".join(f"'{part}'" for part in JOB_PARTS))

# KEYS: tickets, fair, turn. ARGV: ticket, owner, now.
# Returns {job, index, request, attempts, key name}, or nil when the ticket has nothing (left) to run.
TAKE_TURN = """
local prefix = 'claims:job:'

local function hand(job, idx, owner, now)
  local jk = prefix .. job
  local state = redis.call('HGET', jk .. ':states', idx)
  if state == 'queued' then
    redis.call('HINCRBY', jk, 'queued', -1)
    redis.call('HINCRBY', jk, 'running', 1)
  elseif state ~= 'running' then
    return nil
  end
  redis.call('HSET', jk .. ':states', idx, 'running')
  redis.call('HSET', jk .. ':owners', idx, owner)
  local attempts = redis.call('HINCRBY', jk .. ':attempts', idx, 1)
  if redis.call('HGET', jk, 'state') == 'queued' then
    redis.call('HSET', jk, 'state', 'running', 'started_at', now)
  end
  return {job, idx, redis.call('HGET', jk .. ':requests', idx), attempts, redis.call('HGET', jk, 'key_name') or ''}
end

local held = redis.call('HGET', KEYS[1], ARGV[1])
if held then
  local space = string.find(held, ' ', 1, true)
  local taken = hand(string.sub(held, 1, space - 1), string.sub(held, space + 1), ARGV[2], ARGV[3])
  if not taken then
    redis.call('HDEL', KEYS[1], ARGV[1])
  end
  return taken
end
for _ = 1, 100 do
  local first = redis.call('ZRANGE', KEYS[2], 0, 0)
  if #first == 0 then
    return nil
  end
  local job = first[1]
  local pending = prefix .. job .. ':pending'
  local idx = redis.call('LPOP', pending)
  if redis.call('LLEN', pending) == 0 then
    redis.call('ZREM', KEYS[2], job)
  else
    redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), job)
  end
  if idx then
    local taken = hand(job, idx, ARGV[2], ARGV[3])
    if taken then
      redis.call('HSET', KEYS[1], ARGV[1], job .. ' ' .. idx)
      return taken
    end
  end
end
return nil
"""

_HOLDING = """
-- 1: the article runs, held by owner; 0: finished, cancelled or gone; -1: another hand-out holds it
local function holding(jk, idx, owner)
  if redis.call('HGET', jk .. ':states', idx) ~= 'running' then
    return 0
  end
  if redis.call('HGET', jk .. ':owners', idx) ~= owner then
    return -1
  end
  return 1
end
"""

# ARGV: job, index, owner. Returns 1 (held by owner), 0 (finished, cancelled or gone), -1 (another worker has it).
HOLDS = (
    _HOLDING
    + """
return holding('claims:job:' .. ARGV[1], ARGV[2], ARGV[3])
"""
)

# ARGV: job, index, owner, state, outcome JSON, claims, model_calls, cache_hits, prompt_tokens,
# completion_tokens, cost_usd, cost_unknown, now, retention, ticket, article delivery id, job delivery id,
# delivery ttl, the result's article id ('' to keep the one listed). Returns 1 (recorded), 2 (recorded, and the
# job is done), 0 (no longer running), -1 (not ours).
FINISH = (
    _COMMON
    + _HOLDING
    + """
local job, idx, owner, state = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local jk = prefix .. job
local held = holding(jk, idx, owner)
if held ~= 1 then
  return held
end
local now, retention, ttl = tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[18])
redis.call('HSET', jk .. ':states', idx, state)
redis.call('HDEL', jk .. ':owners', idx)
if state == 'succeeded' then
  redis.call('HSET', jk .. ':results', idx, ARGV[5])
  redis.call('HINCRBY', jk, 'claims', ARGV[6])
  if ARGV[19] ~= '' then
    redis.call('HSET', jk .. ':ids', idx, ARGV[19])
  end
else
  redis.call('HSET', jk .. ':errors', idx, ARGV[5])
  redis.call('ZADD', jk .. ':failed', idx, idx)
end
redis.call('HINCRBY', jk, 'running', -1)
redis.call('HINCRBY', jk, state, 1)
redis.call('HINCRBY', jk, 'model_calls', ARGV[7])
redis.call('HINCRBY', jk, 'cache_hits', ARGV[8])
redis.call('HINCRBY', jk, 'prompt_tokens', ARGV[9])
redis.call('HINCRBY', jk, 'completion_tokens', ARGV[10])
redis.call('HINCRBYFLOAT', jk, 'cost_usd', ARGV[11])
if ARGV[12] == '1' then
  redis.call('HSET', jk, 'cost_unknown', 1)
end
local seq = redis.call('HINCRBY', jk, 'seq', 1)
redis.call('ZADD', jk .. ':by_index', idx, idx)
redis.call('ZADD', jk .. ':by_completion', seq, idx)
redis.call('HDEL', 'claims:tickets', ARGV[15])
local callback = redis.call('HGET', jk, 'callback_url')
if callback and callback ~= '' and redis.call('HGET', jk, 'callback_per_article') == '1' then
  queue_delivery(ARGV[16], job, 'article.completed', idx, now, ttl)
end
local left = tonumber(redis.call('HGET', jk, 'queued')) + tonumber(redis.call('HGET', jk, 'running'))
if left > 0 then
  return 1
end
local succeeded = tonumber(redis.call('HGET', jk, 'succeeded'))
local failed = tonumber(redis.call('HGET', jk, 'failed'))
local final = 'succeeded'
if failed > 0 and succeeded == 0 then
  final = 'failed'
elseif failed > 0 then
  final = 'partial'
end
close_job(job, final, now, retention, ARGV[17], ttl)
return 2
"""
)

# ARGV: job, now, retention, job delivery id, delivery ttl. Returns 0 (no such job), 1 (cancelled or already over).
CANCEL = (
    _COMMON
    + """
local job = ARGV[1]
local jk = prefix .. job
local state = redis.call('HGET', jk, 'state')
if not state then
  return 0
end
if state ~= 'queued' and state ~= 'running' then
  return 1
end
local flat = redis.call('HGETALL', jk .. ':states')
local unfinished = {}
for i = 1, #flat, 2 do
  if flat[i + 1] == 'queued' or flat[i + 1] == 'running' then
    table.insert(unfinished, tonumber(flat[i]))
  end
end
table.sort(unfinished)
for _, idx in ipairs(unfinished) do
  local was = redis.call('HGET', jk .. ':states', idx)
  redis.call('HSET', jk .. ':states', idx, 'cancelled')
  redis.call('HDEL', jk .. ':owners', idx)
  redis.call('HINCRBY', jk, was, -1)
  redis.call('HINCRBY', jk, 'cancelled', 1)
  local seq = redis.call('HINCRBY', jk, 'seq', 1)
  redis.call('ZADD', jk .. ':by_index', idx, idx)
  redis.call('ZADD', jk .. ':by_completion', seq, idx)
end
close_job(job, 'cancelled', tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]))
return 1
"""
)

# ARGV: job, index, owner. Puts a running article back to queued (its ticket is re-queued by the caller); the
# hand-out does not count towards the attempts after which an article whose workers keep dying fails.
RELEASE = (
    _HOLDING
    + """
local jk = 'claims:job:' .. ARGV[1]
if holding(jk, ARGV[2], ARGV[3]) ~= 1 then
  return 0
end
redis.call('HSET', jk .. ':states', ARGV[2], 'queued')
redis.call('HDEL', jk .. ':owners', ARGV[2])
redis.call('HINCRBY', jk, 'running', -1)
redis.call('HINCRBY', jk, 'queued', 1)
redis.call('HINCRBY', jk .. ':attempts', ARGV[2], -1)  -- handed back, not died: it does not count
return 1
"""
)

# KEYS: deliveries. ARGV: now, lease until, limit, owner. Leases the deliveries due now to the owner (the
# claim's token, kept on each delivery's hash) and returns their ids.
DUE_DELIVERIES = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], id)
  local key = 'claims:delivery:' .. id
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'owner', ARGV[4])
  end
end
return due
"""

# KEYS: deliveries. ARGV: delivery id, owner, due at. Gives a claimed delivery back unsent (no attempt counted),
# due again at the time given, only while the owner's claim still holds it; 1 when given back, else 0.
POSTPONE_DELIVERY = """
local key = 'claims:delivery:' .. ARGV[1]
if redis.call('HGET', key, 'owner') ~= ARGV[2] then
  return 0
end
redis.call('HDEL', key, 'owner')
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""

# KEYS: deliveries. ARGV: delivery id, owner, the attempt (JSON), state, due at (when pending). Appends the
# attempt and sets the state only while the owner's claim still holds the delivery; 1 when recorded, else 0.
RECORD_DELIVERY = """
local key = 'claims:delivery:' .. ARGV[1]
if redis.call('HGET', key, 'owner') ~= ARGV[2] then
  return 0
end
local attempts = redis.call('HGET', key, 'attempts')
if not attempts or attempts == '[]' then
  attempts = '[' .. ARGV[3] .. ']'
else
  attempts = string.sub(attempts, 1, -2) .. ', ' .. ARGV[3] .. ']'
end
redis.call('HSET', key, 'state', ARGV[4], 'attempts', attempts)
redis.call('HDEL', key, 'owner')
if ARGV[4] == 'pending' then
  redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return 1
"""
