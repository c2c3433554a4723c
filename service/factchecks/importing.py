"""Read an import's body: ClaimReview as published (JSON-LD, NDJSON of it, or CSV) into fact-check fields.

JSON-LD may be one ``ClaimReview``, a list of them, a document with an ``@graph`` (other nodes in it, a
``WebPage`` or an ``Organization``, are passed over), a schema.org ``DataFeed`` (``dataFeedElement[].item``,
the feed Google and Data Commons publish), or a reply of Google's Fact Check Tools API
(``{"claims": [{"text", "claimReview": [...]}]}``). NDJSON holds any of these one a line. CSV has a header
naming at least ``claim_reviewed`` and ``url`` (and any of ``title``, ``rating``, ``publisher``,
``date_published``, ``language``). The standard library's ``json`` and ``csv`` read the text: JSON-LD here
needs no expansion (its terms are schema.org's own), and a JSON-LD processor would fetch the context.

ClaimReview maps as: ``claimReviewed`` (else the Fact Check Tools claim's ``text``, else
``itemReviewed.text``), ``url``, ``reviewRating.alternateName`` (else its ``name``, else ``textualRating``),
``author.name`` (else ``publisher.name``), ``datePublished`` (else ``reviewDate``), ``inLanguage`` (a code
or a ``Language`` node; else ``languageCode``), ``name`` (else ``headline``, else ``title``).

Each entry read is either the fields of a fact-check or a ``Rejection`` saying where it stood and why; a body
that cannot be read at all (not UTF-8, not JSON, a CSV without the columns) raises ``InvalidRequest``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from schemas.extraction import HTTP_URL
from schemas.factcheck_archive import Rejection
from service.errors import InvalidRequest, UnsupportedMediaType

JSON_TYPES = frozenset({"application/json", "application/ld+json"})
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"})
CSV_TYPES = frozenset({"text/csv"})
MEDIA_TYPES = sorted(JSON_TYPES | NDJSON_TYPES | CSV_TYPES)
CSV_COLUMNS = ("claim_reviewed", "url", "title", "rating", "publisher", "date_published", "language")
_CELL = r'[^,\r\n\x00"]*'
_COLUMNS = rf"(?:{_CELL},)*[ \t]*{{}}[ \t]*(?:,{_CELL})*,[ \t]*{{}}[ \t]*(?:,{_CELL})*"
CSV_HEADER = (  # a header (unquoted) naming claim_reviewed and url, in either order: what OpenAPI publishes
    rf"^\ufeff?(?:{_COLUMNS.format('claim_reviewed', 'url')}|{_COLUMNS.format('url', 'claim_reviewed')})(?:\r?\n|$)"
)
CLAIM_CHARS = 5000
FIELD_CHARS = 1000
URL_CHARS = 2048
NESTING = 32  # lists, graphs and feeds nested deeper are refused: a walk of them never nears Python's recursion limit
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
Fields = dict[str, str | None]


@dataclass(frozen=True, slots=True)
class Entry:
    """One fact-check read from the body: its fields, or why it was refused; ``at`` says where it stood."""

    at: str
    fields: Fields | None = None
    reason: str | None = None

    def rejection(self) -> Rejection:
        """Return this entry's refusal, for the import's report."""
        return Rejection(at=self.at, reason=self.reason or "refused")


@dataclass(frozen=True, slots=True)
class Reading:
    """A body being read: how many entries it holds (lines for NDJSON and CSV, counted high), and the entries."""

    total: int
    entries: Iterator[Entry]


def media_type(content_type: str) -> str:
    """Return the bare media type of a ``Content-Type`` header, lower case (parameters left off)."""
    return content_type.split(";", 1)[0].strip().lower()


def read_body(body: bytes, content_type: str) -> Reading:
    """Start reading an import's body by its media type; 415 for another type, 422 for a body unreadable whole."""
    kind = media_type(content_type)
    if kind not in JSON_TYPES | NDJSON_TYPES | CSV_TYPES:
        shown = kind[:100] or "none"
        raise UnsupportedMediaType(
            f"Content-Type {shown} is not an import format; send one of {', '.join(MEDIA_TYPES)}"
        )
    text = _utf8(body)
    if kind in JSON_TYPES:
        document = _json_document(text)
        total = sum(1 for _ in reviews_in(document))  # counted by a first walk: the entries are made lazily
        return Reading(total=total, entries=_json_entries(document))
    if kind in CSV_TYPES:  # CSV rows may end at \r alone; splitlines counts them (and more: counted high)
        lines = sum(1 for line in text.splitlines() if line.strip())
        return Reading(total=max(lines - 1, 0), entries=_csv_entries(text))
    lines = sum(1 for line in _ndjson_lines(text) if line.strip())
    return Reading(total=lines, entries=_ndjson_entries(text))


