"""The job-search folder as a whole: load every record, sync it everywhere, list it.

`sync_folder` brings each configured destination up to date with every record of the
folder. A record that fails to load is reported and skipped; a record whose file was
deleted has its tasks cancelled, but only once the person agrees (or passes `--prune`),
and never while some file fails to load (that file may be the "missing" record).
Exporters are reached only through `followup.export.build_exporter`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from followup.config import Settings
from followup.errors import FollowupError, UserError
from followup.planner import plan_record
from followup.record import InterviewRecord, find_records, load_record
from followup.tasks import Task

if TYPE_CHECKING:
    from followup.exporter import Exporter
    from followup.state import StateStore
    from followup.sync import Report

Echo = Callable[[str], None]
# Asked once with the ids of deleted records that still have live tasks somewhere.
ConfirmPrune = Callable[[list[str]], bool]
# The feed reads the folder itself (`followup serve` / `followup feed`); sync leaves it be.
SELF_UPDATING = frozenset({"feed"})


@dataclass
class Folder:
    """The loadable records of a folder (with their files) and one message per failure."""

    path: Path
    records: list[tuple[Path, InterviewRecord]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ids(self) -> set[str]:
        return {record.id for _, record in self.records}


def load_folder(folder: Path) -> Folder:
    """Every record file of `folder`; a file that fails to load does not stop the others."""
    try:
        paths = find_records(folder)
    except FileNotFoundError:
        raise UserError(f"{folder}: no such folder") from None
    except NotADirectoryError:
        raise UserError(f"{folder}: not a folder") from None
    loaded = Folder(folder)
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            record = load_record(path)
        except FollowupError as error:
            loaded.errors.append(str(error))
            continue
        if record.id in seen:
            loaded.errors.append(f"{path}: id: {record.id!r} is also the id of {seen[record.id]}")
            continue
        seen[record.id] = path
        loaded.records.append((path, record))
    return loaded


def plan_folder(folder: Folder, settings: Settings, now: datetime) -> dict[str, list[Task]]:
    return {record.id: plan_record(record, settings, now) for _, record in folder.records}


@dataclass
class DestinationResult:
    """How one destination fared: its report, or why it could not be synced at all."""

    name: str
    report: Report | None = None
    error: str | None = None
    pruned: list[str] = field(default_factory=list)  # deleted records cancelled here

    @property
    def ok(self) -> bool:
        return self.error is None and self.report is not None and self.report.ok


@dataclass
class _Prepared:
    name: str
    exporter: Exporter
    store: StateStore
    gone: set[str]  # deleted records with live tasks at this destination


def sync_folder(
    folder: Folder,
    settings: Settings,
    now: datetime,
    destinations: Sequence[str],
    *,
    dry_run: bool,
    prune: bool,
    confirm_prune: ConfirmPrune,
    echo: Echo,
) -> list[DestinationResult]:
    """Sync every loadable record of `folder` to each destination; one failing spares the rest.

    What the person checked off at a destination is first written into the records (as
    `followup done` would), so the plan every destination then receives follows it.
    """
    results: list[DestinationResult] = []
    prepared: list[_Prepared] = []
    locks = ExitStack()  # each destination's writer lock, from before its target is resolved
    try:
        for name in destinations:
            try:
                prepared.append(_prepare(name, settings, folder, locks, dry_run=dry_run, echo=echo))
            except FollowupError as error:
                results.append(DestinationResult(name, error=str(error)))
        for destination in prepared:
            try:
                take_in_completions(destination, folder, settings, dry_run=dry_run, echo=echo)
            except FollowupError as error:
                echo(f"{destination.name}: could not read what you checked off there: {error}")
        plans = plan_folder(folder, settings, now)
        gone = sorted(set().union(*(p.gone for p in prepared)))
        agreed = bool(gone) and (prune or (not dry_run and confirm_prune(gone)))
        if gone and not agreed:
            echo(
                f"kept the tasks of {len(gone)} deleted record(s) ({', '.join(gone)}); "
                "run with --prune to cancel them"
            )
        for destination in prepared:
            pruned = sorted(destination.gone) if agreed else []
            results.append(_sync_one(destination, plans, pruned, dry_run=dry_run, echo=echo))
    finally:
        locks.close()
        for destination in prepared:
            destination.store.close()
            destination.exporter.close()
    order = {name: index for index, name in enumerate(destinations)}
    return sorted(results, key=lambda result: order[result.name])


def take_in_completions(
    destination: _Prepared, folder: Folder, settings: Settings, *, dry_run: bool, echo: Echo
) -> None:
    """Record in each record file what was checked off at `destination`, once per
    completion: undone later with `followup done --undo`, it is not taken in again."""
    from followup.exporter import SyncedTask
    from followup.living import record_completions

    exporter, store = destination.exporter, destination.store
    paths = {record.id: (index, path) for index, (path, record) in enumerate(folder.records)}
    open_rows = [
        row
        for row in store.rows(exporter.name, exporter.target, set(paths))
        if row.task is not None and row.remote.status == "planned"
    ]
    if not open_rows:
        return
    checked = exporter.completions(
        [SyncedTask(row.task, row.remote) for row in open_rows if row.task]
    )
    rows = {row.key: row for row in open_rows}
    fresh = {
        key: when
        for key, when in checked.items()
        if key in rows and rows[key].remote.extra.get("completion") != when.isoformat()
    }
    zone = ZoneInfo(settings.timezone) if settings.timezone else None
    by_record: dict[str, dict[str, date]] = {}
    for key, when in sorted(fresh.items()):
        record_id, _, ref = key.partition("/")
        by_record.setdefault(record_id, {})[ref] = when.astimezone(zone).date()
    for record_id, days in by_record.items():
        index, path = paths[record_id]
        names = ", ".join(f"{ref} ({day})" for ref, day in days.items())
        if dry_run:
            echo(f"{exporter.name}: would record as done in {path}: {names}")
            continue
        folder.records[index] = (path, record_completions(path, folder.records[index][1], days))
        echo(f"{exporter.name}: checked off there, recorded as done in {path}: {names}")
    if not dry_run:
        with store.transaction():
            for key, when in fresh.items():
                store.annotate(
                    exporter.name, exporter.target, key, {"completion": when.isoformat()}
                )


def _prepare(
    name: str, settings: Settings, folder: Folder, locks: ExitStack, *, dry_run: bool, echo: Echo
) -> _Prepared:
    from followup.export import build_exporter, open_state

    exporter = build_exporter(name, settings.exporters.get(name, {}), dry_run=dry_run)
    ready, why = exporter.configured()
    if not ready and not dry_run:
        exporter.close()
        raise UserError(why)
    store = open_state(read_only=dry_run)
    gone: set[str] = set()
    try:
        if not dry_run:
            locks.enter_context(store.writer(exporter.name, echo))
        if not folder.errors:  # a file that failed to load may be the record that looks deleted
            live = {
                row.record
                for row in store.rows(exporter.name, exporter.target)
                if row.remote.status != "cancelled"
            }
            gone = live - folder.ids
    except BaseException:  # this destination is not synced: release what it holds
        store.close()
        exporter.close()
        raise
    return _Prepared(name, exporter, store, gone)


def _sync_one(
    destination: _Prepared,
    plans: dict[str, list[Task]],
    pruned: list[str],
    *,
    dry_run: bool,
    echo: Echo,
) -> DestinationResult:
    from followup.errors import ExportFailed
    from followup.export import sync_with_progress

    name, exporter = destination.name, destination.exporter
    tasks = [task for tasks in plans.values() for task in tasks]
    try:
        report = sync_with_progress(
            tasks,
            set(plans) | set(pruned),
            exporter,
            destination.store,
            dry_run=dry_run,
            echo=echo,
            prefix=f"{name}: ",
        )
    except ExportFailed as error:
        return DestinationResult(name, error=str(error))
    return DestinationResult(name, report=report, pruned=pruned)


def summary_table(results: Sequence[DestinationResult]) -> list[str]:
    """A fixed-width table, one row per destination."""
    columns = ("created", "updated", "cancelled", "unchanged", "failed")
    width = max([len("destination"), *(len(result.name) for result in results)])
    lines = [f"{'destination':<{width}}  " + "  ".join(f"{c:>9}" for c in columns)]
    for result in results:
        report = result.report
        if report is None:
            lines.append(f"{result.name:<{width}}  could not sync: {result.error}")
            continue
        counts = (report.created, report.updated, report.cancelled, report.unchanged)
        failed = report.failed + (1 if report.publish_error else 0)
        lines.append(f"{result.name:<{width}}  " + "  ".join(f"{n:>9}" for n in (*counts, failed)))
    return lines


def synced_destinations(store: StateStore, record: str) -> list[tuple[str, str]]:
    """Every (exporter, target) that holds tasks of `record`, exports and feeds included."""
    query = "SELECT DISTINCT exporter, target FROM synced WHERE record = ? ORDER BY 1, 2"
    return [(exporter, target) for exporter, target in store.db.execute(query, (record,))]


def instant(when: datetime | date, now: datetime) -> datetime:
    """An all-day date counts as the end of that day in the person's own zone."""
    if isinstance(when, datetime):
        return when
    return datetime.combine(when, time(23, 59), now.tzinfo)
