"""Todoist: a project for the job search, a section per application, one task per follow-up.

Writes go through Todoist's /sync endpoint, up to 100 commands per request. Every
command carries a uuid derived from the task, the change and the state it starts from,
and Todoist runs a uuid only once, so a request whose answer was lost can be sent again
(now or in the next run) without creating anything twice. The project and the sections
a batch needs ride in its first request, ahead of the tasks that refer to them by temp
id. Todoist assigns task ids; the state store keeps them. The SDK (todoist-api-python)
does the reads and is imported only when this exporter runs.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from followup import config
from followup.errors import AuthError, ExportFailed, MissingExtra, UserError
from followup.exporter import Change, ExportContext, Exporter, Outcome, Setting
from followup_todoist import payload

if TYPE_CHECKING:
    from followup_todoist.api import Sleep, SyncResult, TodoistClient

DEFAULT_API_URL = "https://api.todoist.com/api/v1"
TOKEN_ENV = "TODOIST_API_TOKEN"
URL_ENV = "FOLLOWUP_TODOIST_API_URL"
SECRET_NAME = "todoist"
NO_TOKEN = "no Todoist token: run `followup auth todoist` or set TODOIST_API_TOKEN"
NO_REMINDERS = (
    "Todoist did not add reminders: your Todoist plan does not include them. "
    "The tasks are there with their due times; Todoist Pro adds the reminders."
)
PLACED_BY_REF = ("project_id", "section_id")  # the arguments that may hold a layout temp id


def load_token() -> str | None:
    return os.environ.get(TOKEN_ENV) or config.load_secret(SECRET_NAME)


def api_url(options: Mapping[str, Any]) -> str:
    """The API root: the environment overrides the setting (for a proxy or a local fake)."""
    return os.environ.get(URL_ENV) or options.get("api_url") or DEFAULT_API_URL


def connect(token: str, url: str, sleep: Sleep = time.sleep) -> TodoistClient:
    try:
        from followup_todoist.api import TodoistClient
    except ImportError:
        raise MissingExtra("todoist", "todoist") from None
    return TodoistClient(token, url, sleep)


@dataclass
class _Group:
    """The commands of one change, kept in one request so temp ids resolve."""

    change: Change
    commands: list[dict[str, Any]]
    item: str  # uuid of the item command
    extra: dict[str, Any] = field(default_factory=dict)
    reminder: tuple[str, str] | None = None  # (uuid, kind) of the reminder command
    section: str | None = None  # the section's id, or its section_add temp id


@dataclass
class _Layout:
    """Where a batch's tasks go: ids, or temp ids of the commands that create them."""

    project: str | None
    sections: dict[str, str]  # name -> id or temp id
    commands: list[dict[str, Any]]  # project_add / section_add, sent ahead of the tasks


