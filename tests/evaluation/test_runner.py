"""``service.evaluation`` runner, recordings, gate and report, and ``claims eval run``: all on mocked HTTP."""

from __future__ import annotations

import asyncio
import json
import math
import shutil
from html import escape
from pathlib import Path

import httpx
import pytest
import respx
import yaml
from typer.testing import CliRunner

from schemas import Claim, ExtractionResult
from service.cli.main import app
from service.evaluation.compare import Regression, group, regressions, totals
from service.evaluation.golden import GoldenCase, load_cases, score_case
from service.evaluation.recordings import (
    MissingRecording,
    RecordingFailed,
    recorded_models,
    recording_path,
    replayable_cases,
    request_digest,
    save_model,
)
from service.evaluation.report import render_report
from service.evaluation.runner import CaseRun, EvalPlan, eval_settings, run_plan
from service.pipeline.build import build_pipeline
from service.prompts.registry import default_prompts_dir
from service.settings import Settings
from tests.conftest import OPENAI_TEST_KEY, OPENAI_URL
from tests.providers import openai_chat_completion, scripted_openai_reply

GOLDEN = Path(__file__).parents[1] / "golden"
PROMPT = "extract_claims@1"
BROKEN = "extract_claims@3"


@pytest.fixture
def cases() -> list[GoldenCase]:
    """Two short golden cases: a statistics bulletin and a debate passage."""
    return [case for case in load_cases(GOLDEN) if case.id in ("cdc-overdose-deaths-2023", "debate1-opening")]


def leaky_reply(request: httpx.Request) -> httpx.Response:
    """Answer like the scripted model, with headers that carry the test key, as a careless proxy might."""
    reply = scripted_openai_reply(request)
    headers = {"x-api-key": OPENAI_TEST_KEY, "x-session-token": "tok", "authorization": f"Bearer {OPENAI_TEST_KEY}"}
    return httpx.Response(200, json=reply.json(), headers=headers | {"x-request-id": "req_1"})


async def run(settings: Settings, plan: EvalPlan) -> list[CaseRun]:
    """Run a plan through the real pipeline with the cache off."""
    return await run_plan(build_pipeline(eval_settings(settings)), plan)


def scores(runs: list[CaseRun]) -> list[tuple[str, float, float, int]]:
    """Return the comparable figures of runs."""
    return [(run.case_id, run.score.recall, run.score.precision, run.kept) for run in runs]


@pytest.mark.usefixtures("provider_keys")
async def test_record_then_replay_gives_identical_scores(
    openai_settings: Settings, cases: list[GoldenCase], tmp_path: Path, http_mock: respx.MockRouter
) -> None:
    """Recording writes one file per case; replaying those files, with the provider route gone, scores the same."""
    root = tmp_path / "recordings"
    provider = http_mock.post(OPENAI_URL).mock(side_effect=scripted_openai_reply)
    recorded = await run(openai_settings, EvalPlan([PROMPT], ["gpt"], cases, "record", root))
    assert provider.call_count == len(cases)
    http_mock.clear()
    files = sorted(path.relative_to(root).as_posix() for path in root.rglob("*.json"))
    assert files == [f"{PROMPT}/gpt/_model.json", *(f"{PROMPT}/gpt/{case.id}.json" for case in cases)]
    assert recorded_models(root) == [(PROMPT, openai_settings.models[0].model_dump(mode="json"))]
    exchange = json.loads((root / files[1]).read_text(encoding="utf-8"))[0]
    assert set(exchange) == {"request", "response"}
    assert set(exchange["request"]) == {"method", "url", "body"}
    assert exchange["request"]["url"] == "https://api.openai.com/v1/chat/completions"
    assert exchange["response"]["status"] == 200
    replayed = await run(openai_settings, EvalPlan([PROMPT], ["gpt"], cases, "replay", root))
    assert provider.call_count == len(cases)
    assert scores(replayed) == scores(recorded)
    assert all(run.kept > 0 and run.tokens == 160 * run.chunks for run in replayed)


