"""Whether a SQLite file can be trusted when a store opens it, and how a new one is made whole at once.

A store that holds what clients were promised (the job store: every accepted job) must not start on a file
it cannot read, nor take an empty or foreign file for an empty store. ``damage`` says what is wrong with a
file: empty (0 bytes), not SQLite (its header), or failing SQLite's ``PRAGMA quick_check``. quick_check
reads every page and checks each B-tree's structure, which is what scribbled or truncated pages break;
``integrity_check`` also matches every index against its table and checks UNIQUE constraints, for more time
(1.25 GB of jobs, 100,000 articles: quick_check 1.4 s with the file in the page cache, 33 s cold from this
machine's disk; integrity_check 2.1 s and 38 s). Both read the whole file; quick_check is the one paid at
every start.

``create_whole`` makes a new database under a temporary name and links it into place, so a process starting
beside another (``claims serve --workers N``) sees either no file or a whole one, never the 0-byte file a
half-made database would be, which it would take for damage.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

from service.errors import ConfigError

SQLITE_HEADER = b"SQLite format 3\x00"
DAMAGED_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
ERRORS_SHOWN = 3
DETAIL_CHARS = 120


def damage(path: Path) -> str | None:
    """Return what is wrong with the database file at ``path`` (one line), or None when it is sound or absent."""
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return None
    if not header:
        return "it is empty (0 bytes)"
    if header != SQLITE_HEADER:
        return "it is not a SQLite database"
    try:
        with closing(sqlite3.connect(path, timeout=30)) as connection:
            rows = connection.execute(f"PRAGMA quick_check({ERRORS_SHOWN})").fetchall()
    except sqlite3.DatabaseError as exc:
        return f"SQLite cannot read it ({exc})"
    lines = [line for row in rows for line in str(row[0]).splitlines() if not line.startswith("*** in database")]
    return None if lines == ["ok"] else "PRAGMA quick_check found: " + "; ".join(lines[:ERRORS_SHOWN])


def described(exc: sqlite3.Error) -> str:
    """Return a SQLite error as a short line fit for a problem detail (stored bytes it quotes are cut short)."""
    text = str(exc).encode("ascii", "backslashreplace").decode("ascii")
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 3] + "..."


def is_damage(exc: sqlite3.Error) -> bool:
    """Say whether a SQLite error means the file is damaged (corrupt, or not a database), not merely busy."""
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF in DAMAGED_CODES


def create_whole(path: Path, schema: str) -> None:
    """Create the database at ``path`` with ``schema`` in WAL mode, appearing whole; keep one already there."""
    temporary = path.with_name(f"{path.name}.new-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with closing(sqlite3.connect(temporary, isolation_level=None)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(schema)
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: theirs is used
        except OSError:  # a file system without hard links: a rename, unless one appeared meanwhile
            if not path.exists():
                temporary.replace(path)
    finally:
        for suffix in ("", "-wal", "-shm"):
            temporary.with_name(temporary.name + suffix).unlink(missing_ok=True)


def open_on_thread(thread: ThreadPoolExecutor, data_dir: Path, connect: Callable[[], None], holds: str) -> None:
    """Make ``data_dir`` and run a store's ``connect`` on its own thread; any failure ends the thread.

    A directory or file that cannot be used is a ``ConfigError`` naming ``data_dir`` and what it was to hold;
    ``connect``'s own ``ConfigError`` (a damaged file, say) passes unchanged.
    """
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        thread.submit(connect).result()
    except ConfigError:
        thread.shutdown(wait=False)
        raise
    except (OSError, sqlite3.Error) as exc:
        thread.shutdown(wait=False)
        raise ConfigError(f"data_dir {data_dir} cannot hold {holds}: {exc}") from exc