class TodoistExporter(Exporter):
    name = "todoist"
    description = "Todoist tasks: a project, a section per application, drafts in the description"
    settings: ClassVar[Sequence[Setting]] = (
        Setting("project", "the Todoist project (created if missing)", "Job search"),
        Setting("on_cancel", "what a cancelled task becomes: delete or complete", "delete"),
        Setting("api_url", "the API root (for a proxy or a local fake)", DEFAULT_API_URL, URL_ENV),
    )
    secret = "Todoist API token"
    batch_size = 100

    def __init__(
        self, options: Mapping[str, Any], context: ExportContext, *, sleep: Sleep = time.sleep
    ) -> None:
        super().__init__(options, context)
        self._sleep = sleep
        self._client: TodoistClient | None = None
        self._project_id: str | None = None
        self._sections: dict[str, str] | None = None  # name -> id, listed once per run
        self._ids: dict[str, str] = {}  # layout temp id -> the id Todoist gave it
        self._reminders: bool | None = None  # unknown until the plan is read (or a 403)

    # -- settings --------------------------------------------------------------

    @property
    def project(self) -> str:
        return payload.project_name(str(self.options.get("project") or "Job search"))

    @property
    def target(self) -> str:
        return f"project:{self.project}"

    @property
    def on_cancel(self) -> str:
        value = str(self.options.get("on_cancel") or "delete")
        if value not in ("delete", "complete"):
            raise UserError(f"exporters.todoist.on_cancel: {value!r} is not delete or complete")
        return value

    def configured(self) -> tuple[bool, str]:
        if load_token() is None:
            return False, NO_TOKEN
        return True, f"ready (project {self.project!r})"

    # -- dry run ---------------------------------------------------------------

    def describe(self, change: Change) -> str:
        task, remote_id = change.task, change.remote.remote_id if change.remote else "?"
        if change.action == "cancel":
            verb = "item_delete" if self.on_cancel == "delete" else "item_close"
            return f"{verb} {remote_id} ({payload.content(task)!r})"
        fields = payload.task_fields(task)
        shown = {**fields, "description": f"<{len(fields['description'])} characters>"}
        where = f"project {self.project!r}, section {payload.section_name(task)!r}"
        verb = "item_add" if change.action == "create" else f"item_update {remote_id}"
        text = f"{verb} in {where}: {json.dumps(shown, ensure_ascii=False)}"
        minutes = payload.reminder_minutes(task)
        return text + (f" + reminder_add {minutes} min before" if minutes is not None else "")

    # -- writing ---------------------------------------------------------------

    def apply(self, changes: Sequence[Change]) -> Iterator[Outcome]:
        client = self._connect()
        layout = self._layout(client, changes)
        groups: list[_Group] = []
        for change in changes:
            group = self._group(change, layout)
            if isinstance(group, Outcome):
                yield group
            else:
                groups.append(group)
        self._learn_plan(client, groups)
        refused: dict[str, str] = {}  # section temp id -> why Todoist did not create it
        readd: list[Change] = []
        for head, request in self._requests(layout.commands, groups):
            for group in [g for g in request if g.section in refused]:
                request.remove(group)  # never send a task whose section does not exist
                yield _unplaced(group, refused)
            commands = [
                self._resolved(c) for c in [*head, *(c for g in request for c in g.commands)]
            ]
            if not commands:
                continue
            result = client.sync(commands)
            self._learn_layout(head, result, refused)
            for group in request:
                outcome = (
                    _unplaced(group, refused)
                    if group.section in refused
                    else self._outcome(group, result)
                )
                if outcome is None:
                    readd.append(group.change)
                else:
                    yield outcome
        if readd:  # edited tasks someone deleted in Todoist: the plan still wants them
            # Keeping `remote` keeps its sequence in the uuid: never a replay of the first add.
            yield from self.apply([Change("create", c.task, c.remote) for c in readd])
        self._tidy_sections(client, changes)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _connect(self) -> TodoistClient:
        if self._client is None:
            token = load_token()
            if not token:
                raise AuthError(NO_TOKEN)
            self._client = connect(token, api_url(self.options), self._sleep)
        return self._client

    def _layout(self, client: TodoistClient, changes: Sequence[Change]) -> _Layout:
        """The project and sections these changes need; commands for the missing ones.

        Their uuids (and temp ids) derive from the item commands they serve, so a request
        sent again repeats them and Todoist replays the first answer, while a later,
        different batch (say, tasks planned again after their section was tidied away)
        creates afresh instead of being handed an id that is gone.
        """
        if self._project_id is None:
            self._project_id = self._find_project(client)
        served: dict[str, list[str]] = {}  # section name -> uuids of the item commands in it
        for change in changes:
            if change.action != "cancel" and self._needs_section(change):
                item_uuid = payload.command_uuid(self.target, change, "item")
                served.setdefault(payload.section_name(change.task), []).append(item_uuid)
        if not served:
            return _Layout(self._project_id, {}, [])
        if self._sections is None:
            assert self._project_id is not None  # a project not found has no sections ({})
            self._sections = client.sections(self._project_id)
        layout = _Layout(self._project_id, dict(self._sections), [])
        missing = sorted(served.keys() - self._sections.keys())
        if missing and layout.project is None:
            every = sorted(u for name in missing for u in served[name])
            ref = payload.layout_uuid("project_add", self.project, every)
            layout.commands.append(_command("project_add", {"name": self.project}, ref, ref))
            layout.project = ref
        for name in missing:
            assert layout.project is not None
            ref = payload.layout_uuid("section_add", f"{layout.project}|{name}", served[name])
            args = {"name": name, "project_id": layout.project}
            layout.commands.append(_command("section_add", args, ref, ref))
            layout.sections[name] = ref
        return layout

    def _learn_layout(
        self, commands: list[dict[str, Any]], result: SyncResult, refused: dict[str, str]
    ) -> None:
        """Remember the ids Todoist gave the project and sections this request created."""
        for command in commands:
            ref, failure = command["temp_id"], result.failure(command["uuid"])
            real = result.temp_ids.get(ref) if failure is None else None
            if real is not None:
                self._ids[ref] = real
            if command["type"] == "project_add":
                if real is None:
                    why = failure[1] if failure else "no id came back"
                    raise ExportFailed(
                        f"Todoist did not create the project {self.project!r} ({why}); "
                        "run the same command again later"
                    )
                self._project_id = real
                self._remember_project(real)
            elif real is None:
                refused[ref] = failure[1] if failure else "no id came back"
            else:
                assert self._sections is not None  # `_layout` listed them
                self._sections[command["args"]["name"]] = real

    def _resolved(self, command: dict[str, Any]) -> dict[str, Any]:
        """The command with temp ids from earlier requests replaced by real ids: a temp id
        resolves only within the request that creates it."""
        args = {
            key: self._ids.get(value, value) if key in PLACED_BY_REF else value
            for key, value in command["args"].items()
        }
        return {**command, "args": args}

    def _learn_plan(self, client: TodoistClient, groups: list[_Group]) -> None:
        """Before the first reminder_add, ask once whether the plan has reminders at all."""
        if self._reminders is not None:
            return
        if not any(group.reminder and group.reminder[1] == "add" for group in groups):
            return
        self._reminders = client.plan_has_reminders()
        if not self._reminders:
            self.context.notice(NO_REMINDERS)

    def _find_project(self, client: TodoistClient) -> str | None:
        """By the id remembered from earlier runs (so a rename is fine), else by name."""
        remembered = self._load_state().get("projects", {}).get(self.project)
        if remembered and client.project_name(remembered) is not None:
            return str(remembered)
        found = client.find_project(self.project)
        if found is not None:
            self._remember_project(found)
        self._sections = None if found else {}
        return found

    def _needs_section(self, change: Change) -> bool:
        extra = change.remote.extra if change.remote else {}
        moved = extra.get("application") != payload.section_name(change.task)
        return change.action == "create" or moved or not extra.get("section_id")

    def _group(self, change: Change, layout: _Layout) -> _Group | Outcome:
        task, remote = change.task, change.remote
        extra = dict(remote.extra) if remote else {}
        item_uuid = payload.command_uuid(self.target, change, "item")
        if change.action == "cancel":
            if not remote or not remote.remote_id:
                return Outcome(change, remote_id=None)
            verb = "item_delete" if self.on_cancel == "delete" else "item_close"
            command = _command(verb, {"id": remote.remote_id}, uuid_=item_uuid)
            return _Group(change, [command], item_uuid, {"reminder_id": None})
        if self._needs_section(change):
            section = layout.sections.get(payload.section_name(task))
        else:
            section = str(extra["section_id"])
        project_id = layout.project
        if section is None or project_id is None:
            return Outcome(change, error="Todoist did not create the section for this task")
        fields = {k: v for k, v in payload.task_fields(task).items() if v is not None}
        placement = {
            "project_id": project_id,
            "section_id": section,
            "application": payload.section_name(task),
        }
        if change.action == "create" or not remote or not remote.remote_id:
            args = {**fields, "project_id": project_id, "section_id": section}
            group = _Group(
                change,
                [_command("item_add", args, item_uuid, item_uuid)],
                item_uuid,
                {**placement, "reminder_id": None, "reminder_minutes": None},
                section=section,
            )
            self._plan_reminder(group, item_uuid, None)
            return group
        item_id = remote.remote_id
        args = {"id": item_id, **payload.task_fields(task)}
        group = _Group(
            change,
            [_command("item_update", args, uuid_=item_uuid)],
            item_uuid,
            dict(placement),
            section=section,
        )
        if extra.get("section_id") != section:
            move = _command(
                "item_move",
                {"id": item_id, "section_id": section},
                uuid_=payload.command_uuid(self.target, change, "move"),
            )
            group.commands.append(move)
        self._plan_reminder(group, item_id, extra)
        return group

    def _plan_reminder(self, group: _Group, item_ref: str, extra: dict[str, Any] | None) -> None:
        """Add, change or drop the task's relative reminder to match the plan."""
        wanted = payload.reminder_minutes(group.change.task)
        have_id = (extra or {}).get("reminder_id")
        have = (extra or {}).get("reminder_minutes")
        reminder_uuid = payload.command_uuid(self.target, group.change, "reminder")
        if have_id and wanted is None:
            group.commands.append(_command("reminder_delete", {"id": have_id}, uuid_=reminder_uuid))
            group.reminder = (reminder_uuid, "delete")
        elif have_id and wanted != have:
            args = {"id": have_id, "minute_offset": wanted}
            group.commands.append(_command("reminder_update", args, uuid_=reminder_uuid))
            group.reminder = (reminder_uuid, "update")
        elif not have_id and wanted is not None and self._reminders is not False:
            args = {"item_id": item_ref, "type": "relative", "minute_offset": wanted}
            group.commands.append(_command("reminder_add", args, reminder_uuid, reminder_uuid))
            group.reminder = (reminder_uuid, "add")

    def _outcome(self, group: _Group, result: SyncResult) -> Outcome | None:
        """The change's outcome; None for an update whose task is gone (re-add it)."""
        change = group.change
        failure = result.failure(group.item)
        if failure is not None:
            code, message = failure
            if code == 404 and change.action == "cancel":
                failure = None  # already gone: that is what a cancel wants
            elif code == 404 and change.action == "update":
                return None
            else:
                return Outcome(change, error=f"Todoist refused this change: {message}")
        remote_id = (
            result.temp_ids.get(group.item)
            if group.commands[0]["type"] == "item_add"
            else (change.remote.remote_id if change.remote else None)
        )
        if remote_id is None:
            return Outcome(change, error="Todoist accepted the task but sent no id for it")
        for key in PLACED_BY_REF:  # the state keeps real ids, never a temp id
            if key in group.extra:
                group.extra[key] = self._ids.get(group.extra[key], group.extra[key])
        for command in group.commands[1:]:
            if command["type"] == "item_move" and result.failure(command["uuid"]):
                group.extra.pop("section_id", None)  # stays where it was; try again next edit
                group.extra.pop("application", None)
        group.extra.update(self._reminder_outcome(group, result))
        return Outcome(change, remote_id=remote_id, extra=group.extra)

    def _reminder_outcome(self, group: _Group, result: SyncResult) -> dict[str, Any]:
        if group.reminder is None:
            return {}
        reminder_uuid, kind = group.reminder
        minutes = payload.reminder_minutes(group.change.task)
        failure = result.failure(reminder_uuid)
        if failure is None:
            if kind == "delete":
                return {"reminder_id": None, "reminder_minutes": None}
            if kind == "add":
                return {
                    "reminder_id": result.temp_ids.get(reminder_uuid),
                    "reminder_minutes": minutes,
                }
            return {"reminder_minutes": minutes}
        code, message = failure
        if code == 403:
            self._reminders = False
            self.context.notice(NO_REMINDERS)
        elif code == 404:  # the reminder was removed in Todoist: add one next edit
            return {"reminder_id": None, "reminder_minutes": None}
        else:
            self.context.notice(
                f"Todoist refused a reminder ({message}); the task itself is there."
            )
        return {}

    def _requests(
        self, layout: list[dict[str, Any]], groups: list[_Group]
    ) -> Iterator[tuple[list[dict[str, Any]], list[_Group]]]:
        """Requests of at most 100 commands: the layout commands first, then whole groups
        in the room left. Lazy: once the plan is known to have no reminders (a 403 can
        say so mid-run), the groups not yet sent go without theirs."""
        head: list[dict[str, Any]] = []
        for start in range(0, len(layout), payload.MAX_COMMANDS):
            if head:  # only a layout of over 100 commands fills a request by itself
                yield head, []
            head = layout[start : start + payload.MAX_COMMANDS]
        request: list[_Group] = []
        size = len(head)
        for group in groups:
            if self._reminders is False and group.reminder and group.reminder[1] == "add":
                group.commands = [c for c in group.commands if c["type"] != "reminder_add"]
                group.reminder = None
            if size and size + len(group.commands) > payload.MAX_COMMANDS:
                yield head, request
                head, request, size = [], [], 0
            request.append(group)
            size += len(group.commands)
        if size:
            yield head, request

    def _tidy_sections(self, client: TodoistClient, changes: Sequence[Change]) -> None:
        """Remove the sections of applications whose tasks are now all gone."""
        touched = {
            str(c.remote.extra["section_id"])
            for c in changes
            if c.action == "cancel" and c.remote and c.remote.extra.get("section_id")
        }
        verb = "section_delete" if self.on_cancel == "delete" else "section_archive"
        commands = [
            _command(verb, {"id": section_id}, uuid_=str(uuid.uuid4()))
            for section_id in sorted(touched)
            if client.section_is_empty(section_id)
        ]
        if not commands:
            return
        client.sync(commands)  # a section already gone (404) is fine
        gone = {command["args"]["id"] for command in commands}
        if self._sections is not None:
            self._sections = {n: s for n, s in self._sections.items() if s not in gone}

    # -- the small state file: the project id, so a renamed project is found again ----

    def _state_path(self) -> Path:
        return self.context.state_dir / "todoist.json"

    def _load_state(self) -> dict[str, Any]:
        path = self._state_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _remember_project(self, project_id: str) -> None:
        state = self._load_state()
        projects = state.setdefault("projects", {})
        if projects.get(self.project) != project_id:
            projects[self.project] = project_id
            config.write_private(self._state_path(), json.dumps(state, indent=2))

    # -- `followup auth todoist` -------------------------------------------------

    @classmethod
    def auth_command(cls) -> Any:
        import click

        @click.command(name="todoist")
        @click.option("--logout", is_flag=True, help="Forget the stored token.")
        def auth(logout: bool) -> None:
            """Store your Todoist API token (Todoist: Settings → Integrations → Developer).

            The token is checked against Todoist before it is stored, in the system keyring
            when there is one, else in a file only you can read. Example:

                followup auth todoist
            """
            if logout:
                found = config.delete_secret(SECRET_NAME)
                click.echo(
                    "Removed the Todoist token." if found else "No Todoist token was stored."
                )
                return
            token = click.prompt("Todoist API token", hide_input=True).strip()
            options = config.load_settings().exporters.get(cls.name, {})
            client = connect(token, api_url(options))
            try:
                client.verify()
            except AuthError:
                raise AuthError(
                    "Todoist rejected this token; copy it again from Todoist "
                    "(Settings → Integrations → Developer) and run `followup auth todoist`"
                ) from None
            finally:
                client.close()
            where = config.store_secret(SECRET_NAME, token)
            click.echo(f"Todoist token checked and stored in {where}.")

        return auth


def _unplaced(group: _Group, refused: dict[str, str]) -> Outcome:
    why = refused[str(group.section)]
    return Outcome(group.change, error=f"Todoist did not create the section for this task ({why})")


def _command(
    kind: str, args: dict[str, Any], temp_id: str | None = None, uuid_: str | None = None
) -> dict[str, Any]:
    command: dict[str, Any] = {"type": kind, "uuid": uuid_ or str(uuid.uuid4()), "args": args}
    if temp_id is not None:
        command["temp_id"] = temp_id
    return command
