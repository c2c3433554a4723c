"""The desk page at ``/``, driven in a real browser: Debian's Chromium under Playwright, against ``claims serve``.

Where no Chromium is installed the tests skip, saying so; ``.ci/run`` installs it and sets
``CLAIMS_REQUIRE_SERVICES=1``, which turns that skip into a failure. Screenshots of the page at a desktop
and a phone width are saved under ``CLAIMS_SCREENSHOTS_DIR`` (default: the test's temporary directory).
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.processes import Process, start_service, wait_ready
from service.api.auth import key_hash
from service.evaluation.golden import load_case
from tests.conftest import DATA_DIR, REQUIRE_SERVICES

KEY = "ce_desk-browser-key"
SCREENSHOTS_DIR = os.environ.get("CLAIMS_SCREENSHOTS_DIR")  # read before the tests clear CLAIMS_*
CHROMIUM = os.environ.get("CLAIMS_CHROMIUM")
SAMPLE = (DATA_DIR / "article-trump-musk-x-stream.txt").read_text(encoding="utf-8")
PAGE_HTML = (DATA_DIR / "article-trump-musk-x-stream.html").read_text(encoding="utf-8")
ROOT = Path(__file__).parents[2]
DESK = ROOT / "service" / "api" / "desk"
DEBATE = load_case(ROOT / "tests" / "golden" / "debate1-jobs-ford-carrier.yaml")  # filler among checkable lines


def chromium_path() -> str:
    """Return Chromium's executable, or skip (fail under CLAIMS_REQUIRE_SERVICES) saying how to install it."""
    found = CHROMIUM or shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    if found is None:
        reason = "no Chromium here: apt-get install -y chromium (or set CLAIMS_CHROMIUM)"
        if REQUIRE_SERVICES:
            pytest.fail(reason + " (CLAIMS_REQUIRE_SERVICES=1: these tests must run here)")
        pytest.skip(reason)
    return found


@pytest.fixture(autouse=True)
def real_sockets(http_mock: Any) -> None:
    """The browser speaks to the served process over loopback, outside respx (which patches httpx only here)."""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """``claims serve`` on the offline model, with one API key (the page has a field for it), shared by the module.

    One process serves every test (starting one takes about five seconds); each test opens its own page, and
    the tests that need an article of their own paste one no other test sends.
    """
    folder = tmp_path_factory.mktemp("desk")
    keys = [{"name": "desk", "hash": key_hash(KEY), "scopes": ["extract", "jobs", "read"]}]
    config = {"cache_dir": str(folder / "cache"), "api_keys": keys, "multilingual_checkworthiness": False}
    service = start_service("desk", config, folder)  # the page, not the extra's scores (~25 ms a sentence)
    asyncio.run(wait_ready(service))
    yield service
    service.stop()


