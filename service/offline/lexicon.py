"""Word lists the offline model's rules and its check-worthiness features share, each kept once.

Both read a sentence that opens with a command verb as an imperative ("Read more", "Click here") and a
sentence of praise or insult as opinion; they must agree on what those words are.
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
        *("incompetent", "stupid", "idiot", "idiots", "idiotic", "dumb", "moron", "morons", "loser", "losers"),
        *("disgrace", "disgraceful", "pathetic", "terrible", "horrible", "awful", "amazing", "wonderful"),
        *("fantastic", "incredible", "greatest", "tremendous", "beautiful", "disgusting", "nasty", "lovely"),
        *("brilliant", "love", "hate"),
    )
)
