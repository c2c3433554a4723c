"""Tests of the ``Dockerfile``: a slim Python base, a non-root user, a health check, offline litellm, no secrets."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

DOCKERFILE = Path(__file__).parents[1] / "Dockerfile"
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.IGNORECASE)


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: its upper-cased keyword and its argument text, continuations joined."""

    keyword: str
    arguments: str


def parse_dockerfile(text: str) -> list[Instruction]:
    """Split Dockerfile text into instructions, dropping comments and joining backslash continuations."""
    instructions: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pending += stripped
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip() + " "
            continue
        keyword, _, arguments = pending.partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def exec_form(arguments: str) -> list[str]:
    """Return the argv of a JSON (exec) form, or the shell words of a shell form."""
    if arguments.startswith("["):
        argv = json.loads(arguments)
        assert isinstance(argv, list)
        return [str(word) for word in argv]
    return shlex.split(arguments)


def variables(instructions: list[Instruction], keyword: str) -> dict[str, str]:
    """Return the ``NAME=value`` pairs set by every ``ENV`` or ``ARG`` instruction (legacy ``ENV NAME value`` too)."""
    found: dict[str, str] = {}
    for instruction in instructions:
        if instruction.keyword != keyword:
            continue
        words = shlex.split(instruction.arguments)
        if keyword == "ENV" and len(words) >= 2 and "=" not in words[0]:
            found[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            name, _, value = word.partition("=")
            found[name] = value
    return found


@pytest.fixture
def instructions() -> list[Instruction]:
    """The repository's Dockerfile, parsed."""
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def keywords(instructions: list[Instruction]) -> list[str]:
    """Return the keywords in order."""
    return [instruction.keyword for instruction in instructions]


def last(instructions: list[Instruction], keyword: str) -> Instruction:
    """Return the last instruction with ``keyword`` (the one Docker uses)."""
    matching = [instruction for instruction in instructions if instruction.keyword == keyword]
    assert matching, f"the Dockerfile has no {keyword}"
    return matching[-1]


def test_parser_joins_continuations_and_drops_comments() -> None:
    """The test's own parser reads continuation lines as one instruction and skips comments."""
    text = "# c\nFROM python:3.11-slim\nENV A=1 \\\n    B=2\n\nrun echo hi\n"

    assert parse_dockerfile(text) == [
        Instruction("FROM", "python:3.11-slim"),
        Instruction("ENV", "A=1 B=2"),
        Instruction("RUN", "echo hi"),
    ]


def test_base_image_is_a_slim_python_311_or_newer(instructions: list[Instruction]) -> None:
    """The final stage is built FROM ``python:3.<minor>-slim…`` with minor at least 11."""
    image = last(instructions, "FROM").arguments.split()[0]

    match = re.fullmatch(
        r"(?:docker\.io/)?(?:library/)?python:3\.(\d+)(?:\.\d+)?-slim(?:-[a-z]+)?(?:@sha256:[0-9a-f]+)?", image
    )
    assert match, f"unexpected base image {image!r}"
    assert int(match.group(1)) >= 11


def test_runs_as_a_non_root_user_set_before_cmd(instructions: list[Instruction]) -> None:
    """A ``USER`` that is neither root nor uid 0 is set before ``CMD``."""
    order = keywords(instructions)
    user = last(instructions, "USER").arguments.split(":")[0]

    assert user not in {"root", "0"}
    assert len(order) - 1 - order[::-1].index("USER") < order.index("CMD")


def test_healthcheck_probes_healthz(instructions: list[Instruction]) -> None:
    """The ``HEALTHCHECK`` runs a command that requests ``/healthz`` on the served port."""
    healthcheck = last(instructions, "HEALTHCHECK").arguments

    options, _, command = healthcheck.partition("CMD")
    assert command, "HEALTHCHECK must run a CMD"
    assert "--interval=" in options
    assert re.search(r"https?://(127\.0\.0\.1|localhost):8000/healthz", command)


def test_cmd_serves_with_claims_serve_on_all_interfaces(instructions: list[Instruction]) -> None:
    """``CMD`` is ``claims serve`` bound to 0.0.0.0 so the container's port is reachable."""
    argv = exec_form(last(instructions, "CMD").arguments)

    assert argv[:2] == ["claims", "serve"]
    assert argv[argv.index("--host") + 1] == "0.0.0.0"  # noqa: S104 -- the container must listen on all interfaces
    assert argv[argv.index("--port") + 1] == "8000"
    assert last(instructions, "EXPOSE").arguments.split() == ["8000"]


def test_litellm_offline_switches_are_set(instructions: list[Instruction]) -> None:
    """The litellm local cost map and local Anthropic beta headers are switched on, so import makes no request."""
    environment = variables(instructions, "ENV")

    assert environment["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
    assert environment["LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS"] == "True"


def test_no_secrets_are_baked_in(instructions: list[Instruction]) -> None:
    """No ``ENV`` or ``ARG`` names a key, token, secret or password, and no ``sk-`` key appears anywhere."""
    names = [*variables(instructions, "ENV"), *variables(instructions, "ARG")]

    assert [name for name in names if SECRET_NAME.search(name)] == []
    assert not re.search(r"\bsk-[A-Za-z0-9_-]{8,}", DOCKERFILE.read_text(encoding="utf-8"))


def test_install_step_installs_the_project(instructions: list[Instruction]) -> None:
    """The project is installed with ``pip install .`` after its sources are copied in."""
    order = keywords(instructions)
    runs = [index for index, instruction in enumerate(instructions) if instruction.keyword == "RUN"]
    install = [index for index in runs if re.search(r"\bpip install \.(\s|$)", instructions[index].arguments)]

    assert len(install) == 1
    copied = {
        source
        for index, keyword in enumerate(order[: install[0]])
        if keyword == "COPY"
        for source in instructions[index].arguments.split()[:-1]
    }
    assert "." in copied or {"pyproject.toml", "service", "schemas", "prompts"} <= copied
