"""HTTP requests the caldav exporter makes for 200 tasks, counted in front of a real Radicale.

CalDAV has no batch write: one calendar object is one PUT (RFC 4791 §5.3.2), so the floor of
a first export is one write per task plus the calendar's MKCALENDAR (its name and component
set in the body: no PROPPATCH). Finding the calendar takes one PROPFIND per discovery hop
(RFC 6764 §6), once per account: one when `url` is the principal or the calendar home, one
more from a server root to learn the principal; the calendar's URL and the auth scheme are
then remembered, and Basic goes with the first request (no 401 round trip).
Targets: one write per change, no more than one PROPFIND per run.
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
    from radicale_server import USER

    rows = runs(home, component, "")
    rows.insert(1, ("first, url=principal", runs(home / "principal", component, USER + "/")[0][1]))
    kind = "VEVENTs" if component == "event" else "VTODOs (completions read back each run)"
    print(f"CalDAV HTTP requests for {TASKS} tasks as {kind}, against Radicale")
    targets = {"first": TASKS + 1, "unchanged": 0, "edit": 3, "lookup": 0}
    for name, sent in rows:
        target = targets[name.split()[0].rstrip(",")]
        writes = sum(n for method, n in sent.items() if method not in (*READS, "OPTIONS"))
        reads = sum(sent.values()) - writes
        verdict = "ok" if writes <= target else "over target"
        propfinds = sent["PROPFIND"]
        found = "ok" if propfinds <= 1 else "over: +1 hop, the root names the principal"
        detail = ", ".join(f"{n} {method}" for method, n in sorted(sent.items())) or "nothing"
        print(
            f"  {name:<20} {sum(sent.values()):4d} requests = {writes} writes + {reads} reads"
            f"  | writes {writes} (target {target}: {verdict})"
            f"  | PROPFIND {propfinds} (target ≤1: {found})  | {detail}"
        )
    print(
        "  (first export at url = the server root: PROPFIND the root for the principal "
        "(RFC 5397), then the principal with Depth 1, which on Radicale is also the calendar "
        "home; a server whose home lies elsewhere — iCloud, Nextcloud, Fastmail — needs one "
        "more. Later runs reuse the remembered calendar URL and auth scheme: no PROPFIND; "
        "another calendar of the same account lists the remembered home: one PROPFIND)"
    )


def runs(home: Path, component: str, path: str) -> list[tuple[str, Counter[str]]]:
    """First export, unchanged re-run, an edit and a lookup, against a fresh Radicale with
    `url` = its root + `path`."""
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
        options["url"] = server.url + path
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

        rows = [("first, url=root", run(tasks)), ("unchanged re-run", run(tasks))]
        edited = [replace(task, title=task.title + " (moved)") for task in tasks[:3]]
        rows.append(("edit touching 3", run(edited + tasks[3:])))
        rows.append(("lookup of 200", lookup()))
        options["calendar"] = "Another"  # the account's calendar home is remembered
        rows.append(("first, 2nd calendar", run(tasks)))
    store.close()
    return rows


if __name__ == "__main__":
    main()
