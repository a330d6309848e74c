"""The living plan: what the person did (`followup done`), the next round (`followup round`),
and what is due across the search (`followup list`).

Everything is written into the record file itself, keeping the person's comments and
layout, so the record stays the one source of truth they can read, edit and back up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from followup.errors import UserError

if TYPE_CHECKING:
    from followup.config import Settings
    from followup.record import InterviewRecord
    from followup.tasks import Task

RECORD_FILE = click.Path(path_type=Path, dir_okay=False)


# --- the library ----------------------------------------------------------------------


def find_task(tasks: Sequence[Task], wanted: str) -> Task:
    """The task `wanted` names: its key, its key without the record id, or its rule when
    the rule has one task (`check-in`); else exit 2 listing what it could be."""
    text = wanted.strip().lower().strip("/")
    exact = [task for task in tasks if text in (task.key, task.ref)]
    by_rule = [task for task in tasks if task.rule == text]
    matches = exact or by_rule
    if len(matches) == 1:
        return matches[0]
    choices = ", ".join(task.ref for task in (matches or tasks))
    if matches:
        raise UserError(f"{wanted!r} is more than one task; name one of: {choices}")
    raise UserError(f"no task {wanted!r} in this record's plan; it has: {choices}")


def mark_done(path: Path, task: Task, on: date | None) -> InterviewRecord:
    """Record in the file that `task` was done on `on` (None: no longer done)."""
    from followup.outcome import REMOVE, edit_record

    text = _read(path)
    value: Any = REMOVE if on is None else on
    record = edit_record(path, text, {f"done.{task.ref}": value})
    return record if record is not None else _loaded(path, text)


def record_completions(
    path: Path, record: InterviewRecord, days: dict[str, date]
) -> InterviewRecord:
    """Write completions read back from a destination; what the record already says wins."""
    from followup.outcome import edit_record

    new = {f"done.{ref}": day for ref, day in sorted(days.items()) if ref not in record.done}
    return edit_record(path, _read(path), new) or record


def add_round(path: Path, interview: dict[str, Any]) -> InterviewRecord:
    """Append the next interview round to the record file (same id, comments kept)."""
    from followup.outcome import append_interview

    return append_interview(path, _read(path), interview)


def _read(path: Path) -> str:
    from followup.record import read_record_text

    return read_record_text(path)


def _loaded(path: Path, text: str) -> InterviewRecord:
    from followup.record import record_from_text

    return record_from_text(path, text)


@dataclass(frozen=True)
class Agenda:
    """One application in `followup list`: what is due or overdue, and what comes next."""

    record: InterviewRecord
    path: Path
    due: list[Task]  # due by the end of today, oldest first (done ones only with --all)
    upcoming: Task | None


def agenda(
    records: Sequence[tuple[Path, InterviewRecord]],
    settings: Settings,
    now: datetime,
    *,
    show_done: bool = False,
) -> list[Agenda]:
    """Every application with its due tasks, those with overdue work first."""
    from followup.jobsearch import instant
    from followup.planner import plan_record

    found = []
    end_of_today = datetime.combine(now.date(), datetime.max.time(), now.tzinfo)
    for path, record in records:
        tasks = plan_record(record, settings, now)
        wanted = ("planned", "done") if show_done else ("planned",)
        shown = [task for task in tasks if task.status in wanted]
        due = [task for task in shown if instant(task.start, now) <= end_of_today]
        later = [
            task
            for task in tasks
            if task.status == "planned" and instant(task.start, now) > end_of_today
        ]
        upcoming = min(later, key=lambda task: instant(task.start, now), default=None)
        found.append(Agenda(record, path, due, upcoming))

    def order(item: Agenda) -> tuple[int, datetime, str]:
        open_due = [task for task in item.due if task.status == "planned"]
        if open_due:
            return (0, min(instant(task.start, now) for task in open_due), item.record.id)
        if item.upcoming is not None:
            return (1, instant(item.upcoming.start, now), item.record.id)
        return (2, now, item.record.id)

    return sorted(found, key=order)


def draft_command(path: Path, task: Task) -> str:
    """The command that shows a task's draft."""
    command = f"followup draft {path}"
    parts = task.ref.split("/")
    # A task per interviewer ends its key with the person (`thank-you/round-2/jane-doe`).
    if task.people and len(parts) > 1 and not parts[-1].startswith("round-"):
        command += f' --interviewer "{task.people[0]}"'
    return command


# --- the commands ---------------------------------------------------------------------


