"""Tests of ``service/factchecks/matching.py``: ranking, upserts and removals, the language filter, scores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from schemas.factchecks import FactCheck
from service.factchecks.embedders import OfflineEmbedder
from service.factchecks.features import content_words_shared
from service.factchecks.matching import (
    MATCH_THRESHOLD,
    MIN_CONTENT_WORDS,
    NAMES_ONLY_COSINE,
    NAMES_ONLY_PENALTY,
    FactCheckMatcher,
    primary_language,
)
from service.factchecks.reranker import shipped_rerankers

ARCHIVE = [
    FactCheck(
        url="https://example.org/fc/vaccines-autism",
        claim_reviewed="The MMR vaccine causes autism in children.",
        title="Does the MMR Vaccine Cause Autism?",
        rating="False",
        publisher="Example Checks",
        date_published="2019-04-02",
        language="en",
    ),
    FactCheck(
        url="https://example.org/fc/eiffel-tower-sold",
        claim_reviewed="The Eiffel Tower was sold to a Chinese company in 2019.",
        title="Was the Eiffel Tower Sold?",
        rating="False",
        language="en",
    ),
    FactCheck(
        url="https://example.org/fc/unemployment-3-percent",
        claim_reviewed="Unemployment in the United States fell to 3.5 percent in September 2019.",
        title="Did Unemployment Fall to 3.5%?",
        rating="True",
        language="en",
    ),
    FactCheck(
        url="https://example.org/fc/5g-covid",
        claim_reviewed="5G mobile networks spread the coronavirus.",
        title="Do 5G Networks Spread COVID-19?",
        rating="False",
        language="en",
    ),
    FactCheck(
        url="https://example.es/fc/vacuna-autismo",
        claim_reviewed="La vacuna triple vírica provoca autismo en los niños.",
        title="¿Provoca autismo la vacuna triple vírica?",
        rating="Falso",
        language="es-ES",
    ),
]


@pytest.fixture
def matcher() -> FactCheckMatcher:
    """A lexical matcher holding the small archive."""
    built = FactCheckMatcher()
    built.upsert(ARCHIVE)
    return built


async def test_the_fact_check_of_the_same_claim_ranks_first(matcher: FactCheckMatcher) -> None:
    """A tweet repeating a reviewed claim finds that review first, with its record intact."""
    tweet = "BREAKING: the MMR vaccine is causing autism in our children!!! https://t.co/abc123 @someone #VaccinesKill"
    matches = await matcher.search(tweet)
    assert matches[0].url == "https://example.org/fc/vaccines-autism"
    assert matches[0].rating == "False"
    assert matches[0].publisher == "Example Checks"
    assert matches[0].score >= MATCH_THRESHOLD
    assert [match.score for match in matches] == sorted((match.score for match in matches), reverse=True)


async def test_an_unrelated_claim_scores_below_the_threshold(matcher: FactCheckMatcher) -> None:
    """A claim no review covers may find candidates, but none scores as a match."""
    matches = await matcher.search("The city council approved a new budget for public libraries on Tuesday.")
    assert all(match.score < MATCH_THRESHOLD for match in matches)


async def test_a_score_means_the_same_whatever_the_archive_holds(matcher: FactCheckMatcher) -> None:
    """A claim's score against a fact-check is the same alone in the archive as among others.

    The match model reads no archive statistic, so a one-fact-check archive does not inflate unrelated claims.
    """
    alone = FactCheckMatcher()
    alone.upsert([ARCHIVE[2]])
    for claim in ("Unemployment fell to 3.5 percent in September", "The unemployment rate fell to 3.9% in March"):
        among = [match for match in await matcher.search(claim) if match.url == ARCHIVE[2].url]
        assert [match.score for match in await alone.search(claim)] == [among[0].score]
    unrelated = await alone.search("Lawmakers said the unemployment rate would fall after the new budget")
    assert unrelated
    assert unrelated[0].score < MATCH_THRESHOLD


async def test_an_archive_of_title_less_fact_checks_is_searched() -> None:
    """Fact-checks without a title leave the title index empty; a search still scores their claims."""
    alone = FactCheckMatcher()
    alone.upsert([ARCHIVE[3].model_copy(update={"title": None})])
    matches = await alone.search("5G networks spread the coronavirus")
    assert [match.url for match in matches] == [ARCHIVE[3].url]
    assert matches[0].score >= MATCH_THRESHOLD


async def test_scores_are_probabilities_and_the_limit_holds(matcher: FactCheckMatcher) -> None:
    """Every score is within 0..1 and no more than ``limit`` matches come back."""
    matches = await matcher.search("unemployment fell to 3.5 percent", limit=2)
    assert len(matches) <= 2
    assert matches[0].url == "https://example.org/fc/unemployment-3-percent"
    assert all(0.0 <= match.score <= 1.0 for match in matches)


async def test_upsert_replaces_by_url_and_remove_forgets(matcher: FactCheckMatcher) -> None:
    """Upserting a known url replaces its record (no duplicate); removing it takes it out of searches."""
    assert len(matcher) == len(ARCHIVE)
    changed = ARCHIVE[1].model_copy(update={"rating": "Satire"})
    matcher.upsert([changed])
    assert len(matcher) == len(ARCHIVE)
    matches = await matcher.search("Eiffel Tower sold to a Chinese company")
    assert matches[0].rating == "Satire"
    assert [match.url for match in matches].count(changed.url) == 1
    assert matcher.remove(changed.url) is True
    assert matcher.remove(changed.url) is False
    assert len(matcher) == len(ARCHIVE) - 1
    assert all(match.url != changed.url for match in await matcher.search("Eiffel Tower sold to a Chinese company"))


async def test_a_removed_slot_is_reused_by_the_next_fact_check(matcher: FactCheckMatcher) -> None:
    """After a removal, a new fact-check is found in the freed place, and the old one is not."""
    matcher.remove(ARCHIVE[3].url)
    fresh = FactCheck(url="https://example.org/fc/moon-landing", claim_reviewed="The Moon landing was staged in 1969.")
    matcher.upsert([fresh])
    matches = await matcher.search("the moon landing in 1969 was staged in a studio")
    assert matches[0].url == fresh.url
    assert ARCHIVE[3].url not in {match.url for match in await matcher.search("5G networks spread the coronavirus")}


async def test_the_language_filter_keeps_only_that_language(matcher: FactCheckMatcher) -> None:
    """``language="es"`` returns only Spanish reviews (es-ES included); "en" none of them."""
    spanish = await matcher.search("la vacuna provoca autismo", language="es")
    assert [match.url for match in spanish] == ["https://example.es/fc/vacuna-autismo"]
    english = await matcher.search("la vacuna provoca autismo vaccine autism", language="en")
    assert english
    assert all(match.language == "en" for match in english)
    assert await matcher.search("vaccine autism", language="fr") == []


async def test_an_empty_matcher_or_query_finds_nothing() -> None:
    """Nothing indexed, or a query of stop words only, returns no match instead of failing."""
    assert await FactCheckMatcher().search("anything") == []
    filled = FactCheckMatcher()
    filled.upsert(ARCHIVE[:2])
    assert await filled.search("the and of") == []
    assert await filled.search_many([]) == []


async def test_search_many_answers_each_query_in_order(matcher: FactCheckMatcher) -> None:
    """A whole article's claims at once: one list of matches per claim, in the claims' order."""
    found = await matcher.search_many(["5G spreads the coronavirus", "the Eiffel Tower was sold"], limit=1)
    assert [matches[0].url for matches in found] == [ARCHIVE[3].url, ARCHIVE[1].url]


def test_vectors_must_match_the_fact_checks() -> None:
    """Upserting with a different number of vectors than fact-checks is refused."""
    with pytest.raises(ValueError, match="2 vectors for 1"):
        FactCheckMatcher().upsert(ARCHIVE[:1], np.zeros((2, 4), dtype=np.float32))


def test_primary_language_reads_bcp_47() -> None:
    """Region and script subtags are dropped and case is ignored."""
    assert primary_language("es-ES") == "es"
    assert primary_language("EN") == "en"
    assert primary_language(None) is None
    assert primary_language("") is None


async def test_a_spanish_claim_finds_the_english_fact_check_with_embeddings() -> None:
    """With the offline encoder, a Spanish claim matches the English review of the same claim, above the rest."""
    embedder = OfflineEmbedder.installed()
    assert embedder is not None, "the test extra installs the multilingual extra"
    english = [fact_check for fact_check in ARCHIVE if fact_check.language == "en"]
    matcher = FactCheckMatcher(embedder)
    matcher.upsert(english, await matcher.vectors_for(english))
    matches = await matcher.search("Las redes móviles 5G propagan el coronavirus", language="en")
    assert matches[0].url == "https://example.org/fc/5g-covid"
    assert all(match.score <= matches[0].score for match in matches)


async def test_an_archive_whose_claims_have_no_word_is_searched() -> None:
    """A fact-check whose claim and title hold no word (punctuation alone) indexes nothing and matches nothing."""
    matcher = FactCheckMatcher()
    matcher.upsert([FactCheck(url="https://example.org/fc/punctuation", claim_reviewed="?!")])
    assert await matcher.search("the Eiffel Tower was sold") == []


FALCON = FactCheck(
    url="https://example.org/fc/falcon-heavy",
    claim_reviewed="In response to Donald Trump's congratulations on the Falcon Heavy launch, SpaceX CEO Elon Musk "
    "called the president a 'dumbass.'",
    title="Did Elon Musk Call Donald Trump a 'Dumbass'?",
)


async def test_sharing_names_alone_costs_the_names_only_penalty() -> None:
    """A claim sharing only names (and "president") with a fact-check scores NAMES_ONLY_PENALTY under the model."""
    matcher = FactCheckMatcher()
    matcher.upsert([FALCON])
    query = "Trump said he will need Elon Musk, and praised the Tesla CEO for moving SpaceX out of California."
    found = matcher.candidates(query)
    assert found is not None
    assert content_words_shared(found.query, found.signs[0]) == 0
    model = float(shipped_rerankers().match_lexical.probabilities(found.match_rows(np.arange(1)))[0])
    [match] = await matcher.search(query, limit=1)
    assert match.score == pytest.approx(max(0.0, model - NAMES_ONLY_PENALTY), abs=1e-4)


async def test_sharing_telling_words_costs_nothing() -> None:
    """A claim sharing two telling words written in lower case ("launch", "congratulations") scores the model's."""
    matcher = FactCheckMatcher()
    matcher.upsert([FALCON])
    query = "Elon Musk answered Donald Trump's congratulations on the launch with an insult."
    found = matcher.candidates(query)
    assert found is not None
    assert content_words_shared(found.query, found.signs[0]) >= MIN_CONTENT_WORDS
    model = float(shipped_rerankers().match_lexical.probabilities(found.match_rows(np.arange(1)))[0])
    [match] = await matcher.search(query, limit=1)
    assert match.score == pytest.approx(model, abs=1e-4)