@pytest.fixture(scope="module")
def browser(served: Process) -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser), once the service is up."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the screenshots go."""
    folder = Path(SCREENSHOTS_DIR or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_desk(browser: Any, served: Process, width: int = 1280, height: int = 900) -> Any:
    """Open the desk page with the API key typed in; return the page."""
    page = browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    page.goto(f"http://127.0.0.1:{served.port}/")
    page.fill("#key", KEY)
    page.dispatch_event("#key", "change")
    page.wait_for_function("document.querySelectorAll('#model option').length > 1")
    return page


def extract(page: Any, text: str) -> None:
    """Paste ``text`` and extract; wait for the final result's highlights (chunks' come first, as they stream)."""
    page.fill("#text", text)
    page.click("#extract")
    page.wait_for_selector("#article mark", timeout=30_000)
    page.wait_for_selector("#progress", state="hidden", timeout=30_000)


def test_the_sample_is_extracted_highlighted_filtered_and_exported_as_csv(browser: Any, served: Process) -> None:
    """Paste, extract: 27 claims, the FBI's 15.2% one highlighted; click it, filter, export CSV."""
    page = open_desk(browser, served)
    extract(page, SAMPLE)
    fbi = page.locator("#article mark", has_text="15.2%").first
    assert fbi.get_attribute("data-type") == "quantity"
    assert "27 claims" in page.inner_text("#summary")
    fbi.click()
    detail = page.inner_text("#detail")
    assert "FBI" in detail
    assert "reported" in detail
    all_marks = page.locator("#article mark").count()
    page.uncheck("#types input[value=quantity]")
    assert page.locator("#article mark", has_text="15.2%").count() == 0
    assert page.locator("#detail").is_hidden()  # the selected claim is filtered out
    page.check("#types input[value=quantity]")
    page.fill("#score", "0.8")
    page.dispatch_event("#score", "input")
    assert 0 < page.locator("#article mark").count() < all_marks
    with page.expect_download() as download:
        page.click("[data-export=csv]")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert len(rows) == 27
    assert any("15.2%" in row["text"] and row["claimant"] == "FBI" for row in rows)
    assert page.errors == []


def test_the_page_works_by_keyboard_and_at_a_phone_width(browser: Any, served: Process, screenshots: Path) -> None:
    """At 390 px wide: the layout stacks, a highlight opens with Enter, Escape closes it."""
    page = open_desk(browser, served, width=390, height=844)
    extract(page, SAMPLE)
    mark = page.locator("#article mark", has_text="15.2%").first
    mark.focus()
    page.keyboard.press("Enter")
    assert "FBI" in page.inner_text("#detail")
    mark.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "desk-phone-detail.png"))
    page.keyboard.press("Escape")
    assert page.locator("#detail").is_hidden()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scroll
    assert (screenshots / "desk-phone-detail.png").stat().st_size > 10_000


def test_an_html_page_and_a_long_article_as_a_job(browser: Any, served: Process) -> None:
    """A pasted news page shows the text read from it; an article over 100,000 characters runs as a job."""
    page = open_desk(browser, served)
    extract(page, PAGE_HTML)
    assert "read from the HTML page" in page.inner_text("#summary")
    assert "Related articles" not in page.inner_text("#article")
    long_article = "\n".join(SAMPLE.replace("15.2%", f"{n}.5%") for n in range(22))  # 107,000 characters
    with page.expect_response(lambda response: response.url.endswith("/v1/jobs")) as submitted:
        page.fill("#text", long_article)
        page.click("#extract")
    assert submitted.value.status == 202
    page.locator("#article mark", has_text="5.5%").first.wait_for(timeout=30_000)
    assert "read from the HTML page" not in page.inner_text("#summary")


def test_highlights_stay_on_their_quotes_after_emoji(browser: Any, served: Process) -> None:
    """Offsets count code points, JavaScript strings UTF-16 units: after "𝕏" and a flag the marks still fit."""
    page = open_desk(browser, served)
    with page.expect_response(lambda response: response.url.endswith("/v1/extractions")) as answered:
        extract(page, "🇺🇸 On 𝕏, the office said rents rose 7% in July.\nPrices rose 3% in June, the ONS said. 😀")
    set_threshold(page, 0)
    quotes = sorted(claim["source"]["quote"] for claim in reply_of(answered.value)["claims"])
    marks = page.locator("#article mark")
    texts = sorted(marks.nth(n).inner_text() for n in range(marks.count()))
    assert "Prices rose 3% in June, the ONS said." in texts
    assert texts == quotes  # each highlight covers its quote exactly, whatever came before it


