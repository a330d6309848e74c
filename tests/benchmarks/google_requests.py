"""HTTP requests the Google Calendar exporter makes for 200 tasks, against the fake service.

Targets: the first export takes ⌈200/50⌉ batch requests plus three: the calendar looked
for in the calendar list, then created, and one listing of events to adopt (a first run);
an unchanged re-run writes nothing; an edit touching 3 tasks is one batch (plus the
calendar check).
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the fakes and backends

TASKS = 200
BATCH = 50


def main() -> None:
    saved = {name: os.environ.get(name) for name in ("FOLLOWUP_HOME", "FOLLOWUP_NO_KEYRING")}
    home = tempfile.mkdtemp(prefix="followup-bench-google-")
    os.environ.update(FOLLOWUP_HOME=home, FOLLOWUP_NO_KEYRING="1")  # never the user's secrets
    try:
        measure(home)
    finally:  # `make bench` runs every script in one process
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def measure(home: str) -> None:
    from backends.google import many_tasks
    from fakes.google_server import FakeGoogleCalendar
    from followup_google import GoogleExporter
    from followup_google.auth import scopes_for

    from followup.config import store_secret
    from followup.exporter import ExportContext
    from followup.state import StateStore
    from followup.sync import sync
    from followup.tasks import Task

    tasks = many_tasks(TASKS, records=20)
    records = {task.record for task in tasks}
    store = StateStore(Path(home) / "state.db")
    with FakeGoogleCalendar() as fake:
        store_secret("google", json.dumps(fake.grant(scopes_for(None), fresh=True)))

        def run(plan: list[Task]) -> tuple[int, int]:
            before = (fake.stats.http_requests, fake.stats.write_http_requests)
            exporter = GoogleExporter(
                {"api_url": fake.url, "token_uri": fake.token_uri},
                ExportContext(state_dir=Path(home) / "state"),
            )
            try:
                report = sync(plan, records, exporter, store)
            finally:
                exporter.close()
            assert not report.failures, report.failures[0].error
            return (
                fake.stats.http_requests - before[0],
                fake.stats.write_http_requests - before[1],
            )

        first = run(tasks)
        unchanged = run(tasks)
        moved = [replace(task, title=task.title + " (moved)") for task in tasks[:3]]
        edit = run(moved + tasks[3:])
    store.close()

    rows = [
        ("first export", first, math.ceil(TASKS / BATCH) + 3, "batches + calendar + lookup"),
        ("unchanged re-run", unchanged, 0, "writes"),
        ("edit touching 3", edit, 2, "one batch + calendar check"),
    ]
    print(f"Google Calendar HTTP requests for {TASKS} tasks")
    for name, (requests, writes), target, what in rows:
        measured = writes if name == "unchanged re-run" else requests
        verdict = "ok" if measured <= target else "over target"
        ratio = f"{measured / target:4.2f}x" if target else "  —  "
        print(
            f"  {name:<17} {requests:3d} requests ({writes:3d} writes)  "
            f"{ratio}  (target {target} {what}: {verdict})"
        )


if __name__ == "__main__":
    main()
