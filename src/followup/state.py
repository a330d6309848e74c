"""The SQLite state store: what each destination has received, task by task.

One row per (exporter, target, key). Schema changes are named migrations, applied in
order and recorded in `migrations`, so an old database is upgraded, never discarded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from followup.config import private_dir
from followup.errors import ExportFailed
from followup.exporter import Action, Change, RemoteRef
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


def _create_in_flight(db: sqlite3.Connection) -> None:
    # A write sent but not yet confirmed: the next run asks the destination whether it landed.
    db.execute(
        """CREATE TABLE in_flight (
            exporter TEXT NOT NULL,
            target TEXT NOT NULL,
            key TEXT NOT NULL,
            action TEXT NOT NULL,
            task TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            PRIMARY KEY (exporter, target, key)
        )"""
    )


MIGRATIONS: tuple[tuple[str, Callable[[sqlite3.Connection], None]], ...] = (
    ("0001-create-synced", _create_synced),
    ("0002-task-and-extra", _add_task_and_extra),
    ("0003-index-by-record", _index_by_record),
    ("0004-in-flight", _create_in_flight),
)

MIGRATIONS_TABLE = "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
LOCK_TIMEOUT_SECONDS = 120.0  # FOLLOWUP_LOCK_TIMEOUT overrides: how long a second run waits


@dataclass(frozen=True, slots=True)
class StateRow:
    key: str
    record: str
    remote: RemoteRef
    task: Task | None


@dataclass(frozen=True, slots=True)
class InFlight:
    """A write that was sent and never confirmed: it may or may not have landed."""

    action: Action
    task: Task


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class StateStore:
    """The state database at `path` (created 0600 in a 0700 folder)."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        """`read_only` works on an in-memory copy: a dry run leaves no trace on disk."""
        self.path = path
        self.notices: list[str] = []
        self._writing: set[str] = set()  # destinations whose lock this store already holds
        if path.exists() and path.stat().st_size == 0:
            # Never silently "fresh": every remote id it held is gone, so say so.
            self.notices.append(
                f"the state database {path} was empty (0 bytes): followup starts it afresh"
                " and adopts, by key, what each destination that can be asked already holds"
            )
        try:
            if read_only:
                self.db = sqlite3.connect(":memory:", isolation_level=None)
                if path.exists():
                    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as source:
                        self._refuse_newer(source)
                        source.backup(self.db)
            else:
                private_dir(path.parent)
                if not path.exists():
                    _create(path)
                self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
                try:
                    self._refuse_newer(self.db)
                except ExportFailed:
                    self.db.close()
                    raise
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
            self.migrate()
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise StateDamaged(path, error) from None
            raise ExportFailed(
                f"the state database {path} is busy (another followup run is using it);"
                " run again when it has finished"
            ) from None
        except sqlite3.DatabaseError as error:
            raise StateDamaged(path, error) from None

    def _refuse_newer(self, db: sqlite3.Connection) -> None:
        """A database a newer followup wrote is refused before anything is written to it."""
        has_table = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'"
        ).fetchone()
        if not has_table:
            return
        known = {name for name, _ in MIGRATIONS}
        unknown = sorted(
            name for (name,) in db.execute("SELECT name FROM migrations") if name not in known
        )
        if unknown:
            raise ExportFailed(
                f"the state database {self.path} was written by a newer followup (it has"
                f" migration {unknown[-1]!r}); it was left untouched — upgrade followup"
                " (pip install -U interview-followup) and run again"
            )

    def close(self) -> None:
        self.db.close()

    def migrate(self) -> list[str]:
        """Apply the migrations this database has not seen; returns their names."""
        self.db.execute(MIGRATIONS_TABLE)
        applied = []
        for name, step in MIGRATIONS:
            # Checked inside the write transaction: two runs may open a new database at once.
            with self.transaction():
                done = self.db.execute("SELECT 1 FROM migrations WHERE name = ?", (name,))
                if done.fetchone():
                    continue
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

    def rows(
        self,
        exporter: str,
        target: str,
        records: set[str] | None = None,
        written: Mapping[str, Task] | None = None,
    ) -> list[StateRow]:
        """Every row of a destination, or only those of the given records. `written`: tasks
        this process has just recorded, by key, taken as they are instead of decoded again."""
        query = (
            "SELECT key, record, remote_id, content_hash, sequence, status, created_at,"
            " updated_at, task, extra FROM synced WHERE exporter = ? AND target = ?"
        )
        parameters: list[str] = [exporter, target]
        if records is not None:
            query += f" AND record IN ({', '.join('?' * len(records))})"
            parameters.extend(sorted(records))
        found = self.db.execute(query + " ORDER BY key", parameters)
        return [_to_state_row(row, written or {}) for row in found]

    def digest(self, exporter: str, target: str) -> str:
        """A digest of every row of a destination: equal digests, equal rows."""
        # Joined by SQLite: one string to hash, not ten thousand rows to build in Python.
        # Should it ever not keep the inner order, digests merely differ (never falsely agree).
        query = (
            "SELECT group_concat(line, char(10)) FROM (SELECT json_array(key, record,"
            " remote_id, content_hash, sequence, status, created_at, updated_at, extra) AS line"
            " FROM synced WHERE exporter = ? AND target = ? ORDER BY key)"
        )
        (text,) = self.db.execute(query, (exporter, target)).fetchone()
        return hashlib.sha256((text or "").encode()).hexdigest()

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
        content_hash: str | None = None,
    ) -> None:
        """Remember that `task` now stands at the destination as `remote_id`.

        `content_hash` overrides the task's own when what stands there is not known to
        match it ("" makes the next run update it).
        """
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
                task.content_hash if content_hash is None else content_hash,
                task.status,
                stamp,
                stamp,
                task.canonical_json,
                json.dumps(extra or {}),
                int(bump_sequence),
            ),
        )

    def mark_in_flight(self, exporter: str, target: str, changes: Sequence[Change]) -> None:
        """Before a batch is sent: remember each write, so a run that dies is reconciled."""
        stamp = utcnow().isoformat()
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO in_flight VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        exporter,
                        target,
                        change.task.key,
                        change.action,
                        json.dumps(change.task.to_json(), ensure_ascii=False),
                        stamp,
                    )
                    for change in changes
                ],
            )

    def in_flight(self, exporter: str, target: str) -> list[InFlight]:
        query = "SELECT action, task FROM in_flight WHERE exporter = ? AND target = ? ORDER BY key"
        return [
            InFlight(action, Task.from_json(json.loads(task)))
            for action, task in self.db.execute(query, (exporter, target))
        ]

    def settle(self, exporter: str, target: str, keys: Iterable[str]) -> None:
        """These writes' outcomes are known now (recorded, or known not to have landed)."""
        self.db.executemany(
            "DELETE FROM in_flight WHERE exporter = ? AND target = ? AND key = ?",
            [(exporter, target, key) for key in keys],
        )

    def annotate(self, exporter: str, target: str, key: str, extra: dict[str, object]) -> None:
        """Merge `extra` into a row's notes, leaving what was written untouched."""
        self.db.execute(
            "UPDATE synced SET extra = json_patch(extra, ?)"
            " WHERE exporter = ? AND target = ? AND key = ?",
            (json.dumps(extra), exporter, target, key),
        )

    def has_rows(self, exporter: str, target: str) -> bool:
        """Whether this destination has ever received anything according to this store."""
        query = "SELECT 1 FROM synced WHERE exporter = ? AND target = ? LIMIT 1"
        return self.db.execute(query, (exporter, target)).fetchone() is not None

    @contextmanager
    def writer(self, exporter: str, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """One writer per destination: a second run waits (saying so), then gives up.
        Re-entrant, so a command may hold it from before the exporter resolves its target."""
        if exporter in self._writing:
            yield
            return
        lock_path = private_dir(self.path.parent / "locks") / f"{exporter}.lock"
        timeout = float(os.environ.get("FOLLOWUP_LOCK_TIMEOUT", LOCK_TIMEOUT_SECONDS))
        with open(lock_path, "a+b") as handle:
            if not _try_lock(handle):
                if on_wait:
                    on_wait(f"{exporter}: another followup run is writing there; waiting for it")
                deadline = time.monotonic() + timeout
                while not _try_lock(handle):
                    if time.monotonic() >= deadline:
                        raise ExportFailed(
                            f"{exporter}: another followup run has been writing there for over"
                            f" {timeout:.0f} s; run again when it has finished"
                        )
                    time.sleep(0.2)
            self._writing.add(exporter)
            try:
                yield
            finally:
                self._writing.discard(exporter)
                _unlock(handle)


def _create(path: Path) -> None:
    """A new database appears whole (0600, in WAL mode) or not at all: two runs starting at
    once never meet a half-made one, and an empty file always means damage."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.new")
    os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        with closing(sqlite3.connect(temporary, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(MIGRATIONS_TABLE)
        with contextlib.suppress(FileExistsError):  # another run made it first: keep that one
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


class StateDamaged(ExportFailed):
    """The state database cannot be read: name it, keep it, say what to do."""

    def __init__(self, path: Path, error: sqlite3.DatabaseError) -> None:
        super().__init__(
            f"the state database {path} is damaged ({error}); it was left as it is."
            f" Keep a copy (cp '{path}' '{path}.damaged'), then remove it and run again:"
            " followup adopts, by key, what each destination that can be asked already holds"
        )


def _try_lock(handle: Any) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(handle: Any) -> None:
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _to_state_row(row: tuple, written: Mapping[str, Task]) -> StateRow:
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
    if key in written:
        return StateRow(key, record, remote, written[key])
    return StateRow(key, record, remote, Task.from_json(json.loads(task)) if task else None)
