"""The CalDAV backend for the contract tests: the real exporter and python-caldav against a
real Radicale on 127.0.0.1.

Which follow-up an object is comes from the server alone — every calendar object of every
calendar the user has, read straight from Radicale over CalDAV and parsed back with
icalendar — so a duplicate, a stray object or one in the wrong calendar shows up here
rather than hiding behind the state store. Failing writes are Radicale's answers replaced
by 503s in front of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from followup_caldav import CalDavExporter
from radicale_server import PASSWORD, USER, RadicaleServer, radicale

from backends.base import RemoteItem
from followup.exporter import ExportContext

EVERY_OBJECT = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"/></C:filter>
</C:calendar-query>"""


class CalDavBackend:
    def __init__(self, server: RadicaleServer, state_dir: Path, options: dict[str, str]) -> None:
        self.server = server
        self.state_dir = state_dir
        self.options = {"url": server.url, "username": USER, **options}
        self.delays: list[float] = []  # what the exporter asked to sleep; nobody really waits

    def make_exporter(self) -> CalDavExporter:
        context = ExportContext(state_dir=self.state_dir)
        return CalDavExporter(self.options, context, sleep=self.delays.append)

    def objects(self) -> list[Any]:
        """Every VEVENT and VTODO in every calendar of the user, as icalendar components."""
        import caldav
        import icalendar

        found = []
        with caldav.DAVClient(url=self.server.url, username=USER, password=PASSWORD) as client:
            for calendar in client.principal().calendars():
                answer = client.report(str(calendar.url), EVERY_OBJECT, depth=1)
                for result in answer.parse_calendar_query():
                    parsed = icalendar.Calendar.from_ical(result.calendar_data)
                    found += [c for c in parsed.walk() if c.name in ("VEVENT", "VTODO")]
        return found

    def _live(self) -> list[RemoteItem]:
        items = []
        for component in self.objects():
            if str(component.get("STATUS", "")) in ("CANCELLED", "COMPLETED"):
                continue
            key = str(component["UID"]).removesuffix("@followup")
            when: Any = component.get("DTSTART") or component["DUE"]
            items.append(RemoteItem(key, str(component["SUMMARY"]), _iso(when.dt)))
        return items

    def remote_items(self) -> dict[str, RemoteItem]:
        items: dict[str, RemoteItem] = {}
        for item in self._live():
            assert item.key not in items, f"two live objects for {item.key}"
            items[item.key] = item
        return items

    def live_count(self) -> int:
        return len(self._live())

    def write_requests(self) -> int:
        return self.server.writes()

    def fail_after(self, writes: int) -> None:
        self.server.writes_left = writes

    def heal(self) -> None:
        self.server.writes_left = None
        self.server.lost.clear()
        self.server.busy = 0


def _iso(value: date) -> str:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value.isoformat()


@contextmanager
def backend(tmp_path: Path, **options: str) -> Iterator[CalDavBackend]:
    with radicale(tmp_path / "radicale") as server, pytest.MonkeyPatch.context() as env:
        env.setenv("FOLLOWUP_CALDAV_PASSWORD", PASSWORD)
        yield CalDavBackend(server, tmp_path / "caldav-state", dict(options))
