"""The offline model's rules: claims from numbered sentences, deterministic, with no network and no weights.

A small rule set stands in for a language model so that the quick start, the tests and a first
integration need nothing external. A sentence that cannot be checked (a question, an opinion or insult,
a greeting, an imperative, a headline fragment without a verb, boilerplate) yields nothing; every other
sentence yields one claim: the whole sentence as its quote, a Full Fact type, the claimant and
attribution when the sentence names them, and its check-worthiness.

Check-worthiness comes from ``service.offline.checkworthiness``: a linear model over general lexical cues, trained
offline on CLEF CheckThat! transcripts that journalists labelled and shipped as a few KB of coefficients.
Each sentence is scored beside its neighbours in the chunk (claims cluster), then rounded to two decimals.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from schemas.claim_types import ClaimType
from schemas.model_reply import ModelClaim, ModelReply
from service.offline.checkworthiness import score_lines
from service.offline.claimants import Source, find_source, is_pure_quote
from service.offline.lexicon import IMPERATIVE_VERBS, OPINION_RULE_WORDS
from service.offline.references import resolve_references
from service.steps.speakers import split_speaker_label

# --- word lists -------------------------------------------------------------------------------------
MONTHS = (
    "Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?"
    "|Nov(?:ember)?|Dec(?:ember)?"
)

# --- patterns ---------------------------------------------------------------------------------------
# Each quotation is bounded (600 characters): an opening mark never closed must not rescan the rest of the
# sentence from every opener, which made a run of stray quote marks quadratic.
QUOTED_SPAN = re.compile(
    r"“([^”]{0,600})”|\"([^\"]{0,600})\"|‘(.{0,600}?)’(?=[\s,.;:!?]|$)|(?:^|(?<=\s))'(.{0,600}?)'(?=[\s,.;:!?]|$)"
)
EARLIER_SENTENCES = 5  # the sentences before one that its references are resolved from
MAX_SENTENCE_CHARS = 2_000  # longer is a run-on the segmenter could not split (a list, a table): no claim

# publishing furniture, matched on lower-cased text: phrases that open the sentence, then phrases anywhere
BOILERPLATE_OPENING = re.compile(
    r"this (?:is a )?(?:developing|breaking) (?:story|news)|read (?:the )?(?:full|more|original|whole|rest)\b"
    r"|read more\b|subscribe\b|sign up\b|follow us\b|share this\b"
    r"|(?:advertisement|sponsored|related|watch|listen|photo|image|video)\s*:"
    r"|(?:editing|reporting|additional reporting) by\b"
)
BOILERPLATE_ANYWHERE = re.compile(
    r"check back\b.*\b(?:updates|more)|click here|\bsubscribe (?:now|today|here|to our)|sign up (?:for|to) our"
    r"|\bnewsletter\b|©|\(c\)|\bcopyright\b|all rights reserved|contributed to this report"
    r"|this (?:story|article) has been updated"
    r"|^for more information\b|^(?:media )?contacts?:|^stay connected\b|data are subject to (?:change|revision)"
)
TERMINAL_PUNCTUATION = re.compile(r"[.!?…:;][\"”’')\]]*$")
VERB_HINT = re.compile(
    r"\b(?i:is|are|was|were|be|been|being|am|has|have|had|do|does|did|will|would|can|could|may|might|shall"
    r"|should|must|said|says)\b|\b[a-z]{2,}ed\b|n[’']t\b"
)
GREETING = re.compile(
    r"^(?:what an?|hi|hello|hey|good (?:morning|afternoon|evening|night)|welcome|thank you|thanks|dear|greetings"
    r"|goodbye|bye|congratulations)\b",
    re.IGNORECASE,
)
LEADING_FILLER = re.compile(r"^(?:[“\"‘'\s]|(?:and|but|so|or|oh|well|now)\b,?)+", re.IGNORECASE)
OPINION = re.compile(
    rf"\b(?:{'|'.join(sorted(OPINION_RULE_WORDS))})\b"
    r"|\bI (?:do not |don[’']t )?(?:think|believe|feel)\b|\bin my (?:view|opinion)\b"
    r"|\bshould(?:n[’']t)?\b|\bought to\b|\byou(?:[’'](?:re|ll|d|ve))?\b",
    re.IGNORECASE,
)
DATE = re.compile(
    rf"\b(?:{MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{MONTHS})\b"
    r"|\b(?:1[89]|20)\d\d(?:s|\b)"
)
QUANTITY = re.compile(
    r"\d|[$£€¥]|\b(?:percent|per cent|million|billion|trillion|thousands?|hundreds?|dozens?|half|twice|doubled"
    r"|tripled|halved|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b",
    re.IGNORECASE,
)
PREDICTION = re.compile(
    r"\b(?:will|won[’']t|shall|(?:is|are) set to|(?:is|are) (?:expected|likely|projected|forecast) to|going to"
    r"|expects?|forecasts?|predicts?|predicted|projects)\b",
    re.IGNORECASE,
)
CAUSAL = re.compile(
    r"\b(?:because|due to|owing to|as a result|results? in|resulted in|led to|leads? to|caused|causes?"
    r"|blamed|thanks to)\b",
    re.IGNORECASE,
)
RULE = re.compile(
    r"\b(?:laws?|legal|illegal(?:ly)?|unlawful(?:ly)?|lawsuits?|regulations?|regulators?|ruled|ruling|courts?"
    r"|judges?|banned|bans|prohibit(?:s|ed)?|statutes?|legislation|(?:un)?constitutional|sued|convicted|indicted"
    r"|dismissed (?:the )?(?:claims?|case|charges|lawsuit|suit|complaint))\b|\bAct\b",
    re.IGNORECASE,
)
RULE_TOPIC = re.compile(r"\billegal (?:immigration|immigrants?|aliens?|migrants?)\b", re.IGNORECASE)
FIRST_PERSON_EXPERIENCE = re.compile(
    r"^(?:(?:I|We)(?:\s+\w+ly)?|(?:My|Our)\s+\w+)\s+(?:was|were|had|have (?:been|had|seen|lost|lived|worked)"
    r"|[a-z]{2,}ed|grew|lost|saw|met|went|spent|took|got|became|came|left|ran|fled|paid|sold|bought)\b"
)
LEADING_CONNECTIVE = re.compile(r"^(?:But|And|So|Yet|However|Also),?\s+")


def _core(sentence: str, source: Source) -> str:
    """Return what the claim asserts: the quoted words of a direct quote, else the sentence minus quotes."""
    if source.attribution == "quoted":
        spans = [match[match.lastindex or 0] for match in QUOTED_SPAN.finditer(sentence)]  # one group matches
        return " ".join(spans).strip() or LEADING_FILLER.sub("", sentence)
    return " ".join(QUOTED_SPAN.sub(" ", sentence).split())


def _is_boilerplate(sentence: str) -> bool:
    """Tell whether the sentence is publishing furniture (developing story, read more, subscribe, ©)."""
    lowered = sentence.lower()
    return bool(BOILERPLATE_OPENING.match(lowered) or BOILERPLATE_ANYWHERE.search(lowered))


def _is_fragment(sentence: str) -> bool:
    """Tell whether the sentence is a headline-like fragment: no closing punctuation and no verb."""
    return not TERMINAL_PUNCTUATION.search(sentence) and not VERB_HINT.search(sentence)


def _is_question(text: str) -> bool:
    """Tell whether the text is a question."""
    return text.rstrip(" \"”’'),").endswith("?")


def _is_imperative(core: str) -> bool:
    """Tell whether the text opens with a command verb or "please" (after quotes and fillers)."""
    words = LEADING_FILLER.sub("", core).split(maxsplit=1)
    return bool(words) and words[0].lower().strip(",.!:;") in IMPERATIVE_VERBS


def _is_opinion(core: str) -> bool:
    """Tell whether the text is opinion, praise, insult or address ("you …") with no number to check."""
    return bool(OPINION.search(core)) and not re.search(r"\d", core)


def is_never_a_claim(sentence: str, source: Source) -> bool:
    """Tell whether a sentence cannot hold a claim: too short, boilerplate, a fragment, a question, a greeting."""
    core = _core(sentence, source)
    if len(core.split()) < 3 or _is_boilerplate(sentence) or _is_fragment(sentence):
        return True
    return _is_question(sentence) or _is_question(core) or bool(GREETING.match(LEADING_FILLER.sub("", core)))


def reads_as_opinion(sentence: str, source: Source) -> bool:
    """Tell whether a sentence reads as a command, an opinion or an address ("you …") with no figure."""
    core = _core(sentence, source)
    return _is_imperative(core) or _is_opinion(core)


def is_check_worthy(sentence: str, source: Source) -> bool:
    """Tell whether a sentence holds a checkable claim, given whose voice it is in."""
    return not (is_never_a_claim(sentence, source) or reads_as_opinion(sentence, source))


def has_quantity(text: str) -> bool:
    """Tell whether the text states a number, amount or duration (dates and years do not count)."""
    return bool(QUANTITY.search(DATE.sub(" ", text)))


def claim_type(sentence: str, source: Source) -> ClaimType:
    """Classify a claim by Full Fact's taxonomy, the most specific kind first."""
    if PREDICTION.search(sentence):
        return "prediction"
    if CAUSAL.search(sentence):
        return "causal"
    if RULE.search(RULE_TOPIC.sub(" ", sentence)):
        return "rule"
    if has_quantity(sentence):
        return "quantity"
    if FIRST_PERSON_EXPERIENCE.match(LEADING_FILLER.sub("", _core(sentence, source))):
        return "personal_experience"
    return "other"


