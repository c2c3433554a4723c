"""Check-worthiness on CLEF CheckThat! transcripts, measured through the real pipeline.

A transcript file has one sentence a line, ``line_number <TAB> speaker <TAB> sentence <TAB> label``, the
label 1 when journalists judged the sentence worth checking. Each transcript is sent to the pipeline as an
article of ``SPEAKER: sentence`` lines (``format: transcript``), on the offline model with the cache off.
A line's score is the highest ``checkworthiness`` of the claims whose span overlaps its sentence, 0 when
none does; the lines ranked by that score give CLEF's measures: average precision (MAP over transcripts,
the lab's official measure), R-precision and precision at 10, 20 and 50. Claimant accuracy is the share of
claims whose claimant is the line's speaker, letter case aside.

A transcript whose digest the coefficients list among their training data is flagged ``in_sample``.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from schemas import Article, ExtractionOptions, ExtractionRequest, ExtractionResult
from service.evaluation.metrics import average_precision, precision_at, r_precision
from service.offline import OFFLINE_MODEL
from service.offline.checkworthiness import CheckworthinessModel, active_model, transcript_digest, use_model
from service.settings import ModelEntry, Settings

CUTOFFS = (10, 20, 50)
TRANSCRIPT_SUFFIXES = (".tsv", ".txt")
NOT_TRANSCRIPTS = frozenset(("MANIFEST.tsv", "README.txt"))  # a data folder's index and notes
OFFLINE_ALIAS = "offline"


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One labelled sentence of a transcript."""

    number: int
    speaker: str
    text: str
    label: int


@dataclass(frozen=True)
class Transcript:
    """A labelled transcript: its name (the file's stem) and its lines in order."""

    name: str
    lines: tuple[TranscriptLine, ...]

    @property
    def digest(self) -> str:
        """Return the digest of the transcript's sentences (the same whatever the file is called)."""
        return transcript_digest([line.text for line in self.lines])


@dataclass
class TranscriptScore:
    """The measures of one transcript."""

    name: str
    digest: str
    in_sample: bool
    lines: int
    positives: int
    claims: int
    average_precision: float
    r_precision: float
    precision: dict[int, float]
    claimant_correct: int
    claimant_total: int


@dataclass
class CheckworthinessReport:
    """The measures of every transcript and their means (MAP is the mean of average precision)."""

    transcripts: list[TranscriptScore] = field(default_factory=list)

    def mean(self, measure: str) -> float:
        """Return the mean over transcripts of ``average_precision``, ``r_precision`` or ``p@k``."""
        if not self.transcripts:
            return 0.0
        if measure.startswith("p@"):
            k = int(measure[2:])
            return sum(score.precision[k] for score in self.transcripts) / len(self.transcripts)
        return sum(float(getattr(score, measure)) for score in self.transcripts) / len(self.transcripts)

    @property
    def claimant_accuracy(self) -> float:
        """Return the share of all claims whose claimant is their line's speaker."""
        total = sum(score.claimant_total for score in self.transcripts)
        return sum(score.claimant_correct for score in self.transcripts) / total if total else 0.0


def parse_transcript(name: str, content: str) -> Transcript:
    """Parse a transcript's tab-separated lines; raise ValueError naming the first malformed line."""
    lines = []
    for row, raw in enumerate(content.splitlines(), start=1):
        raw = raw.rstrip("\r")
        if not raw.strip():
            continue
        cells = raw.split("\t")
        if len(cells) != 4 or not cells[0].strip().isdigit() or cells[3].strip() not in ("0", "1"):
            raise ValueError(f"{name} line {row}: expected 'number<TAB>speaker<TAB>sentence<TAB>0|1'")
        lines.append(TranscriptLine(int(cells[0]), cells[1].strip(), cells[2].strip(), int(cells[3])))
    return Transcript(name, tuple(lines))


def read_transcripts(directory: Path) -> list[Transcript]:
    """Read every ``*.tsv`` and ``*.txt`` transcript of a directory (not its ``MANIFEST.tsv``), sorted by name."""
    paths = sorted(
        path
        for path in directory.iterdir()
        if path.suffix in TRANSCRIPT_SUFFIXES and path.is_file() and path.name not in NOT_TRANSCRIPTS
    )
    return [parse_transcript(path.stem, path.read_text(encoding="utf-8")) for path in paths]


