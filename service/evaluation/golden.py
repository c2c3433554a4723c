"""Golden cases: real passages with expectations, and how an extraction result scores against them.

A case (``tests/golden/*.yaml``, documented in ``tests/golden/README.md``) names claims that must be found,
by a substring of their sentence and a key phrase of the quote, sentences that must yield nothing, and a
range for the number of claims. Sentences are located with the pipeline's own segmentation, so "the
sentence containing X" means the same thing here as in the extractor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from schemas import Article, Claim, ExtractionOptions, ExtractionRequest, ExtractionResult
from schemas.claim_types import ClaimType
from service.steps.reading import read_sentences
from service.steps.text import normalize_text

CaseId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=100)]
Phrase = Annotated[str, StringConstraints(min_length=1, pattern=r"\S")]
Span = tuple[int, int]


class CountRange(BaseModel):
    """How many claims the whole passage should yield, bounds included."""

    model_config = ConfigDict(extra="forbid")

    min: int = Field(default=0, ge=0)
    max: int | None = Field(default=None, ge=0, description="No upper bound when absent.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        """Reject a range whose minimum exceeds its maximum."""
        if self.max is not None and self.min > self.max:
            raise ValueError(f"count.min ({self.min}) exceeds count.max ({self.max})")
        return self

    def contains(self, count: int) -> bool:
        """Say whether ``count`` lies within the range."""
        return count >= self.min and (self.max is None or count <= self.max)


class MustFind(BaseModel):
    """A claim that must be found: in the sentence containing ``sentence``, with ``key`` in its quote."""

    model_config = ConfigDict(extra="forbid")

    sentence: Phrase = Field(description="An exact substring of one sentence of the text, occurring once.")
    key: Phrase = Field(description="A phrase the claim's quote must contain (case-insensitive).")
    type: ClaimType | None = None
    claimant: Phrase | None = Field(
        default=None, description="Matches when either name contains the other, case-insensitive."
    )
    mentions: list[Phrase] = Field(
        default_factory=list,
        description="Words the claim's text must contain to stand alone (what a pronoun or 'the company' "
        "refers to), case-insensitive; checked only when given.",
    )


class Expectations(BaseModel):
    """What a good extraction of the passage looks like."""

    model_config = ConfigDict(extra="forbid")

    count: CountRange = Field(default_factory=CountRange)
    must_find: list[MustFind] = Field(default_factory=list)
    must_skip: list[Phrase] = Field(
        default_factory=list, description="Exact substrings of sentences that must yield no claim."
    )


class GoldenCase(BaseModel):
    """One real passage with its provenance and expectations."""

    model_config = ConfigDict(extra="forbid")

    id: CaseId
    source: Phrase = Field(description="Where the text comes from and under which licence.")
    format: Literal["prose", "transcript"]
    title: str | None = None
    text: Phrase
    expect: Expectations

    @model_validator(mode="after")
    def _phrases_occur_once(self) -> Self:
        """Require every ``sentence`` and ``must_skip`` phrase to occur exactly once in the text."""
        phrases = [item.sentence for item in self.expect.must_find] + self.expect.must_skip
        for phrase in phrases:
            occurrences = self.text.count(phrase)
            if occurrences != 1:
                raise ValueError(f"{phrase!r} occurs {occurrences} times in the text of {self.id!r}; it must once")
        return self

    def request(self, options: ExtractionOptions | None = None) -> ExtractionRequest:
        """Return the extraction request for this case."""
        article = Article(id=self.id, title=self.title, text=self.text, format=self.format)
        return ExtractionRequest(article=article, options=options or ExtractionOptions())


class CaseScore(BaseModel):
    """How one extraction result measures up against one case."""

    case_id: str
    claims: int
    must_find: int
    found: int
    recall: float = Field(description="Share of must_find matched; 1 when nothing must be found.")
    precision: float | None = Field(
        description="Share of claims not on a must_skip sentence; null (unmeasured) when the result kept no claim."
    )
    skip_violations: list[str] = Field(description="The must_skip phrases whose sentence yielded a claim.")
    count_ok: bool
    type_accuracy: float | None = Field(description="Over matched must_find with a type; null when none.")
    claimant_accuracy: float | None = Field(description="Over matched must_find with a claimant; null when none.")
    standalone: float | None = Field(
        default=None,
        description="Over matched must_find with mentions: share whose claim text names them all; null when none.",
    )
    missed: list[str] = Field(description="The `sentence` of each must_find that no claim matched.")


def load_case(path: Path) -> GoldenCase:
    """Read and validate one case file; raise ``ValueError`` naming the file when it is invalid."""
    try:
        case = GoldenCase.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as error:
        raise ValueError(f"{path}: {error}") from error
    if case.id != path.stem:
        raise ValueError(f"{path}: id {case.id!r} differs from the file name")
    return case


def load_cases(directory: Path) -> list[GoldenCase]:
    """Load every ``*.yaml`` case of ``directory``, sorted by file name."""
    return [load_case(path) for path in sorted(directory.glob("*.yaml"))]


def score_case(case: GoldenCase, result: ExtractionResult) -> CaseScore:
    """Score an extraction result of the case's text against its expectations."""
    spans = _sentence_spans(case)
    claims = result.claims
    matched = [
        [claim for claim in claims if _on(claim, _span_of(item.sentence, case.text, spans)) and _has_key(claim, item)]
        for item in case.expect.must_find
    ]
    skip_spans = {phrase: _span_of(phrase, case.text, spans) for phrase in case.expect.must_skip}
    on_skip = [claim for claim in claims if any(_on(claim, span) for span in skip_spans.values())]
    found = [(item, hits) for item, hits in zip(case.expect.must_find, matched, strict=True) if hits]
    typed = [any(claim.type == item.type for claim in hits) for item, hits in found if item.type is not None]
    named = [
        any(_same_claimant(claim.claimant, item.claimant) for claim in hits)
        for item, hits in found
        if item.claimant is not None
    ]
    resolved = [any(_mentions_all(claim, item) for claim in hits) for item, hits in found if item.mentions]
    return CaseScore(
        case_id=case.id,
        claims=len(claims),
        must_find=len(case.expect.must_find),
        found=len(found),
        recall=_share(len(found), len(case.expect.must_find)),
        precision=_share(len(claims) - len(on_skip), len(claims)) if claims else None,
        skip_violations=[phrase for phrase, span in skip_spans.items() if any(_on(claim, span) for claim in claims)],
        count_ok=case.expect.count.contains(len(claims)),
        type_accuracy=_share(sum(typed), len(typed)) if typed else None,
        claimant_accuracy=_share(sum(named), len(named)) if named else None,
        standalone=_share(sum(resolved), len(resolved)) if resolved else None,
        missed=[item.sentence for item, hits in zip(case.expect.must_find, matched, strict=True) if not hits],
    )


