"""``claims worker``: a process that only runs job articles, from the queue every process shares on Redis.

Run as many as the provider's rate limit can feed, on any machine that reaches Redis. Each runs
``job_workers`` articles at once through the same pipeline as the API (reply cache and rate limits shared).
On SIGTERM or SIGINT it takes no more articles, lets the running ones finish for up to ``shutdown_grace_s``,
then hands back what is left for another worker; a worker killed outright (SIGKILL, a lost machine) has its
articles handed out again once their heartbeat stops (``job_lease_s``).
"""

from __future__ import annotations

import asyncio
import logging
import signal

from service.jobs.runner import JobRunner
from service.llm.client import warm_up
from service.pipeline.build import build_pipeline
from service.pipeline.spending import settlements_finished
from service.settings import Settings
from service.stores.jobs.factory import open_job_store
from service.stores.limits.factory import open_quotas
from service.stores.redis_connection import redacted

logger = logging.getLogger("claims.worker")


async def run_worker(settings: Settings) -> None:
    """Run the jobs runner without an API until SIGTERM or SIGINT, then stop it gracefully."""
    pipeline = build_pipeline(settings)
    jobs = open_job_store(settings)
    quotas = open_quotas(settings)
    runner = JobRunner(pipeline, jobs, jobs, settings, quotas)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await warm_up()
        runner.start()
        redis_url = settings.shared_redis_url()
        where = redacted(redis_url) if redis_url else "the embedded store"
        logger.info("worker %s ready: %d article(s) at once from %s", runner.owner, settings.job_workers, where)
        await stop.wait()
        logger.info(
            "worker %s stopping: running articles get %.0f s to finish", runner.owner, settings.shutdown_grace_s
        )
        await runner.stop(settings.shutdown_grace_s)
    finally:
        await jobs.close()
        await settlements_finished()  # the stopped articles' reservations settled before the quotas close
        await quotas.close()
        await pipeline.close()
    logger.info("worker %s stopped", runner.owner)
