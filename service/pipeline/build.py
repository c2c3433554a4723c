"""Build the pipeline from settings: prompts loaded and verified, the reply cache opened, the model client made.

The API, the CLI and the evaluations all build it here, so none of them sits above another.
"""

from __future__ import annotations

from service.llm.client import ModelClient
from service.pipeline.extraction import Pipeline
from service.prompts.registry import PromptRegistry, default_prompts_dir
from service.settings import Settings
from service.stores.disk_cache import DiskReplyCache
from service.stores.reply_cache import NoReplyCache, ReplyCache
from service.stores.sqlite_jobs import SqliteJobs


def open_reply_cache(settings: Settings) -> ReplyCache:
    """Open the configured reply cache (diskcache), or one that stores nothing when caching is off."""
    if not settings.cache_enabled:
        return NoReplyCache()
    return DiskReplyCache(settings.cache_dir, settings.cache_size_limit_mb)


def open_job_store(settings: Settings) -> SqliteJobs:
    """Open the jobs database under ``data_dir``; ConfigError when the directory cannot hold it."""
    return SqliteJobs(settings.data_dir, lease_s=settings.job_lease_s, retention_s=settings.job_retention_hours * 3600)


def build_pipeline(settings: Settings) -> Pipeline:
    """Load and verify prompts, open the cache and build the model client; ConfigError when unusable."""
    prompts = PromptRegistry.load(settings.prompts_dir or default_prompts_dir())
    prompts.get(settings.prompt)  # the configured default prompt must exist
    return Pipeline(settings=settings, prompts=prompts, cache=open_reply_cache(settings), client=ModelClient(settings))
