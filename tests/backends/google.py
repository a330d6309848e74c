"""Contract-test backend for the Google Calendar exporter: the real SDK against the fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fakes.google_server import FakeGoogleCalendar
from followup_google import GoogleExporter
from followup_google.auth import scopes_for
from followup_google.events import KEY_PROPERTY

from backends.base import RemoteItem, iso_start
from followup.config import store_secret
from followup.exporter import ExportContext
from followup.tasks import Task


class GoogleBackend:
    def __init__(self, fake: FakeGoogleCalendar, tmp_path: Path) -> None:
        self.fake = fake
        self.state_dir = tmp_path / "google-state"
        self.sleeps: list[float] = []
        self.grant = fake.grant(scopes_for(None))
        store_secret("google", json.dumps(self.grant))

    def options(self, **extra: Any) -> dict[str, Any]:
        return {"api_url": self.fake.url, "token_uri": self.fake.token_uri, **extra}

    def make_exporter(self, **options: Any) -> GoogleExporter:
        exporter = GoogleExporter(self.options(**options), ExportContext(state_dir=self.state_dir))
        exporter.sleep = self.sleeps.append  # tests never wait; the delays are recorded
        return exporter

    def remote_items(self) -> dict[str, RemoteItem]:
        items = {}
        for event in self.fake.live_events():
            key = event["extendedProperties"]["private"][KEY_PROPERTY]
            items[key] = RemoteItem(key, event["summary"], _start(event["start"]))
        return items

    def live_count(self) -> int:
        return len(self.fake.live_events())

    def write_requests(self) -> int:
        """Write HTTP requests: a batch counts once, however many calls it holds."""
        return self.fake.stats.write_http_requests

    def fail_after(self, writes: int) -> None:
        """Counts write calls (inside batches too), so a batch can half succeed."""
        self.fake.fail_after(writes)

    def heal(self) -> None:
        self.fake.fail_after(None)
        self.fake.inject_faults(0.0)


def _start(when: dict[str, str]) -> str:
    if "date" in when:
        return when["date"]
    return iso_start(datetime.fromisoformat(when["dateTime"]))


@contextmanager
def backend(tmp_path: Path) -> Iterator[GoogleBackend]:
    with FakeGoogleCalendar(seed=5) as fake:
        yield GoogleBackend(fake, tmp_path)


ZONES = ("America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe")
KINDS = ("email", "call", "mail", "prep", "reflect")


def make_task(record: str, rule: str, index: int = 0, **changes: Any) -> Task:
    """A plausible task, built directly (the Google tests do not depend on the planner)."""
    zone = ZoneInfo(ZONES[index % len(ZONES)])
    start: datetime | date = datetime(2026, 11, 20, 9, 0, tzinfo=zone) + timedelta(
        days=index % 30, minutes=15 * (index % 4)
    )
    if index % 7 == 3:
        start = date(2026, 12, 1) + timedelta(days=index % 10)  # an all-day item
    fields: dict[str, Any] = {
        "key": f"{record}/{rule}",
        "record": record,
        "rule": rule,
        "title": f"Follow up with {record} ({rule})",
        "kind": KINDS[index % len(KINDS)],
        "start": start,
        "due": start,
        "duration_minutes": 30,
        "priority": 1 + index % 4,
        "labels": ("job-search",),
        "people": ("Jane Doe",),
        "channel": "email",
        "body": "Dear Jane,\nthank you for your time.\nmailto:jane.doe@acme.example",
        "application": f"{record} — Senior Backend Engineer",
        "reminder_minutes": 15 if index % 5 else None,
        "links": ("mailto:jane.doe@acme.example",),
    }
    fields.update(changes)
    return Task(**fields)


def many_tasks(count: int, records: int = 10) -> list[Task]:
    """`count` tasks spread over `records` records."""
    return [make_task(f"rec-{i % records}", f"rule-{i}", i) for i in range(count)]