@click.command()
@click.argument("file", type=RECORD_FILE)
@click.argument("task")
@click.option("--on", "on", metavar="DATE", help="The day you did it (default: today).")
@click.option("--undo", is_flag=True, help="It was not done after all.")
@click.pass_context
def done(ctx: click.Context, file: Path, task: str, on: str | None, undo: bool) -> None:
    """Record that you did a task (by rule, or by key): it is shown done everywhere, and
    what follows counts from the day you did it. Then run `followup sync`.

    \b
    Example:
      followup done acme.yaml thank-you/jane-doe
      followup done acme.yaml check-in --on 2026-12-07
      followup done acme.yaml check-in --undo
    """
    from followup.cli import current_time, load_settings
    from followup.planner import plan_record
    from followup.record import load_record
    from followup.timeline import render_timeline

    settings = load_settings()
    now = current_time(ctx)
    if undo and on:
        raise UserError("--undo takes no --on date")
    day = None if undo else _date_option("--on", on) or now.date()
    record = load_record(file)
    chosen = find_task(plan_record(record, settings, now), task)
    if day is not None and chosen.status == "cancelled":
        raise UserError(f"{chosen.ref} is cancelled ({record.status}); nothing to mark done")
    updated = mark_done(file, chosen, day)
    what = "not done" if day is None else f"done on {day}"
    click.echo(f"{file}: {chosen.ref} {what}")
    click.echo(render_timeline(updated, plan_record(updated, settings, now), now))
    click.echo("next: followup sync   (updates every destination)")


@click.command("round")
@click.argument("file", type=RECORD_FILE)
@click.option("--at", "at", required=True, metavar="DATETIME", help="When, e.g. 2026-12-02 10:00.")
@click.option(
    "--interviewer",
    "interviewers",
    multiple=True,
    required=True,
    metavar='"NAME <EMAIL>: TOPIC; TOPIC"',
    help="Who you will meet (repeat for each).",
)
@click.option("--duration", default="60m", show_default=True, help="How long, e.g. 45m or 3h.")
@click.option(
    "--kind", type=click.Choice(["phone", "video", "onsite"]), default="video", show_default=True
)
@click.option("--decision-by", metavar="DATE", help="Their new decision date, if they gave one.")
@click.pass_context
def round_command(
    ctx: click.Context,
    file: Path,
    at: str,
    interviewers: tuple[str, ...],
    duration: str,
    kind: str,
    decision_by: str | None,
) -> None:
    """Add the next interview round to a record (same id, your comments kept): its
    thank-yous are planned and the check-ins follow it. Then run `followup sync`.

    \b
    Example:
      followup round acme.yaml --at "2026-12-02 10:00" --kind onsite \\
        --interviewer "Sam Lee <sam@acme.example>: system design; team rituals"
    """
    from followup.cli import current_time, load_settings
    from followup.planner import plan_record
    from followup.record import parse_interviewer
    from followup.timeline import render_timeline

    settings = load_settings()
    now = current_time(ctx)
    try:
        when = datetime.fromisoformat(at.strip())
    except ValueError:
        raise UserError(f"--at: not a date-time like 2026-12-02 10:00: {at!r}") from None
    if when.tzinfo is not None:
        raise UserError("--at: write the local time without an offset (the record's zone)")
    interview = {
        "at": when.strftime("%Y-%m-%d %H:%M"),
        "duration": duration,
        "kind": kind,
        "interviewers": [parse_interviewer(text) for text in interviewers],
    }
    record = add_round(file, interview)
    decided = _date_option("--decision-by", decision_by)
    if decided is not None:
        from followup.outcome import edit_record

        record = edit_record(file, _read(file), {"decision.expected_by": decided}) or record
    click.echo(f"{file}: round {len(record.interviews)} on {interview['at']}")
    click.echo(render_timeline(record, plan_record(record, settings, now), now))
    click.echo("next: followup sync   (updates every destination)")


@click.command("list")
@click.argument("folder", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--all", "show_all", is_flag=True, help="Show what you marked done, too.")
@click.pass_context
def list_command(ctx: click.Context, folder: Path | None, show_all: bool) -> None:
    """What is due or overdue across your applications, grouped by application, with the
    command that shows each draft; then what comes next.

    \b
    Example:
      followup list ~/job-search
      followup list --all
    """
    from followup.cli import _folder_argument, current_time, load_settings
    from followup.jobsearch import instant, load_folder
    from followup.timeline import when_text

    settings = load_settings()
    now = current_time(ctx)
    loaded = load_folder(_folder_argument(folder, settings))
    for message in loaded.errors:
        click.echo(f"skipped {message}", err=True)
    for item in agenda(loaded.records, settings, now, show_done=show_all):
        record = item.record
        click.echo(f"{record.application}  [{record.status}]  {item.path}")
        for task in item.due:
            if task.status == "done":
                mark = f"done {record.done[task.ref]}"
            else:
                mark = "overdue" if instant(task.due, now) < now else "due"
            click.echo(f"  {mark:<15} {when_text(task):<26} {task.title}")
            if task.status == "planned" and task.kind in ("email", "call", "mail"):
                click.echo(f"  {'':<15} draft: {draft_command(item.path, task)}")
        if item.upcoming is not None:
            click.echo(f"  {'next':<15} {when_text(item.upcoming):<26} {item.upcoming.title}")
        elif not item.due:
            click.echo(f"  {'':<15} nothing planned")
    if not loaded.records:
        click.echo("no records yet: `followup new` after an interview")
    if loaded.errors:
        raise click.exceptions.Exit(2)


def _date_option(name: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{name}: not a date like 2026-12-01: {text!r}") from None