@pytest.mark.usefixtures("provider_keys")
async def test_recordings_hold_no_key_or_auth_header(
    openai_settings: Settings, cases: list[GoldenCase], tmp_path: Path
) -> None:
    """Auth, key and token headers are stripped both ways, and the key itself appears in no file."""
    root = tmp_path / "recordings"
    await run(openai_settings, EvalPlan([PROMPT], ["gpt"], cases, "record", root, httpx.MockTransport(leaky_reply)))
    texts = [path.read_text(encoding="utf-8") for path in root.rglob("*.json")]
    assert texts
    assert not any(OPENAI_TEST_KEY in text for text in texts)
    case_file = next(path for path in root.rglob("*.json") if not path.name.startswith("_"))
    headers = json.loads(case_file.read_text(encoding="utf-8"))[0]["response"]["headers"]
    assert headers["x-request-id"] == "req_1"
    assert not [name for name in headers if "key" in name or "token" in name or name == "authorization"]


@pytest.mark.usefixtures("provider_keys")
async def test_replay_fails_clearly_on_a_missing_exchange(
    openai_settings: Settings, cases: list[GoldenCase], tmp_path: Path
) -> None:
    """A request with no recorded answer fails the run, naming the file and how to re-record."""
    root = tmp_path / "recordings"
    with pytest.raises(MissingRecording, match=r"no recorded answer in .*gpt/cdc-overdose-deaths-2023\.json.*--record"):
        await run(openai_settings, EvalPlan([PROMPT], ["gpt"], cases, "replay", root))


@pytest.mark.usefixtures("provider_keys")
async def test_recording_fails_when_the_provider_fails(
    openai_settings: Settings, cases: list[GoldenCase], tmp_path: Path
) -> None:
    """A provider outage while recording stops the run and writes no file for the failed case."""
    root = tmp_path / "recordings"
    down = httpx.MockTransport(lambda request: httpx.Response(503, json={"error": {"message": "overloaded"}}))
    with pytest.raises(RecordingFailed, match=r"failed at case cdc-overdose-deaths-2023: upstream-unavailable"):
        await run(openai_settings, EvalPlan([PROMPT], ["gpt"], cases, "record", root, down))
    assert not recording_path(root, PROMPT, "gpt", cases[0].id).exists()


def test_recording_a_model_that_makes_no_http_call_is_an_error(
    settings: Settings, cases: list[GoldenCase], tmp_path: Path
) -> None:
    """The offline model makes no HTTP call: recording it is an error saying so, and writes no file."""
    with pytest.raises(RecordingFailed, match=r"recorded nothing at case .*the offline model needs no recording"):
        asyncio.run(run(settings, EvalPlan([PROMPT], ["default"], cases, "record", tmp_path)))
    assert not list(tmp_path.rglob("*.json"))


def test_request_digest_ignores_key_order_and_spacing() -> None:
    """Requests match on canonical JSON, so key order and whitespace do not matter."""
    assert request_digest(b'{"a": 1, "b": [2]}') == request_digest(b'{"b":[2],"a":1}')


@pytest.mark.usefixtures("provider_keys")
async def test_a_case_that_fails_whole_still_counts_what_it_spent(
    openai_settings: Settings, cases: list[GoldenCase], tmp_path: Path, http_mock: respx.MockRouter
) -> None:
    """A case whose every reply is unusable reports its error, an invalid chunk, its repair and every token spent."""
    prose = httpx.Response(200, json=openai_chat_completion("I cannot find any claims, sorry."))
    provider = http_mock.post(OPENAI_URL).mock(return_value=prose)
    settings = openai_settings.model_copy(update={"fallbacks": {}})

    [failed] = await run(settings, EvalPlan([PROMPT], ["gpt"], cases[:1], "live", tmp_path))

    assert failed.error is not None
    assert failed.error.startswith("invalid-model-output")
    assert provider.call_count == 2  # the ask and one repair
    assert (failed.chunks, failed.invalid_chunks, failed.repairs, failed.tokens) == (1, 1, 1, 2 * 160)


