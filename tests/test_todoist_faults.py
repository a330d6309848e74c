"""Todoist under trouble: Retry-After, backoff, giving up clearly, and converging on re-runs."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from backends.base import iso_start
from backends.todoist import TodoistBackend, export, make_task
from fakes.todoist_server import Faults
from followup_todoist import payload
from followup_todoist.api import ATTEMPTS

from followup.config import Settings
from followup.planner import plan_record
from followup.record import load_record
from followup.state import StateStore
from followup.sync import sync
from followup.tasks import Task

SAMPLES = Path(__file__).parent.parent / "samples"
NOW = datetime(2026, 11, 20, 19, 0, tzinfo=ZoneInfo("America/New_York"))
AGAIN = "run the same command again later — nothing will be duplicated"


def some_tasks() -> list[Task]:
    return [make_task(f"acme/rule-{n}", title=f"Follow-up {n}") for n in range(5)]


def test_429_waits_exactly_what_retry_after_says(
    todoist: TodoistBackend, store: StateStore
) -> None:
    todoist.fake.retry_after = 7
    todoist.fake.script = [429, 429]
    report = export(todoist, store, some_tasks())
    assert report.ok and report.created == 5
    assert todoist.delays == [7.0, 7.0]


def test_5xx_and_resets_are_retried_with_growing_backoff(
    todoist: TodoistBackend, store: StateStore
) -> None:
    todoist.fake.script = [503, "reset", 502, "lost"]  # all on the first request
    report = export(todoist, store, some_tasks())
    assert report.ok and len(todoist.fake.live_items()) == 5
    first, second, third, fourth = todoist.delays
    assert 0.25 <= first <= 0.5 and 0.5 <= second <= 1 and 1 <= third <= 2 and 2 <= fourth <= 4


def test_a_write_whose_answer_was_lost_is_looked_up_not_resent(
    todoist: TodoistBackend, store: StateStore
) -> None:
    # The one write (project, section, tasks and reminders together) is applied and its
    # answer lost; the lookup that follows finds every task with its reminder, so nothing
    # is sent again.
    todoist.fake.lose_writes = 1
    report = export(todoist, store, some_tasks())
    assert report.ok and report.created == 5
    assert todoist.fake.writes() == 1
    fake = todoist.fake
    assert [p["name"] for p in fake.projects.values() if not p["inbox_project"]] == ["Job search"]
    assert len(fake.sections) == 1
    assert len(fake.live_items()) == 5
    assert all(len(fake.live_reminders(item["id"])) == 1 for item in fake.live_items())
    assert sorted(todoist.remote_items()) == sorted(t.key for t in some_tasks())


def test_when_todoist_keeps_failing_it_gives_up_saying_what_to_do(
    todoist: TodoistBackend, store: StateStore
) -> None:
    todoist.fake.writes_left = 0
    report = export(todoist, store, some_tasks())
    assert not report.ok and len(report.failures) == 5
    assert report.failures[0].error == f"Todoist is not answering (HTTP 503); {AGAIN}"
    assert todoist.fake.writes() == ATTEMPTS
    todoist.heal()
    assert export(todoist, store, some_tasks()).created == 5
    assert len(todoist.fake.live_items()) == 5


def test_a_long_retry_after_is_not_slept_through(
    todoist: TodoistBackend, store: StateStore
) -> None:
    todoist.fake.retry_after = 3600
    todoist.fake.script = [429]
    report = export(todoist, store, some_tasks())
    assert not report.ok and todoist.delays == []
    assert "asked to wait 3600 s" in str(report.failures[0].error)


def plan_samples() -> list[Task]:
    records = [
        load_record(path) for path in sorted(SAMPLES.iterdir()) if path.name != "config.toml"
    ]
    return [task for record in records for task in plan_record(record, Settings(country="US"), NOW)]


def converge(todoist: TodoistBackend, store: StateStore, tasks: list[Task], seed: int) -> int:
    """Re-run under random faults until a run succeeds; checks for duplicates every time."""
    rng = random.Random(seed)
    records = {task.record for task in tasks}
    for run in range(1, 21):
        todoist.fake.faults = Faults(
            seed=rng.randrange(10**6), rate_limited=0.1, unavailable=0.1, reset=0.1, lost=0.2
        )
        # The first runs also "die" part-way: a budget of commands, then nothing answers.
        todoist.fake.writes_left = rng.randrange(0, 60) if run <= 3 else None
        exporter = todoist.make_exporter()
        try:
            report = sync(tasks, records, exporter, store)
        finally:
            exporter.close()
        items = todoist.remote_items()  # asserts one live task per key, all written by us
        assert todoist.live_count() == len(items)
        if report.ok:
            return run
    raise AssertionError("did not converge in 20 runs")


def assert_remote_is_the_plan(todoist: TodoistBackend, tasks: list[Task]) -> None:
    live = {task.key: task for task in tasks if task.status == "planned"}
    items = todoist.remote_items()
    assert sorted(items) == sorted(live)
    for key, task in live.items():
        assert (items[key].title, items[key].start) == (task.title, iso_start(task.start))
    for item in todoist.fake.live_items():
        assert len(todoist.fake.live_reminders(item["id"])) <= 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_faults_converge_to_exactly_the_plan(
    todoist: TodoistBackend, store: StateStore, seed: int
) -> None:
    tasks = plan_samples()
    assert len({task.record for task in tasks}) >= 6
    runs = converge(todoist, store, tasks, seed)
    assert_remote_is_the_plan(todoist, tasks)
    assert runs > 1, "the faults should have cost at least one re-run"

    # Then an application closes: all its tasks are cancelled, its section goes too.
    closing = sorted({task.record for task in tasks})[seed]
    section = next(
        i["section_id"]
        for i in todoist.fake.live_items()
        if payload.key_of(i["description"]) == tasks_of(tasks, closing)[0].key
    )
    changed = [task.cancelled() if task.record == closing else task for task in tasks]
    changed = [
        dataclasses.replace(t, title=t.title + " (edited)") if n % 5 == 0 else t
        for n, t in enumerate(changed)
    ]
    converge(todoist, store, changed, seed + 100)
    assert_remote_is_the_plan(todoist, changed)
    assert todoist.fake.sections[section]["is_archived"]

    todoist.heal()
    writes = todoist.fake.writes()
    rerun = export(todoist, store, changed)
    assert (rerun.created, rerun.updated, rerun.cancelled, rerun.failed) == (0, 0, 0, 0)
    assert todoist.fake.writes() == writes


def tasks_of(tasks: list[Task], record: str) -> list[Task]:
    return [task for task in tasks if task.record == record and task.status == "planned"]
