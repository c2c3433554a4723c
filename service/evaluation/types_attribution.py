"""Type, attribution and claimant accuracy on a labelled sample of sentences from news and transcripts.

The sample is a YAML list; each item has the sentence ``text``, its Full Fact ``type``, its
``attribution`` (``author``, ``quoted`` or ``reported``), optionally its ``claimant`` and, for a line of a
transcript, its ``speaker``. Each item is sent through the real pipeline on its own, a transcript line as
``SPEAKER: text`` with ``format: transcript``; the most check-worthy claim on the sentence is compared
with the labels. Coverage is the share of items that yield a claim; the accuracies are over those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, TypeAdapter

from schemas import Article, Claim, ExtractionOptions, ExtractionRequest
from schemas.claim_types import Attribution, ClaimType
from service.evaluation.checkworthiness import evaluation_settings


class LabelledSentence(BaseModel):
    """One labelled sentence of the sample."""

    model_config = ConfigDict(extra="forbid")

    text: str
    type: ClaimType
    attribution: Attribution
    claimant: str | None = None
    speaker: str | None = None
    origin: Literal["news", "transcript"] = "news"


@dataclass
class ItemOutcome:
    """What the pipeline made of one labelled sentence."""

    item: LabelledSentence
    claim: Claim | None


@dataclass
class TypesReport:
    """Coverage and accuracies over the labelled sample."""

    outcomes: list[ItemOutcome] = field(default_factory=list)

    def _share(self, hits: Sequence[bool]) -> float:
        """Return the share of ``True`` in ``hits`` (0 when empty)."""
        return sum(hits) / len(hits) if hits else 0.0

    @property
    def found(self) -> list[ItemOutcome]:
        """Return the outcomes that yielded a claim."""
        return [outcome for outcome in self.outcomes if outcome.claim is not None]

    @property
    def coverage(self) -> float:
        """Return the share of labelled sentences that yielded a claim."""
        return self._share([outcome.claim is not None for outcome in self.outcomes])

    @property
    def type_accuracy(self) -> float:
        """Return the share of claims found whose type is the labelled one."""
        return self._share([o.claim is not None and o.claim.type == o.item.type for o in self.found])

    @property
    def attribution_accuracy(self) -> float:
        """Return the share of claims found whose attribution is the labelled one."""
        return self._share([o.claim is not None and o.claim.attribution == o.item.attribution for o in self.found])

    @property
    def claimant_accuracy(self) -> float:
        """Return the share of claims found with a labelled claimant whose claimant matches (letter case aside)."""
        labelled = [o for o in self.found if o.item.claimant]
        return self._share([_same_name(o.claim.claimant if o.claim else None, o.item.claimant) for o in labelled])

    def summary(self) -> dict[str, Any]:
        """Return the figures as a JSON-ready mapping."""
        return {
            "sentences": len(self.outcomes),
            "claims_found": len(self.found),
            "coverage": round(self.coverage, 4),
            "type_accuracy": round(self.type_accuracy, 4),
            "attribution_accuracy": round(self.attribution_accuracy, 4),
            "claimant_accuracy": round(self.claimant_accuracy, 4),
            "claimants_labelled": sum(1 for o in self.found if o.item.claimant),
        }


def _same_name(found: str | None, expected: str | None) -> bool:
    """Tell whether two claimant names agree, letter case and surrounding blanks aside."""
    return (found or "").strip().casefold() == (expected or "").strip().casefold()


def read_labelled_sentences(path: Path) -> list[LabelledSentence]:
    """Read and validate the labelled sample."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return TypeAdapter(list[LabelledSentence]).validate_python(document)


def labelled_request(item: LabelledSentence) -> ExtractionRequest:
    """Return the request for one labelled sentence: a one-line transcript when it has a speaker."""
    article: dict[str, object] = {"text": item.text}
    if item.speaker:
        article["text"] = f"{item.speaker}: {item.text}"
        if "format" in Article.model_fields:
            article["format"] = "transcript"
    return ExtractionRequest(article=Article.model_validate(article), options=ExtractionOptions(cache=False))


async def evaluate_types(items: Sequence[LabelledSentence]) -> TypesReport:
    """Run every labelled sentence through the real pipeline on the offline model and compare the labels."""
    from service.pipeline.build import build_pipeline  # the app stack (litellm) loads only when an evaluation runs

    pipeline = build_pipeline(evaluation_settings())
    report = TypesReport()
    for item in items:
        result = await pipeline.extract(labelled_request(item))
        best = max(result.claims, key=lambda claim: claim.checkworthiness, default=None)
        report.outcomes.append(ItemOutcome(item, best))
    await pipeline.close()
    return report
