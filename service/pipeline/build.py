"""Build the pipeline from settings: prompts verified, the reply cache and the fact-check archive opened, a client.

The API, the CLI and the evaluations all build it here, so none of them sits above another. Only the
pipeline is built here: job stores and quotas are opened by who needs them (the API, the worker), from
their own rooms under ``service/stores/``.
"""

from __future__ import annotations

from service.factchecks.archive import archive_for
from service.llm.client import ModelClient
from service.offline.checkworthiness import use_multilingual_head
from service.pipeline.extraction import Pipeline
from service.prompts.registry import PromptRegistry, default_prompts_dir
from service.settings import Settings
from service.stores.cache.factory import open_reply_cache
from service.stores.limits.factory import open_rate_limits


def build_pipeline(settings: Settings) -> Pipeline:
    """Load and verify prompts, open the cache and rate limits, build the model client; ConfigError when unusable."""
    prompts = PromptRegistry.load(settings.prompts_dir or default_prompts_dir())
    prompts.get(settings.prompt)  # the configured default prompt must exist
    client = ModelClient(settings, open_rate_limits(settings))
    cache = open_reply_cache(settings)
    use_multilingual_head(settings.multilingual_checkworthiness)
    return Pipeline(settings=settings, prompts=prompts, cache=cache, client=client, archive=archive_for(settings))
