"""The ics serialiser writes strict RFC 5545: lines, escaping, time zones, stability."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from followup_ics.calendar import (
    CalendarItem,
    escape_text,
    fold,
    render_calendar,
    render_component,
    uid_for,
    vtimezone,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from interop import (
    HOSTILE,
    clean,
    intended_end,
    intended_start,
    make_task,
    read_icalendar,
    read_vobject,
    sample_tasks,
    strict_problems,
    task_key,
    unfolded_lines,
)

from followup.tasks import Task

STAMP = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def render(tasks: list[Task], component: str = "event", **options: object) -> bytes:
    items = [CalendarItem(task, 0, STAMP, STAMP) for task in tasks]
    return render_calendar(items, component=component, **options)  # type: ignore[arg-type]


def components(data: bytes, name: str = "VEVENT") -> list[list[str]]:
    found: list[list[str]] = []
    current: list[str] | None = None
    for line in unfolded_lines(data):
        if line == f"BEGIN:{name}":
            current = []
        elif line == f"END:{name}" and current is not None:
            found.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return found


@pytest.mark.parametrize("component", ["event", "todo"])
def test_sample_calendar_is_strict(component: str) -> None:
    data = render(sample_tasks(), component)
    assert strict_problems(data) == []
    lines = unfolded_lines(data)
    assert lines[:3] == ["BEGIN:VCALENDAR", "VERSION:2.0", lines[2]]
    assert lines[2].startswith("PRODID:-//")
    assert lines[-1] == "END:VCALENDAR"
    assert not any(line.startswith("METHOD") for line in lines)


@pytest.mark.parametrize("prefix", range(8))
def test_folding_never_splits_a_character(prefix: int) -> None:
    line = "SUMMARY:" + "x" * prefix + "😀é€Ж" * 40
    folded = fold(line).encode()
    physical = folded.split(b"\r\n")[:-1]
    assert len(physical) > 2
    assert all(len(part) <= 75 for part in physical)
    assert all(part.startswith(b" ") for part in physical[1:])
    for part in physical:
        part.decode("utf-8")  # raises if a character was split
    assert folded.decode().replace("\r\n ", "") == line + "\r\n"


def test_short_lines_are_not_folded() -> None:
    assert fold("X" * 75) == "X" * 75 + "\r\n"
    assert fold("X" * 76) == "X" * 75 + "\r\n X\r\n"


@pytest.mark.parametrize("length", [74, 75, 76, 149, 150, 151, 223, 224, 225, 1000])
def test_an_ascii_line_fills_every_folded_line(length: int) -> None:
    line = "".join(chr(33 + i % 90) for i in range(length))
    physical = fold(line).split("\r\n")
    assert physical.pop() == ""
    assert all(len(part) == 75 for part in physical[:-1])
    assert 0 < len(physical[-1]) <= 75
    assert all(part.startswith(" ") for part in physical[1:])
    assert physical[0] + "".join(part[1:] for part in physical[1:]) == line


def test_text_escaping() -> None:
    assert escape_text("a,b;c\\d\ne\r\nf\rg") == "a\\,b\\;c\\\\d\\ne\\nf\\ng"
    assert escape_text("bell\x07 nul\x00 esc\x1b del\x7f nel\x85 tab\t") == (
        "bell nul esc del nel tab\t"
    )
    assert escape_text("lone surrogate \ud800!") == "lone surrogate !"
    assert escape_text("emoji 😀 rtl \u200f кириллица") == "emoji 😀 rtl \u200f кириллица"


def test_hostile_text_cannot_break_structure() -> None:
    task = make_task("acme/thank-you/jane-doe", date(2026, 11, 20), title=HOSTILE, body=HOSTILE)
    data = render([task])
    assert strict_problems(data) == []
    lines = unfolded_lines(data)
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") == 1
    assert lines.count("BEGIN:VALARM") == 1
    assert not any(line.startswith("SUMMARY:injected") for line in lines)
    [parsed] = read_icalendar(data)
    assert parsed.summary == clean(HOSTILE)


def test_every_component_has_uid_dtstamp_and_a_complete_alarm() -> None:
    tasks = [task for task in sample_tasks() if task.status == "planned"]
    for component, name in (("event", "VEVENT"), ("todo", "VTODO")):
        for lines in components(render(tasks, component), name):
            assert any(line.startswith("UID:") for line in lines)
            [stamp] = [line for line in lines if line.startswith("DTSTAMP:")]
            assert re.fullmatch(r"DTSTAMP:\d{8}T\d{6}Z", stamp)
            alarm = lines[lines.index("BEGIN:VALARM") + 1 :] if "BEGIN:VALARM" in lines else []
            if alarm:
                props = {
                    line.split(":")[0].split(";")[0] for line in alarm[: alarm.index("END:VALARM")]
                }
                assert {"ACTION", "TRIGGER", "DESCRIPTION"} <= props


def test_alarm_follows_reminder_minutes() -> None:
    start = datetime(2026, 11, 20, 16, 0, tzinfo=ZoneInfo("America/New_York"))
    with_alarm = unfolded_lines(render([make_task("a/b", start, reminder=45)]))
    without = unfolded_lines(render([make_task("a/b", start, reminder=None)]))
    assert "TRIGGER:-PT45M" in with_alarm
    assert "BEGIN:VALARM" not in without


def test_cancelled_item_keeps_status_and_drops_alarm() -> None:
    start = datetime(2026, 11, 20, 16, 0, tzinfo=ZoneInfo("America/New_York"))
    [lines] = components(render([make_task("a/b", start, status="cancelled")]))
    assert "STATUS:CANCELLED" in lines
    assert "BEGIN:VALARM" not in lines


def test_all_day_event_ends_the_next_day_exclusive() -> None:
    [lines] = components(render([make_task("a/b", date(2026, 12, 31))]))
    assert "DTSTART;VALUE=DATE:20261231" in lines
    assert "DTEND;VALUE=DATE:20270101" in lines


def test_todo_dates() -> None:
    zone = ZoneInfo("Europe/Berlin")
    timed = make_task(
        "a/b", datetime(2026, 5, 4, 9, 0, tzinfo=zone), due=datetime(2026, 5, 5, 9, 0, tzinfo=zone)
    )
    same_day = make_task("a/c", date(2026, 5, 4))
    spanning = make_task("a/d", date(2026, 5, 4), due=date(2026, 5, 6))
    todos = {
        task_key(lines[0].removeprefix("UID:")): lines
        for lines in components(render([timed, same_day, spanning], "todo"), "VTODO")
    }
    assert "DTSTART;TZID=Europe/Berlin:20260504T090000" in todos["a/b"]
    assert "DUE;TZID=Europe/Berlin:20260505T090000" in todos["a/b"]
    assert "DUE;VALUE=DATE:20260504" in todos["a/c"]
    assert not any(line.startswith("DTSTART") for line in todos["a/c"])
    assert "TRIGGER;RELATED=END:PT9H" in todos["a/c"]
    assert {"DTSTART;VALUE=DATE:20260504", "DUE;VALUE=DATE:20260506"} <= set(todos["a/d"])


def test_every_tzid_has_a_vtimezone_covering_only_the_needed_years() -> None:
    data = render(sample_tasks())
    lines = unfolded_lines(data)
    used = {m.group(1) for line in lines for m in [re.search(r";TZID=([^:;]+)", line)] if m}
    defined = {line.removeprefix("TZID:") for line in lines if line.startswith("TZID:")}
    assert used == defined == {"America/New_York", "Europe/Berlin"}
    years = {int(line[8:12]) for line in lines if re.fullmatch(r"DTSTART:\d{8}T\d{6}", line)}
    assert years == {2026, 2027}  # the sample runs from March 2026 to New Year 2027
    assert not any(line.startswith("TZID:UTC") for line in lines)


def test_vtimezone_onsets_are_wall_times_before_the_change() -> None:
    block = vtimezone("America/New_York", 2026, 2026)
    assert "BEGIN:DAYLIGHT\r\nDTSTART:20260308T020000\r\nTZOFFSETFROM:-0500\r\n" in block
    assert "BEGIN:STANDARD\r\nDTSTART:20261101T020000\r\nTZOFFSETFROM:-0400\r\n" in block
    assert vtimezone("Asia/Kathmandu", 2026, 2026).count("BEGIN:STANDARD") == 1
    assert "TZOFFSETTO:+1030" in vtimezone("Australia/Lord_Howe", 2026, 2026)


def test_ambiguous_wall_times_are_written_in_utc() -> None:
    zone = ZoneInfo("America/New_York")
    first = make_task("a/first", datetime(2026, 11, 1, 1, 30, fold=0, tzinfo=zone))
    second = make_task("a/second", datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=zone))
    lines = unfolded_lines(render([first, second]))
    assert "DTSTART:20261101T053000Z" in lines
    assert "DTSTART:20261101T063000Z" in lines


def test_rendering_is_byte_stable_and_order_independent() -> None:
    tasks = sample_tasks()
    shuffled = tasks[:]
    random.Random(7).shuffle(shuffled)
    assert render(tasks) == render(shuffled)
    assert render(tasks) == render(list(reversed(tasks)))


def test_component_cache_gives_the_same_bytes() -> None:
    items = [CalendarItem(task, 2, STAMP, STAMP) for task in sample_tasks()]
    cache: dict[object, str] = {}
    first = render_calendar(items, cache=cache)
    assert len(cache) == len(items)
    assert render_calendar(items, cache=cache) == first == render_calendar(items)


def test_calendar_name_and_extra_properties() -> None:
    data = render(
        sample_tasks()[:1],
        name="Job search, 2026",
        extra_properties=[("REFRESH-INTERVAL;VALUE=DURATION", "PT1H")],
    )
    lines = unfolded_lines(data)
    assert "X-WR-CALNAME:Job search\\, 2026" in lines
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in lines


def test_component_fields() -> None:
    task = make_task(
        "acme/thank-you/jane-doe",
        datetime(2026, 11, 20, 16, 0, tzinfo=ZoneInfo("America/New_York")),
        labels=("job search", "acme, inc"),
    )
    lines = render_component(task, sequence=3, created=STAMP, stamp=STAMP + timedelta(days=1))
    unfolded = lines.replace("\r\n ", "").split("\r\n")
    for expected in (
        "UID:acme/thank-you/jane-doe@followup",
        "SEQUENCE:3",
        "CREATED:20261001T120000Z",
        "DTSTAMP:20261002T120000Z",
        "LAST-MODIFIED:20261002T120000Z",
        "DTSTART;TZID=America/New_York:20261120T160000",
        "DTEND;TZID=America/New_York:20261120T163000",
        "PRIORITY:3",
        "CATEGORIES:job search,acme\\, inc",
        "URL:mailto:jane.doe@acme.example",
        "STATUS:CONFIRMED",
    ):
        assert expected in unfolded
    assert uid_for("acme/thank-you/jane-doe") == "acme/thank-you/jane-doe@followup"


# --- property-based: hostile text and DST-crossing times survive a round trip -------------

TEXT = st.text(st.characters(codec="utf-8"), max_size=300)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=TEXT, body=TEXT)
def test_any_text_round_trips(title: str, body: str) -> None:
    task = make_task("acme/thank-you/jane-doe", date(2026, 11, 20), title=title, body=body)
    data = render([task])
    assert strict_problems(data) == []
    for read in (read_icalendar, read_vobject):
        [parsed] = read(data)
        assert parsed.summary == clean(title)
        assert parsed.description == clean(body)


ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kathmandu",
    "Europe/London",
    "America/St_Johns",
    "Pacific/Chatham",
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone=st.sampled_from(ZONES),
    wall=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31)),
    fold=st.sampled_from([0, 1]),
    duration=st.integers(min_value=1, max_value=600),
)
def test_any_time_round_trips_to_its_instant(
    zone: str, wall: datetime, fold: int, duration: int
) -> None:
    start = wall.replace(microsecond=0, fold=fold, tzinfo=ZoneInfo(zone))
    task = make_task("acme/check-in", start, duration=duration)
    data = render([task])
    # vobject reads the times through our VTIMEZONE (dateutil), icalendar through zoneinfo.
    for read in (read_icalendar, read_vobject):
        [parsed] = read(data)
        assert parsed.start == intended_start(task)
        assert parsed.end == intended_end(task)


def test_a_due_time_in_another_zone_has_its_vtimezone() -> None:
    start = datetime(2026, 5, 4, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    due = datetime(2027, 5, 5, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    lines = unfolded_lines(render([make_task("a/b", start, due=due)], "todo"))
    assert "DUE;TZID=Asia/Tokyo:20270505T090000" in lines
    assert {"TZID:Europe/Berlin", "TZID:Asia/Tokyo"} <= set(lines)
