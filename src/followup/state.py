"""The SQLite state store: what each destination has received, task by task.

One row per (exporter, target, key). Schema changes are named migrations, applied in
order and recorded in `migrations`, so an old database is upgraded, never discarded.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from followup.config import private_dir
from followup.exporter import RemoteRef
from followup.tasks import Task


def _create_synced(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE synced (
            exporter TEXT NOT NULL,
            target TEXT NOT NULL,
            key TEXT NOT NULL,
            record TEXT NOT NULL,
            remote_id TEXT,
            content_hash TEXT NOT NULL,
            sequence INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (exporter, target, key)
        )"""
    )


def _add_task_and_extra(db: sqlite3.Connection) -> None:
    # Whole-file exporters re-render cancelled tasks the plan no longer contains.
    db.execute("ALTER TABLE synced ADD COLUMN task TEXT")
    db.execute("ALTER TABLE synced ADD COLUMN extra TEXT NOT NULL DEFAULT '{}'")


def _index_by_record(db: sqlite3.Connection) -> None:
    db.execute("CREATE INDEX synced_by_record ON synced (exporter, target, record)")


MIGRATIONS: tuple[tuple[str, Callable[[sqlite3.Connection], None]], ...] = (
    ("0001-create-synced", _create_synced),
    ("0002-task-and-extra", _add_task_and_extra),
    ("0003-index-by-record", _index_by_record),
)


@dataclass(frozen=True, slots=True)
class StateRow:
    key: str
    record: str
    remote: RemoteRef
    task: Task | None


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class StateStore:
    """The state database at `path` (created 0600 in a 0700 folder)."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        """`read_only` works on an in-memory copy: a dry run leaves no trace on disk."""
        self.path = path
        if read_only:
            self.db = sqlite3.connect(":memory:", isolation_level=None)
            if path.exists():
                with sqlite3.connect(path) as source:
                    source.backup(self.db)
        else:
            private_dir(path.parent)
            if not path.exists():
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
        self.migrate()

    def close(self) -> None:
        self.db.close()

    def migrate(self) -> list[str]:
        """Apply the migrations this database has not seen; returns their names."""
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
        )
        done = {name for (name,) in self.db.execute("SELECT name FROM migrations")}
        applied = []
        for name, step in MIGRATIONS:
            if name in done:
                continue
            with self.transaction():
                step(self.db)
                self.db.execute(
                    "INSERT INTO migrations VALUES (?, ?)", (name, utcnow().isoformat())
                )
            applied.append(name)
        return applied

    def applied_migrations(self) -> list[str]:
        return [name for (name,) in self.db.execute("SELECT name FROM migrations ORDER BY name")]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def rows(self, exporter: str, target: str, records: set[str] | None = None) -> list[StateRow]:
        """Every row of a destination, or only those of the given records."""
        query = (
            "SELECT key, record, remote_id, content_hash, sequence, status, created_at,"
            " updated_at, task, extra FROM synced WHERE exporter = ? AND target = ?"
        )
        parameters: list[str] = [exporter, target]
        if records is not None:
            query += f" AND record IN ({', '.join('?' * len(records))})"
            parameters.extend(sorted(records))
        return [_to_state_row(row) for row in self.db.execute(query + " ORDER BY key", parameters)]

    def record(
        self,
        exporter: str,
        target: str,
        task: Task,
        remote_id: str | None,
        *,
        bump_sequence: bool,
        extra: dict[str, object] | None = None,
        now: datetime | None = None,
    ) -> None:
        """Remember that `task` now stands at the destination as `remote_id`."""
        stamp = (now or utcnow()).isoformat()
        # One statement, so each success costs a single commit even in a 10,000-task feed.
        self.db.execute(
            "INSERT INTO synced (exporter, target, key, record, remote_id, content_hash,"
            " sequence, status, created_at, updated_at, task, extra)"
            " VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)"
            " ON CONFLICT (exporter, target, key) DO UPDATE SET"
            " record = excluded.record, remote_id = excluded.remote_id,"
            " content_hash = excluded.content_hash, sequence = sequence + ?,"
            " status = excluded.status, updated_at = excluded.updated_at,"
            " task = excluded.task, extra = json_patch(extra, excluded.extra)",
            (
                exporter,
                target,
                task.key,
                task.record,
                remote_id,
                task.content_hash,
                task.status,
                stamp,
                stamp,
                json.dumps(task.to_json(), ensure_ascii=False),
                json.dumps(extra or {}),
                int(bump_sequence),
            ),
        )


def _to_state_row(row: tuple) -> StateRow:
    key, record, remote_id, content_hash, sequence, status, created, updated, task, extra = row
    remote = RemoteRef(
        remote_id=remote_id,
        content_hash=content_hash,
        sequence=sequence,
        status=status,
        created_at=datetime.fromisoformat(created),
        updated_at=datetime.fromisoformat(updated),
        extra=json.loads(extra),
    )
    return StateRow(key, record, remote, Task.from_json(json.loads(task)) if task else None)