def _utf8(body: bytes) -> str:
    """Decode the body as UTF-8 (a byte-order mark allowed); 422 naming the offset of the first bad byte."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"the body is not UTF-8 (byte {exc.start:,} cannot be read)") from exc


def _json_document(text: str) -> Any:
    """Parse the body as one JSON-LD document (an object or a list); 422 when it is not JSON or not such."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"the body is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from exc
    except RecursionError as exc:
        raise InvalidRequest("the body nests JSON too deeply to read") from exc
    if not isinstance(document, dict | list):
        raise InvalidRequest("the body is JSON but no JSON-LD document: send an object (a ClaimReview, an @graph, a "
                             "DataFeed) or a list of them")  # fmt: skip
    return document


def _json_entries(document: Any) -> Iterator[Entry]:
    """Yield the reviews of one JSON-LD document, numbered ``item 1``, ``item 2``... in document order."""
    for number, (fields, reason) in enumerate(reviews_in(document), start=1):
        yield Entry(at=f"item {number}", fields=fields, reason=reason)


def _ndjson_entries(text: str) -> Iterator[Entry]:
    """Yield the reviews of each line (a review, a list, a graph or a feed), each named by its line."""
    for number, line in enumerate(_ndjson_lines(text), start=1):
        if not line.strip():
            continue
        at = f"line {number}"
        try:
            document = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Entry(at=at, reason=f"not JSON: {exc.msg} at column {exc.colno}")
            continue
        except RecursionError:
            yield Entry(at=at, reason="nests JSON too deeply to read")
            continue
        found = list(reviews_in(document))
        if not found:
            yield Entry(at=at, reason="holds no ClaimReview")
        for fields, reason in found:
            yield Entry(at=at, fields=fields, reason=reason)


def _ndjson_lines(text: str) -> Iterator[str]:
    """Yield NDJSON's lines one at a time, at newlines only (``splitlines`` also breaks at U+2028, allowed in JSON)."""
    return iter(io.StringIO(text, newline="\n"))


def _csv_entries(text: str) -> Iterator[Entry]:
    """Return the CSV rows' entries, each named by the line it starts on; 422 at once when the header lacks a column."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader, [])]
    except csv.Error as exc:
        raise InvalidRequest(f"the CSV header cannot be read: {exc}") from exc
    missing = [name for name in ("claim_reviewed", "url") if name not in header]
    if missing:
        raise InvalidRequest(
            f"the CSV header lacks {' and '.join(missing)}; its columns are {', '.join(CSV_COLUMNS)} (the first two "
            "required)"
        )
    return _csv_rows(reader, header, text)


def _quote_left_open(text: str, line: int) -> bool:
    """Say whether the CSV from physical ``line`` on opens a quote it never closes (read to the end, leniently)."""
    tail = "".join(io.StringIO(text, newline="").readlines()[line - 1 :])
    try:
        for _ in csv.reader(io.StringIO(tail, newline=""), strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _csv_rows(reader: Any, header: list[str], text: str) -> Iterator[Entry]:
    """Yield each row's fields after the header (a row CSV cannot read ends the body with a rejection)."""
    started, physical_lines = reader.line_num + 1, len(io.StringIO(text, newline="").readlines())
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Entry(at=f"line {started}", reason=f"CSV cannot read it: {exc}; the rest of the body was not read")
            return
        if reader.line_num == physical_lines and reader.line_num > started and _quote_left_open(text, started):
            yield Entry(at=f"line {started}", reason="opens a quote it never closes; the rest of the body was not read")
            return
        at, started = f"line {started}", reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            yield Entry(at=at, reason=f"has {len(row)} cells; the header names {len(header)} columns")
            continue
        raw, reason = _row_fields(row, header)
        fields, reason = checked_fields(raw) if reason is None else (None, reason)
        yield Entry(at=at, fields=fields, reason=reason)


def _row_fields(row: list[str], header: list[str]) -> tuple[Fields, str | None]:
    """Return a row's cells by column; a reason when a column the header names twice has two different cells."""
    given: dict[str, set[str]] = {}
    for index, name in enumerate(header):
        cell = row[index].strip() if index < len(row) else ""
        if name in CSV_COLUMNS and cell:
            given.setdefault(name, set()).add(cell)
    doubled = sorted(name for name, cells in given.items() if len(cells) > 1)
    if doubled:
        return {}, f"has two different {' and '.join(doubled)} cells (the header names the column twice)"
    return {name: next(iter(given[name])) if name in given else None for name in CSV_COLUMNS}, None


