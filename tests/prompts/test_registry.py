"""Tests of ``service/prompts/registry.py``: loading prompt versions and the lock that freezes released ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.errors import ConfigError, UnknownPromptVersion
from service.prompts.registry import LOCK_FILE, PromptRegistry, default_prompts_dir, file_sha256, read_lock
from service.prompts.spec import PromptVersion
from tests.prompts.prompt_files import SHIPPED_REF, pin, write_prompt


def test_shipped_registry_has_extract_claims_v1_released_and_pinned(shipped_prompt: PromptVersion) -> None:
    """The shipped prompts load; ``extract_claims@1`` is released and its file hash is the one in the lock."""
    lock = json.loads((default_prompts_dir() / LOCK_FILE).read_text(encoding="utf-8"))

    assert shipped_prompt.ref == SHIPPED_REF
    assert shipped_prompt.spec.status == "released"
    assert shipped_prompt.sha256 == lock[SHIPPED_REF] == file_sha256(shipped_prompt.path)
    assert shipped_prompt.spec.reply_schema == "ModelReply"


def test_every_shipped_released_prompt_is_pinned() -> None:
    """Every released or retired shipped version has a lock entry, and the lock names no missing version."""
    registry = PromptRegistry.load(default_prompts_dir())
    lock = read_lock(default_prompts_dir())

    frozen = {v.ref: v.sha256 for v in registry.versions() if v.spec.status != "draft"}
    assert frozen == lock


def test_editing_a_released_prompt_is_refused(prompts_copy: Path) -> None:
    """A released file whose bytes no longer match the lock stops the registry, saying to make a new version."""
    released = prompts_copy / "extract_claims" / "v1.yaml"
    released.write_text(released.read_text(encoding="utf-8").replace("fact-checking", "fact checking"), "utf-8")

    with pytest.raises(ConfigError, match="extract_claims@1 changed after release") as caught:
        PromptRegistry.load(prompts_copy)

    assert "make a new version" in str(caught.value)


def test_released_prompt_missing_from_the_lock_is_refused(prompts_copy: Path) -> None:
    """A released version with no lock entry stops the registry."""
    write_prompt(prompts_copy, "extract_claims", 2, "released")

    with pytest.raises(ConfigError, match=r"extract_claims@2 is released but not pinned in prompts\.lock"):
        PromptRegistry.load(prompts_copy)


def test_retired_prompt_must_be_pinned_too(prompts_copy: Path) -> None:
    """A retired version is frozen like a released one: unpinned, it stops the registry."""
    write_prompt(prompts_copy, "extract_claims", 2, "retired")

    with pytest.raises(ConfigError, match="extract_claims@2 is retired but not pinned"):
        PromptRegistry.load(prompts_copy)


def test_draft_prompt_loads_without_a_lock_entry(prompts_copy: Path) -> None:
    """A draft version is not frozen: it loads although the lock does not name it."""
    write_prompt(prompts_copy, "extract_claims", 2, "draft")

    registry = PromptRegistry.load(prompts_copy)

    assert [v.ref for v in registry.versions()] == ["extract_claims@1", "extract_claims@2"]
    assert registry.get("extract_claims@2").spec.status == "draft"


def test_bare_name_gets_the_latest_released_version(prompts_copy: Path) -> None:
    """``get(name)`` skips drafts and retired versions and returns the highest released one."""
    pin(prompts_copy, "extract_claims@2", write_prompt(prompts_copy, "extract_claims", 2, "released"))
    pin(prompts_copy, "extract_claims@3", write_prompt(prompts_copy, "extract_claims", 3, "retired"))
    write_prompt(prompts_copy, "extract_claims", 4, "draft")

    registry = PromptRegistry.load(prompts_copy)

    assert registry.get("extract_claims").ref == "extract_claims@2"


def test_bare_name_of_shipped_prompts_is_the_latest_released() -> None:
    """With v1, v2 and v3 released, the bare name resolves to v3."""
    assert PromptRegistry.load(default_prompts_dir()).get("extract_claims").ref == "extract_claims@3"


@pytest.mark.parametrize("ref", ["extract_claims@9", "summarise", "summarise@1"])
def test_unknown_prompt_ref_raises(ref: str) -> None:
    """A ref naming no loaded version raises ``UnknownPromptVersion`` listing what is loaded."""
    registry = PromptRegistry.load(default_prompts_dir())

    with pytest.raises(UnknownPromptVersion, match="loaded versions: extract_claims@1") as caught:
        registry.get(ref)

    assert repr(ref) in str(caught.value)


def test_bare_name_with_only_drafts_is_unknown(tmp_path: Path) -> None:
    """A name with no released version cannot be asked for bare."""
    write_prompt(tmp_path, "sketch", 1, "draft")

    with pytest.raises(UnknownPromptVersion):
        PromptRegistry.load(tmp_path).get("sketch")


def test_missing_prompts_directory_is_a_config_error(tmp_path: Path) -> None:
    """Loading from a directory that does not exist raises ``ConfigError``."""
    with pytest.raises(ConfigError, match="does not exist"):
        PromptRegistry.load(tmp_path / "nowhere")


def test_misnamed_prompt_file_is_a_config_error(tmp_path: Path) -> None:
    """A file whose path does not match its name and version is refused."""
    path = write_prompt(tmp_path, "sketch", 1, "draft")
    path.rename(path.with_name("v2.yaml"))

    with pytest.raises(ConfigError, match=r"must be named sketch/v1\.yaml"):
        PromptRegistry.load(tmp_path)


def test_invalid_prompt_file_is_a_config_error(tmp_path: Path) -> None:
    """A prompt file missing required keys is refused with its path in the message."""
    path = tmp_path / "sketch" / "v1.yaml"
    path.parent.mkdir()
    path.write_text("name: sketch\nversion: 1\nstatus: draft\n", encoding="utf-8")

    with pytest.raises(ConfigError, match="is invalid"):
        PromptRegistry.load(tmp_path)


@pytest.mark.parametrize("content", ["[1, 2", '["extract_claims@1"]'], ids=["not-json", "a-list"])
def test_a_malformed_lock_is_a_config_error(prompts_copy: Path, content: str) -> None:
    """A prompts.lock that is not a JSON map is refused with its path, not a traceback."""
    (prompts_copy / LOCK_FILE).write_text(content, encoding="utf-8")

    with pytest.raises(ConfigError, match=r"prompts\.lock"):
        PromptRegistry.load(prompts_copy)
