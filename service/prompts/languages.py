"""A language's English name for a prompt ("es" gives "Spanish", "pt-BR" "Portuguese (Brazil)"), from CLDR.

Babel (already installed with trafilatura, through courlan) carries the Unicode CLDR names.
"""

from __future__ import annotations

from functools import lru_cache

from babel import Locale, UnknownLocaleError

NAMES_REMEMBERED = 256  # distinct language tags: a few KB


@lru_cache(maxsize=NAMES_REMEMBERED)
def language_name(tag: str) -> str:
    """Return the English name of a BCP 47 tag; for a tag CLDR does not know, a phrase naming the tag."""
    try:
        name = Locale.parse(tag, sep="-").get_display_name("en")
    except (UnknownLocaleError, ValueError):
        name = None
    return name or f'the language tagged "{tag}"'


def primary(tag: str) -> str:
    """Return a tag's primary language subtag, lower case: "pt-BR" gives "pt"."""
    return tag.split("-", 1)[0].lower()
