"""A fake Todoist API v1 on 127.0.0.1, enough of the service to drive the real SDK.

A fake is a claim about the service, so every behaviour below names its source in one
line. Sources, by short name:
  [v1]      Todoist API v1 reference, https://developer.todoist.com/api/v1/
  [limits]  Help centre, "Usage limits in Todoist",
            https://get.todoist.help/hc/en-us/articles/205064592-Usage-limits-in-Todoist
  [ts-cmd]  Doist/todoist-api-typescript src/types/sync/commands/*.ts (the v1 command list
            and each command's arguments, as Doist's own SDK types them)
  [ts-res]  Doist/todoist-api-typescript src/types/sync/resource-types.ts and
            resources/user-plan-limits.ts (`user_plan_limits`: current/next limits)
  [py-sdk]  Doist/todoist-api-python todoist_api_python/api.py (completed-task windows)
  [rest-v2] The REST v2 reference's "Request Limits" (1 MiB POST body, 15 s processing),
            which v1 inherited
  [issue]   What issue 12 reports of the real service where the reference is silent
            (how a repeated uuid is answered)

Where the sources are silent the fake is stricter rather than kinder (marked "stricter").
Faults can be switched on: random 429 (with Retry-After), 503, connection resets, slow
answers and "lost" responses (the write is applied, then the connection drops).
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = "/api/v1"
STAMP = "2026-01-01T00:00:00.000000Z"  # the fake's clock never moves: tests never read time
MAX_COMMANDS = 100  # [v1] "a maximum of 100 commands" per /sync request
MAX_BODY = 1024 * 1024  # [rest-v2] "1 MiB HTTP request body limit on POST requests"
CONTENT_LIMIT = 500  # [limits] task name 500 characters
DESCRIPTION_LIMIT = 16383  # [limits] task description 16383 characters
LABEL_LIMIT = 60  # [limits] label name 60 characters
PAGE_DEFAULT, PAGE_MAX = 50, 200  # [py-sdk] `limit` is Ge(1), Le(200)
COMPLETED_WINDOW = timedelta(days=90)  # [py-sdk] by_completion_date: "up to 3 months" (stricter)

# [limits] "General limits" apply to every plan; "Personal limits" differ by plan. Names as
# `user_plan_limits` spells them [ts-res]. "free" is a Beginner account from before
# reminders came to that plan (the help centre then listed its reminders as 0); "beginner"
# is the current Beginner plan.
_GENERAL = {"sections_per_project": 20, "tasks_per_project": 300, "labels_per_task": 100}
PLANS: dict[str, dict[str, int]] = {
    "pro": {**_GENERAL, "active_projects": 300, "reminders_per_user": 700, "filters_per_user": 150},
    "beginner": {
        **_GENERAL,
        "active_projects": 5,
        "reminders_per_user": 700,
        "filters_per_user": 3,
    },
    "free": {**_GENERAL, "active_projects": 5, "reminders_per_user": 0, "filters_per_user": 3},
}

# [ts-cmd] The commands followup may meet and each one's arguments (snake_case on the wire).
# Anything else is refused: an unknown command, or an argument the command does not take.
COMMAND_ARGS: dict[str, tuple[frozenset[str], frozenset[str]]] = {  # (required, optional)
    "project_add": (
        frozenset({"name"}),
        frozenset(
            {
                "parent_id",
                "color",
                "child_order",
                "is_favorite",
                "view_style",
                "description",
                "workspace_id",
                "folder_id",
            }
        ),
    ),
    "project_archive": (frozenset({"id"}), frozenset()),
    "project_unarchive": (frozenset({"id"}), frozenset()),
    "project_delete": (frozenset({"id"}), frozenset()),
    "section_add": (frozenset({"name", "project_id"}), frozenset({"section_order", "added_at"})),
    "section_archive": (frozenset({"id"}), frozenset({"archived_at"})),
    "section_unarchive": (frozenset({"id"}), frozenset()),
    "section_delete": (frozenset({"id"}), frozenset()),
    "item_add": (
        frozenset({"content"}),
        frozenset(
            {
                "description",
                "project_id",
                "due",
                "deadline",
                "duration",
                "priority",
                "parent_id",
                "child_order",
                "section_id",
                "day_order",
                "is_collapsed",
                "labels",
                "assigned_by_uid",
                "responsible_uid",
                "auto_reminder",
                "auto_parse_labels",
            }
        ),
    ),
    "item_update": (
        frozenset({"id"}),
        frozenset(
            {
                "content",
                "description",
                "due",
                "deadline",
                "duration",
                "priority",
                "is_collapsed",
                "labels",
                "assigned_by_uid",
                "responsible_uid",
                "day_order",
            }
        ),
    ),
    "item_move": (frozenset({"id"}), frozenset({"parent_id", "section_id", "project_id"})),
    "item_complete": (frozenset({"id", "completed_at"}), frozenset({"force_history", "from_undo"})),
    "item_uncomplete": (frozenset({"id"}), frozenset()),
    "item_delete": (frozenset({"id"}), frozenset()),
    "reminder_add": (
        frozenset({"type", "item_id"}),
        frozenset(
            {
                "service",
                "notify_uid",
                "minute_offset",
                "due",
                "name",
                "loc_lat",
                "loc_long",
                "radius",
                "loc_trigger",
            }
        ),
    ),
    "reminder_update": (
        frozenset({"id", "type"}),
        frozenset(
            {
                "service",
                "notify_uid",
                "minute_offset",
                "due",
                "name",
                "loc_lat",
                "loc_long",
                "radius",
                "loc_trigger",
            }
        ),
    ),
    "reminder_delete": (frozenset({"id"}), frozenset()),
}
# [ts-res] the resource types a /sync read may ask for ("all" is the documented catch-all)
RESOURCE_TYPES = frozenset(
    {
        "all",
        "labels",
        "projects",
        "items",
        "notes",
        "project_notes",
        "sections",
        "filters",
        "reminders",
        "reminders_location",
        "locations",
        "user",
        "live_notifications",
        "collaborators",
        "collaborator_states",
        "user_settings",
        "notification_settings",
        "user_plan_limits",
        "completed_info",
        "stats",
        "workspaces",
        "workspace_users",
        "workspace_filters",
        "view_options",
        "project_view_options_defaults",
        "role_actions",
        "folders",
        "workspace_goals",
        "day_orders",
        "calendars",
        "calendar_accounts",
        "suggestions",
        "tooltips",
    }
)

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z?)$")
_OFFSET_ZONE = re.compile(r"^UTC[+-]\d{2}:\d{2}$")
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

Json = dict[str, Any]


class ApiError(Exception):
    """A refusal in the API's error shape; per command inside /sync, else the HTTP status."""

    def __init__(self, http_code: int, tag: str, message: str, argument: str | None = None):
        super().__init__(message)
        self.http_code, self.tag, self.message, self.argument = http_code, tag, message, argument

    def body(self) -> Json:
        extra = {"argument": self.argument} if self.argument else {}
        return {
            "error": self.message,
            "error_tag": self.tag,
            "http_code": self.http_code,
            "error_extra": extra,
        }


