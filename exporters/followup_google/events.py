"""Tasks as Google Calendar v3 event resources: pure functions, no SDK, no network."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, date, datetime
from typing import Any

from followup.tasks import Task

# Google's palette (colors.get "event"): one colour per kind so the calendar reads at a glance.
KIND_COLOURS = {
    "email": "9",  # Blueberry
    "call": "10",  # Basil
    "mail": "5",  # Banana
    "prep": "6",  # Tangerine
    "reflect": "8",  # Graphite
}
REMINDER_METHODS = ("popup", "email")
MAX_REMINDERS = 5
MAX_REMINDER_MINUTES = 40320  # four weeks: the API's upper bound
# No limit on the title is documented; a calendar shows a line of it, so keep it short.
MAX_SUMMARY = 1000
# "the event description character limit is approximately 8,192 characters" (Nylas support,
# "Event Description Limits in Google Calendar"); counted in characters, kept under it.
MAX_DESCRIPTION = 8000
KEY_PROPERTY = "followupKey"
RECORD_PROPERTY = "followupRecord"
HASH_PROPERTY = "followupHash"  # what the event was written from, for Exporter.lookup

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def event_id(key: str, generation: int = 0) -> str:
    """The event id for a task key: base32hex (a–v, 0–9) of its SHA-256, 52 characters.

    Google keeps a deleted event's id and may refuse to bring it back (insert 409, update
    403), so a task planned again after its event was deleted gets the next generation.
    """
    seed = key if generation == 0 else f"{key}\n{generation}"
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    return base64.b32hexencode(digest).decode("ascii").rstrip("=").lower()


def parse_reminder_methods(text: str | None) -> tuple[str, ...]:
    """`popup`, `email` or both (comma-separated); unknown names are a usage error."""
    names = tuple(dict.fromkeys(part.strip().lower() for part in (text or "popup").split(",")))
    unknown = [name for name in names if name not in REMINDER_METHODS]
    if unknown or not names:
        raise ValueError(f"reminders: expected popup, email or popup,email, got {text!r}")
    return names


def event_body(
    task: Task,
    reminder_methods: tuple[str, ...] = ("popup",),
    *,
    ident: str | None = None,
    content_hash: str | None = None,
) -> dict[str, Any]:
    """The full event resource for `task` (insert and update send the same body)."""
    private = {
        KEY_PROPERTY: task.key,
        RECORD_PROPERTY: task.record,
        HASH_PROPERTY: content_hash or task.content_hash,
    }
    body: dict[str, Any] = {
        "id": ident or event_id(task.key),
        "status": "confirmed",
        "summary": _summary(task),
        "description": _description(task),
        "start": _when(task.start, task.timezone),
        "end": _when(task.end, task.timezone),
        "colorId": KIND_COLOURS.get(task.kind, "1"),
        # Done: kept on the calendar, marked in its title, with nothing left to remind of.
        "reminders": _reminders(
            None if task.status == "done" else task.reminder_minutes, reminder_methods
        ),
        "extendedProperties": {"private": private},
    }
    if task.all_day:
        body["transparency"] = "transparent"  # a day-long to-do should not mark the day busy
    return body


def _clean(text: str) -> str:
    return _CONTROL.sub("", text)


def _summary(task: Task) -> str:
    summary = _clean(task.display_title).replace("\n", " ").strip() or task.rule
    if len(summary) > MAX_SUMMARY:
        summary = summary[: MAX_SUMMARY - 1] + "…"
    return summary


def _description(task: Task) -> str:
    footer = f"{_clean(task.application)}\n(followup: {task.key})"
    parts = [_clean(task.body).strip()]
    links = [link for link in task.links if link not in task.body]
    if links:
        parts.append("\n".join(_clean(link) for link in links))
    text = "\n\n".join(part for part in parts if part)
    room = MAX_DESCRIPTION - len(footer) - 2
    if len(text) > room:  # the draft is cut, the footer naming the task stays
        text = text[: max(0, room - 1)] + "…"
    return "\n\n".join(part for part in (text, footer[:MAX_DESCRIPTION]) if part)


def _when(value: datetime | date, zone: str | None) -> dict[str, str]:
    if not isinstance(value, datetime):
        return {"date": value.isoformat()}
    if zone is None:  # a bare offset has no zone name: state the instant in UTC
        return {"dateTime": value.astimezone(UTC).isoformat(), "timeZone": "UTC"}
    return {"dateTime": value.isoformat(), "timeZone": zone}


def _reminders(minutes: int | None, methods: tuple[str, ...]) -> dict[str, Any]:
    if minutes is None:
        return {"useDefault": False, "overrides": []}
    minutes = max(0, min(minutes, MAX_REMINDER_MINUTES))
    overrides = [{"method": method, "minutes": minutes} for method in methods]
    return {"useDefault": False, "overrides": overrides[:MAX_REMINDERS]}
