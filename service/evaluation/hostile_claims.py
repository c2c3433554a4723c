"""Hostile claims: what the faithfulness gate keeps of claims whose text does not say what their quote says.

For every sentence of an article's chunks two hostile claims are made, each quoting the sentence itself
(so grounding keeps them): one whose text is the next sentence of the chunk (another sentence's content
pasted onto the quote, all its names and numbers from the chunk), and one whose text negates the sentence
("… was not …", else "It is false that …"). Each is grounded and gated as the pipeline does
(``ground_claims``, ``chunk_support``, ``check_faithfulness``). A good gate keeps none of them. Run:
``python -m service.evaluation.hostile_claims FILE…`` (articles as plain text, or golden-case YAML files).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from schemas import Article, ModelClaim
from service.settings import Settings
from service.steps.chunking import Chunk, chunk_sentences
from service.steps.faithfulness import check_faithfulness, chunk_support
from service.steps.grounding import Producer, ground_claims
from service.steps.reading import read_sentences
from service.steps.text import normalize_text

PRODUCER = Producer(alias="hostile", model="hostile/model")
MIN_WORDS = 4  # shorter sentences ("Thank you.") make no claim worth pasting
AUXILIARY = re.compile(r"\b(is|are|was|were|has|have|had|will|would|can|could|does|did|should|must)\b")


@dataclass(frozen=True, slots=True)
class HostileCount:
    """How many hostile claims of each kind were made, and how many the gate kept."""

    pasted: int = 0
    pasted_kept: int = 0
    negated: int = 0
    negated_kept: int = 0

    def __add__(self, other: HostileCount) -> HostileCount:
        """Add two counts."""
        return HostileCount(
            self.pasted + other.pasted,
            self.pasted_kept + other.pasted_kept,
            self.negated + other.negated,
            self.negated_kept + other.negated_kept,
        )


def negated(sentence: str) -> str:
    """Return the sentence negated: "not" after its first auxiliary, else "It is false that …"."""
    auxiliary = AUXILIARY.search(sentence)
    if auxiliary is not None:
        return f"{sentence[: auxiliary.end()]} not{sentence[auxiliary.end() :]}"
    return f"It is false that {sentence[:1].lower()}{sentence[1:]}"


def _claim(number: int, quote: str, text: str) -> ModelClaim:
    """Return a model claim quoting sentence ``number`` of its chunk with another text."""
    return ModelClaim(sentence_ids=[number], quote=quote, text=text, type="other", checkworthiness=0.5)


def hostile_claims(chunk: Chunk) -> Iterator[tuple[str, ModelClaim]]:
    """Yield the chunk's hostile claims, each with its kind (``pasted`` or ``negated``)."""
    usable = [(n, s.text) for n, s in enumerate(chunk.sentences, start=1) if len(s.text.split()) >= MIN_WORDS]
    for position, (number, text) in enumerate(usable):
        pasted = usable[(position + 1) % len(usable)][1]
        if pasted.casefold() != text.casefold():  # a sentence said twice ("They're going to Mexico.") is no paste
            yield "pasted", _claim(number, text, pasted)
        yield "negated", _claim(number, text, negated(text))


def count_article(article: Article) -> HostileCount:
    """Make the hostile claims of an article's chunks and count what the gate keeps of them."""
    settings = Settings()
    normalized = normalize_text(article.text)
    sentences = read_sentences(normalized.text, article)
    count = HostileCount()
    for chunk in chunk_sentences(sentences, settings.chunk_tokens, settings.context_sentences):
        made = list(hostile_claims(chunk))
        grounded, _ = ground_claims([claim for _, claim in made], chunk, normalized, article.text, PRODUCER)
        kept, _ = check_faithfulness(grounded, chunk_support(chunk, article.title), "drop", chunk.index)
        kinds = {id(claim): kind for kind, claim in made}
        kept_kinds = [kinds[id(claim.claim)] for claim in kept]
        made_kinds = [kinds[id(claim.claim)] for claim in grounded]
        count += HostileCount(
            made_kinds.count("pasted"),
            kept_kinds.count("pasted"),
            made_kinds.count("negated"),
            kept_kinds.count("negated"),
        )
    return count


def read_article(path: Path) -> Article:
    """Read an article from a text file, or from a golden case's YAML (its text, title and format)."""
    if path.suffix in (".yaml", ".yml"):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Article(text=case["text"], title=case.get("title"), format=case.get("format", "auto"))
    return Article(text=path.read_text(encoding="utf-8"))


def count_files(paths: Iterable[Path]) -> HostileCount:
    """Count the hostile claims of every article file, all together."""
    total = HostileCount()
    for path in paths:
        total += count_article(read_article(path))
    return total


if __name__ == "__main__":
    print(json.dumps(asdict(count_files(Path(argument) for argument in sys.argv[1:]))))
