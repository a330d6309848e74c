"""The agenda page of 30 applications (the sample onsite, copied with other companies and
dates spread over two weeks, nothing marked done yet): its size in bytes (plain and gzipped)
and the time to make it per request."""

from __future__ import annotations

import gzip
import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPLICATIONS = 30
NOW = datetime.fromisoformat("2026-11-23T10:00:00-05:00")
RUNS = 50


def write_records(folder: Path) -> None:
    text = (ROOT / "samples" / "onsite-acme.yaml").read_text()
    for number in range(APPLICATIONS):
        day = 10 + number % 14  # interviews from 10 to 23 November: overdue, today and later
        (folder / f"r{number:02}.yaml").write_text(
            text.replace("id: acme-backend-2026-11", f"id: acme-{number:02}")
            .replace("company: Acme Corp", f"company: Acme {number}")
            .replace("2026-11-20 14:00", f"2026-11-{day} 14:00")
            .replace("2026-11-20 18:30", f"2026-11-{day} 18:30")
        )


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="followup-bench-agenda-"))
    os.environ["FOLLOWUP_HOME"] = str(home)
    from followup_ics.agenda import Agenda, Links
    from followup_ics.feed import FeedBuilder

    from followup.config import Settings, state_dir

    folder = home / "records"
    folder.mkdir()
    write_records(folder)
    builder = FeedBuilder(folder, Settings(timezone="Europe/Berlin"), state_dir() / "state.db")
    builder.build(NOW)
    start = time.perf_counter()
    agenda = Agenda.collect(
        builder.options.name,
        (item.task for item in builder.items()),
        builder.records(),
        builder.settings.timezone,
    )
    collect = time.perf_counter() - start
    links = Links("http://192.168.1.20:5545/feed/t.ics", "webcal://192.168.1.20:5545/feed/t.ics")
    times = []
    page = b""
    for _ in range(RUNS):
        start = time.perf_counter()
        page = agenda.page(NOW, links)
        times.append(time.perf_counter() - start)
    tasks = page.count(b'<li class="task')
    print(f"{APPLICATIONS} applications, {len(agenda.tasks)} planned tasks, {tasks} on the page")
    start = time.perf_counter()
    packed = gzip.compress(page, compresslevel=6, mtime=0)  # as `serve` sends it to browsers
    gzip_ms = (time.perf_counter() - start) * 1000
    print(f"page size: {len(page)} bytes ({len(page) / 1024:.1f} KiB), gzipped {len(packed)} bytes")
    print(f"collect after a build: {collect * 1000:.2f} ms")
    print(f"first render after a build (makes each card's fixed part): {times[0] * 1000:.2f} ms")
    print(
        f"render per request after: median {statistics.median(times[1:]) * 1000:.2f} ms, "
        f"max {max(times[1:]) * 1000:.2f} ms over {RUNS - 1} runs; gzip {gzip_ms:.2f} ms"
    )


if __name__ == "__main__":
    main()