class FixedEmbedder:
    """Embeds every fact-check as (1, 0) and every query as (``cosine``, …): a chosen cosine between the two."""

    def __init__(self, cosine: float) -> None:
        self._cosine = cosine

    @property
    def name(self) -> str:
        """Name the stand-in vector space."""
        return "test/fixed"

    async def queries(self, texts: Sequence[str]) -> np.ndarray:
        """Return unit rows at the chosen cosine to the fact-checks' vector."""
        return np.tile([self._cosine, (1 - self._cosine**2) ** 0.5], (len(texts), 1)).astype(np.float32)

    async def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Return the fact-checks' one vector."""
        return np.tile([1.0, 0.0], (len(texts), 1)).astype(np.float32)


@pytest.mark.parametrize(("cosine", "penalised"), [(0.95, False), (0.5, True)])
async def test_with_embeddings_only_a_low_cosine_costs_the_penalty(cosine: float, penalised: bool) -> None:
    """Sharing names alone costs NAMES_ONLY_PENALTY with embeddings only under NAMES_ONLY_COSINE."""
    matcher = FactCheckMatcher(FixedEmbedder(cosine))
    matcher.upsert([FALCON], await matcher.vectors_for([FALCON]))
    query = "Trump said he will need Elon Musk, and praised the Tesla CEO for moving SpaceX out of California."
    vector = (await FixedEmbedder(cosine).queries([query]))[0]
    found = matcher.candidates(query, vector)
    assert found is not None
    assert found.cosines is not None
    assert (float(found.cosines[0]) < NAMES_ONLY_COSINE) is penalised
    hybrid = shipped_rerankers().match_hybrid
    assert hybrid is not None
    model = float(hybrid.probabilities(found.match_rows(np.arange(1)))[0])
    [match] = await matcher.search(query, limit=1)
    assert match.score == pytest.approx(max(0.0, model - NAMES_ONLY_PENALTY) if penalised else model, abs=1e-4)
