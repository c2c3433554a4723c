"""Tests of ``service/stores/jobs/sqlite_check.py``: what is wrong with a SQLite file, and a new one made whole."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from service.stores.jobs.sqlite_check import create_whole, damage, described
from tests.damage import filled_job_store, scribble


def test_a_sound_or_absent_file_has_no_damage(tmp_path: Path) -> None:
    """A database that passes quick_check, and a file not there yet, are fine."""
    assert damage(tmp_path / "absent.db") is None
    assert damage(filled_job_store(tmp_path / "data", jobs=3)) is None


def test_an_empty_file_or_one_that_is_not_sqlite_is_damage(tmp_path: Path) -> None:
    """A 0-byte file is no empty database, and a file of something else is no database at all."""
    empty, text = tmp_path / "empty.db", tmp_path / "text.db"
    empty.write_bytes(b"")
    text.write_text("jobs: none\n" * 20, encoding="utf-8")
    assert damage(empty) == "it is empty (0 bytes)"
    assert damage(text) == "it is not a SQLite database"


def test_scribbled_pages_are_damage_said_on_one_line(tmp_path: Path) -> None:
    """Random bytes over pages in the middle fail quick_check; the finding is one line, at most three errors."""
    database = filled_job_store(tmp_path / "data")
    scribble(database)
    found = damage(database)
    assert found is not None
    assert found.startswith("PRAGMA quick_check found: ")
    assert "\n" not in found
    assert found.count(";") <= 2


def test_a_new_database_appears_whole_and_one_already_there_is_kept(tmp_path: Path) -> None:
    """create_whole makes the schema in WAL mode, leaves no temporary file, and never replaces a database."""
    database = tmp_path / "jobs.db"
    create_whole(database, "CREATE TABLE first (x INTEGER);")
    create_whole(database, "CREATE TABLE second (x INTEGER);")
    with closing(sqlite3.connect(database)) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    assert (tables, mode) == (["first"], "wal")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["jobs.db"]


def test_an_error_quoting_stored_bytes_is_described_short_and_printable() -> None:
    """A detail never carries raw stored bytes or a page of them: escaped, and cut at 120 characters."""
    error = sqlite3.OperationalError("Could not decode to UTF-8 column 'state' with text '" + "\udcff" * 300 + "'")
    text = described(error)
    assert len(text) == 120
    assert text.isascii()
    assert text.startswith("Could not decode to UTF-8 column 'state' with text '\\udcff")
