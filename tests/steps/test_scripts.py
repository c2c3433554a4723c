"""Sentence ends in every script: the test articles' sentences with their offsets, and the traps of each script."""

from __future__ import annotations

from typing import Any

import pytest

from service.steps.text import segment_sentences
from tests.languages import load_articles


def texts(text: str, language: str) -> list[str]:
    """Return the texts of the sentences of a one-paragraph ``text``."""
    return [sentence.text for sentence in segment_sentences(text, language)]


@pytest.mark.parametrize("article", load_articles(), ids=lambda article: article["language"])
def test_each_test_article_is_cut_at_its_sentence_ends_with_exact_offsets(article: dict[str, Any]) -> None:
    """Every article is cut where its sentences end (numbers, quotations, abbreviations kept whole), offsets exact."""
    sentences = segment_sentences(article["text"], article["language"])
    assert all(article["text"][sentence.start : sentence.end] == sentence.text for sentence in sentences)
    if "known_miss" in article:
        assert len(sentences) == article["known_miss"]["sentences"], article["known_miss"]["why"]
        return
    assert [sentence.text for sentence in sentences] == article["sentences"]
    joiner = article.get("joiner", " ")
    starts = [sum(len(s) + len(joiner) for s in article["sentences"][:i]) for i in range(len(article["sentences"]))]
    assert [sentence.start for sentence in sentences] == starts


@pytest.mark.parametrize(
    ("text", "language", "sentences"),
    [
        ("Il deficit scenderà al 4,3% del PIL. Le esportazioni sono aumentate.", "it", 2),
        ("Le PIB a augmenté selon l'INSEE. « Nous sommes satisfaits », a dit le ministre.", "fr", 2),
        ("Die Inflation in der EU. Die Preise stiegen um 3 Prozent.", "de", 2),
        ("Ludwig II. war König von Bayern.", "de", 1),  # a Roman numeral: a German ordinal
        ("The U.S. Senate voted on Tuesday.", "en", 1),  # a dotted acronym
        ("Exports grew 1,2 mld. di euro nel 2023.", "it", 1),  # an abbreviation before a lower-case word
        ("“And you say, ‘That’s OK. You’re all gone.’ So you are gone,” Trump said.", "en", 1),  # a quotation
        ("Los EE. UU. anunciaron nuevas sanciones.", "es", 1),  # a Spanish doubled plural
        ("He met Mr. Smith in St. Louis.", "en", 1),
        ("MR. SMITH SAID THE ECONOMY GREW.", "en", 1),  # an abbreviation in capitals, shouted
        ("Officials met at the ST. LOUIS office. They agreed.", "en", 2),  # an abbreviation in capitals
    ],
)
def test_an_acronym_s_full_stop_before_a_capital_ends_a_sentence(text: str, language: str, sentences: int) -> None:
    """An acronym has no full stop of its own, so one before a capital ends a sentence ("PIL. Le", not sentencex's)."""
    assert len(texts(text, language)) == sentences


def test_thai_keeps_a_figure_with_its_unit_and_cuts_between_clauses() -> None:
    """A space beside a figure ("10,000 บาท") never ends a Thai sentence; one between two long words does."""
    text = "รัฐบาลจะแจกเงิน 10,000 บาทให้ประชาชน อัตราเงินเฟ้อติดลบร้อยละ 0.31"
    assert texts(text, "th") == ["รัฐบาลจะแจกเงิน 10,000 บาทให้ประชาชน", "อัตราเงินเฟ้อติดลบร้อยละ 0.31"]


def test_a_thai_sentence_ending_in_a_figure_runs_into_the_next() -> None:
    """Known limit: a Thai sentence ending in a figure cannot be told from a figure before its unit, so it joins."""
    text = "ธนาคารคงอัตราดอกเบี้ยไว้ที่ร้อยละ 2.50 กระทรวงการคลังคาดว่าเศรษฐกิจจะขยายตัว"
    assert len(texts(text, "th")) == 1


