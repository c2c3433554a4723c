"""Tests of ``service/prompts/lifecycle.py`` and ``claims prompts new|release|diff``, on a copy of prompts/."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from service.cli.main import app
from service.errors import ConfigError, InputError, UnknownPromptVersion
from service.prompts.lifecycle import (
    diff_versions,
    latest_released_version,
    new_version,
    parse_ref,
    release_version,
    retire_version,
    write_lock,
)
from service.prompts.registry import LOCK_FILE, PromptRegistry, default_prompts_dir, file_sha256, read_lock

V1_SHA = read_lock(default_prompts_dir())["extract_claims@1"]


@pytest.fixture(autouse=True)
def shipped_prompts_untouched() -> Iterator[None]:
    """Fail any test here that changes a byte of the repository's own prompts/."""
    shipped = default_prompts_dir()
    before = {path: file_sha256(path) for path in shipped.rglob("*") if path.is_file()}
    yield
    assert {path: file_sha256(path) for path in shipped.rglob("*") if path.is_file()} == before


@pytest.fixture
def prompts_dir(tmp_path: Path) -> Path:
    """A private prompts directory holding a copy of the shipped ``extract_claims@1`` and its pin only."""
    copy = tmp_path / "prompts"
    (copy / "extract_claims").mkdir(parents=True)
    shutil.copy(default_prompts_dir() / "extract_claims" / "v1.yaml", copy / "extract_claims" / "v1.yaml")
    write_lock(copy, {"extract_claims@1": V1_SHA})
    return copy


def edited_draft(prompts_dir: Path) -> Path:
    """Scaffold v2 and make it releasable: a changelog written and an instruction changed."""
    path = new_version(prompts_dir, "extract_claims")
    text = path.read_text(encoding="utf-8")
    text = text.replace("changelog: 'TODO: say what changed from v1 and why.'", "changelog: Skip jokes too.")
    path.write_text(text.replace("Skip opinions,", "Skip jokes, opinions,"), encoding="utf-8")
    return path


@pytest.fixture
def runner() -> CliRunner:
    """A typer CLI runner."""
    return CliRunner()


def test_new_scaffolds_v2_as_a_draft_copy_of_v1(prompts_dir: Path) -> None:
    """``new_version`` writes v2.yaml: v1's content with version 2, status draft and a changelog placeholder."""
    path = new_version(prompts_dir, "extract_claims")

    assert path == prompts_dir / "extract_claims" / "v2.yaml"
    v1 = yaml.safe_load((prompts_dir / "extract_claims" / "v1.yaml").read_text(encoding="utf-8"))
    v2 = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert v2 == {**v1, "version": 2, "status": "draft", "changelog": "TODO: say what changed from v1 and why."}


@pytest.mark.parametrize(
    "changelog",
    ["changelog: >-\n  First release,\n  over two lines.\n", "changelog: |-\n  First release.\n\n  over two lines.\n"],
    ids=["folded", "two-paragraphs"],
)
def test_new_replaces_a_multi_line_changelog_whole(prompts_dir: Path, changelog: str) -> None:
    """A multi-line changelog in the source, blank lines included, is replaced by the placeholder, nothing left."""
    v1 = prompts_dir / "extract_claims" / "v1.yaml"
    v1.write_text(
        v1.read_text(encoding="utf-8").replace("changelog: First release.\n", changelog),
        encoding="utf-8",
    )
    write_lock(prompts_dir, {"extract_claims@1": file_sha256(v1)})

    path = new_version(prompts_dir, "extract_claims")

    assert "over two lines" not in path.read_text(encoding="utf-8")
    assert PromptRegistry.load(prompts_dir).get("extract_claims@2").spec.changelog == (
        "TODO: say what changed from v1 and why."
    )


def test_new_draft_loads_in_the_registry(prompts_dir: Path) -> None:
    """The scaffolded draft loads unpinned, and the bare name still resolves to released v1."""
    new_version(prompts_dir, "extract_claims")

    registry = PromptRegistry.load(prompts_dir)

    assert registry.get("extract_claims@2").spec.status == "draft"
    assert registry.get("extract_claims").ref == "extract_claims@1"
    assert read_lock(prompts_dir) == {"extract_claims@1": V1_SHA}


