"""The Google Calendar exporter: deterministic event ids, batch writes, patient retries.

Every write is idempotent: an insert of an id that exists answers 409 and becomes an
update, a delete of a gone event counts as done. Google keeps a deleted event's id and
may refuse to revive it (update 403 or 404): the task then moves on to its next id
generation. State is kept per real calendar id (`target`), so a deleted calendar or
another signed-in account starts afresh, and `lookup` tells the sync engine which events
already stand, by the task key kept in a private extended property.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import random
import shlex
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from followup.config import write_private
from followup.errors import AuthError, ExportFailed, MissingExtra, UserError
from followup.exporter import Change, ExportContext, Exporter, Found, Outcome, Setting
from followup.tasks import Task
from followup_google import auth
from followup_google.events import (
    HASH_PROPERTY,
    KEY_PROPERTY,
    KIND_COLOURS,
    RECORD_PROPERTY,
    event_body,
    event_id,
    parse_reminder_methods,
)

DEFAULT_API_URL = "https://www.googleapis.com/"
API_URL_ENV = "FOLLOWUP_GOOGLE_API_URL"
DEFAULT_CALENDAR_NAME = "Interview follow-ups"
CALENDAR_FILE = "google-calendar.json"
CALENDAR_MARK = "Made by followup."  # with the name, tells our calendar from the user's
# Calendar "Send batch requests": at most 1000 calls a batch, and "a set of n requests
# batched together counts toward your usage limit as n requests". 50 keeps one batch well
# under the per-user per-minute quota ("Manage quotas"), so a rate limit costs one small
# retry, and a progress bar moves on a large first export.
MAX_BATCH = 50
MAX_GENERATIONS = 5  # fresh ids tried for one task in one run before it fails
LIST_PAGE = 2500  # events.list maxResults: "cannot be greater than 2500"
MAX_ATTEMPTS = 6
BACKOFF_BASE = 1.0
BACKOFF_CAP = 32.0
# "Handle API errors": these 403s are limits to back off from, not refusals.
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}
# The only 403 reasons that say the sign-in itself cannot do this (errors guide, 401/403).
SIGN_IN_REASONS = {"authError", "insufficientPermissions"}
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
    """One change on its way: the operation to try next, on which event id."""

    change: Change
    operation: Operation
    generation: int
    attempts: int = 0
    hops: int = 0  # fresh generations taken in this run
    switched: bool = False  # insert->update after a 409, once per generation

    @property
    def event_id(self) -> str:
        return event_id(self.change.task.key, self.generation)

    def next_generation(self) -> None:
        self.operation, self.generation, self.switched = "insert", self.generation + 1, False
        self.hops += 1


class GoogleExporter(Exporter):
    name: ClassVar[str] = "google"
    description: ClassVar[str] = "Google Calendar events (google-api-python-client)"
    settings: ClassVar[Sequence[Setting]] = (
        Setting(
            "calendar",
            "An existing calendar's id to write into: primary, or an id like "
            "…@group.calendar.google.com. Empty: followup's own calendar (calendar_name).",
            None,
            "FOLLOWUP_GOOGLE_CALENDAR",
        ),
        Setting(
            "calendar_name",
            "Name of the calendar followup creates and writes to when `calendar` is empty.",
            DEFAULT_CALENDAR_NAME,
        ),
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
        explicit = self._option("calendar")
        if explicit and not auth.CALENDAR_ID.match(str(explicit)):
            raise UserError(
                f"google: calendar = {json.dumps(str(explicit))} is not a calendar id. "
                f"For followup's own calendar by that name, set "
                f"calendar_name = {json.dumps(str(explicit))} and leave calendar empty; "
                'to write into an existing one, set calendar = "primary" or its id '
                "(Google Calendar → Settings → the calendar → Calendar ID)"
            )
        # Injectable so tests never wait; jitter from its own generator.
        self.sleep: Callable[[float], None] = time.sleep
        self.random = random.Random()
        self._grant: dict[str, Any] | None = None
        self._service: Any = None
        self._credentials: Any = None
        self._session: Any = None  # requests, for the one write that must not be resent
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
        """The real id of the calendar written to: found, or created, on first use.

        A dry run asks Google nothing: it names the calendar the last run wrote to.
        """
        if self._calendar_id is None:
            if self.context.dry_run:
                return self._remembered().get(self._memory_key()) or f"new:{self._memory_key()}"
            self._calendar_id = self._resolve_calendar(self._api())
        return self._calendar_id

    def configured(self) -> tuple[bool, str]:
        if importlib.util.find_spec("googleapiclient") is None:  # found, not imported
            return False, "pip install 'interview-followup[google]'"
        try:
            grant = self._stored_grant()
        except AuthError as error:
            return False, str(error)
        return (True, "ready") if grant else (False, auth.SIGN_IN)

    def content_hash(self, task: Task) -> str:
        # The options and tables that shape an event: changing one rewrites every event.
        shape = json.dumps([self.reminder_methods, KIND_COLOURS], sort_keys=True)
        return hashlib.sha256(f"{task.content_hash}\n{shape}".encode()).hexdigest()[:32]

    def describe(self, change: Change) -> str:
        target = self.target
        where = f"calendars/{target}"
        if target.startswith("new:"):  # a dry run before the first real one
            chosen = self.chosen_calendar
            where = f"calendars/{chosen}" if chosen else f'<new calendar "{self._calendar_name}">'
        task = change.task
        call = _Call(change, *_first_operation(change))
        what = f"{task.title!r} {task.start.isoformat()}"
        if call.operation == "delete":
            return f"DELETE {where}/events/{call.event_id}  (remove {what})"
        if call.operation == "update":
            return f"PUT {where}/events/{call.event_id}  (update {what})"
        return (
            f"POST {where}/events id={call.event_id}  (insert {what}; if the id exists, update it)"
        )

    # -- what stands there -------------------------------------------------------------

    def lookup(self, tasks: Sequence[Task]) -> Mapping[str, Found] | None:
        """Live events of these tasks, found by the record and key kept on each event."""
        if not tasks:
            return {}
        service = self._api()
        calendar_id = self.target
        wanted = {task.key for task in tasks}
        found: dict[str, Found] = {}
        # followup's own calendar holds only its events: one listing. In a calendar of the
        # user's, only ours, by record (one constraint a request: the guide ORs repeated
        # ones, the reference ANDs them).
        filters: list[str | None] = [None]
        if self.chosen_calendar:
            filters = [f"{RECORD_PROPERTY}={r}" for r in sorted({t.record for t in tasks})]
        for constraint in filters:
            token: str | None = None
            while True:
                page = self._with_retries(
                    service.events()
                    .list(
                        calendarId=calendar_id,
                        privateExtendedProperty=constraint,
                        maxResults=LIST_PAGE,
                        pageToken=token,
                    )
                    .execute
                )
                for event in page.get("items", []):
                    private = (event.get("extendedProperties") or {}).get("private") or {}
                    key = private.get(KEY_PROPERTY)
                    if key in wanted and event.get("status") != "cancelled":
                        found[key] = Found(
                            remote_id=str(event["id"]),
                            content_hash=private.get(HASH_PROPERTY),
                            extra={
                                "calendar_id": calendar_id,
                                "generation": _generation_of(key, str(event["id"])),
                            },
                        )
                token = page.get("nextPageToken")
                if not token:
                    break
        return found

    # -- writing ----------------------------------------------------------------------

    def apply(self, changes: Sequence[Change]) -> Iterator[Outcome]:
        if not changes:
            return
        service = self._api()
        calendar_id = self.target
        pending = [_Call(change, *_first_operation(change)) for change in changes]
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
        extra = {"calendar_id": calendar_id, "generation": call.generation}
        if error is None:
            return Outcome(change, remote_id=call.event_id, extra=extra), None
        status, reason = _status_and_reason(error)
        if call.operation == "delete" and status in (404, 410):
            return Outcome(change, remote_id=call.event_id, extra=extra), None
        if status == 401 or (status == 403 and reason in SIGN_IN_REASONS):
            raise AuthError(
                f"Google did not accept the stored sign-in for calendar {calendar_id!r} "
                f"({reason}); {auth.SIGN_IN}"
            )
        if call.operation == "insert" and status == 409 and not call.switched:
            call.operation, call.switched = "update", True  # the id stands, maybe deleted
            return None, None
        # A deleted event cannot always be revived (update answers 403 forbidden, or 404
        # once purged; observed: googleapis/google-api-ruby-client#1811): take a fresh id.
        gone = status in (404, 410) or (status == 403 and reason == "forbidden")
        if call.operation == "update" and gone and call.hops < MAX_GENERATIONS:
            call.next_generation()
            return None, None
        failure = _transient_from(status, reason, error)
        if failure is None:  # any other refusal fails this one task, the batch goes on
            return Outcome(change, error=f"Google Calendar refused it: {status} {reason}"), None
        return None, failure

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter, never shorter than the server asked for."""
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
        jittered = ceiling / 2 + self.random.uniform(0, ceiling / 2)
        return max(jittered, retry_after or 0.0)

    def _request(self, service: Any, calendar_id: str, call: _Call) -> Any:
        events = service.events()
        if call.operation == "delete":
            return events.delete(calendarId=calendar_id, eventId=call.event_id, sendUpdates="none")
        task = call.change.task
        body = event_body(
            task, self.reminder_methods, ident=call.event_id, content_hash=self.content_hash(task)
        )
        if call.operation == "insert":
            return events.insert(calendarId=calendar_id, body=body, sendUpdates="none")
        return events.update(
            calendarId=calendar_id, eventId=call.event_id, body=body, sendUpdates="none"
        )

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
        from googleapiclient.errors import HttpError

        try:
            return send()
        except RefreshError as error:
            raise _refresh_failure(error) from None
        except HttpError as error:  # BatchError (a malformed batch answer) is one too
            status, reason = _status_and_reason(error)
            failure = _transient_from(status, reason, error)
            if failure is not None:
                raise failure from None
            if status in (404, 410):
                raise _Gone(f"Google Calendar answered {status} ({reason})") from None
            if status == 401 or (status == 403 and reason in SIGN_IN_REASONS):
                raise AuthError(f"Google refused access ({reason}); {auth.SIGN_IN}") from None
            raise ExportFailed(f"Google Calendar answered {status} ({reason})") from None
        except (OSError, http.client.HTTPException, httplib2.HttpLib2Error, TransportError) as e:
            raise _Transient(f"connection failed: {type(e).__name__}") from None

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

    def _memory_key(self) -> str:
        chosen = self.chosen_calendar
        return f"id:{chosen}" if chosen else f"name:{self._calendar_name}"

    def _resolve_calendar(self, service: Any) -> str:
        """The real id of the calendar to write to; the dedicated one is made if missing."""
        chosen = self.chosen_calendar
        if chosen:
            if not auth.can_list_calendars(self._stored_grant() or {}):
                raise AuthError(
                    "followup keeps what it wrote per calendar and account, and needs to see "
                    f"your calendar list to know which; {auth.auth_advice(chosen)} again"
                )
            try:
                # calendarList.get: the real id of "primary" (its owner's address).
                found = self._with_retries(service.calendarList().get(calendarId=chosen).execute)
            except _Gone:
                raise ExportFailed(
                    f"the signed-in Google account has no calendar {chosen!r}; check "
                    f"`calendar` in the settings, or run "
                    f"`followup auth google --calendar {shlex.quote(chosen)}` with the "
                    "account that owns it"
                ) from None
            return self._remember(str(found["id"]))
        remembered = self._remembered().get(self._memory_key())
        if remembered:
            try:
                found = self._with_retries(service.calendars().get(calendarId=remembered).execute)
                return self._remember(str(found["id"]))
            except _Gone:
                self.context.notice(
                    f'The "{self._calendar_name}" calendar is gone from Google Calendar '
                    "(deleted, or another account is signed in): followup made it again "
                    "and puts every planned event back."
                )
        return self._remember(self._find_or_create(service))

    def _find_or_create(self, service: Any) -> str:
        """calendars.insert is not idempotent: after a lost answer, look before making more."""
        body = {"summary": self._calendar_name, "description": CALENDAR_MARK}

        def look_then_make() -> dict[str, Any]:
            existing = self._find_by_name(service)
            return {"id": existing} if existing else self._insert_calendar(body)

        return str(self._with_retries(look_then_make)["id"])

    def _insert_calendar(self, body: dict[str, str]) -> dict[str, Any]:
        """calendars.insert over `requests`, which never sends a POST twice.

        httplib2 (under the SDK) sends a request again when its connection drops before the
        answer ("retry regardless of the number of RETRIES set"): fine for event writes by
        id, a second calendar here.
        """
        import httplib2
        from google.auth.transport.requests import AuthorizedSession
        from googleapiclient.errors import HttpError

        if self._session is None:
            self._session = AuthorizedSession(self._credentials)
        url = self.api_url + "calendar/v3/calendars"
        answer = self._session.post(url, json=body, timeout=60)
        if answer.status_code >= 300:
            headers = {name.lower(): value for name, value in answer.headers.items()}
            resp = httplib2.Response({**headers, "status": answer.status_code})
            raise HttpError(resp, answer.content, uri=url)
        created: dict[str, Any] = answer.json()
        return created

    def _find_by_name(self, service: Any) -> str | None:
        """Our calendar in the user's calendar list: its name and followup's mark."""
        grant = self._stored_grant() or {}
        if not auth.can_list_calendars(grant):
            raise AuthError(
                "followup now looks for its calendar before creating one, so it never makes "
                f"two, and needs to see your calendar list for that; {auth.SIGN_IN} again"
            )
        token: str | None = None
        while True:
            page = self._with_retries(
                service.calendarList().list(minAccessRole="owner", pageToken=token).execute
            )
            for entry in page.get("items", []):
                if (
                    entry.get("summary") == self._calendar_name
                    and entry.get("description") == CALENDAR_MARK
                    and not entry.get("deleted")
                ):
                    return str(entry["id"])
            token = page.get("nextPageToken")
            if not token:
                return None

    def _remembered(self) -> dict[str, str]:
        path = self.context.state_dir / CALENDAR_FILE
        try:
            known = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in known.items()} if isinstance(known, dict) else {}

    def _remember(self, calendar_id: str) -> str:
        known = self._remembered()
        if known.get(self._memory_key()) != calendar_id:
            known[self._memory_key()] = calendar_id
            write_private(self.context.state_dir / CALENDAR_FILE, json.dumps(known, indent=1))
        return calendar_id

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
        self._credentials = credentials
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
        if self._session is not None:
            self._session.close()
            self._session = None

    @classmethod
    def auth_command(cls) -> Any | None:
        return auth.auth_command


