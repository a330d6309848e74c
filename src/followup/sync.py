"""Sync: compare the plan with what a destination has (diff), then write the difference.

`diff` is pure. `apply` hands the changes to the exporter in batches, marks each write in
flight before it is sent and records every success the moment it is reported. `reconcile`
starts the next run by asking the destination about every write whose outcome was never
learnt, so an interrupted run is finished without duplicates, even after an edit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from followup.errors import ExportFailed
from followup.exporter import Change, Exporter, Found, Outcome, SyncedTask
from followup.state import InFlight, StateRow, StateStore
from followup.tasks import Task


@dataclass(frozen=True)
class Diff:
    changes: list[Change]
    unchanged: int


def diff(
    tasks: Iterable[Task],
    rows: Iterable[StateRow],
    records: set[str],
    content_hash: Callable[[Task], str] = lambda task: task.content_hash,
) -> Diff:
    """The writes that bring a destination from `rows` to `tasks`, for `records` only.

    `content_hash` is the exporter's (`Exporter.content_hash`): it also covers the options
    that shape items there, so changing one updates what already stands.
    """
    known = {row.key: row for row in rows if row.record in records}
    changes: list[Change] = []
    unchanged = 0
    planned_keys = set()
    for task in tasks:
        planned_keys.add(task.key)
        row = known.get(task.key)
        was_cancelled = row is not None and row.remote.status == "cancelled"
        if row is None or was_cancelled:
            if task.status == "planned":
                changes.append(Change("create", task, row.remote if row else None))
            elif row is not None:
                unchanged += 1
            # Done before it ever got there (or after it was called off): nothing to show.
            continue
        if task.status == "cancelled":
            changes.append(Change("cancel", task, row.remote))
        elif row.remote.content_hash != content_hash(task):
            changes.append(Change("update", task, row.remote))  # a done task is kept, marked
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
    planned: list[Change] = field(default_factory=list)  # what the diff asked for

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
) -> dict[str, Task]:
    """Write `changes` through `exporter` in batches, recording each success at once.
    Returns the tasks recorded, by key.

    A write stays in flight until its success is recorded: a failure may still have landed
    (a timeout, a lost answer), so the next run asks before sending it again. A local
    exporter's writes are the state rows themselves (nothing lands elsewhere), so each of
    its batches is recorded in one transaction, with nothing in flight.
    """
    target = exporter.target
    recorded: dict[str, Task] = {}
    for start in range(0, len(changes), exporter.batch_size):
        batch = changes[start : start + exporter.batch_size]
        reported: set[str] = set()
        if not exporter.local:
            store.mark_in_flight(exporter.name, target, batch)
        with store.transaction() if exporter.local else contextlib.nullcontext():
            try:
                for outcome in exporter.apply(batch):
                    reported.add(outcome.change.task.key)
                    if outcome.ok:
                        _record(outcome, exporter, store)
                        recorded[outcome.change.task.key] = outcome.change.task
                    report.count(outcome)
                    if progress:
                        progress(1)
            except ExportFailed as error:
                # The destination gave up: this batch's unreported changes and all later fail.
                for change in changes[start:]:
                    if change.task.key not in reported:
                        report.count(Outcome(change, error=str(error)))
                return recorded
    return recorded


def _record(outcome: Outcome, exporter: Exporter, store: StateStore) -> None:
    """Remember a success (and that it is no longer in flight), in a transaction of its own
    unless the exporter is local (its batch is one transaction)."""
    task, target = outcome.change.task, exporter.target
    with contextlib.nullcontext() if exporter.local else store.transaction():
        store.record(
            exporter.name,
            target,
            task,
            outcome.remote_id,
            bump_sequence=outcome.change.remote is not None,
            extra=dict(outcome.extra),
            content_hash=exporter.content_hash(task),
        )
        if not exporter.local:
            store.settle(exporter.name, target, [task.key])


def reconcile(tasks: Sequence[Task], exporter: Exporter, store: StateStore) -> list[str]:
    """Settle what the state store cannot vouch for by asking the destination, by key.

    Every write in flight (sent, never confirmed) and, at a target this store has no rows
    for (a first run, a lost database, another account), every planned task. What stands
    there is adopted; an in-flight write that did not land is forgotten, so `diff` plans it
    again from the record as it is now. Returns notices for the person.
    """
    name, target = exporter.name, exporter.target
    pending = {entry.task.key: entry for entry in store.in_flight(name, target)}
    adopting = [] if store.has_rows(name, target) else [t for t in tasks if t.status == "planned"]
    asked = {entry.task.key: entry.task for entry in pending.values()}
    asked.update((task.key, task) for task in adopting if task.key not in asked)
    if not asked:
        return []
    found = exporter.lookup(list(asked.values()))
    if found is None:  # it cannot tell: in-flight writes are sent again, as before
        return []
    with store.transaction():
        for key, entry in pending.items():
            _settle_in_flight(name, target, entry, found.get(key), store)
        adopted = [task for task in adopting if task.key in found and task.key not in pending]
        for task in adopted:
            _adopt(name, target, task, found[task.key], store)
        store.settle(name, target, pending)
    if adopted:
        return [
            f"{name}: adopted {len(adopted)} item(s) already there that this computer's state"
            " did not know (a first run here, or a lost state database); nothing was duplicated"
        ]
    return []


def _settle_in_flight(
    name: str, target: str, entry: InFlight, found: Found | None, store: StateStore
) -> None:
    if entry.action == "cancel":
        if found is None or found.done:  # gone (or completed by the person): the cancel holds
            store.record(name, target, entry.task, None, bump_sequence=True)
        return  # still there: the row stays as it was, and diff cancels it again
    if found is not None:
        _adopt(name, target, entry.task, found, store)
    # Not there: a create is planned again by diff; an update is sent again to the old id.


def _adopt(name: str, target: str, task: Task, found: Found, store: StateStore) -> None:
    extra = {**found.extra, "done": True} if found.done else dict(found.extra)
    store.record(
        name,
        target,
        task,
        found.remote_id,
        bump_sequence=False,
        extra=extra,
        content_hash=found.content_hash or "",  # unknown content: diff sends an update
    )


def _planned(
    tasks: Sequence[Task],
    records: set[str],
    exporter: Exporter,
    store: StateStore,
    on_plan: Callable[[Diff], None] | None,
) -> Report:
    """The diff against what the state store says the destination holds, as a report."""
    rows = store.rows(exporter.name, exporter.target, records)
    planned = diff(tasks, rows, records, exporter.content_hash)
    if on_plan:
        on_plan(planned)
    return Report(
        exporter.name, exporter.target, unchanged=planned.unchanged, planned=planned.changes
    )


def sync(
    tasks: Sequence[Task],
    records: set[str],
    exporter: Exporter,
    store: StateStore,
    *,
    dry_run: bool = False,
    on_plan: Callable[[Diff], None] | None = None,
    progress: Progress | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Report:
    """Bring one destination up to date with the plan of `records`.

    One writer per destination: the lock is taken before the exporter resolves its target,
    so containers (a calendar, a project) are never created by two runs at once.
    """
    if dry_run:
        report = _planned(tasks, records, exporter, store, on_plan)
        for change in report.planned:
            report.count(Outcome(change))  # what would happen, for the summary line
        return report
    with store.writer(exporter.name, on_wait):
        notices = reconcile(tasks, exporter, store)
        report = _planned(tasks, records, exporter, store, on_plan)
        report.notices.extend(store.notices + notices)
        recorded = apply(report.planned, exporter, store, report, progress)
        # What was just written is taken as it is, not read back and decoded.
        rows = store.rows(exporter.name, exporter.target, records, written=recorded)
        try:
            exporter.publish([SyncedTask(row.task, row.remote) for row in rows if row.task])
        except ExportFailed as error:
            report.publish_error = str(error)
    report.notices.extend(exporter.context.notices)
    return report