def test_new_refuses_while_the_next_version_exists(prompts_dir: Path) -> None:
    """A second ``new`` while draft v2 exists refuses instead of overwriting it or stacking a v3."""
    path = new_version(prompts_dir, "extract_claims")
    path.write_text(path.read_text(encoding="utf-8") + "# work in progress\n", encoding="utf-8")
    text = path.read_text(encoding="utf-8")

    with pytest.raises(InputError, match=r"v2\.yaml already exists"):
        new_version(prompts_dir, "extract_claims")

    assert path.read_text(encoding="utf-8") == text
    assert not (prompts_dir / "extract_claims" / "v3.yaml").exists()


def test_new_of_an_unknown_prompt_is_refused(prompts_dir: Path) -> None:
    """Scaffolding a name with no released version raises ``UnknownPromptVersion``."""
    with pytest.raises(UnknownPromptVersion, match="no released version of prompt 'summarise'"):
        new_version(prompts_dir, "summarise")


def test_release_pins_the_new_sha_and_keeps_other_pins(prompts_dir: Path) -> None:
    """Releasing v2 marks it released, pins its sha256 beside v1's, sorted, and the bare name now gets v2."""
    path = edited_draft(prompts_dir)

    digest = release_version(prompts_dir, "extract_claims@2")

    assert yaml.safe_load(path.read_text(encoding="utf-8"))["status"] == "released"
    assert digest == file_sha256(path)
    lock = {"extract_claims@1": V1_SHA, "extract_claims@2": digest}
    assert (prompts_dir / LOCK_FILE).read_text(encoding="utf-8") == json.dumps(lock, indent=2, sort_keys=True) + "\n"
    registry = PromptRegistry.load(prompts_dir)
    assert registry.get("extract_claims").ref == "extract_claims@2"
    assert registry.get("extract_claims").sha256 == digest


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        (("{{ title }}", "{{ headline }}"), "'headline' is undefined"),
        (("{{ title }}", "{{ title }"), "unexpected '}'"),
    ],
    ids=["undefined-variable", "does-not-compile"],
)
def test_release_refuses_a_template_that_does_not_render(prompts_dir: Path, edit: tuple[str, str], error: str) -> None:
    """A draft whose template names an unknown variable, or does not compile, is never pinned."""
    path = new_version(prompts_dir, "extract_claims")
    path.write_text(path.read_text(encoding="utf-8").replace(*edit), encoding="utf-8")

    with pytest.raises(ConfigError, match=error):
        release_version(prompts_dir, "extract_claims@2")
    assert read_lock(prompts_dir) == {"extract_claims@1": V1_SHA}


@pytest.mark.parametrize("ref", ["extract_claims@1", "extract_claims@2"])
def test_releasing_a_released_version_is_refused(prompts_dir: Path, ref: str) -> None:
    """A pinned version cannot be released again: the refusal says to make a new version, the lock is unchanged."""
    edited_draft(prompts_dir)
    release_version(prompts_dir, "extract_claims@2")
    lock = (prompts_dir / LOCK_FILE).read_text(encoding="utf-8")

    with pytest.raises(InputError, match=rf"{ref} is already released.*make a new version"):
        release_version(prompts_dir, ref)

    assert (prompts_dir / LOCK_FILE).read_text(encoding="utf-8") == lock


def test_release_of_a_missing_version_is_refused(prompts_dir: Path) -> None:
    """Releasing a version with no file raises ``UnknownPromptVersion`` and leaves the lock alone."""
    with pytest.raises(UnknownPromptVersion, match="unknown prompt extract_claims@7"):
        release_version(prompts_dir, "extract_claims@7")

    assert read_lock(prompts_dir) == {"extract_claims@1": V1_SHA}


def test_editing_a_prompt_after_release_is_refused(prompts_dir: Path) -> None:
    """A released v2 edited afterwards stops the registry with a message to make a new version."""
    path = edited_draft(prompts_dir)
    release_version(prompts_dir, "extract_claims@2")
    path.write_text(path.read_text(encoding="utf-8").replace("fact-checking", "fact checking"), encoding="utf-8")

    with pytest.raises(ConfigError, match=r"extract_claims@2 changed after release.*make a new version"):
        PromptRegistry.load(prompts_dir)


