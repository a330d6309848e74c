"""One export run: build the exporter, sync the planned tasks, report what happened."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from followup.config import Settings, state_dir
from followup.errors import ExportFailed, UserError
from followup.exporter import ExportContext, Exporter
from followup.plugins import discover, load_exporter
from followup.record import InterviewRecord
from followup.state import StateStore
from followup.sync import Diff, Report, sync
from followup.tasks import Task

Echo = Callable[[str], None]


def open_state(*, read_only: bool = False) -> StateStore:
    return StateStore(state_dir() / "state.db", read_only=read_only)


def build_exporter(name: str, options: Mapping[str, Any], *, dry_run: bool) -> Exporter:
    try:
        exporter_class = load_exporter(name)
    except UserError:
        raise
    except Exception as error:  # a broken plugin must not look like our bug
        raise ExportFailed(f"the {name} exporter failed to load: {error}") from None
    known = {setting.name for setting in exporter_class.settings}
    unknown = sorted(set(options) - known)
    if unknown:
        raise UserError(
            f"{name}: unknown option {unknown[0]!r} (it takes: {', '.join(sorted(known)) or '-'})"
        )
    return exporter_class(options, ExportContext(state_dir=state_dir(), dry_run=dry_run))


def run_export(
    planned: Sequence[tuple[InterviewRecord, list[Task]]],
    destination: str,
    options: Mapping[str, Any],
    *,
    dry_run: bool,
    echo: Echo,
) -> Report:
    """Sync every planned task of these records to one destination and print a summary."""
    exporter = build_exporter(destination, options, dry_run=dry_run)
    ready, why = exporter.configured()
    if not ready and not dry_run:
        raise ExportFailed(f"{destination}: {why}")
    tasks = [task for _, tasks in planned for task in tasks]
    records = {record.id for record, _ in planned}

    store = open_state(read_only=dry_run)
    try:
        report = sync_with_progress(
            tasks, records, exporter, store, dry_run=dry_run, echo=echo, plain=False
        )
    finally:
        store.close()
        exporter.close()
    for notice in report.notices:
        echo(f"note: {notice}")
    for line in failure_lines(report):
        echo(line)
    prefix = "dry run, nothing written: would be " if dry_run else ""
    echo(f"{destination}: {prefix}{report.summary()}")
    if not report.ok:
        echo("Run the same command again to retry; what already landed will not be repeated.")
    return report


def failure_lines(report: Report) -> list[str]:
    """One line per failed task, or per distinct error when many failed alike."""
    if len(report.failures) <= 5:
        return [
            f"failed: {f.change.action} {f.change.task.key}: {f.error}" for f in report.failures
        ]
    by_error: dict[str, int] = {}
    for failure in report.failures:
        by_error[failure.error or ""] = by_error.get(failure.error or "", 0) + 1
    return [f"failed: {count} tasks: {error}" for error, count in by_error.items()]


def sync_with_progress(
    tasks: Sequence[Task],
    records: set[str],
    exporter: Exporter,
    store: StateStore,
    *,
    dry_run: bool,
    echo: Echo,
    prefix: str = "",
    plain: bool = True,
) -> Report:
    """`sync`, printing a dry run's operations, or a progress bar while writing."""
    bars: list[ProgressBar] = []  # started once the number of changes is known

    def on_plan(diff: Diff) -> None:
        if dry_run:
            for change in diff.changes:
                echo(f"{prefix}would {exporter.describe(change)}")
        elif diff.changes:
            bars.append(ProgressBar(exporter.name, len(diff.changes), echo, plain=plain))

    def tick(count: int) -> None:
        for bar in bars:
            bar.update(count)

    try:
        return sync(
            tasks,
            records,
            exporter,
            store,
            dry_run=dry_run,
            on_plan=on_plan,
            progress=tick,
            on_wait=echo,
        )
    finally:
        for bar in bars:
            bar.finish()


class ProgressBar:
    """A progress bar on a terminal; with `plain`, one line otherwise (logs, cron mail)."""

    def __init__(self, name: str, count: int, echo: Echo, *, plain: bool) -> None:
        self.bar: Any = None
        if sys.stderr.isatty():
            import click

            self.bar = click.progressbar(length=count, label=name, file=sys.stderr)
            self.bar.__enter__()
        elif plain:
            echo(f"{name}: writing {count} change(s)")

    def update(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def describe_exporters(settings: Settings) -> list[str]:
    """One line per installed exporter: name, origin, configured or why not."""
    lines = []
    for name, plugin in sorted(discover().items()):
        try:
            exporter_class = plugin.load()
            exporter = exporter_class(
                settings.exporters.get(name, {}), ExportContext(state_dir=state_dir())
            )
            ready, why = exporter.configured()
            status = "configured" if ready else f"not configured: {why}"
            lines.append(f"{name:<10} {status}  — {exporter_class.description}  [{plugin.origin}]")
        except Exception as error:  # a broken plugin is a warning, not a crash
            lines.append(f"{name:<10} warning: failed to load ({error})  [{plugin.origin}]")
    return lines or ["no exporters installed"]
