"""Tests of ``service/pipeline/build.py``: the pipeline built from settings, or a config error saying why not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from service.errors import ConfigError, UnknownPromptVersion
from service.pipeline.build import build_pipeline
from service.settings import Settings
from service.stores.cache.disk_cache import DiskReplyCache
from service.stores.cache.reply_cache import NoReplyCache


async def test_the_pipeline_has_the_shipped_prompts_and_a_disk_cache(tmp_path: Path) -> None:
    """Defaults: the shipped prompts loaded and verified, and the reply cache on disk where configured."""
    pipeline = build_pipeline(Settings(cache_dir=tmp_path / "cache"))
    assert [version.ref for version in pipeline.prompts.versions()] == [
        "extract_claims@1",
        "extract_claims@2",
        "extract_claims@3",
    ]
    assert isinstance(pipeline.cache, DiskReplyCache)
    assert (tmp_path / "cache").is_dir()
    await pipeline.cache.close()


def test_caching_switched_off_stores_nothing(tmp_path: Path) -> None:
    """``cache_enabled: false`` builds a cache that stores nothing and creates no directory."""
    pipeline = build_pipeline(Settings(cache_enabled=False, cache_dir=tmp_path / "cache"))
    assert isinstance(pipeline.cache, NoReplyCache)
    assert not (tmp_path / "cache").exists()


def test_a_configured_default_prompt_that_does_not_exist_stops_the_build(tmp_path: Path) -> None:
    """A default prompt naming no loaded version is refused when the pipeline is built, not at the first request."""
    with pytest.raises(UnknownPromptVersion, match="extract_claims@9"):
        build_pipeline(Settings(cache_dir=tmp_path / "cache", prompt="extract_claims@9"))


def test_a_cache_dir_that_cannot_hold_the_cache_is_a_config_error(tmp_path: Path) -> None:
    """A cache_dir that is a file stops start-up with a message naming it, not a SQLite traceback."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x", encoding="utf-8")

    with pytest.raises(ConfigError, match=f"cache_dir {blocker} cannot hold the cache"):
        build_pipeline(Settings(cache_dir=blocker))


def test_an_embedded_process_never_loads_the_redis_stores(tmp_path: Path) -> None:
    """Without redis_url, building the app loads neither redis nor saq (memory and start-up stay as they were)."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from service.api.app import create_app\n"
        "from service.settings import Settings\n"
        "create_app(Settings(cache_dir=Path(sys.argv[1]) / 'c', data_dir=Path(sys.argv[1]) / 'd'))\n"
        "print(sorted(name for name in ('redis', 'saq') if name in sys.modules))\n"
    )
    completed = subprocess.run(  # noqa: S603 -- this interpreter on a fixed script
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True, timeout=120
    )
    assert completed.stdout.strip() == "[]"
