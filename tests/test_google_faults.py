"""Fault test: with the fake failing at random, re-runs converge to exactly the plan."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
from backends.base import iso_start
from backends.google import GoogleBackend, backend, make_task, many_tasks

from followup.config import Settings
from followup.errors import ExportFailed
from followup.planner import plan_record
from followup.record import load_record
from followup.state import StateStore
from followup.sync import Report, sync
from followup.tasks import Task

MAX_RUNS = 40
SAMPLES = Path(__file__).parent.parent / "samples"
NOW = datetime(2026, 11, 20, 19, 0, tzinfo=ZoneInfo("America/New_York"))


def _run(google: GoogleBackend, store: StateStore, plan: list[Task]) -> Report:
    exporter = google.make_exporter()
    try:
        return sync(plan, {t.record for t in plan}, exporter, store)
    finally:
        exporter.close()


def _converge(google: GoogleBackend, store: StateStore, plan: list[Task]) -> int:
    for run in range(1, MAX_RUNS + 1):
        try:
            if not _run(google, store, plan).failures:
                return run
        except ExportFailed:  # Google unreachable for a whole run: the next one goes on
            continue
    raise AssertionError(f"no convergence in {MAX_RUNS} runs")


def _expected(plan: list[Task]) -> dict[str, tuple[str, str]]:
    return {t.key: (t.title, iso_start(t.start)) for t in plan if t.status == "planned"}


def _remote(google: GoogleBackend) -> dict[str, tuple[str, str]]:
    assert google.live_count() == len(google.remote_items()), "duplicate events"
    return {key: (item.title, item.start) for key, item in google.remote_items().items()}


def test_random_faults_converge_to_the_plan(tmp_path: Path) -> None:
    with backend(tmp_path) as google:
        store = StateStore(tmp_path / "state.db")
        plan = many_tasks(130, records=6)
        google.fake.inject_faults(0.3)
        google.fake.lose_answer_of["calendars.insert"] = 1  # made, but the answer is lost
        google.fake.queue_faults(*["503"] * 6)  # the first request outlasts a run's retries
        runs = _converge(google, store, plan)
        assert _remote(google) == _expected(plan)
        assert len(google.fake.app_calendars()) == 1, "a lost answer made a second calendar"

        # Edits, cancellations, a withdrawn task and new ones, still under faults.
        edited = [dataclasses.replace(t, title=t.title + " v2") for t in plan[:20]]
        cancelled = [t.cancelled() for t in plan[20:30]]
        added = [make_task("rec-new", f"extra-{i}", i) for i in range(15)]
        # plan[30] is no longer planned at all: its record still is, so it is withdrawn.
        second = edited + cancelled + plan[31:] + added
        runs += _converge(google, store, second)
        assert _remote(google) == _expected(second)
        assert plan[30].key not in google.remote_items()

        faults = sum(google.fake.stats.faults.values())
        assert faults > 20, "the fake did not fail often enough to test anything"
        assert runs > 2, "every run succeeded at once: the faults were not felt"

        google.heal()
        writes = google.write_requests()
        report = _run(google, store, second)
        assert google.write_requests() == writes and report.unchanged == len(second)
        assert _remote(google) == _expected(second)
        store.close()


def test_all_samples_converge_under_faults_and_cancellations_land(tmp_path: Path) -> None:
    settings = Settings(country="US")
    records = [load_record(path) for path in sorted(SAMPLES.glob("*.y*ml"))]
    records += [
        load_record(path) for path in sorted(SAMPLES.glob("*.toml")) if path.stem != "config"
    ]
    with backend(tmp_path) as google:
        store = StateStore(tmp_path / "state.db")
        google.fake.inject_faults(0.35)
        plan = [task for record in records for task in plan_record(record, settings, NOW)]
        _converge(google, store, plan)
        assert _remote(google) == _expected(plan)

        # Every application is withdrawn: pending tasks are cancelled, a note is added.
        withdrawn = [
            msgspec.structs.replace(r, status="withdrawn", status_since=NOW.date()) for r in records
        ]
        second = [task for record in withdrawn for task in plan_record(record, settings, NOW)]
        _converge(google, store, second)
        assert _remote(google) == _expected(second)
        assert any(t.status == "cancelled" for t in second)
        assert sum(google.fake.stats.faults.values()) > 5
        store.close()
