"""The daily loop end to end: a folder of the samples synced to Google and Todoist (their
real SDKs against the fakes) while `followup serve` serves the feed, through an edit,
`status heard-back`, `status withdrawn` and a deleted record; after every step each
destination holds exactly what the plan says."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import icalendar
import pytest
from backends.google import GoogleBackend
from backends.google import backend as google_backend
from backends.todoist import TodoistBackend
from backends.todoist import backend as todoist_backend
from click.testing import CliRunner, Result
from test_contract import assert_matches_plan

from followup.cli import cli
from followup.config import load_settings, settings_path
from followup.planner import plan_record
from followup.record import find_records, load_record
from followup.tasks import Task

SAMPLES = Path(__file__).parent.parent / "samples"
NOW = "2026-11-20T19:00:00-05:00"
ACME = "acme-backend-2026-11"
UMBRELLA = "umbrella-ae-2026-11"
pytestmark = pytest.mark.slow


class Feed:
    """The feed as a subscriber sees it, fetched from a running `followup serve`."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.host, self.port, self.path = host, port, path

    def events(self) -> dict[str, tuple[str, str]]:
        """Task key -> (STATUS, SUMMARY) of every event in the served calendar."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request("GET", self.path)
            response = connection.getresponse()
            assert response.status == 200
            body = response.read()
        finally:
            connection.close()
        calendar = icalendar.Calendar.from_ical(body)
        return {
            str(event["UID"]).removesuffix("@followup"): (
                str(event["STATUS"]),
                str(event["SUMMARY"]),
            )
            for event in calendar.walk("VEVENT")
        }


@pytest.fixture
def google(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GoogleBackend]:
    with google_backend(tmp_path) as made:  # stores the signed-in grant, as `auth` would
        monkeypatch.setenv("FOLLOWUP_GOOGLE_API_URL", made.fake.url)
        monkeypatch.setenv("FOLLOWUP_GOOGLE_TOKEN_URI", made.fake.token_uri)
        yield made


@pytest.fixture
def todoist(tmp_path: Path) -> Iterator[TodoistBackend]:
    with todoist_backend(tmp_path) as made:  # TODOIST_API_TOKEN and the API URL from the env
        yield made


@pytest.fixture
def settings_file(folder: Path) -> Path:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'folder = "{folder}"\n'
        'destinations = ["google", "todoist", "feed"]\n'
        '[you]\nname = "Alex Morgan"\n'
        '[planning]\ncountry = "US"\n'
        '[exporters.todoist]\nproject = "Job search"\n'
    )
    return path


@pytest.fixture
def feed(folder: Path, settings_file: Path, followup_home: Path) -> Iterator[Feed]:
    command = [sys.executable, "-m", "followup", "--now", NOW, "serve", "--port", "0"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "FOLLOWUP_HOME": str(followup_home)},
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:  # it prints where to subscribe once it listens
            match = re.search(r"subscribe: http://([\d.]+):(\d+)(/feed/[\w-]+\.ics)", line)
            if match:
                break
        else:
            pytest.fail(f"serve did not start: {process.stderr.read() if process.stderr else ''}")
        yield Feed(match[1], int(match[2]), match[3])
    finally:
        process.terminate()
        process.wait(timeout=30)


def followup(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["--now", NOW, *args])
    assert result.exit_code == 0, result.output
    return result


def the_plan(folder: Path) -> list[Task]:
    """What every destination should hold now: the plan of every record in the folder."""
    settings = load_settings()
    return [
        task
        for path in find_records(folder)
        for task in plan_record(load_record(path), settings, datetime.fromisoformat(NOW))
    ]


def assert_everywhere(
    folder: Path, google: GoogleBackend, todoist: TodoistBackend, feed: Feed, gone: set[str]
) -> list[Task]:
    """Google and Todoist hold exactly the planned tasks; the feed has every planned task
    live and everything else it ever had (cancelled tasks, deleted records) CANCELLED."""
    tasks = the_plan(folder)
    assert_matches_plan(google, tasks)
    assert_matches_plan(todoist, tasks)
    events = feed.events()
    planned = {task.key: task for task in tasks if task.status == "planned"}
    live = {key for key, (status, _) in events.items() if status != "CANCELLED"}
    assert live == set(planned)
    for key in planned:
        assert events[key][1] == planned[key].title
    for key in {task.key for task in tasks if task.status == "cancelled"}:
        assert key not in events or events[key][0] == "CANCELLED"
    assert all(events[key][0] == "CANCELLED" for key in events if key.split("/")[0] in gone)
    return tasks


def table_row(output: str, destination: str) -> tuple[int, ...]:
    """created, updated, cancelled, unchanged, failed of one destination in the summary."""
    match = re.search(rf"^{destination}\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", output, re.M)
    assert match, output
    return tuple(int(n) for n in match.groups())


def test_the_daily_loop_keeps_every_destination_equal_to_the_plan(
    folder: Path, google: GoogleBackend, todoist: TodoistBackend, feed: Feed
) -> None:
    # First sync: everything is created in both services; the feed follows the folder.
    first = followup("sync")
    tasks = assert_everywhere(folder, google, todoist, feed, set())
    live = len([task for task in tasks if task.status == "planned"])
    assert table_row(first.output, "google")[0] == live
    assert table_row(first.output, "todoist")[0] == live
    assert "feed: follows the folder by itself" in first.output

    # An edit: exactly Raj's thank-you note and card (the record is formal) change.
    record = folder / "onsite-acme.yaml"
    record.write_text(record.read_text().replace("[Kafka migration]", "[Kafka, Flink on k8s]"))
    edit = followup("sync")
    assert table_row(edit.output, "google")[:3] == (0, 2, 0)
    assert table_row(edit.output, "todoist")[:3] == (0, 2, 0)
    assert_everywhere(folder, google, todoist, feed, set())

    # They called: a new decision date moves the check-ins.
    check_in = f"{ACME}/check-in"
    before = google.remote_items()[check_in].start
    followup("status", str(record), "heard-back", "--decision-by", "2026-12-10")
    moved = followup("sync")
    assert table_row(moved.output, "google")[1] >= 2  # check-in and second check-in
    assert_everywhere(folder, google, todoist, feed, set())
    assert google.remote_items()[check_in].start > before
    assert todoist.remote_items()[check_in].start == google.remote_items()[check_in].start

    # Withdrawn: every pending item of Acme goes; the withdrawal note appears everywhere.
    followup("status", str(record), "withdrawn", "--note", "Took another offer")
    followup("sync")
    assert_everywhere(folder, google, todoist, feed, set())
    note = f"{ACME}/withdrawal-note"
    for items in (google.remote_items(), todoist.remote_items()):
        assert [key for key in items if key.startswith(ACME + "/")] == [note]
    events = feed.events()
    acme = {key: status for key, (status, _) in events.items() if key.startswith(ACME + "/")}
    assert acme.pop(note) == "CONFIRMED"
    assert acme and set(acme.values()) == {"CANCELLED"}

    # A record file deleted: --prune cancels its tasks everywhere.
    (folder / "sales-umbrella.yaml").unlink()
    pruned = followup("sync", "--prune")
    assert "cancelled the tasks of deleted umbrella-ae-2026-11" in pruned.output
    assert table_row(pruned.output, "google")[2] > 0
    assert_everywhere(folder, google, todoist, feed, {UMBRELLA})
    assert not [key for key in google.remote_items() if key.startswith(UMBRELLA)]

    # Nothing left to do: a re-run writes nothing anywhere, and status says so.
    writes = (google.write_requests(), todoist.write_requests())
    followup("sync")
    assert (google.write_requests(), todoist.write_requests()) == writes
    shown = followup("status", str(record)).output
    assert "waiting for `followup sync`" not in shown
    assert re.search(r"^google \(.*\): 1 pending, up to date$", shown, re.M), shown
