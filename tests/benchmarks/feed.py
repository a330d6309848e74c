"""The feed of 1,000 records: full build, rebuild after one edit, size, and the ratio of the
full build to `icalendar` alone serialising the same components (its `to_ical()` only)."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECORDS = 1000
NOW = datetime.fromisoformat("2026-11-20T19:00:00-05:00")
REBUILDS = 5


def write_records(folder: Path) -> None:
    text = (ROOT / "samples" / "onsite-acme.yaml").read_text()
    for number in range(RECORDS):
        (folder / f"r{number:04}.yaml").write_text(
            text.replace("id: acme-backend-2026-11", f"id: acme-{number:04}").replace(
                "company: Acme Corp", f"company: Acme {number}"
            )
        )


def icalendar_seconds(items: list) -> float:
    """Build icalendar objects for the same components, then time `to_ical()` alone."""
    import icalendar
    from followup_ics.calendar import PRIORITIES, uid_for

    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//bench//EN")
    calendar.add("version", "2.0")
    for item in items:
        task = item.task
        event = icalendar.Event()
        event.add("uid", uid_for(task.key))
        event.add("dtstamp", item.stamp)
        event.add("created", item.created)
        event.add("last-modified", item.stamp)
        event.add("sequence", item.sequence)
        event.add("dtstart", task.start)
        event.add("dtend", task.end)
        event.add("summary", task.title)
        event.add("description", task.body)
        event.add("priority", PRIORITIES.get(task.priority, 0))
        if task.labels:
            event.add("categories", list(task.labels))
        event.add("status", "CANCELLED" if task.status == "cancelled" else "CONFIRMED")
        if task.reminder_minutes is not None and task.status != "cancelled":
            alarm = icalendar.Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("trigger", timedelta(minutes=-task.reminder_minutes))
            alarm.add("description", task.title)
            event.add_component(alarm)
        calendar.add_component(event)
    calendar.add_missing_timezones()
    start = time.perf_counter()
    calendar.to_ical()
    return time.perf_counter() - start


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="followup-bench-feed-"))
    os.environ["FOLLOWUP_HOME"] = str(home)
    from followup_ics.calendar import render_calendar
    from followup_ics.feed import FeedBuilder

    from followup.config import Settings, state_dir

    folder = home / "records"
    folder.mkdir()
    write_records(folder)
    feed = FeedBuilder(folder, Settings(), state_dir() / "state.db")

    start = time.perf_counter()
    result = feed.build(NOW)  # cold: empty state, nothing cached
    full = time.perf_counter() - start
    assert result.ok and result.records == RECORDS

    record = folder / "r0500.yaml"
    original = record.read_text()
    rebuilds = []
    for number in range(REBUILDS):
        record.write_text(original.replace("[Kafka migration]", f"[Kafka, round {number}]"))
        start = time.perf_counter()
        rebuilt = feed.build(NOW)
        rebuilds.append(time.perf_counter() - start)
        assert rebuilt.report is not None and rebuilt.report.updated >= 1
    rebuild = statistics.median(rebuilds)

    start = time.perf_counter()
    again = FeedBuilder(folder, Settings(), state_dir() / "state.db").build(NOW)
    unchanged = time.perf_counter() - start  # a new process's `followup feed`, nothing changed
    assert again.report is not None and again.report.summary().startswith("0 created, 0 updated")

    items = feed.items()
    baseline = icalendar_seconds(items)
    start = time.perf_counter()
    render_calendar(items, name="bench", cache={})  # serialising alone, nothing cached
    render = time.perf_counter() - start

    print(f"feed of {RECORDS} records, {result.items} items, {len(result.data) / 1e6:.1f} MB")
    print(f"  full build (cold: plan, sync, render)   {full * 1000:8.0f} ms")
    print(
        f"  rebuild after one record changed      {rebuild * 1000:8.1f} ms   (median of {REBUILDS})"
    )
    print(f"  `followup feed` again, nothing changed {unchanged * 1000:8.0f} ms")
    print(f"  serialise only (render_calendar)      {render * 1000:8.0f} ms")
    print(f"  icalendar to_ical() of the same        {baseline * 1000:8.0f} ms")
    share = rebuild / full
    print(
        f"  rebuild / full build                   {share:8.1%}   target < 5 %: "
        f"{'ok' if share < 0.05 else 'over target'}"
    )
    ratio = full / baseline
    print(
        f"  full build / icalendar to_ical()       {ratio:8.2f}×  target ≤ 1: "
        f"{'ok' if ratio <= 1 else 'over target'}"
    )
    print(f"  serialise only / icalendar to_ical()   {render / baseline:8.2f}×")
    print(f"  size per item                          {len(result.data) / result.items:8.0f} bytes")


if __name__ == "__main__":
    main()
