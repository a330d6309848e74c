"""Strict RFC 5545 serialisation of tasks: pure functions, no I/O, no clock.

Components are built as strings (not icalendar objects) so a feed of thousands of items
renders fast, and `render_component` output can be cached by content hash and reused.
VTIMEZONEs are computed from zoneinfo, once per zone and span of years.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Hashable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from followup.exporter import SyncedTask
from followup.tasks import Task

Component = Literal["event", "todo"]
COMPONENTS: tuple[Component, ...] = ("event", "todo")

PRODID = "-//interview-followup//followup//EN"
UID_DOMAIN = "followup"
LINE_OCTETS = 75  # RFC 5545 §3.1, not counting the CRLF

# Todoist-style priority (1 = most urgent) to iCalendar PRIORITY (1 = highest, 9 = lowest).
PRIORITIES = {1: 1, 2: 3, 3: 5, 4: 9}

# Control characters but TAB (TEXT allows WSP, RFC 5545 §3.3.11) and LF (escaped as \n),
# plus lone surrogates (which cannot be UTF-8 encoded).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_NEWLINES = re.compile("\r\n?")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s\"<>\\^`{|}]+")
_UTC_ZONES = {"UTC", "Etc/UTC", "Etc/Universal", "Etc/Zulu", "Universal", "Zulu"}
# An all-day item's alarm rings at 09:00 on its day: "minutes before midnight" would
# wake the user in the night.
_ALL_DAY_TRIGGER = "PT9H"


@dataclass(frozen=True, slots=True)
class CalendarItem:
    """A task with the bookkeeping a calendar component carries (from the state store)."""

    task: Task
    sequence: int
    created: datetime  # aware; CREATED
    stamp: datetime  # aware; DTSTAMP and LAST-MODIFIED: when this version was written

    @classmethod
    def from_synced(cls, synced: SyncedTask) -> CalendarItem:
        remote = synced.remote
        return cls(synced.task, remote.sequence, remote.created_at, remote.updated_at)

    def cache_key(self, component: Component) -> Hashable:
        """Identifies `render_component` output: same key, same bytes."""
        return (component, self.task.content_hash, self.sequence, self.created, self.stamp)


def clean_text(text: str) -> str:
    """Text as a calendar keeps it: newlines normalised to LF, tabs kept, other control
    characters gone."""
    if text.isascii() and text.isprintable():  # titles, keys, labels: nothing to clean
        return text
    return _UNSAFE.sub("", _NEWLINES.sub("\n", text))


def escape_text(text: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11): cleaned, with `\\ ; , newline` escaped."""
    # Chained replaces: several times faster than str.translate on long drafts.
    cleaned = clean_text(text)
    return (
        cleaned.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """One content line folded at 75 octets, never inside a UTF-8 character, CRLF-ended."""
    if len(line) <= LINE_OCTETS and line.isascii():  # the common case, without encoding
        return line + "\r\n"
    data = line.encode("utf-8")
    if len(data) <= LINE_OCTETS:
        return line + "\r\n"
    pieces = []
    start, limit = 0, LINE_OCTETS
    while len(data) - start > limit:
        cut = start + limit
        while data[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte: back off to its lead
            cut -= 1
        pieces.append(data[start:cut])
        start, limit = cut, LINE_OCTETS - 1  # continuation lines begin with one space
    pieces.append(data[start:])
    return b"\r\n ".join(pieces).decode("utf-8") + "\r\n"


def uid_for(key: str) -> str:
    """The stable UID of a task key: the same key always gives the same UID."""
    return f"{clean_text(key).replace(chr(10), '')}@{UID_DOMAIN}"


def render_component(
    task: Task,
    *,
    component: Component = "event",
    sequence: int = 0,
    created: datetime,
    stamp: datetime,
    extra_properties: Sequence[tuple[str, str]] = (),
) -> str:
    """One VEVENT or VTODO as folded CRLF lines (cacheable: depends on its arguments only).

    `extra_properties` are (name, value) pairs added verbatim inside the component.
    """
    name = "VEVENT" if component == "event" else "VTODO"
    lines = [
        f"BEGIN:{name}",
        f"UID:{escape_text(uid_for(task.key))}",
        f"DTSTAMP:{_utc(stamp)}",
        f"CREATED:{_utc(created)}",
        f"LAST-MODIFIED:{_utc(stamp)}",
        f"SEQUENCE:{max(sequence, 0)}",
    ]
    lines.extend(_when(task, component))
    lines.append(f"SUMMARY:{escape_text(task.display_title)}")
    if task.body:
        lines.append(f"DESCRIPTION:{escape_text(task.body)}")
    url = next((link for link in task.links if _URI.fullmatch(link)), None)
    if url:
        lines.append(f"URL:{url}")
    lines.append(f"PRIORITY:{PRIORITIES.get(task.priority, 0)}")
    labels = [escape_text(label) for label in task.labels if clean_text(label)]
    if labels:
        lines.append(f"CATEGORIES:{','.join(labels)}")
    if task.status == "cancelled":
        lines.append("STATUS:CANCELLED")
    elif task.status == "done" and component == "todo":
        lines.append("STATUS:COMPLETED")
        if task.done_on:  # RFC 5545 3.8.2.1: COMPLETED is a UTC date-time; noon keeps the day
            lines.append(f"COMPLETED:{_utc(datetime.combine(task.done_on, time(12), UTC))}")
    else:
        lines.append("STATUS:CONFIRMED" if component == "event" else "STATUS:NEEDS-ACTION")
    # No alarm for what was called off or is done: nobody should be reminded of it.
    if task.reminder_minutes is not None and task.status == "planned":
        lines.extend(_alarm(task, component))
    lines += [f"{prop}:{value}" for prop, value in extra_properties]
    lines.append(f"END:{name}")
    return "".join(fold(line) for line in lines)


def render_calendar(
    items: Iterable[CalendarItem],
    *,
    component: Component = "event",
    name: str | None = None,
    extra_properties: Sequence[tuple[str, str]] = (),
    cache: MutableMapping[Hashable, str] | None = None,
    zones: Mapping[str, tuple[int, int]] | None = None,
) -> bytes:
    """A whole VCALENDAR (UTF-8 bytes), components sorted by (start, key).

    `extra_properties` are (name with parameters, value) pairs inserted verbatim, e.g.
    ("REFRESH-INTERVAL;VALUE=DURATION", "PT1H"); escape TEXT values with `escape_text`.
    `cache` maps `CalendarItem.cache_key` to rendered components across calls.
    `zones` is `zones_needed` of the items when the caller already knows it (or a superset).
    """
    ordered = sorted(items, key=lambda item: (_sort_instant(item.task.start), item.task.key))
    head = []
    if name is not None:
        head += [f"NAME:{escape_text(name)}", f"X-WR-CALNAME:{escape_text(name)}"]
    head += [f"{prop}:{value}" for prop, value in extra_properties]
    if zones is None:
        zones = zones_needed(item.task for item in ordered)
    parts = _calendar_head(head, zones)
    for item in ordered:
        if cache is None:
            parts.append(_render_item(item, component))
            continue
        key = item.cache_key(component)
        rendered = cache.get(key)
        if rendered is None:
            rendered = cache[key] = _render_item(item, component)
        parts.append(rendered)
    parts.append("END:VCALENDAR\r\n")
    return "".join(parts).encode("utf-8")


def render_object(
    item: CalendarItem,
    *,
    component: Component = "event",
    extra_properties: Sequence[tuple[str, str]] = (),
) -> bytes:
    """One calendar object resource (RFC 4791 §4.1): a VCALENDAR holding one component
    and the VTIMEZONEs it uses; `extra_properties` go inside the component."""
    parts = _calendar_head([], zones_needed([item.task]))
    parts.append(
        render_component(
            item.task,
            component=component,
            sequence=item.sequence,
            created=item.created,
            stamp=item.stamp,
            extra_properties=extra_properties,
        )
    )
    parts.append("END:VCALENDAR\r\n")
    return "".join(parts).encode("utf-8")


def _calendar_head(properties: list[str], zones: Mapping[str, tuple[int, int]]) -> list[str]:
    """The opening of a VCALENDAR: its properties, then a VTIMEZONE per zone used."""
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    parts = [fold(line) for line in [*head, *properties]]
    for tzid, (first_year, last_year) in sorted(zones.items()):
        parts.append(vtimezone(tzid, first_year, last_year))
    return parts


def zones_needed(tasks: Iterable[Task]) -> dict[str, tuple[int, int]]:
    """Each TZID the tasks use, with the first and last year a VTIMEZONE must cover."""
    spans: dict[str, tuple[int, int]] = {}
    for task in tasks:
        # A to-do's DUE may be written in another zone than its start.
        for moment, years in ((task.start, (task.start.year, task.end.year)), (task.due, ())):
            tzid = _tzid(moment)
            if tzid is None:
                continue
            first, last = spans.get(tzid, (moment.year, moment.year))
            spans[tzid] = (min(first, moment.year, *years), max(last, moment.year, *years))
    return spans


@functools.lru_cache(maxsize=256)
def vtimezone(tzid: str, first_year: int, last_year: int) -> str:
    """A VTIMEZONE for `tzid` valid from 1 January `first_year` to the end of `last_year`.

    Each observance's DTSTART is the wall time in TZOFFSETFROM (RFC 5545 §3.6.5); icalendar
    7.3 writes the wall time after a spring-forward instead, which ical.js reads an hour late.
    """
    zone = ZoneInfo(tzid)
    begin = datetime(first_year, 1, 1, tzinfo=zone)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tzid}"]
    lines += _observance(begin, begin.utcoffset() or timedelta(), begin.astimezone(UTC))
    for before, instant in _transitions(zone, begin.astimezone(UTC), last_year):
        lines += _observance(instant.astimezone(zone), before, instant)
    lines.append("END:VTIMEZONE")
    return "".join(fold(line) for line in lines)


def _transitions(
    zone: ZoneInfo, begin: datetime, last_year: int
) -> Iterator[tuple[timedelta, datetime]]:
    """(offset before, first UTC instant after) of each change of a zone's rules, in order."""
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    moment, state = begin, _zone_state(begin, zone)
    while moment < end:
        step = min(moment + timedelta(days=1), end)
        if _zone_state(step, zone) != state:
            low, high = moment, step  # state(low) is the old one, state(high) the new one
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) // 2
                low, high = (middle, high) if _zone_state(middle, zone) == state else (low, middle)
            yield state[0], high
            state = _zone_state(high, zone)
        moment = step


