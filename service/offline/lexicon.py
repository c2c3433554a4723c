"""Word lists the offline model's rules and its check-worthiness features share, each kept once.

Both read a sentence that opens with a command verb as an imperative ("Read more", "Click here") and a
sentence of praise or insult as opinion, so they share these lists rather than keep copies that drift.
"""

from __future__ import annotations

IMPERATIVE_VERBS = frozenset(
    (
        *("please", "read", "click", "check", "subscribe", "sign", "follow", "share", "join", "see", "watch"),
        *("listen", "look", "visit", "download", "call", "email", "contact", "imagine", "consider", "remember"),
        *("note", "wait", "let", "let's", "don't", "do", "try", "tell", "take", "go", "come", "stay", "find", "learn"),
    )
)
OPINION_WORDS = frozenset(
    (
        *("incompetent", "stupid", "idiot", "idiots", "dumb", "disgrace", "disgraceful", "pathetic", "terrible"),
        *("horrible", "awful", "amazing", "wonderful", "fantastic", "incredible", "beautiful", "disgusting"),
        *("nasty", "lovely", "brilliant", "love", "hate"),
    )
)
# Each reader adds a few words of its own, kept here so that the difference shows in one place:
# the check-worthiness cue as the shipped coefficients were trained on it, and the rules' wider net for insults.
OPINION_CUE_WORDS = OPINION_WORDS | {"tremendous"}
OPINION_RULE_WORDS = OPINION_WORDS | {"idiotic", "moron", "morons", "loser", "losers", "greatest"}
