"""Kill `followup export` (SIGKILL) in the middle of a large export; the next run finishes it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import icalendar
import pytest

SAMPLE = Path(__file__).parent.parent / "samples" / "onsite-acme.yaml"
NOW = "2026-11-20T19:00:00-05:00"
RECORDS = 300
TASKS_PER_RECORD = 11


def synced_rows(database: Path) -> int:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(database, timeout=1) as db:
            return int(db.execute("SELECT count(*) FROM synced").fetchone()[0])
    except sqlite3.OperationalError:  # the table is not there yet
        return 0


@pytest.mark.slow
def test_a_killed_export_is_finished_by_the_next_run(tmp_path: Path, followup_home: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    text = SAMPLE.read_text()
    for number in range(RECORDS):
        (records / f"r{number:03}.yaml").write_text(
            text.replace("id: acme-backend-2026-11", f"id: acme-{number:03}")
        )
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "followup",
        "--now",
        NOW,
        "export",
        *sorted(map(str, records.iterdir())),
        "--to",
        "ics",
        "-o",
        str(out),
    ]
    database = followup_home / "state" / "state.db"
    total = RECORDS * TASKS_PER_RECORD

    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while synced_rows(database) < total // 10 and process.poll() is None:
        time.sleep(0.002)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    landed = synced_rows(database)
    assert 0 < landed < total, f"the kill was not half-way ({landed} of {total})"

    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    assert finished.stdout.strip().endswith(
        f"{total - landed} created, 0 updated, 0 cancelled, {landed} unchanged"
    )
    for number in range(RECORDS):
        calendar = icalendar.Calendar.from_ical((out / f"acme-{number:03}.ics").read_bytes())
        uids = [str(event["UID"]) for event in calendar.walk("VEVENT")]
        assert len(uids) == len(set(uids)) == TASKS_PER_RECORD
    again = subprocess.run(command, capture_output=True, text=True, check=True)
    assert again.stdout.strip().endswith(f"0 created, 0 updated, 0 cancelled, {total} unchanged")
    assert not list(out.glob(".*.tmp"))
