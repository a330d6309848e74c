"""`followup auth google` without the network, and secrets kept out of every output."""

from __future__ import annotations

import json
import logging
import stat
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import click
import pytest
from backends.google import backend, make_task, many_tasks
from click.testing import CliRunner
from followup_google import GoogleExporter
from followup_google.auth import SCOPE_APP_CREATED, SCOPE_EVENTS

from followup.config import config_dir, load_secret, store_secret
from followup.errors import FollowupError
from followup.exporter import Change
from followup.state import StateStore
from followup.sync import sync

CLIENT = {
    "installed": {
        "client_id": "1234-abc.apps.googleusercontent.com",
        "client_secret": "GOCSPX-client-secret-value",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "redirect_uris": ["http://localhost"],
    }
}


class FakeFlow:
    """Stands in for InstalledAppFlow: records how it was set up and run."""

    seen: ClassVar[dict[str, Any]] = {}

    @classmethod
    def from_client_config(cls, config: dict[str, Any], scopes: list[str]) -> FakeFlow:
        cls.seen = {"config": config, "scopes": scopes}
        return cls()

    def run_local_server(self, **kwargs: Any) -> Any:
        from google.oauth2.credentials import Credentials

        self.seen["run"] = kwargs
        print(kwargs["authorization_prompt_message"].format(url="https://accounts.example/auth"))
        return Credentials(
            token="ya29.fresh-access-token",
            refresh_token="1//refresh-token-value",
            client_id=CLIENT["installed"]["client_id"],
            client_secret=CLIENT["installed"]["client_secret"],
            scopes=self.seen["scopes"],
            expiry=datetime(2026, 11, 20, 20, 0),
        )


@pytest.fixture
def flow(monkeypatch: pytest.MonkeyPatch) -> type[FakeFlow]:
    import google_auth_oauthlib.flow

    monkeypatch.setattr(google_auth_oauthlib.flow, "InstalledAppFlow", FakeFlow)
    return FakeFlow


@pytest.fixture
def client_file(tmp_path: Path) -> Path:
    path = tmp_path / "client_secret.json"
    path.write_text(json.dumps(CLIENT))
    return path


def _command() -> click.Command:
    command = GoogleExporter.auth_command()
    assert isinstance(command, click.Command)
    return command


def test_sign_in_asks_for_the_narrowest_scope_and_stores_0600(
    flow: type[FakeFlow], client_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOLLOWUP_GOOGLE_TOKEN_URI", "http://127.0.0.1:9/token")
    result = CliRunner().invoke(_command(), ["--client-secrets", str(client_file), "--no-browser"])
    assert result.exit_code == 0, result.output
    assert flow.seen["scopes"] == [SCOPE_APP_CREATED]
    assert flow.seen["config"]["installed"]["token_uri"] == "http://127.0.0.1:9/token"
    assert flow.seen["run"]["port"] == 0 and flow.seen["run"]["open_browser"] is False
    assert "https://accounts.example/auth" in result.output
    stored = json.loads(load_secret("google") or "{}")
    assert stored["refresh_token"] == "1//refresh-token-value"
    assert stored["scopes"] == [SCOPE_APP_CREATED] and stored["calendar"] is None
    secrets_file = config_dir() / "secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    for secret in ("ya29.fresh", "1//refresh", "GOCSPX"):
        assert secret not in result.output


def test_an_existing_calendar_asks_for_events_access(
    flow: type[FakeFlow], client_file: Path
) -> None:
    args = ["--client-secrets", str(client_file), "--calendar", "primary"]
    result = CliRunner().invoke(_command(), args)
    assert result.exit_code == 0, result.output
    assert flow.seen["scopes"] == [SCOPE_EVENTS]
    assert flow.seen["run"]["open_browser"] is True
    assert json.loads(load_secret("google") or "{}")["calendar"] == "primary"


def test_logout_removes_the_stored_grant() -> None:
    store_secret("google", json.dumps({"refresh_token": "1//x", "client_id": "c"}))
    result = CliRunner().invoke(_command(), ["--logout"])
    assert result.exit_code == 0 and "Signed out" in result.output
    assert load_secret("google") is None
    again = CliRunner().invoke(_command(), ["--logout"])
    assert "No Google credentials" in again.output


def test_sign_in_needs_the_client_file() -> None:
    result = CliRunner().invoke(_command(), [])
    assert isinstance(result.exception, FollowupError)
    assert result.exception.exit_code == 2
    assert "--client-secrets" in str(result.exception)


def test_no_secret_appears_in_any_output(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    flow: type[FakeFlow],
    client_file: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    issued: set[str] = set()
    with backend(tmp_path) as google:
        store = StateStore(tmp_path / "state.db")
        google.fake.inject_faults(0.2)
        tasks = many_tasks(60)
        for _ in range(5):
            exporter = google.make_exporter()
            report = sync(tasks, {t.record for t in tasks}, exporter, store)
            exporter.close()
            texts += [report.summary(), *(o.error or "" for o in report.failures)]
        issued |= set(google.fake.access_tokens)
        google.fake.revoke_all()
        with pytest.raises(FollowupError) as caught:
            list(google.make_exporter().apply([Change("create", make_task("a", "b"))]))
        texts += [str(caught.value), repr(caught.value)]
        assert caught.value.__suppress_context__  # no SDK error chained into a --debug trace
        secrets = {
            google.grant["token"],
            google.grant["refresh_token"],
            google.grant["client_secret"],
        }
        store.close()
    sign_in = CliRunner().invoke(_command(), ["--client-secrets", str(client_file)])
    texts.append(sign_in.output)
    secrets |= issued | {
        "ya29.fresh-access-token",
        "1//refresh-token-value",
        "GOCSPX-client-secret-value",
    }
    captured = capsys.readouterr()
    texts += [captured.out, captured.err, caplog.text]
    texts += [r.getMessage() for r in caplog.records]
    texts.append((tmp_path / "state.db").read_bytes().decode("utf-8", "replace"))
    texts += [p.read_text() for p in (tmp_path / "google-state").iterdir()]
    everything = "\n".join(texts)
    assert issued and "followup auth google" in everything
    for secret in secrets:
        assert secret not in everything
