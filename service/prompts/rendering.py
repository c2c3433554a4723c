"""Rendering prompt templates into chat messages, and the trial render that refuses a broken template early.

Templates render with Jinja2's ``StrictUndefined``, so a missing variable is an error, never an empty
string. They see ``title``, ``sentences`` (chunk-local id, text, speaker), ``context`` (the read-only
context sentences' texts), ``context_lines`` (the same with their speakers), ``language`` and
``language_name`` (the article's tag and English name: "es", "Spanish") and ``claim_language`` and
``claim_language_name`` (the language asked for the claims' text, None when it is the article's). Each
template writes the sentences as ``service.prompts.sentence_lines`` defines them; a test holds every shipped
version to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta

from service.errors import ConfigError
from service.prompts.languages import language_name, primary
from service.prompts.spec import PromptFile, PromptVersion

_JINJA = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)  # noqa: S701 -- prompts are text for a model, not HTML


@dataclass(frozen=True, slots=True)
class PromptSentence:
    """A sentence as the template sees it: its chunk-local id, its text and, in a transcript, its speaker."""

    id: int
    text: str
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class ContextLine:
    """A read-only context sentence as the template sees it: its text and, in a transcript, its speaker."""

    text: str
    speaker: str | None = None


# What a trial render feeds every template: with and without a title, context and speakers, so that a
# misspelt variable fails when the file is loaded or released, never at request time.
_TRIAL_VARIABLES: tuple[tuple[list[PromptSentence], list[ContextLine], str | None, str | None], ...] = (
    ([PromptSentence(1, "Prices rose 3% in May.", "SPEAKER")], [ContextLine("Earlier.", "HOST")], "A title", "fr"),
    ([PromptSentence(1, "Prices rose 3% in May.")], [], None, None),
)
TRIAL_LANGUAGE = "en"


def compile_prompt(spec: PromptFile, path: Path) -> tuple[tuple[jinja2.Template, ...], jinja2.Template]:
    """Compile a prompt's message templates and repair text, and trial-render them; ConfigError if either fails."""
    try:
        templates = tuple(_JINJA.from_string(message.content) for message in spec.messages)
        repair = _JINJA.from_string(spec.repair)
        for sentences, context, title, claim_language in _TRIAL_VARIABLES:
            variables = _variables(sentences, context, title, TRIAL_LANGUAGE, claim_language)
            for template in templates:
                template.render(variables)
        repair.render(error="the reply is not JSON")
    except jinja2.TemplateError as exc:
        raise ConfigError(f"prompt file {path} does not render: {exc}") from exc
    return templates, repair


def render_prompt(
    prompt: PromptVersion,
    *,
    sentences: Sequence[PromptSentence],
    context: Sequence[ContextLine | str],
    title: str | None,
    language: str = "en",
    claim_language: str | None = None,
) -> list[dict[str, str]]:
    """Render a prompt version into chat messages for one chunk; a plain context string is a line without speaker.

    ``claim_language`` is the language asked for the claims' text, None (or the article's own) for the article's.
    """
    variables = _variables(sentences, context, title, language, claim_language)
    return [
        {"role": message.role, "content": template.render(variables)}
        for message, template in zip(prompt.spec.messages, prompt.templates, strict=True)
    ]


def _variables(
    sentences: Sequence[PromptSentence],
    context: Sequence[ContextLine | str],
    title: str | None,
    language: str,
    claim_language: str | None,
) -> dict[str, Any]:
    """Return what a template sees: sentences, the context as texts and as lines, the title, the languages."""
    lines = [line if isinstance(line, ContextLine) else ContextLine(line) for line in context]
    translated = claim_language if claim_language and primary(claim_language) != primary(language) else None
    return {
        "sentences": sentences, "context": [line.text for line in lines], "context_lines": lines, "title": title,
        "language": language, "language_name": language_name(language),
        "claim_language": translated, "claim_language_name": language_name(translated) if translated else None,
    }  # fmt: skip


def uses_claim_language(prompt: PromptVersion) -> bool:
    """Say whether a prompt version's messages ask for the claims in another language when told to."""
    return any(
        "claim_language" in jinja2.meta.find_undeclared_variables(_JINJA.parse(message.content))
        for message in prompt.spec.messages
    )


def render_repair(prompt: PromptVersion, error: str) -> str:
    """Render the re-ask that carries a validation error back to the model."""
    return prompt.repair_template.render(error=error)
