"""Sync: compare the plan with what a destination has (diff), then write the difference.

`diff` is pure. `apply` hands the changes to the exporter in batches and records every
success in the state store the moment it is reported, so an interrupted run is finished
by the next one without duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from followup.errors import ExportFailed
from followup.exporter import Change, Exporter, Outcome, SyncedTask
from followup.state import StateRow, StateStore
from followup.tasks import Task


@dataclass(frozen=True)
class Diff:
    changes: list[Change]
    unchanged: int


def diff(tasks: Iterable[Task], rows: Iterable[StateRow], records: set[str]) -> Diff:
    """The writes that bring a destination from `rows` to `tasks`, for `records` only."""
    known = {row.key: row for row in rows if row.record in records}
    changes: list[Change] = []
    unchanged = 0
    planned_keys = set()
    for task in tasks:
        planned_keys.add(task.key)
        row = known.get(task.key)
        if row is None:
            if task.status == "planned":
                changes.append(Change("create", task))
            continue
        was_cancelled = row.remote.status == "cancelled"
        if task.status == "cancelled":
            if was_cancelled:
                unchanged += 1
            else:
                changes.append(Change("cancel", task, row.remote))
        elif was_cancelled:
            changes.append(Change("create", task, row.remote))
        elif row.remote.content_hash != task.content_hash:
            changes.append(Change("update", task, row.remote))
        else:
            unchanged += 1
    for key, row in known.items():
        if key in planned_keys or row.remote.status == "cancelled":
            continue
        if row.task is not None:  # no longer planned at all: withdraw it
            changes.append(Change("cancel", row.task.cancelled(), row.remote))
    return Diff(changes, unchanged)


@dataclass
class Report:
    exporter: str
    target: str
    created: int = 0
    updated: int = 0
    cancelled: int = 0
    unchanged: int = 0
    failures: list[Outcome] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    publish_error: str | None = None  # a whole-file exporter could not write its files

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def ok(self) -> bool:
        return not self.failures and self.publish_error is None

    def count(self, outcome: Outcome) -> None:
        if not outcome.ok:
            self.failures.append(outcome)
        elif outcome.change.action == "create":
            self.created += 1
        elif outcome.change.action == "update":
            self.updated += 1
        else:
            self.cancelled += 1

    def summary(self) -> str:
        line = (
            f"{self.created} created, {self.updated} updated, "
            f"{self.cancelled} cancelled, {self.unchanged} unchanged"
        )
        line += f", {self.failed} failed" if self.failures else ""
        return line + (f"; not written: {self.publish_error}" if self.publish_error else "")


Progress = Callable[[int], None]


def apply(
    changes: Sequence[Change],
    exporter: Exporter,
    store: StateStore,
    report: Report,
    progress: Progress | None = None,
) -> None:
    """Write `changes` through `exporter` in batches, recording each success at once."""
    for start in range(0, len(changes), exporter.batch_size):
        batch = changes[start : start + exporter.batch_size]
        reported: set[str] = set()
        try:
            for outcome in exporter.apply(batch):
                reported.add(outcome.change.task.key)
                if outcome.ok:
                    store.record(
                        exporter.name,
                        exporter.target,
                        outcome.change.task,
                        outcome.remote_id,
                        bump_sequence=outcome.change.remote is not None,
                        extra=dict(outcome.extra),
                    )
                report.count(outcome)
                if progress:
                    progress(1)
        except ExportFailed as error:
            # The destination gave up: this batch's unreported changes and all later ones fail.
            for change in changes[start:]:
                if change.task.key not in reported:
                    report.count(Outcome(change, error=str(error)))
            return


def sync(
    tasks: Sequence[Task],
    records: set[str],
    exporter: Exporter,
    store: StateStore,
    *,
    dry_run: bool = False,
    on_plan: Callable[[Diff], None] | None = None,
    progress: Progress | None = None,
) -> Report:
    """Bring one destination up to date with the plan of `records`."""
    planned = diff(tasks, store.rows(exporter.name, exporter.target, records), records)
    report = Report(exporter.name, exporter.target, unchanged=planned.unchanged)
    if on_plan:
        on_plan(planned)
    if dry_run:
        for change in planned.changes:
            report.count(Outcome(change))  # what would happen, for the summary line
        return report
    apply(planned.changes, exporter, store, report, progress)
    rows = store.rows(exporter.name, exporter.target, records)
    try:
        exporter.publish([SyncedTask(row.task, row.remote) for row in rows if row.task])
    except ExportFailed as error:
        report.publish_error = str(error)
    report.notices.extend(exporter.context.notices)
    return report