def test_at_a_phone_width_a_claim_s_detail_opens_right_under_the_tapped_claim(browser: Any, served: Process) -> None:
    """At 390 px, a tapped highlight near the top, in the middle or at the end opens its detail under it, in view."""
    page = open_desk(browser, served, width=390, height=844)
    extract(page, SAMPLE)
    marks = page.locator("#article mark")
    for n in (0, marks.count() // 2, marks.count() - 1):
        mark = marks.nth(n)
        mark.scroll_into_view_if_needed()
        mark.click()
        where = page.evaluate(
            """(mark) => {
                const detail = document.getElementById('detail').getBoundingClientRect();
                const tapped = mark.getBoundingClientRect();
                return {gap: detail.top - tapped.bottom, tapped: tapped.top, top: detail.top, screen: innerHeight};
            }""",
            mark.element_handle(),
        )
        assert 0 <= where["gap"] <= where["screen"], where  # was 2,600 px below the tapped claim
        assert 0 <= where["tapped"] < where["top"] < where["screen"], where  # the claim and its detail on screen
        assert mark.get_attribute("data-claim") in page.evaluate(
            "document.querySelector('mark.selected').dataset.claim"
        )
    page.keyboard.press("Escape")
    assert page.locator("#detail").is_hidden()
    assert page.errors == []


def contrast(first: tuple[float, ...], second: tuple[float, ...]) -> float:
    """Return WCAG's contrast ratio of two sRGB colours (0-255 each)."""

    def luminance(rgb: tuple[float, ...]) -> float:
        linear = [v / 255 / 12.92 if v / 255 <= 0.03928 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in rgb[:3]]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_check_worthiness_shades_the_highlights_clearly(browser: Any, served: Process) -> None:
    """The shade rises with check-worthiness: 3:1 against the page at the top, visible at the bottom, text 4.5:1."""
    page = open_desk(browser, served)
    extract(page, SAMPLE)
    painted = page.evaluate(
        """() => [...document.querySelectorAll('#article mark')].map((mark) => ({
            label: mark.getAttribute('aria-label'),
            background: getComputedStyle(mark).backgroundColor,
            ink: getComputedStyle(mark).color,
            page: getComputedStyle(document.getElementById('result')).backgroundColor,
        }))"""
    )
    shades = []
    for mark in painted:
        red, green, blue, alpha = [*map(float, re.findall(r"[\d.]+", mark["background"])), 1.0][:4]
        page_colour = tuple(map(float, re.findall(r"[\d.]+", mark["page"])[:3]))
        shown = tuple(alpha * c + (1 - alpha) * p for c, p in zip((red, green, blue), page_colour, strict=True))
        ink = tuple(map(float, re.findall(r"[\d.]+", mark["ink"])[:3]))
        worth = float(re.search(r"check-worthiness ([\d.]+)", mark["label"]).group(1))  # type: ignore[union-attr]
        shades.append((worth, contrast(shown, page_colour), contrast(shown, ink)))
    shades.sort()
    assert shades[-1][0] >= 0.85
    assert shades[-1][1] >= 3.0, shades[-1]  # the most check-worthy stands out (WCAG 1.4.11: 3:1); it was 2.5:1
    assert shades[0][1] >= 1.2, shades[0]  # the least is still seen
    assert min(text for _, _, text in shades) >= 4.5  # the text on every highlight stays readable (WCAG AA)
    for (low, low_shade, _), (high, high_shade, _) in itertools.combinations(shades, 2):
        if high - low >= 0.05:
            assert high_shade > low_shade, (low, low_shade, high, high_shade)  # more check-worthy: darker, any hue


def set_threshold(page: Any, value: float) -> None:
    """Move the threshold slider to ``value``, as a user dragging it does."""
    page.fill("#score", str(value))
    page.dispatch_event("#score", "input")


def listed(page: Any, where: str = "#claims") -> list[str]:
    """Return the claim ids the ranked list shows, top first (``#claims``: above the threshold)."""
    return page.eval_on_selector_all(f"{where} > li", "(items) => items.map((item) => item.dataset.claim)")


def ranked_ids(claims: list[dict[str, Any]], at_least: float = 0.0) -> list[str]:
    """Return the ids of ``claims`` at or above ``at_least``, highest check-worthiness first, ties in text order."""
    order = sorted(claims, key=lambda claim: (-claim["checkworthiness"], claim["source"]["start"]))
    return [claim["id"] for claim in order if claim["checkworthiness"] >= at_least]


def reply_of(response: Any) -> dict[str, Any]:
    """Return the extraction result a response carries: its JSON, or an event stream's ``done`` event's."""
    if not response.headers.get("content-type", "").startswith("text/event-stream"):
        reply: dict[str, Any] = response.json()
        return reply
    block = response.text().split("event: done\n", 1)[1].split("\n\n", 1)[0]
    streamed: dict[str, Any] = json.loads("\n".join(line.removeprefix("data: ") for line in block.splitlines()))
    return streamed


def extract_answered(page: Any, text: str) -> dict[str, Any]:
    """Paste ``text``, extract, wait for the highlights; return the service's reply."""
    with page.expect_response(lambda response: response.url.endswith("/v1/extractions")) as answered:
        extract(page, text)
    page.wait_for_selector("#progress", state="hidden", timeout=30_000)  # the final result, however it came
    return reply_of(answered.value)


def test_the_page_s_default_threshold_is_the_one_chosen_from_the_golden_cases() -> None:
    """ranking.js's DEFAULT_THRESHOLD and the slider's value are what training/desk_threshold.py chose (0.70)."""
    chosen = json.loads((ROOT / "training" / "desk_threshold.json").read_text(encoding="utf-8"))
    written = re.search(r"DEFAULT_THRESHOLD = ([\d.]+);", (DESK / "ranking.js").read_text(encoding="utf-8"))
    slider = re.search(r'id="score"[^>]* value="([\d.]+)"', (DESK / "index.html").read_text(encoding="utf-8"))
    assert written is not None
    assert slider is not None
    assert float(written.group(1)) == float(slider.group(1)) == chosen["default_threshold"] == 0.7
    at_default = next(step for step in chosen["steps"] if step["threshold"] == chosen["default_threshold"])
    assert at_default["must_find_listed_of_found"] == 1.0  # nothing a golden case needs falls below the line
    assert at_default["must_skip_claims_hidden"] >= 0.9  # and the filler does


def test_claims_are_listed_beside_the_article_most_check_worthy_first(
    browser: Any, served: Process, screenshots: Path
) -> None:
    """Desktop: the list is left of the article, ranked by score; the rest one click away; a click marks the quote."""
    page = open_desk(browser, served)
    reply = extract_answered(page, SAMPLE)
    claims = reply["claims"]
    assert listed(page) == ranked_ids(claims, 0.7)
    assert page.locator("#more").is_visible() == (len(ranked_ids(claims, 0.7)) < len(claims))
    ranked, article = page.locator(".ranked").bounding_box(), page.locator("#article").bounding_box()
    assert ranked["x"] + ranked["width"] <= article["x"]  # beside it, not above
    assert abs(ranked["y"] - article["y"]) < 100
    set_threshold(page, 0.9)
    above, rest = ranked_ids(claims, 0.9), ranked_ids(claims)[len(ranked_ids(claims, 0.9)) :]
    assert listed(page) == above
    assert rest
    assert page.inner_text("#more") == f"Show {len(rest)} more below 0.90"
    assert page.locator(f'#article mark[data-claims~="{rest[0]}"]').count() == 0  # below the line: not highlighted
    page.click("#more")
    assert listed(page, "#claims-below") == rest
    assert page.get_attribute("#claims-below", "start") == str(len(above) + 1)  # numbered on from the first part
    page.click(f'#claims-below li[data-claim="{rest[-1]}"] button')
    assert page.locator(f'#article mark.selected[data-claims~="{rest[-1]}"]').count() > 0  # its quote, marked
    assert page.get_attribute(f'#claims-below li[data-claim="{rest[-1]}"] button', "aria-pressed") == "true"
    assert page.inner_text("#more") == f"Hide the {len(rest)} below 0.90"
    set_threshold(page, 0.7)
    page.locator(f'#claims li[data-claim="{ranked_ids(claims)[0]}"] button').click()
    page.wait_for_timeout(800)  # the smooth scroll to the quote (the list stays in view beside it)
    page.screenshot(path=str(screenshots / "desk-desktop.png"))
    assert page.errors == []


def test_at_a_phone_width_the_ranked_list_stacks_above_the_article(
    browser: Any, served: Process, screenshots: Path
) -> None:
    """At 390 px: the list comes first, full width, then the article; a tapped claim scrolls to its quote."""
    page = open_desk(browser, served, width=390, height=844)
    reply = extract_answered(page, SAMPLE)
    ranked, article = page.locator(".ranked").bounding_box(), page.locator("#article").bounding_box()
    assert ranked["y"] + ranked["height"] <= article["y"]
    assert ranked["width"] > 300
    page.evaluate("window.scrollTo(0, document.getElementById('result').offsetTop - 8)")
    page.screenshot(path=str(screenshots / "desk-phone.png"))
    from playwright.sync_api import expect

    first = ranked_ids(reply["claims"])[0]
    page.click(f'#claims li[data-claim="{first}"] button')
    mark = page.locator(f'#article mark.selected[data-claims~="{first}"]').first
    expect(mark).to_be_in_viewport(timeout=5_000)  # scrolled (smoothly) to its quote
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.errors == []


def test_filler_in_a_debate_stays_below_the_checkable_lines(browser: Any, served: Process, screenshots: Path) -> None:
    """A debate's filler ("And we have a very good fight.") is below the line, ranked as the model scored it."""
    page = open_desk(browser, served)
    page.select_option("#format", "transcript")
    reply = extract_answered(page, DEBATE.text)
    claims = reply["claims"]
    filler = [c["id"] for c in claims if any(skip in c["source"]["quote"] for skip in DEBATE.expect.must_skip)]
    assert filler  # the offline model does make claims of some filler; the page must keep them down
    assert listed(page) == ranked_ids(claims, 0.7)
    page.click("#more")
    assert listed(page) + listed(page, "#claims-below") == ranked_ids(claims)  # the model's order, untouched
    assert not set(filler) & set(listed(page))  # none above the line
    page.evaluate("document.getElementById('more').scrollIntoView({block: 'center'})")
    page.screenshot(path=str(screenshots / "desk-debate-fold.png"))
    assert page.errors == []


def test_the_language_is_shown_and_can_be_overridden(browser: Any, served: Process) -> None:
    """'auto' sends no language and shows the reply's; picking Spanish sends article.language "es" and says so."""
    page = open_desk(browser, served)
    with page.expect_request(lambda request: request.url.endswith("/v1/extractions")) as sent:
        reply = extract_answered(page, SAMPLE)
    assert "language" not in sent.value.post_data_json["article"]
    assert page.inner_text("#language-read").startswith(f"Language: English ({reply['article']['language']})")
    page.select_option("#language", "es")
    with page.expect_response(lambda response: response.url.endswith("/v1/extractions")) as answered:
        page.click("#extract")
    assert answered.value.request.post_data_json["article"]["language"] == "es"
    assert reply_of(answered.value)["article"]["language"] == "es"
    page.wait_for_function("document.getElementById('language-read').textContent.includes('(es)')")
    assert page.inner_text("#language-read") == "Language: Spanish (es), as chosen"
    assert page.errors == []


def test_a_real_reply_shows_the_marks_its_fields_call_for(browser: Any, served: Process) -> None:
    """On the service's own reply: a "needs context" mark per standalone false, a "checked before" per match."""
    page = open_desk(browser, served)
    reply = extract_answered(page, SAMPLE)
    set_threshold(page, 0)
    alone = sum(claim.get("standalone") is False for claim in reply["claims"])
    checked = sum(bool(claim.get("fact_checks")) for claim in reply["claims"])
    assert page.locator(".claims .badge.context").count() == alone  # 0 on main today, the reply's count after
    assert page.locator(".claims .badge.checked").count() == checked


def with_fields_of_unmerged_branches(reply: dict[str, Any]) -> dict[str, Any]:
    """The service's real reply, with ``standalone`` and ``fact_checks`` added as issues 21 and 23 will send them.

    Main's replies do not carry those fields yet: this recorded-and-extended reply shows how the page renders
    them. Claims 0 and 1 need context; claim 0 matched two fact-checks (the better one rated "Mostly true"),
    claim 2 none (an empty list), claim 3 one whose URL is a script (never a link).
    """
    claims = reply["claims"]
    for n, claim in enumerate(claims):
        claim["standalone"] = n > 1
        claim["fact_checks"] = []
    check = {
        "claim_reviewed": "Violent crime fell in 2024",
        "title": "Did violent crime fall?",
        "publisher": "PolitiFact",
        "date_published": "2024-08-14",
        "language": "en",
    }
    claims[0]["fact_checks"] = [
        {**check, "url": "https://example.org/weaker", "rating": "False", "score": 0.61},
        {**check, "url": "https://www.politifact.com/crime-2024/", "rating": "Mostly true", "score": 0.93},
    ]
    claims[3]["fact_checks"] = [{**check, "url": "javascript:alert(1)", "rating": "True", "score": 0.8}]
    return reply


def test_needs_context_and_checked_before_marks_on_a_recorded_reply_with_the_new_fields(
    browser: Any, served: Process
) -> None:
    """Through route interception, the real reply plus standalone and fact_checks: the marks, the link, the detail."""
    page = open_desk(browser, served)

    def extended(route: Any) -> None:
        """Let the request reach the service (asking for one JSON reply), then add the fields to that reply."""
        response = route.fetch(headers={**route.request.headers, "accept": "application/json"})
        route.fulfill(response=response, json=with_fields_of_unmerged_branches(response.json()))

    page.route("**/v1/extractions", extended)
    reply = extract_answered(page, SAMPLE)
    set_threshold(page, 0)
    claims = reply["claims"]
    item = lambda claim: page.locator(f'.claims li[data-claim="{claim["id"]}"]')  # noqa: E731
    assert page.locator(".claims .badge.context").count() == 2
    assert item(claims[0]).locator(".badge.context").count() == item(claims[1]).locator(".badge.context").count() == 1
    assert page.locator(".claims .badge.checked").count() == 2  # claim 2's empty list shows nothing
    best = item(claims[0]).locator(".badge.checked a")
    assert best.inner_text() == "Mostly true · PolitiFact"
    assert best.get_attribute("href") == "https://www.politifact.com/crime-2024/"
    assert best.get_attribute("rel") == "noopener noreferrer"
    assert item(claims[3]).locator(".badge.checked a").count() == 0  # a script URL is text, not a link
    assert item(claims[2]).locator(".badge").count() == 0
    item(claims[0]).locator("button").click()
    assert "needs context" in page.inner_text("#detail")
    assert "checked before: Mostly true · PolitiFact" in page.inner_text("#detail")
    assert page.errors == []


def test_an_extraction_streams_and_each_chunk_s_claims_show_as_they_come(browser: Any, served: Process) -> None:
    """The page asks for events: claims show chunk by chunk (provisional), then the final result replaces them."""
    page = open_desk(browser, served)
    page.evaluate(
        """() => {
            window.summaries = [];
            new MutationObserver((records) => records.forEach((record) => record.addedNodes.forEach(
                (node) => window.summaries.push(node.textContent)))).observe(
                document.getElementById('summary'), {childList: true});
        }"""
    )
    long_article = "\n".join(SAMPLE.replace("15.2%", f"{n}.5%") for n in range(8))  # about 39,000 characters
    with page.expect_response(lambda response: response.url.endswith("/v1/extractions")) as answered:
        extract(page, long_article)
    assert answered.value.request.headers["accept"] == "text/event-stream"
    assert answered.value.headers["content-type"].startswith("text/event-stream")
    result = reply_of(answered.value)
    chunks = result["usage"]["chunks"]
    assert chunks > 1
    summaries = page.evaluate("window.summaries")
    provisional = [text for text in summaries if "(provisional" in text]
    assert [text.split(" · ")[1] for text in provisional] == [
        f"{n} of {chunks} chunks answered (provisional: not yet de-duplicated)" for n in range(1, chunks + 1)
    ]
    assert summaries[-1].startswith(f"{len(result['claims'])} claims · complete · {chunks} chunk(s)")
    assert page.locator("#article mark").count() > 0
    assert page.errors == []
