"""Who says it beyond English: reported speech in Spanish, German, French, Italian, Portuguese, Dutch, Polish.

The offline model's claimant where the English rules (``service.offline.claimants``) find none.

Three shapes, in every language of ``LEXICONS``: "according to X" ("según", "laut", "nach Angaben", "selon",
"d'après", "secondo", "stando a", "segundo", "de acordo com", "volgens", "aldus", "według", "zdaniem"); a
verb of saying before its speaker at the end of a clause ("…, afirmó la ministra Yolanda Díaz", "„…“, sagte
Bundeskanzler Olaf Scholz", "– powiedział premier Donald Tusk"); and a subject before its verb of saying
("Bruno Le Maire a affirmé que …", "O ministro da Fazenda, Fernando Haddad, afirmou que …"). A named person
comes without their title or role; a role without a name as written, without its article ("le ministre de
l'Économie"). The word lists are the languages' own, one ``Lexicon`` each; English stays in ``claimants``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

MAX_SPEAKER_WORDS = 10  # "la presidente del Consiglio Giorgia Meloni" is 6; a longer run is a clause
_CAPITALISED = r"[A-ZÀ-ÖØ-ÞĀ-Ž][\w’'.-]*"
_CONNECTORS = r"(?:de|del|da|do|dos|das|di|della|van|von|der|den|du|la|le|für|y|e|d['’])"
_NAME_RUN = re.compile(rf"{_CAPITALISED}(?:\s+(?:{_CONNECTORS}\s+|d['’])?{_CAPITALISED})*")
_COMPLEMENTISERS = r"(?:que|dass|daß|che|dat|że|qu['’])\b"  # "…, aseguró que …": what follows is said, not who
_QUOTE_OPENING = re.compile(r"^\s*[«„“\"‚‘–—-]")
_CLAUSE_END = r"(?=\s*(?:[,.;:!?]|$))"
# where a speaker phrase ends: a comma, a stop, or a preposition of time or place ("am Montag", "en Madrid")
_TAIL = re.compile(
    r"\s+(?:am|im|en|à|au|in|a|w|we|op|no|na|em|el lunes|este|esta|ce|cette|ieri|oggi|gestern|heute|wczoraj)\s.*$"
)


@dataclass(frozen=True)
class Lexicon:
    """One language's words for reported speech: verbs of saying, "according to", articles and titles."""

    verbs: str  # alternatives, compound forms included ("ha dicho", "a déclaré")
    according: str  # alternatives that introduce the source
    articles: str  # words (and elisions such as "l'") before a noun, dropped from a claimant
    titles: str  # role words dropped before a person's name

    @cached_property
    def title_words(self) -> frozenset[str]:
        """Return the titles as a set of case-folded words."""
        return frozenset(word.casefold() for word in self.titles.split())

    @cached_property
    def verb_pattern(self) -> str:
        """Return the verbs as one regular-expression alternation, longest first."""
        return "|".join(sorted(self.verbs.split("|"), key=len, reverse=True))

    @cached_property
    def according_to(self) -> re.Pattern[str]:
        """Return the pattern of "según X": the word, then the phrase up to the clause's end."""
        return re.compile(rf"(?:^|[\s,(])(?i:{self.according})\s+(?P<phrase>[^,;:.]+?){_CLAUSE_END}")

    @cached_property
    def verb_then_speaker(self) -> re.Pattern[str]:
        """Return the pattern of "…, afirmó la ministra Yolanda Díaz": a clause-final verb, then who."""
        return re.compile(
            rf"(?:[,»”“\"]|\s[–—-])\s*(?:{self.verb_pattern})\s+(?!{_COMPLEMENTISERS})"
            rf"(?P<phrase>[^,;:.!?–—]+?(?:\s\w\.\s[^,;:!?–—]+?)?)(?:\s+mit)?{_CLAUSE_END}"
        )

    @cached_property
    def speaker_then_verb(self) -> re.Pattern[str]:
        """Return the pattern of "Bruno Le Maire a affirmé …": a subject (and apposition) opening the sentence."""
        return re.compile(
            rf"^(?P<subject>[^,;:]{{1,80}}?)(?:,\s+(?P<apposition>[^,;:]{{1,60}}),)?\s+(?:{self.verb_pattern})(?=[\s,])"
        )