def _sentence_spans(case: GoldenCase) -> list[Span]:
    """Return the original-text spans of the case's sentences, as the pipeline segments them."""
    normalized = normalize_text(case.text)
    sentences = read_sentences(normalized.text, Article(text=case.text, format=case.format))
    return [normalized.to_original(sentence.start, sentence.end) for sentence in sentences]


def _span_of(phrase: str, text: str, sentences: list[Span]) -> Span:
    """Return the span of the sentence containing ``phrase``, or the phrase's own span when none holds it all."""
    start = text.index(phrase)
    end = start + len(phrase)
    return next(((first, last) for first, last in sentences if first <= start and end <= last), (start, end))


def _on(claim: Claim, span: Span) -> bool:
    """Say whether the claim's quote overlaps the span."""
    return claim.source.start < span[1] and span[0] < claim.source.end


def _has_key(claim: Claim, item: MustFind) -> bool:
    """Say whether the claim's quote contains the key phrase, case-insensitive."""
    return item.key.casefold() in claim.source.quote.casefold()


def _mentions_all(claim: Claim, item: MustFind) -> bool:
    """Say whether the claim's text names everything the expectation says it must, case-insensitive."""
    text = claim.text.casefold()
    return all(mention.casefold() in text for mention in item.mentions)


def _same_claimant(actual: str | None, expected: str | None) -> bool:
    """Say whether two claimant names agree: either contains the other, case-insensitive."""
    if actual is None or expected is None:
        return False
    first, second = actual.casefold().strip(), expected.casefold().strip()
    return first in second or second in first


def _share(part: int, whole: int) -> float:
    """Return ``part / whole``, or 1 for an empty whole."""
    return part / whole if whole else 1.0