def rounded_score(probability: float) -> float:
    """Return a check-worthiness as the reply states it: two decimals, within [0.01, 0.99]."""
    return round(min(0.99, max(0.01, probability)), 2)


def standalone_text(sentence: str) -> str:
    """Return the claim text: the sentence without a leading connective ("But", "However,")."""
    text = LEADING_CONNECTIVE.sub("", sentence)
    return text[:1].upper() + text[1:] if text else sentence


def _claim(sentence_id: int, sentence: str, source: Source, score: float, earlier: Sequence[str]) -> ModelClaim:
    """Return the claim a check-worthy sentence yields: the whole sentence as its quote, its references filled in.

    Where the sentence names its source only by a pronoun that was filled in ("[Ana Silva] said …"), the
    name filled in is its claimant too, so the claim and its claimant never disagree.
    """
    text = standalone_text(resolve_references(sentence, earlier))
    if source.claimant is None and text != sentence:
        filled_in = find_source(text.replace("[", "").replace("]", ""))
        source = filled_in if filled_in.claimant is not None else source
    return ModelClaim(
        sentence_ids=[sentence_id],
        quote=sentence,
        text=text,
        type=claim_type(sentence, source),
        claimant=source.claimant,
        attribution=source.attribution,
        checkworthiness=score,
    )