def test_after_release_the_next_new_is_v3(prompts_dir: Path) -> None:
    """Once v2 is released, ``new`` scaffolds v3 from it."""
    edited_draft(prompts_dir)
    release_version(prompts_dir, "extract_claims@2")

    path = new_version(prompts_dir, "extract_claims")

    assert path.name == "v3.yaml"
    assert latest_released_version(prompts_dir, "extract_claims") == 2
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["changelog"] == "TODO: say what changed from v2 and why."


def test_diff_shows_removed_and_added_lines(prompts_dir: Path) -> None:
    """The unified diff names both refs and shows v1's lines as ``-`` and v2's as ``+``."""
    new_version(prompts_dir, "extract_claims")

    diff = diff_versions(prompts_dir, "extract_claims@1", "extract_claims@2")

    assert diff.startswith("--- extract_claims@1\n+++ extract_claims@2\n")
    assert " name: extract_claims\n-version: 1\n-status: released\n+version: 2\n+status: draft\n" in diff
    assert "-changelog: First release.\n+changelog: 'TODO: say what changed from v1 and why.'\n" in diff


def test_diff_of_a_version_with_itself_is_empty(prompts_dir: Path) -> None:
    """Diffing a version against itself prints nothing."""
    assert diff_versions(prompts_dir, "extract_claims@1", "extract_claims@1") == ""


@pytest.mark.parametrize("ref", ["extract_claims", "extract_claims@0", "Extract@1", "extract_claims@v2"])
def test_malformed_ref_is_refused(ref: str) -> None:
    """A ref that is not ``name@N`` raises ``InputError`` showing the expected form."""
    with pytest.raises(InputError, match="write it as name@N"):
        parse_ref(ref)


def test_cli_new_prints_the_draft_path(runner: CliRunner, prompts_dir: Path) -> None:
    """``claims prompts new NAME --prompts-dir DIR`` prints the v2 path; a second run refuses with exit 2."""
    result = runner.invoke(app, ["prompts", "new", "extract_claims", "--prompts-dir", str(prompts_dir)])

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{prompts_dir / 'extract_claims' / 'v2.yaml'}\n"
    again = runner.invoke(app, ["prompts", "new", "extract_claims", "--prompts-dir", str(prompts_dir)])
    assert again.exit_code == 2
    assert again.stderr == (
        f"error: Bad request: {prompts_dir / 'extract_claims' / 'v2.yaml'} already exists; "
        "edit that draft, or release it and run `new` again\n"
    )


def test_cli_release_pins_and_refuses_a_second_release(runner: CliRunner, prompts_dir: Path) -> None:
    """``claims prompts release REF`` prints the pinned sha256; releasing it again exits 2 and pins nothing."""
    edited_draft(prompts_dir)
    args = ["prompts", "release", "extract_claims@2", "--prompts-dir", str(prompts_dir)]

    result = runner.invoke(app, args)

    assert result.exit_code == 0, result.output
    digest = file_sha256(prompts_dir / "extract_claims" / "v2.yaml")
    assert result.stdout == f"released extract_claims@2  sha256:{digest}\n"
    assert read_lock(prompts_dir) == {"extract_claims@1": V1_SHA, "extract_claims@2": digest}
    listed = runner.invoke(app, ["prompts", "list", "--prompts-dir", str(prompts_dir)])
    assert [line.split()[:2] for line in listed.stdout.splitlines()] == [
        ["extract_claims@1", "released"],
        ["extract_claims@2", "released"],
    ]
    again = runner.invoke(app, args)
    assert again.exit_code == 2
    assert "extract_claims@2 is already released" in again.stderr
    assert read_lock(prompts_dir) == {"extract_claims@1": V1_SHA, "extract_claims@2": digest}


