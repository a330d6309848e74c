"""Interop helpers for calendar tests: task factory, hostile text, and four independent readers.

Each reader turns calendar bytes into `Parsed` items so tests can compare what a real
client decodes (icalendar, vobject, ical.js under Node, khal) with what was meant.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from followup.tasks import Task

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")

# Hostile text: every TEXT special, structure look-alikes, scripts, emoji and direction marks.
HOSTILE = (
    "Follow up, politely; path C:\\new\\table\\, 50% \\n not a newline\n"
    "END:VEVENT\r\nBEGIN:VALARM\nSUMMARY:injected\n"
    "Привет, Раджеш 👩🏽‍💻🎉 \u200fשלום\u200f مرحبا \u202edesrever\u202c\t\x00\x07\x1b[31m\x7f\x85"
)
LONG = ("Мы ценим ваше время; спасибо, что нашли минуту 🙏 \\ " * 200)[:10_000]


@dataclass(frozen=True)
class Parsed:
    """One component as a reader decoded it. start/end: aware UTC datetime, or a date."""

    uid: str
    summary: str
    description: str
    start: datetime | date | None
    end: datetime | date | None
    status: str


def make_task(
    key: str,
    start: datetime | date,
    *,
    title: str = "Send a thank-you note",
    body: str = "Dear Jane,\n\nThank you. mailto:jane.doe@acme.example tel:+15550100",
    duration: int = 30,
    due: datetime | date | None = None,
    status: str = "planned",
    reminder: int | None = 15,
    labels: tuple[str, ...] = ("job-search",),
) -> Task:
    record, rule = key.split("/")[:2]
    return Task(
        key=key,
        record=record,
        rule=rule,
        title=title,
        kind="email",
        start=start,
        due=due if due is not None else start,
        duration_minutes=duration,
        priority=2,
        labels=labels,
        people=("Jane Doe",),
        channel="email",
        body=body,
        application="Acme Corp — Senior Backend Engineer",
        reminder_minutes=reminder,
        status="cancelled" if status == "cancelled" else "planned",
        links=("mailto:jane.doe@acme.example",),
    )


def sample_tasks() -> list[Task]:
    """Zones on both sides of the Atlantic, both 2026 DST changes, all-day, hostile text."""
    return [
        make_task(
            "acme/thank-you/jane-doe",
            datetime(2026, 11, 20, 16, 0, tzinfo=NEW_YORK),
            title="Thank Jane, Raj; C:\\dir — " + HOSTILE,
            body=HOSTILE,
        ),
        make_task("acme/spring-gap-edge", datetime(2026, 3, 8, 3, 30, tzinfo=NEW_YORK)),
        make_task("acme/spring-before", datetime(2026, 3, 8, 1, 30, tzinfo=NEW_YORK)),
        make_task("acme/fall-first", datetime(2026, 11, 1, 1, 30, fold=0, tzinfo=NEW_YORK)),
        make_task("acme/fall-second", datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK)),
        make_task("acme/fall-after", datetime(2026, 11, 1, 2, 30, tzinfo=NEW_YORK), duration=90),
        make_task("acme/berlin-summer", datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN)),
        make_task(
            "acme/berlin",
            datetime(2026, 3, 29, 3, 15, tzinfo=BERLIN),
            title=LONG,
            body=LONG + "\n" + LONG,
        ),
        make_task("acme/new-year", datetime(2027, 1, 1, 0, 0, tzinfo=NEW_YORK)),
        make_task(
            "acme/references",
            date(2026, 11, 24),
            due=date(2026, 11, 26),
            title="Prepare references 📋",
            reminder=None,
        ),
        make_task(
            "acme/check-in",
            datetime(2026, 12, 4, 10, 0, tzinfo=NEW_YORK),
            status="cancelled",
            title="Call Jane, if still nothing",
        ),
        make_task("acme/utc", datetime(2026, 6, 1, 12, 0, tzinfo=ZoneInfo("UTC"))),
    ]


def clean(text: str) -> str:
    """What a calendar can keep of `text`: line breaks as LF, tabs (RFC 5545 §3.3.11 TEXT
    allows WSP), other control characters gone."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\n\t" or not (ord(c) < 32 or 127 <= ord(c) <= 159))