def reviews_in(document: Any, depth: int = 0) -> Iterator[tuple[Fields | None, str | None]]:
    """Yield ``(fields, None)`` for each ClaimReview a JSON-LD value holds, ``(None, reason)`` for one refused."""
    if depth > NESTING and isinstance(document, list | dict):
        yield None, f"nests lists, graphs or feeds more than {NESTING} deep"
        return
    if isinstance(document, list):
        for node in document:
            yield from reviews_in(node, depth + 1)
        return
    if not isinstance(document, dict):
        yield None, "is not a JSON object (a ClaimReview)"
        return
    if isinstance(document.get("@graph"), list):
        for node in document["@graph"]:
            if isinstance(node, dict) and not _is_review(node):
                continue  # a graph's other nodes (its WebPage, its Organization) are not fact-checks
            yield from reviews_in(node, depth + 1)
    elif isinstance(document.get("dataFeedElement"), list):
        for element in document["dataFeedElement"]:
            yield from reviews_in(element.get("item", element) if isinstance(element, dict) else element, depth + 1)
    elif isinstance(document.get("claims"), list):
        yield from _fact_check_tools_reviews(document["claims"])
    elif _is_review(document):
        yield checked_fields(_review_fields(document))
    else:
        yield None, "is not a ClaimReview (no @type ClaimReview, no claimReviewed)"


def _fact_check_tools_reviews(claims: list[Any]) -> Iterator[tuple[Fields | None, str | None]]:
    """Yield the reviews of a Fact Check Tools API reply: each claim's ``claimReview`` list, with the claim's text."""
    for claim in claims:
        if not isinstance(claim, dict) or not isinstance(claim.get("claimReview"), list):
            yield None, "is a Fact Check Tools claim without a claimReview list"
            continue
        for review in claim["claimReview"]:
            if not isinstance(review, dict):
                yield None, "is a claimReview that is not an object"
                continue
            yield checked_fields(_review_fields(review, claim_text=_text(claim.get("text"))))


def _is_review(node: dict[str, Any]) -> bool:
    """Say whether a JSON-LD node is a ClaimReview (by its ``@type``, or by having ``claimReviewed``)."""
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return "claimReviewed" in node or any(isinstance(k, str) and k.rsplit("/", 1)[-1] == "ClaimReview" for k in kinds)


def _text(value: Any) -> str | None:
    """Return the text of a JSON-LD value: a string, a node's ``name`` or ``@value``, a list's first text."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value) if math.isfinite(value) else None  # NaN, Infinity (or 1e400): no text, not "nan"
    if isinstance(value, dict):
        return _text(value.get("@value")) or _text(value.get("name"))
    if isinstance(value, list):
        return next((text for text in map(_text, value) if text), None)
    return None


def _language(value: Any) -> str | None:
    """Return a language code from ``inLanguage``: a code, or a ``Language`` node's ``alternateName`` or ``name``."""
    if isinstance(value, dict):
        return _text(value.get("alternateName")) or _text(value.get("name"))
    return _text(value)


def _review_fields(review: dict[str, Any], claim_text: str | None = None) -> Fields:
    """Map one ClaimReview (schema.org's terms, or Fact Check Tools') onto a fact-check's fields, unchecked."""
    rating = review.get("reviewRating")
    rating_node = rating if isinstance(rating, dict) else {}
    item = review.get("itemReviewed")
    return {
        "url": _text(review.get("url")),
        "claim_reviewed": _text(review.get("claimReviewed"))
        or claim_text
        or (_text(item.get("text")) if isinstance(item, dict) else None),
        "title": _text(review.get("name")) or _text(review.get("headline")) or _text(review.get("title")),
        "rating": _text(rating_node.get("alternateName"))
        or _text(rating_node.get("name"))
        or _text(review.get("textualRating")),
        "publisher": _text(review.get("author")) or _text(review.get("publisher")),
        "date_published": _text(review.get("datePublished")) or _text(review.get("reviewDate")),
        "language": _language(review.get("inLanguage")) or _text(review.get("languageCode")),
    }


def checked_fields(fields: Fields) -> tuple[Fields | None, str | None]:
    """Return the fields when they make a fact-check, else ``(None, reason)``: a URL and a claim are required."""
    url, claim = fields.get("url"), fields.get("claim_reviewed")
    if not url:
        return None, "has no url (the fact-check's address, which identifies it)"
    if len(url) > URL_CHARS or not re.fullmatch(HTTP_URL, url):
        return None, f"url is not an http(s) URL with a host and no spaces, of at most {URL_CHARS:,} characters"
    if not claim:
        return None, "has no claimReviewed (claim_reviewed): the claim the fact-check reviews"
    if len(claim) > CLAIM_CHARS:
        return None, f"claimReviewed has {len(claim):,} characters; at most {CLAIM_CHARS:,}"
    for name in ("title", "rating", "publisher", "date_published", "language"):
        value = fields.get(name)
        if value is not None and len(value) > FIELD_CHARS:
            return None, f"{name} has {len(value):,} characters; at most {FIELD_CHARS:,}"
    language = fields.get("language")
    if language is not None and not LANGUAGE.fullmatch(language):
        return None, "language is not a language code (BCP 47, e.g. en or pt-BR)"
    return {name: fields.get(name) for name in CSV_COLUMNS}, None