class Interrupted(Exception):
    """The fake "fails" in the middle of a /sync request (see `FakeTodoist.admit`)."""


def _invalid(argument: str, message: str) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT_VALUE", message, argument)


@dataclass
class Faults:
    """Random trouble, from a seeded generator so a failing run can be replayed."""

    seed: int
    rate_limited: float = 0.0  # 429 with Retry-After
    unavailable: float = 0.0  # 503
    reset: float = 0.0  # connection dropped before the request is handled
    lost: float = 0.0  # writes only: applied, then the connection drops (no response)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def before(self) -> str | None:
        roll = self.rng.random()
        for name, chance in (
            ("reset", self.reset),
            ("rate_limited", self.rate_limited),
            ("unavailable", self.unavailable),
        ):
            if roll < chance:
                return name
            roll -= chance
        return None

    def loses_response(self) -> bool:
        return self.rng.random() < self.lost


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    status: int  # 0 when the connection was dropped without an answer
    write: bool  # False for GETs and for a /sync that only reads resources


class FakeTodoist:
    """The service's state plus an HTTP server; use as a context manager."""

    def __init__(
        self,
        token: str = "fake-todoist-token-7f3a9c",
        plan: str = "pro",
        user_id: str = "2671355",
    ) -> None:
        self.token = token
        self.plan = plan  # a key of PLANS
        self.user_id = user_id
        self.limits: dict[str, int] = {}  # overrides of the plan's limits, for tests
        # How a repeated uuid is answered [issue]: the first answer again ("mapping"),
        # "ok" with no temp_id_mapping, or an error object ("error").
        self.replay = "mapping"
        self.slow_seconds = 0.0  # how long a "slow" fate holds the answer back
        self.slow_writes = 0  # the next writes answered slowly (applied at once)
        self.lose_writes = 0  # the next writes applied, then their answers lost
        self.projects: dict[str, Json] = {}
        self.sections: dict[str, Json] = {}
        self.items: dict[str, Json] = {}
        self.reminders: dict[str, Json] = {}
        self.executed: dict[str, tuple[Any, dict[str, str]]] = {}
        self.batches: list[list[Json]] = []  # the commands of each /sync write, as received
        self.requests: list[Request] = []
        self.faults: Faults | None = None
        # The next requests' fates: a status, "reset", "lost", "slow", or None for no trouble.
        self.script: list[int | str | None] = []
        self.retry_after = 3  # seconds, sent with every 429
        self.writes_left: int | None = None  # commands (or REST writes) still allowed
        self._lock = threading.RLock()
        self._counter = itertools.count(1)
        self._sync_tokens = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self.inbox_id = self._add_project("Inbox", inbox=True)["id"]

    # -- lifecycle -------------------------------------------------------------

    def __enter__(self) -> FakeTodoist:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        """The API root, as `FOLLOWUP_TODOIST_API_URL` takes it."""
        assert self._server is not None, "start the fake first (with FakeTodoist() as fake)"
        return f"http://127.0.0.1:{self._server.server_address[1]}{ROOT}"

    # -- what tests look at ----------------------------------------------------

    def writes(self) -> int:
        return sum(1 for request in self.requests if request.write)

    def reads(self) -> int:
        return sum(1 for request in self.requests if not request.write)

    def user(self) -> Json:
        """The account, as the Sync API's `user` resource shows it (the fields followup reads
        and a few around them)."""
        pro = self.plan == "pro"
        return {
            "id": self.user_id,
            "email": "jane.seeker@example.com",
            "full_name": "Jane Seeker",
            "inbox_project_id": self.inbox_id,
            "is_premium": pro,
            "premium_status": "current_personal_plan" if pro else "not_premium",
            "premium_until": "2027-01-01T00:00:00.000000Z" if pro else None,
            "tz_info": {"timezone": "America/New_York", "gmt_string": "-05:00"},
        }

    def plan_limits(self) -> Json:
        """[ts-res] `user_plan_limits`: the limits of the current plan, and of the next one."""
        current = {**PLANS[self.plan], **self.limits}
        return {"current": current, "next": None if self.plan == "pro" else PLANS["pro"]}

    def limit(self, name: str) -> int:
        return int(self.plan_limits()["current"][name])

    def complete(self, item_id: str) -> None:
        """The person ticks the task off in Todoist."""
        with self._lock:
            item = self.items[item_id]
            item["checked"], item["completed_at"] = True, _now()

    def live_items(self, project_id: str | None = None) -> list[Json]:
        with self._lock:
            return [
                item
                for item in self.items.values()
                if not item["is_deleted"]
                and not item["checked"]
                and (project_id is None or item["project_id"] == project_id)
            ]

    def project_named(self, name: str) -> Json | None:
        with self._lock:
            for project in self.projects.values():
                if project["name"] == name and not project["is_deleted"]:
                    return project
        return None

    def live_sections(self, project_id: str) -> list[Json]:
        with self._lock:
            return [
                section
                for section in self.sections.values()
                if section["project_id"] == project_id and _active(section)
            ]

    def live_reminders(self, item_id: str) -> list[Json]:
        with self._lock:
            return [
                reminder
                for reminder in self.reminders.values()
                if reminder["item_id"] == item_id and not reminder["is_deleted"]
            ]

    # -- request handling (called by the HTTP handler) -------------------------

    def handle(self, method: str, target: str, headers: Any, body: bytes) -> tuple[int, Json]:
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {
                "error": "Invalid token",
                "error_tag": "AUTH_INVALID_TOKEN",
                "http_code": 401,
                "error_extra": {},
            }
        parts = urlsplit(target)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        path = parts.path.removeprefix(ROOT).rstrip("/")
        route = self._route(method, path)
        if route is None:
            return 404, {"error": "Not found", "error_tag": "NOT_FOUND", "http_code": 404}
        handler, argument = route
        try:
            with self._lock:
                if method == "POST" and path != "/sync" and self.writes_left is not None:
                    self.writes_left -= 1
                return 200, handler(query, body, argument)
        except ApiError as error:
            return error.http_code, error.body()
        except Interrupted:
            return 0, {}

    def _route(self, method: str, path: str) -> tuple[Callable[..., Json], str] | None:
        routes: dict[tuple[str, str], Callable[..., Json]] = {
            ("GET", "/projects"): self._list_projects,
            ("GET", "/projects/*"): self._get_project,
            ("GET", "/sections"): self._list_sections,
            ("GET", "/tasks"): self._list_tasks,
            ("GET", "/tasks/completed/by_completion_date"): self._completed_tasks,
            ("GET", "/tasks/*"): self._get_task,
            ("POST", "/tasks"): self._rest_add_task,
            ("POST", "/reminders"): self._rest_add_reminder,
            ("POST", "/sync"): self._sync,
        }
        if (method, path) in routes:
            return routes[(method, path)], ""
        head, _, tail = path.rpartition("/")
        handler = routes.get((method, f"{head}/*"))
        return (handler, tail) if handler and tail else None

    # -- REST ------------------------------------------------------------------

    def _list_projects(self, query: dict[str, str], body: bytes, _: str) -> Json:
        return _page([p for p in self.projects.values() if _active(p)], query)

    def _get_project(self, query: dict[str, str], body: bytes, project_id: str) -> Json:
        # [v1] an archived project is still got by id, with is_archived; a deleted one is 404
        project = self.projects.get(project_id)
        if project is None or project["is_deleted"]:
            raise ApiError(404, "NOT_FOUND", "Project not found")
        return project

    def _list_sections(self, query: dict[str, str], body: bytes, _: str) -> Json:
        wanted = query.get("project_id")
        found = [
            s
            for s in self.sections.values()
            if _active(s) and (wanted is None or s["project_id"] == wanted)
        ]
        return _page(found, query)

    def _list_tasks(self, query: dict[str, str], body: bytes, _: str) -> Json:
        # [v1] GET /tasks lists active tasks only: completed ones are missing from it.
        found = [
            item
            for item in self.live_items(query.get("project_id"))
            if "section_id" not in query or item["section_id"] == query["section_id"]
        ]
        return _page(found, query)

    def _completed_tasks(self, query: dict[str, str], body: bytes, _: str) -> Json:
        """[py-sdk] completed tasks by completion date: `since`/`until` required, at most 3
        months apart; [ts-cmd GetCompletedTasksByCompletionDateArgs] project_id, section_id
        filter; answered under "items" with a cursor."""
        try:
            since, until = (_instant(query[name]) for name in ("since", "until"))
        except KeyError as missing:
            raise _invalid(str(missing.args[0]), "since and until are required") from None
        if not timedelta(0) <= until - since <= COMPLETED_WINDOW:
            raise _invalid("until", "the window is at most 3 months, since before until")
        found = [
            item
            for item in self.items.values()
            if item["checked"]
            and not item["is_deleted"]
            and since <= _instant(item["completed_at"]) <= until
            and all(item[k] == query[k] for k in ("project_id", "section_id") if k in query)
        ]
        page = _page(found, query)
        return {"items": page["results"], "next_cursor": page["next_cursor"]}

    def _get_task(self, query: dict[str, str], body: bytes, item_id: str) -> Json:
        item = self.items.get(item_id)
        if item is None or item["is_deleted"]:
            raise ApiError(404, "NOT_FOUND", "Task not found")
        return item

    def _rest_add_task(self, query: dict[str, str], body: bytes, _: str) -> Json:
        """POST /tasks: the flat REST shape, with its own due_* and duration rules."""
        data = _json_object(body)
        due_fields = [name for name in ("due_string", "due_date", "due_datetime") if name in data]
        if len(due_fields) > 1:
            raise _invalid(due_fields[1], "only one of due_string, due_date, due_datetime")
        if ("duration" in data) != ("duration_unit" in data):
            raise _invalid("duration_unit", "duration and duration_unit go together")
        args = {k: v for k, v in data.items() if not k.startswith(("due_", "duration"))}
        if "due_date" in data:
            args["due"] = {"date": data["due_date"]}
        elif "due_datetime" in data:
            args["due"] = {"date": data["due_datetime"]}
        elif "due_string" in data:
            args["due"] = {"string": data["due_string"]}
        if "duration" in data:
            args["duration"] = {"amount": data["duration"], "unit": data["duration_unit"]}
        return self._item_add(args)

    def _rest_add_reminder(self, query: dict[str, str], body: bytes, _: str) -> Json:
        data = _json_object(body)
        return self._reminder_add({**data, "item_id": data.get("task_id")})

    # -- /sync -----------------------------------------------------------------

    def _sync(self, query: dict[str, str], body: bytes, _: str) -> Json:
        if len(body) > MAX_BODY:  # [rest-v2] 1 MiB; the status is stricter: 413, no command run
            raise ApiError(413, "REQUEST_TOO_LARGE", f"the body is over {MAX_BODY} bytes")
        form = _form(body)
        commands = _commands(form)
        resource_types = _resource_types(form)
        if len(commands) > MAX_COMMANDS:  # [v1] "a maximum of 100 commands"
            raise ApiError(400, "TOO_MANY_COMMANDS", f"at most {MAX_COMMANDS} commands")
        if commands:
            self.batches.append(commands)
        statuses: dict[str, Any] = {}
        mapping: dict[str, str] = {}
        for command in commands:
            uuid = command.get("uuid")
            if not isinstance(uuid, str) or not uuid:
                raise _invalid("uuid", "every command needs a uuid")
            if uuid in self.executed:  # [v1] a uuid runs once; [issue] three ways to answer
                status, created = self.executed[uuid]
                if self.replay == "ok":
                    status, created = "ok", {}
                elif self.replay == "error":
                    status, created = _replayed.body(), {}
                statuses[uuid] = status
                mapping.update(created)
                continue
            if self.writes_left is not None:
                if self.writes_left <= 0:
                    raise Interrupted  # what ran so far stays applied; no answer
                self.writes_left -= 1
            self.executed[uuid] = self._run(command, mapping)
            status, created = self.executed[uuid]
            statuses[uuid] = status
            mapping.update(created)
        answer: Json = {
            "sync_status": statuses,
            "temp_id_mapping": mapping,
            "sync_token": f"fake-sync-{next(self._sync_tokens)}",
            "full_sync": False,
        }
        if resource_types:
            if form.get("sync_token") != "*":
                raise _invalid("sync_token", "the fake serves full reads only (sync_token '*')")
            answer["full_sync"] = True
            wanted = set(resource_types)
            if {"user", "all"} & wanted:
                answer["user"] = self.user()
            if {"user_plan_limits", "all"} & wanted:
                answer["user_plan_limits"] = self.plan_limits()
            if {"reminders", "all"} & wanted:
                answer["reminders"] = [r for r in self.reminders.values() if not r["is_deleted"]]
        return answer

    def is_write(self, method: str, target: str, body: bytes) -> bool:
        """A POST, except a /sync that carries no command (it only reads resources)."""
        if method != "POST":
            return False
        if urlsplit(target).path.removeprefix(ROOT).rstrip("/") != "/sync":
            return True
        try:
            return bool(_commands(_form(body)))
        except ApiError:
            return True

    def _run(self, command: Json, mapping: dict[str, str]) -> tuple[Any, dict[str, str]]:
        kind, temp_id = command.get("type"), command.get("temp_id")
        args = command.get("args")
        handlers: dict[str, Callable[[Json], Json | None]] = {
            "project_add": self._project_add,
            "project_archive": self._project_archive,
            "section_add": self._section_add,
            "section_delete": self._section_delete,
            "section_archive": self._section_archive,
            "item_add": self._item_add,
            "item_update": self._item_update,
            "item_move": self._item_move,
            "item_delete": self._item_delete,
            "item_complete": self._item_complete,
            "item_uncomplete": self._item_uncomplete,
            "reminder_add": self._reminder_add,
            "reminder_update": self._reminder_update,
            "reminder_delete": self._reminder_delete,
        }
        try:
            if kind not in handlers or kind not in COMMAND_ARGS:  # [ts-cmd] no item_close in v1
                raise ApiError(400, "INVALID_COMMAND", f"unknown command type {kind!r}")
            if not isinstance(args, dict):
                raise _invalid("args", "args must be an object")
            required, optional = COMMAND_ARGS[kind]
            if missing := sorted(required - args.keys()):
                raise _invalid(missing[0], f"{kind} needs {missing[0]}")
            if unknown := sorted(args.keys() - required - optional):
                raise _invalid(unknown[0], f"{kind} takes no argument {unknown[0]!r}")
            resolved = {
                key: mapping.get(value, value) if isinstance(value, str) else value
                for key, value in args.items()
            }
            created = handlers[kind](resolved)
        except ApiError as error:
            return error.body(), {}
        if temp_id and created is not None:
            return "ok", {temp_id: created["id"]}
        return "ok", {}

    # -- commands --------------------------------------------------------------

    def _new_id(self) -> str:
        number = next(self._counter) * 2654435761 % (62**12)
        digits = []
        for _ in range(12):
            number, digit = divmod(number, 62)
            digits.append(_ALPHABET[digit])
        return "6" + "".join(digits)

    def _add_project(self, name: str, inbox: bool = False) -> Json:
        project = {
            "id": self._new_id(),
            "name": name,
            "description": "",
            "child_order": len(self.projects),
            "color": "charcoal",
            "is_collapsed": False,
            "is_shared": False,
            "is_favorite": False,
            "is_archived": False,
            "is_deleted": False,
            "can_assign_tasks": False,
            "view_style": "list",
            "created_at": STAMP,
            "updated_at": STAMP,
            "parent_id": None,
            "inbox_project": inbox,
        }
        self.projects[project["id"]] = project
        return project

    def _project_add(self, args: Json) -> Json:
        name = args.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 120:  # [limits] 120 characters
            raise _invalid("name", "project name must be 1–120 characters")
        active = sum(1 for p in self.projects.values() if _active(p))  # the inbox too: stricter
        if active >= self.limit("active_projects"):  # [limits] Beginner 5, Pro 300
            raise ApiError(403, "MAX_PROJECTS_LIMIT_REACHED", "Maximum number of projects")
        return self._add_project(name)

    def _project_archive(self, args: Json) -> None:
        self._project(args.get("id"))["is_archived"] = True

    def _project(self, project_id: Any) -> Json:
        project = self.projects.get(project_id) if isinstance(project_id, str) else None
        if project is None or not _active(project):
            raise ApiError(404, "PROJECT_NOT_FOUND", "Project not found", "project_id")
        return project

    def _section(self, section_id: Any) -> Json:
        section = self.sections.get(section_id) if isinstance(section_id, str) else None
        if section is None or not _active(section):
            raise ApiError(404, "SECTION_NOT_FOUND", "Section not found", "section_id")
        return section

    def _item(self, item_id: Any) -> Json:
        item = self.items.get(item_id) if isinstance(item_id, str) else None
        if item is None or item["is_deleted"]:
            raise ApiError(404, "ITEM_NOT_FOUND", "Item not found", "id")
        return item

    def _section_add(self, args: Json) -> Json:
        name = args.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 2048:
            raise _invalid("name", "section name must be 1–2048 characters")
        project = self._project(args.get("project_id"))
        # [limits] 20 sections per project; archived ones count too (stricter: undocumented)
        held = [s for s in self.sections.values() if s["project_id"] == project["id"]]
        if sum(1 for s in held if not s["is_deleted"]) >= self.limit("sections_per_project"):
            raise ApiError(403, "MAX_SECTIONS_LIMIT_REACHED", "Maximum number of sections")
        section = {
            "id": self._new_id(),
            "name": name,
            "project_id": project["id"],
            "is_collapsed": False,
            "section_order": len(self.sections),
            "is_deleted": False,
            "is_archived": False,
        }
        self.sections[section["id"]] = section
        return section

    def _section_delete(self, args: Json) -> None:
        section = self._section(args.get("id"))
        section["is_deleted"] = True
        for item in self.items.values():  # [v1] section_delete deletes all its tasks,
            if item["section_id"] == section["id"]:  # completed ones included
                item["is_deleted"] = True

    def _section_archive(self, args: Json) -> None:
        self._section(args.get("id"))["is_archived"] = True

    def _item_add(self, args: Json) -> Json:
        if "content" not in args:
            raise _invalid("content", "content is required")
        project_id = args.get("project_id", self.inbox_id)
        if args.get("section_id") is not None:
            section = self._section(args["section_id"])
            project_id = args.get("project_id", section["project_id"])
            if section["project_id"] != project_id:
                raise _invalid("section_id", "section is not in that project")
        project = self._project(project_id)  # archived projects take no tasks (404, stricter)
        active = sum(1 for i in self.live_items(project["id"]))
        if active >= self.limit("tasks_per_project"):  # [limits] 300 active tasks per project
            raise ApiError(403, "MAX_ITEMS_LIMIT_REACHED", "Maximum number of tasks in project")
        item = {
            "id": self._new_id(),
            "content": "",
            "description": "",
            "project_id": project_id,
            "section_id": args.get("section_id"),
            "parent_id": None,
            "labels": [],
            "priority": 1,
            "due": None,
            "deadline": None,
            "duration": None,
            "is_collapsed": False,
            "child_order": len(self.items),
            "responsible_uid": None,
            "assigned_by_uid": None,
            "completed_at": None,
            "checked": False,
            "is_deleted": False,
            "added_by_uid": self.user_id,
            "added_at": STAMP,
            "updated_at": STAMP,
            "user_id": self.user_id,
        }
        _set_fields(item, args)
        self.items[item["id"]] = item
        return item

    def _item_update(self, args: Json) -> None:
        item = self._item(args.get("id"))
        for moving in ("project_id", "section_id"):
            if moving in args:
                raise _invalid(moving, "item_update does not move tasks; use item_move")
        _set_fields(item, {k: v for k, v in args.items() if k != "id"})

    def _item_move(self, args: Json) -> None:
        item = self._item(args.get("id"))
        if args.get("section_id") is not None:
            section = self._section(args["section_id"])
            item["section_id"], item["project_id"] = section["id"], section["project_id"]
        elif args.get("project_id") is not None:
            item["project_id"], item["section_id"] = self._project(args["project_id"])["id"], None
        else:
            raise _invalid("section_id", "item_move needs section_id or project_id")

    def _item_delete(self, args: Json) -> None:
        item = self._item(args.get("id"))
        item["is_deleted"] = True
        for reminder in self.reminders.values():
            if reminder["item_id"] == item["id"]:
                reminder["is_deleted"] = True

    def _item_complete(self, args: Json) -> None:
        item = self._item(args.get("id"))
        completed_at = args.get("completed_at")
        if not isinstance(completed_at, str):  # [ts-cmd] TaskCompleteArgs.completedAt: string
            raise _invalid("completed_at", "completed_at must be a date-time string")
        _instant(completed_at)
        item["checked"], item["completed_at"] = True, completed_at

    def _item_uncomplete(self, args: Json) -> None:
        item = self._item(args.get("id"))  # [ts-cmd] TaskUncompleteArgs: the task's id alone
        item["checked"], item["completed_at"] = False, None

    def _reminder_add(self, args: Json) -> Json:
        allowed = self.limit("reminders_per_user")  # [limits] reminders per plan
        if allowed == 0:
            raise ApiError(403, "PREMIUM_ONLY", "Reminders are not available on your plan")
        if sum(1 for r in self.reminders.values() if not r["is_deleted"]) >= allowed:
            raise ApiError(403, "MAX_REMINDERS_LIMIT_REACHED", "Maximum number of reminders")
        item = self._item(args.get("item_id"))
        if args.get("type", "relative") != "relative":
            raise _invalid("type", "the fake supports relative reminders only")
        offset = args.get("minute_offset")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise _invalid("minute_offset", "minute_offset must be a non-negative integer")
        due = item["due"]
        if due is None or "T" not in due["date"]:
            raise _invalid("item_id", "a relative reminder needs a task with a due time")
        reminder = {
            "id": self._new_id(),
            "item_id": item["id"],
            "notify_uid": self.user_id,
            "type": "relative",
            "minute_offset": offset,
            "is_deleted": False,
            "is_urgent": False,
            "due": None,
            "service": None,
        }
        self.reminders[reminder["id"]] = reminder
        return reminder

    def _reminder(self, reminder_id: Any) -> Json:
        reminder = self.reminders.get(reminder_id) if isinstance(reminder_id, str) else None
        if reminder is None or reminder["is_deleted"]:
            raise ApiError(404, "REMINDER_NOT_FOUND", "Reminder not found", "id")
        return reminder

    def _reminder_update(self, args: Json) -> None:
        reminder = self._reminder(args.get("id"))
        if args.get("type") != reminder["type"]:
            raise _invalid("type", "reminder_update names the reminder's type")
        offset = args.get("minute_offset")
        if not isinstance(offset, int) or offset < 0:
            raise _invalid("minute_offset", "minute_offset must be a non-negative integer")
        reminder["minute_offset"] = offset

    def _reminder_delete(self, args: Json) -> None:
        self._reminder(args.get("id"))["is_deleted"] = True

    # -- failure plumbing (called by the handler) ------------------------------

    def admit(self, write: bool) -> str | int | None:
        """Before handling: a fault to act out ("reset", "lost") or a status to answer with.

        `writes_left` counts commands, so a /sync request can run out half-way: the
        commands before that point are applied and the connection drops unanswered.
        """
        with self._lock:
            if self.script and (fate := self.script.pop(0)) is not None:
                return fate
            if self.faults is not None:
                fault = self.faults.before()
                if fault == "reset":
                    return "reset"
                if fault == "rate_limited":
                    return 429
                if fault == "unavailable":
                    return 503
            if write and self.writes_left is not None and self.writes_left <= 0:
                return 503
        return None

    def hold(self) -> None:
        """A slow answer: the work is done, the answer comes `slow_seconds` later."""
        time.sleep(self.slow_seconds)

    def takes_slow(self, write: bool) -> bool:
        with self._lock:
            if write and self.slow_writes > 0:
                self.slow_writes -= 1
                return True
            return False

    def loses_response(self, write: bool) -> bool:
        with self._lock:
            if write and self.lose_writes > 0:
                self.lose_writes -= 1
                return True
            return write and self.faults is not None and self.faults.loses_response()

    def log(self, method: str, target: str, status: int, write: bool) -> None:
        with self._lock:
            self.requests.append(Request(method, urlsplit(target).path, status, write))


