"""Tests of ``service/prompts/sentence_lines.py``: the one definition of ``[S<n>]`` lines, held to the templates."""

from __future__ import annotations

import pytest

from service.prompts.registry import PromptRegistry, default_prompts_dir
from service.prompts.rendering import ContextLine, PromptSentence, render_prompt
from service.prompts.sentence_lines import last_sentence_lines, parse_sentence_lines, sentence_line
from service.prompts.spec import PromptVersion

SHIPPED = PromptRegistry.load(default_prompts_dir())


def test_a_sentence_line_numbers_the_sentence_and_may_show_its_speaker() -> None:
    """``[S<n>] text``, or ``[S<n>] SPEAKER: text`` when the prompt shows speakers."""
    assert sentence_line(3, "Prices rose 3%.") == "[S3] Prices rose 3%."
    assert sentence_line(3, "Prices rose 3%.", "TRUMP") == "[S3] TRUMP: Prices rose 3%."


def test_parse_sentence_lines_reads_only_numbered_lines() -> None:
    """Only lines shaped "[S<n>] text" are read, with their ids, in order."""
    content = (
        "Title: A title\nContext (read-only, do not cite):\nEarlier text.\nSentences:\n[S1] First one.\n[S12] Second."
    )
    assert parse_sentence_lines(content) == [(1, "First one."), (12, "Second.")]


def test_written_lines_read_back_as_written() -> None:
    """What ``sentence_line`` writes, ``parse_sentence_lines`` reads back, speaker label included."""
    content = "\n".join([sentence_line(1, "It rained."), sentence_line(2, "We won.", "HOLT")])
    assert parse_sentence_lines(content) == [(1, "It rained."), (2, "HOLT: We won.")]


def test_the_last_message_with_sentence_lines_is_the_one_read() -> None:
    """A repair re-ask after the prompt carries no sentence lines: the prompt's are the ones read."""
    texts = ["[S1] Old prompt.", "[S1] The prompt.\n[S2] Its second sentence.", "Your reply could not be used."]
    assert last_sentence_lines(texts) == [(1, "The prompt."), (2, "Its second sentence.")]
    assert last_sentence_lines(["no lines here"]) == []


@pytest.mark.parametrize("version", SHIPPED.versions(), ids=lambda version: version.ref)
def test_every_shipped_template_writes_sentences_in_this_format(version: PromptVersion) -> None:
    """Each shipped prompt renders its sentences as ``sentence_line`` writes them, with or without speakers."""
    sentences = [PromptSentence(1, "We pay 73 percent of the cost of NATO.", "TRUMP"), PromptSentence(2, "It rained.")]
    messages = render_prompt(version, sentences=sentences, context=[ContextLine("Earlier.", "HOLT")], title="T")
    read = last_sentence_lines([message["content"] for message in messages if message["role"] == "user"])
    assert [number for number, _ in read] == [1, 2]
    for (number, text), sentence in zip(read, sentences, strict=True):
        assert text in (sentence.text, f"{sentence.speaker}: {sentence.text}")
        assert sentence_line(number, text) in messages[-1]["content"]