def test_a_short_lao_acronym_between_spaces_is_not_a_sentence_end() -> None:
    """The Lao "ສປປ ລາວ" (Lao PDR) is written with spaces inside a sentence: runs that short never end one."""
    text = "ທະນາຄານແຫ່ງ ສປປ ລາວ ກ່າວວ່າຈະຄວບຄຸມອັດຕາແລກປ່ຽນ ການສົ່ງອອກເພີ່ມຂຶ້ນ"
    assert texts(text, "lo") == ["ທະນາຄານແຫ່ງ ສປປ ລາວ ກ່າວວ່າຈະຄວບຄຸມອັດຕາແລກປ່ຽນ", "ການສົ່ງອອກເພີ່ມຂຶ້ນ"]


def test_khmer_ends_at_khan_but_not_inside_a_quotation() -> None:
    """Khmer ends a sentence at ។ (and ៕), never at one inside a quotation."""
    text = "លោកបាននិយាយថា «ការនាំចេញកើនឡើង។ យើងពេញចិត្ត»។ អតិផរណាធ្លាក់ចុះ៕"
    assert texts(text, "km") == ["លោកបាននិយាយថា «ការនាំចេញកើនឡើង។ យើងពេញចិត្ត»។", "អតិផរណាធ្លាក់ចុះ៕"]


def test_myanmar_ends_at_its_full_stop_not_at_the_possessive() -> None:
    """Myanmar ends a sentence at ။; ၏ (a possessive) is no sentence end, as sentencex took it."""
    text = "မြန်မာနိုင်ငံ၏ ပို့ကုန် ကျဆင်းခဲ့သည်။ ဗဟိုဘဏ်က ပြောကြားခဲ့သည်။"
    assert texts(text, "my") == ["မြန်မာနိုင်ငံ၏ ပို့ကုန် ကျဆင်းခဲ့သည်။", "ဗဟိုဘဏ်က ပြောကြားခဲ့သည်။"]


@pytest.mark.parametrize(
    ("language", "text", "sentences"),
    [
        ("hi", "दर घटकर ३.२ प्रतिशत रह गई। निवेश बढ़ा।", ["दर घटकर ३.२ प्रतिशत रह गई।", "निवेश बढ़ा।"]),
        ("bn", "মূল্যস্ফীতি ৯.৯৩ শতাংশ। রপ্তানি বেড়েছে।", ["মূল্যস্ফীতি ৯.৯৩ শতাংশ।", "রপ্তানি বেড়েছে।"]),
        (
            "ar",
            "بلغ التضخم ٣٥٫٨٪ في فبراير. هل تنخفض الأسعار؟ نعم.",
            ["بلغ التضخم ٣٥٫٨٪ في فبراير.", "هل تنخفض الأسعار؟", "نعم."],
        ),
        ("ur", "شرح ۲۹ فیصد ہے۔ کیا ریلیف ملے گا؟", ["شرح ۲۹ فیصد ہے۔", "کیا ریلیف ملے گا؟"]),
        ("zh", "他说：“增长4.9%。就业稳定。”失业率为5.0%！", ["他说：“增长4.9%。就业稳定。”", "失业率为5.0%！"]),
        (
            "ja",
            "首相は「賃上げを実現する。必ずやる」と述べた。失業率は2.5%だった？",
            ["首相は「賃上げを実現する。必ずやる」と述べた。", "失業率は2.5%だった？"],
        ),
        ("fr", "M. Le Maire prévoit 1,4 %. Il l'a dit.", ["M. Le Maire prévoit 1,4 %.", "Il l'a dit."]),
        (
            "it",
            "Le esportazioni sono salite di 1,2 mld. di euro. Bene.",
            ["Le esportazioni sono salite di 1,2 mld. di euro.", "Bene."],
        ),
    ],
)
def test_no_cut_inside_a_number_a_quotation_or_an_abbreviation(language: str, text: str, sentences: list[str]) -> None:
    """Digits of any script, quotations in CJK brackets, initials and abbreviations before lower case stay whole."""
    assert texts(text, language) == sentences
