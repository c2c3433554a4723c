"""Tests of ``service/factchecks/text.py``: a tweet cleaned for search, its words, figures and names."""

from __future__ import annotations

from service.factchecks.text import clean_query, common_words, names_in, numbers_in, stemmed_words


def test_links_images_and_handles_go_and_hashtags_become_words() -> None:
    """URLs (even glued to a hashtag), pic.twitter links and @handles are removed; #CamelCase reads as words."""
    tweet = "Wow @someone #DefundTheCBChttps://t.co/CsHG8R9cHp look pic.twitter.com/0eJtwJyS1J www.example.com/x"
    assert clean_query(tweet) == "Wow Defund The CBC look"


def test_an_embedded_tweets_name_and_date_are_kept() -> None:
    """The trailer's name and date stay (they help BM25 on the train tweets); its handle goes."""
    tweet = "No Collusion! — Donald J. Trump (@realDonaldTrump) March 24, 2019"
    assert clean_query(tweet) == "No Collusion! — Donald J. Trump ( ) March 24, 2019"


def test_words_are_stemmed_without_stop_words() -> None:
    """Stop words are dropped, the rest lower-cased and stemmed, one-letter words ignored."""
    assert stemmed_words("The vaccines are causing autism in a child") == ["vaccin", "caus", "autism", "child"]


def test_figures_ignore_thousands_separators_and_names_are_capitalised_words() -> None:
    """Figures ignore thousands separators ("1,000" is 1000); names are capitalised words, stop words out."""
    assert numbers_in("1,000 people and 3.5 percent, not 1000") == frozenset({"1000", "3.5"})
    assert names_in("The Eiffel Tower was sold by Trump") == frozenset({"eiffel", "tower", "trump"})


def test_common_words_are_those_written_in_lower_case() -> None:
    """Names and capitalised words are left out; the words written in lower case are stemmed."""
    assert common_words("Trump told Elon Musk the launch of SpaceX rockets was 'great'") == {
        "told",
        "launch",
        "rocket",
        "great",
    }
