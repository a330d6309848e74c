"""HTTP requests the Todoist exporter makes for 200 tasks, against the fake API v1.

A /sync write carries at most 100 commands, and each task (item_add), the project
(project_add), each section (section_add) and each reminder (reminder_add) is a command of
its own, so no client can do a first export in fewer than ⌈commands/100⌉ writes: that is
the target here, plus the lookups (the project, the account once per run, and the open
tasks of a project that already exists). An unchanged re-run sends nothing; an edit
touching 3 tasks is one write.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from collections import Counter
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

        def run(planned: list) -> tuple[int, int, Counter[str]]:  # type: ignore[type-arg]
            before = (len(fake.requests), fake.writes(), len(fake.batches))
            exporter = TodoistExporter({}, ExportContext(state_dir=home / "state"))
            try:
                report = sync(planned, records, exporter, store)
            finally:
                exporter.close()
            assert not report.failures, report.failures[0].error
            sent = Counter(c["type"] for batch in fake.batches[before[2] :] for c in batch)
            return len(fake.requests) - before[0], fake.writes() - before[1], sent

        first = run(tasks)
        unchanged = run(tasks)
        edited = [replace(task, title=task.title + " (moved)") for task in tasks[:3]]
        edit = run(edited + tasks[3:])
    store.close()

    reminders = (
        sum(1 for task in tasks if task.reminder_minutes is not None) if plan == "pro" else 0
    )
    needed = TASKS + 1 + APPLICATIONS + reminders  # tasks, project, sections, reminders
    title = "with reminders (Pro)" if plan == "pro" else "without reminders (free plan)"
    print(f"Todoist HTTP requests for {TASKS} tasks over {APPLICATIONS} applications, {title}")
    rows = [
        ("first export", first, math.ceil(needed / PER_REQUEST), f"⌈{needed}/{PER_REQUEST}⌉ = "),
        ("unchanged re-run", unchanged, 0, ""),
        ("edit touching 3", edit, 1, ""),
    ]
    for name, (requests, writes, sent), target, formula in rows:
        verdict = "ok" if writes <= target else "over target"
        ratio = f"{writes / target:4.2f}x" if target else "  —  "
        commands = sum(sent.values())
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(sent.items()))
        print(
            f"  {name:<17} {requests:2d} requests = {writes} writes + {requests - writes} lookups"
            f"  target {formula}{target} writes: {verdict} {ratio}"
            f"  | {commands} commands{': ' + kinds if kinds else ''}"
        )
    if plan == "pro":
        print(
            f"  (each reminder is a Sync command of its own, so the target counts commands, "
            f"not tasks: {TASKS} tasks + 1 project + {APPLICATIONS} sections + {reminders} "
            f"reminders = {needed} commands)"
        )
    else:
        print(
            "  (the plan read says the account has no reminders, so no reminder_add is sent. "
            f"The issue's ⌈{TASKS}/{PER_REQUEST}⌉ = 2 counts the task commands alone; the "
            f"project and the {APPLICATIONS} sections ride in the first task request, but they "
            f"are commands too: {needed} commands fill {math.ceil(needed / PER_REQUEST)} requests)"
        )
    print(
        "  (lookups: the project, by name or by its remembered id; once per run, the account "
        "(Sync API `user`, `user_plan_limits`, `reminders`: its id names every command uuid, "
        "its limits are kept to); and when the project already exists, one listing of its "
        "open tasks, so nothing that stands there is added twice or overwritten once done)"
    )


if __name__ == "__main__":
    main()
