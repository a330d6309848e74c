"""A damaged, empty or newer state database, and two runs at once: one clear message each,
the original kept, nothing silently forgotten, and never two writers to one destination."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from backends.memory import MemoryBackend
from test_contract import NOW, SETTINGS, onsite

from followup.errors import ExportFailed
from followup.planner import plan_record
from followup.state import StateStore
from followup.sync import sync

SAMPLE = Path(__file__).parent.parent / "samples" / "onsite-acme.yaml"


def followup(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "followup.cli", "--now", "2026-11-20T19:00:00-05:00", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def state_db(home: Path) -> Path:
    return home / "state" / "state.db"


def test_a_damaged_database_is_named_kept_and_explained(
    followup_home: Path, tmp_path: Path
) -> None:
    database = state_db(followup_home)
    database.parent.mkdir(parents=True)
    garbage = b"this is not an SQLite database at all\n" * 200
    database.write_bytes(garbage)
    result = followup("export", str(SAMPLE), "--to", "ics", "-o", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert str(database) in line and "damaged" in line and "run again" in line
    assert database.read_bytes() == garbage
    assert not (tmp_path / "out").exists()


def test_a_database_from_a_newer_version_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    StateStore(path).close()
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO migrations VALUES ('9999-from-the-future', '2030-01-01')")
    before = path.read_bytes()
    for read_only in (False, True):
        with pytest.raises(ExportFailed, match="newer followup") as raised:
            StateStore(path, read_only=read_only)
        assert str(path) in str(raised.value)
    assert path.read_bytes() == before


def test_an_empty_database_is_never_silently_fresh(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"")
    store = StateStore(path)
    assert any("empty (0 bytes)" in notice for notice in store.notices)
    record = onsite()
    backend = MemoryBackend(tmp_path)
    report = sync(plan_record(record, SETTINGS, NOW), {record.id}, backend.make_exporter(), store)
    assert any("empty (0 bytes)" in notice for notice in report.notices)
    store.close()


def test_a_lost_database_adopts_by_key_and_says_so(tmp_path: Path) -> None:
    record = onsite()
    tasks = plan_record(record, SETTINGS, NOW)
    backend = MemoryBackend(tmp_path)
    first = StateStore(tmp_path / "a" / "state.db")
    sync(tasks, {record.id}, backend.make_exporter(), first)
    writes = backend.write_requests()

    second = StateStore(tmp_path / "b" / "state.db")  # another computer, or the file was lost
    report = sync(tasks, {record.id}, backend.make_exporter(), second)
    assert backend.write_requests() == writes, "adopted items need no write"
    assert report.unchanged == len(tasks) and report.created == 0
    assert any("adopted 11 item(s)" in notice for notice in report.notices)


def test_a_second_writer_waits_then_gives_up_saying_why(
    followup_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = StateStore(state_db(followup_home))
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with store.writer("ics"):
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    try:
        env = {**os.environ, "FOLLOWUP_LOCK_TIMEOUT": "1"}
        result = followup("export", str(SAMPLE), "--to", "ics", "-o", str(tmp_path), env=env)
    finally:
        release.set()
        holder.join()
        store.close()
    assert result.returncode == 1
    assert "another followup run is writing there; waiting" in result.stderr + result.stdout
    assert "run again when it has finished" in result.stderr
    assert not list(tmp_path.glob("*.ics"))


def test_two_runs_at_once_never_interleave(tmp_path: Path) -> None:
    record = onsite()
    tasks = plan_record(record, SETTINGS, NOW)
    backend = MemoryBackend(tmp_path)
    errors: list[BaseException] = []

    def slow_write(original: Callable[[], None] = backend.remote.write) -> None:
        original()
        time.sleep(0.005)  # a network round trip: lets another run in between

    backend.remote.write = slow_write  # type: ignore[method-assign]

    def run() -> None:
        try:
            store = StateStore(tmp_path / "state.db")
            try:
                sync(tasks, {record.id}, backend.make_exporter(), store)
            finally:
                store.close()
        except BaseException as error:  # reported below, with the thread's own traceback lost
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert backend.live_count() == len(tasks)


def test_a_damaged_secrets_file_is_named_and_kept(followup_home: Path) -> None:
    secrets = followup_home / "config" / "secrets.json"
    secrets.parent.mkdir(parents=True)
    secrets.write_text('{"todoist": "tok', encoding="utf-8")
    env = {**os.environ, "TODOIST_API_TOKEN": ""}
    env.pop("TODOIST_API_TOKEN")
    result = followup("export", str(SAMPLE), "--to", "todoist", "--dry-run", env=env)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    assert str(secrets) in result.stderr and "damaged" in result.stderr
    assert secrets.read_text(encoding="utf-8") == '{"todoist": "tok'


def test_a_database_with_damaged_pages_is_named_and_kept(
    followup_home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    followup("export", str(SAMPLE), "--to", "ics", "-o", str(out))
    database = state_db(followup_home)
    import sqlite3

    with closing(sqlite3.connect(database)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    damaged = bytearray(database.read_bytes())
    for offset in range(4096 * 2, len(damaged), 4096):
        damaged[offset : offset + 100] = b"\xff" * 100
    database.write_bytes(bytes(damaged))
    result = followup("export", str(SAMPLE), "--to", "ics", "-o", str(out))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert str(database) in result.stderr and "damaged" in result.stderr
    assert database.read_bytes() == bytes(damaged)


def test_sync_takes_the_lock_before_the_destination_is_resolved(
    followup_home: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from followup.cli import cli

    CliRunner().invoke(
        cli,
        [
            "init",
            "--name",
            "A",
            "--timezone",
            "UTC",
            "--folder",
            str(folder),
            "--destination",
            "ics",
        ],
    )
    store = StateStore(state_db(followup_home))
    resolved: list[str] = []
    import followup_ics

    monkeypatch.setattr(
        followup_ics.IcsExporter,
        "target",
        property(lambda self: resolved.append("target") or "calendar"),
    )
    monkeypatch.setenv("FOLLOWUP_LOCK_TIMEOUT", "0.5")
    with store.writer("ics"):
        result = CliRunner().invoke(cli, ["--now", "2026-11-20T19:00:00-05:00", "sync"])
    store.close()
    assert result.exit_code == 1
    assert "another followup run is writing there; waiting" in result.output
    assert resolved == [], "the target was resolved without the lock"


def test_runs_opening_a_new_database_at_once_all_get_it_whole(tmp_path: Path) -> None:
    problems: list[str] = []

    def open_and_close(path: Path) -> None:
        try:
            store = StateStore(path)
            problems.extend(store.notices)  # a database made a moment ago is not "empty"
            store.close()
        except BaseException as error:
            problems.append(repr(error))

    for trial in range(100):
        path = tmp_path / f"t{trial}" / "state.db"
        threads = [threading.Thread(target=open_and_close, args=(path,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert problems == []
