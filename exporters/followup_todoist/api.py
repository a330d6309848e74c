"""Talking to Todoist: the SDK for reads, the /sync endpoint for batched writes.

Imported only when the exporter runs (it pulls in httpx and todoist-api-python 4.x). One
`httpx.Client` serves both; its transport points the SDK's fixed API root at the
configured one and retries what is safe to retry: reads, and a write Todoist answered
429 or 503 (not carried out). A write whose answer never came (a timeout, a dropped
connection, another 5xx) is not resent here: `UnknownOutcome` lets the exporter look up
what landed first.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from todoist_api_python.api import TodoistAPI

from followup.errors import AuthError, ExportFailed
from followup_todoist.payload import MAX_COMMANDS

DEFAULT_API_URL = "https://api.todoist.com/api/v1"  # where the SDK sends every request
ATTEMPTS = 6
LONGEST_WAIT = 60.0  # seconds; a longer Retry-After means "come back later", not "wait"
PAGE = 200
# Connect quickly or not at all; give a request the time Todoist may spend on it (a 15 s
# processing limit per its reference) with room for queueing, so a slow answer is waited
# for rather than given up and sent again.
TIMEOUT = httpx.Timeout(60.0, connect=10.0)
NOT_CARRIED_OUT = (429, 503)  # a write answered with these was not done: resend it
REPLAYABLE = "followup_replayable"  # request extension: safe to send again as it is

BAD_TOKEN = "Todoist rejected the token; run `followup auth todoist` or set TODOIST_API_TOKEN"
AGAIN = "run the same command again later — nothing will be duplicated"

Sleep = Callable[[float], None]
T = TypeVar("T")


class TodoistTransport(httpx.BaseTransport):
    """Sends the SDK's requests to `api_url` and retries them when that is safe."""

    def __init__(
        self,
        api_url: str,
        sleep: Sleep = time.sleep,
        attempts: int = ATTEMPTS,
        inner: httpx.BaseTransport | None = None,
    ) -> None:
        self.api_url = httpx.URL(api_url.rstrip("/"))
        self.sleep = sleep
        self.attempts = attempts
        self.inner = inner or httpx.HTTPTransport()
        self.jitter = random.Random()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = self._rewrite(request.url)
        replayable = request.method == "GET" or bool(request.extensions.get(REPLAYABLE))
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            try:
                response = self.inner.handle_request(request)
            except httpx.TransportError:
                if last or not replayable:
                    raise
                self.sleep(self._backoff(attempt))
                continue
            status = response.status_code
            again = status in NOT_CARRIED_OUT or (replayable and status >= 500)
            if last or not again:
                return response
            delay = self._retry_after(response) or self._backoff(attempt)
            if delay > LONGEST_WAIT:
                return response
            response.read()
            response.close()
            self.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def close(self) -> None:
        self.inner.close()

    def _rewrite(self, url: httpx.URL) -> httpx.URL:
        text = str(url)
        if not text.startswith(DEFAULT_API_URL):
            return url
        return httpx.URL(str(self.api_url) + text[len(DEFAULT_API_URL) :])

    def _backoff(self, attempt: int) -> float:
        """Exponential, with jitter so many clients do not retry in step."""
        ceiling = min(30.0, 0.5 * 2 ** (attempt - 1))
        return ceiling / 2 + self.jitter.uniform(0, ceiling / 2)

    @staticmethod
    def _retry_after(response: httpx.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        server_now = parsedate_to_datetime(response.headers.get("Date", value))
        return max(0.0, (moment - server_now).total_seconds())


class UnknownOutcome(ExportFailed):
    """A write was sent and no answer came: it may or may not have been carried out."""


@dataclass(frozen=True)
class Account:
    """What the exporter needs to know of the account, read once per run."""

    user_id: str
    limits: dict[str, int]  # `user_plan_limits.current`, e.g. sections_per_project
    premium: bool
    reminders: list[dict[str, Any]] = field(default_factory=list)  # live reminders

    def limit(self, name: str, default: int | None) -> int | None:
        value = self.limits.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else default


@dataclass(frozen=True)
class Standing:
    """A task found in the project: id, where it is, what it was written from."""

    item_id: str
    key: str
    content_hash: str | None
    section_id: str | None
    done: bool
    completed_at: datetime | None = None  # when the person checked it off


@dataclass(frozen=True)
class SyncResult:
    statuses: dict[str, Any]  # uuid -> "ok" or an error object
    temp_ids: dict[str, str]  # temp_id -> the id Todoist assigned

    def tag(self, command_uuid: str) -> str | None:
        """The error tag of a failed command (e.g. MAX_SECTIONS_LIMIT_REACHED)."""
        status = self.statuses.get(command_uuid)
        return str(status.get("error_tag")) if isinstance(status, dict) else None

    def failure(self, command_uuid: str) -> tuple[int, str] | None:
        """(http code, message) when a command failed, None when it succeeded."""
        status = self.statuses.get(command_uuid)
        if status == "ok":
            return None
        if not isinstance(status, dict):
            return 500, "Todoist did not report on this change"
        return int(status.get("http_code") or 400), str(status.get("error") or status)


class TodoistClient:
    """The few calls the exporter makes; every failure becomes a FollowupError."""

    def __init__(self, token: str, api_url: str, sleep: Sleep = time.sleep) -> None:
        self._http = httpx.Client(transport=TodoistTransport(api_url, sleep), timeout=TIMEOUT)
        self._headers = {"Authorization": f"Bearer {token}"}
        self._sdk = TodoistAPI(token, client=self._http)

    def __repr__(self) -> str:  # never show the token
        return "TodoistClient()"

    def close(self) -> None:
        self._http.close()

    def verify(self) -> None:
        """One cheap read that fails with AuthError when the token is not accepted."""
        self._call(lambda: next(self._sdk.get_projects(limit=1)))

    def project(self, project_id: str) -> tuple[str, bool] | None:
        """(name, archived) of a project, None when it no longer exists."""
        try:
            found = self._call(lambda: self._sdk.get_project(project_id))
        except _NotFound:
            return None
        return found.name, bool(found.is_archived)

    def projects(self) -> list[tuple[str, str, bool]]:
        """(id, name, is the inbox) of every active project."""
        found = self._all(self._sdk.get_projects(limit=PAGE))
        return [(project.id, project.name, bool(project.is_inbox_project)) for project in found]

    def sections(self, project_id: str) -> dict[str, str]:
        """Section ids by name (the first of each name)."""
        found: dict[str, str] = {}
        for section in self._all(self._sdk.get_sections(project_id, limit=PAGE)):
            found.setdefault(section.name, section.id)
        return found

    def section_is_empty(self, section_id: str) -> bool:
        """No open task at all in it: ours are gone and the user added none."""
        return not self._call(lambda: next(self._sdk.get_tasks(section_id=section_id, limit=1)))

    def active_tasks(self, project_id: str) -> list[Standing]:
        """Every open task of the project (Todoist lists completed tasks elsewhere)."""
        return [
            _standing(task.id, task.description, task.section_id, done=False)
            for task in self._all(self._sdk.get_tasks(project_id=project_id, limit=PAGE))
        ]

    def completed_tasks(self, project_id: str, since: datetime, until: datetime) -> list[Standing]:
        """Tasks of the project completed in [since, until] (at most 3 months apart)."""
        found: list[Standing] = []
        params: dict[str, str] = {
            "project_id": project_id,
            "since": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "until": until.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "limit": str(PAGE),
        }
        url = f"{DEFAULT_API_URL}/tasks/completed/by_completion_date"
        while True:
            data = self._read(
                lambda: _checked(self._http.get(url, headers=self._headers, params=params))
            )
            for item in data.get("items") or []:
                standing = _standing(
                    str(item["id"]),
                    str(item.get("description") or ""),
                    item.get("section_id"),
                    done=True,
                )
                found.append(dataclasses.replace(standing, completed_at=_moment(item)))
            cursor = data.get("next_cursor")
            if not cursor:
                return found
            params["cursor"] = str(cursor)

    def account(self) -> Account:
        """The account's id, plan limits and reminders, from one Sync API read."""
        data = self._post_sync(
            {"sync_token": "*", "resource_types": ["user", "user_plan_limits", "reminders"]},
            replayable=True,
        )
        user = data.get("user")
        if not isinstance(user, dict) or not user.get("id"):
            raise ExportFailed(f"Todoist sent an answer followup cannot read; {AGAIN}")
        limits = (data.get("user_plan_limits") or {}).get("current") or {}
        status = user.get("premium_status")
        premium = (
            status != "not_premium"
            if isinstance(status, str)
            else bool(user.get("is_premium", True))
        )
        reminders = [
            r
            for r in data.get("reminders") or []
            if isinstance(r, dict) and not r.get("is_deleted")
        ]
        return Account(str(user["id"]), dict(limits), premium, reminders)

    def sync(self, commands: list[dict[str, Any]]) -> SyncResult:
        """One /sync write. Raises UnknownOutcome when no answer came back."""
        if len(commands) > MAX_COMMANDS:
            raise ValueError(f"at most {MAX_COMMANDS} commands per request")
        data = self._post_sync({"commands": commands}, replayable=False)
        try:
            return SyncResult(dict(data["sync_status"]), dict(data.get("temp_id_mapping") or {}))
        except (KeyError, TypeError, ValueError):
            raise UnknownOutcome(f"Todoist sent an answer followup cannot read; {AGAIN}") from None

    def _post_sync(self, body: dict[str, Any], *, replayable: bool) -> dict[str, Any]:
        """A JSON /sync request, as Doist's own SDKs send it."""

        def send() -> httpx.Response:
            try:
                response = self._http.post(
                    f"{DEFAULT_API_URL}/sync",
                    headers={**self._headers, "Content-Type": "application/json"},
                    content=json.dumps(body, ensure_ascii=False).encode(),
                    extensions={REPLAYABLE: replayable},
                )
            except httpx.TransportError as error:
                if replayable:
                    raise
                why = type(error).__name__
                raise UnknownOutcome(f"Todoist did not answer ({why}); {AGAIN}") from None
            status = response.status_code
            if not replayable and status >= 500 and status not in NOT_CARRIED_OUT:
                raise UnknownOutcome(f"Todoist is not answering (HTTP {status}); {AGAIN}")
            return _checked(response)

        return self._read(send)

    def _read(self, send: Callable[[], httpx.Response]) -> dict[str, Any]:
        response = self._call(send)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ExportFailed(f"Todoist sent an answer followup cannot read; {AGAIN}")
        return data

    def _all(self, pages: Iterator[list[T]]) -> Iterator[T]:
        """Every item of a paginated list; a failed page is retried, not skipped."""
        while True:
            try:
                page = self._call(lambda: next(pages))
            except _Exhausted:
                return
            yield from page

    @staticmethod
    def _call(step: Callable[[], T]) -> T:
        try:
            return step()
        except StopIteration:
            raise _Exhausted from None
        except httpx.HTTPStatusError as error:
            raise _translate(error.response) from None
        except httpx.TransportError as error:
            reason = type(error).__name__
            raise ExportFailed(f"Todoist is not answering ({reason}); {AGAIN}") from None


class _NotFound(ExportFailed):
    pass


class _Exhausted(Exception):
    pass


def _standing(item_id: str, description: str, section_id: Any, *, done: bool) -> Standing:
    from followup_todoist.payload import marker

    key, content_hash = marker(description) or ("", None)
    section = str(section_id) if section_id else None
    return Standing(str(item_id), key, content_hash, section, done)


def _moment(item: dict[str, Any]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(item.get("completed_at")).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _checked(response: httpx.Response) -> httpx.Response:
    response.raise_for_status()
    return response


def _translate(response: httpx.Response) -> ExportFailed:
    status = response.status_code
    if status == 401:
        return AuthError(BAD_TOKEN)
    if status == 404:
        return _NotFound("Todoist: not found")
    if status == 429:
        wait = response.headers.get("Retry-After", "a while")
        return ExportFailed(f"Todoist is rate-limiting (asked to wait {wait} s); {AGAIN}")
    if status >= 500:
        return ExportFailed(f"Todoist is not answering (HTTP {status}); {AGAIN}")
    try:
        detail = str(response.json().get("error") or "")
    except ValueError:
        detail = ""
    if status == 403:
        return AuthError(f"Todoist refused access (HTTP 403{': ' + detail if detail else ''})")
    return ExportFailed(f"Todoist refused the request (HTTP {status}: {detail or 'no detail'})")
