"""Tests of ``service/steps/html.py``: a news page's main text read out, its boilerplate left behind."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from schemas import Article
from service.api.app import create_app
from service.errors import InvalidRequest
from service.settings import Settings
from service.steps.html import MAX_ELEMENTS, is_html, read_html
from tests.conftest import DATA_DIR

PAGE = (DATA_DIR / "article-trump-musk-x-stream.html").read_text(encoding="utf-8")
BOILERPLATE_FIGURES = ("Stocks fell 3%", "4.3%", "62%", "12 cents", "90%", "20 million", "2.5 million", "40%", "50%")


def words(text: str) -> str:
    """Return ``text`` with its whitespace collapsed (a page's no-break spaces read as spaces)."""
    return " ".join(text.split())


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    """The service on its defaults."""
    return TestClient(create_app(Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data")))


def test_the_sample_as_a_news_page_gives_the_claims_of_its_plain_text(client: TestClient, sample_article: str) -> None:
    """Navigation, an ad, related links, comments and a footer (all with figures) add no claim; none is lost."""
    with client:
        from_page = client.post("/v1/extractions", json={"article": {"text": PAGE}}).json()
        from_text = client.post("/v1/extractions", json={"article": {"text": sample_article}}).json()
    texts = [words(claim["text"]) for claim in from_page["claims"]]
    assert texts == [words(claim["text"]) for claim in from_text["claims"]]
    assert len(texts) == 27
    assert not [text for text in texts for figure in BOILERPLATE_FIGURES if figure in text]


def test_offsets_index_into_the_text_read_from_the_page_which_the_reply_returns(client: TestClient) -> None:
    """`article.text[start:end] == quote` for every claim; the headline and date come from the page."""
    with client:
        reply = client.post("/v1/extractions", json={"article": {"text": PAGE, "format": "html"}}).json()
    text = reply["article"]["text"]
    assert all(text[c["source"]["start"] : c["source"]["end"]] == c["source"]["quote"] for c in reply["claims"])
    assert reply["article"]["title"] == "Trump and Musk hold live-streamed conversation on X"
    assert reply["article"]["published_at"].startswith("2024-08-12")
    assert "<p>" not in text
    assert "Terms of Use" not in text


def test_plain_text_is_never_taken_for_html() -> None:
    """Only a document (doctype, html, head or body first) is detected; prose about tags is prose."""
    assert is_html(Article(text="<!DOCTYPE html><html><body><p>Hi.</p></body></html>"))
    assert is_html(Article(text="<p>A fragment, declared.</p>", format="html"))
    assert not is_html(Article(text="Use the <p> tag for paragraphs, the guide says."))
    assert not is_html(Article(text="<!DOCTYPE html><p>Declared prose.</p>", format="prose"))


@pytest.mark.parametrize(
    "page",
    [
        "<html><body><script>document.write('Prices rose 3%');</script></body></html>",
        "<!doctype html><html><head><title>Empty</title></head><body>   </body></html>",
    ],
)
def test_a_page_with_nothing_to_read_is_a_clear_422(page: str) -> None:
    """Scripts only, or an empty body: an InvalidRequest saying so (a script's words are never read)."""
    with pytest.raises(InvalidRequest, match="HTML with no article text"):
        read_html(page)


def test_hostile_markup_gets_a_result_or_a_422_quickly_never_a_500(client: TestClient) -> None:
    """100,000 unclosed divs, 10 MB of nesting-style markup, entities: each answered 200 or 422 within seconds."""
    pages = [
        "<html><body>" + "<div>" * 100_000 + "Rents rose 7% in July, the office said." + "</body></html>",
        "<!doctype html><body>" + "<span><i>" * 50_000 + "&amp;&#0;&bogus;&#x110000;" + "</body>",
    ]
    with client:
        for page in pages:
            started = time.monotonic()
            answer = client.post("/v1/extractions", json={"article": {"text": page}})
            assert answer.status_code in (200, 422), answer.text
            assert time.monotonic() - started < 10


def test_text_declared_html_with_no_tag_is_read_as_it_is(client: TestClient) -> None:
    """`format: html` on plain text: the text is the article (a browser would show it so)."""
    with client:
        reply = client.post("/v1/extractions", json={"article": {"text": "Rents rose 7% in July.", "format": "html"}})
    assert reply.status_code == 200
    assert reply.json()["article"]["text"] == "Rents rose 7% in July."


def test_broken_markup_and_entities_still_read(client: TestClient) -> None:
    """Unclosed tags and odd entities are read leniently: the claim comes back with its figure."""
    page = "<!doctype html><body><article><p>Rents rose 7% &amp; more in July, the office said &#9731; <b>unclosed"
    with client:
        reply = client.post("/v1/extractions", json={"article": {"text": page}})
    assert reply.status_code == 200
    assert "7%" in reply.json()["claims"][0]["text"]


def test_pages_have_their_own_size_limit(tmp_path: Path) -> None:
    """An HTML article may be longer than a text one (markup), up to max_html_chars; past it, a 413."""
    settings = Settings(cache_dir=tmp_path / "c", data_dir=tmp_path / "d", max_article_chars=2000, max_html_chars=5000)
    body = "<html><body><p>Prices rose 3% in June, the office said.</p>" + " " * 3000 + "</body></html>"
    with TestClient(create_app(settings)) as client:
        within = client.post("/v1/extractions", json={"article": {"text": body}})
        over = client.post("/v1/extractions", json={"article": {"text": body + " " * 3000}})
    assert within.status_code == 200
    assert (over.status_code, over.json()["type"]) == (413, "/problems/article-too-large")


def test_detection_is_linear_and_knows_a_bom_a_prolog_and_comments() -> None:
    """40 empty comments before prose answer at once (a backtracking pattern took a day); BOM and XML prolog pass."""
    started = time.monotonic()
    assert not is_html(Article(text="<!---->" * 40 + "x"))
    assert time.monotonic() - started < 0.1
    assert is_html(Article(text="\ufeff<!doctype html><p>x</p>"))
    assert is_html(Article(text='<?xml version="1.0"?>\n<!-- page --><!DOCTYPE html><p>x</p>'))


def test_a_page_s_ids_come_from_its_text_not_its_markup(client: TestClient) -> None:
    """The same article fetched twice (a new nonce, a new ad) keeps its article id and claim ids."""
    first = PAGE.replace("<body>", '<body data-nonce="a1"><div class="ad">Ad one</div>')
    second = PAGE.replace("<body>", '<body data-nonce="b2"><div class="ad">Ad two, other</div>')
    with client:
        replies = [client.post("/v1/extractions", json={"article": {"text": page}}).json() for page in (first, second)]
    assert replies[0]["article_id"] == replies[1]["article_id"]
    assert [c["id"] for c in replies[0]["claims"]] == [c["id"] for c in replies[1]["claims"]]


def test_a_page_nested_deeper_than_the_parser_reads_is_a_422_not_text_silently_lost() -> None:
    """libxml2 stops at 255 levels: what lies deeper would vanish, so such a page is refused, saying why."""
    shallow = "<html><body>" + "<div>" * 200 + "Rents rose 7% in July." + "</div>" * 200 + "</body></html>"
    assert "Rents rose 7%" in read_html(shallow).text
    deep = "<html><body>" + "<div>" * 300 + "Rents rose 7% in July." + "</div>" * 300 + "</body></html>"
    with pytest.raises(InvalidRequest, match="nested deeper than 255"):
        read_html(deep)


def test_a_page_with_more_tags_than_are_read_is_refused_before_parsing() -> None:
    """Parsing costs about 35 µs a tag on the one CPU thread: past MAX_ELEMENTS a page is a 422 at once."""
    with pytest.raises(InvalidRequest, match=f"at most {MAX_ELEMENTS:,}"):
        read_html("<html><body>" + "a<br>" * (MAX_ELEMENTS + 1) + "</body></html>")


def test_a_tag_with_thousands_of_attributes_is_refused_at_once() -> None:
    """The parser's cost grows with the square of a tag's attributes (90,000 took 4 minutes): past 2,000, a 422."""
    attributes = " ".join(f"a{n}=1" for n in range(90_000))
    with pytest.raises(InvalidRequest, match="attributes"):
        read_html(f"<html><body><div {attributes}><p>Crime rose 5% in 2023, police said.</p></div></body></html>")
    with pytest.raises(InvalidRequest, match="attributes"):  # a quoted ">" does not end the tag
        read_html(f'<html><body><p title=">" {attributes}>Crime rose 5% in 2023.</p></body></html>')
    path = " ".join(f"L {n} {n}" for n in range(5_000))  # one attribute, however many words its value has
    assert read_html(f'<html><body><p>Crime rose 5%.</p><svg><path d="{path}"/></svg></body></html>').text
    ordinary = " ".join(f"data-a{n}=1" for n in range(50))
    assert read_html(f"<html><body><div {ordinary}><p>Crime rose 5% in 2023.</p></div></body></html>").text


def test_a_page_s_headline_is_held_to_the_title_s_limit(client: TestClient) -> None:
    """A <title> of 10,000 characters would ride along with every chunk: it is cut to the 1,000 a title may have."""
    page = f"<html><head><title>{'Headline ' * 1_100}</title></head><body><p>Rents rose 7% in July.</p></body></html>"
    with client:
        reply = client.post("/v1/extractions", json={"article": {"text": page}}).json()
    assert len(reply["article"]["title"]) <= 1000


def test_what_a_reader_never_sees_is_no_part_of_the_article() -> None:
    """Templates, hidden and display:none elements and a <noframes> fallback give no text (and so no claim)."""
    page = (
        "<html><body><article><p>Visible: rents rose 7% in July.</p>"
        "<template><p>Template: prices fell 9%.</p></template><p hidden>Hidden: wages rose 4%.</p>"
        '<p style="DISPLAY: none">Styled: taxes fell 2%.</p><noframes><p>Noframes: 8%.</p></noframes>'
        "<p>Also visible: sales rose 3% in June.</p></article></body></html>"
    )
    text = read_html(page).text
    assert text == "Visible: rents rose 7% in July.\nAlso visible: sales rose 3% in June."
    for hidden_at_first in ('<html style="display:none"><body>', "<html><body style='display: none'>"):  # JS shows it
        assert read_html(f"{hidden_at_first}<p>Crime rose 5% in 2023.</p></body></html>").text