def extract_offline_reply(sentences: Sequence[tuple[int, str]], language: str | None = None) -> ModelReply:
    """Extract one claim per check-worthy ``(N, text)`` sentence, as the model reply the service expects.

    A line that shows its speaker (``[S3] TRUMP: words``, as prompt versions that render speakers do) is
    read without the label, and the speaker is the claimant of what it asserts in its own voice. A line
    over ``MAX_SENTENCE_CHARS`` yields nothing, so that every request's time stays linear in its length.
    ``language`` (the article's, None when unknown) chooses how check-worthiness is scored.
    """
    spoken = [
        (sentence_id, *split_speaker_label(text.strip()))
        for sentence_id, text in sentences
        if text.strip() and len(text) <= MAX_SENTENCE_CHARS
    ]
    sources: list[Source] = []
    previous_speaker: str | None = None
    for _, speaker, sentence in spoken:
        source = find_source(sentence, previous_speaker)
        previous_speaker = source.claimant if is_pure_quote(sentence) else None
        sources.append(
            Source(source.attribution, speaker) if speaker is not None and source.claimant is None else source
        )
    claimed = [is_check_worthy(sentence, source) for (_, _, sentence), source in zip(spoken, sources, strict=True)]
    scores = score_lines([(speaker, text) for _, speaker, text in spoken], claimed, language)  # read in its passage
    return ModelReply(
        claims=[
            _claim(sentence_id, sentence, source, rounded_score(probability), _earlier(spoken, index))
            for index, ((sentence_id, _, sentence), source, probability, kept) in enumerate(
                zip(spoken, sources, scores, claimed, strict=True)
            )
            if kept
        ]
    )


def _earlier(spoken: Sequence[tuple[int, str | None, str]], index: int) -> list[str]:
    """Return the texts of the sentences before ``index`` that references may be filled in from."""
    return [text for _, _, text in spoken[max(0, index - EARLIER_SENTENCES) : index]]
