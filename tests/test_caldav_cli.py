"""`followup export … --to caldav` and `followup auth caldav`, end to end against Radicale."""

from __future__ import annotations

import json
import shutil
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from backends.caldav import CalDavBackend, backend
from click.testing import CliRunner, Result
from radicale_server import PASSWORD, USER

from followup.cli import cli

SAMPLES = Path(__file__).parent.parent / "samples"
NOW = "2026-11-20T19:00:00-05:00"

pytestmark = pytest.mark.slow


@pytest.fixture
def caldav(tmp_path: Path, followup_home: Path) -> Iterator[CalDavBackend]:
    with backend(tmp_path) as made:
        settings = followup_home / "config" / "config.toml"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(
            f'[exporters.caldav]\nurl = "{made.server.url}"\nusername = "{USER}"\n',
            encoding="utf-8",
        )
        yield made


@pytest.fixture
def record(tmp_path: Path) -> Path:
    path = tmp_path / "onsite-acme.yaml"
    shutil.copy(SAMPLES / "onsite-acme.yaml", path)
    return path


def followup(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--now", NOW, *args], input=input)


def statuses(caldav: CalDavBackend) -> list[str]:
    return sorted(str(c.get("STATUS", "")) for c in caldav.objects())


def test_export_rerun_and_withdrawal(caldav: CalDavBackend, record: Path) -> None:
    first = followup("export", str(record), "--to", "caldav")
    assert first.exit_code == 0, first.output
    assert "caldav: 11 created, 0 updated, 0 cancelled, 0 unchanged" in first.output
    assert statuses(caldav) == ["CONFIRMED"] * 11

    before = caldav.server.count()
    again = followup("export", str(record), "--to", "caldav")
    assert "0 created, 0 updated, 0 cancelled, 11 unchanged" in again.output
    assert caldav.server.count() == before, "an unchanged re-run sends nothing"

    text = record.read_text(encoding="utf-8")
    record.write_text(
        text.replace("status: waiting", "status: withdrawn\nstatus_since: 2026-11-24"),
        encoding="utf-8",
    )
    withdrawn = followup("export", str(record), "--to", "caldav")
    assert withdrawn.exit_code == 0, withdrawn.output
    assert "1 created, 0 updated, 11 cancelled" in withdrawn.output
    assert statuses(caldav) == ["CONFIRMED"]  # the withdrawal note; the rest were deleted


def test_as_todo_and_a_todo_checked_off_on_the_server(caldav: CalDavBackend, record: Path) -> None:
    args = ("export", str(record), "--to", "caldav", "--as", "todo", "--set", "calendar=Tasks")
    first = followup(*args)
    assert first.exit_code == 0, first.output
    assert statuses(caldav) == ["NEEDS-ACTION"] * 11
    assert all("DUE" in c for c in caldav.objects())

    import caldav as library

    with library.DAVClient(url=caldav.server.url, username=USER, password=PASSWORD) as client:
        [calendar] = client.principal().calendars()
        jane = "acme-backend-2026-11/thank-you/jane-doe@followup"
        [todo] = [t for t in calendar.todos() if t.icalendar_component["UID"] == jane]
        todo.complete()  # what a phone does when the box is ticked

    writes = caldav.server.writes()
    second = followup(*args)
    assert second.exit_code == 0, second.output
    assert "note: checked off in 'Tasks': acme-backend-2026-11/thank-you/jane-doe" in second.output
    assert caldav.server.writes() == writes


def test_dry_run_touches_nothing(caldav: CalDavBackend, record: Path, followup_home: Path) -> None:
    dry = followup("export", str(record), "--to", "caldav", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would create acme-backend-2026-11/thank-you/jane-doe: PUT (If-None-Match: *)" in (
        dry.output
    )
    assert "dry run, nothing written: would be 11 created" in dry.output
    assert caldav.server.count() == 0
    assert not (followup_home / "state").exists() or not any((followup_home / "state").iterdir())


def test_unconfigured_is_one_line(record: Path, followup_home: Path) -> None:
    result = followup("export", str(record), "--to", "caldav")
    assert result.exit_code == 1
    assert "caldav: set url and username under [exporters.caldav]" in result.output


def test_auth_checks_the_password_then_stores_it_privately(
    caldav: CalDavBackend, followup_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FOLLOWUP_CALDAV_PASSWORD")
    secrets = followup_home / "config" / "secrets.json"

    refused = followup("auth", "caldav", input="not-it\n")
    assert refused.exit_code == 1
    assert "rejected the password for 'jane'" in refused.output
    assert "not-it" not in refused.output
    assert not secrets.exists()

    stored = followup("auth", "caldav", input=f"{PASSWORD}\n")
    assert stored.exit_code == 0, stored.output
    assert PASSWORD not in stored.output
    assert json.loads(secrets.read_text())["caldav"] == PASSWORD
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert caldav.make_exporter().configured()[0]

    assert followup("auth", "caldav", "--logout").exit_code == 0
    assert "caldav" not in json.loads(secrets.read_text())


def test_sync_records_a_todo_checked_off_on_the_phone_in_the_record(
    caldav: CalDavBackend, tmp_path: Path, followup_home: Path
) -> None:
    folder = tmp_path / "search"
    folder.mkdir()
    shutil.copy(SAMPLES / "onsite-acme.yaml", folder / "onsite-acme.yaml")
    (followup_home / "config" / "config.toml").write_text(
        f'folder = "{folder}"\ndestinations = ["caldav"]\n\n'
        f'[exporters.caldav]\nurl = "{caldav.server.url}"\nusername = "{USER}"\nas = "todo"\n',
        encoding="utf-8",
    )
    first = followup("sync")
    assert first.exit_code == 0, first.output

    import caldav as library

    with library.DAVClient(url=caldav.server.url, username=USER, password=PASSWORD) as client:
        [calendar] = client.principal().calendars()
        jane = "acme-backend-2026-11/thank-you/jane-doe@followup"
        [todo] = [t for t in calendar.todos() if t.icalendar_component["UID"] == jane]
        todo.complete(completion_timestamp=datetime(2026, 11, 21, 15, 0, tzinfo=UTC))

    writes = caldav.server.writes()
    second = followup("sync")
    assert second.exit_code == 0, second.output
    assert "recorded as done in" in second.output and "thank-you/jane-doe (2026-11-21)" in (
        second.output
    )
    assert "thank-you/jane-doe: 2026-11-21" in (folder / "onsite-acme.yaml").read_text()
    assert caldav.server.writes() == writes, "the server already shows it done"
    [jane_now] = [c for c in caldav.objects() if str(c["UID"]) == jane]
    assert str(jane_now["STATUS"]) == "COMPLETED"

    third = followup("sync")
    assert third.exit_code == 0 and "recorded as done" not in third.output
    assert caldav.server.writes() == writes