_replayed = ApiError(400, "ALREADY_PROCESSED", "This command was already processed")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _instant(text: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise _invalid("date", f"not a date-time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _active(resource: Json) -> bool:
    return not resource.get("is_deleted") and not resource.get("is_archived")


def _page(resources: list[Json], query: dict[str, str]) -> Json:
    try:
        limit = int(query.get("limit", PAGE_DEFAULT))
        start = int(base64.urlsafe_b64decode(query["cursor"]).decode()) if "cursor" in query else 0
    except (ValueError, UnicodeDecodeError) as error:
        raise _invalid("cursor", f"bad cursor or limit: {error}") from None
    if not 1 <= limit <= PAGE_MAX:
        raise _invalid("limit", f"limit must be 1–{PAGE_MAX}")
    end = start + limit
    cursor = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(resources) else None
    return {"results": resources[start:end], "next_cursor": cursor}


def _json_object(body: bytes) -> Json:
    try:
        data = json.loads(body or b"{}")
    except json.JSONDecodeError:
        raise ApiError(400, "INVALID_JSON", "body is not JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "INVALID_JSON", "body must be a JSON object")
    return data


def _form(body: bytes) -> Json:
    """The fields of a /sync call: form fields (as documented, lists as JSON text) or JSON."""
    text = body.decode("utf-8", "replace")
    if text.lstrip().startswith("{"):
        return _json_object(body)
    fields: Json = {}
    for name, values in parse_qs(text).items():
        value = values[-1]
        if name in ("commands", "resource_types"):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise _invalid(name, f"{name} is not JSON") from None
        fields[name] = value
    return fields


def _commands(form: Json) -> list[Json]:
    commands = form.get("commands", [])
    if not isinstance(commands, list) or not all(isinstance(c, dict) for c in commands):
        raise _invalid("commands", "commands must be a list of objects")
    return commands


def _resource_types(form: Json) -> list[str]:
    types = form.get("resource_types", [])
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise _invalid("resource_types", "resource_types must be a list of names")
    if unknown := sorted(set(types) - RESOURCE_TYPES):  # [ts-res]
        raise _invalid("resource_types", f"unknown resource type {unknown[0]!r}")
    return types


def _set_fields(item: Json, args: Json) -> None:
    """Validate then apply task fields, as item_add and item_update accept them."""
    changes: Json = {}
    if "content" in args:
        content = args["content"]
        if not isinstance(content, str) or not content.strip():
            raise _invalid("content", "content must be a non-empty string")
        if len(content) > CONTENT_LIMIT:
            raise _invalid("content", f"content is longer than {CONTENT_LIMIT} characters")
        changes["content"] = content
    if "description" in args:
        text = args["description"]
        if not isinstance(text, str) or len(text) > DESCRIPTION_LIMIT:
            raise _invalid("description", f"description over {DESCRIPTION_LIMIT} characters")
        changes["description"] = text
    if "priority" in args:
        priority = args["priority"]
        if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 4:
            raise _invalid("priority", "priority must be an integer from 1 to 4")
        changes["priority"] = priority
    if "labels" in args:
        labels = args["labels"]
        if not isinstance(labels, list) or not all(
            isinstance(name, str) and 1 <= len(name) <= LABEL_LIMIT for name in labels
        ):
            raise _invalid("labels", f"labels must be names of 1–{LABEL_LIMIT} characters")
        changes["labels"] = list(labels)
    if "due" in args:
        changes["due"] = None if args["due"] is None else _due(args["due"])
    if "duration" in args:
        changes["duration"] = None if args["duration"] is None else _duration(args["duration"])
    duration = changes.get("duration", item["duration"])
    due = changes.get("due", item["due"])
    if duration and duration["unit"] == "minute" and (due is None or "T" not in due["date"]):
        raise _invalid("duration", "a duration in minutes needs a due date with a time")
    item.update(changes)


def _due(due: Any) -> Json:
    if not isinstance(due, dict):
        raise _invalid("due", "due must be an object")
    if "date" in due and "string" in due:
        raise _invalid("due", "give only one of due.date and due.string")
    if "string" in due:
        raise _invalid("due.string", "the fake does not parse natural-language due strings")
    text = due.get("date")
    if not isinstance(text, str):
        raise _invalid("due.date", "due.date is required")
    zone = due.get("timezone")
    try:
        if _DAY.match(text):
            date.fromisoformat(text)
            if zone is not None:
                raise _invalid("due.timezone", "an all-day due date takes no timezone")
            string = text
        elif match := _MOMENT.match(text):
            datetime.fromisoformat(text.removesuffix("Z"))
            if zone is not None and not match.group(1):
                raise _invalid("due.timezone", "a fixed timezone needs the date-time in UTC (Z)")
            string = text.replace("T", " ")
        else:
            raise _invalid("due.date", "due.date must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[Z]")
    except ValueError:
        raise _invalid("due.date", "due.date is not a real date") from None
    if zone is not None:
        _check_zone(zone)
    return {
        "date": text,
        "timezone": zone,
        "string": string,
        "lang": due.get("lang", "en"),
        "is_recurring": False,
    }


def _check_zone(zone: Any) -> None:
    if not isinstance(zone, str):
        raise _invalid("due.timezone", "timezone must be a string")
    if _OFFSET_ZONE.match(zone):
        return
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _invalid("due.timezone", f"unknown timezone {zone!r}") from None


def _duration(duration: Any) -> Json:
    if not isinstance(duration, dict) or "amount" not in duration:
        raise _invalid("duration", "duration must be an object with amount and unit")
    if "unit" not in duration:
        raise _invalid("duration.unit", "a duration needs its unit (minute or day)")
    amount, unit = duration["amount"], duration["unit"]
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise _invalid("duration.amount", "duration amount must be a positive integer")
    if unit not in ("minute", "day"):
        raise _invalid("duration.unit", "duration unit must be minute or day")
    return {"amount": amount, "unit": unit}


# [ts-sanitize] Doist/todoist-api-typescript src/utils/sanitization.ts and
# uncompletable-helpers.ts: what Todoist renders in a task's content.
_RENDERED = (
    re.compile(r"(^|[\s!?,;>:]+)(?:\*\*|__|!!)(.+?)(\*\*|__|!!)(?=$|[\s!?,;><:]+)"),
    re.compile(r"(^|[\s!?,;>:]+)(?:\*|_|!)(.+?)(\*|_|!)(?=$|[\s!?,;><:]+)"),
    re.compile(r"`([^`]+)`"),
    re.compile(r"\[(.+?)\]\((.+?)\)"),
    re.compile(r"((?:(?:onenote:)?[\w-]+):\/\/[^\s]+)\s+[\[(]([^)]+)[\])]"),
    re.compile(r"^\* "),  # an uncompletable task
)


def renders_as_markup(content: str) -> bool:
    """Whether Todoist would show `content` formatted rather than as typed."""
    return any(pattern.search(content) for pattern in _RENDERED)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        fake: FakeTodoist = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        write = fake.is_write(method, self.path, body)
        fate = fake.admit(write)
        if fate == "reset":
            fake.log(method, self.path, 0, write)
            return self._drop()
        if isinstance(fate, int):
            fake.log(method, self.path, fate, write)
            extra = {"Retry-After": str(fake.retry_after)} if fate == 429 else {}
            return self._answer(fate, {"error": "try again", "http_code": fate}, extra)
        status, payload = fake.handle(method, self.path, self.headers, body)
        if fate == "slow" or fake.takes_slow(write):
            fake.hold()
        if status == 0 or fate == "lost" or fake.loses_response(write):
            fake.log(method, self.path, 0, write)
            return self._drop()
        fake.log(method, self.path, status, write)
        self._answer(status, payload)

    def _answer(self, status: int, payload: Json, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        """Close with a TCP reset: the client sees the connection die, no answer."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
