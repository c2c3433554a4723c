"""Tests of ``service/errors.py``: the error tree's problem slugs, and a validation error told on one line."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from service.errors import ClaimServiceError, UpstreamRateLimited, problem_catalogue, validation_summary


class Shape(BaseModel):
    """A model for validation errors to come from."""

    name: str
    count: int
    tags: list[int]


def errors_of(value: object) -> list[dict[str, object]]:
    """Return pydantic's errors for ``value`` as a ``Shape``."""
    with pytest.raises(ValidationError) as raised:
        Shape.model_validate(value)
    return [dict(error) for error in raised.value.errors()]


def test_a_validation_error_reads_as_one_line_of_paths_and_messages() -> None:
    """Each problem is ``path: message``, joined on one line; values are never echoed."""
    summary = validation_summary(errors_of({"name": "x", "count": "sk-secret-value", "tags": [1, "two"]}), root="body")
    assert summary == (
        "count: Input should be a valid integer, unable to parse string as an integer; "
        "tags.1: Input should be a valid integer, unable to parse string as an integer"
    )
    assert "sk-secret" not in summary


def test_the_root_names_a_problem_of_the_whole_and_skip_drops_a_prefix() -> None:
    """A problem with the whole value names the root; ``skip`` drops leading parts such as FastAPI's ``body``."""
    assert validation_summary(errors_of("not a mapping"), root="reply").startswith("reply: ")
    errors = [{"loc": ("body", "article", "text"), "msg": "Field required"}, {"loc": ("body",), "msg": "bad"}]
    assert validation_summary(errors, root="body", skip=1) == "article.text: Field required; body: bad"


def test_a_limit_counts_what_it_leaves_out() -> None:
    """Past ``limit`` problems, the line says how many more there are."""
    errors = [{"loc": ("tags", n), "msg": "bad"} for n in range(7)]
    assert validation_summary(errors, root="reply", limit=2) == "tags.0: bad; tags.1: bad; and 5 more"


def test_every_problem_slug_names_one_error_class() -> None:
    """The catalogue maps each slug to its class, walking the tree from the base."""
    catalogue = problem_catalogue()
    assert catalogue["internal-error"] is ClaimServiceError
    assert catalogue["upstream-rate-limited"] is UpstreamRateLimited
    assert len(catalogue) == len(set(catalogue.values()))
