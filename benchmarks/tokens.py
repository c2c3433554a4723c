"""Token counts with one tokenizer for everything: what the service sent, and what a naive pipeline would.

The tokenizer is tiktoken's ``o200k_base`` (GPT-4o's), read offline from the copy litellm bundles; chat
messages are counted as OpenAI bills them (3 tokens a message plus 3 to prime the reply). The fake
provider counts the messages it receives with it, and the sentence-by-sentence baseline (one call per
sentence with ±5 sentences of context, Claimify/VeriScore style) is rendered with the service's own
prompt and counted with the same function.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3
BASELINE_WINDOW = 5
ENCODINGS = ("o200k_base", "cl100k_base")


def _bundled_tokenizers_dir() -> str | None:
    """Return litellm's bundled tiktoken cache directory, found without importing litellm."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers"
    return str(folder) if folder.is_dir() else None


@cache
def encoding() -> Any:
    """Return the tiktoken encoding used for every count (loaded offline, once)."""
    import tiktoken

    bundled = _bundled_tokenizers_dir()
    if bundled and "TIKTOKEN_CACHE_DIR" not in os.environ:
        os.environ["TIKTOKEN_CACHE_DIR"] = bundled
    for name in ENCODINGS:
        try:
            return tiktoken.get_encoding(name)
        except Exception:  # noqa: S112 -- not cached offline; try the next encoding
            continue
    raise RuntimeError("no tiktoken encoding is available offline")


def encoding_name() -> str:
    """Return the name of the encoding in use."""
    return str(encoding().name)


def count_text(text: str) -> int:
    """Count the tokens of a text."""
    return len(encoding().encode(text, disallowed_special=()))


def count_messages(messages: Iterable[Mapping[str, Any]]) -> int:
    """Count the prompt tokens of chat messages, as OpenAI bills them."""
    total = TOKENS_PER_REPLY
    for message in messages:
        total += TOKENS_PER_MESSAGE + count_text(str(message.get("role", ""))) + count_text(_content(message))
    return total


def _content(message: Mapping[str, Any]) -> str:
    """Return a message's text content (string or a list of text parts)."""
    content = message.get("content") or ""
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return str(content)


def sentence_pipeline_tokens(article: str, title: str | None, window: int = BASELINE_WINDOW) -> tuple[int, int]:
    """Return (prompt tokens, calls) of a sentence-by-sentence pipeline with ±``window`` sentences of context."""
    from service.prompts.registry import PromptRegistry, default_prompts_dir
    from service.prompts.rendering import PromptSentence, render_prompt
    from service.settings import Settings
    from service.steps.text import normalize_text, segment_sentences

    prompt = PromptRegistry.load(default_prompts_dir()).get(Settings().prompt)  # the version the service sends
    sentences = [s.text for s in segment_sentences(normalize_text(article).text)]
    total = 0
    for index, sentence in enumerate(sentences):
        context = _window(sentences, index, window)
        messages = render_prompt(prompt, sentences=[PromptSentence(id=1, text=sentence)], context=context, title=title)
        total += count_messages(messages)
    return total, len(sentences)


def _window(sentences: Sequence[str], index: int, window: int) -> list[str]:
    """Return the sentences within ``window`` of ``index``, before and after, without it."""
    return [*sentences[max(0, index - window) : index], *sentences[index + 1 : index + 1 + window]]
