"""The Task: one dated follow-up, the unit every exporter receives."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

Kind = Literal["email", "call", "mail", "prep", "reflect"]
TaskStatus = Literal["planned", "cancelled", "done"]  # done: the record says it was done


@dataclass(frozen=True)
class Task:
    """A follow-up task. `start`/`due` are aware datetimes, or dates for all-day items.

    `priority` counts like Todoist's UI: 1 is the most urgent, 4 the least.
    """

    key: str
    record: str
    rule: str
    title: str
    kind: Kind
    start: datetime | date
    due: datetime | date
    duration_minutes: int
    priority: int
    labels: tuple[str, ...]
    people: tuple[str, ...]
    channel: str
    body: str
    application: str
    reminder_minutes: int | None = 15
    late: bool = False
    status: TaskStatus = "planned"
    links: tuple[str, ...] = field(default=())
    done_on: date | None = None  # the day the person did it (status "done")
    note: str = ""  # why the planner moved or dropped it, shown beside it in the plan
    advice: tuple[str, ...] = ()  # the paragraphs of `body` after the draft (checks, timing)

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    @property
    def end(self) -> datetime | date:
        """Where a calendar event ends: exclusive next day for all-day items."""
        if isinstance(self.start, datetime):
            return self.start + timedelta(minutes=self.duration_minutes)
        return self.start + timedelta(days=1)

    @property
    def timezone(self) -> str | None:
        if isinstance(self.start, datetime) and isinstance(self.start.tzinfo, ZoneInfo):
            return self.start.tzinfo.key
        return None

    @functools.cached_property
    def canonical_json(self) -> str:
        """`to_json()` as text with sorted keys: what the hash covers and the state store keeps."""
        return _CANONICAL.encode(self.to_json())

    @functools.cached_property
    def content_hash(self) -> str:
        return hashlib.sha256(self.canonical_json.encode()).hexdigest()[:32]

    @property
    def draft(self) -> str:
        """The draft alone: `body` less the advice and the link lines after it."""
        from followup.drafts import without_links

        text = without_links(self.body, self.links)
        return text.removesuffix("".join("\n\n" + paragraph for paragraph in self.advice))

    @property
    def display_title(self) -> str:
        """The title as a calendar or task list shows it: a done task says so."""
        return f"Done: {self.title}" if self.status == "done" else self.title

    @property
    def ref(self) -> str:
        """The key without its record id: how a record names the task (`done:`)."""
        return self.key.partition("/")[2]

    def cancelled(self) -> Task:
        return dataclasses.replace(self, status="cancelled")

    def to_json(self) -> dict[str, Any]:
        """The documented `plan --json` shape; also how the state store keeps a task."""
        return {
            "key": self.key,
            "record": self.record,
            "rule": self.rule,
            "title": self.title,
            "kind": self.kind,
            "start": _encode_when(self.start),
            "due": _encode_when(self.due),
            "timezone": self.timezone,
            "duration_minutes": self.duration_minutes,
            "all_day": self.all_day,
            "priority": self.priority,
            "labels": list(self.labels),
            "people": list(self.people),
            "channel": self.channel,
            "application": self.application,
            "reminder_minutes": self.reminder_minutes,
            "late": self.late,
            "status": self.status,
            "links": list(self.links),
            "body": self.body,
            # these only when set, so the content hash of every task without one stays as it was
            **({"note": self.note} if self.note else {}),
            **({"advice": list(self.advice)} if self.advice else {}),
            **({"done_on": self.done_on.isoformat()} if self.done_on else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Task:
        zone = data.get("timezone")
        return cls(
            key=data["key"],
            record=data["record"],
            rule=data["rule"],
            title=data["title"],
            kind=data["kind"],
            start=_decode_when(data["start"], zone),
            due=_decode_when(data["due"], zone),
            duration_minutes=data["duration_minutes"],
            priority=data["priority"],
            labels=tuple(data["labels"]),
            people=tuple(data["people"]),
            channel=data["channel"],
            body=data["body"],
            application=data["application"],
            reminder_minutes=data["reminder_minutes"],
            late=data["late"],
            status=data["status"],
            links=tuple(data["links"]),
            done_on=date.fromisoformat(data["done_on"]) if data.get("done_on") else None,
            note=data.get("note", ""),
            advice=tuple(data.get("advice", ())),
        )


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False)  # made once, not per task


def _encode_when(value: datetime | date) -> str:
    return value.isoformat()


def _decode_when(text: str, zone: str | None) -> datetime | date:
    if "T" not in text:
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text)
    # Keep the named zone (not just the offset) so exporters can emit TZID/timeZone.
    return moment.astimezone(ZoneInfo(zone)) if zone else moment
