"""Tests of ``service/steps/dedupe.py``: one claim per span or wording, in article order, with stable ids."""

from __future__ import annotations

import re
import uuid

import pytest

from schemas import ModelClaim
from service.steps import dedupe
from service.steps.dedupe import claim_id, dedupe_claims, normalized_claim_text
from service.steps.grounding import GroundedClaim, Producer


def grounded_claim(
    text: str, start: int, end: int, *, checkworthiness: float = 0.5, chunk: int = 1, quote: str | None = None
) -> GroundedClaim:
    """Return a grounded claim with ``text`` standing on ``[start, end)``."""
    quote = quote if quote is not None else f"quote {start}-{end}"
    return GroundedClaim(
        claim=ModelClaim(sentence_ids=[1], quote=quote, text=text, type="quantity", checkworthiness=checkworthiness),
        chunk=chunk,
        sentence_ids=(1,),
        start=start,
        end=end,
        quote=quote,
        producer=Producer(alias="default", model="offline/rules"),
    )


def test_same_span_keeps_only_the_most_checkworthy() -> None:
    """Two claims on the same span, worded differently, collapse to the more check-worthy one."""
    weaker = grounded_claim("Crime is down.", 100, 127, checkworthiness=0.4, chunk=1)
    stronger = grounded_claim("Violent crime fell 15.2% in 2024, says the FBI.", 100, 127, checkworthiness=0.9, chunk=2)

    assert dedupe_claims([weaker, stronger]) == [stronger]
    assert dedupe_claims([stronger, weaker]) == [stronger]


def test_near_identical_text_on_different_spans_keeps_one() -> None:
    """Claims whose texts differ only in case, punctuation and white space are one claim."""
    first = grounded_claim("Violent crime fell 15.2% in 2024.", 100, 127, checkworthiness=0.6)
    repeat = grounded_claim("violent crime fell 15.2 % in 2024", 900, 930, checkworthiness=0.8, chunk=3)

    assert dedupe_claims([first, repeat]) == [repeat]


def test_nearly_the_same_wording_counts_as_the_same_claim() -> None:
    """A one-letter difference in a long claim is still a repeat."""
    first = grounded_claim("The conversation garnered an audience as large as 1,324,994 people.", 10, 40)
    typo = grounded_claim("The conversation garnered an audience as large as 1,324,994 peoples.", 500, 540)

    assert len(dedupe_claims([first, typo])) == 1


@pytest.mark.parametrize(
    ("said", "denied"),
    [
        pytest.param(
            "The state will raise the minimum wage in January.",
            "The state will not raise the minimum wage in January.",
            id="not",
        ),
        pytest.param(
            "The senator voted for the border bill last year.",
            "The senator didn't vote for the border bill last year.",
            id="n't",
        ),
    ],
)
def test_a_claim_and_its_negation_are_both_kept(said: str, denied: str) -> None:
    """Near-identical wording with opposite polarity states two different facts to check: neither is dropped."""
    first = grounded_claim(said, 100, 150, checkworthiness=0.8)
    second = grounded_claim(denied, 900, 955, checkworthiness=0.7)

    assert dedupe_claims([first, second]) == [first, second]


def test_different_claims_are_all_kept_in_article_order() -> None:
    """Distinct claims all survive, sorted by where they stand in the article, whatever their worth."""
    late = grounded_claim("Musk departed the advisory groups in 2017.", 3000, 3050, checkworthiness=0.9)
    early = grounded_claim("The stream began after a 42-minute delay.", 200, 240, checkworthiness=0.3)
    middle = grounded_claim("Violent crime fell 15.2% in 2024.", 1800, 1827, checkworthiness=0.6)

    assert dedupe_claims([late, early, middle]) == [early, middle, late]


@pytest.mark.parametrize(
    ("first_text", "second_text"),
    [
        pytest.param(
            "The unemployment rate rose to 3.1% in March 2023.",
            "The unemployment rate rose to 3.1% in March 2024.",
            id="different-year",
        ),
        pytest.param(
            "Violent crime fell 15.2% in the first quarter of 2024.",
            "Violent crime fell 16.2% in the first quarter of 2024.",
            id="different-figure",
        ),
    ],
)
def test_claims_differing_only_in_a_number_are_both_kept(first_text: str, second_text: str) -> None:
    """Two claims on different spans whose texts differ in a figure are different facts to check: both stay."""
    first = grounded_claim(first_text, 100, 150, checkworthiness=0.9)
    second = grounded_claim(second_text, 400, 450, checkworthiness=0.8)

    assert dedupe_claims([first, second]) == [first, second]


def test_no_claims_dedupe_to_none() -> None:
    """An empty list stays empty."""
    assert dedupe_claims([]) == []


def test_normalized_claim_text_folds_case_punctuation_and_space() -> None:
    """Normalised text is lower case with punctuation and white space runs as single spaces."""
    assert normalized_claim_text("  Crime, it's DOWN —  15.2%!\n") == "crime it s down 15 2"


def test_claim_id_is_stable_for_the_same_claim_in_the_same_article() -> None:
    """The same claim in the same article gets the same id, whichever chunk or position it came from."""
    one = grounded_claim("Violent crime fell 15.2%.", 100, 127, chunk=1, quote="violent crime is down 15.2%")
    again = grounded_claim("violent crime fell 15.2%", 300, 327, chunk=4, quote="violent crime is down 15.2%")

    assert claim_id("cnn-2024-08-13-musk", one) == claim_id("cnn-2024-08-13-musk", again)
    assert re.fullmatch(r"clm_[0-9a-f]{20}", claim_id("cnn-2024-08-13-musk", one))


def test_claim_id_differs_across_articles_and_claims() -> None:
    """Another article key, claim text or quote gives another id."""
    claim = grounded_claim("Violent crime fell 15.2%.", 100, 127, quote="violent crime is down 15.2%")
    other_text = grounded_claim("Violent crime fell 16%.", 100, 127, quote="violent crime is down 15.2%")
    other_quote = grounded_claim("Violent crime fell 15.2%.", 100, 127, quote="crime is down 15.2%")

    ids = {
        claim_id("cnn-2024-08-13-musk", claim),
        claim_id("bbc-2024-08-13-musk", claim),
        claim_id("cnn-2024-08-13-musk", other_text),
        claim_id("cnn-2024-08-13-musk", other_quote),
    }

    assert len(ids) == 4


def test_a_claim_text_seen_before_is_normalised_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A re-POSTed article's claims are normalised from memory, for de-duplication and for their ids alike."""
    folded: list[str] = []
    pattern = dedupe._NOT_WORD

    class Counting:
        """The punctuation pattern, counting what it folds."""

        def sub(self, replacement: str, text: str) -> str:
            folded.append(text)
            return pattern.sub(replacement, text)

    monkeypatch.setattr(dedupe, "_NOT_WORD", Counting())
    text = f"Unemployment fell to {uuid.uuid4().int % 1000}% in May, the bureau said."
    claims = [grounded_claim(text, 0, 10), grounded_claim(text, 20, 30)]
    for _ in range(3):
        assert dedupe_claims(claims) == [claims[0]]
        claim_id("art_1", claims[0])
    assert folded.count(text.casefold()) == 1
