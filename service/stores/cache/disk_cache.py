"""The reply cache on disk (diskcache, SQLite-backed, safe across worker processes), and how it heals.

A cache must never fail an extraction. Each reply is stored as JSON text and validated when read back.
diskcache pickles what is not text and unpickles what its rows say is a pickle: this cache reads through
``TextOnlyDisk``, which stores text alone and refuses to unpickle anything, so a pickle planted in the
cache's files is never loaded (it is an unreadable entry, below). What can go wrong, and what happens:

- an entry that cannot be read (garbage in its stored value or its ``.val`` file, a shape we do not know):
  a miss; the entry is deleted, the first such case is logged, each is counted (``unreadable``);
- the SQLite file is damaged ("file is not a database", "malformed"): it is set aside as
  ``cache.db.damaged-<time>`` and a fresh one is opened (``healed``), unless another process already did;
- the cache cannot be used at all (its directory gone or unwritable): every read is a miss, every write
  is skipped, and ``health`` says why, so ``/readyz`` answers 503 until it can be opened again.

A directory that cannot hold a cache when the service starts is a configuration error, as before.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import TypeVar

import diskcache
from pydantic import TypeAdapter, ValidationError

from service.errors import ConfigError
from service.stores.cache.reply_cache import CachedReply

logger = logging.getLogger("claims.cache")
PICKLED = diskcache.core.MODE_PICKLE
DATABASE = "cache.db"
_READ = TypeAdapter(CachedReply)
T = TypeVar("T")


class PickleRefused(ValueError):
    """A cache row says its value or key is a pickle: this cache never unpickles, so the row cannot be read."""


class TextOnlyDisk(diskcache.Disk):  # type: ignore[misc]  # diskcache is untyped
    """diskcache's ``Disk`` that stores text keys and values only and never unpickles what it reads."""

    def put(self, key: object) -> tuple[object, bool]:
        """Store a key: text only (the cache's keys are hex digests)."""
        if not isinstance(key, str):
            raise TypeError(f"reply cache keys are text, not {type(key).__name__}")
        return super().put(key)  # type: ignore[no-any-return]

    def store(self, value: object, read: bool, key: object = diskcache.core.UNKNOWN) -> tuple[object, ...]:
        """Store a value: text only (a reply's JSON)."""
        if not isinstance(value, str) or read:
            raise TypeError(f"reply cache values are JSON text, not {type(value).__name__}")
        return super().store(value, read, key)  # type: ignore[no-any-return]

    def fetch(self, mode: int, filename: str | None, value: object, read: bool) -> object:
        """Read a stored value; a pickled one is refused, never loaded."""
        if mode == PICKLED:
            raise PickleRefused("the entry is a pickle, which this cache never loads")
        return super().fetch(mode, filename, value, read)

    def get(self, key: object, raw: bool) -> object:
        """Read a stored key; a pickled one is refused, never loaded."""
        if not raw:
            raise PickleRefused("the key is a pickle, which this cache never loads")
        return super().get(key, raw)


