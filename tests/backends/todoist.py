"""The Todoist backend for the contract tests: the real exporter and SDK against the fake.

The exporter finds the fake exactly as a user would point it at a proxy: through
`FOLLOWUP_TODOIST_API_URL`, with the token in `TODOIST_API_TOKEN`. Which follow-up a
remote task is comes from the fake alone: the exporter ends every description with a
`followup: <key>` line (also useful to a person searching Todoist), so a duplicate or a
stray task shows up here rather than hiding behind the state store.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fakes.todoist_server import FakeTodoist
from followup_todoist import TodoistExporter, payload

from backends.base import RemoteItem
from followup.exporter import ExportContext
from followup.state import StateStore
from followup.sync import Report, sync
from followup.tasks import Task


class TodoistBackend:
    def __init__(self, fake: FakeTodoist, state_dir: Path, options: dict[str, str]) -> None:
        self.fake = fake
        self.state_dir = state_dir
        self.options = options
        self.delays: list[float] = []  # what the exporter asked to sleep; nobody really waits

    def make_exporter(self) -> TodoistExporter:
        context = ExportContext(state_dir=self.state_dir)
        return TodoistExporter(self.options, context, sleep=self.delays.append)

    def remote_items(self) -> dict[str, RemoteItem]:
        project = self.fake.project_named(self.options.get("project", "Job search"))
        if project is None:
            return {}
        items: dict[str, RemoteItem] = {}
        for item in self.fake.live_items(project["id"]):
            key = payload.key_of(item["description"])
            assert key is not None, f"a task followup did not write: {item['content']!r}"
            assert key not in items, f"two live tasks for {key}"
            items[key] = RemoteItem(key, item["content"], _start(item["due"]["date"]))
        return items

    def live_count(self) -> int:
        project = self.fake.project_named(self.options.get("project", "Job search"))
        return len(self.fake.live_items(project["id"])) if project else 0

    def write_requests(self) -> int:
        return self.fake.writes()

    def fail_after(self, writes: int) -> None:
        self.fake.writes_left = writes

    def heal(self) -> None:
        self.fake.writes_left = None
        self.fake.faults = None
        self.fake.script.clear()


def _start(due: str) -> str:
    """The instant (UTC, with offset) of a timed due, or the day of an all-day one."""
    if "T" not in due:
        return due
    return datetime.fromisoformat(due.replace("Z", "+00:00")).isoformat()


@contextmanager
def backend(tmp_path: Path, **options: str) -> Iterator[TodoistBackend]:
    with FakeTodoist() as fake, pytest.MonkeyPatch.context() as env:
        env.setenv("FOLLOWUP_TODOIST_API_URL", fake.url)
        env.setenv("TODOIST_API_TOKEN", fake.token)
        yield TodoistBackend(fake, tmp_path / "todoist-state", dict(options))


NEW_YORK = ZoneInfo("America/New_York")


def make_task(
    key: str,
    *,
    title: str = "Send Jane a thank-you note",
    start: datetime | date = datetime(2026, 11, 20, 16, 0, tzinfo=NEW_YORK),
    application: str = "Acme Corp — Senior Backend Engineer",
    priority: int = 1,
    labels: tuple[str, ...] = ("thank-you",),
    body: str = "Dear Jane,\n\nThank you for today.\n\nmailto:jane.doe@acme.example tel:+15550100",
    duration: int = 30,
    reminder: int | None = 15,
    status: str = "planned",
) -> Task:
    """A follow-up built directly, for tests that need shapes the planner does not make."""
    record, rule = key.split("/")[:2]
    return Task(
        key=key,
        record=record,
        rule=rule,
        title=title,
        kind="email",
        start=start,
        due=start,
        duration_minutes=duration,
        priority=priority,
        labels=labels,
        people=("Jane Doe",),
        channel="email",
        body=body,
        application=application,
        reminder_minutes=reminder,
        status="cancelled" if status == "cancelled" else "planned",
    )


def export(todoist: TodoistBackend, store: StateStore, tasks: list[Task]) -> Report:
    """One `followup export` run of these tasks against the fake."""
    exporter = todoist.make_exporter()
    try:
        return sync(tasks, {task.record for task in tasks}, exporter, store)
    finally:
        exporter.close()
