"""Tests of ``service/factchecks/importing.py``: ClaimReview as published, read into fact-check fields or refused."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from service.errors import InvalidRequest, UnsupportedMediaType
from service.factchecks.importing import Entry, read_body

REVIEW = {
    "@context": "https://schema.org",
    "@type": "ClaimReview",
    "url": "https://www.snopes.com/fact-check/guantanamo-recidivism/",
    "claimReviewed": "122 detainees released from Guantanamo under Obama returned to terrorism.",
    "name": "Did 122 Prisoners Released from Guantanamo by President Obama Return to the Battlefield?",
    "reviewRating": {"@type": "Rating", "ratingValue": 1, "alternateName": "False"},
    "author": {"@type": "Organization", "name": "Snopes"},
    "datePublished": "2018-03-07",
    "inLanguage": "en",
}
FIELDS = {
    "claim_reviewed": "122 detainees released from Guantanamo under Obama returned to terrorism.",
    "url": "https://www.snopes.com/fact-check/guantanamo-recidivism/",
    "title": "Did 122 Prisoners Released from Guantanamo by President Obama Return to the Battlefield?",
    "rating": "False",
    "publisher": "Snopes",
    "date_published": "2018-03-07",
    "language": "en",
}


def entries(body: str | bytes, content_type: str) -> list[Entry]:
    """Read a whole body into its entries."""
    return list(read_body(body.encode() if isinstance(body, str) else body, content_type).entries)


def test_one_claim_review_maps_every_field() -> None:
    """A ClaimReview's claimReviewed, url, name, rating's alternateName, author, date and language are read."""
    assert entries(json.dumps(REVIEW), "application/ld+json") == [Entry(at="item 1", fields=FIELDS)]


def test_a_graph_keeps_its_reviews_and_passes_over_its_other_nodes() -> None:
    """An ``@graph``'s WebPage is not a fact-check; a review without url is refused by its item number."""
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebPage", "name": "x"},
            REVIEW,
            {**REVIEW, "url": None},
            {**REVIEW, "url": "https://b.example/2"},
        ],
    }
    found = entries(json.dumps(graph), "application/json")
    assert [(entry.at, entry.fields is not None) for entry in found] == [
        ("item 1", True),
        ("item 2", False),
        ("item 3", True),
    ]
    assert found[1].reason == "has no url (the fact-check's address, which identifies it)"


def test_a_data_feed_and_a_fact_check_tools_reply_are_read() -> None:
    """Google's DataFeed (``dataFeedElement[].item``) and a Fact Check Tools reply map onto the same fields."""
    feed = {"@type": "DataFeed", "dataFeedElement": [{"@type": "DataFeedItem", "item": [REVIEW]}]}
    tools = {
        "claims": [
            {
                "text": "Obama released 122 terrorists",
                "claimReview": [
                    {
                        "publisher": {"name": "PolitiFact", "site": "politifact.com"},
                        "url": "https://www.politifact.com/x/",
                        "title": "No, 122 did not",
                        "reviewDate": "2018-03-08T00:00:00Z",
                        "textualRating": "Mostly False",
                        "languageCode": "en",
                    }
                ],
            }
        ]
    }
    assert entries(json.dumps(feed), "application/ld+json") == [Entry(at="item 1", fields=FIELDS)]
    assert entries(json.dumps(tools), "application/json")[0].fields == {
        "claim_reviewed": "Obama released 122 terrorists", "url": "https://www.politifact.com/x/",
        "title": "No, 122 did not", "rating": "Mostly False", "publisher": "PolitiFact",
        "date_published": "2018-03-08T00:00:00Z", "language": "en",
    }  # fmt: skip


def test_ndjson_names_each_refusal_by_its_line() -> None:
    """Blank lines are skipped; a line that is not JSON, holds no review or a bad one is refused with its line."""
    lines = [json.dumps(REVIEW), "", "{not json", json.dumps({"@type": "WebPage"}), json.dumps([REVIEW, 7])]
    reading = read_body("\n".join(lines).encode(), "application/x-ndjson; charset=utf-8")
    found = list(reading.entries)
    assert reading.total == 4
    assert [(entry.at, entry.reason) for entry in found] == [
        ("line 1", None),
        ("line 3", "not JSON: Expecting property name enclosed in double quotes at column 2"),
        ("line 4", "is not a ClaimReview (no @type ClaimReview, no claimReviewed)"),
        ("line 5", None),
        ("line 5", "is not a JSON object (a ClaimReview)"),
    ]


