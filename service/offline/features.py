"""Check-worthiness features: general lexical cues of a sentence, the same for debates and news copy.

Figures, percentages and money, years, comparatives and superlatives, trends, named entities and acronyms,
tense, hedges, modals, pronouns, questions, sentence length, and a modest vocabulary of single words;
``service.offline.checkworthiness`` weighs them with trained coefficients.
"""

from __future__ import annotations

import math
import re

from service.offline.lexicon import IMPERATIVE_VERBS, OPINION_CUE_WORDS
from service.steps.speakers import strip_speaker_label

TOKEN = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|\d+(?:[.,]\d+)*")
YEAR = re.compile(r"^(?:1[89]|20)\d\d$")
QUOTE_MARK = re.compile(r"[“”\"]")


def _words(text: str) -> frozenset[str]:
    """Return a set of lower-case words from a space-separated list."""
    return frozenset(text.split())


NUMBER_WORDS = _words(
    "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty hundred"
    " hundreds thousand thousands dozen dozens half twice double doubled triple tripled quadrupled"
)
MAGNITUDE = _words("million millions billion billions trillion trillions thousand thousands hundred hundreds")
PERCENT_WORDS = _words("percent percentage percentages")
MONEY_WORDS = _words("dollar dollars pounds euros cents")
COMPARATIVE = _words(
    "more less fewer higher lower larger smaller bigger greater worse better than most least faster slower"
    " cheaper richer poorer stronger weaker longer shorter"
)
SUPERLATIVE = _words(
    "largest biggest highest lowest smallest worst best greatest fastest slowest strongest weakest longest"
    " record first only ever single"
)
TREND = _words(
    "increase increased increases increasing decrease decreased decreases rise rose risen rising fall fell"
    " fallen falling grow grew grown growth drop dropped dropping cut cuts raised lowered doubled tripled"
    " up down declined decline soared surged plunged"
)
PAST_AUXILIARY = _words("was were had did wasn't weren't hadn't didn't")
PERFECT = _words("has have hasn't haven't 've")
PRESENT_BE = _words("is are isn't aren't 's")
FUTURE = _words("will won't 'll going gonna shall")
CONDITIONAL = _words("would could might may can wouldn't couldn't can't")
NORMATIVE = _words("should must need needs ought shouldn't")
HEDGE = _words("think believe guess maybe perhaps probably hope feel seems seem suppose hopefully")
FIRST_SINGULAR = _words("i me my mine myself i'm i've i'll i'd")
FIRST_PLURAL = _words("we us our ours ourselves we're we've we'll we'd")
SECOND_PERSON = _words("you your yours yourself you're you've you'll you'd")
THIRD_PERSON = _words("he she they him her them his their hers theirs he's she's they're")
NEGATION = _words("not never no nobody nothing none n't don't doesn't didn't won't can't isn't aren't")
SPEECH = _words("said says say told tell called stated claimed admitted announced reported")
OPENERS = _words("well oh okay ok yes no look thank thanks so and but now folks please right")
COURTESY = _words("thank thanks applause welcome congratulations laughter appreciate")
VAGUE = _words("some many often largely seemed seems appears may might perhaps possibly arguably something")
PAST_IRREGULAR = _words(
    "said held began sat won lost fell rose grew met made took paid sold led gave went came got saw knew"
    " thought told became left brought built bought sent spent voted signed passed"
)
ADDRESS = _words("you you're you'll you'd you've should shouldn't ought")
BELIEF = _words("think believe feel")
NOT_PAST = _words("need indeed speed seed feed bed red united hundred")
NOT_ENTITY = _words("I The A An It He She They We You This That These Those And But So Or If")
LENGTH_BINS = ((3, "len:1-3"), (7, "len:4-7"), (14, "len:8-14"), (24, "len:15-24"), (39, "len:25-39"))


def _number_features(tokens: list[str], lowered: frozenset[str], text: str) -> dict[str, float]:
    """Return the features of figures: numbers, years, percentages, money and magnitudes."""
    features: dict[str, float] = {}
    numerals = [token for token in tokens if token[0].isdigit()]
    years = sum(1 for token in numerals if YEAR.match(token))
    figures = len(numerals) - years
    if figures:
        features["f:number"] = 1.0
        features["f:numbers"] = min(figures, 3) / 3
    if years:
        features["f:year"] = 1.0
    if "%" in text or lowered & PERCENT_WORDS:
        features["f:percent"] = 1.0
    if "$" in text or "£" in text or "€" in text or lowered & MONEY_WORDS:
        features["f:money"] = 1.0
    if lowered & MAGNITUDE:
        features["f:magnitude"] = 1.0
    if lowered & NUMBER_WORDS:
        features["f:number_word"] = 1.0
    return features