LEXICONS = {
    "es": Lexicon(
        verbs="dijo|dice|dijeron|afirmó|afirma|afirmaron|aseguró|asegura|aseguraron|declaró|declara|declararon"
        "|señaló|señala|señalaron|explicó|explica|indicó|indica|añadió|añade|anunció|anuncia|advirtió|advierte"
        "|sostuvo|sostiene|informó|informa|informaron|reconoció|subrayó|destacó|apuntó|manifestó|estimó|prevé"
        "|explicaron|añadieron|anunciaron|advirtieron|señalaron|sostuvieron|denunciaron|denunció"
        "|ha dicho|ha afirmado|ha asegurado|ha declarado|ha señalado|ha explicado|ha anunciado",
        according="según|de acuerdo con|conforme a",
        articles="el|la|los|las|del|al|un|una",
        titles="sr. sra. don doña señor señora ministro ministra presidente presidenta vicepresidente"
        " vicepresidenta alcalde alcaldesa secretario secretaria portavoz director directora gobernador"
        " gobernadora dr. dra.",
    ),
    "de": Lexicon(
        verbs="sagte|sagt|sagten|erklärte|erklärt|erklärten|betonte|betont|warnte|warnt|berichtete|berichtet"
        "|teilte|teilt|kündigte|meinte|räumte|bekräftigte|versicherte|schätzt|schätzte",  # not "so": English has it
        according="laut|nach Angaben|zufolge",
        articles="der|die|das|dem|den|des|ein|eine|einer|eines",
        titles="bundeskanzler bundeskanzlerin kanzler kanzlerin minister ministerin finanzminister"
        " finanzministerin wirtschaftsminister wirtschaftsministerin außenminister außenministerin präsident"
        " präsidentin bundespräsident bürgermeister bürgermeisterin dr. prof. herr frau sprecher sprecherin"
        " chef chefin direktor direktorin ezb-direktorin ezb-präsidentin ministerpräsident ministerpräsidentin"
        " gesundheitsminister gesundheitsministerin arbeitsminister arbeitsministerin innenminister"
        " innenministerin",
    ),
    "fr": Lexicon(
        verbs="a dit|a déclaré|a affirmé|a indiqué|a expliqué|a annoncé|a assuré|a souligné|a précisé|a estimé"
        "|a ajouté|a averti|a reconnu|ont dit|ont déclaré|ont affirmé|ont indiqué|ont annoncé|ont assuré"
        "|dit|déclare|affirme|indique|explique|annonce|assure|souligne|précise|estime|ajoute|prévient",
        according="selon|d'après|d’après",
        articles="le|la|les|l'|l’|du|des|de la|un|une",
        titles="m. mme mlle monsieur madame ministre président présidente première premier maire porte-parole"
        " directeur directrice gouverneur gouverneure secrétaire dr",
    ),
    "it": Lexicon(
        verbs="ha detto|ha dichiarato|ha affermato|ha spiegato|ha annunciato|ha sottolineato|ha aggiunto"
        "|ha assicurato|ha precisato|ha osservato|ha avvertito|hanno detto|hanno dichiarato|hanno affermato"
        "|dice|afferma|dichiara|spiega|annuncia|sottolinea|aggiunge|disse|prevede",
        according="secondo|stando a|stando al|stando alla|stando ai|a detta di|a detta del|a detta della",
        articles="il|lo|la|i|gli|le|l'|l’|del|della|dello|dei|degli|delle|un|una|uno",
        titles="ministro ministra presidente premier sindaco sindaca segretario segretaria portavoce direttore"
        " direttrice governatore governatrice dott. sig. sig.ra on.",
    ),
    "pt": Lexicon(
        verbs="disse|diz|disseram|afirmou|afirma|afirmaram|declarou|declara|declararam|explicou|anunciou"
        "|informou|garantiu|destacou|ressaltou|salientou|advertiu|alertou|estimou|prevê",
        according="segundo|de acordo com|conforme",
        articles="o|a|os|as|do|da|dos|das|um|uma",
        titles="ministro ministra presidente primeiro-ministro primeira-ministra governador governadora"
        " prefeito prefeita secretário secretária porta-voz diretor diretora deputado deputada senador"
        " senadora sr. sra. dr. dra.",
    ),
    "nl": Lexicon(
        verbs="zei|zegt|zeiden|verklaarde|verklaart|stelde|stelt|meldde|meldt|liet|benadrukte|waarschuwde"
        "|waarschuwt|kondigde|schatte|schat|verwacht|aldus",
        according="volgens|aldus",
        articles="de|het|een",
        titles="minister premier president staatssecretaris burgemeester woordvoerder woordvoerster directeur"
        " dhr. mevrouw mevr. meneer dnb-president",
    ),
    "pl": Lexicon(
        verbs="powiedział|powiedziała|powiedzieli|mówi|stwierdził|stwierdziła|oświadczył|oświadczyła"
        "|zapowiedział|zapowiedziała|poinformował|poinformowała|poinformowali|podkreślił|podkreśliła"
        "|przekazał|przekazała|dodał|dodała|ocenił|oceniła|zaznaczył|zaznaczyła|ostrzegł|ostrzegła|przyznał",
        according="według danych|według|zdaniem|jak podaje|jak podał|jak poinformował|jak poinformowała",
        articles="",
        titles="premier prezydent prezes minister ministra wiceminister rzecznik rzeczniczka burmistrz"
        " prezydent pan pani dr prof.",
    ),
}

