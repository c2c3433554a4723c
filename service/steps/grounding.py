"""Ground model claims in the article: cited sentences must be in the chunk, the quote must be in them.

Matching tolerates what models change when they copy: runs of white space, curly versus straight quote
marks and dashes, letter case, and a transcript line's ``SPEAKER:`` label copied into the quote. The
quote must lie within a run of consecutive cited sentences, never across one the claim did not cite.
What is returned is always the original article's own characters: ``quote == article.text[start:end]``,
exactly. A claim that cannot be grounded is dropped with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from schemas import ModelClaim, Notice
from service.steps.chunking import Chunk
from service.steps.text import NormalizedText, Sentence

_FOLDED = str.maketrans(
    {
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
        "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Producer:
    """The model whose reply a claim came from: its configured alias and provider model."""

    alias: str
    model: str


@dataclass(frozen=True, slots=True)
class GroundedClaim:
    """A model claim pinned to an exact span of the original article text, with the model that made it."""

    claim: ModelClaim
    chunk: int
    sentence_ids: tuple[int, ...]
    start: int
    end: int
    quote: str
    producer: Producer


def _fold_char(char: str) -> str:
    """Fold one character for tolerant matching (quote marks, dashes, case), keeping its length one."""
    folded = char.translate(_FOLDED).lower()
    return folded if len(folded) == 1 else char


def _canonical(text: str) -> tuple[str, list[int]]:
    """Return ``text`` folded with white space runs collapsed, and each folded char's index in ``text``."""
    chars: list[str] = []
    positions: list[int] = []
    for index, char in enumerate(text):
        if char.isspace():
            if chars and chars[-1] == " ":
                continue
            char = " "
        chars.append(_fold_char(char))
        positions.append(index)
    return "".join(chars), positions


def _find_quote(quote: str, region: str) -> tuple[int, int] | None:
    """Return the ``[start, end)`` of ``quote`` inside ``region``, tolerant of copying noise, or None."""
    exact = quote.strip()
    found_exactly = region.find(exact) if exact else -1
    if found_exactly >= 0:  # the usual case: the quote was copied verbatim
        return found_exactly, found_exactly + len(exact)
    needle, _ = _canonical(exact)
    haystack, positions = _canonical(region)
    found = haystack.find(needle) if needle else -1
    if found < 0:
        return None
    return positions[found], positions[found + len(needle) - 1] + 1


def _cited_sentences(claim: ModelClaim, chunk: Chunk) -> list[Sentence] | None:
    """Return the chunk sentences a claim cites by local id, or None if it cites any outside the chunk."""
    if any(not 1 <= local_id <= len(chunk.sentences) for local_id in claim.sentence_ids):
        return None
    return [chunk.sentences[local_id - 1] for local_id in sorted(set(claim.sentence_ids))]


def _runs(cited: Sequence[Sentence]) -> list[tuple[Sentence, Sentence]]:
    """Return the first and last sentence of each run of consecutive cited sentences."""
    runs: list[tuple[Sentence, Sentence]] = []
    for sentence in cited:
        if runs and runs[-1][1].id == sentence.id - 1:
            runs[-1] = (runs[-1][0], sentence)
        else:
            runs.append((sentence, sentence))
    return runs


def _without_speaker_label(quote: str, speaker: str | None) -> str | None:
    """Return the quote without a leading ``SPEAKER:`` label copied from the prompt's line, if it has one."""
    if speaker is None:
        return None
    head, colon, rest = quote.strip().partition(":")
    return rest.strip() if colon and head.strip().casefold() == speaker.casefold() and rest.strip() else None


def _locate(claim: ModelClaim, cited: Sequence[Sentence], working: str) -> tuple[int, int] | None:
    """Find the claim's quote within a run of its cited sentences (never across one it did not cite)."""
    quotes = [claim.quote, _without_speaker_label(claim.quote, cited[0].speaker)]
    for quote in (quote for quote in quotes if quote):
        for first, last in _runs(cited):
            found = _find_quote(quote, working[first.start : last.end])
            if found is not None:
                return first.start + found[0], first.start + found[1]
    return None


def ground_claim(
    claim: ModelClaim, chunk: Chunk, normalized: NormalizedText, original: str, producer: Producer
) -> GroundedClaim | Notice:
    """Ground one claim of ``producer``'s reply, or explain in a warning why it was dropped."""
    cited = _cited_sentences(claim, chunk)
    if cited is None:
        ids = ", ".join(f"S{i}" for i in claim.sentence_ids)
        return Notice(
            chunk=chunk.index,
            code="claim_outside_chunk_dropped",
            detail=f"claim {claim.text[:80]!r} cites {ids}; this chunk has S1-S{len(chunk.sentences)}",
        )
    span = _locate(claim, cited, normalized.text)
    if span is None:
        return Notice(
            chunk=chunk.index,
            code="ungrounded_claim_dropped",
            detail=f"quote {claim.quote[:80]!r} is not in the cited sentences",
        )
    start, end = normalized.to_original(*span)
    return GroundedClaim(
        claim=claim,
        chunk=chunk.index,
        sentence_ids=tuple(sentence.id for sentence in cited),
        start=start,
        end=end,
        quote=original[start:end],
        producer=producer,
    )


def ground_claims(
    claims: Sequence[ModelClaim], chunk: Chunk, normalized: NormalizedText, original: str, producer: Producer
) -> tuple[list[GroundedClaim], list[Notice]]:
    """Ground every claim of a chunk's reply; return those kept and a warning per claim dropped."""
    kept: list[GroundedClaim] = []
    warnings: list[Notice] = []
    for claim in claims:
        outcome = ground_claim(claim, chunk, normalized, original, producer)
        if isinstance(outcome, GroundedClaim):
            kept.append(outcome)
        else:
            warnings.append(outcome)
    return kept, warnings