def test_regressions_beyond_tolerance_only(cases: list[GoldenCase]) -> None:
    """A drop larger than the tolerance on a gated metric is a regression; a smaller one is not."""
    good = _run(cases[0], "p@2", found=True)
    bad = _run(cases[0], "p@1", found=False)
    worse = regressions(totals([good]), totals([bad]), 0.05)
    assert worse == []
    assert [item.metric for item in regressions(totals([bad]), totals([good]), 0.05)] == ["recall"]
    assert regressions(totals([bad]), totals([good]), 1.0) == []


def test_standalone_rate_counts_claims_whose_text_names_the_referent(cases: list[GoldenCase]) -> None:
    """A matched claim stands alone when its text names every ``mentions`` phrase; a drop in that rate is gated."""
    case = GoldenCase.model_validate(
        {
            "id": "unit",
            "source": "test",
            "format": "transcript",
            "text": "CLINTON: I backed the deal.\nTRUMP: You called it the gold standard.\n",
            "expect": {"must_find": [{"sentence": "You called it", "key": "gold standard", "mentions": ["Clinton"]}]},
        }
    )
    quote = "You called it the gold standard."
    start = case.text.index(quote)
    source = {"quote": quote, "start": start, "end": start + len(quote), "sentence_ids": [2]}
    claim = {"id": "clm_1", "type": "other", "claimant": "TRUMP", "attribution": "author", "checkworthiness": 0.5}
    claim |= {"source": source, "chunk": 1, "model_alias": "default", "model": "offline/rules"}
    resolved = Claim.model_validate(claim | {"text": "Trump said Hillary Clinton called the TPP the gold standard."})
    bare = Claim.model_validate(claim | {"text": quote})

    assert score_case(case, ExtractionResult.model_construct(claims=[resolved])).standalone == 1.0
    assert score_case(case, ExtractionResult.model_construct(claims=[bare])).standalone == 0.0
    assert score_case(case, ExtractionResult.model_construct(claims=[])).standalone is None
    assert score_case(cases[1], ExtractionResult.model_construct(claims=[])).standalone is None
    good, bad = _run(cases[0], "p@2", found=True), _run(cases[0], "p@1", found=True)
    good.score.standalone, bad.score.standalone = 1.0, 0.0
    assert [item.metric for item in regressions(totals([bad]), totals([good]), 0.05)] == ["standalone"]


def test_grounding_is_unmeasured_when_a_version_gives_no_claim(cases: list[GoldenCase]) -> None:
    """No claim to judge leaves grounding unmeasured (not a perfect 1.0), so it neither flatters nor fails."""
    silent = _run(cases[0], "p@2", found=False).model_copy(update={"kept": 0})
    grounded = _run(cases[0], "p@1", found=False)

    assert math.isnan(silent.grounding_rate)
    assert math.isnan(totals([silent]).grounding_rate)
    assert grounded.grounding_rate == 1.0
    assert [item.metric for item in regressions(totals([silent]), totals([grounded]), 0.05)] == []


def _run(case: GoldenCase, prompt: str, *, found: bool) -> CaseRun:
    """A hand-made case run with full or zero recall."""
    must = len(case.expect.must_find)
    score = {"case_id": case.id, "claims": 1, "must_find": must, "found": must if found else 0}
    score |= {"recall": 1.0 if found else 0.0, "precision": 1.0, "skip_violations": [], "count_ok": True}
    score |= {"type_accuracy": None, "claimant_accuracy": None, "missed": []}
    return CaseRun.model_validate(
        {"case_id": case.id, "prompt": prompt, "model": "m", "claims": [], "score": score, "kept": 1, "dropped": 0}
        | {"chunks": 1, "invalid_chunks": 0, "repairs": 0, "tokens": 0, "cost_usd": 0.0, "latency_s": 0.0}
    )