def intended_start(task: Task) -> datetime | date:
    return task.start.astimezone(UTC) if isinstance(task.start, datetime) else task.start


def intended_end(task: Task) -> datetime | date:
    if isinstance(task.start, datetime):
        return task.start.astimezone(UTC) + timedelta(minutes=task.duration_minutes)
    return task.start + timedelta(days=1)


def task_key(uid: str) -> str:
    return uid.removesuffix("@followup")


# --- strict format -----------------------------------------------------------------------


def strict_problems(data: bytes) -> list[str]:
    """Line-level RFC 5545 violations in a calendar (empty when it is clean)."""
    problems = []
    if not data.endswith(b"\r\n"):
        problems.append("file does not end with CRLF")
    lines = data[:-2].split(b"\r\n") if data.endswith(b"\r\n") else data.split(b"\r\n")
    for number, line in enumerate(lines, 1):
        if b"\n" in line or b"\r" in line:
            problems.append(f"line {number}: bare CR or LF")
        if len(line) > 75:
            problems.append(f"line {number}: {len(line)} octets")
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"line {number}: not UTF-8 on its own (a character was split)")
            continue
        if re.search("[\x00-\x08\x0a-\x1f\x7f-\x9f]", text):  # RFC 5545 §3.1: CONTROL
            problems.append(f"line {number}: control character")
        if number > 1 and text[:1] not in (" ",) and ":" not in text:
            problems.append(f"line {number}: neither a property nor a continuation")
    return problems


def unfolded_lines(data: bytes) -> list[str]:
    return data.decode("utf-8").replace("\r\n ", "").split("\r\n")[:-1]


# --- readers -----------------------------------------------------------------------------


def _instant(value: Any) -> datetime | date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        assert value.tzinfo is not None, f"floating time {value}: the TZID was not understood"
        return value.astimezone(UTC)
    assert isinstance(value, date)
    return value


def read_icalendar(data: bytes) -> list[Parsed]:
    import icalendar

    calendar = icalendar.Calendar.from_ical(data)
    items = []
    for component in calendar.walk():
        if component.name not in ("VEVENT", "VTODO"):
            continue
        start = component.get("DTSTART")
        end = component.get("DTEND") or component.get("DUE")
        items.append(
            Parsed(
                uid=str(component["UID"]),
                summary=str(component.get("SUMMARY", "")),
                description=str(component.get("DESCRIPTION", "")),
                start=_instant(start.dt if start is not None else None),
                end=_instant(end.dt if end is not None else None),
                status=str(component.get("STATUS", "")),
            )
        )
    return items


def read_vobject(data: bytes) -> list[Parsed]:
    import vobject

    # vobject keeps the first VTIMEZONE it met per TZID for the whole process; forget them so
    # this file is read with its own definitions, as a client opening it would.
    tzid_map = vars(vobject.icalendar)["__tzidMap"]
    for tzid in [tzid for tzid in tzid_map if tzid != "UTC"]:
        del tzid_map[tzid]
    calendar = vobject.readOne(data.decode("utf-8"))
    items = []
    for component in calendar.getChildren():
        if component.name not in ("VEVENT", "VTODO"):
            continue

        def value(name: str, node: Any = component) -> Any:
            child = getattr(node, name.lower(), None) if name.lower() in node.contents else None
            return child.value if child is not None else None

        items.append(
            Parsed(
                uid=value("UID"),
                summary=value("SUMMARY") or "",
                description=value("DESCRIPTION") or "",
                start=_instant(value("DTSTART")),
                end=_instant(value("DTEND") or value("DUE")),
                status=value("STATUS") or "",
            )
        )
    return items


