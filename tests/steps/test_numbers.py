"""Numbers in every script and convention, and the faithfulness gate reading them (``service/steps/numbers.py``)."""

from __future__ import annotations

import pytest

from service.steps.faithfulness import Support, unsupported_terms
from service.steps.numbers import readings, scale_of, with_ascii_digits


@pytest.mark.parametrize(
    ("figure", "values"),
    [
        ("1,5", {1.5}),
        ("15.2", {15.2}),
        ("2,50", {2.5}),
        ("12.000", {12.0, 12000.0}),
        ("1,500", {1.5, 1500.0}),
        ("1.234.567", {1234567.0}),
        ("1,324,994", {1324994.0}),
        ("1.234,5", {1234.5}),
        ("1,234.5", {1234.5}),
        ("200 000", {200000.0}),
        ("200\u202f000", {200000.0}),
    ],
)
def test_a_figure_is_read_by_the_conventions_it_may_follow(figure: str, values: set[float]) -> None:
    """Decimal commas, dot thousands, space thousands; "12.000" read both ways, since languages disagree."""
    assert readings(figure) == values


@pytest.mark.parametrize(
    ("text", "ascii"),
    [
        ("٣٥٫٨٪", "35.8%"),
        ("۲۹ فیصد", "29 فیصد"),
        ("३.२ प्रतिशत", "3.2 प्रतिशत"),
        ("৯.৯৩", "9.93"),
        ("๒๕๖๖", "2566"),
        ("二万九千三百九十八元", "29398元"),
        ("两千万", "20000000"),
        ("统一大市场", "统一大市场"),
    ],
)
def test_digits_of_every_script_and_cjk_numerals_become_figures(text: str, ascii: str) -> None:
    """Arabic-Indic, Persian, Devanagari, Bengali and Thai digits, and runs of CJK numerals, read as ASCII figures."""
    assert with_ascii_digits(text) == ascii


def test_scale_words_of_many_languages() -> None:
    """A figure's scale word: German "Mio.", Dutch "miljard", Russian "млрд", Hindi "लाख", Chinese "万"."""
    assert [scale_of(word) for word in ("Mio.", "miljard", "млрд", "लाख", "万人", "Prozent")] == [
        1e6, 1e9, 1e9, 1e5, 1e4, None,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("shown", "claim"),
    [
        ("Die Regierung will 1,5 Mio. Wohnungen bauen.", "The government wants to build 1.5 million homes."),
        ("Dr. Müller rechnet mit 12.000 Stellen.", "Müller expects 12,000 jobs."),
        ("ارتفع التضخم إلى ٣٥٫٨٪ في فبراير.", "ارتفع التضخم إلى 35.8% في فبراير."),
        ("बेरोज़गारी दर घटकर ३.२ प्रतिशत रह गई।", "बेरोज़गारी दर 3.2 प्रतिशत है।"),
        ("全国居民人均可支配收入为二万九千三百九十八元！", "人均可支配收入为29398元。"),
        ("全国城镇调查失业率为5.0%，就业人数4.9万人。", "就业人数为49000人。"),
        ("Plus de 200 000 emplois ont été créés.", "More than 200,000 jobs were created."),
    ],
)
def test_the_gate_finds_a_number_written_another_way_supported(shown: str, claim: str) -> None:
    """A claim restating a number in other digits, separators or scale words is supported by its sentence."""
    assert unsupported_terms(claim, None, Support.of([shown])) == []


def test_the_gate_still_catches_a_number_the_text_does_not_state() -> None:
    """Reading conventions loosely never lets an invented figure through: 13.000 is not in "12.000"."""
    assert unsupported_terms("Müller expects 13,000 jobs.", None, Support.of(["Müller rechnet mit 12.000 Stellen."]))


@pytest.mark.parametrize(
    ("shown", "claim", "missing"),
    [
        ("Ministerin Żaneta Łukasiewicz sprach.", "Żaneta Łukasiewicz said so.", []),
        ("Yolanda Díaz afirmó que el paro bajó.", "Yolanda Diaz said unemployment fell.", []),
        ("Yolanda Díaz afirmó que el paro bajó.", "Yolanda Díaz Pérez said unemployment fell.", ["Pérez"]),
        ("Путин заявил, что цены растут.", "Путин заявил о росте цен.", []),
        ("Путин заявил, что цены растут.", "Медведев заявил о росте цен.", ["Медведев"]),
    ],
)
def test_names_with_diacritics_or_in_other_scripts(shown: str, claim: str, missing: list[str]) -> None:
    """Names with diacritics (accents aside) and in Cyrillic are checked; a name the text lacks is named."""
    assert unsupported_terms(claim, None, Support.of([shown])) == missing