def test_cli_diff_prints_a_unified_diff(runner: CliRunner, prompts_dir: Path) -> None:
    """``claims prompts diff A B`` prints the unified diff and exits 0."""
    new_version(prompts_dir, "extract_claims")

    result = runner.invoke(
        app, ["prompts", "diff", "extract_claims@1", "extract_claims@2", "--prompts-dir", str(prompts_dir)]
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == diff_versions(prompts_dir, "extract_claims@1", "extract_claims@2")
    assert "-status: released\n+version: 2\n+status: draft\n" in result.stdout


def test_cli_diff_of_an_unknown_version_exits_2(runner: CliRunner, prompts_dir: Path) -> None:
    """Diffing against a version with no file is a usage error, reported on one line."""
    result = runner.invoke(
        app, ["prompts", "diff", "extract_claims@1", "extract_claims@9", "--prompts-dir", str(prompts_dir)]
    )

    assert result.exit_code == 2
    assert result.stderr.startswith("error: Unknown prompt version: unknown prompt extract_claims@9")


def test_retire_flips_the_status_re_pins_and_the_latest_is_the_release_before(prompts_dir: Path) -> None:
    """A retired version still loads by name@version and keeps its pin (re-made); the bare name skips it."""
    edited_draft(prompts_dir)
    release_version(prompts_dir, "extract_claims@2")

    digest = retire_version(prompts_dir, "extract_claims@2")

    path = prompts_dir / "extract_claims" / "v2.yaml"
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["status"] == "retired"
    assert read_lock(prompts_dir)["extract_claims@2"] == digest == file_sha256(path)
    registry = PromptRegistry.load(prompts_dir)
    assert registry.get("extract_claims@2").spec.status == "retired"
    assert registry.get("extract_claims").ref == "extract_claims@1"


def test_retire_refuses_a_draft_an_edited_file_and_a_second_retirement(prompts_dir: Path) -> None:
    """Only a released file, unchanged since its release, can be retired, and only once."""
    draft = new_version(prompts_dir, "extract_claims")
    with pytest.raises(InputError, match="not released"):
        retire_version(prompts_dir, "extract_claims@2")

    v1 = prompts_dir / "extract_claims" / "v1.yaml"
    v1.write_text(v1.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="changed after release"):
        retire_version(prompts_dir, "extract_claims@1")

    draft.unlink()
    v1.write_text(v1.read_text(encoding="utf-8").removesuffix("# edited\n"), encoding="utf-8")
    retire_version(prompts_dir, "extract_claims@1")
    with pytest.raises(InputError, match="already retired"):
        retire_version(prompts_dir, "extract_claims@1")


def test_cli_retire_prints_the_new_pin(runner: CliRunner, prompts_dir: Path) -> None:
    """``claims prompts retire`` prints the new sha256; a draft is refused with exit 2."""
    result = runner.invoke(app, ["prompts", "retire", "extract_claims@1", "--prompts-dir", str(prompts_dir)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("retired extract_claims@1  sha256:")
    refused = runner.invoke(app, ["prompts", "retire", "extract_claims@9", "--prompts-dir", str(prompts_dir)])
    assert refused.exit_code == 2


def test_release_refuses_a_draft_whose_changelog_is_still_the_placeholder(prompts_dir: Path) -> None:
    """A draft released as scaffolded says nothing of what changed: refused, nothing pinned."""
    path = new_version(prompts_dir, "extract_claims")
    path.write_text(path.read_text(encoding="utf-8").replace("Skip opinions,", "Skip jokes, opinions,"))
    with pytest.raises(InputError, match="still has the scaffold's changelog"):
        release_version(prompts_dir, "extract_claims@2")
    assert read_lock(prompts_dir) == {"extract_claims@1": V1_SHA}


def test_release_refuses_a_draft_that_sends_what_its_predecessor_sends(prompts_dir: Path) -> None:
    """A changelog alone does not make a version: the same messages and repair as v1 are refused."""
    path = new_version(prompts_dir, "extract_claims")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("changelog: 'TODO: say what changed from v1 and why.'", "changelog: Better."))
    with pytest.raises(InputError, match="sends the model exactly what v1 does"):
        release_version(prompts_dir, "extract_claims@2")
    assert read_lock(prompts_dir) == {"extract_claims@1": V1_SHA}
