"""The state store: private files, WAL, and named migrations that upgrade old databases."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, date, datetime
from pathlib import Path

from followup.state import MIGRATIONS, StateStore
from followup.tasks import Task


def a_task(title: str = "Send a thank-you note") -> Task:
    return Task(
        key="acme/thank-you/jane-doe",
        record="acme",
        rule="thank-you",
        title=title,
        kind="email",
        start=date(2026, 11, 21),
        due=date(2026, 11, 21),
        duration_minutes=30,
        priority=1,
        labels=("thank-you",),
        people=("Jane Doe",),
        channel="email",
        body="Dear Jane",
        application="Acme — Engineer",
    )


def test_files_are_private_and_in_wal_mode(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state" / "state.db")
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "state" / "state.db").stat().st_mode) == 0o600
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.applied_migrations() == [name for name, _ in MIGRATIONS]


def test_a_database_of_the_first_schema_is_upgraded_not_discarded(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    first_name, first_step = MIGRATIONS[0]
    first_step(old)
    old.execute("INSERT INTO migrations VALUES (?, '2026-01-01T00:00:00+00:00')", (first_name,))
    old.execute(
        "INSERT INTO synced VALUES ('ics', 'out', 'acme/thank-you/jane-doe', 'acme', 'uid-1',"
        " 'abc', 2, 'planned', '2026-11-20T20:00:00+00:00', '2026-11-21T20:00:00+00:00')"
    )
    old.commit()
    old.close()

    store = StateStore(path)
    assert store.applied_migrations() == [name for name, _ in MIGRATIONS]
    [row] = store.rows("ics", "out")
    assert (row.remote.remote_id, row.remote.sequence, row.task) == ("uid-1", 2, None)
    assert row.remote.updated_at == datetime(2026, 11, 21, 20, tzinfo=UTC)

    store.record("ics", "out", a_task(), "uid-1", bump_sequence=True)
    [row] = store.rows("ics", "out")
    assert row.remote.sequence == 3 and row.task == a_task()
    assert store.migrate() == []  # nothing left to apply


def test_recording_bumps_the_sequence_only_when_asked(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    store.record("x", "t", a_task(), "r1", bump_sequence=False)
    store.record("x", "t", a_task("Edited"), "r1", bump_sequence=True, extra={"section": "s1"})
    [row] = store.rows("x", "t")
    assert row.remote.sequence == 1 and row.task and row.task.title == "Edited"
    assert row.remote.extra == {"section": "s1"}
    assert store.rows("x", "t", records={"other"}) == []


def test_a_read_only_store_never_touches_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    assert StateStore(path, read_only=True).rows("x", "t") == []
    assert not path.exists()
    StateStore(path).record("x", "t", a_task(), "r1", bump_sequence=False)
    copy = StateStore(path, read_only=True)
    copy.record("x", "t", a_task("Changed"), "r1", bump_sequence=True)
    assert [row.remote.sequence for row in copy.rows("x", "t")] == [1]
    [row] = StateStore(path).rows("x", "t")
    assert row.remote.sequence == 0 and row.task == a_task()


def test_the_sample_settings_file_loads_with_its_folder_and_destinations() -> None:
    from followup.config import load_settings

    settings = load_settings(Path(__file__).parent.parent / "samples" / "config.toml")
    assert settings.folder is not None and settings.folder.name == "job-search"
    assert settings.destinations == ("ics",)
    assert settings.offsets == {} and settings.country == "US"
    assert set(settings.exporters) == {"ics", "todoist", "google", "caldav", "feed"}