def test_csv_rows_are_named_by_the_line_they_start_on() -> None:
    """A quoted cell spanning lines keeps later rows' line numbers true; header names are read in any case."""
    body = (
        "Claim_Reviewed,URL,rating\r\n"
        '"A claim\nover two lines",https://a.example/1,False\r\n'
        ",https://a.example/2,True\r\n"
        "too,many,cells,here\r\n"
    )
    found = entries(body, "text/csv")
    assert [(entry.at, entry.reason) for entry in found] == [
        ("line 2", None),
        ("line 4", "has no claimReviewed (claim_reviewed): the claim the fact-check reviews"),
        ("line 5", "has 4 cells; the header names 3 columns"),
    ]
    assert found[0].fields == {
        "claim_reviewed": "A claim\nover two lines", "url": "https://a.example/1", "title": None, "rating": "False",
        "publisher": None, "date_published": None, "language": None,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"url": "javascript:alert(1)"},
            "url is not an http(s) URL with a host and no spaces, of at most 2,048 characters",
        ),
        ({"inLanguage": "English!"}, "language is not a language code (BCP 47, e.g. en or pt-BR)"),
        ({"claimReviewed": "x" * 5001}, "claimReviewed has 5,001 characters; at most 5,000"),
        ({"name": "t" * 1001}, "title has 1,001 characters; at most 1,000"),
    ],
    ids=["javascript-url", "language", "long-claim", "long-title"],
)
def test_a_review_the_archive_cannot_hold_is_refused_with_why(change: dict[str, str], reason: str) -> None:
    """A URL that is no http(s) link, a language that is no code, or text past its limit refuses the review."""
    assert entries(json.dumps({**REVIEW, **change}), "application/ld+json") == [Entry(at="item 1", reason=reason)]


def test_the_published_csv_header_pattern_is_what_the_reader_takes() -> None:
    """A header the OpenAPI pattern allows is read; one it refuses is a 422: the published schema tells the truth."""
    import re

    from service.factchecks.importing import CSV_HEADER

    for header in ("claim_reviewed,url\n", "url, claim_reviewed ,x\nrow", "title,claim_reviewed,rating,url"):
        assert re.search(CSV_HEADER, header)
        read_body(header.encode(), "text/csv")
    for header in ("claim,url\n", "claim_reviewed\n", "a claim_reviewed,url"):
        assert not re.search(CSV_HEADER, header)
        with pytest.raises(InvalidRequest):
            read_body(header.encode(), "text/csv")


@pytest.mark.parametrize(
    ("body", "content_type", "error", "detail"),
    [
        (b"x", "text/plain", UnsupportedMediaType, "Content-Type text/plain is not an import format"),
        (b"\xffabc", "text/csv", InvalidRequest, "the body is not UTF-8 (byte 0 cannot be read)"),
        (b'{"a": ', "application/json", InvalidRequest, "the body is not JSON: Expecting value at line 1, column 7"),
        (b"claim,link\n", "text/csv", InvalidRequest, "the CSV header lacks claim_reviewed and url"),
        (b"false", "application/ld+json", InvalidRequest, "the body is JSON but no JSON-LD document"),
    ],
    ids=["media-type", "not-utf8", "not-json", "csv-header", "json-scalar"],
)
def test_a_body_unreadable_whole_is_refused_at_once(
    body: bytes, content_type: str, error: type[Exception], detail: str
) -> None:
    """Another media type is a 415; a body that is not UTF-8, not JSON or a CSV without the columns a 422."""
    with pytest.raises(error) as raised:
        read_body(body, content_type)
    assert str(raised.value).startswith(detail)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
