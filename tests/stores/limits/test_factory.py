"""Tests of ``service/stores/limits/factory.py``: rate limits and quotas kept here, or shared on Redis."""

from __future__ import annotations

import pytest

from service.errors import QuotaExceeded
from service.settings import ApiKey, Settings
from service.stores.limits.factory import open_quotas, open_rate_limits

KEY = ApiKey(name="desk", hash="sha256:" + "0" * 64, scopes=["extract"], rpm=1)


async def test_quotas_are_per_process_without_redis_and_shared_with_it(redis_url: str) -> None:
    """Two quota stores on one Redis share a key's minute; two without Redis each count their own."""
    shared = [open_quotas(Settings(redis_url=redis_url)) for _ in range(2)]
    apart = [open_quotas(Settings()) for _ in range(2)]
    for quotas in (shared[0], apart[0]):
        await quotas.admit(KEY, spends=False)
    with pytest.raises(QuotaExceeded):
        await shared[1].admit(KEY, spends=False)
    await apart[1].admit(KEY, spends=False)
    for quotas in [*shared, *apart]:
        await quotas.close()


async def test_rate_limits_are_opened_for_the_configured_models(redis_url: str) -> None:
    """The rate limits are built in memory without ``redis_url`` and on Redis with it, and close cleanly."""
    for settings in (Settings(), Settings(redis_url=redis_url)):
        limits = open_rate_limits(settings)
        await limits.close()
