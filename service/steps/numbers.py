"""Numbers as any script and convention writes them, read for the faithfulness gate.

- Digits of every script become ASCII digits (Arabic-Indic "٣٥", Persian and Urdu "۲۹", Devanagari "३.२",
  Bengali, Thai, full-width …), with the Arabic decimal and thousands separators ("٣٥٫٨") and percent sign
  ("٪", "％"); Chinese and Japanese numerals ("二万九千三百九十八", "两千万", "一九九八") become figures
  through ``cn2an``, a maintained converter (runs of two numeral characters or more: a lone "一" in "统一"
  is a word, not a one).
- A figure's separators are read by convention: both kinds ("1.234,5", "1,234.5") make the last one the
  decimal mark; one kind repeated ("1.234.567") groups thousands; a single one before exactly three digits
  ("12.000", "1,500") is read both ways, since German and English disagree on it, and before one, two or
  four and more digits ("1,5", "15.2") is the decimal mark. Spaces (plain, no-break, narrow) group
  thousands before three digits ("200 000").
- Scale words after a figure in many languages: "1,5 Mio.", "2,5 miljard", "102 bilhões", "6 млрд",
  "10 लाख", "4.9万".
"""

from __future__ import annotations

import re
import unicodedata

FIGURE = r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?!\d)|\d[\d,.]*\d|\d"  # a figure as the gate tokenises it
_GROUP_SPACES = re.compile(r"[ \u00a0\u202f]")
_CJK_NUMERALS = re.compile(r"[零〇一二两兩三四五六七八九十百千万萬亿億点點]{2,}")
_SIGNS = {"٫": ".", "٬": ",", "٪": "%", "％": "%", "﹪": "%"}
_FOREIGN_DIGIT = re.compile(r"[^\D0-9]")  # a digit (Nd, as \d is) of another script than ASCII
_FOREIGN_SIGN = re.compile(f"[{''.join(_SIGNS)}]")
_SCALE_WORDS = {
    10**3: "thousand tausend mil mille mila tys tyś тыс тис duizend χιλ χιλιάδες",
    10**5: "lakh lakhs लाख লাখ",
    10**6: "million millions mio millionen millón millones milione milioni milhão milhões miljoen mln milion"
    " miliony milionów млн мільйон мільйонів million εκατ εκατομμύρια εκατομμύριο",
    10**7: "crore crores करोड़ করোড়",
    10**9: "billion billions mrd milliarde milliarden milliard milliards miliardo miliardi mld bilhão bilhões"
    " miliardo miljard miljarden mld miliard miliardy miliardów млрд мільярд мільярдів δισ δισεκατομμύρια",
    10**12: "trillion trillions billionen billón billones bln trilhão trilhões biljoen bilion билл трлн",
}
SCALES = {word: float(factor) for factor, words in _SCALE_WORDS.items() for word in words.split()}
CJK_SCALES = {"万": 1e4, "萬": 1e4, "亿": 1e8, "億": 1e8, "千": 1e3}


class _AsciiDigits(dict[int, str]):
    """What ``str.translate`` maps a character to: a digit of any script to its ASCII digit, worked out once."""

    def __missing__(self, code: int) -> str:
        """Work out a character not met before: its ASCII digit, else itself."""
        char = chr(code)
        self[code] = str(unicodedata.decimal(char)) if unicodedata.category(char) == "Nd" else char
        return self[code]


_DIGITS = _AsciiDigits({ord(sign): ascii_sign for sign, ascii_sign in _SIGNS.items()})


def with_ascii_digits(text: str) -> str:
    """Return ``text`` with every script's digits as ASCII and Chinese or Japanese numerals as figures."""
    if not text.isascii():
        if _FOREIGN_DIGIT.search(text) or _FOREIGN_SIGN.search(text):  # else nothing to translate (“, é …)
            text = text.translate(_DIGITS)
        if _CJK_NUMERALS.search(text):
            text = _CJK_NUMERALS.sub(_cjk_figure, text)
    return text


def _cjk_figure(match: re.Match[str]) -> str:
    """Return a run of Chinese or Japanese numerals as a figure, or the run itself where it is no number."""
    import cn2an  # imported on first use: most articles hold no Chinese numeral

    try:
        return str(cn2an.cn2an(match.group(0), "smart"))
    except ValueError:
        return match.group(0)


def readings(figure: str) -> frozenset[float]:
    """Return what a figure may mean: one value, or two where "12.000" or "1,500" is read both ways."""
    if figure.isdigit() and figure.isascii():
        return frozenset({float(figure)})  # the usual case: no separator
    plain = _GROUP_SPACES.sub("", figure)
    commas, dots = plain.count(","), plain.count(".")
    if commas and dots:
        decimal = "," if plain.rfind(",") > plain.rfind(".") else "."
        return _values(plain, decimal)
    separator = "," if commas else "." if dots else ""
    if not separator:
        return _values(plain, ".")
    if plain.count(separator) > 1:
        return _values(plain.replace(separator, ""), ".")
    after = len(plain) - plain.index(separator) - 1
    if after == 3:
        return _values(plain.replace(separator, ""), ".") | _values(plain, separator)
    return _values(plain, separator)


def _values(figure: str, decimal: str) -> frozenset[float]:
    """Return the value of a figure whose decimal mark is ``decimal`` (the other separator grouping digits)."""
    grouping = "." if decimal == "," else ","
    try:
        return frozenset({float(figure.replace(grouping, "").replace(decimal, "."))})
    except ValueError:
        return frozenset()


def scale_of(word: str) -> float | None:
    """Return the factor of a scale word that may follow a figure ("Mio.", "miljard", "лакх", "万人"), or None."""
    folded = word.casefold().rstrip(".")
    if folded in SCALES:
        return SCALES[folded]
    return CJK_SCALES.get(word[:1])
