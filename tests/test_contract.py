"""The exporter contract: every destination must pass these, through `followup.sync`.

create · update after an edit · cancel after an outcome · zero writes on an unchanged
re-run · resume after a failure half-way (no duplicates, nothing lost).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
from backends.base import Backend, iso_start

from followup.config import Settings
from followup.planner import plan_record
from followup.record import InterviewRecord, load_record
from followup.state import StateStore
from followup.sync import Report, sync
from followup.tasks import Task

SAMPLES = Path(__file__).parent.parent / "samples"
NOW = datetime(2026, 11, 20, 19, 0, tzinfo=ZoneInfo("America/New_York"))
SETTINGS = Settings(country="US")
BACKENDS = ["memory", "ics", "todoist", "google", "caldav"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    module = importlib.import_module(f"backends.{request.param}")
    with module.backend(tmp_path) as made:
        yield made


def onsite() -> InterviewRecord:
    return load_record(SAMPLES / "onsite-acme.yaml")


def all_samples() -> list[InterviewRecord]:
    paths = sorted(SAMPLES.glob("*.yaml")) + sorted(SAMPLES.glob("*.toml"))
    return [load_record(path) for path in paths if path.name != "config.toml"]


def run(
    backend: Backend, store: StateStore, *records: InterviewRecord
) -> tuple[Report, list[Task]]:
    tasks = [task for record in records for task in plan_record(record, SETTINGS, NOW)]
    exporter = backend.make_exporter()
    try:
        report = sync(tasks, {record.id for record in records}, exporter, store)
    finally:
        exporter.close()
    return report, tasks


def assert_matches_plan(backend: Backend, tasks: list[Task]) -> None:
    live = [task for task in tasks if task.status == "planned"]
    items = backend.remote_items()
    assert sorted(items) == sorted(task.key for task in live)
    assert backend.live_count() == len(live), "duplicates at the destination"
    for task in live:
        assert items[task.key].title == task.title
        assert items[task.key].start == iso_start(task.start)


def edited(record: InterviewRecord, **changes: object) -> InterviewRecord:
    return msgspec.structs.replace(record, **changes)


def test_create_then_unchanged_rerun_writes_nothing(backend: Backend, store: StateStore) -> None:
    first, tasks = run(backend, store, onsite())
    assert first.created == len(tasks) and first.ok
    assert_matches_plan(backend, tasks)

    writes = backend.write_requests()
    second, _ = run(backend, store, onsite())
    assert (second.created, second.updated, second.cancelled) == (0, 0, 0)
    assert second.unchanged == len(tasks)
    assert backend.write_requests() == writes


def test_edit_updates_exactly_what_it_implies(backend: Backend, store: StateStore) -> None:
    record = onsite()
    run(backend, store, record)
    interview = record.interviews[0]
    mei = interview.interviewers[2]
    assert mei.name == "Mei Lin"
    new_mei = msgspec.structs.replace(mei, topics=(mei.topics[0], "service ownership"))
    people = (*interview.interviewers[:2], new_mei)
    changed = edited(record, interviews=(msgspec.structs.replace(interview, interviewers=people),))

    writes = backend.write_requests()
    report, tasks = run(backend, store, changed)
    assert (report.created, report.updated, report.cancelled) == (0, 1, 0)
    assert backend.write_requests() > writes
    assert_matches_plan(backend, tasks)
    [row] = [
        r
        for r in store.rows(backend.make_exporter().name, backend.make_exporter().target)
        if r.key.endswith("/thank-you/mei-lin")
    ]
    assert row.remote.sequence == 1


def test_outcome_cancels_and_adds_the_withdrawal_note(backend: Backend, store: StateStore) -> None:
    record = onsite()
    run(backend, store, record)
    withdrawn = edited(record, status="withdrawn", status_since=datetime(2026, 11, 24).date())
    report, tasks = run(backend, store, withdrawn)
    live = [task for task in tasks if task.status == "planned"]
    assert [task.rule for task in live] == ["withdrawal-note"]
    assert report.created == 1
    assert report.cancelled == len(tasks) - 1
    assert_matches_plan(backend, tasks)


def test_a_run_that_fails_half_way_is_finished_by_the_next(
    backend: Backend, store: StateStore
) -> None:
    records = all_samples()
    backend.fail_after(3)
    first, tasks = run(backend, store, *records)
    assert not first.ok, "the destination was failing: some writes must have failed"
    backend.heal()
    second, _ = run(backend, store, *records)
    assert second.ok
    live = [task for task in tasks if task.status == "planned"]
    assert first.created + second.created == len(live)
    assert_matches_plan(backend, tasks)