_ANY_CUE = re.compile(
    "|".join(rf"(?:{lexicon.verb_pattern}|(?i:{lexicon.according}))" for lexicon in LEXICONS.values()).join(
        (r"(?<!\w)(?:", r")(?!\w)")
    )
)


def find_speaker(sentence: str) -> tuple[str | None, bool]:
    """Return the claimant a sentence names in any language of ``LEXICONS``, and whether it opens with a quote."""
    quoted = bool(_QUOTE_OPENING.match(sentence))
    if not _ANY_CUE.search(sentence):
        return None, quoted  # no verb of saying nor "according to" of any language: most sentences, at once
    for lexicon in LEXICONS.values():
        for finder in (_according_to, _verb_then_speaker, _speaker_then_verb):
            claimant = finder(sentence, lexicon)
            if claimant:
                return claimant, quoted
    return None, quoted


def _according_to(sentence: str, lexicon: Lexicon) -> str | None:
    """Find "según X", "laut X", "selon X", "X zufolge" …: the phrase after the word, up to the clause's end."""
    match = lexicon.according_to.search(sentence)
    if match is None:
        return None
    return _claimant_of(_first_noun_phrase(match.group("phrase"), lexicon), lexicon)


def _first_noun_phrase(phrase: str, lexicon: Lexicon) -> str:
    """Cut a source phrase where its clause's verb starts: "dem Statistischen Bundesamt stiegen die …"."""
    kept: list[str] = []
    for word in phrase.split():
        after_connector = bool(kept) and _is_small_word(kept[-1], lexicon)  # "Cour des comptes"
        if kept and not word[:1].isupper() and not _is_small_word(word, lexicon) and not after_connector:
            break
        kept.append(word)
    return " ".join(kept)


def _is_small_word(word: str, lexicon: Lexicon) -> bool:
    """Say whether a word is an article or a connector, which a source's name may hold ("Banco de España")."""
    bare = word.casefold()
    elided = re.fullmatch(r"[dl]['’]\w+", bare) is not None and word[2:3].isupper()  # "d'Italia", "l'Insee"
    return elided or bool(re.fullmatch(_CONNECTORS, bare)) or bare in lexicon.articles.split("|")


