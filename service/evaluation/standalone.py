"""Standalone claims on a labelled development set: the form a fact-checker would quote, and the flag.

The set is a YAML list (``tests/labelled/standalone.yaml``); each item is a sentence with the lines before it
(``context``), its ``speaker`` for a transcript line, its ``gold`` standalone form (brackets for what the
context fills in; the sentence itself when absent) and whether that form ``standalone``. Each item is sent
through the real pipeline on the offline model as one short article (context, then the sentence), and the
claim on the sentence is compared with the labels:

* ``coverage``: the share of items that yield a claim on the sentence;
* ``form_accuracy``: of those, the share whose text is the gold form (case, quote-mark styles, a leading
  connective and the closing punctuation aside); ``resolved`` and ``kept_as_is`` split it between the items
  whose gold form fills something in and those whose gold form is the sentence itself;
* ``flag_accuracy``: of those, the share whose ``standalone`` is the gold one;
* ``detection_accuracy``: over every item, no model involved, whether ``is_standalone`` of the bare sentence
  (its speaker as claimant) says what the labels say of it (it stands alone as written).

Run: ``python -m service.evaluation.standalone [FILE]`` (prints the figures as JSON).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, TypeAdapter

from schemas import Article, Claim, ExtractionOptions, ExtractionRequest
from service.evaluation.checkworthiness import evaluation_settings
from service.steps.standalone import is_standalone

DEFAULT_SET = Path(__file__).parents[2] / "tests" / "labelled" / "standalone.yaml"
_LEADING_CONNECTIVE = re.compile(r"^(?:(?:and|but|so|yet|however|also|still)\b,?\s*)+", re.IGNORECASE)
_FOLDED = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})


class StandaloneItem(BaseModel):
    """One labelled sentence: what comes before it, and its gold standalone form."""

    model_config = ConfigDict(extra="forbid")

    origin: Literal["sample", "debate", "written"]
    context: list[str] = []
    speaker: str | None = None
    text: str
    gold: str | None = None
    standalone: bool

    @property
    def gold_form(self) -> str:
        """Return the gold form: the bracketed rewrite, or the sentence itself."""
        return self.gold or self.text

    @property
    def stands_as_written(self) -> bool:
        """Tell whether the sentence, as written, stands alone (nothing to fill in, nothing left unresolved)."""
        return self.standalone and same_form(self.gold_form, self.text)


@dataclass
class StandaloneOutcome:
    """What the pipeline made of one item: the claim on its sentence, if any."""

    item: StandaloneItem
    claim: Claim | None


@dataclass
class StandaloneReport:
    """The figures over the labelled set."""

    outcomes: list[StandaloneOutcome] = field(default_factory=list)

    @property
    def found(self) -> list[tuple[StandaloneItem, Claim]]:
        """Return the items that yielded a claim, with it."""
        return [(outcome.item, outcome.claim) for outcome in self.outcomes if outcome.claim is not None]

    def summary(self) -> dict[str, Any]:
        """Return the figures as a JSON-ready mapping."""
        found = self.found
        filled = [(item, claim) for item, claim in found if not same_form(item.gold_form, item.text)]
        as_is = [(item, claim) for item, claim in found if same_form(item.gold_form, item.text)]
        flags = [getattr(claim, "standalone", None) == item.standalone for item, claim in found]
        items = [outcome.item for outcome in self.outcomes]
        return {
            "items": len(items),
            "claims_found": len(found),
            "coverage": _share([outcome.claim is not None for outcome in self.outcomes]),
            "form_accuracy": _share([same_form(claim.text, item.gold_form) for item, claim in found]),
            "resolved": _share([same_form(claim.text, item.gold_form) for item, claim in filled]),
            "resolvable_found": len(filled),
            "kept_as_is": _share([same_form(claim.text, item.gold_form) for item, claim in as_is]),
            "flag_accuracy": _share(flags),
            "detection_accuracy": _share([is_standalone(i.text, i.speaker) == i.stands_as_written for i in items]),
        }


def _share(hits: Sequence[bool]) -> float:
    """Return the share of ``True`` in ``hits``, rounded to four decimals (0 when empty)."""
    return round(sum(hits) / len(hits), 4) if hits else 0.0


def same_form(found: str, expected: str) -> bool:
    """Tell whether two forms of a claim agree: case, quote marks, a leading connective, end punctuation aside.

    A possessive inside or after a bracket is the same ("[Nvidia's] revenue", "[Nvidia]'s revenue").
    """
    return _comparable(found) == _comparable(expected)


def _comparable(text: str) -> str:
    """Fold a claim's text for comparison."""
    folded = " ".join(text.translate(_FOLDED).split()).strip().rstrip(".!;:").casefold().replace("]'s", "'s]")
    return _LEADING_CONNECTIVE.sub("", folded)


def read_standalone_items(path: Path) -> list[StandaloneItem]:
    """Read and validate the labelled set."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return TypeAdapter(list[StandaloneItem]).validate_python(document)


def item_request(item: StandaloneItem) -> tuple[ExtractionRequest, int]:
    """Return the request for one item (its context, then its sentence) and where the sentence starts in it."""
    line = f"{item.speaker}: {item.text}" if item.speaker else item.text
    before = "".join(f"{context}\n" for context in item.context)
    article = Article(text=before + line, format="transcript" if item.speaker else "prose")
    return ExtractionRequest(article=article, options=ExtractionOptions(cache=False)), len(before)


async def evaluate_standalone(items: Sequence[StandaloneItem]) -> StandaloneReport:
    """Run every item through the real pipeline on the offline model and compare its claim with the labels."""
    from service.pipeline.build import build_pipeline  # the app stack (litellm) loads only when an evaluation runs

    pipeline = build_pipeline(evaluation_settings())
    report = StandaloneReport()
    for item in items:
        request, start = item_request(item)
        result = await pipeline.extract(request)
        on_sentence = [claim for claim in result.claims if claim.source.start >= start]
        report.outcomes.append(StandaloneOutcome(item, on_sentence[0] if on_sentence else None))
    await pipeline.close()
    return report


if __name__ == "__main__":
    labelled = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SET
    print(json.dumps(asyncio.run(evaluate_standalone(read_standalone_items(labelled))).summary()))
