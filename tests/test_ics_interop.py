"""Independent readers (icalendar, vobject, ical.js, khal) decode what the ics exporter meant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from followup_ics.calendar import CalendarItem, render_calendar
from interop import (
    Parsed,
    clean,
    intended_end,
    intended_start,
    khal_agenda,
    make_task,
    read_icalendar,
    read_icaljs,
    read_vobject,
    sample_tasks,
    task_key,
)

from followup.tasks import Task

STAMP = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
Reader = Callable[[Path], list[Parsed]]

READERS: dict[str, Reader] = {
    "icalendar": lambda path: read_icalendar(path.read_bytes()),
    "vobject": lambda path: read_vobject(path.read_bytes()),
    "ical.js": read_icaljs,
}


def write_calendar(tmp_path: Path, tasks: list[Task], component: str = "event") -> Path:
    items = [CalendarItem(task, 0, STAMP, STAMP) for task in tasks]
    path = tmp_path / f"calendar-{component}.ics"
    path.write_bytes(render_calendar(items, component=component))  # type: ignore[arg-type]
    return path


def todo_start(task: Task) -> datetime | date | None:
    # DUE must come after DTSTART, so an all-day to-do due on its first day has DUE only.
    if task.all_day and task.due <= task.start:
        return None
    return intended_start(task)


def todo_due(task: Task) -> datetime | date:
    if isinstance(task.due, datetime) and task.due > task.start:
        return task.due.astimezone(UTC)
    return task.due if task.all_day else intended_end(task)


def assert_decoded_as_meant(parsed: list[Parsed], tasks: list[Task], todo: bool = False) -> None:
    by_key = {task_key(item.uid): item for item in parsed}
    assert len(by_key) == len(parsed) == len(tasks)
    for task in tasks:
        item = by_key[task.key]
        assert item.summary == clean(task.title), task.key
        assert item.description == clean(task.body), task.key
        if todo:
            assert (item.start, item.end) == (todo_start(task), todo_due(task)), task.key
        else:
            assert (item.start, item.end) == (intended_start(task), intended_end(task)), task.key
        status = "CANCELLED" if task.status == "cancelled" else "CONFIRMED"
        assert item.status == (status if not todo or status == "CANCELLED" else "NEEDS-ACTION")


@pytest.mark.parametrize("reader", READERS)
def test_events_decode_as_meant(reader: str, tmp_path: Path) -> None:
    tasks = sample_tasks()
    assert_decoded_as_meant(READERS[reader](write_calendar(tmp_path, tasks)), tasks)


@pytest.mark.parametrize("reader", READERS)
def test_todos_decode_as_meant(reader: str, tmp_path: Path) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    tasks = [
        *sample_tasks(),
        make_task("acme/same-day", date(2026, 12, 1), title="Reflect"),
        make_task(
            "acme/due-later",
            datetime(2026, 12, 1, 9, 0, tzinfo=berlin),
            due=datetime(2026, 12, 2, 17, 0, tzinfo=berlin),
        ),
    ]
    parsed = READERS[reader](write_calendar(tmp_path, tasks, "todo"))
    assert_decoded_as_meant(parsed, tasks, todo=True)


@pytest.mark.parametrize("reader", READERS)
def test_tabs_survive_every_reader_even_at_a_fold(reader: str, tmp_path: Path) -> None:
    """TEXT allows a tab (RFC 5545 §3.3.11: WSP); only real control characters go. A tab
    on either side of every fold point, and at the start and end of a value."""
    tasks = [
        make_task(
            f"tabs/at-{column}",
            date(2026, 12, 1),
            title="x" * column + "\tafter a tab",
            body=f"\tindented\n{'y' * column}\t\tcolumns\tend\t",
        )
        for column in range(60, 80)
    ]
    parsed = READERS[reader](write_calendar(tmp_path, tasks))
    assert_decoded_as_meant(parsed, tasks)
    assert all("\t" in item.summary for item in parsed)


def dst_grid() -> list[Task]:
    """Every half hour from 3 h before to 3 h after each 2026 change, in zones of all kinds."""
    tasks = []
    for name in (
        "America/New_York",
        "Europe/Berlin",
        "Australia/Lord_Howe",
        "America/Santiago",
        "America/St_Johns",
        "Asia/Kathmandu",
    ):
        zone = ZoneInfo(name)
        moment = datetime(2026, 1, 1, tzinfo=UTC)
        while moment.year == 2026:
            following = moment + timedelta(hours=6)
            if moment.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset():
                for step in range(13):
                    start = (moment + timedelta(minutes=30 * step)).astimezone(zone)
                    key = f"grid/{name.replace('/', '-').lower()}-{start:%m%d%H%M}-{start.fold}"
                    tasks.append(make_task(key, start, duration=45))
            moment = following
    return tasks


@pytest.mark.parametrize("reader", READERS)
def test_instants_across_dst_changes(reader: str, tmp_path: Path) -> None:
    tasks = dst_grid()
    assert len(tasks) > 100
    parsed = {task_key(item.uid): item for item in READERS[reader](write_calendar(tmp_path, tasks))}
    wrong = [
        f"{task.key}: {parsed[task.key].start} != {intended_start(task)}"
        for task in tasks
        if (parsed[task.key].start, parsed[task.key].end)
        != (intended_start(task), intended_end(task))
    ]
    assert wrong == []


@pytest.mark.slow
def test_khal_imports_every_event_at_the_right_local_time(tmp_path: Path) -> None:
    tasks = sample_tasks()
    path = write_calendar(tmp_path, tasks)
    local = ZoneInfo("Europe/Berlin")  # not the tasks' zone, so khal must convert
    agenda = khal_agenda(path, tmp_path, "Europe/Berlin", date(2026, 1, 1), date(2027, 3, 1))
    for task in tasks:
        if task.status == "cancelled":
            continue
        if isinstance(task.start, datetime):
            local_start = task.start.astimezone(local)
            expected = (local_start.date().isoformat(), local_start.strftime("%H:%M"))
        else:
            expected = (task.start.isoformat(), "")
        assert agenda.get(f"{task.key}@followup") == expected, task.key
