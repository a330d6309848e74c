"""`followup export --to google` end to end, pointed at the fake by the environment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from backends.google import GoogleBackend, backend
from click.testing import CliRunner
from followup_google.auth import scopes_for

from followup.cli import cli
from followup.config import store_secret

SAMPLE = str(Path(__file__).parent.parent / "samples" / "onsite-acme.yaml")
NOW = ["--now", "2026-11-20T19:00:00-05:00"]


@pytest.fixture
def google(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GoogleBackend]:
    with backend(tmp_path) as made:
        monkeypatch.setenv("FOLLOWUP_GOOGLE_API_URL", made.fake.url)
        monkeypatch.setenv("FOLLOWUP_GOOGLE_TOKEN_URI", made.fake.token_uri)
        yield made


def test_export_dry_run_then_export_through_the_environment(google: GoogleBackend) -> None:
    runner = CliRunner()
    dry = runner.invoke(cli, [*NOW, "export", SAMPLE, "--to", "google", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert google.fake.stats.http_requests == 0
    assert dry.output.count("would POST <new calendar") >= 3

    result = runner.invoke(cli, [*NOW, "export", SAMPLE, "--to", "google"])
    assert result.exit_code == 0, result.output
    created = len(google.remote_items())
    assert created >= 3 and f"{created} created" in result.output

    writes = google.write_requests()
    rerun = runner.invoke(cli, [*NOW, "export", SAMPLE, "--to", "google"])
    assert f"{created} unchanged" in rerun.output
    assert google.write_requests() == writes


def test_a_revoked_sign_in_exits_1_with_what_to_do(google: GoogleBackend) -> None:
    google.fake.revoke_all()
    result = CliRunner().invoke(cli, [*NOW, "export", SAMPLE, "--to", "google"])
    assert result.exit_code == 1
    assert "run `followup auth google`" in result.output
    assert google.grant["refresh_token"] not in result.output


def test_not_signed_in_exits_1(google: GoogleBackend) -> None:
    from followup.config import delete_secret

    delete_secret("google")
    result = CliRunner().invoke(cli, [*NOW, "export", SAMPLE, "--to", "google"])
    assert result.exit_code == 1 and "followup auth google" in result.output


def test_an_existing_calendar_by_option(google: GoogleBackend) -> None:
    store_secret("google", json.dumps(google.fake.grant(scopes_for("primary"))))
    args = [*NOW, "export", SAMPLE, "--to", "google", "--set", "calendar=primary"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert google.fake.live_events("primary") and not google.fake.app_calendars()


def test_the_settings_init_writes_work_as_they_are(google: GoogleBackend, folder: Path) -> None:
    runner = CliRunner()
    init = [*NOW, "init", "--name", "Alex Morgan", "--timezone", "America/New_York"]
    init += ["--country", "US", "--folder", str(folder), "--destination", "google"]
    made = runner.invoke(cli, init)
    assert made.exit_code == 0, made.output
    synced = runner.invoke(cli, [*NOW, "sync"])
    assert synced.exit_code == 0, synced.output
    (calendar,) = google.fake.app_calendars()
    assert calendar["summary"] == "Interview follow-ups"
    assert len(google.remote_items()) > 20


def test_a_name_in_calendar_is_exit_2_naming_both_keys(google: GoogleBackend) -> None:
    args = [*NOW, "export", SAMPLE, "--to", "google", "--set", "calendar=Interview follow-ups"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "calendar_name" in result.output and 'calendar = "primary"' in result.output
    assert google.fake.stats.http_requests == 0
