"""An article's reading remembered: the same text is read once, another text or setting is read anew."""

from __future__ import annotations

from pathlib import Path

from schemas import Article
from service.pipeline.extraction import _read_article
from service.pipeline.reads import RememberedReads
from service.steps.chunking import Chunk
from service.steps.text import NormalizedText, Sentence

SAMPLE = (Path(__file__).resolve().parents[1] / "data" / "article-trump-musk-x-stream.txt").read_text(encoding="utf-8")


class CountingReader:
    """Reads an article as the pipeline does, counting how many times it was asked to."""

    def __init__(self, article: Article, chunk_tokens: int = 1_000) -> None:
        self.article = article
        self.chunk_tokens = chunk_tokens
        self.calls = 0

    def __call__(self) -> tuple[NormalizedText, list[Sentence], list[Chunk]]:
        """Read the article, counting the call."""
        self.calls += 1
        return _read_article(self.article, self.chunk_tokens, 2)


def key(article: Article, chunk_tokens: int = 1_000) -> tuple[str, str, str | None, int, int]:
    """Return the key the pipeline reads ``article`` under."""
    return (article.text, article.format, article.language, chunk_tokens, 2)


def test_the_same_text_is_read_once_and_given_back_equal() -> None:
    """A second read of the same article is the first one's reading, equal field for field, read once."""
    article = Article(text=SAMPLE * 2, language="en")
    reader, reads = CountingReader(article), RememberedReads()
    first = reads.read(key(article), reader)
    second = reads.read(key(article), reader)
    assert reader.calls == 1
    assert second == first
    assert len(first[2]) > 1, "the doubled sample is more than one chunk"


def test_the_lists_given_back_are_new_each_time() -> None:
    """A caller that changes the sentences or chunks it was given changes nothing for the next one."""
    article = Article(text=SAMPLE, language="en")
    reader, memory = CountingReader(article), RememberedReads()
    _, sentences, chunks = memory.read(key(article), reader)
    count = (len(sentences), len(chunks))
    sentences.clear()
    chunks.clear()
    _, again, chunks_again = memory.read(key(article), reader)
    assert (len(again), len(chunks_again)) == count


def test_another_text_language_or_setting_is_read_anew() -> None:
    """The key holds everything a reading depends on: the text, its language and the chunking settings."""
    article = Article(text=SAMPLE, language="en")
    memory, reader = RememberedReads(), CountingReader(article)
    chunks = memory.read(key(article), reader)[2]
    others = [
        CountingReader(article.model_copy(update={"language": "de"})),
        CountingReader(article, chunk_tokens=200),
        CountingReader(article.model_copy(update={"text": SAMPLE + " One more sentence."})),
    ]
    readings = [memory.read(key(other.article, other.chunk_tokens), other) for other in others]
    assert [other.calls for other in others] == [1, 1, 1]
    assert len(readings[1][2]) > len(chunks), "200-token chunks: more of them"
    assert memory.read(key(article), reader)[2] == chunks
    assert reader.calls == 1


def test_a_text_larger_than_the_budget_is_not_remembered_and_the_budget_holds() -> None:
    """A reading over the whole budget is never kept; older ones go first when the budget is full."""
    article = Article(text=SAMPLE, language="en")
    reader = CountingReader(article)
    tiny = RememberedReads(budget_chars=len(SAMPLE) // 2)
    tiny.read(key(article), reader)
    tiny.read(key(article), reader)
    assert reader.calls == 2
    one = RememberedReads(budget_chars=int(len(SAMPLE) * 1.5))
    other = article.model_copy(update={"text": SAMPLE.replace("Trump", "Biden")})
    other_reader = CountingReader(other)
    one.read(key(article), reader)
    one.read(key(other), other_reader)
    one.read(key(article), reader)
    assert (reader.calls, other_reader.calls) == (4, 1), "the first reading made room for the second"
