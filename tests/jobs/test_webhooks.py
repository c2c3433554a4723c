"""Tests of ``service/jobs/webhooks.py``: signed deliveries, retries under one webhook-id, the host allow-list."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook

from service.api.app import create_app
from service.jobs.webhooks import callback_url_problem, host_allowed, retry_in
from service.settings import Settings

SECRET = "whsec_" + base64.b64encode(b"a test secret of thirty-two bytes").decode()
HOOK = "https://hooks.example.com/claims"
NDJSON_TYPE = "application/x-ndjson"
ARTICLES = [{"article": {"id": f"a{n}", "text": f"Prices rose {n}% in May."}} for n in range(1, 4)]


@pytest.fixture
def hooked_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings with a webhook secret in the environment, one allowed host and near-instant retries."""
    monkeypatch.setenv("CLAIMS_TEST_WEBHOOK_SECRET", SECRET)
    return Settings(
        cache_dir=tmp_path / "cache",
        data_dir=tmp_path / "data",
        webhook_secret="os.environ/CLAIMS_TEST_WEBHOOK_SECRET",  # noqa: S106 -- where the secret is, not the secret
        webhook_allowed_hosts=["hooks.example.com"],
        webhook_retry_s=0.05,
        webhook_max_attempts=4,
    )


@pytest.fixture
def hooked_client(hooked_settings: Settings) -> Iterator[TestClient]:
    """The app with webhooks configured."""
    with TestClient(create_app(hooked_settings)) as client:
        yield client


