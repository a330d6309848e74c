"""A Task as Todoist API v1 sync-command arguments. Pure: no network, no clock.

Limits are Todoist's own ("Usage limits in Todoist"): content ≤ 500 characters,
description ≤ 16383, project names ≤ 120, section names ≤ 2048, label names ≤ 60. Longer
text is cut with a marker, never refused, and control characters never reach the API.
Markup Todoist would render in a title (the patterns of Doist's own
todoist-api-typescript src/utils/sanitization.ts) is escaped so it shows as typed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from followup.exporter import Change
from followup.tasks import Task

MAX_COMMANDS = 100  # per /sync request
MAX_BODY = 1_000_000  # bytes of JSON per request: Todoist takes at most 1 MiB per POST
CONTENT_LIMIT = 500
DESCRIPTION_LIMIT = 16383
PROJECT_NAME_LIMIT = 120
SECTION_NAME_LIMIT = 2048
LABEL_LIMIT = 60
ELLIPSIS = "…"
DESCRIPTION_CUT = "\n\n… (cut to fit Todoist; the full draft is in `followup plan`)"
KEY_PREFIX = "followup: "  # last description line: which follow-up this task is
BASE_LABEL = "followup"
_MARKER = re.compile(r"^followup: (?P<key>.+?)(?: \(v (?P<hash>[0-9a-f]{32})\))?$")
# What Todoist renders in a task's content: emphasis with * _ !, `code`, [text](url),
# "url (text)" links, and a leading "* " that makes the task uncompletable.
_MARKUP = (
    re.compile(r"(^|[\s!?,;>:]+)(?:\*\*|__|!!|\*|_|!)(.+?)(\*\*|__|!!|\*|_|!)(?=$|[\s!?,;><:]+)"),
    re.compile(r"`[^`]+`"),
    re.compile(r"\[.+?\]\(.+?\)"),
    re.compile(r"[\w-]+://\S+\s+[\[(][^)]+[\])]"),
    re.compile(r"^\* "),
)
_MARKUP_CHARS = re.compile(r"([\\*_!\[\]()])")

# Command uuids are uuid5 names under this namespace, so a retried command repeats its uuid.
_NAMESPACE = uuid.UUID("3f1c2a9e-6b1d-4c55-9a57-6f0d3c9b1e42")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_SPACE = re.compile(r"\s+")


def one_line(text: str) -> str:
    """Text for a single-line field: no control characters or line breaks."""
    return _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()


def clip(text: str, limit: int, marker: str = ELLIPSIS) -> str:
    """`text` cut to `limit` characters, ending with `marker` when it was cut."""
    if len(text) <= limit:
        return text
    return text[: limit - len(marker)].rstrip() + marker


def plain(text: str) -> str:
    """`text` as Todoist shows it typed: markup characters escaped when it would render.
    A backslash does not stop a pair of backticks, so those become look-alike accents."""
    if not any(pattern.search(text) for pattern in _MARKUP):
        return text
    return _MARKUP_CHARS.sub(r"\\\1", text.replace("`", "\u02cb"))


def content(task: Task) -> str:
    return clip(plain(one_line(task.title) or task.key), CONTENT_LIMIT)


def description(task: Task) -> str:
    """The draft (with its mailto:/tel: links), then a last line naming the task's key and
    the content hash it was written from, so a lookup can tell whether it is current."""
    footer = clip(f"{KEY_PREFIX}{one_line(task.key)} (v {task.content_hash})", 1000)
    body = _CONTROL.sub("", task.body.replace("\r\n", "\n").replace("\r", "\n")).strip()
    room = DESCRIPTION_LIMIT - len(footer) - 2
    return f"{clip(body, room, DESCRIPTION_CUT)}\n\n{footer}" if body else footer


def marker(description_text: str) -> tuple[str, str | None] | None:
    """(task key, content hash or None) from a description's last line."""
    found = _MARKER.match(description_text.rpartition("\n")[2])
    return (found["key"], found["hash"]) if found else None


def key_of(description_text: str) -> str | None:
    """The task key a description written by `description` carries."""
    found = marker(description_text)
    return found[0] if found else None


def section_name(task: Task) -> str:
    return clip(one_line(task.application) or task.record, SECTION_NAME_LIMIT)


def project_name(setting: str) -> str:
    return clip(one_line(setting), PROJECT_NAME_LIMIT) or "Job search"


def priority(task: Task) -> int:
    """Todoist counts the other way round: its 4 is the UI's P1, the most urgent."""
    return min(4, max(1, 5 - task.priority))


def priority_shown(api_priority: int) -> str:
    """What Todoist's apps call an API priority: 4 is P1."""
    return f"P{5 - api_priority}"


def application_label(task: Task) -> str:
    """The label that stands for the application's section when a project has no room."""
    return clip(section_name(task), LABEL_LIMIT)


def labels(task: Task, *extra: str) -> list[str]:
    names = [BASE_LABEL, *task.labels, *extra]
    cleaned = (clip(one_line(name), LABEL_LIMIT, "") for name in names)
    return list(dict.fromkeys(name for name in cleaned if name))


def due(task: Task) -> dict[str, str]:
    """A fixed-timezone due (UTC instant + zone) so it shows at the intended local time.

    The task's start is the moment to act, so it is Todoist's due (its time block starts
    there and the reminder counts back from it); all-day items are plain dates.
    """
    if not isinstance(task.start, datetime):
        return {"date": task.start.isoformat()}
    instant = task.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"date": instant, "timezone": task.timezone or "UTC"}


def duration(task: Task) -> dict[str, Any] | None:
    if task.all_day or task.duration_minutes <= 0:
        return None
    return {"amount": task.duration_minutes, "unit": "minute"}


def reminder_minutes(task: Task) -> int | None:
    """Minutes before the due time for a relative reminder; None when there is none."""
    if task.all_day or task.reminder_minutes is None or task.reminder_minutes < 0:
        return None
    return task.reminder_minutes


def task_fields(task: Task, *extra_labels: str) -> dict[str, Any]:
    """The fields item_add and item_update share."""
    return {
        "content": content(task),
        "description": description(task),
        "priority": priority(task),
        "labels": labels(task, *extra_labels),
        "due": due(task),
        "duration": duration(task),
    }


def command_uuid(scope: str, change: Change, step: str) -> str:
    """The same change of the same task from the same state always gets the same uuid.

    `scope` names the account and the state it was planned from, so two accounts or a
    fresh state never share one. The sequence tells apart two visits of one content (a
    task cancelled, then planned again unchanged), so Todoist never mistakes a new write
    for a replay of an old one.
    """
    sequence = change.remote.sequence if change.remote is not None else -1
    parts = (scope, change.task.key, change.action, change.task.content_hash, str(sequence), step)
    return str(uuid.uuid5(_NAMESPACE, "|".join(parts)))


def layout_uuid(kind: str, name: str, item_uuids: Iterable[str]) -> str:
    """A project_add/section_add uuid (also its temp id), named by what it creates and the
    item commands that go in it: sending the same batch again repeats it, so Todoist
    replays the first answer; another batch gets its own, never a replay of an old id."""
    return str(uuid.uuid5(_NAMESPACE, "|".join((kind, name, *sorted(item_uuids)))))
