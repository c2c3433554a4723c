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
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.processes import Process, start_service, wait_ready
from service.api.auth import key_hash
from tests.conftest import DATA_DIR, REQUIRE_SERVICES

KEY = "ce_desk-browser-key"
SCREENSHOTS_DIR = os.environ.get("CLAIMS_SCREENSHOTS_DIR")  # read before the tests clear CLAIMS_*
CHROMIUM = os.environ.get("CLAIMS_CHROMIUM")
SAMPLE = (DATA_DIR / "article-trump-musk-x-stream.txt").read_text(encoding="utf-8")
PAGE_HTML = (DATA_DIR / "article-trump-musk-x-stream.html").read_text(encoding="utf-8")


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


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Process]:
    """``claims serve`` on the offline model, with one API key (the page has a field for it)."""
    keys = [{"name": "desk", "hash": key_hash(KEY), "scopes": ["extract", "jobs", "read"]}]
    service = start_service("desk", {"cache_dir": str(tmp_path / "cache"), "api_keys": keys}, tmp_path)
    asyncio.run(wait_ready(service))
    yield service
    service.stop()


@pytest.fixture
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
    """Paste ``text`` and extract; wait for the highlights."""
    page.fill("#text", text)
    page.click("#extract")
    page.wait_for_selector("#article mark", timeout=30_000)


def test_the_sample_is_extracted_highlighted_filtered_and_exported_as_csv(
    browser: Any, served: Process, screenshots: Path
) -> None:
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
    page.screenshot(path=str(screenshots / "desk-desktop.png"))
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
    page.screenshot(path=str(screenshots / "desk-phone.png"))
    page.keyboard.press("Escape")
    assert page.locator("#detail").is_hidden()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scroll
    assert (screenshots / "desk-phone.png").stat().st_size > 10_000


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
    quotes = sorted(claim["source"]["quote"] for claim in answered.value.json()["claims"])
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