@pytest.fixture
def prompts_with_broken_draft(tmp_path: Path) -> Path:
    """The shipped prompts plus a draft v3 whose instructions were removed."""
    directory = tmp_path / "prompts"
    shutil.copytree(default_prompts_dir(), directory)
    spec = yaml.safe_load((directory / "extract_claims" / "v1.yaml").read_text(encoding="utf-8"))
    spec |= {"version": 3, "status": "draft", "changelog": "instructions removed"}
    spec["messages"] = [
        {**message, "content": "Text follows."} if message["role"] == "system" else message
        for message in spec["messages"]
    ]
    (directory / "extract_claims" / "v3.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return directory


def empty_reply(request: httpx.Request) -> httpx.Response:
    """Answer like a model that lost its instructions: no claims."""
    return httpx.Response(200, json=openai_chat_completion(json.dumps({"claims": []})))


@pytest.mark.usefixtures("provider_keys")
def test_cli_exits_1_on_a_regression_and_writes_the_report(
    openai_settings: Settings, cases: list[GoldenCase], prompts_with_broken_draft: Path, tmp_path: Path
) -> None:
    """``claims eval`` replays both versions, prints the table, writes the report and exits 1 on regression."""
    root, cases_dir, report = tmp_path / "recordings", tmp_path / "cases", tmp_path / "out.html"
    cases_dir.mkdir()
    for case in cases:
        shutil.copy(GOLDEN / f"{case.id}.yaml", cases_dir)
    settings = openai_settings.model_copy(update={"prompts_dir": prompts_with_broken_draft})
    for prompt, reply in ((PROMPT, scripted_openai_reply), (BROKEN, empty_reply)):
        asyncio.run(run(settings, EvalPlan([prompt], ["gpt"], cases, "record", root, httpx.MockTransport(reply))))
    assert recording_path(root, BROKEN, "gpt", cases[0].id).is_file()
    config = tmp_path / "claims.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "default_model": "gpt",
                "models": [entry.model_dump() for entry in settings.models],
                "prompts_dir": str(prompts_with_broken_draft),
            }
        ),
        encoding="utf-8",
    )
    args = ["eval", "--prompt", BROKEN, "--baseline", PROMPT, "--replay", "--config", str(config)]
    args += ["--cases", str(cases_dir), "--recordings", str(root), "--report", str(report)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert f"{BROKEN} vs extract_claims@1 on gpt" in result.stdout
    assert "REGRESSION gpt: recall" in result.stdout
    html = report.read_text(encoding="utf-8")
    assert all(f'id="{case.id}"' in html for case in cases)
    assert '<mark class="claim">' in html
    assert '<li class="lost">− ' in html
    assert "<link" not in html
    assert "<script" not in html


def test_cli_replays_a_recorded_model_the_config_does_not_name(
    openai_settings: Settings, cases: list[GoldenCase], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``claims eval --model gpt --replay`` takes the alias from its recording; no config and no key needed."""
    root = tmp_path / "recordings"
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_TEST_KEY)
    asyncio.run(
        run(
            openai_settings,
            EvalPlan([PROMPT], ["gpt"], cases[:1], "record", root, httpx.MockTransport(scripted_openai_reply)),
        )
    )
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("CLAIMS_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./claims.yaml here: built-in defaults, which know only the offline model
    cases_dir = tmp_path / "cases"
    cases_dir.mkdir()
    shutil.copy(GOLDEN / f"{cases[0].id}.yaml", cases_dir)

    args = [
        "eval",
        "--prompt",
        PROMPT,
        "--model",
        "gpt",
        "--replay",
        "--cases",
        str(cases_dir),
        "--recordings",
        str(root),
    ]
    result = CliRunner().invoke(app, args)

    assert result.exit_code == 0, result.output
    assert f"{PROMPT} on gpt" in result.stdout
    assert "1.00" in result.stdout.split(cases[0].id, 1)[1].splitlines()[0]  # recall of the replayed case
    unknown = CliRunner().invoke(app, [*args[:4], "nobody", *args[5:]])
    assert unknown.exit_code == 2
    assert "unknown model 'nobody'" in unknown.output


def test_replayable_cases_are_those_recorded_for_every_recorded_pair(cases: list[GoldenCase], tmp_path: Path) -> None:
    """A pair recorded on some cases limits a replay to those; a pair never recorded limits nothing."""
    save_model(tmp_path / PROMPT / "gpt", {"model_name": "gpt"})
    save_model(tmp_path / BROKEN / "gpt", {"model_name": "gpt"})
    for prompt in (PROMPT, BROKEN):
        recording_path(tmp_path, prompt, "gpt", cases[0].id).write_text("[]", encoding="utf-8")
    recording_path(tmp_path, PROMPT, "gpt", cases[1].id).write_text("[]", encoding="utf-8")

    assert replayable_cases(cases, [PROMPT, BROKEN], ["gpt"], tmp_path) == ([cases[0]], [cases[1].id])
    assert replayable_cases(cases, [PROMPT], ["gpt"], tmp_path) == (cases, [])
    assert replayable_cases(cases, [PROMPT, BROKEN], ["default"], tmp_path) == (cases, [])


def test_cli_runs_the_offline_candidate_alone(tmp_path: Path) -> None:
    """With no baseline, ``claims eval run`` prints the candidate's table and exits 0."""
    cases_dir = tmp_path / "cases"
    cases_dir.mkdir()
    shutil.copy(GOLDEN / "cdc-overdose-deaths-2023.yaml", cases_dir)
    result = CliRunner().invoke(app, ["eval", "run", "--cases", str(cases_dir), "--recordings", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "extract_claims@1 on default" in result.stdout
    assert "cdc-overdose-deaths-2023" in result.stdout


def test_report_highlights_claims_by_offset(settings: Settings, cases: list[GoldenCase], tmp_path: Path) -> None:
    """The report marks each claim's quote span in the case text."""
    runs = asyncio.run(run(settings, EvalPlan([PROMPT], ["default"], cases, "replay", tmp_path)))
    html = render_report(runs, cases, ["default"], PROMPT, None)
    quote = group(runs, PROMPT, "default")[0].claims[0].source.quote
    assert escape(quote) in html
    assert html.count('<mark class="claim">') >= len(cases)


def ungrounded_reply(request: httpx.Request) -> httpx.Response:
    """Answer with one claim whose quote is nowhere in the article, so grounding drops it."""
    claim = {"sentence_ids": [1], "quote": "The moon is made of cheese.", "text": "The moon is made of cheese.",
             "type": "other", "claimant": None, "attribution": "author", "checkworthiness": 0.9}  # fmt: skip
    return httpx.Response(200, json=openai_chat_completion(json.dumps({"claims": [claim]})))


@pytest.mark.usefixtures("provider_keys")
def test_report_shows_the_verdict_the_deltas_and_what_grounding_dropped(
    openai_settings: Settings, cases: list[GoldenCase], http_mock: respx.MockRouter
) -> None:
    """The report opens with its verdict, totals carry deltas, and a case whose claims were all dropped says so."""
    http_mock.post(OPENAI_URL).mock(side_effect=ungrounded_reply)
    runs = asyncio.run(run(openai_settings, EvalPlan([PROMPT], ["gpt"], cases, "live", Path("unused"))))
    assert all(r.kept == 0 and r.dropped == 1 and r.score.precision is None for r in runs)
    html = render_report(runs, cases, ["gpt"], PROMPT, None)
    assert "precision –" in html
    assert "precision 1.00" not in html
    assert "dropped by grounding: quote &#x27;The moon is made of cheese.&#x27; is not in the cited sentences" in html
    regression = Regression(model="gpt", metric="recall", candidate=0.25, baseline=0.75)
    offline = asyncio.run(
        run(openai_settings, EvalPlan([PROMPT, "extract_claims@2"], ["default"], cases, "replay", GOLDEN))
    )
    verdict = render_report(offline, cases, ["default"], "extract_claims@2", PROMPT, ([regression], 0.05))
    assert "<strong>REGRESSION</strong> (exit 1):" in verdict
    assert "gpt: recall 0.250 &lt; baseline 0.750 − 0.05" in verdict
    assert '<small class="same">+0.000</small>' in verdict  # v2's totals beside v1's, with their deltas
    passing = render_report(offline, cases, ["default"], "extract_claims@2", PROMPT, ([], 0.05))
    assert "<strong>No regression</strong> beyond tolerance 0.05" in passing
