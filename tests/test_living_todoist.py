"""The living plan through Todoist, end to end via `followup sync` against the fake: a task
marked done is completed there (never deleted), an undo reopens it, and a task checked off in
Todoist is written into the record by the next sync — once, so a later undo wins."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from backends.todoist import TodoistBackend
from backends.todoist import backend as todoist_backend
from click.testing import CliRunner, Result
from followup_todoist import payload

from followup.cli import cli
from followup.config import settings_path

SAMPLES = Path(__file__).parent.parent / "samples"
NOW = "2026-11-21T09:30:00-05:00"
KEY = "acme-backend-2026-11/thank-you/raj-patel"


def followup(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["--now", NOW, *args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def todoist(tmp_path: Path) -> Iterator[TodoistBackend]:
    with todoist_backend(tmp_path) as made:
        yield made


@pytest.fixture
def record(tmp_path: Path) -> Path:
    folder = tmp_path / "job-search"
    folder.mkdir()
    shutil.copy(SAMPLES / "onsite-acme.yaml", folder / "acme.yaml")
    settings = settings_path()
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(
        f'folder = "{folder}"\ndestinations = ["todoist"]\n'
        '[you]\nname = "Alex Morgan"\ntimezone = "America/New_York"\n'
        '[planning]\ncountry = "US"\n'
    )
    return folder / "acme.yaml"


def item(todoist: TodoistBackend, key: str) -> dict:
    project = todoist.fake.project_named("Job search")
    assert project is not None
    [found] = [
        item
        for item in todoist.fake.items.values()
        if item["project_id"] == project["id"]
        and not item.get("is_deleted")
        and payload.key_of(item["description"]) == key
    ]
    return found


def test_done_completes_the_task_in_todoist_and_undo_reopens_it(
    todoist: TodoistBackend, record: Path
) -> None:
    followup("sync")
    followup("done", str(record), "thank-you/raj-patel", "--on", "2026-11-21")
    followup("sync")
    task = item(todoist, KEY)
    assert task["checked"] and task["completed_at"].startswith("2026-11-21")
    writes = todoist.write_requests()
    followup("sync")
    assert todoist.write_requests() == writes, "an unchanged re-run writes nothing"

    followup("done", str(record), "thank-you/raj-patel", "--undo")
    followup("sync")
    assert not item(todoist, KEY)["checked"], "the later undo reopens it"


def test_a_task_checked_off_in_todoist_is_written_into_the_record_once(
    todoist: TodoistBackend, record: Path
) -> None:
    followup("sync")
    todoist.fake.complete(item(todoist, KEY)["id"])
    taken = followup("sync").output
    assert "recorded as done" in taken
    assert "thank-you/raj-patel:" in record.read_text(encoding="utf-8")
    assert item(todoist, KEY)["checked"], "left completed, never reopened or re-created"

    followup("done", str(record), "thank-you/raj-patel", "--undo")
    followup("sync")
    assert "thank-you/raj-patel" not in record.read_text(encoding="utf-8")
    assert not item(todoist, KEY)["checked"]
