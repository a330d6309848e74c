"""HTTP requests the Todoist exporter makes for 200 tasks, against the fake API v1.

Targets: the first export takes ⌈200/100⌉ /sync requests plus the project/section
lookups; an unchanged re-run writes nothing; an edit touching 3 tasks is one /sync
request. A reminder is a command of its own (reminder_add), so on an account with
reminders the first export sends tasks + reminders + layout commands, 100 per request;
the row for an account without reminders shows the task commands alone.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the fakes and backends

TASKS = 200
APPLICATIONS = 20
PER_REQUEST = 100


def main() -> None:
    names = (
        "FOLLOWUP_HOME",
        "FOLLOWUP_NO_KEYRING",
        "TODOIST_API_TOKEN",
        "FOLLOWUP_TODOIST_API_URL",
    )
    saved = {name: os.environ.get(name) for name in names}
    try:
        for plan in ("pro", "free"):
            home = tempfile.mkdtemp(prefix="followup-bench-todoist-")
            os.environ.update(FOLLOWUP_HOME=home, FOLLOWUP_NO_KEYRING="1")  # never the user's
            measure(Path(home), plan)
    finally:  # `make bench` runs every script in one process
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def many_tasks() -> list:  # type: ignore[type-arg]
    """200 follow-ups, 20 applications: three in four timed (with a reminder), the rest all-day."""
    from backends.todoist import make_task

    zone = ZoneInfo("America/New_York")
    tasks = []
    for n in range(TASKS):
        record = f"company-{n % APPLICATIONS:02d}"
        day = date(2026, 11, 20) + timedelta(days=n // APPLICATIONS)
        start: datetime | date = day
        if n % 4:
            start = datetime(day.year, day.month, day.day, 9 + n % 8, 0, tzinfo=zone)
        tasks.append(
            make_task(
                f"{record}/rule-{n}",
                title=f"Follow-up {n} with {record}",
                start=start,
                application=f"Company {n % APPLICATIONS:02d} — Engineer",
                reminder=15 if n % 4 else None,
            )
        )
    return tasks


def measure(home: Path, plan: str) -> None:
    from fakes.todoist_server import FakeTodoist
    from followup_todoist import TodoistExporter

    from followup.exporter import ExportContext
    from followup.state import StateStore
    from followup.sync import sync

    tasks = many_tasks()
    records = {task.record for task in tasks}
    store = StateStore(home / "state.db")
    with FakeTodoist(plan=plan) as fake:
        os.environ.update(TODOIST_API_TOKEN=fake.token, FOLLOWUP_TODOIST_API_URL=fake.url)

        def run(planned: list) -> tuple[int, int, int]:  # type: ignore[type-arg]
            before = (len(fake.requests), fake.writes(), len(fake.executed))
            exporter = TodoistExporter({}, ExportContext(state_dir=home / "state"))
            try:
                report = sync(planned, records, exporter, store)
            finally:
                exporter.close()
            assert not report.failures, report.failures[0].error
            return (
                len(fake.requests) - before[0],
                fake.writes() - before[1],
                len(fake.executed) - before[2],
            )

        first = run(tasks)
        unchanged = run(tasks)
        edited = [replace(task, title=task.title + " (moved)") for task in tasks[:3]]
        edit = run(edited + tasks[3:])
    store.close()

    title = "with reminders (Pro)" if plan == "pro" else "without reminders (free plan)"
    print(f"Todoist HTTP requests for {TASKS} tasks over {APPLICATIONS} applications, {title}")
    rows = [
        ("first export", first, math.ceil(TASKS / PER_REQUEST), "/sync requests for the tasks"),
        ("unchanged re-run", unchanged, 0, "writes"),
        ("edit touching 3", edit, 1, "/sync request"),
    ]
    for name, (requests, writes, commands), target, what in rows:
        verdict = "ok" if writes <= target else "over target"
        ratio = f"{writes / target:4.2f}x" if target else "  —  "
        floor = math.ceil(commands / PER_REQUEST)  # no client can send these in fewer
        print(
            f"  {name:<17} {requests:3d} requests: {writes:2d} writes ({commands:3d} commands, "
            f"at least {floor} requests), {requests - writes} lookups  {ratio}  "
            f"(target {target} {what}: {verdict})"
        )
    if plan == "pro":
        print(
            "  (the first export's writes include one request creating the project and the "
            f"{APPLICATIONS} sections, and one reminder_add per timed task)"
        )


if __name__ == "__main__":
    main()