def _zone_state(instant: datetime, zone: ZoneInfo) -> tuple[timedelta, timedelta, str]:
    local = instant.astimezone(zone)
    return local.utcoffset() or timedelta(), local.dst() or timedelta(), local.tzname() or ""


def _observance(local: datetime, offset_from: timedelta, instant: datetime) -> list[str]:
    offset_to = local.utcoffset() or timedelta()
    kind = "DAYLIGHT" if local.dst() else "STANDARD"
    return [
        f"BEGIN:{kind}",
        f"DTSTART:{_local(instant + offset_from)}",
        f"TZOFFSETFROM:{_offset(offset_from)}",
        f"TZOFFSETTO:{_offset(offset_to)}",
        f"TZNAME:{escape_text(local.tzname() or _offset(offset_to))}",
        f"END:{kind}",
    ]


def _offset(offset: timedelta) -> str:
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{seconds:02d}" if seconds else "")


def _render_item(item: CalendarItem, component: Component) -> str:
    return render_component(
        item.task,
        component=component,
        sequence=item.sequence,
        created=item.created,
        stamp=item.stamp,
    )


def _when(task: Task, component: Component) -> list[str]:
    start = task.start
    if not isinstance(start, datetime):
        if component == "event":
            return [f"DTSTART;VALUE=DATE:{_day(start)}", f"DTEND;VALUE=DATE:{_day(task.end)}"]
        due = _all_day_due(task)
        # DUE must come after DTSTART, so a todo due on its first day carries DUE alone.
        if due > start:
            return [f"DTSTART;VALUE=DATE:{_day(start)}", f"DUE;VALUE=DATE:{_day(due)}"]
        return [f"DUE;VALUE=DATE:{_day(start)}"]
    # The end is an exact duration after the start, so DTEND > DTSTART even across DST.
    end = (start.astimezone(UTC) + timedelta(minutes=max(task.duration_minutes, 1))).astimezone(
        start.tzinfo
    )
    if component == "event":
        return [_date_time("DTSTART", start), _date_time("DTEND", end)]
    due = task.due if isinstance(task.due, datetime) and task.due > start else end
    return [_date_time("DTSTART", start), _date_time("DUE", due)]


