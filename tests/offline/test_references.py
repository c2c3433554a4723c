"""The offline model's decontextualisation: references filled in, in brackets, from the sentences before."""

from __future__ import annotations

import pytest

from service.offline.references import resolve_references
from service.offline.rules import extract_offline_reply


@pytest.mark.parametrize(
    ("earlier", "sentence", "resolved"),
    [
        (["Christine Lagarde, the president of the European Central Bank, spoke on Thursday."],
         "He noted that import prices had fallen by 1.9%.",
         "[Christine Lagarde] noted that import prices had fallen by 1.9%."),
        (["Senator Bernie Sanders unveiled a health plan.", "Critics attacked it."],
         "But he said his plan would cost $2 trillion.",
         "But [Bernie Sanders] said [Bernie Sanders’s] plan would cost $2 trillion."),
        (["Former President Donald Trump and Tesla CEO Elon Musk on Monday held a conversation."],
         "They spoke for two hours.", "[Donald Trump and Elon Musk] spoke for two hours."),
        (["Prime Minister Keir Starmer met President Emmanuel Macron in Paris."],
         "The two leaders agreed to return 50 migrants a week.",
         "[Keir Starmer and Emmanuel Macron] agreed to return 50 migrants a week."),
        (["Shares of Acme Corp. fell after the Federal Reserve decision."],
         "The company said profits rose 5%.", "[Acme Corp.] said profits rose 5%."),
        (["Pfizer reported results on Tuesday."], "It said revenue fell 41%.", "[Pfizer] said revenue fell 41%."),
        (["Greta Thunberg spoke at the climate summit."], "Her speech drew 2,000 protesters.",
         "[Greta Thunberg’s] speech drew 2,000 protesters."),
    ],
    ids=["he", "his-after-he", "they-joined", "the-two-leaders", "the-company", "it-subject", "her-possessive"],
)  # fmt: skip
def test_a_plain_referent_is_filled_in_in_brackets(earlier: list[str], sentence: str, resolved: str) -> None:
    """A sentence-opening pronoun or description is replaced by its referent in brackets."""
    assert resolve_references(sentence, earlier) == resolved


@pytest.mark.parametrize(
    ("earlier", "sentence"),
    [
        ([], "He noted that import prices had fallen by 1.9%."),
        (["It can't get any worse."], "And she's been talking about the inner cities for 25 years."),
        (["Economist Paul Krugman criticised the tariffs."], "He's called them a disaster."),
        (["The health ministry published a report."], "It is estimated that 5 million people wait."),
        (["Maria Lopez presented the results."], "Sales grew 12% in Asia, she said."),
    ],
    ids=["no-context", "no-one-named", "contraction", "placeholder-it", "not-opening"],
)  # fmt: skip
def test_what_is_not_plain_is_left_as_written(earlier: list[str], sentence: str) -> None:
    """No referent, a contraction, a placeholder "it" or a pronoun not opening the sentence: nothing is changed."""
    assert resolve_references(sentence, earlier) == sentence


def test_the_quote_stays_verbatim_and_only_the_text_is_bracketed() -> None:
    """The offline claim quotes the sentence as written; its text carries the bracketed referent."""
    reply = extract_offline_reply(
        [(1, "Christine Lagarde, the president of the European Central Bank, spoke on Thursday."),
         (2, "She noted that import prices had fallen by 1.9% in the year to October.")]
    )  # fmt: skip
    claim = next(claim for claim in reply.claims if claim.sentence_ids == [2])
    assert claim.quote == "She noted that import prices had fallen by 1.9% in the year to October."
    assert claim.text == "[Christine Lagarde] noted that import prices had fallen by 1.9% in the year to October."
