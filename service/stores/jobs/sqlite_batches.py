"""The SQL of batch-mode jobs in the embedded backend: a job's provider batch, its lease, and its answers.

Every function takes the store's connection, on the store's thread; writes run inside the caller's
``BEGIN IMMEDIATE`` transaction, so two processes never hold one batch at once.
"""

from __future__ import annotations

import sqlite3

from service.stores.jobs.batch_store import BatchRecord

BATCH_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    job_id TEXT PRIMARY KEY, model TEXT NOT NULL, state TEXT NOT NULL, input_file_id TEXT,
    provider_batch_id TEXT, requests INTEGER NOT NULL DEFAULT 0, answered INTEGER NOT NULL DEFAULT 0,
    polls INTEGER NOT NULL DEFAULT 0, detail TEXT, owner TEXT, lease_until REAL, next_at REAL NOT NULL DEFAULT 0,
    repairs TEXT NOT NULL DEFAULT 'batch', follow_ups INTEGER NOT NULL DEFAULT 0,
    earlier_batch_ids TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS batch_answers (
    job_id TEXT NOT NULL, custom_id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (job_id, custom_id)
);
CREATE TABLE IF NOT EXISTS batch_sent (
    job_id TEXT NOT NULL, custom_id TEXT NOT NULL, PRIMARY KEY (job_id, custom_id)
) WITHOUT ROWID;
"""
ADDED_COLUMNS = {  # columns a batches table made before follow-up batches lacks
    "repairs": "TEXT NOT NULL DEFAULT 'batch'",
    "follow_ups": "INTEGER NOT NULL DEFAULT 0",
    "earlier_batch_ids": "TEXT NOT NULL DEFAULT ''",
}
PURGE_BATCHES = (
    "DELETE FROM batch_answers WHERE job_id = ?",
    "DELETE FROM batch_sent WHERE job_id = ?",
    "DELETE FROM batches WHERE job_id = ?",
)
DUE = (
    "SELECT b.*, j.state AS job_state FROM batches b JOIN jobs j ON j.id = b.job_id "
    "WHERE b.state IN ('pending', 'uploaded', 'submitted') AND (b.owner IS NULL OR b.lease_until < :now) "
    "AND (b.next_at <= :now OR j.state = 'cancelled') ORDER BY b.next_at LIMIT 1"
)


def add_batch_columns(connection: sqlite3.Connection) -> None:
    """Add to a batches table made before follow-up batches the columns it lacks."""
    columns = {row[1] for row in connection.execute("PRAGMA table_info(batches)")}
    for name, declaration in ADDED_COLUMNS.items():
        if name in columns:
            continue
        try:
            connection.execute(f"ALTER TABLE batches ADD COLUMN {name} {declaration}")
        except sqlite3.OperationalError as exc:  # another process starting on it added it first
            if "duplicate column" not in str(exc):
                raise


def insert_batch(connection: sqlite3.Connection, job_id: str, model: str, repairs: str = "batch") -> None:
    """Store a new batch-mode job's batch, pending (its articles are held until it is back)."""
    connection.execute(
        "INSERT INTO batches (job_id, model, state, repairs) VALUES (?, ?, 'pending', ?)", (job_id, model, repairs)
    )


def batch_record(row: sqlite3.Row, owner: str = "", job_cancelled: bool = False) -> BatchRecord:
    """Read a batches row as a record."""
    return BatchRecord(
        job_id=row["job_id"], model=row["model"], state=row["state"], input_file_id=row["input_file_id"],
        provider_batch_id=row["provider_batch_id"], requests=row["requests"], answered=row["answered"],
        polls=row["polls"], detail=row["detail"], owner=owner, job_cancelled=job_cancelled, repairs=row["repairs"],
        follow_ups=row["follow_ups"], earlier_batch_ids=tuple(row["earlier_batch_ids"].split()),
    )  # fmt: skip


def claim_due_batch(connection: sqlite3.Connection, owner: str, now: float, lease_s: float) -> BatchRecord | None:
    """Take the batch due first for ``owner`` until ``now + lease_s`` (in the caller's transaction)."""
    row = connection.execute(DUE, {"now": now}).fetchone()
    if row is None:
        return None
    connection.execute(
        "UPDATE batches SET owner = ?, lease_until = ? WHERE job_id = ?", (owner, now + lease_s, row["job_id"])
    )
    return batch_record(row, owner, job_cancelled=row["job_state"] == "cancelled")


def renew_held_batch(connection: sqlite3.Connection, record: BatchRecord, until: float) -> bool:
    """Extend a held batch's lease to ``until``; False when ``record.owner`` lost it."""
    cursor = connection.execute(
        "UPDATE batches SET lease_until = ? WHERE job_id = ? AND owner = ?", (until, record.job_id, record.owner)
    )
    return cursor.rowcount == 1


def save_held_batch(connection: sqlite3.Connection, record: BatchRecord, next_at: float) -> bool:
    """Write a held batch's progress and free it until ``next_at``; False when ``record.owner`` lost it."""
    cursor = connection.execute(
        "UPDATE batches SET state = ?, input_file_id = ?, provider_batch_id = ?, requests = ?, answered = ?, "
        "polls = ?, detail = ?, follow_ups = ?, earlier_batch_ids = ?, owner = NULL, lease_until = NULL, "
        "next_at = ? WHERE job_id = ? AND owner = ?",
        (record.state, record.input_file_id, record.provider_batch_id, record.requests, record.answered,
         record.polls, record.detail, record.follow_ups, " ".join(record.earlier_batch_ids), next_at, record.job_id,
         record.owner),
    )  # fmt: skip
    return cursor.rowcount == 1


def store_answers(connection: sqlite3.Connection, job_id: str, answers: dict[str, str]) -> None:
    """Store a batch's answers by custom_id (a repeated one keeps the first)."""
    connection.executemany(
        "INSERT OR IGNORE INTO batch_answers (job_id, custom_id, body) VALUES (?, ?, ?)",
        ((job_id, custom_id, body) for custom_id, body in answers.items()),
    )


def store_sent(connection: sqlite3.Connection, job_id: str, custom_ids: list[str]) -> None:
    """Record the custom_ids of the batch just uploaded, in place of those of the batch before."""
    connection.execute("DELETE FROM batch_sent WHERE job_id = ?", (job_id,))
    connection.executemany(
        "INSERT OR IGNORE INTO batch_sent (job_id, custom_id) VALUES (?, ?)", ((job_id, c) for c in custom_ids)
    )


def sent_ids(connection: sqlite3.Connection, job_id: str) -> set[str]:
    """Return the custom_ids recorded for the job's batch now out."""
    rows = connection.execute("SELECT custom_id FROM batch_sent WHERE job_id = ?", (job_id,))
    return {str(row[0]) for row in rows}


def stored_answer(connection: sqlite3.Connection, job_id: str, custom_id: str) -> str | None:
    """Return one stored answer, or None."""
    row = connection.execute(
        "SELECT body FROM batch_answers WHERE job_id = ? AND custom_id = ?", (job_id, custom_id)
    ).fetchone()
    return None if row is None else str(row["body"])


def job_batch(connection: sqlite3.Connection, job_id: str) -> BatchRecord | None:
    """Return a job's batch, or None for a realtime job."""
    row = connection.execute("SELECT * FROM batches WHERE job_id = ?", (job_id,)).fetchone()
    return None if row is None else batch_record(row)