def delivered(client: TestClient, job_id: str, count: int = 1, limit_s: float = 20) -> dict[str, Any]:
    """Wait until the job lists ``count`` webhooks no longer pending; return the job."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        settled = [hook for hook in job["webhooks"] if hook["state"] != "pending"]
        if len(settled) >= count:
            return job
        time.sleep(0.05)
    raise AssertionError(f"webhooks of {job_id} not delivered: {client.get(f'/v1/jobs/{job_id}').json()['webhooks']}")


def test_the_completion_webhook_is_signed_per_standard_webhooks(
    hooked_client: TestClient, http_mock: respx.MockRouter
) -> None:
    """The receiver verifies the POST with the standardwebhooks library and gets the job and its results."""
    received: list[Any] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(Webhook(SECRET).verify(request.content, dict(request.headers)))
        return httpx.Response(204)

    http_mock.post(HOOK).mock(side_effect=receiver)
    job = hooked_client.post("/v1/jobs", json={"requests": ARTICLES, "callback_url": HOOK}).json()
    finished = delivered(hooked_client, job["id"])
    [payload] = received
    assert payload["type"] == "job.completed"
    assert payload["data"]["job"]["id"] == job["id"]
    assert payload["data"]["job"]["state"] == "succeeded"
    assert [result["article_id"] for result in payload["data"]["results"]] == ["a1", "a2", "a3"]
    [hook] = finished["webhooks"]
    assert (hook["event"], hook["state"], [a["status_code"] for a in hook["attempts"]]) == (
        "job.completed",
        "delivered",
        [204],
    )


def test_a_forged_or_tampered_delivery_fails_verification(
    hooked_client: TestClient, http_mock: respx.MockRouter
) -> None:
    """The signature covers the body: a changed byte, or another secret, does not verify."""
    captured: list[httpx.Request] = []
    http_mock.post(HOOK).mock(side_effect=lambda request: captured.append(request) or httpx.Response(200))
    job = hooked_client.post("/v1/jobs", json={**ARTICLES[0], "callback_url": HOOK}).json()
    delivered(hooked_client, job["id"])
    [request] = captured
    headers = dict(request.headers)
    with pytest.raises(Exception, match="No matching signature found"):
        Webhook(SECRET).verify(request.content.replace(b"a1", b"a9"), headers)
    other = "whsec_" + base64.b64encode(b"another secret, not the service's").decode()
    with pytest.raises(Exception, match="No matching signature found"):
        Webhook(other).verify(request.content, headers)


def test_a_receiver_failing_twice_gets_the_same_webhook_id_three_times(
    hooked_client: TestClient, http_mock: respx.MockRouter
) -> None:
    """Two 503s then a 200: three attempts, one webhook-id, each attempt listed on the job."""
    answers = iter([httpx.Response(503), httpx.Response(503), httpx.Response(200)])
    ids: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        Webhook(SECRET).verify(request.content, dict(request.headers))
        ids.append(request.headers["webhook-id"])
        return next(answers)

    http_mock.post(HOOK).mock(side_effect=flaky)
    job = hooked_client.post("/v1/jobs", json={**ARTICLES[0], "callback_url": HOOK}).json()
    [hook] = delivered(hooked_client, job["id"])["webhooks"]
    assert len(ids) == 3
    assert set(ids) == {hook["id"]}
    assert hook["id"].startswith("msg_")
    assert [attempt["status_code"] for attempt in hook["attempts"]] == [503, 503, 200]
    assert [attempt["error"] for attempt in hook["attempts"]] == ["HTTP 503", "HTTP 503", None]
    assert hook["state"] == "delivered"


def test_a_receiver_that_never_answers_is_given_up_after_the_last_attempt(
    hooked_client: TestClient, http_mock: respx.MockRouter
) -> None:
    """A receiver that cannot be reached gets ``webhook_max_attempts`` tries, then the delivery is failed."""
    route = http_mock.post(HOOK).mock(side_effect=httpx.ConnectError("refused"))
    job = hooked_client.post("/v1/jobs", json={**ARTICLES[0], "callback_url": HOOK}).json()
    [hook] = delivered(hooked_client, job["id"])["webhooks"]
    assert route.call_count == 4
    assert hook["state"] == "failed"
    assert [attempt["status_code"] for attempt in hook["attempts"]] == [None] * 4
    assert hook["attempts"][0]["error"] == "ConnectError: refused"


def test_a_webhook_per_article_when_asked(hooked_client: TestClient, http_mock: respx.MockRouter) -> None:
    """``callback_per_article`` sends each article's result as it finishes, then the job's completion."""
    events: list[tuple[str, Any]] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        payload = Webhook(SECRET).verify(request.content, dict(request.headers))
        events.append((payload["type"], payload["data"].get("article_id")))
        return httpx.Response(200)

    http_mock.post(HOOK).mock(side_effect=receiver)
    submission = {"requests": ARTICLES, "callback_url": HOOK, "callback_per_article": True}
    job = hooked_client.post("/v1/jobs", json=submission).json()
    delivered(hooked_client, job["id"], count=4)
    assert sorted(events, key=str) == sorted(
        [
            ("article.completed", "a1"),
            ("article.completed", "a2"),
            ("article.completed", "a3"),
            ("job.completed", None),
        ],
        key=str,
    )


@pytest.mark.parametrize(
    "url",
    ["https://evil.example.com/x", "http://169.254.169.254/latest/meta-data", "https://hooks.example.com.evil.io/"],
)
def test_a_callback_to_a_host_not_allowed_is_refused(hooked_client: TestClient, url: str) -> None:
    """Only allow-listed hosts are ever called (no SSRF): anything else is a 403 problem, and no job."""
    response = hooked_client.post("/v1/jobs", json={**ARTICLES[0], "callback_url": url})
    assert response.status_code == 403
    assert response.json()["type"] == "/problems/callback-not-allowed"
    assert hooked_client.get("/v1/jobs").json()["jobs"] == []


def test_an_empty_callback_url_in_the_query_is_a_422_not_a_500(hooked_client: TestClient) -> None:
    """``?callback_url=`` (empty) is refused by the query's own rule, with a JSON body or NDJSON."""
    bodies = ((json.dumps({"requests": ARTICLES}), "application/json"), (json.dumps(ARTICLES[0]), NDJSON_TYPE))
    for content, kind in bodies:
        response = hooked_client.post("/v1/jobs?callback_url=", content=content, headers={"content-type": kind})
        assert (response.status_code, response.json()["type"]) == (422, "/problems/invalid-request")