def test_ndjson_lines_end_only_at_newlines(separator: str) -> None:
    """A line separator JSON allows raw inside a string (U+2028, U+2029, NEL) keeps its review whole and numbered."""
    first = json.dumps({**REVIEW, "claimReviewed": f"one{separator}two"}, ensure_ascii=False)
    second = json.dumps({**REVIEW, "url": "https://a.example/2"})
    reading = read_body(f"{first}\n{second}\n".encode(), "application/x-ndjson")
    found = list(reading.entries)
    assert reading.total == 2
    assert [(entry.at, entry.reason) for entry in found] == [("line 1", None), ("line 2", None)]
    assert found[0].fields is not None
    assert found[0].fields["claim_reviewed"] == f"one{separator}two"


def test_a_csv_quote_left_open_is_refused_saying_the_rest_was_not_read() -> None:
    """An unterminated quote would swallow every later row into one cell: the reply says so, losing nothing silently."""
    found = entries('claim_reviewed,url\n"open quote,https://a.example/1\nnext,https://a.example/2\n', "text/csv")
    assert len(found) == 1
    assert found[0].at == "line 2"
    assert found[0].reason is not None
    assert "the rest of the body was not read" in found[0].reason


def test_a_column_named_twice_is_read_when_its_cells_agree_and_refused_when_they_differ() -> None:
    """Two ``url`` columns with different cells leave the fact-check's identity unsaid: that row is refused."""
    body = "url,claim_reviewed,url,note,note\nhttps://a.example/1,one,https://a.example/2,x,y\nhttps://a.example/3,two,,x,x\n"
    found = entries(body, "text/csv")
    assert [(entry.at, entry.reason) for entry in found] == [
        ("line 2", "has two different url cells (the header names the column twice)"),
        ("line 3", None),
    ]
    assert found[1].fields is not None
    assert found[1].fields["url"] == "https://a.example/3"


def test_a_csv_whose_rows_end_at_carriage_returns_is_counted_by_its_rows() -> None:
    """Rows ending at a bare carriage return (old spreadsheets) are each counted: a large such file runs as a job."""
    body = "claim_reviewed,url\r" + "".join(f"claim {n},https://a.example/{n}\r" for n in range(3))
    reading = read_body(body.encode(), "text/csv")
    assert reading.total == 3
    assert [entry.reason for entry in reading.entries] == [None, None, None]


@pytest.mark.parametrize("content_type", ["application/x-ndjson", "application/json"])
def test_many_tiny_entries_are_not_all_held_at_once(content_type: str) -> None:
    """200,000 tiny lines (or list items) are read lazily: memory while reading stays near the body's size."""
    count = 200_000
    body = ("[]\n" * count).encode() if content_type == "application/x-ndjson" else ("[" + "1," * count + "1]").encode()
    tracemalloc.start()
    try:
        reading = read_body(body, content_type)
        first = next(reading.entries)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert reading.total == count + (content_type == "application/json")
    assert first.reason is not None
    assert peak < 12 * len(body), f"peak {peak:,} bytes for a {len(body):,}-byte body"


def test_reviews_nested_past_the_limit_are_refused_not_walked() -> None:
    """A review inside 900 nested lists (JSON that parses) is one rejection saying so, in JSON and NDJSON alike."""
    nested = "[" * 900 + json.dumps(REVIEW) + "]" * 900
    for content_type in ("application/json", "application/x-ndjson"):
        found = entries(nested, content_type)
        assert [entry.reason for entry in found] == ["nests lists, graphs or feeds more than 32 deep"]


def test_nan_and_infinity_are_no_text() -> None:
    """``NaN``, ``Infinity`` (which Python's json reads) or ``1e400`` are no claim or title: never stored as "nan"."""
    body = '{"@type": "ClaimReview", "url": "https://a.example/1", "claimReviewed": NaN, "name": 1e400}'
    found = entries(body, "application/json")
    assert [entry.reason for entry in found] == [
        "has no claimReviewed (claim_reviewed): the claim the fact-check reviews"
    ]
    titled = entries(json.dumps(REVIEW).replace('"name": "Did', '"headline": Infinity, "x": "Did'), "application/json")
    assert titled[0].fields is not None
    assert titled[0].fields["title"] is None
