"""Tests of ``service/api/docs_pages.py``: /docs and /redoc reference, and load, nothing from another host.

The HTML is read as served; then Debian's Chromium (under Playwright, as the desk's tests drive it) opens each
page of ``claims serve`` and every request it makes is recorded: any to another host fails the test (and is
aborted, so no test reaches the network).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from benchmarks.processes import Process, start_service, wait_ready
from service.api.app import create_app
from service.settings import Settings
from tests.api.test_desk import chromium_path

PAGES = ("/docs", "/redoc")
HOST = "claims.test"  # how the browser names the served process (a reserved name: RFC 2606)
URL = re.compile(r"""(?:https?:)?//[^\s"'<>`)]+""")  # an absolute or scheme-relative URL anywhere in the page
REFERENCE = re.compile(r"""\b(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)""")


@pytest.fixture(autouse=True)
def real_sockets(http_mock: Any) -> None:
    """The browser speaks to the served process over loopback, outside respx (which patches httpx only here)."""


@pytest.mark.parametrize("path", PAGES)
def test_the_page_s_html_names_no_other_host_and_lets_the_browser_load_from_none(path: str, tmp_path: Path) -> None:
    """Every URL the page names is on the service, and its Content-Security-Policy allows this origin alone."""
    with TestClient(create_app(Settings(cache_dir=tmp_path / "c", data_dir=tmp_path / "d"))) as client:
        page = client.get(path)
        assets = [client.get(url) for url in _references(page.text)]
    assert page.status_code == 200
    assert URL.findall(page.text) == []
    assert [asset.status_code for asset in assets] == [200] * len(assets)
    assert len(assets) >= 2  # the bundle and the favicon at least, served from the package
    policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'self'"
    assert all("http" not in sources and "*" not in sources for sources in policy.values()), policy


def _references(html: str) -> list[str]:
    """Return the paths the page's ``src``, ``href``, ``spec-url`` and CSS ``url()`` name."""
    return [first or second for first, second in REFERENCE.findall(html)]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Process]:
    """``claims serve`` on the offline model."""
    service = start_service("docs", {"cache_dir": str(tmp_path / "cache")}, tmp_path)
    asyncio.run(wait_ready(service))
    yield service
    service.stop()


@pytest.mark.parametrize(("path", "rendered"), [("/docs", ".opblock"), ("/redoc", "[role=menuitem]")])
def test_a_browser_opening_the_page_asks_no_other_host_for_anything(served: Process, path: str, rendered: str) -> None:
    """Chromium renders the page (every operation listed) having requested nothing but the service's own URLs."""
    from playwright.sync_api import sync_playwright

    origin = f"http://{HOST}:{served.port}"  # a name, not loopback, as a deployed service is reached
    elsewhere: list[str] = []  # what the browser sent towards another host: the route sees it, and aborts it

    def refuse(route: Any) -> None:
        elsewhere.append(route.request.url)
        route.abort()

    with sync_playwright() as playwright:
        resolve = f"--host-resolver-rules=MAP {HOST} 127.0.0.1"  # the name resolves here alone, to the service
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox", resolve])
        page = browser.new_page()
        page.route(re.compile(r"^(?!" + re.escape(origin) + r"/|data:|blob:)"), refuse)
        response = page.goto(origin + path)
        page.wait_for_selector(rendered, timeout=30_000)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)  # what a component asks for once shown (ReDoc's logo: after its first render)
        browser.close()
    assert response is not None
    assert response.status == 200
    assert elsewhere == []
