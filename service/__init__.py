"""claim-extractor: turn news articles into grounded, checkable factual claims with a configurable LLM."""

import os

# litellm must never reach the network at import (price map, Anthropic beta headers, model hubs).
for _switch, _value in {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "HF_HUB_OFFLINE": "1",
    "DISABLE_AIOHTTP_TRANSPORT": "True",
}.items():
    os.environ.setdefault(_switch, _value)

__version__ = "0.1.0"
