"""What ``/readyz`` checks: each part the service needs, with its own status, and whether all can be used.

Each check is ``{"status": "ok" | "failing", ...}``; a failing one says why in ``detail``. The parts: the
prompts (verified at start-up), the reply cache (its counts; a cache that cannot be used at all fails), the
job store (SQLite under ``data_dir``: damage met at run time fails it until a restart; or Redis), and, with
``redis_url``, the Redis every replica shares for the jobs, the reply cache and the rate limits and quotas.
"""

from __future__ import annotations

from typing import Any

from service.pipeline.extraction import Pipeline
from service.stores.jobs.job_store import JobBackend

REDIS_USERS = ["jobs", "cache", "limits"]


def _check(problem: str | None, **facts: Any) -> dict[str, Any]:
    """Return one check's entry: its status, what it reports, and why it fails (when it does)."""
    return {"status": "ok" if problem is None else "failing", **facts} | ({"detail": problem} if problem else {})


async def readiness(pipeline: Pipeline, jobs: JobBackend) -> tuple[list[str], dict[str, Any]]:
    """Run every check; return the problems found (none: ready) and each check's entry."""
    cache_problem = await pipeline.cache.health()
    jobs_problem = await jobs.health()
    on_redis = pipeline.settings.shared_redis_url() is not None
    checks = {
        "prompts": _check(None, versions=len(pipeline.prompts.versions())),
        "cache": _check(cache_problem, **await pipeline.cache.stats()),
        "jobs": _check(jobs_problem, store="redis" if on_redis else "sqlite"),
    }
    if on_redis:  # the job store's check is a PING of the Redis they all share
        checks["redis"] = _check(jobs_problem, used_by=REDIS_USERS)
    return [problem for problem in (cache_problem, jobs_problem) if problem is not None], checks
