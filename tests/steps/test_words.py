"""Tests of ``service/steps/words.py``: a text's words and numbers, read alone or with others, as the gate reads."""

from __future__ import annotations

import random

import pytest

from service.steps import words
from service.steps.words import read, read_together

SHOWN_TEXTS = [
    "Former President Donald Trump and Tesla CEO Elon Musk on Monday held a conversation on X.",
    "The conversation garnered an audience as large as 1,324,994 people after a 42-minute delay.",
    "The FBI’s 2024 report indicates violent crime is down 15.2 percent, Musk’s guest said.",
    "Prices rose in Jan. in the U.S. and in Venezuela.",
]


@pytest.mark.parametrize(
    "texts",
    [
        SHOWN_TEXTS,
        ["It cost 5", "million people came", "a", "dozen eggs"],  # a scale or a run never reaches over a text's end
        ["forty", "two", "Jan.", "U.S.", "200 000", "Musk’s"],
        ["a\x00million", "5", "\x00billion"],  # a text holding the separator: read alone
        ["٣٥٫٨ في المائة", "二万九千三百九十八", "“Quoted,” she said — 4.9万", ""],
        [],
    ],
    ids=["shown", "ends", "each-alone", "separator", "scripts", "empty"],
)
def test_texts_read_together_give_what_each_read_alone_gives(texts: list[str]) -> None:
    """The support of texts read as one equals the union of each text's own words and numbers."""
    words.forget()
    assert read_together(texts) == texts_read_alone(texts)


def test_a_plain_text_is_tokenised_as_the_full_pattern_tokenises_it() -> None:
    """The faster pattern for plain texts gives the tokens the full pattern gives, on seeded random plain texts."""
    rng = random.Random(25)  # noqa: S311 -- seeded text for a test, not cryptography
    alphabet = "aZb.,'’ 0123456789_xU.S\n\t!?\"()$%“”‘—…«»•"
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert words._tokens(text, plain=True) == words._WORD.findall(text), text


def texts_read_alone(texts: list[str]) -> tuple[frozenset[str], frozenset[float]]:
    """Return the words and numbers of the texts, each read alone."""
    readings = [words._reading(text) for text in texts]
    comparable = frozenset().union(*(reading.words for reading in readings))
    return comparable, frozenset().union(*(reading.numbers for reading in readings))


def test_a_text_is_read_once_and_a_long_one_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A text's reading is memoised; one past the memo's size limit is read each time, so the memo stays small."""
    read_texts: list[str] = []
    tokens = words._tokens

    def counting(text: str, **options: bool | None) -> list[str]:
        read_texts.append(text)
        return tokens(text, **options)

    monkeypatch.setattr(words, "_tokens", counting)
    words.forget()
    long = "Prices rose sharply. " * (words.REMEMBERED_CHARS // 10)
    for _ in range(3):
        assert "riverton" in read("Prices rose in Riverton.").words
        assert "sharply" in read(long).words
    assert read_texts.count("Prices rose in Riverton.") == 1
    assert read_texts.count(long) == 3
    words.forget()


def test_stemming_a_text_at_once_equals_stemming_each_word(sample_article: str) -> None:
    """Folding the joined tokens (case, possessives, dots, months) gives each word's own comparable form."""
    text = f"{sample_article} Musk’s U.S. Jan. Sept. İstanbul STRASSE Straße O'Neill's 4-year 15.2 1,324,994 X's"
    tokens = words._tokens(text)
    each = {words._stemmed(token) for token in tokens if not token[0].isdigit()}
    assert words._stems(tokens) == each
    assert {"musk", "us", "january", "september", "o'neill", "x"} <= each
