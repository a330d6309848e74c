"""HTTP requests the caldav exporter makes for 200 tasks, counted in front of a real Radicale.

CalDAV has no batch write: one calendar object is one PUT (RFC 4791 §5.3.2), so the floor of
a first export is one write per task, plus the calendar's MKCALENDAR (and the PROPPATCH the
library sends with its display name). Finding the calendar takes the library's discovery
PROPFINDs once per account; the calendar's URL and the auth scheme are then remembered.
Targets: one write per change, no more than one PROPFIND (or listing REPORT) per later run.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the server and backends

TASKS = 200
READS = ("PROPFIND", "REPORT", "GET")


def main() -> None:
    names = ("FOLLOWUP_HOME", "FOLLOWUP_NO_KEYRING", "FOLLOWUP_CALDAV_PASSWORD")
    saved = {name: os.environ.get(name) for name in names}
    try:
        for component in ("event", "todo"):
            home = Path(tempfile.mkdtemp(prefix="followup-bench-caldav-"))
            os.environ.update(FOLLOWUP_HOME=str(home), FOLLOWUP_NO_KEYRING="1")  # never the user's
            measure(home, component)
    finally:  # `make bench` runs every script in one process
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def measure(home: Path, component: str) -> None:
    from followup_caldav import CalDavExporter
    from radicale_server import PASSWORD, USER, radicale
    from todoist_requests import many_tasks

    from followup.exporter import ExportContext
    from followup.state import StateStore
    from followup.sync import sync

    tasks = many_tasks()
    records = {task.record for task in tasks}
    store = StateStore(home / "state.db")
    options = {"url": "", "username": USER, "as": component}
    with radicale(home / "radicale") as server:
        options["url"] = server.url
        os.environ["FOLLOWUP_CALDAV_PASSWORD"] = PASSWORD

        def exporter() -> CalDavExporter:  # a fresh one per run, as a new process builds
            return CalDavExporter(options, ExportContext(state_dir=home / "state"))

        def run(planned: list) -> Counter[str]:  # type: ignore[type-arg]
            before = Counter(server.methods())
            made = exporter()
            try:
                report = sync(planned, records, made, store)
            finally:
                made.close()
            assert not report.failures, report.failures[0].error
            return server.methods() - before

        def lookup() -> Counter[str]:
            before = Counter(server.methods())
            made = exporter()
            try:
                found = made.lookup(tasks) or {}
            finally:
                made.close()
            assert len(found) == TASKS
            return server.methods() - before

        rows = [
            ("first export", run(tasks), TASKS + 2, "200 PUT + MKCALENDAR + PROPPATCH"),
            ("unchanged re-run", run(tasks), 0, "0"),
        ]
        edited = [replace(task, title=task.title + " (moved)") for task in tasks[:3]]
        rows.append(("edit touching 3", run(edited + tasks[3:]), 3, "3 PUT"))
        rows.append(("lookup of 200", lookup(), 0, "0"))
    store.close()

    kind = "VEVENTs" if component == "event" else "VTODOs (completions read back each run)"
    print(f"CalDAV HTTP requests for {TASKS} tasks as {kind}, against Radicale")
    for name, sent, target, formula in rows:
        writes = sum(n for method, n in sent.items() if method not in (*READS, "OPTIONS"))
        reads = sum(sent.values()) - writes
        verdict = "ok" if writes <= target else "over target"
        ratio = f"{writes / target:4.2f}x" if target else "  —  "
        listing = sent["PROPFIND"] + sent["REPORT"]
        detail = ", ".join(f"{n} {method}" for method, n in sorted(sent.items())) or "nothing"
        print(
            f"  {name:<17} {sum(sent.values()):4d} requests = {writes} writes + {reads} reads"
            f"  target {formula} writes: {verdict} {ratio}"
            f"  | PROPFIND+REPORT {listing}  | {detail}"
        )
    print(
        "  (the first export's PROPFINDs are the library's discovery — principal, calendar "
        "home, calendars — done once per account; later runs reuse the remembered calendar "
        "URL and auth scheme: no PROPFIND, and one REPORT only where something is read)"
    )


if __name__ == "__main__":
    main()