class DiskReplyCache:
    """A ``ReplyCache`` on diskcache, bounded in size (least recently stored evicted first), self-healing."""

    def __init__(self, directory: Path, size_limit_mb: int) -> None:
        self._directory = directory
        self._size_limit = size_limit_mb * 1024 * 1024
        self._counts = {"hits": 0, "misses": 0, "writes": 0, "unreadable": 0, "healed": 0, "failures": 0}
        self._reported: set[str] = set()
        self._unavailable: str | None = None
        self._opened_file: tuple[int, int] | None = None
        try:
            self._cache: diskcache.Cache | None = self._open()
        except (OSError, sqlite3.Error) as exc:  # not a directory, not writable, not creatable
            raise ConfigError(f"cache_dir {directory} cannot hold the cache: {exc}") from exc

    def _open(self) -> diskcache.Cache:
        """Open the cache, setting a damaged database file aside first when it is one."""
        try:
            cache = diskcache.Cache(str(self._directory), size_limit=self._size_limit, disk=TextOnlyDisk)
        except sqlite3.DatabaseError as exc:
            if not self._set_aside_if_damaged(exc):
                raise
            cache = diskcache.Cache(str(self._directory), size_limit=self._size_limit, disk=TextOnlyDisk)
        self._opened_file = _identity(self._directory / DATABASE)
        return cache

    async def get(self, key: str) -> CachedReply | None:
        """Return the reply stored under ``key``; anything that cannot be read is a miss."""
        found = self._guarded(lambda cache: self._read(cache, key), None)
        self._counts["hits" if found is not None else "misses"] += 1
        return found

    async def set(self, key: str, reply: CachedReply) -> None:
        """Store ``reply`` under ``key`` as JSON text; a cache that cannot take it skips it."""

        def write(cache: diskcache.Cache) -> bool:
            cache.set(key, _READ.dump_json(reply).decode("utf-8"))
            return True

        if self._guarded(write, False):
            self._counts["writes"] += 1

    def _read(self, cache: diskcache.Cache, key: str) -> CachedReply | None:
        """Read and validate one entry; an entry that cannot be read is deleted and counted."""
        try:
            stored = cache.get(key)
        except (sqlite3.Error, OSError):
            raise
        except Exception as exc:  # a refused pickle, an unreadable file: whatever it raises, it is one bad entry
            self._unreadable(cache, key, f"{type(exc).__name__}: {exc}")
            return None
        if stored is None:
            return None
        try:
            return _READ.validate_json(stored) if isinstance(stored, str | bytes) else _READ.validate_python(stored)
        except ValidationError as exc:
            self._unreadable(cache, key, f"not a cached reply ({exc.error_count()} errors)")
            return None

    def _unreadable(self, cache: diskcache.Cache, key: str, why: str) -> None:
        """Delete an entry that cannot be read, count it, and say so the first time."""
        self._counts["unreadable"] += 1
        self._report("unreadable", "a reply cache entry could not be read (%s); deleted and treated as a miss", why)
        cache.delete(key)

    def _guarded(self, work: Callable[[diskcache.Cache], T], fallback: T) -> T:
        """Run ``work`` on the cache; heal a damaged database, and fall back when the cache cannot be used."""
        for _ in range(2):
            cache = self._usable()
            if cache is None:
                return fallback
            try:
                return work(cache)
            except sqlite3.DatabaseError as exc:
                if not self._heal(exc):
                    return fallback
            except (sqlite3.Error, OSError) as exc:
                self._fail(exc)
                return fallback
        return fallback

    def _usable(self) -> diskcache.Cache | None:
        """Return the open cache, reopening one that could not be used before (its directory may be back)."""
        if self._cache is None:
            try:
                self._cache = self._open()
            except (OSError, sqlite3.Error) as exc:
                self._fail(exc)
                return None
            self._unavailable = None
        return self._cache

    def _heal(self, exc: sqlite3.DatabaseError) -> bool:
        """Set a damaged database aside and open a fresh one; say whether the cache can be used again."""
        self._close_quietly()
        try:
            if self._set_aside_if_damaged(exc):
                self._counts["healed"] += 1
            self._cache = self._open()
        except (OSError, sqlite3.Error) as reopen:
            self._fail(reopen)
            return False
        return True

    def _set_aside_if_damaged(self, exc: sqlite3.DatabaseError) -> bool:
        """Rename the database file aside when it fails SQLite's own check; say whether it did."""
        database = self._directory / DATABASE
        if not database.is_file() or _passes_quick_check(database):
            return False  # another process healed it already, or the error was not damage
        aside = database.with_name(f"{DATABASE}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
        database.rename(aside)
        for suffix in ("-wal", "-shm"):
            database.with_name(DATABASE + suffix).unlink(missing_ok=True)
        self._report(
            "healed", "the reply cache database was damaged (%s); set aside as %s, starting afresh", exc, aside
        )
        return True

    def _fail(self, exc: BaseException) -> None:
        """Remember that the cache cannot be used, and why; count it and say so the first time."""
        self._counts["failures"] += 1
        self._unavailable = f"cache_dir {self._directory} cannot be used: {exc}"
        self._report("unavailable", "%s; extractions go on without the cache", self._unavailable)
        self._close_quietly()

    def _close_quietly(self) -> None:
        """Close the cache's connections, whatever state they are in."""
        if self._cache is not None:
            try:
                self._cache.close()
            except (sqlite3.Error, OSError):
                logger.debug("closing the reply cache failed", exc_info=True)
        self._cache = None

    def _report(self, kind: str, message: str, *args: object) -> None:
        """Log a kind of trouble once per process (it is counted every time)."""
        if kind not in self._reported:
            self._reported.add(kind)
            logger.warning(message, *args)

    async def health(self) -> str | None:
        """Return why the cache cannot be used, or None when it can (checking, reopening and healing it first).

        A database file that is gone or replaced (its directory deleted, say) is reopened: the open
        connection would otherwise go on writing to a file nobody will read again.
        """
        if self._cache is not None and self._opened_file != _identity(self._directory / DATABASE):
            self._close_quietly()
        self._guarded(len, 0)
        return self._unavailable

    async def stats(self) -> dict[str, int]:
        """Return the entry count and bytes on disk, and this process's counts of hits, misses, writes, trouble."""
        entries = self._guarded(len, 0)
        volume = self._guarded(lambda cache: int(cache.volume()), 0)
        return {"entries": entries, "bytes": volume, **self._counts}

    async def close(self) -> None:
        """Close the underlying SQLite connections."""
        self._close_quietly()


def _identity(path: Path) -> tuple[int, int] | None:
    """Return a file's device and inode, or None when it is not there."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _passes_quick_check(database: Path) -> bool:
    """Say whether SQLite finds the database file sound (a fresh connection, read only)."""
    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
            return bool(connection.execute("PRAGMA quick_check").fetchone() == ("ok",))
    except sqlite3.DatabaseError:
        return False