def transcript_article(transcript: Transcript) -> tuple[str, list[tuple[int, int]]]:
    """Return the article text (``SPEAKER: sentence`` lines) and each line's sentence span in it."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in transcript.lines:
        label = f"{line.speaker or 'UNKNOWN'}: "
        spans.append((offset + len(label), offset + len(label) + len(line.text)))
        parts.append(label + line.text)
        offset += len(label) + len(line.text) + 1
    return "\n".join(parts), spans


def line_scores(result: ExtractionResult, spans: Sequence[tuple[int, int]]) -> tuple[list[float], list[list[int]]]:
    """Return each line's score (its claims' best check-worthiness) and the indices of its claims."""
    starts = [start for start, _ in spans]
    scores = [0.0] * len(spans)
    claims: list[list[int]] = [[] for _ in spans]
    for index, claim in enumerate(result.claims):
        line = max(0, bisect.bisect_right(starts, claim.source.start) - 1)
        while line < len(spans) and spans[line][0] < claim.source.end:
            if spans[line][1] > claim.source.start:
                scores[line] = max(scores[line], claim.checkworthiness)
                claims[line].append(index)
            line += 1
    return scores, claims


def evaluation_settings(max_article_chars: int = 10_000_000) -> Settings:
    """Return settings for an evaluation: the offline model only, no cache, room for a whole debate."""
    return Settings(
        models=[ModelEntry(model_name=OFFLINE_ALIAS, litellm_params={"model": OFFLINE_MODEL})],
        default_model=OFFLINE_ALIAS,
        cache_enabled=False,
        max_article_chars=max_article_chars,
    )


def transcript_request(transcript: Transcript, text: str) -> ExtractionRequest:
    """Return the extraction request of a transcript (declared a transcript when the contract allows it)."""
    article: dict[str, object] = {"id": transcript.name, "text": text}
    if "format" in Article.model_fields:
        article["format"] = "transcript"
    return ExtractionRequest(article=Article.model_validate(article), options=ExtractionOptions(cache=False))


def score_result(
    transcript: Transcript, result: ExtractionResult, spans: Sequence[tuple[int, int]], trained_on: Sequence[str]
) -> TranscriptScore:
    """Measure one transcript's extraction against its labels."""
    scores, claims_by_line = line_scores(result, spans)
    labels = [line.label for line in transcript.lines]
    correct = total = 0
    for line, claim_indices in zip(transcript.lines, claims_by_line, strict=True):
        for index in claim_indices:
            total += 1
            claimant = result.claims[index].claimant or ""
            correct += claimant.strip().casefold() == line.speaker.strip().casefold()
    return TranscriptScore(
        name=transcript.name,
        digest=transcript.digest,
        in_sample=transcript.digest in trained_on,
        lines=len(labels),
        positives=sum(labels),
        claims=len(result.claims),
        average_precision=average_precision(scores, labels),
        r_precision=r_precision(scores, labels),
        precision={k: precision_at(scores, labels, k) for k in CUTOFFS},
        claimant_correct=correct,
        claimant_total=total,
    )


async def evaluate_checkworthiness(
    transcripts: Sequence[Transcript], model: CheckworthinessModel | None = None
) -> CheckworthinessReport:
    """Run each transcript through the real pipeline on the offline model and measure the ranking."""
    from service.pipeline.build import build_pipeline  # the app stack (litellm) loads only when an evaluation runs

    report = CheckworthinessReport()
    longest = max((len(transcript_article(t)[0]) for t in transcripts), default=0)
    pipeline = build_pipeline(evaluation_settings(max(longest, 1)))
    with use_model(model or active_model()) as scoring:
        for transcript in transcripts:
            text, spans = transcript_article(transcript)
            result = await pipeline.extract(transcript_request(transcript, text))
            report.transcripts.append(score_result(transcript, result, spans, scoring.trained_on))
    await pipeline.close()
    return report