def _first_operation(change: Change) -> tuple[Operation, int]:
    """The operation a change starts with, and on which id generation."""
    remote = change.remote
    generation = int(remote.extra.get("generation", 0)) if remote is not None else 0
    if change.action == "cancel":
        return "delete", generation
    if change.action == "update":
        return "update", generation
    if remote is not None:  # planned again after its event was deleted: a fresh id
        return "insert", generation + 1
    return "insert", generation


def _generation_of(key: str, ident: str) -> int:
    """Which generation of `key` an event id is (0 when it is none of the first few)."""
    return next((n for n in range(64) if event_id(key, n) == ident), 0)


def _refresh_failure(error: Any) -> Exception:
    """A token-endpoint failure: Google unreachable (retry), or the sign-in refused."""
    if getattr(error, "retryable", False):  # google-auth: 5xx, 408, 429, server_error…
        return _Transient("Google's sign-in service could not be reached")
    details = error.args[1] if len(error.args) > 1 else None
    code = details.get("error") if isinstance(details, dict) else None
    if code == "invalid_grant":
        return AuthError(
            "the Google sign-in was revoked or has expired (a Google Cloud app left in "
            f"'Testing' signs you out after 7 days: see the README); {auth.SIGN_IN}"
        )
    return AuthError(
        f"Google's sign-in service refused the stored sign-in ({code}); {auth.SIGN_IN}"
    )


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
