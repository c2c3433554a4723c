"""Tests of ``service/pipeline/replies.py``: reading a model's reply text as the reply schema, leniently where safe."""

from __future__ import annotations

import json

import pytest

from schemas import ModelClaim, ModelReply
from service.pipeline.replies import ReplyRejected, parse_model_reply

CLAIM = {
    "sentence_ids": [2],
    "quote": "violent crime is down 15.2%",
    "text": "The FBI's 2024 Quarterly Crime Report says violent crime fell 15.2%.",
    "type": "quantity",
    "claimant": "FBI",
    "attribution": "reported",
    "checkworthiness": 0.93,
}
REPLY_JSON = json.dumps({"claims": [CLAIM]}, indent=2)


@pytest.fixture
def expected_reply() -> ModelReply:
    """The reply every well-formed variant below must parse to."""
    return ModelReply(
        claims=[
            ModelClaim(
                sentence_ids=[2],
                quote="violent crime is down 15.2%",
                text="The FBI's 2024 Quarterly Crime Report says violent crime fell 15.2%.",
                type="quantity",
                claimant="FBI",
                attribution="reported",
                checkworthiness=0.93,
            )
        ]
    )


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(REPLY_JSON, id="clean"),
        pytest.param(f"```json\n{REPLY_JSON}\n```", id="json-fence"),
        pytest.param(f"```\n{REPLY_JSON}\n```\n", id="bare-fence"),
        pytest.param(f"{REPLY_JSON}\n\nI extracted one claim; the rest is opinion.", id="trailing-prose"),
        pytest.param(f"Here are the claims:\n{REPLY_JSON}", id="leading-prose"),
        pytest.param(f"Sentences use {{S1}} ids. Reply: {REPLY_JSON}", id="brace-in-prose"),
    ],
)
def test_reply_with_json_is_read(content: str, expected_reply: ModelReply) -> None:
    """A JSON object in the reply schema is read whether clean, fenced or surrounded by prose."""
    assert parse_model_reply(content) == expected_reply


def test_empty_claims_list_is_a_valid_reply() -> None:
    """``{"claims": []}`` is the honest answer when nothing is checkable."""
    assert parse_model_reply('{"claims": []}') == ModelReply(claims=[])


def test_omitted_optional_fields_take_their_defaults() -> None:
    """A claim without claimant or attribution reads as the article's own voice."""
    claim = {key: value for key, value in CLAIM.items() if key not in {"claimant", "attribution"}}

    reply = parse_model_reply(json.dumps({"claims": [claim]}))

    assert (reply.claims[0].claimant, reply.claims[0].attribution) == (None, "author")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("I could not find any checkable claims.", id="prose"),
        pytest.param("", id="empty"),
        pytest.param('{"claims": [', id="truncated"),
        pytest.param("[1, 2, 3]", id="array"),
    ],
)
def test_reply_without_a_json_object_is_rejected(content: str) -> None:
    """A reply with no complete JSON object is rejected, saying so."""
    with pytest.raises(ReplyRejected, match=r"^the reply contains no JSON object$"):
        parse_model_reply(content)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            {"checkworthiness": 1.5},
            "claims.1.checkworthiness: Input should be less than or equal to 1",
            id="checkworthiness-over-one",
        ),
        pytest.param(
            {"type": "opinion"},
            "claims.1.type: Input should be 'quantity', 'causal', 'rule', 'prediction', "
            "'personal_experience' or 'other'",
            id="unknown-type",
        ),
        pytest.param(
            {"sentence_ids": []},
            "claims.1.sentence_ids: List should have at least 1 item after validation, not 0",
            id="no-sentence-ids",
        ),
        pytest.param({"attribution": "hearsay"}, "claims.1.attribution: Input should be", id="unknown-attribution"),
    ],
)
def test_reply_failing_the_schema_is_rejected_naming_the_field(change: dict[str, object], message: str) -> None:
    """A JSON reply outside the schema is rejected with the failing field's dotted path in the message."""
    content = json.dumps({"claims": [CLAIM, {**CLAIM, **change}]})

    with pytest.raises(ReplyRejected) as caught:
        parse_model_reply(content)

    assert str(caught.value).startswith("the JSON does not match the reply schema: ")
    assert message in str(caught.value)


def test_schema_errors_are_all_named_when_few() -> None:
    """Several invalid fields are each named, separated by semicolons."""
    content = json.dumps({"claims": [{**CLAIM, "type": "opinion", "checkworthiness": 1.5}]})

    with pytest.raises(ReplyRejected) as caught:
        parse_model_reply(content)

    assert str(caught.value) == (
        "the JSON does not match the reply schema: "
        "claims.0.type: Input should be 'quantity', 'causal', 'rule', 'prediction', 'personal_experience' or "
        "'other'; claims.0.checkworthiness: Input should be less than or equal to 1"
    )


def test_many_schema_errors_are_summarised() -> None:
    """Past five errors the message counts the rest instead of listing them."""
    content = json.dumps({"claims": [{"sentence_ids": "one"}, {"quote": 3}]})

    with pytest.raises(ReplyRejected, match=r"; and \d+ more$"):
        parse_model_reply(content)


def test_json_without_claims_is_rejected() -> None:
    """A JSON object that lacks ``claims`` names the missing field."""
    with pytest.raises(ReplyRejected, match="claims: Field required"):
        parse_model_reply('{"claim": []}')