_ICALJS_SCRIPT = """
import ICAL from 'ical.js';
import fs from 'fs';
const root = new ICAL.Component(ICAL.parse(fs.readFileSync(process.argv[2], 'utf8')));
for (const zone of root.getAllSubcomponents('vtimezone')) ICAL.TimezoneService.register(zone);
const when = (t) => (t === null ? null : t.isDate ? t.toString() : t.toJSDate().toISOString());
const items = [];
for (const c of root.getAllSubcomponents()) {
  if (c.name !== 'vevent' && c.name !== 'vtodo') continue;
  const end = c.getFirstPropertyValue(c.name === 'vevent' ? 'dtend' : 'due');
  items.push({
    uid: c.getFirstPropertyValue('uid'),
    summary: c.getFirstPropertyValue('summary') ?? '',
    description: c.getFirstPropertyValue('description') ?? '',
    start: when(c.getFirstPropertyValue('dtstart')),
    end: when(end),
    status: c.getFirstPropertyValue('status') ?? '',
  });
}
process.stdout.write(JSON.stringify(items));
"""

ICALJS_HOME = Path(__file__).resolve().parent.parent / ".venv" / "node"


@functools.cache
def icaljs_home() -> Path:
    """A folder with ical.js installed (once, by npm) and the reader script; else skip."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("ical.js check skipped: Node.js (node and npm) is not installed")
    if not (ICALJS_HOME / "node_modules" / "ical.js").is_dir():
        ICALJS_HOME.mkdir(parents=True, exist_ok=True)
        command = [
            "npm",
            "install",
            "--prefix",
            str(ICALJS_HOME),
            "--no-audit",
            "--no-fund",
            "ical.js@2",
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            pytest.skip("ical.js check skipped: `npm install ical.js` timed out (offline?)")
        if result.returncode != 0:
            pytest.skip(
                f"ical.js check skipped: `npm install ical.js` failed (offline?): "
                f"{result.stderr.strip()[-300:]}"
            )
    (ICALJS_HOME / "read-ics.mjs").write_text(_ICALJS_SCRIPT)
    return ICALJS_HOME


def read_icaljs(path: Path) -> list[Parsed]:
    home = icaljs_home()
    # A far-off process zone makes a misread TZID (treated as floating) show up as wrong.
    result = subprocess.run(
        ["node", str(home / "read-ics.mjs"), str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={"PATH": _path_env(), "TZ": "Pacific/Kiritimati"},
    )

    def when(text: str | None) -> datetime | date | None:
        if text is None:
            return None
        if "T" not in text:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    return [
        Parsed(
            item["uid"],
            item["summary"],
            item["description"],
            when(item["start"]),
            when(item["end"]),
            item["status"],
        )
        for item in json.loads(result.stdout)
    ]


def _path_env() -> str:
    import os

    return os.environ.get("PATH", "/usr/bin:/bin")


# --- khal --------------------------------------------------------------------------------

KHAL = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "khal"


def khal_agenda(
    ics: Path, tmp_path: Path, local_zone: str, first: date, last: date
) -> dict[str, tuple[str, str]]:
    """Import `ics` with `khal import --batch`, then `khal list`: uid -> (local date, time)."""
    if not KHAL.exists():
        pytest.skip(f"khal check skipped: {KHAL} is not installed")
    home = tmp_path / "khal-home"
    calendar_dir = home / "calendars" / "followup"
    calendar_dir.mkdir(parents=True)
    config = home / "khal.conf"
    config.write_text(
        f"""[calendars]
[[followup]]
path = {calendar_dir}
type = calendar

[sqlite]
path = {home / "khal.db"}

[locale]
local_timezone = {local_zone}
default_timezone = {local_zone}
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M

[default]
default_calendar = followup
"""
    )
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "PATH": _path_env(),
        "TZ": local_zone,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }

    def khal(*args: str) -> str:
        result = subprocess.run(
            [str(KHAL), "-c", str(config), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert result.returncode == 0, f"khal {args[0]} failed: {result.stderr}"
        return result.stdout

    khal("import", "--batch", "-a", "followup", str(ics))
    listing = khal(
        "list",
        "--once",
        "--day-format",
        "",
        "--format",
        "@@{uid}|{start-date}|{start-time}",
        first.isoformat(),
        last.isoformat(),
    )
    agenda: dict[str, tuple[str, str]] = {}
    for line in listing.splitlines():
        if line.startswith("@@"):
            uid, day, clock = line[2:].split("|", 2)
            agenda.setdefault(uid, (day, clock))
    return agenda
