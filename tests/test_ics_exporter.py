"""The ics exporter: one file per record, stable bytes, UIDs and SEQUENCE through edits."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from backends.ics import IcsBackend
from followup_ics import IcsExporter
from interop import make_task, read_icalendar, strict_problems, unfolded_lines

from followup.errors import ExportFailed, UserError
from followup.exporter import Change, ExportContext, RemoteRef, SyncedTask
from followup.plugins import load_exporter
from followup.state import StateStore
from followup.sync import Report, sync
from followup.tasks import Task

NEW_YORK = ZoneInfo("America/New_York")


def plan() -> list[Task]:
    return [
        make_task("acme/thank-you/jane-doe", datetime(2026, 11, 20, 16, 0, tzinfo=NEW_YORK)),
        make_task("acme/references", date(2026, 11, 24), title="Prepare references"),
        make_task(
            "acme/check-in", datetime(2026, 12, 4, 10, 0, tzinfo=NEW_YORK), title="Call Jane"
        ),
        make_task("globex/thank-you/ann-lee", datetime(2026, 12, 1, 9, 0, tzinfo=NEW_YORK)),
    ]


@pytest.fixture
def backend(tmp_path: Path) -> IcsBackend:
    return IcsBackend(tmp_path)


def export(backend: IcsBackend, store: StateStore, tasks: list[Task]) -> Report:
    return sync(tasks, {task.record for task in tasks}, backend.make_exporter(), store)


def component_lines(path: Path, key: str) -> list[str]:
    lines = unfolded_lines(path.read_bytes())
    begin = lines.index(f"UID:{key}@followup") - 1
    return lines[begin : lines.index("END:VEVENT", begin)]


def test_writes_one_strict_file_per_record(backend: IcsBackend, store: StateStore) -> None:
    assert export(backend, store, plan()).ok
    files = sorted(path.name for path in backend.output_dir.iterdir())
    assert files == ["acme.ics", "globex.ics"]
    data = (backend.output_dir / "acme.ics").read_bytes()
    assert strict_problems(data) == []
    assert {item.uid for item in read_icalendar(data)} == {
        "acme/thank-you/jane-doe@followup",
        "acme/references@followup",
        "acme/check-in@followup",
    }
    assert "X-WR-CALNAME:Acme Corp — Senior Backend Engineer" in unfolded_lines(data)
    assert set(backend.remote_items()) == {task.key for task in plan()}


def test_unchanged_rerun_writes_nothing_and_keeps_bytes(
    backend: IcsBackend, store: StateStore
) -> None:
    export(backend, store, plan())
    assert backend.write_requests() == 2
    before = (backend.output_dir / "acme.ics").read_bytes()
    export(backend, store, plan())
    assert backend.write_requests() == 2
    assert (backend.output_dir / "acme.ics").read_bytes() == before


def test_edit_keeps_uid_and_raises_sequence(backend: IcsBackend, store: StateStore) -> None:
    export(backend, store, plan())
    edited = [
        dataclasses.replace(task, title="Call Jane, second try")
        if task.key == "acme/check-in"
        else task
        for task in plan()
    ]
    export(backend, store, edited)
    assert backend.write_requests() == 3  # acme.ics again; globex.ics untouched
    lines = component_lines(backend.output_dir / "acme.ics", "acme/check-in")
    assert "SEQUENCE:1" in lines
    assert "SUMMARY:Call Jane\\, second try" in lines
    assert "SEQUENCE:0" in component_lines(backend.output_dir / "acme.ics", "acme/references")


def test_cancelled_and_dropped_tasks_stay_cancelled(backend: IcsBackend, store: StateStore) -> None:
    export(backend, store, plan())
    tasks = [task.cancelled() if task.key == "acme/check-in" else task for task in plan()]
    tasks = [task for task in tasks if task.key != "acme/references"]  # no longer planned
    export(backend, store, tasks)
    path = backend.output_dir / "acme.ics"
    for key in ("acme/check-in", "acme/references"):
        lines = component_lines(path, key)
        assert "STATUS:CANCELLED" in lines and "SEQUENCE:1" in lines
        assert "BEGIN:VALARM" not in lines
    assert set(backend.remote_items()) == {"acme/thank-you/jane-doe", "globex/thank-you/ann-lee"}


def test_stamps_come_from_the_state_store(tmp_path: Path) -> None:
    created = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
    updated = created + timedelta(days=3, hours=2)
    task = plan()[0]
    remote = RemoteRef(
        "acme/thank-you/jane-doe@followup", task.content_hash, 4, "planned", created, updated
    )
    exporter = IcsExporter({"output_dir": str(tmp_path)}, ExportContext(state_dir=tmp_path))
    exporter.publish([SyncedTask(task, remote)])
    lines = component_lines(tmp_path / "acme.ics", task.key)
    assert {
        "DTSTAMP:20261004T100000Z",
        "LAST-MODIFIED:20261004T100000Z",
        "CREATED:20261001T080000Z",
        "SEQUENCE:4",
    } <= set(lines)


def test_todo_component(tmp_path: Path) -> None:
    exporter = IcsExporter(
        {"output_dir": str(tmp_path), "component": "todo"}, ExportContext(state_dir=tmp_path)
    )
    stamp = datetime(2026, 10, 1, tzinfo=UTC)
    exporter.publish(
        SyncedTask(task, RemoteRef(None, "", 0, "planned", stamp, stamp)) for task in plan()
    )
    lines = unfolded_lines((tmp_path / "acme.ics").read_bytes())
    assert lines.count("BEGIN:VTODO") == 3 and "BEGIN:VEVENT" not in lines
    assert "STATUS:NEEDS-ACTION" in lines


def test_apply_reports_uids_and_describe_names_the_file(tmp_path: Path) -> None:
    exporter = IcsExporter({"output_dir": str(tmp_path / "out")}, ExportContext(state_dir=tmp_path))
    changes = [Change("create", task) for task in plan()]
    outcomes = list(exporter.apply(changes))
    assert [outcome.remote_id for outcome in outcomes] == [
        f"{task.key}@followup" for task in plan()
    ]
    assert not (tmp_path / "out").exists()  # files are written by publish only
    assert exporter.describe(changes[0]) == "create acme/thank-you/jane-doe in acme.ics"
    assert exporter.target == str((tmp_path / "out").resolve())


def test_bad_component_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--as"):
        IcsExporter({"component": "journal"}, ExportContext(state_dir=tmp_path))


def test_record_id_cannot_escape_the_folder(tmp_path: Path) -> None:
    exporter = IcsExporter({"output_dir": str(tmp_path)}, ExportContext(state_dir=tmp_path))
    assert exporter.path_for("../../etc/passwd").parent == tmp_path.resolve()
    assert exporter.path_for("..").name == "record.ics"


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exporter = IcsExporter({"output_dir": str(tmp_path)}, ExportContext(state_dir=tmp_path))
    path = tmp_path / "acme.ics"
    path.write_bytes(b"old calendar")

    def broken_replace(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    stamp = datetime(2026, 10, 1, tzinfo=UTC)
    with pytest.raises(ExportFailed, match=r"No space left on device.*run the export again"):
        exporter.publish([SyncedTask(plan()[0], RemoteRef(None, "", 0, "planned", stamp, stamp))])
    assert path.read_bytes() == b"old calendar"
    assert [p.name for p in tmp_path.iterdir()] == ["acme.ics"]


def test_interrupted_publish_is_finished_by_the_next_run(
    backend: IcsBackend, store: StateStore
) -> None:
    backend.fail_after(1)
    report = export(backend, store, plan())
    assert report.publish_error and "injected write failure" in report.publish_error
    assert backend.write_requests() == 1
    backend.heal()
    assert export(backend, store, plan()).ok
    assert set(backend.remote_items()) == {task.key for task in plan()}
    assert backend.write_requests() == 2


def test_registered_as_the_ics_plugin() -> None:
    assert load_exporter("ics") is IcsExporter
