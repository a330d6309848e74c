"""The readable timeline `followup plan` prints."""

from __future__ import annotations

from datetime import datetime

from followup.record import InterviewRecord
from followup.tasks import Task


def when_text(task: Task) -> str:
    if isinstance(task.start, datetime):
        return f"{task.start:%a %Y-%m-%d %H:%M %Z}"
    return f"{task.start:%a %Y-%m-%d} all day"


def render_timeline(record: InterviewRecord, tasks: list[Task], now: datetime) -> str:
    from followup.planner import record_warnings

    lines = [f"{record.application}  [{record.id}, status {record.status}]"]
    lines.extend(f"  warning: {warning}" for warning in record_warnings(record))
    width = max((len(task.title) for task in tasks), default=0)
    for task in tasks:
        marks = []
        if task.late and task.status == "planned":
            marks.append("LATE: moved to the next working slot")
        if task.status == "done":
            marks.append(f"done {task.done_on}")
        elif task.status == "cancelled":
            marks.append("cancelled")
        elif _is_past(task, now):
            marks.append("past")
        if task.note:
            marks.append(task.note)
        people = ", ".join(task.people) or "-"
        line = f"  {when_text(task):<26} {task.title:<{width}}  {people:<14} {task.channel:<6}" + (
            f"  ({'; '.join(marks)})" if marks else ""
        )
        lines.append(line.rstrip())
    if not tasks:
        lines.append("  nothing to do")
    return "\n".join(lines)


def _is_past(task: Task, now: datetime) -> bool:
    if isinstance(task.due, datetime):
        return task.due < now
    return task.due < now.date()
