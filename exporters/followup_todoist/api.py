"""Talking to Todoist: the SDK for reads, the /sync endpoint for batched writes.

Imported only when the exporter runs (it pulls in httpx and todoist-api-python). One
`httpx.Client` serves both; its transport points the SDK's fixed API root at the
configured one and retries what is safe to retry (reads, and /sync, whose command
uuids make a replay harmless), honouring Retry-After.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
        replayable = request.method == "GET" or request.url.path.endswith("/sync")
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts or not replayable
            try:
                response = self.inner.handle_request(request)
            except httpx.TransportError:
                if last:
                    raise
                self.sleep(self._backoff(attempt))
                continue
            if last or not (response.status_code == 429 or response.status_code >= 500):
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


@dataclass(frozen=True)
class SyncResult:
    statuses: dict[str, Any]  # uuid -> "ok" or an error object
    temp_ids: dict[str, str]  # temp_id -> the id Todoist assigned

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
        self._http = httpx.Client(transport=TodoistTransport(api_url, sleep))
        self._headers = {"Authorization": f"Bearer {token}"}
        self._sdk = TodoistAPI(token, client=self._http)

    def __repr__(self) -> str:  # never show the token
        return "TodoistClient()"

    def close(self) -> None:
        self._http.close()

    def verify(self) -> None:
        """One cheap read that fails with AuthError when the token is not accepted."""
        self._call(lambda: next(self._sdk.get_projects(limit=1)))

    def project_name(self, project_id: str) -> str | None:
        """The current name of a project, None when it no longer exists."""
        try:
            return self._call(lambda: self._sdk.get_project(project_id)).name
        except _NotFound:
            return None

    def find_project(self, name: str) -> str | None:
        for project in self._all(self._sdk.get_projects(limit=PAGE)):
            if project.name == name and not project.is_inbox_project:
                return project.id
        return None

    def sections(self, project_id: str) -> dict[str, str]:
        """Section ids by name (the first of each name)."""
        found: dict[str, str] = {}
        for section in self._all(self._sdk.get_sections(project_id, limit=PAGE)):
            found.setdefault(section.name, section.id)
        return found

    def section_is_empty(self, section_id: str) -> bool:
        """No open task at all in it: ours are gone and the user added none."""
        return not self._call(lambda: next(self._sdk.get_tasks(section_id=section_id, limit=1)))

    def plan_has_reminders(self) -> bool:
        """Whether the account's plan includes reminders, read from the Sync API's `user`
        resource; True when the answer does not say (a refused reminder_add will)."""
        data = self._post_sync({"sync_token": "*", "resource_types": json.dumps(["user"])})
        user = data.get("user")
        if not isinstance(user, dict):
            return True
        status = user.get("premium_status")
        if isinstance(status, str):
            return status != "not_premium"
        return user.get("is_premium") is not False

    def sync(self, commands: list[dict[str, Any]]) -> SyncResult:
        """One /sync request; retried by the transport (command uuids make that safe)."""
        if len(commands) > MAX_COMMANDS:
            raise ValueError(f"at most {MAX_COMMANDS} commands per request")
        data = self._post_sync({"commands": json.dumps(commands, ensure_ascii=False)})
        try:
            return SyncResult(dict(data["sync_status"]), dict(data.get("temp_id_mapping") or {}))
        except (KeyError, TypeError, ValueError):
            raise ExportFailed(f"Todoist sent an answer followup cannot read; {AGAIN}") from None

    def _post_sync(self, form: dict[str, str]) -> dict[str, Any]:
        response = self._call(
            lambda: _checked(
                self._http.post(f"{DEFAULT_API_URL}/sync", headers=self._headers, data=form)
            )
        )
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
