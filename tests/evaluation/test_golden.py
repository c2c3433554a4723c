"""Golden cases (tests/golden): they load, their phrases are unambiguous, and the offline model is scored on them."""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path

import pytest

from schemas import Claim, ClaimSource, ExtractionResult, ModelProvenance, PromptProvenance, Provenance
from service.evaluation.golden import CaseScore, GoldenCase, load_case, load_cases, score_case
from service.pipeline.build import build_pipeline
from service.settings import Settings

GOLDEN_DIR = Path(__file__).parents[1] / "golden"
CASES = load_cases(GOLDEN_DIR)
MIN_CASES = 12
# The offline model's floor (measured 0.86 mean recall when written); raise it when the model improves.
OFFLINE_MEAN_RECALL_FLOOR = 0.8
OFFLINE_MEAN_PRECISION_FLOOR = 0.88
# Cases whose must_skip the offline rules honour; elsewhere they extract opinions and boilerplate
# ("This is a great country.", "Media contact: …"), which the expectations keep as honest failures.
OFFLINE_SKIPS_HOLD = ("cnn-trump-musk-x-stream", "debate1-opening", "debate1-clinton-economy", "vp-pence-indiana")


def test_there_are_enough_cases_of_each_kind() -> None:
    """At least 12 cases, prose and transcripts both, with unique ids."""
    assert len(CASES) >= MIN_CASES
    assert {case.format for case in CASES} == {"prose", "transcript"}
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("path", sorted(GOLDEN_DIR.glob("*.yaml")), ids=lambda path: path.stem)
def test_case_loads_and_validates(path: Path) -> None:
    """Each case file validates, is named for its id, cites a source and expects something."""
    case = load_case(path)
    assert case.id == path.stem
    assert case.source.strip()
    assert case.expect.must_find
    assert case.expect.count.max is None or len(case.expect.must_find) <= case.expect.count.max


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_phrases_occur_exactly_once(case: GoldenCase) -> None:
    """Every must_find sentence and must_skip phrase occurs exactly once in its case's text."""
    phrases = [item.sentence for item in case.expect.must_find] + case.expect.must_skip
    for phrase in phrases:
        assert case.text.count(phrase) == 1, phrase
    for item in case.expect.must_find:
        assert item.key.casefold() in _line_of(case.text, item.sentence).casefold(), item


def test_a_phrase_that_occurs_twice_is_rejected(tmp_path: Path) -> None:
    """Loading fails, naming the file, when a phrase is ambiguous."""
    path = tmp_path / "twice.yaml"
    path.write_text(
        "id: twice\nsource: test\nformat: prose\ntext: 'Jobs rose. Jobs rose.'\n"
        "expect: {must_find: [{sentence: 'Jobs rose.', key: jobs}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"(?s)twice\.yaml.*occurs 2 times"):
        load_case(path)


def test_score_case_counts_matches_skips_types_and_claimants() -> None:
    """Scoring matches by sentence and key, checks type and claimant, and flags must_skip violations."""
    text = "Jobs rose by 206,000 in June, BLS said. Please check back for updates. Wages rose 3.9 percent."
    case = GoldenCase.model_validate(
        {
            "id": "unit",
            "source": "test",
            "format": "prose",
            "text": text,
            "expect": {
                "count": {"min": 1, "max": 2},
                "must_find": [
                    {"sentence": "Jobs rose by 206,000", "key": "206,000", "type": "quantity", "claimant": "bls"},
                    {"sentence": "Wages rose", "key": "3.9 percent", "type": "quantity"},
                ],
                "must_skip": ["Please check back"],
            },
        }
    )
    jobs = _claim(text, "Jobs rose by 206,000 in June", claimant="BLS")
    skip = _claim(text, "Please check back for updates.", claimant=None, type_="other")
    score = score_case(case, _result([jobs, skip]))
    assert (score.found, score.recall, score.precision) == (1, 0.5, 0.5)
    assert score.missed == ["Wages rose"]
    assert score.skip_violations == ["Please check back"]
    assert (score.count_ok, score.type_accuracy, score.claimant_accuracy) == (True, 1.0, 1.0)
    wrong = _claim(text, "Wages rose 3.9 percent.", claimant=None, type_="causal")
    assert score_case(case, _result([wrong])).type_accuracy == 0.0


@pytest.fixture(scope="module")
def offline_scores() -> dict[str, CaseScore]:
    """Every case run through the real pipeline on the offline model (no HTTP, no cache), scored once."""
    pipeline = build_pipeline(Settings(cache_enabled=False))

    async def run() -> dict[str, CaseScore]:
        return {case.id: score_case(case, await pipeline.extract(case.request())) for case in CASES}

    return asyncio.run(run())


def test_offline_model_scores_every_case(offline_scores: dict[str, CaseScore]) -> None:
    """Each case scores within bounds, and the offline model clears its recall and precision floors."""
    print(f"\n{'case':36} claims recall precision count_ok type claimant")
    for case_id, score in offline_scores.items():
        assert 0 <= score.found <= score.must_find
        assert 0.0 <= score.precision <= 1.0
        print(
            f"{case_id:36} {score.claims:6} {score.recall:6.2f} {score.precision:9.2f} {score.count_ok!s:8} "
            f"{score.type_accuracy} {score.claimant_accuracy}"
        )
    assert set(offline_scores) == {case.id for case in CASES}
    assert statistics.mean(score.recall for score in offline_scores.values()) >= OFFLINE_MEAN_RECALL_FLOOR
    assert statistics.mean(score.precision for score in offline_scores.values()) >= OFFLINE_MEAN_PRECISION_FLOOR


@pytest.mark.parametrize("case_id", OFFLINE_SKIPS_HOLD)
def test_offline_model_honours_must_skip(offline_scores: dict[str, CaseScore], case_id: str) -> None:
    """On these cases the offline model yields nothing from any must_skip sentence and stays in the count range."""
    score = offline_scores[case_id]
    assert score.skip_violations == []
    assert score.count_ok


def _line_of(text: str, phrase: str) -> str:
    """Return the line of ``text`` containing ``phrase``."""
    return next(line for line in text.splitlines() if phrase in line)


def _claim(text: str, quote: str, claimant: str | None, type_: str = "quantity") -> Claim:
    """Build a claim grounded on ``quote`` in ``text``."""
    start = text.index(quote)
    return Claim.model_validate(
        {
            "id": f"clm_{start}",
            "text": quote,
            "type": type_,
            "claimant": claimant,
            "attribution": "author",
            "checkworthiness": 0.5,
            "source": ClaimSource(quote=quote, start=start, end=start + len(quote), sentence_ids=[1]),
            "chunk": 1,
            "model_alias": "default",
            "model": "offline/rules",
        }
    )


def _result(claims: list[Claim]) -> ExtractionResult:
    """Wrap claims in an extraction result."""
    provenance = Provenance(
        requested_model="default",
        models=[ModelProvenance(alias="default", model="offline/rules", chunks=1, fallback=False)],
        fallback_used=False,
        prompt=PromptProvenance(name="extract_claims", version=1, sha256="0" * 64),
        service_version="0",
    )
    return ExtractionResult.model_validate(
        {"article_id": "unit", "status": "complete", "claims": claims, "provenance": provenance, "usage": {}}
    )
