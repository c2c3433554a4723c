"""Tests of ``service/prompts/rendering.py``: chat messages from templates, and the trial render at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.errors import ConfigError
from service.prompts.registry import PromptRegistry, default_prompts_dir
from service.prompts.rendering import ContextLine, PromptSentence, render_prompt, render_repair
from service.prompts.spec import PromptVersion
from tests.prompts.prompt_files import write_prompt


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


def test_render_repair_carries_the_error(shipped_prompt: PromptVersion) -> None:
    """The repair re-ask quotes the validation error for the model to fix."""
    error = "claims.0.checkworthiness: Input should be less than or equal to 1"

    assert render_repair(shipped_prompt, error) == (
        f"Your reply could not be used: {error}\n"
        "Reply again with JSON only, in the shape given above, citing only the numbered sentences."
    )
