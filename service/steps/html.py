"""Articles sent as HTML pages: the main text read out with trafilatura, the page's boilerplate left behind.

Navigation, related links, advertisements, comments, scripts and footers are not the article: trafilatura
(a maintained main-content extractor, with its precision setting) keeps the body's paragraphs, one a line,
and reads the headline and the publication date from the page's metadata. The text it returns is what the
claims' offsets index into; the reply carries it (``article.text``).

Hostile or broken pages (unclosed tags, entities, deep nesting, scripts) are parsed leniently by lxml; a
page that cannot be read, or has no article text in it, is a 422 saying so. The work is CPU only and runs
on the CPU thread, so a large page never holds the event loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from schemas import Article
from service.errors import InvalidRequest

DOCUMENT_START = re.compile(r"(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])", re.IGNORECASE)
BLOCKS = ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "br", "section", "article", "tr", "blockquote", "pre")
PROLOG = "\ufeff \t\r\n"  # a byte-order mark and whitespace before the first tag
TAG = re.compile(r"<[A-Za-z!/]")
MAX_ELEMENTS = 60_000  # a page with more tags is refused before it is parsed (real pages: < 30,000; ~35 µs a tag)
MAX_ATTRIBUTES = 2_000  # libxml2 checks each attribute against the tag's others: 20,000 took 5 s, 90,000 4 min
OPEN_TAG = re.compile(r"""<[A-Za-z](?:[^<>"']++|"[^"]*+"|'[^']*+')*+""")  # a quoted ">" stays inside the tag
QUOTED = re.compile(r""""[^"]*+"|'[^']*+'""")
ATTRIBUTE = re.compile(r"""[^\s=/"']++(?:\s*+=\s*+[^\s"'>]*+)?+""")  # a name, with its unquoted value if any
MAX_DEPTH = 255  # libxml2 stops reading a page nested deeper: the rest would be lost without a word
UNSEEN = (  # never shown to a reader: templates, frames' fallbacks, hidden and display:none elements
    "(//template | //noframes | //*[@hidden] | "  # html and body aside: a script may show a page hidden at first
    "//*[contains(translate(@style, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ ', 'abcdefghijklmnopqrstuvwxyz'), 'display:none')])"
    "[not(self::html or self::body)]"
)
TOO_DEEP = "boolean(/" + "/".join(["*"] * MAX_DEPTH) + ")"  # an element 255 levels down: libxml2 stops at 256


@dataclass(frozen=True, slots=True)
class PageText:
    """What an HTML page holds for us: its article text, and the headline and date its metadata give."""

    text: str
    title: str | None
    published_at: datetime | None


def looks_like_html(text: str) -> bool:
    """Say whether ``text`` is an HTML document: a doctype, or an html, head or body tag, first.

    A byte-order mark, an XML prolog and comments may come before it. Read in one pass, with no regex over
    the comments (nested quantifiers there backtrack for ever on ``<!---->`` repeated).
    """
    head = text[:4096].lstrip(PROLOG)
    if head.startswith("<?xml"):
        end = head.find("?>")
        head = head[end + 2 :].lstrip(PROLOG) if end >= 0 else ""
    while head.startswith("<!--"):
        end = head.find("-->", 4)
        if end < 0:
            return False
        head = head[end + 3 :].lstrip(PROLOG)
    return bool(DOCUMENT_START.match(head))


def is_html(article: Article) -> bool:
    """Say whether an article is to be read as an HTML page: declared so, or detected by ``format: auto``."""
    return article.format == "html" or (article.format == "auto" and looks_like_html(article.text))


def read_html(page: str) -> PageText:
    """Return the article text of an HTML page with its headline and date; 422 when there is none to read.

    Text declared HTML that holds no tag is read as it is. When trafilatura finds no main text (a bare page,
    a fragment), the page's visible text is taken instead: scripts, styles and the head never are.
    """
    if not TAG.search(page):
        return PageText(text=page.strip(), title=None, published_at=None)
    elements = page.count("<")
    if elements > MAX_ELEMENTS:
        raise InvalidRequest(f"article.text is HTML with about {elements:,} tags; at most {MAX_ELEMENTS:,} are read")
    widest = max((_attributes(tag.group()) for tag in OPEN_TAG.finditer(page)), default=0)
    if widest > MAX_ATTRIBUTES:
        raise InvalidRequest(f"article.text is HTML with a tag of {widest:,} attributes; at most {MAX_ATTRIBUTES:,}")
    try:
        tree = _parsed(page)
        document = None if tree is None else _trafilatura().bare_extraction(
            tree, with_metadata=True, include_comments=False, include_tables=False, include_images=False,
            favor_precision=True, config=_config(),
        )  # fmt: skip
    except (ValueError, RecursionError, MemoryError, UnicodeError) as exc:
        raise InvalidRequest(f"article.text could not be read as HTML ({type(exc).__name__})") from exc
    text = (getattr(document, "text", None) or "").strip() if document is not None else ""
    text = text or _visible_text(page)
    if not text:
        raise InvalidRequest("article.text is HTML with no article text in it (only scripts, styles or markup)")
    return PageText(text=text, title=getattr(document, "title", None) or None, published_at=_date(document))


def _attributes(tag: str) -> int:
    """Count the attributes of an opening tag (its name aside), quoted values left out."""
    return max(0, len(ATTRIBUTE.findall(QUOTED.sub(" ", tag[1:]))) - 1)


def _parsed(page: str) -> Any:
    """Parse the page as trafilatura does; 422 when it is nested deeper than libxml2 reads (text would be lost)."""
    from trafilatura.utils import load_html

    tree = load_html(page)
    if tree is not None and tree.getroottree().xpath(TOO_DEEP):
        raise InvalidRequest(f"article.text is HTML nested deeper than {MAX_DEPTH} elements; it cannot be read whole")
    if tree is not None:
        for element in tree.xpath(UNSEEN):  # what a reader never sees is no part of the article
            element.drop_tree()
    return tree


def _visible_text(page: str) -> str:
    """Return what a browser would show of a page, a line per block: no script, style, template or head."""
    import lxml.html  # trafilatura's parser

    try:
        root = lxml.html.fromstring(page)
    except (ValueError, lxml.etree.ParserError):
        return ""
    for element in root.xpath(f"//script | //style | //noscript | //head | {UNSEEN}"):
        element.drop_tree()
    for element in root.iter(*BLOCKS):  # a block ends its line, as a browser shows it
        element.tail = "\n" + (element.tail or "")
    lines = (" ".join(line.split()) for line in root.text_content().splitlines())
    return "\n".join(line for line in lines if line)


@cache
def _trafilatura() -> Any:
    """Import trafilatura on the first HTML article only (it brings lxml and friends)."""
    import trafilatura

    return trafilatura


@cache
def _config() -> Any:
    """Return trafilatura's settings (its own defaults: the element cap is ours, counted before it runs)."""
    from trafilatura.settings import use_config

    return use_config()


def _date(document: object) -> datetime | None:
    """Return the page's publication date, as midnight UTC of the day its metadata gives, if any."""
    value = getattr(document, "date", None)
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
    except ValueError:
        return None