def test_a_callback_whose_host_cannot_be_read_is_a_host_not_allowed_saying_why(hooked_client: TestClient) -> None:
    """``http://[/``: no host can be read, so none is allowed: a 403 that says the URL is not valid, never a 500."""
    response = hooked_client.post("/v1/jobs", json={**ARTICLES[0], "callback_url": "http://[/"})
    assert (response.status_code, response.json()["type"]) == (403, "/problems/callback-not-allowed")
    assert "is not a valid URL (Invalid IPv6 URL)" in response.json()["detail"]


@pytest.mark.parametrize(
    "url", ["http://hooks.example.com:99999/", "http://hooks.example.com:-1/", "http://hooks.example.com:8o/"]
)
def test_a_callback_url_that_is_no_url_is_a_422_in_the_body_or_the_query(hooked_client: TestClient, url: str) -> None:
    """A port out of range or a broken IPv6 host is a clear 422, never a 500, in a JSON body or NDJSON's query."""
    in_body = hooked_client.post("/v1/jobs", json={**ARTICLES[0], "callback_url": url})
    in_query = hooked_client.post(
        "/v1/jobs", params={"callback_url": url}, content=json.dumps(ARTICLES[0]), headers={"content-type": NDJSON_TYPE}
    )
    for response in (in_body, in_query):
        assert (response.status_code, response.json()["type"]) == (422, "/problems/invalid-request")
        assert "not a valid URL" in response.json()["detail"]


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("http://hooks.example.com:82\n20/", "a control character, U+000A at position 28"),
        ("https://hooks.example.com/a\r\nX-Injected: 1", "a control character, U+000D at position 28"),
        ("https://hooks.example.com/\ta", "a control character, U+0009 at position 27"),
        ("https://hooks.example.com/\x00", "a control character, U+0000 at position 27"),
        ("https://hooks.example.com/\x7f", "a control character, U+007F at position 27"),
        ("https://hooks.example.com/a\x85b", "a control character, U+0085 at position 28"),
        ("https://hooks.example.com/a b", "whitespace, U+0020 at position 28"),
        ("https://hooks.example.com/a\u00a0", "whitespace, U+00A0 at position 28"),
        ("https://hooks.example.com\u200b/", "an invisible format character, U+200B at position 26"),
        ("https://hooks.example.com/\u2028", "a line separator, U+2028 at position 27"),
        ("https://hooks.example.com/caf\u00e9", "a character outside ASCII, U+00E9 at position 30"),
        ("https://\u00de8\u00a2\u00bd/", "a character outside ASCII, U+00DE at position 9"),
    ],
    ids=["LF-in-port", "CRLF", "TAB", "NUL", "DEL", "NEL", "space", "NBSP", "ZWSP", "LSEP", "e-acute", "no-IDNA"],
)
def test_a_callback_url_holding_a_control_character_or_whitespace_is_a_422_naming_it(
    hooked_client: TestClient, url: str, named: str
) -> None:
    """Checked whole, in a JSON body, in NDJSON's query and in a query a JSON body overrides: 422 naming the character.

    ``urlsplit`` drops a newline from a port before the allow-list sees it; httpx refuses it when sending: such a
    URL would sit first in the webhook queue. None is stored.
    """
    in_body = hooked_client.post("/v1/jobs", json={**ARTICLES[0], "callback_url": url})
    in_query = hooked_client.post(
        "/v1/jobs", params={"callback_url": url}, content=json.dumps(ARTICLES[0]), headers={"content-type": NDJSON_TYPE}
    )
    overridden = hooked_client.post(
        "/v1/jobs", params={"callback_url": url}, json={**ARTICLES[0], "callback_url": HOOK}
    )
    for response in (in_body, in_query, overridden):
        assert (response.status_code, response.json()["type"]) == (422, "/problems/invalid-request"), response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert f"callback_url holds {named}" in response.json()["detail"]
    assert hooked_client.get("/v1/jobs").json()["jobs"] == []


