"""The `ics` exporter: one strict RFC 5545 `.ics` file per record.

Files are whole, so `apply` only assigns UIDs and `publish` writes each record's file
from the state store (atomically, and only when its bytes change), which keeps DTSTAMP,
SEQUENCE and the file itself stable across runs that change nothing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from followup.config import write_atomically
from followup.errors import ExportFailed, UserError
from followup.exporter import (
    Change,
    ExportContext,
    Exporter,
    Outcome,
    Setting,
    SyncedTask,
)
from followup_ics.calendar import COMPONENTS, CalendarItem, Component, render_calendar, uid_for

__all__ = ["IcsExporter"]

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class IcsExporter(Exporter):
    """Writes `<output_dir>/<record id>.ics`: VEVENTs by default, VTODOs with `--as todo`."""

    name = "ics"
    description = "an .ics calendar file per record (events, or to-dos with --as todo)"
    settings = (
        Setting("output_dir", "folder the .ics files are written to (-o)", default="."),
        Setting(
            "component", "event (calendars) or todo (Apple Reminders, Thunderbird)", default="event"
        ),
    )

    def __init__(self, options: Mapping[str, Any], context: ExportContext) -> None:
        super().__init__(options, context)
        component = self.options.get("component") or "event"
        if component not in COMPONENTS:
            raise UserError(f"--as: expected one of {', '.join(COMPONENTS)}, not {component!r}")
        self.component = cast(Component, component)
        self.output_dir = Path(self.options.get("output_dir") or ".").expanduser().resolve()

    @property
    def target(self) -> str:
        return str(self.output_dir)

    def configured(self) -> tuple[bool, str]:
        return True, f"writes {self.component}s to {self.output_dir}"

    def apply(self, changes: Sequence[Change]) -> Iterator[Outcome]:
        # Nothing to send: the files are rewritten whole by `publish` once state is recorded.
        for change in changes:
            yield Outcome(change, remote_id=uid_for(change.task.key))

    def publish(self, tasks: Iterable[SyncedTask]) -> None:
        by_record: dict[str, list[CalendarItem]] = defaultdict(list)
        for synced in tasks:
            by_record[synced.task.record].append(CalendarItem.from_synced(synced))
        for record, items in sorted(by_record.items()):
            name = items[0].task.application or record
            data = render_calendar(items, component=self.component, name=name)
            path = self.path_for(record)
            try:
                if path.exists() and path.read_bytes() == data:
                    continue
                self.output_dir.mkdir(parents=True, exist_ok=True)
                self.write_file(path, data)
            except OSError as error:
                raise ExportFailed(
                    f"could not write {path}: {error.strerror or error}; "
                    "fix the folder (or pick another with -o) and run the export again"
                ) from error

    def describe(self, change: Change) -> str:
        task = change.task
        return f"{change.action} {task.key} in {self.path_for(task.record).name}"

    def path_for(self, record: str) -> Path:
        """Where a record's calendar goes; the record id cannot escape the folder."""
        safe = _UNSAFE_FILENAME.sub("-", record).lstrip(".-") or "record"
        return self.output_dir / f"{safe}.ics"

    def write_file(self, path: Path, data: bytes) -> None:
        """Replace `path` atomically (a hook, so tests can make writes fail)."""
        write_atomically(path, data)

    @classmethod
    def feed_support(cls) -> ModuleType:
        """The feed builder and server behind `followup feed`, `serve` and `feed-url`."""
        from followup_ics import server

        return server
