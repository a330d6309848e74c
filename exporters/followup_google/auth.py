"""Google sign-in: the installed-app OAuth flow, scope choice and stored credentials.

The stored grant is JSON under the secret name "google" (keyring, else a 0600 file). It
never leaves this module in printable form: messages name what to do, not what was stored.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from followup.config import delete_secret, load_secret, store_secret
from followup.errors import AuthError, MissingExtra, UserError

SECRET_NAME = "google"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
TOKEN_URI_ENV = "FOLLOWUP_GOOGLE_TOKEN_URI"
CLIENT_SECRETS_ENV = "FOLLOWUP_GOOGLE_CLIENT_SECRETS"
# Scopes per method come from the Calendar v3 discovery document (each method's "scopes").
# A calendar the tool creates itself: calendars.insert and events.* on it.
SCOPE_APP_CREATED = "https://www.googleapis.com/auth/calendar.app.created"
# Writing into an existing calendar (e.g. "primary") needs event access to all calendars.
SCOPE_EVENTS = "https://www.googleapis.com/auth/calendar.events"
# calendarList.list and .get (finding our calendar after a lost answer, the real id of
# "primary") accept neither of the two above; this read-only one is the narrowest that does.
SCOPE_LIST = "https://www.googleapis.com/auth/calendar.calendarlist.readonly"
SCOPE_FULL = "https://www.googleapis.com/auth/calendar"
LIST_SCOPES = {SCOPE_LIST, "https://www.googleapis.com/auth/calendar.calendarlist", SCOPE_FULL}
SIGN_IN = "run `followup auth google`"
# google-auth-oauthlib run_local_server(timeout_seconds=…): WSGITimeoutError after this.
SIGN_IN_TIMEOUT = 300
# A calendar id is "primary" or an address (me@gmail.com, …@group.calendar.google.com).
CALENDAR_ID = re.compile(r"^(primary|[^\s@]+@[^\s@]+)$")


def scopes_for(calendar_id: str | None) -> list[str]:
    """The narrowest scopes that serve a target: the dedicated calendar, or an existing one."""
    return [SCOPE_EVENTS if calendar_id else SCOPE_APP_CREATED, SCOPE_LIST]


def can_list_calendars(grant: dict[str, Any]) -> bool:
    return bool(LIST_SCOPES & set(grant.get("scopes") or ()))


def auth_advice(calendar_id: str | None) -> str:
    """The sign-in command for a target, quoted so it can be pasted."""
    if calendar_id:
        return f"run `followup auth google --calendar {shlex.quote(calendar_id)}`"
    return SIGN_IN


def token_uri(option: str | None = None) -> str:
    return option or os.environ.get(TOKEN_URI_ENV) or DEFAULT_TOKEN_URI


def load_grant() -> dict[str, Any] | None:
    """The stored grant, or None when the user has not signed in."""
    text = load_secret(SECRET_NAME)
    if not text:
        return None
    try:
        grant: dict[str, Any] = json.loads(text)
    except ValueError:
        raise AuthError(f"the stored Google credentials are unreadable; {SIGN_IN}") from None
    if not grant.get("refresh_token") or not grant.get("client_id"):
        raise AuthError(f"the stored Google credentials are incomplete; {SIGN_IN}")
    return grant


def store_grant(credentials: Any, calendar_id: str | None) -> str:
    """Store a `google.oauth2.credentials.Credentials`; returns where it went."""
    expiry: datetime | None = credentials.expiry
    grant = {
        "token": credentials.token,
        "refresh_token": credentials.refresh_token,
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
        "scopes": list(credentials.granted_scopes or credentials.scopes or []),
        "expiry": expiry.isoformat() if expiry else None,
        "calendar": calendar_id,
    }
    return store_secret(SECRET_NAME, json.dumps(grant))


def credentials_from_grant(grant: dict[str, Any], uri: str) -> Any:
    """SDK credentials for a stored grant, refreshed against `uri`."""
    from google.oauth2.credentials import Credentials

    expiry = grant.get("expiry")
    return Credentials(
        token=grant.get("token"),
        refresh_token=grant["refresh_token"],
        token_uri=uri,
        client_id=grant["client_id"],
        client_secret=grant.get("client_secret"),
        scopes=grant.get("scopes") or None,
        # google-auth compares against naive UTC datetimes.
        expiry=datetime.fromisoformat(expiry).replace(tzinfo=None) if expiry else None,
    )


def check_scope(grant: dict[str, Any], calendar_id: str | None) -> None:
    """Fail early, without network, when the grant cannot serve the chosen calendar."""
    scopes = set(grant.get("scopes") or ())
    needed = scopes_for(calendar_id)[0]
    if needed in scopes or SCOPE_FULL in scopes:
        return
    if calendar_id:
        raise AuthError(
            f"the Google sign-in does not allow writing to calendar {calendar_id!r}; "
            f"{auth_advice(calendar_id)}"
        )
    raise AuthError(
        "the Google sign-in does not allow creating the follow-ups calendar; "
        f"{SIGN_IN} (or set a calendar id in the settings)"
    )


def _client_config(path: Path, uri: str) -> dict[str, Any]:
    try:
        config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UserError(f"{path}: not a readable OAuth client file ({error})") from None
    section = config.get("installed")
    if not isinstance(section, dict) or "client_id" not in section:
        raise UserError(
            f'{path}: expected a Desktop app OAuth client (a JSON with an "installed" section)'
        )
    section["token_uri"] = uri
    return config


@click.command("google")
@click.option(
    "--client-secrets",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar=CLIENT_SECRETS_ENV,
    help="The Desktop app OAuth client JSON downloaded from Google Cloud Console.",
)
@click.option("--no-browser", is_flag=True, help="Print the sign-in URL instead of opening it.")
@click.option(
    "--calendar",
    "calendar_id",
    metavar="ID",
    help="Write into this existing calendar (asks for access to events in all calendars).",
)
@click.option("--logout", is_flag=True, help="Forget the stored Google credentials.")
def auth_command(
    client_secrets: Path | None, no_browser: bool, calendar_id: str | None, logout: bool
) -> None:
    """Sign in to Google Calendar for `followup export --to google`.

    By default followup creates its own calendar, "Interview follow-ups", and asks only
    for access to calendars it created. With --calendar it writes into an existing
    calendar instead and asks for access to events.

    \b
    Example:
      followup auth google --client-secrets ~/Downloads/client_secret.json
      followup auth google --client-secrets client.json --no-browser --calendar primary
      followup auth google --logout
    """
    if logout:
        removed = delete_secret(SECRET_NAME)
        click.echo(
            "Signed out: the stored Google credentials were removed. To revoke access "
            "entirely, visit https://myaccount.google.com/permissions"
            if removed
            else "No Google credentials were stored."
        )
        return
    if client_secrets is None:
        raise UserError(
            "followup auth google needs --client-secrets FILE: the Desktop app OAuth client "
            "you create once in Google Cloud Console (see the README, 'Google Calendar')"
        )
    if calendar_id is not None and not CALENDAR_ID.match(calendar_id):
        raise UserError(
            f"--calendar {shlex.quote(calendar_id)}: not a calendar id; give primary or an id "
            "like …@group.calendar.google.com (or leave it out for followup's own calendar, "
            "named by calendar_name in the settings)"
        )
    try:
        from google_auth_oauthlib.flow import InstalledAppFlow, WSGITimeoutError
    except ImportError:
        raise MissingExtra("google", "google") from None
    import webbrowser

    chosen = f" --calendar {shlex.quote(calendar_id)}" if calendar_id else ""
    again = (
        f"run `followup auth google --client-secrets {shlex.quote(str(client_secrets))}"
        f"{chosen}` again"
    )
    # PKCE: the flow generates a code verifier by default (autogenerate_code_verifier=True).
    flow = InstalledAppFlow.from_client_config(
        _client_config(client_secrets, token_uri()), scopes=scopes_for(calendar_id)
    )
    # requests-oauthlib logs whole token answers at DEBUG: keep them out of any log.
    for name in ("requests_oauthlib", "oauthlib"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        credentials = flow.run_local_server(
            host="localhost",
            port=0,
            open_browser=not no_browser,
            authorization_prompt_message=(
                "Open this URL in a browser on this machine to allow access "
                "(on a remote machine, forward its localhost port first, e.g. ssh -L):\n{url}"
            ),
            success_message="followup is signed in to Google Calendar; you can close this tab.",
            timeout_seconds=SIGN_IN_TIMEOUT,
            # Google sends a refresh token only on consent; asking again brings a new one.
            prompt="consent",
        )
    except webbrowser.Error:
        raise AuthError(
            "no web browser could be opened here; add --no-browser and open the printed "
            "URL on a machine that has one"
        ) from None
    except WSGITimeoutError:
        raise AuthError(
            f"no answer from the browser within {SIGN_IN_TIMEOUT // 60} minutes; {again}"
        ) from None
    except Exception as error:  # oauthlib raises many types; none may carry a secret out
        raise AuthError(
            f"Google sign-in did not complete ({type(error).__name__}); {again}"
        ) from None
    if not credentials.refresh_token:
        raise AuthError(f"Google returned no refresh token; {SIGN_IN} again")
    where = store_grant(credentials, calendar_id)
    target = f"calendar {calendar_id}" if calendar_id else 'the "Interview follow-ups" calendar'
    click.echo(f"Signed in to Google Calendar for {target}; credentials stored in {where}.")
