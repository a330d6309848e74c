"""The Google Calendar exporter: deterministic event ids, batch writes, patient retries.

Every write is idempotent: an insert of an id that exists (even a deleted one) answers
409 and becomes an update, a delete of a gone event counts as done. So a run that died
half-way is finished by the next one without duplicates.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from followup.config import write_private
from followup.errors import AuthError, ExportFailed, MissingExtra, UserError
from followup.exporter import Change, ExportContext, Exporter, Outcome, Setting
from followup_google import auth
from followup_google.events import event_body, event_id, parse_reminder_methods

DEFAULT_API_URL = "https://www.googleapis.com/"
API_URL_ENV = "FOLLOWUP_GOOGLE_API_URL"
DEFAULT_CALENDAR_NAME = "Interview follow-ups"
CALENDAR_FILE = "google-calendar.json"
DEDICATED = "dedicated"
MAX_BATCH = 50  # Google's advice for Calendar batches
MAX_ATTEMPTS = 6
BACKOFF_BASE = 1.0
BACKOFF_CAP = 32.0
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}
AGAIN = "run the same command again later — nothing will be duplicated"

Operation = Literal["insert", "update", "delete"]


class _Gone(ExportFailed):
    """The resource asked for does not exist (404) or was deleted (410)."""


class _Transient(Exception):
    """A failure worth retrying; `retry_after` is the server's wish, in seconds."""

    def __init__(self, what: str, retry_after: float | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.retry_after = retry_after


@dataclass
class _Call:
    """One change on its way: the operation to try next and how often it failed."""

    change: Change
    operation: Operation
    attempts: int = 0
    switched: bool = False  # insert<->update fallback already taken once

    @property
    def event_id(self) -> str:
        return event_id(self.change.task.key)


class GoogleExporter(Exporter):
    name: ClassVar[str] = "google"
    description: ClassVar[str] = "Google Calendar events (google-api-python-client)"
    settings: ClassVar[Sequence[Setting]] = (
        Setting(
            "calendar",
            "An existing calendar id to write into (e.g. primary); empty: a dedicated "
            f'"{DEFAULT_CALENDAR_NAME}" calendar followup creates.',
            None,
            "FOLLOWUP_GOOGLE_CALENDAR",
        ),
        Setting("calendar_name", "Name of the dedicated calendar.", DEFAULT_CALENDAR_NAME),
        Setting("reminders", "Reminder methods: popup, email or popup,email.", "popup"),
        Setting(
            "api_url", "Google API root (a proxy or a local fake).", DEFAULT_API_URL, API_URL_ENV
        ),
        Setting("token_uri", "OAuth token endpoint.", auth.DEFAULT_TOKEN_URI, auth.TOKEN_URI_ENV),
    )
    secret: ClassVar[str | None] = "Google sign-in (run `followup auth google`)"
    batch_size: ClassVar[int] = MAX_BATCH

    def __init__(self, options: dict[str, Any], context: ExportContext) -> None:
        super().__init__(options, context)
        self.api_url = self._option("api_url").rstrip("/") + "/"
        self.token_uri = auth.token_uri(self.options.get("token_uri"))
        try:
            self.reminder_methods = parse_reminder_methods(self._option("reminders"))
        except ValueError as error:
            raise UserError(f"google: {error}") from None
        # Injectable so tests never wait; jitter from its own generator.
        self.sleep: Callable[[float], None] = time.sleep
        self.random = random.Random()
        self._grant: dict[str, Any] | None = None
        self._service: Any = None
        self._calendar_id: str | None = None

    def _option(self, name: str) -> Any:
        value = self.options.get(name)
        if value not in (None, ""):
            return value
        setting = next(s for s in self.settings if s.name == name)
        if setting.env and os.environ.get(setting.env):
            return os.environ[setting.env]
        return setting.default

    # -- where events go -------------------------------------------------------------

    @property
    def chosen_calendar(self) -> str | None:
        """An existing calendar id the user chose, or None for the dedicated calendar."""
        explicit = self._option("calendar")
        if explicit:
            return str(explicit)
        grant = self._stored_grant()
        return grant.get("calendar") if grant else None

    @property
    def target(self) -> str:
        return self.chosen_calendar or DEDICATED

    def configured(self) -> tuple[bool, str]:
        if importlib.util.find_spec("googleapiclient") is None:  # found, not imported
            return False, "pip install 'interview-followup[google]'"
        try:
            grant = self._stored_grant()
        except AuthError as error:
            return False, str(error)
        return (True, "ready") if grant else (False, auth.SIGN_IN)

    def describe(self, change: Change) -> str:
        calendar = self.chosen_calendar or self._remembered_calendar()
        where = f"calendars/{calendar}" if calendar else f'<new calendar "{self._calendar_name}">'
        task = change.task
        ident = event_id(task.key)
        when = task.start.isoformat()
        what = f"{task.title!r} {when}"
        if change.action == "cancel":
            return f"DELETE {where}/events/{ident}  (remove {what})"
        if change.action == "update" or change.remote is not None:
            return f"PUT {where}/events/{ident}  (update {what}, status confirmed)"
        return f"POST {where}/events id={ident}  (insert {what}; if the id exists, update it)"

    # -- writing ----------------------------------------------------------------------

    def apply(self, changes: Sequence[Change]) -> Iterator[Outcome]:
        if not changes:
            return
        service = self._api()
        calendar_id = self._calendar(service)
        pending = [_Call(change, _first_operation(change)) for change in changes]
        while pending:
            failures: list[_Transient] = []
            again: list[_Call] = []
            for start in range(0, len(pending), MAX_BATCH):
                chunk = pending[start : start + MAX_BATCH]
                try:
                    answers = self._send_batch(service, calendar_id, chunk)
                except _Transient as whole:
                    _count_attempt(chunk)
                    failures.append(whole)
                    again.extend(chunk)
                    continue
                for call, (_, error) in zip(chunk, answers, strict=True):
                    outcome, failure = self._settle(call, calendar_id, error)
                    if outcome is not None:
                        yield outcome
                        continue
                    again.append(call)
                    if failure is not None:
                        _count_attempt([call])
                        failures.append(failure)
            if failures:
                # Give up only after every success of this round was reported.
                attempts = max(call.attempts for call in again)
                if attempts >= MAX_ATTEMPTS:
                    raise ExportFailed(
                        f"Google Calendar is not answering ({failures[-1].what}); {AGAIN}"
                    )
                waits = [f.retry_after for f in failures if f.retry_after is not None]
                self.sleep(self._delay(attempts, max(waits, default=None)))
            pending = again

    def _settle(
        self, call: _Call, calendar_id: str, error: Any
    ) -> tuple[Outcome | None, _Transient | None]:
        """An outcome for a finished call, or (None, why) when it goes round again."""
        change = call.change
        extra = {"calendar_id": calendar_id}
        if error is None:
            return Outcome(change, remote_id=call.event_id, extra=extra), None
        status, reason = _status_and_reason(error)
        if call.operation == "delete" and status in (404, 410):
            return Outcome(change, remote_id=call.event_id, extra=extra), None
        if call.operation == "insert" and status == 409 and not call.switched:
            call.operation, call.switched = "update", True  # id taken, maybe cancelled
            return None, None
        if call.operation == "update" and status in (404, 410) and not call.switched:
            call.operation, call.switched = "insert", True
            return None, None
        if status == 401:
            raise AuthError(f"Google did not accept the stored sign-in; {auth.SIGN_IN}")
        if status == 403 and reason not in RATE_LIMIT_REASONS:
            raise AuthError(
                f"Google refused access to calendar {calendar_id!r} ({reason}); {auth.SIGN_IN}"
            )
        failure = _transient_from(status, reason, error)
        if failure is None:
            return Outcome(change, error=f"Google Calendar rejected it: {reason}"), None
        return None, failure

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter, never shorter than the server asked for."""
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
        jittered = ceiling / 2 + self.random.uniform(0, ceiling / 2)
        return max(jittered, retry_after or 0.0)

    def _request(self, service: Any, calendar_id: str, call: _Call) -> Any:
        events = service.events()
        body = event_body(call.change.task, self.reminder_methods)
        if call.operation == "insert":
            return events.insert(calendarId=calendar_id, body=body, sendUpdates="none")
        if call.operation == "update":
            return events.update(
                calendarId=calendar_id, eventId=call.event_id, body=body, sendUpdates="none"
            )
        return events.delete(calendarId=calendar_id, eventId=call.event_id, sendUpdates="none")

    def _send_batch(
        self, service: Any, calendar_id: str, calls: Sequence[_Call]
    ) -> list[tuple[Any, Any]]:
        """One batch HTTP request; (response, HttpError|None) per call, in order."""
        from googleapiclient.http import BatchHttpRequest

        answers: dict[str, tuple[Any, Any]] = {}

        def collect(request_id: str, response: Any, error: Any) -> None:
            answers[request_id] = (response, error)

        batch = BatchHttpRequest(callback=collect, batch_uri=self.api_url + "batch/calendar/v3")
        for index, call in enumerate(calls):
            batch.add(self._request(service, calendar_id, call), request_id=str(index))
        self._guarded(batch.execute)
        return [answers[str(index)] for index in range(len(calls))]

    def _guarded(self, send: Callable[[], Any]) -> Any:
        """Run one HTTP exchange; map transport and whole-request failures to our errors."""
        import http.client

        import httplib2
        from google.auth.exceptions import RefreshError, TransportError
        from googleapiclient.errors import BatchError, HttpError

        try:
            return send()
        except RefreshError:
            raise AuthError(
                f"the Google sign-in was revoked or has expired; {auth.SIGN_IN}"
            ) from None
        except HttpError as error:
            status, reason = _status_and_reason(error)
            failure = _transient_from(status, reason, error)
            if failure is not None:
                raise failure from None
            if status in (404, 410):
                raise _Gone(f"Google Calendar answered {status} ({reason})") from None
            if status in (401, 403):
                raise AuthError(f"Google refused access ({reason}); {auth.SIGN_IN}") from None
            raise ExportFailed(f"Google Calendar answered {status} ({reason})") from None
        except (OSError, http.client.HTTPException, httplib2.HttpLib2Error, TransportError) as e:
            raise _Transient(f"connection failed: {type(e).__name__}") from None
        except BatchError:
            raise _Transient("malformed batch response") from None

    def _with_retries(self, send: Callable[[], Any]) -> Any:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return self._guarded(send)
            except _Transient as failure:
                if attempt == MAX_ATTEMPTS:
                    raise ExportFailed(
                        f"Google Calendar is not answering ({failure.what}); {AGAIN}"
                    ) from None
                self.sleep(self._delay(attempt, failure.retry_after))
        raise AssertionError("unreachable")

    # -- the calendar -----------------------------------------------------------------

    @property
    def _calendar_name(self) -> str:
        return str(self._option("calendar_name"))

    def _calendar(self, service: Any) -> str:
        """The calendar id to write to; creates the dedicated calendar when needed."""
        if self._calendar_id is not None:
            return self._calendar_id
        chosen = self.chosen_calendar
        if chosen:
            self._calendar_id = chosen
            return chosen
        remembered = self._remembered_calendar()
        if remembered:
            try:
                self._with_retries(service.calendars().get(calendarId=remembered).execute)
                self._calendar_id = remembered
                return remembered
            except _Gone:
                pass
            self.context.notice(
                f'The "{self._calendar_name}" calendar was deleted in Google Calendar; '
                "followup created it again."
            )
        created = self._with_retries(
            service.calendars()
            .insert(body={"summary": self._calendar_name, "description": "Made by followup."})
            .execute
        )
        self._calendar_id = str(created["id"])
        write_private(
            self.context.state_dir / CALENDAR_FILE,
            json.dumps({"calendar_id": self._calendar_id, "name": self._calendar_name}),
        )
        return self._calendar_id

    def _remembered_calendar(self) -> str | None:
        path = self.context.state_dir / CALENDAR_FILE
        try:
            return str(json.loads(path.read_text(encoding="utf-8"))["calendar_id"])
        except (OSError, ValueError, KeyError):
            return None

    # -- the SDK ----------------------------------------------------------------------

    def _stored_grant(self) -> dict[str, Any] | None:
        if self._grant is None:
            self._grant = auth.load_grant()
        return self._grant

    def _api(self) -> Any:
        if self._service is not None:
            return self._service
        try:
            import google_auth_httplib2
            import httplib2
            from googleapiclient.discovery import build
        except ImportError:
            raise MissingExtra("google", "google") from None
        grant = self._stored_grant()
        if grant is None:
            raise AuthError(f"not signed in to Google Calendar; {auth.SIGN_IN}")
        auth.check_scope(grant, self.chosen_calendar)
        credentials = auth.credentials_from_grant(grant, self.token_uri)
        http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=60))
        self._service = build(
            "calendar",
            "v3",
            http=http,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": self.api_url + "calendar/v3/"},
        )
        return self._service

    def close(self) -> None:
        # A refreshed access token is not stored back: the next run refreshes before its
        # first call (the stored expiry has passed), without rewriting the secret store.
        if self._service is not None:
            self._service.close()
            self._service = None

    @classmethod
    def auth_command(cls) -> Any | None:
        return auth.auth_command


def _first_operation(change: Change) -> Operation:
    if change.action == "cancel":
        return "delete"
    # A re-create of a cancelled event (remote known) restores it in place.
    if change.action == "update" or change.remote is not None:
        return "update"
    return "insert"


def _count_attempt(calls: Sequence[_Call]) -> None:
    for call in calls:
        call.attempts += 1


def _status_and_reason(error: Any) -> tuple[int, str]:
    status = int(getattr(getattr(error, "resp", None), "status", 0) or 0)
    reason = "unknown"
    try:
        details = json.loads(error.content.decode("utf-8"))["error"]
        reason = (details.get("errors") or [{}])[0].get("reason") or details.get("message")
    except (AttributeError, ValueError, KeyError, TypeError, IndexError):
        pass
    return status, str(reason or status)


def _transient_from(status: int, reason: str, error: Any) -> _Transient | None:
    if status == 429 or status >= 500 or (status == 403 and reason in RATE_LIMIT_REASONS):
        return _Transient(f"{status} {reason}", _retry_after(error))
    return None


def _retry_after(error: Any) -> float | None:
    resp = getattr(error, "resp", None)
    value = resp.get("retry-after") if resp is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
