"""Tests of ``service/pipeline/checked_before.py``: each claim given the archive's fact-checks it repeats, or none."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from schemas import ExtractionRequest
from schemas.factchecks import FactCheck
from service.factchecks.matching import MATCH_THRESHOLD
from service.pipeline.build import build_pipeline
from service.pipeline.extraction import Pipeline
from service.settings import Settings

ARTICLE = (
    "The mayor spoke at the town hall on Tuesday. "
    "The FBI's report says violent crime is down 15.2% from January through March. "
    "The new bridge will open to traffic in 2027, the city's transport office said."
)
CRIME = FactCheck(
    url="https://fc.example/crime", claim_reviewed="The FBI says violent crime fell 15.2% in early 2024",
    title="Is violent crime down 15.2%?", rating="True", publisher="Snopes", language="en",
)  # fmt: skip
MOON = FactCheck(url="https://fc.example/moon", claim_reviewed="The moon landing was staged", title="Staged?")


async def pipeline_with(tmp_path: Path, **settings: object) -> Pipeline:
    """Return the offline pipeline with an archive holding two fact-checks."""
    pipeline = build_pipeline(Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", **settings))
    assert pipeline.archive is not None
    await pipeline.archive.sync()
    await pipeline.archive.upsert([CRIME, MOON])
    return pipeline


@pytest.fixture
async def pipeline(tmp_path: Path) -> AsyncIterator[Pipeline]:
    """The offline pipeline and its archive of two fact-checks."""
    built = await pipeline_with(tmp_path)
    yield built
    await built.close()


async def test_a_claim_that_repeats_a_fact_check_carries_it_and_the_others_an_empty_list(pipeline: Pipeline) -> None:
    """Asked for: the crime claim lists the crime fact-check with its score; a claim matching none gets []."""
    request = ExtractionRequest.model_validate({"article": {"text": ARTICLE}, "options": {"match_factchecks": True}})
    claims = (await pipeline.extract(request)).claims
    by_text = {claim.text: claim.fact_checks for claim in claims}
    crime = next(found for text, found in by_text.items() if "15.2%" in text)
    assert crime is not None
    assert [match.model_dump(exclude={"score"}) for match in crime] == [CRIME.model_dump()]
    assert crime[0].score >= MATCH_THRESHOLD
    bridge = next(found for text, found in by_text.items() if "bridge" in text)
    assert bridge == []


async def test_without_asking_no_claim_is_matched(pipeline: Pipeline) -> None:
    """Not asked (and not configured): every claim's ``fact_checks`` is null, not an empty list."""
    claims = (await pipeline.extract(ExtractionRequest.model_validate({"article": {"text": ARTICLE}}))).claims
    assert claims
    assert {claim.fact_checks is None for claim in claims} == {True}


async def test_the_setting_matches_when_a_request_does_not_say_and_a_request_can_refuse(tmp_path: Path) -> None:
    """``match_factchecks: true`` in the config matches every request's claims, unless the request says false."""
    pipeline = await pipeline_with(tmp_path, match_factchecks=True)
    try:
        default = await pipeline.extract(ExtractionRequest.model_validate({"article": {"text": ARTICLE}}))
        refused = await pipeline.extract(
            ExtractionRequest.model_validate({"article": {"text": ARTICLE}, "options": {"match_factchecks": False}})
        )
    finally:
        await pipeline.close()
    assert {claim.fact_checks is not None for claim in default.claims} == {True}
    assert {claim.fact_checks is None for claim in refused.claims} == {True}


async def test_a_configured_threshold_above_the_match_s_score_leaves_the_claim_unmatched(tmp_path: Path) -> None:
    """``factcheck_match_threshold`` replaces the calibrated one: set above the crime match's score, it is []."""
    matched = await pipeline_with(tmp_path / "default")
    strict = await pipeline_with(tmp_path / "strict", factcheck_match_threshold=0.999)
    request = ExtractionRequest.model_validate({"article": {"text": ARTICLE}, "options": {"match_factchecks": True}})
    try:
        default_claims = (await matched.extract(request)).claims
        strict_claims = (await strict.extract(request)).claims
    finally:
        await matched.close()
        await strict.close()
    crime = next(claim.fact_checks for claim in default_claims if "15.2%" in claim.text)
    assert crime  # the match the default threshold keeps
    assert crime[0].score < 0.999
    assert next(claim.fact_checks for claim in strict_claims if "15.2%" in claim.text) == []