def _word_classes() -> dict[str, tuple[str, ...]]:
    """Return, for every word of a lexicon, the cue features it fires."""
    lexicons = {
        "f:comparative": COMPARATIVE,
        "f:superlative": SUPERLATIVE,
        "f:trend": TREND,
        "f:past_aux": PAST_AUXILIARY,
        "f:perfect": PERFECT,
        "f:present_be": PRESENT_BE,
        "f:future": FUTURE,
        "f:conditional": CONDITIONAL,
        "f:normative": NORMATIVE,
        "f:hedge": HEDGE,
        "f:first_singular": FIRST_SINGULAR,
        "f:first_plural": FIRST_PLURAL,
        "f:second_person": SECOND_PERSON,
        "f:third_person": THIRD_PERSON,
        "f:negation": NEGATION,
        "f:speech": SPEECH,
        "f:courtesy": COURTESY,
        "f:opinion": OPINION_CUE_WORDS,
        "f:vague": VAGUE,
        "f:past": PAST_IRREGULAR,
        "f:address": ADDRESS,
    }
    classes: dict[str, tuple[str, ...]] = {}
    for name, lexicon in lexicons.items():
        for word in lexicon:
            classes[word] = (*classes.get(word, ()), name)
    return classes


WORD_CLASSES = _word_classes()


def _lexicon_features(lowered: frozenset[str], tokens: list[str]) -> dict[str, float]:
    """Return one binary feature per word class the sentence uses, and the cues of its first word."""
    features = {name: 1.0 for word in lowered for name in WORD_CLASSES.get(word, ())}
    if "f:past" not in features and any(
        word.endswith("ed") and len(word) > 4 and word not in NOT_PAST for word in lowered
    ):
        features["f:past"] = 1.0
    if tokens:
        first = tokens[0].lower()
        if first in OPENERS:
            features["f:opener"] = 1.0
        if first in IMPERATIVE_VERBS:
            features["f:imperative"] = 1.0
    if "i" in lowered and lowered & BELIEF:
        features["f:address"] = 1.0  # "I think", "I believe": opinion cues, like addressing "you"
    return features


def _shape_features(text: str, tokens: list[str]) -> dict[str, float]:
    """Return the features of the sentence's shape: length, punctuation, entities and acronyms."""
    features: dict[str, float] = {}
    length = len(tokens)
    features[next((name for limit, name in LENGTH_BINS if length <= limit), "len:40+")] = 1.0
    features["f:log_length"] = math.log1p(length) / 4
    stripped = text.rstrip(" \"”’')")
    if stripped.endswith("?"):
        features["f:question"] = 1.0
    if stripped.endswith("!"):
        features["f:exclamation"] = 1.0
    if stripped.endswith(("...", "…", "--", "—")):
        features["f:unfinished"] = 1.0
    if QUOTE_MARK.search(text):
        features["f:quote_marks"] = 1.0
    entities = {token for token in tokens[1:] if token[0].isupper() and token not in NOT_ENTITY}
    if entities:
        features["f:entities"] = min(len(entities), 4) / 4
    if any(len(token) > 1 and token.isupper() for token in tokens):
        features["f:acronym"] = 1.0
    return features


def sentence_features(sentence: str) -> dict[str, float]:
    """Return a sentence's features: cues (``f:…``), length bin (``len:…``) and its words (``w:…``)."""
    text = strip_speaker_label(sentence.strip())
    tokens = TOKEN.findall(text)
    lowered = frozenset(token.lower().replace("’", "'") for token in tokens)
    features = {"bias": 1.0}
    features.update(_number_features(tokens, lowered, text))
    features.update(_lexicon_features(lowered, tokens))
    features.update(_shape_features(text, tokens))
    if "f:address" in features and ("f:number" in features or "f:year" in features):
        del features["f:address"]  # opinion cues count only without a figure to check
    for word in lowered:
        if not word[0].isdigit():
            features["w:" + word] = 1.0
    return features
