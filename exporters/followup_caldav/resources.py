"""Calendar object resources: one per task, named and identified from the task key.

The resource is the ics exporter's strict serialisation of the task (same UID, SEQUENCE
raised on every change), wrapped alone in its VCALENDAR as RFC 4791 §4.1 requires, plus
`X-FOLLOWUP-HASH`: the content hash it was written from, so a later run can tell its own
write from a change made by the person. Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from followup_ics.calendar import CalendarItem, Component, render_object, uid_for

from followup.tasks import Task

HASH_PROPERTY = "X-FOLLOWUP-HASH"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def resource_name(key: str) -> str:
    """The resource's last path segment: readable, URL-safe, unique per key."""
    slug = _UNSAFE_NAME.sub("-", key).strip("-")[:80] or "task"
    return f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.ics"


def render(
    task: Task, component: Component, *, sequence: int, created: datetime, stamp: datetime
) -> bytes:
    item = CalendarItem(task, sequence, created, stamp)
    return render_object(
        item, component=component, extra_properties=[(HASH_PROPERTY, task.content_hash)]
    )


@dataclass(frozen=True, slots=True)
class Standing:
    """What a calendar object on the server says about the task it holds."""

    uid: str
    status: str  # NEEDS-ACTION, COMPLETED, CANCELLED, CONFIRMED, … ("" when absent)
    content_hash: str | None  # X-FOLLOWUP-HASH: None when someone else wrote it last
    completed: datetime | None  # when a to-do was checked off (aware)

    @property
    def done(self) -> bool:
        return self.completed is not None

    @property
    def cancelled(self) -> bool:
        return self.status == "CANCELLED"


def read(data: str | bytes) -> Standing | None:
    """The first VEVENT or VTODO of a calendar object; None when it holds neither."""
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError:
        return None
    for component in calendar.walk():
        if component.name not in ("VEVENT", "VTODO"):
            continue
        status = str(component.get("STATUS", "")).upper()
        completed = None
        if status == "COMPLETED" or "COMPLETED" in component:
            # COMPLETED is a UTC date-time (RFC 5545 §3.8.2.1); a client that sets only the
            # status leaves the last change as the best word on when
            stamps = (component.get(p) for p in ("COMPLETED", "LAST-MODIFIED", "DTSTAMP"))
            completed = next((_aware(s.dt) for s in stamps if s is not None), None)
        content_hash = component.get(HASH_PROPERTY)
        return Standing(
            uid=str(component.get("UID", "")),
            status=status,
            content_hash=str(content_hash) if content_hash is not None else None,
            completed=completed,
        )
    return None


def _aware(moment: datetime | date) -> datetime:
    if not isinstance(moment, datetime):
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def key_index(tasks: list[Task]) -> dict[str, str]:
    """Task keys by the UID their resources carry."""
    return {uid_for(task.key): task.key for task in tasks}