@pytest.mark.parametrize(
    ("url", "status"),
    [("http://hooks.example.com:0/", 422), ("http://hooks.example.com\\@evil.example/", 403)],
    ids=["port-zero", "backslash-userinfo"],
)
def test_a_callback_url_is_refused_unless_it_is_what_httpx_would_send(
    hooked_client: TestClient, url: str, status: int
) -> None:
    """The allow-list checks the host and port the sender sends to: port 0 (read as 80 before) is no URL."""
    response = hooked_client.post("/v1/jobs", json={**ARTICLES[0], "callback_url": url})
    assert response.status_code == status, response.text
    assert hooked_client.get("/v1/jobs").json()["jobs"] == []


def test_callback_query_parameters_serve_a_json_body_where_the_body_names_none(hooked_client: TestClient) -> None:
    """The query form works with a JSON body as with NDJSON; a body's own callback comes first, and the job says so."""
    taken = hooked_client.post(
        "/v1/jobs", params={"callback_url": HOOK, "callback_per_article": "true"}, json=ARTICLES[0]
    )
    assert taken.status_code == 202
    assert (taken.json()["callback_url"], taken.json()["callback_per_article"]) == (HOOK, True)
    elsewhere = "https://hooks.example.com/other"
    both = hooked_client.post(
        "/v1/jobs", params={"callback_url": HOOK}, json={**ARTICLES[1], "callback_url": elsewhere}
    )
    assert (both.status_code, both.json()["callback_url"]) == (202, elsewhere)


def test_a_callback_without_a_configured_secret_is_refused(client: TestClient) -> None:
    """A service with no ``webhook_secret`` sends no webhooks, and says so."""
    response = client.post("/v1/jobs", json={**ARTICLES[0], "callback_url": HOOK})
    assert response.status_code == 403
    assert response.json()["detail"] == "this service sends no webhooks: the operator has not set webhook_secret"


def test_the_allow_list_matches_hosts_and_ports_exactly() -> None:
    """``host`` allows any port, ``host:port`` one port; schemes other than http(s) never match."""
    allowed = ["hooks.example.com", "cms.internal:8443"]
    assert host_allowed("https://hooks.example.com/a", allowed)
    assert host_allowed("http://HOOKS.example.com:9000/a", allowed)
    assert host_allowed("https://cms.internal:8443/hook", allowed)
    assert not host_allowed("https://cms.internal/hook", allowed)
    assert not host_allowed("https://sub.hooks.example.com/a", allowed)
    assert not host_allowed("ftp://hooks.example.com/a", allowed)


def test_a_secret_written_into_the_config_is_refused(tmp_path: Path) -> None:
    """The webhook secret must be a reference to the environment, never the secret itself."""
    with pytest.raises(ValueError, match="webhook_secret must name where the secret is"):
        Settings(cache_dir=tmp_path, webhook_secret=SECRET)


def test_retries_back_off_and_stop(hooked_settings: Settings) -> None:
    """The wait doubles from ``webhook_retry_s``; after the last attempt there is none."""
    assert [retry_in(n, hooked_settings) for n in (1, 2, 3, 4)] == [0.05, 0.1, 0.2, None]


def test_a_delivery_payload_is_json_with_type_timestamp_and_data(
    hooked_client: TestClient, http_mock: respx.MockRouter
) -> None:
    """The body is the Standard Webhooks payload shape: ``type``, ``timestamp`` and ``data``."""
    bodies: list[bytes] = []
    http_mock.post(HOOK).mock(side_effect=lambda request: bodies.append(request.content) or httpx.Response(200))
    job = hooked_client.post("/v1/jobs", json={**ARTICLES[0], "callback_url": HOOK}).json()
    delivered(hooked_client, job["id"])
    assert set(json.loads(bodies[0])) == {"type", "timestamp", "data"}


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com:443/x", "http://127.0.0.1:80/h", "HTTPS://hooks.example.com:443/", "http://h:443/"],
)
def test_an_explicit_default_port_is_the_url_httpx_sends(url: str) -> None:
    """``:443`` on https (``:80`` on http) is written out by clients and dropped by httpx: still one URL, accepted."""
    assert callback_url_problem(url) is None