def _alarm(task: Task, component: Component) -> list[str]:
    if not task.all_day:
        trigger = f"TRIGGER:-PT{max(task.reminder_minutes or 0, 0)}M"
    elif component == "todo" and _all_day_due(task) <= task.start:
        trigger = f"TRIGGER;RELATED=END:{_ALL_DAY_TRIGGER}"
    else:
        trigger = f"TRIGGER:{_ALL_DAY_TRIGGER}"
    return [
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        trigger,
        f"DESCRIPTION:{escape_text(task.title) or 'Reminder'}",
        "END:VALARM",
    ]


def _all_day_due(task: Task) -> date:
    return task.due.date() if isinstance(task.due, datetime) else task.due


def _date_time(prop: str, moment: datetime) -> str:
    """A DATE-TIME with its TZID, or in UTC where the wall time alone would be ambiguous."""
    tzid = _tzid(moment)
    if tzid is None or _ambiguous(moment):
        return f"{prop}:{_utc(moment)}"
    return f"{prop};TZID={tzid}:{_local(moment)}"


def _tzid(moment: datetime | date) -> str | None:
    """The IANA zone a time is written in, or None where UTC is written instead."""
    if not isinstance(moment, datetime) or not isinstance(moment.tzinfo, ZoneInfo):
        return None
    key = moment.tzinfo.key
    return None if key is None or key in _UTC_ZONES else key


def _ambiguous(moment: datetime) -> bool:
    """A wall time inside a DST fold (happens twice) or gap (never happens)."""
    return moment.replace(fold=0).utcoffset() != moment.replace(fold=1).utcoffset()


def _local(moment: datetime) -> str:
    m = moment
    return f"{m.year:04d}{m.month:02d}{m.day:02d}T{m.hour:02d}{m.minute:02d}{m.second:02d}"


def _utc(moment: datetime) -> str:
    return _local(moment.astimezone(UTC)) + "Z"


def _day(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def _sort_instant(when: datetime | date) -> datetime:
    if isinstance(when, datetime):
        return when.astimezone(UTC)
    return datetime.combine(when, time(), UTC)