def _verb_then_speaker(sentence: str, lexicon: Lexicon) -> str | None:
    """Find "…, afirmó la ministra Yolanda Díaz." and "„…“, sagte Olaf Scholz": a clause-final verb, then who."""
    match = lexicon.verb_then_speaker.search(sentence)
    if match is None or len(match.group("phrase").split()) > MAX_SPEAKER_WORDS:
        return None  # a clause, not a speaker
    return _claimant_of(match.group("phrase"), lexicon)


def _speaker_then_verb(sentence: str, lexicon: Lexicon) -> str | None:
    """Find "Bruno Le Maire a affirmé que …", "O ministro da Fazenda, Fernando Haddad, afirmou …" at the start."""
    match = lexicon.speaker_then_verb.match(sentence)
    if match is None:
        return None
    apposition = match.group("apposition")
    if apposition and _NAME_RUN.search(apposition):
        return _claimant_of(apposition, lexicon)
    return _claimant_of(match.group("subject"), lexicon, at_start=True)


def _claimant_of(phrase: str, lexicon: Lexicon, *, at_start: bool = False) -> str | None:
    """Turn a speaker phrase into a claimant: a person's name without titles, else the role or body as written.

    An article is dropped in lower case, or in any case ``at_start`` of the sentence: mid-sentence, a capital
    one belongs to the name ("aldus De Nederlandsche Bank").
    """
    phrase = _TAIL.sub("", phrase.strip()).strip(" «»„“”\"'")
    phrase = _without_article(phrase, lexicon, any_case=at_start)
    if not phrase:
        return None
    words = phrase.split()
    role_words = 0
    while role_words < len(words) and words[role_words].casefold() in lexicon.title_words:
        role_words += 1
    rest = words[role_words:]
    if role_words and rest and rest[0][:1].isupper():
        return _person(" ".join(rest))
    if role_words and (trailing := _trailing_name(phrase)):
        return trailing
    if role_words and not rest:
        return phrase  # a title alone ("premier"): the role
    name = _NAME_RUN.match(phrase)
    if name and name.group(0) == phrase:
        return _person(phrase) if role_words == 0 else phrase
    lead = re.match(rf"^(?P<role>(?:[^\W\d]+\s+){{0,3}}?)(?P<name>{_NAME_RUN.pattern})$", phrase)
    if lead and lead.group("role") and lead.group("role").split()[-1].casefold() in lexicon.title_words:
        return _person(lead.group("name"))
    return phrase


def _trailing_name(phrase: str) -> str | None:
    """Return the person a role ends with: "presidente del Consiglio Giorgia Meloni" gives "Giorgia Meloni"."""
    runs = list(_NAME_RUN.finditer(phrase))
    if not runs or runs[-1].end() != len(phrase):
        return None
    words = runs[-1].group(0).split()
    before = phrase[: runs[-1].start()].split()
    if before and re.fullmatch(_CONNECTORS, before[-1].casefold()) and len(words) >= 3:
        words = words[1:]  # "del Consiglio Giorgia Meloni": the connector's noun is the role's, not the name's
    return " ".join(words) if len(words) >= 2 else None


def _person(name: str) -> str:
    """Drop an organisation's acronym before a person's name ("NBP Adam Glapiński" gives "Adam Glapiński")."""
    words = name.split()
    while len(words) > 2 and words[0].isupper() and len(words[0]) > 1:
        words = words[1:]
    return " ".join(words)


def _without_article(phrase: str, lexicon: Lexicon, *, any_case: bool) -> str:
    """Drop the articles (and elisions such as "l'") that open a phrase: lower-case ones, or ``any_case``."""
    if not lexicon.articles:
        return phrase
    flags = "(?i:" if any_case else "(?:"
    pattern = re.compile(rf"^(?:{flags}{lexicon.articles})(?:\s+|(?<=['’]))|{flags}l['’]))+")
    return pattern.sub("", phrase).strip()
