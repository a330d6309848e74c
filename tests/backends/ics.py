"""Contract-test backend for the `ics` exporter: the destination is a folder of .ics files."""

from __future__ import annotations

import errno
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import icalendar
from followup_ics import IcsExporter

from backends.base import RemoteItem
from followup.exporter import ExportContext, Exporter


class IcsBackend:
    def __init__(self, root: Path) -> None:
        self.output_dir = root / "calendars"
        self.state_dir = root / "ics-state"
        self.writes = 0
        self.writes_left: int | None = None  # None: never fail

    def make_exporter(self) -> Exporter:
        return _ObservedIcsExporter(
            self, {"output_dir": str(self.output_dir)}, ExportContext(state_dir=self.state_dir)
        )

    def remote_items(self) -> dict[str, RemoteItem]:
        return {item.key: item for item in self._live()}

    def live_count(self) -> int:
        return len(self._live())

    def _live(self) -> list[RemoteItem]:
        items = []
        for path in sorted(self.output_dir.glob("*.ics")):
            calendar = icalendar.Calendar.from_ical(path.read_bytes())
            for component in calendar.walk():
                if component.name not in ("VEVENT", "VTODO"):
                    continue
                if str(component.get("STATUS", "")) == "CANCELLED":
                    continue
                key = str(component["UID"]).removesuffix("@followup")
                when: Any = component.get("DTSTART") or component["DUE"]
                items.append(RemoteItem(key, str(component["SUMMARY"]), _iso(when.dt)))
        return items

    def write_requests(self) -> int:
        return self.writes

    def fail_after(self, writes: int) -> None:
        self.writes_left = writes

    def heal(self) -> None:
        self.writes_left = None

    def before_write(self) -> None:
        if self.writes_left is not None:
            if self.writes_left <= 0:
                raise OSError(errno.EIO, "injected write failure")
            self.writes_left -= 1


class _ObservedIcsExporter(IcsExporter):
    """The real exporter; every file write is counted and can be made to fail."""

    def __init__(
        self, backend: IcsBackend, options: Mapping[str, Any], context: ExportContext
    ) -> None:
        super().__init__(options, context)
        self.backend = backend

    def write_file(self, path: Path, data: bytes) -> None:
        self.backend.before_write()
        super().write_file(path, data)
        self.backend.writes += 1


def _iso(value: Any) -> str:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value.isoformat()


@contextmanager
def backend(tmp_path: Path) -> Iterator[IcsBackend]:
    yield IcsBackend(tmp_path)
