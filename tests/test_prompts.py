"""Tests of ``service/prompts.py``: the registry, the lock that freezes released versions, and rendering."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from service.errors import ConfigError, UnknownPromptVersion
from service.prompts.registry import LOCK_FILE, PromptRegistry, default_prompts_dir, file_sha256, read_lock
from service.prompts.rendering import ContextLine, PromptSentence, render_prompt, render_repair
from service.prompts.spec import PromptVersion

SHIPPED_REF = "extract_claims@1"


def prompt_yaml(name: str, version: int, status: str, user_template: str = "{{ title }}") -> str:
    """Return the text of a minimal valid prompt file."""
    return (
        f"name: {name}\n"
        f"version: {version}\n"
        f"status: {status}\n"
        "description: A prompt written by a test.\n"
        "reply_schema: ModelReply\n"
        "messages:\n"
        "  - role: system\n"
        "    content: Extract claims.\n"
        "  - role: user\n"
        f"    content: {json.dumps(user_template)}\n"
        "repair: 'Fix this: {{ error }}'\n"
    )


def write_prompt(prompts_dir: Path, name: str, version: int, status: str, user_template: str = "{{ title }}") -> Path:
    """Write a prompt file at ``<prompts_dir>/<name>/v<version>.yaml`` and return its path."""
    path = prompts_dir / name / f"v{version}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(prompt_yaml(name, version, status, user_template), encoding="utf-8")
    return path


def pin(prompts_dir: Path, ref: str, path: Path) -> None:
    """Add ``ref`` with the sha256 of ``path`` to the lock file."""
    lock = read_lock(prompts_dir)
    lock[ref] = file_sha256(path)
    (prompts_dir / LOCK_FILE).write_text(json.dumps(lock, indent=2), encoding="utf-8")


@pytest.fixture
def prompts_copy(tmp_path: Path) -> Path:
    """A private prompts directory holding a copy of the shipped ``extract_claims@1`` and its pin only."""
    copy = tmp_path / "prompts"
    (copy / "extract_claims").mkdir(parents=True)
    shutil.copy(default_prompts_dir() / "extract_claims" / "v1.yaml", copy / "extract_claims" / "v1.yaml")
    (copy / LOCK_FILE).write_text(json.dumps({SHIPPED_REF: read_lock(default_prompts_dir())[SHIPPED_REF]}))
    return copy


@pytest.fixture
def shipped_prompt() -> PromptVersion:
    """The shipped ``extract_claims@1``."""
    return PromptRegistry.load(default_prompts_dir()).get(SHIPPED_REF)


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
    """With v1 and v2 released, the bare name resolves to v2."""
    assert PromptRegistry.load(default_prompts_dir()).get("extract_claims").ref == "extract_claims@2"


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


def test_render_prompt_numbers_sentences_and_adds_title_and_read_only_context(shipped_prompt: PromptVersion) -> None:
    """The user message carries the title, the context lines without ids and the ``[S<n>] text`` lines."""
    messages = render_prompt(
        shipped_prompt,
        sentences=[PromptSentence(1, "Violent crime is down 15.2%."), PromptSentence(2, "Trump said so.")],
        context=["The stream began late.", "Musk blamed an attack."],
        title="Trump and Musk talk on X",
    )

    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == shipped_prompt.spec.messages[0].content
    assert messages[1]["content"] == (
        "Title: Trump and Musk talk on X\n"
        "Context (read-only, do not cite):\n"
        "The stream began late.\n"
        "Musk blamed an attack.\n"
        "Sentences:\n"
        "[S1] Violent crime is down 15.2%.\n"
        "[S2] Trump said so.\n"
    )


def test_render_prompt_leaves_out_missing_title_and_context(shipped_prompt: PromptVersion) -> None:
    """Without a title or context, the user message is only the numbered sentences."""
    messages = render_prompt(shipped_prompt, sentences=[PromptSentence(1, "It rained.")], context=[], title=None)

    assert messages[1] == {"role": "user", "content": "Sentences:\n[S1] It rained.\n"}


def test_v1_renders_a_transcript_without_speakers_as_it_always_has(shipped_prompt: PromptVersion) -> None:
    """Speakers reach templates as a new field, so released v1 renders a transcript exactly as before."""
    messages = render_prompt(
        shipped_prompt,
        sentences=[PromptSentence(1, "We pay 73 percent of the cost of NATO.", speaker="TRUMP")],
        context=[ContextLine("Let us talk about security.", speaker="HOLT")],
        title=None,
    )

    assert messages[1]["content"] == (
        "Context (read-only, do not cite):\nLet us talk about security.\n"
        "Sentences:\n[S1] We pay 73 percent of the cost of NATO.\n"
    )


def test_v2_shows_the_speaker_of_each_sentence_and_context_line() -> None:
    """extract_claims@2 labels transcript lines with their speakers; prose lines stay bare."""
    prompt = PromptRegistry.load(default_prompts_dir()).get("extract_claims@2")
    messages = render_prompt(
        prompt,
        sentences=[
            PromptSentence(1, "We pay 73 percent of the cost of NATO.", speaker="TRUMP"),
            PromptSentence(2, "It rained."),
        ],
        context=[ContextLine("Let us talk about security.", speaker="HOLT")],
        title=None,
    )

    assert messages[1]["content"] == (
        "Context (read-only, do not cite):\nHOLT: Let us talk about security.\n"
        "Sentences:\n[S1] TRUMP: We pay 73 percent of the cost of NATO.\n[S2] It rained.\n"
    )


def test_a_template_naming_an_undefined_variable_is_refused_when_loaded(tmp_path: Path) -> None:
    """A template naming a variable the renderer does not pass fails at load time, never at request time."""
    write_prompt(tmp_path, "sketch", 1, "draft", user_template="Article by {{ author }}: {{ title }}")

    with pytest.raises(ConfigError, match=r"sketch/v1\.yaml does not render: 'author' is undefined"):
        PromptRegistry.load(tmp_path)


def test_an_undefined_variable_behind_a_condition_is_found_too(tmp_path: Path) -> None:
    """The trial render runs with and without a title, so a typo inside ``{% if title %}`` is caught."""
    write_prompt(tmp_path, "sketch", 1, "draft", user_template="{% if title %}{{ headline }}{% endif %}")

    with pytest.raises(ConfigError, match="'headline' is undefined"):
        PromptRegistry.load(tmp_path)


@pytest.mark.parametrize("content", ["[1, 2", '["extract_claims@1"]'], ids=["not-json", "a-list"])
def test_a_malformed_lock_is_a_config_error(prompts_copy: Path, content: str) -> None:
    """A prompts.lock that is not a JSON map is refused with its path, not a traceback."""
    (prompts_copy / LOCK_FILE).write_text(content, encoding="utf-8")

    with pytest.raises(ConfigError, match=r"prompts\.lock"):
        PromptRegistry.load(prompts_copy)


def test_render_repair_carries_the_error(shipped_prompt: PromptVersion) -> None:
    """The repair re-ask quotes the validation error for the model to fix."""
    error = "claims.0.checkworthiness: Input should be less than or equal to 1"

    assert render_repair(shipped_prompt, error) == (
        f"Your reply could not be used: {error}\n"
        "Reply again with JSON only, in the shape given above, citing only the numbered sentences."
    )
