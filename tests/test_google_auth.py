"""`followup auth google` without the network, and secrets kept out of every output."""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import click
import pytest
from backends.google import backend, make_task, many_tasks
from click.testing import CliRunner
from fakes.google_server import FakeGoogleCalendar
from followup_google import GoogleExporter
from followup_google.auth import scopes_for

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


@pytest.fixture
def google_fake() -> Iterator[FakeGoogleCalendar]:
    with FakeGoogleCalendar(seed=1) as fake:
        fake.register_client(CLIENT["installed"]["client_id"], CLIENT["installed"]["client_secret"])
        yield fake


@dataclass
class Consent:
    """The person at Google's consent page: allows access, and the browser is redirected."""

    fake: FakeGoogleCalendar
    account: str = "me@example.com"
    urls: list[str] = field(default_factory=list)

    def allow(self, url: str) -> None:
        self.urls.append(url)
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        code = self.fake.consent(url, self.account)
        answer = urllib.parse.urlencode({"state": query["state"], "code": code})
        threading.Thread(
            target=lambda: urllib.request.urlopen(f"{query['redirect_uri']}?{answer}", timeout=10),
            daemon=True,
        ).start()


@pytest.fixture
def consent(google_fake: FakeGoogleCalendar, monkeypatch: pytest.MonkeyPatch) -> Iterator[Consent]:
    """The real InstalledAppFlow and local redirect server; the browser is the person."""
    import webbrowser

    from google_auth_oauthlib.flow import InstalledAppFlow

    person = Consent(google_fake)
    monkeypatch.setenv("FOLLOWUP_GOOGLE_TOKEN_URI", google_fake.token_uri)
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake token endpoint is http
    real_url = InstalledAppFlow.authorization_url

    def authorization_url(self: Any, **kwargs: Any) -> Any:
        url, state = real_url(self, **kwargs)
        if os.environ.get("TEST_NO_BROWSER"):  # --no-browser: opened on another machine
            person.allow(url)
        return url, state

    class Browser:
        def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
            person.allow(url)
            return True

    monkeypatch.setattr(InstalledAppFlow, "authorization_url", authorization_url)
    monkeypatch.setattr(webbrowser, "get", lambda using=None: Browser())
    yield person


@pytest.fixture
def client_file(tmp_path: Path) -> Path:
    path = tmp_path / "client_secret.json"
    path.write_text(json.dumps(CLIENT))
    return path


def _command() -> click.Command:
    command = GoogleExporter.auth_command()
    assert isinstance(command, click.Command)
    return command


def test_sign_in_asks_for_the_narrowest_scopes_with_consent_and_stores_0600(
    consent: Consent, client_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_NO_BROWSER", "1")
    result = CliRunner().invoke(_command(), ["--client-secrets", str(client_file), "--no-browser"])
    assert result.exit_code == 0, result.output
    (url,) = consent.urls
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query["scope"].split() == scopes_for(None)
    assert (query["prompt"], query["access_type"]) == ("consent", "offline")
    assert query["code_challenge_method"] == "S256"
    assert url in result.output
    stored = json.loads(load_secret("google") or "{}")
    assert stored["refresh_token"].startswith("1//") and stored["calendar"] is None
    assert sorted(stored["scopes"]) == sorted(scopes_for(None))
    secrets_file = config_dir() / "secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    for secret in (stored["refresh_token"], stored["token"], CLIENT["installed"]["client_secret"]):
        assert secret not in result.output


def test_signing_in_again_still_brings_a_refresh_token(consent: Consent, client_file: Path) -> None:
    args = ["--client-secrets", str(client_file)]
    first = CliRunner().invoke(_command(), args)
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(_command(), args)  # the account consented before
    assert again.exit_code == 0, again.output
    refresh = json.loads(load_secret("google") or "{}")["refresh_token"]
    assert refresh in consent.fake.grants and len(consent.urls) == 2


def test_an_existing_calendar_asks_for_events_access(consent: Consent, client_file: Path) -> None:
    args = ["--client-secrets", str(client_file), "--calendar", "primary"]
    result = CliRunner().invoke(_command(), args)
    assert result.exit_code == 0, result.output
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(consent.urls[0]).query))
    assert query["scope"].split() == scopes_for("primary")
    assert json.loads(load_secret("google") or "{}")["calendar"] == "primary"


def test_no_answer_from_the_browser_times_out_with_a_pasteable_command(
    consent: Consent, client_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from followup_google import auth

    monkeypatch.setattr(auth, "SIGN_IN_TIMEOUT", 1)
    monkeypatch.setattr(Consent, "allow", lambda self, url: None)  # the tab was closed
    results: list[Any] = []
    args = ["--client-secrets", str(client_file), "--calendar", "team x@group.calendar.google.com"]
    worker = threading.Thread(target=lambda: results.append(CliRunner().invoke(_command(), args)))
    worker.start()
    worker.join(timeout=30)
    assert results, "the sign-in waited for the browser for ever"
    (result,) = results
    assert isinstance(result.exception, FollowupError)
    assert result.exception.exit_code == 2  # not a calendar id: refused before any wait
    args = ["--client-secrets", str(client_file), "--calendar", "primary"]
    worker = threading.Thread(target=lambda: results.append(CliRunner().invoke(_command(), args)))
    worker.start()
    worker.join(timeout=30)
    assert len(results) == 2, "the sign-in waited for the browser for ever"
    assert isinstance(results[1].exception, FollowupError)
    assert results[1].exception.exit_code == 1
    message = str(results[1].exception)
    assert "no answer from the browser" in message
    assert f"`followup auth google --client-secrets {client_file} --calendar primary`" in message
    assert load_secret("google") is None


def test_without_a_browser_the_message_suggests_no_browser(
    consent: Consent, client_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webbrowser

    def no_browser(using: str | None = None) -> Any:
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "get", no_browser)
    result = CliRunner().invoke(_command(), ["--client-secrets", str(client_file)])
    assert isinstance(result.exception, FollowupError) and result.exception.exit_code == 1
    assert "--no-browser" in str(result.exception)


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
    consent: Consent,
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
    signed_in = json.loads(load_secret("google") or "{}")
    secrets |= issued | {
        signed_in["token"],
        signed_in["refresh_token"],
        CLIENT["installed"]["client_secret"],
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


def test_a_sign_in_goes_to_the_system_keyring_when_there_is_one(
    consent: Consent, client_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        """A keyring made for tests: the real keyring API, kept in memory."""

        priority = 1  # type: ignore[assignment]
        passwords: ClassVar[dict[tuple[str, str], str]] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.passwords.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.passwords[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            del self.passwords[(service, username)]

    # As on a user's machine: no FOLLOWUP_HOME, so the keyring is used.
    monkeypatch.delenv("FOLLOWUP_HOME")
    monkeypatch.delenv("FOLLOWUP_NO_KEYRING")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        result = CliRunner().invoke(_command(), ["--client-secrets", str(client_file)])
        assert result.exit_code == 0, result.output
        assert "credentials stored in the system keyring" in result.output
        stored = json.loads(MemoryKeyring.passwords[("followup", "google")])
        assert stored["refresh_token"].startswith("1//")
        assert not (config_dir() / "secrets.json").exists()
        assert load_secret("google") == MemoryKeyring.passwords[("followup", "google")]
        logout = CliRunner().invoke(_command(), ["--logout"])
        assert "Signed out" in logout.output and not MemoryKeyring.passwords
    finally:
        keyring.set_keyring(previous)
