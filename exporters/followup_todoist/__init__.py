"""Todoist: a project for the job search, a section per application, one task per follow-up.

Writes go through Todoist's /sync endpoint, up to 100 commands and 1 MB per request. Every
command carries a uuid derived from the account, the task, the change and the state it
starts from, and Todoist runs a uuid only once. When a write's answer is lost (or says
nothing usable, as a replayed uuid may), the exporter first finds what landed, by the
`followup: <key>` line every description ends with, then sends the rest as new writes:
nothing is created twice, nothing fails for good. The project and the sections a batch
needs ride in its first request, ahead of the tasks that refer to them by temp id.

Nothing the person did is undone: a task they completed is never reopened, re-created or
deleted, and a section is archived, never deleted (Todoist deletes a section's tasks with
it). The plan's limits (`user_plan_limits`) are read once per run and kept to.
The SDK (todoist-api-python 4.x) does the reads and is imported only when this runs.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from followup import config
from followup.errors import AuthError, ExportFailed, MissingExtra, UserError
from followup.exporter import (
    Change,
    ExportContext,
    Exporter,
    Found,
    Outcome,
    RemoteRef,
    Setting,
    SyncedTask,
)
from followup.tasks import Task
from followup_todoist import payload

if TYPE_CHECKING:
    from followup_todoist.api import Account, Sleep, Standing, SyncResult, TodoistClient

DEFAULT_API_URL = "https://api.todoist.com/api/v1"
TOKEN_ENV = "TODOIST_API_TOKEN"
URL_ENV = "FOLLOWUP_TODOIST_API_URL"
SECRET_NAME = "todoist"
NO_TOKEN = "no Todoist token: run `followup auth todoist` or set TODOIST_API_TOKEN"
NO_REMINDERS = (
    "Todoist did not add reminders: your Todoist plan allows none "
    "(its `user_plan_limits` say 0). The tasks are there with their due times."
)
AGAIN = "run the same command again later — nothing will be duplicated"
PLACED_BY_REF = ("project_id", "section_id")  # the arguments that may hold a layout temp id
ROUNDS = 3  # sends of one change in a run: the first, and after lookups
COMPLETED_WINDOW = timedelta(days=89)  # Todoist lists completed tasks 3 months at a time
SECTION_LIMIT, TASK_LIMIT, REMINDER_LIMIT = (
    "MAX_SECTIONS_LIMIT_REACHED",
    "MAX_ITEMS_LIMIT_REACHED",
    "MAX_REMINDERS_LIMIT_REACHED",
)


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


class ProjectGone(ExportFailed):
    """The project followup wrote to was archived or deleted by the person."""

    def __init__(self, project: str, how: str) -> None:
        fix = "Unarchive it in Todoist, or send" if how == "archived" else "Send"
        super().__init__(
            f"The Todoist project {project!r} was {how} in Todoist, so followup leaves it "
            f"alone. {fix} follow-ups to another project (created if missing): "
            f"followup sync --set project='{project} 2'"
        )


@dataclass
class _Group:
    """The commands of one change, kept in one request so temp ids resolve."""

    change: Change  # what is sent (a create found standing is sent as an update)
    reported: Change  # what the sync engine asked for
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
        self._account: Account | None = None
        self._project_id: str | None = None
        self._projects_held = 0  # active projects in the account, counted when listed
        self._unfound = False  # listed, and the project is not there (yet)
        self._refused: ExportFailed | None = None  # why the lookup could not be made
        self._sections: dict[str, str] | None = None  # name -> id, listed once per round
        self._unsectioned: set[str] = set()  # applications past the plan's section limit
        self._standing: dict[str, Standing] | None = None  # key -> task in the project
        self._completed_read = False
        self._active = 0  # open tasks in the project
        self._ids: dict[str, str] = {}  # layout temp id -> the id Todoist gave it
        self._reminders: bool | None = None  # whether reminder_add may be sent at all
        self._reminder_room: int | None = None  # how many more the plan allows
        self._without_reminder = 0  # follow-ups added without one: the plan is full
        self._run = secrets.token_hex(4)  # names this run's later rounds: never a replay
        self._left_done = 0  # follow-ups the person completed, left as they are

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
            verb = "item_delete" if self.on_cancel == "delete" else "item_complete"
            return f"{verb} {remote_id} ({payload.content(task)!r})"
        fields = payload.task_fields(task)
        shown = {
            **fields,
            "description": f"<{len(fields['description'])} characters>",
            "priority": payload.priority_shown(fields["priority"]),
        }
        where = f"project {self.project!r}, section {payload.section_name(task)!r}"
        verb = "item_add" if change.action == "create" else f"item_update {remote_id}"
        text = f"{verb} in {where}: {json.dumps(shown, ensure_ascii=False)}"
        minutes = payload.reminder_minutes(task)
        return text + (f" + reminder_add {minutes} min before" if minutes is not None else "")

    # -- finding what stands in Todoist ------------------------------------------

    def lookup(self, tasks: Sequence[Task]) -> Mapping[str, Found] | None:
        """The tasks of the project by the key each description ends with: the open ones
        (one paginated listing), then, for keys not among them, those completed in the last
        three months (Todoist lists completed tasks apart from open ones)."""
        try:
            found_project = self._project_to_read()
            if found_project is None:
                return {}
            client, project = found_project
            keys = {task.key for task in tasks}
            standing = self._stand(client, project, keys, fresh=True)
            return {
                key: Found(found.item_id, found.content_hash, found.done, self._placement_of(found))
                for key, found in standing.items()
                if key in keys
            }
        except ProjectGone:
            return {}
        except ExportFailed as error:  # cannot tell now: `apply` says so, sending nothing
            self._refused = error
            return None

    def completions(self, tasks: Sequence[SyncedTask]) -> Mapping[str, datetime]:
        """The follow-ups the person checked off in Todoist in the last three months, and
        when: `followup sync` writes them into their records."""
        try:
            found_project = self._project_to_read()
            if found_project is None:
                return {}
            client, project = found_project
            keys = {synced.task.key for synced in tasks}
            done = _completed_lately(client, project)
        except ExportFailed:  # the sync that follows says what went wrong
            return {}
        return {
            found.key: found.completed_at
            for found in done
            if found.key in keys and found.completed_at is not None
        }

    def _project_to_read(self) -> tuple[TodoistClient, str] | None:
        """The signed-in client and followup's project, when there is one to read."""
        client = self._connect()
        self._read_account(client)
        project = self._find_project(client)
        return None if project is None else (client, project)

    def _stand(
        self, client: TodoistClient, project: str, keys: set[str], *, fresh: bool = False
    ) -> dict[str, Standing]:
        if self._standing is None or fresh:
            active = client.active_tasks(project)
            self._active = len(active)
            self._standing = {}
            for found in active:
                self._standing.setdefault(found.key, found)
            self._completed_read = False
        if not self._completed_read and keys - self._standing.keys():
            for found in _completed_lately(client, project):
                self._standing.setdefault(found.key, found)
            self._completed_read = True
        return self._standing

    def _placement_of(self, found: Standing) -> dict[str, Any]:
        """The state a found task is adopted with: where it is, its reminder."""
        assert self._client is not None and self._account is not None
        if self._sections is None and self._project_id is not None:
            self._sections = self._client.sections(self._project_id)
        names = {section: name for name, section in (self._sections or {}).items()}
        reminder = next(
            (
                r
                for r in self._account.reminders
                if r.get("item_id") == found.item_id and r.get("type") == "relative"
            ),
            None,
        )
        return {
            "project_id": self._project_id,
            "section_id": found.section_id,
            "application": names.get(found.section_id or ""),
            "reminder_id": reminder.get("id") if reminder else None,
            "reminder_minutes": reminder.get("minute_offset") if reminder else None,
        }

    # -- writing ---------------------------------------------------------------

    def apply(self, changes: Sequence[Change]) -> Iterator[Outcome]:
        if self._refused is not None:  # a bad token, a long Retry-After: not again this run
            raise self._refused
        client = self._connect()
        self._read_account(client)
        yield from self._round(client, [(change, change) for change in changes], 1)
        self._tidy_sections(client, changes)
        if self._left_done:
            self.context.notice(
                f"{self._left_done} follow-up(s) you completed in Todoist were left as they "
                "are: followup never reopens, re-creates or deletes a task you ticked off."
            )
        if self._without_reminder:
            allowed = self._account.limit("reminders_per_user", 0) if self._account else 0
            self.context.notice(
                f"Todoist allows {allowed} reminders on your plan and all are in use: "
                f"{self._without_reminder} follow-ups were added without one (their due "
                "times are set). Delete old reminders in Todoist to make room."
            )

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

    def _read_account(self, client: TodoistClient, *, again: bool = False) -> Account:
        if self._account is None or again:
            self._account = client.account()
        return self._account

    @property
    def _scope(self) -> str:
        """What every command uuid is named in: the account, this state, the project."""
        assert self._account is not None
        return f"{self._account.user_id}|{self._state_nonce()}|{self.target}"

    def _uuid(self, change: Change, step: str, round_: int) -> str:
        """Round 1 repeats what an earlier run sent (a replay is harmless); later rounds
        follow a lookup that found the change not done, so they are new writes."""
        scope = self._scope if round_ == 1 else f"{self._scope}|{self._run}|{round_}"
        return payload.command_uuid(scope, change, step)

    def _round(
        self, client: TodoistClient, work: list[tuple[Change, Change]], round_: int
    ) -> Iterator[Outcome]:
        """Send `work` ((change to send, change to report) pairs); what comes back without
        a usable answer is looked up and sent again in a later round, as a new write."""
        from followup_todoist.api import UnknownOutcome

        project = self._find_project(client)
        standing = self._stand(client, project, {c.task.key for c, _ in work}) if project else {}
        settled: list[tuple[Change, Change]] = []
        for change, reported in work:
            aimed = self._settle(change, reported, standing.get(change.task.key))
            if isinstance(aimed, Outcome):
                yield aimed
            else:
                settled.append(aimed)
        layout = self._layout(client, [change for change, _ in settled], round_)
        room = self._task_room()
        groups: list[_Group] = []
        for change, reported in settled:
            group = self._group(change, reported, layout, round_)
            if isinstance(group, Outcome):
                yield group
                continue
            if group.commands[0]["type"] == "item_add" and room is not None:
                if room <= 0:
                    yield Outcome(reported, error=self._full())
                    continue
                room -= 1
            groups.append(group)
        self._plan_reminders(groups)
        refused: dict[str, str] = {}  # section temp id -> why Todoist did not create it
        again: list[tuple[Change, Change, str]] = []
        readd: list[Change] = []
        sent: set[int] = set()
        for head, request in self._requests(layout.commands, groups):
            commands = [
                self._resolved(c) for c in [*head, *(c for g in request for c in g.commands)]
            ]
            try:
                result = client.sync(commands)
                self._learn_layout(head, result, refused)
            except UnknownOutcome:
                if round_ >= ROUNDS:
                    raise
                unsent = [g for g in groups if id(g) not in sent]
                pending = [(g.change, g.reported) for g in unsent]
                pending += [(c, r) for c, r, _ in again]
                self._forget(client)
                yield from self._round(client, pending, round_ + 1)
                return
            for group in request:
                sent.add(id(group))
                if group.section in refused:
                    again.append((group.change, group.reported, refused[group.section]))
                    continue
                outcome = self._outcome(group, result, last=round_ >= ROUNDS)
                if isinstance(outcome, Outcome):
                    yield outcome
                elif outcome is None:
                    readd.append(group.reported)
                else:
                    again.append((group.change, group.reported, outcome))
        if again and round_ >= ROUNDS:
            for _, reported, why in again:
                yield Outcome(reported, error=why)
        elif again:
            self._forget(client)
            yield from self._round(client, [(c, r) for c, r, _ in again], round_ + 1)
        if readd:  # edited tasks someone deleted in Todoist: the plan still wants them
            # Keeping `remote` keeps its sequence in the uuid: never a replay of the first add.
            readded = [Change("create", c.task, c.remote) for c in readd]
            yield from self._round(client, [(c, c) for c in readded], round_)

    def _settle(
        self, change: Change, reported: Change, found: Standing | None
    ) -> Outcome | tuple[Change, Change]:
        """What `change` becomes given the task found standing under its key: a task the
        person completed is left alone; one that already landed is updated, not added."""
        remote = change.remote
        reopening = (
            change.task.status == "planned" and remote is not None and remote.status == "done"
        )
        if found is not None and found.done and reopening:
            # Marked done through followup, then `followup done --undo`: the later act wins.
            return _on(change, found, dict(remote.extra) if remote else {}), reported
        if found is not None and found.done:
            self._left_done += 1
            extra = dict(remote.extra) if remote else self._placement_of(found)
            return Outcome(reported, remote_id=found.item_id, extra=extra)
        if change.action == "cancel":
            if found is None:  # nothing of ours is open there: nothing to remove
                return Outcome(reported, remote_id=remote.remote_id if remote else None)
            return _on(change, found, dict(remote.extra) if remote else {}), reported
        if found is None:
            return change, reported
        if change.action == "create":
            placement = self._placement_of(found)
            wanted = payload.reminder_minutes(change.task)
            if (
                found.content_hash == change.task.content_hash
                and placement["reminder_minutes"] == wanted
            ):
                return Outcome(reported, remote_id=found.item_id, extra=placement)
            return _on(change, found, placement, action="update"), reported
        if remote is not None and remote.remote_id != found.item_id:
            return _on(change, found, dict(remote.extra)), reported
        return change, reported

    def _forget(self, client: TodoistClient) -> None:
        """After an answer that said nothing usable: look everything up again."""
        self._unfound = False
        self._sections = None
        self._standing = None
        self._read_account(client, again=True)

    def _layout(self, client: TodoistClient, changes: Sequence[Change], round_: int) -> _Layout:
        """The project and sections these changes need; commands for the missing ones.

        Their uuids (and temp ids) derive from the item commands they serve, so a request
        sent again repeats them and Todoist replays the first answer, while a later,
        different batch (say, tasks planned again after their section was tidied away)
        creates afresh instead of being handed an id that is gone. Past the plan's sections
        per project, applications go without a section and carry a label of their name.
        """
        placed = [change for change in changes if change.action != "cancel"]
        served: dict[str, list[str]] = {}  # section name -> uuids of the item commands in it
        for change in placed:
            if self._needs_section(change):
                item_uuid = self._uuid(change, "item", round_)
                served.setdefault(payload.section_name(change.task), []).append(item_uuid)
        if not placed:
            return _Layout(self._project_id, {}, [])
        if self._sections is None and served and self._project_id:  # not for edits in place
            self._sections = client.sections(self._project_id)
        layout = _Layout(self._project_id, dict(self._sections or {}), [])
        if self._sections is None:
            return layout
        missing = sorted(served.keys() - self._sections.keys() - self._unsectioned)
        allowed = self._account.limit("sections_per_project", None) if self._account else None
        if allowed is not None and len(self._sections) + len(missing) > allowed:
            room = max(0, allowed - len(self._sections))
            self._unsectioned.update(missing[room:])
            missing = missing[:room]
        if self._unsectioned & served.keys():
            self.context.notice(self._sections_full())
        if layout.project is None:
            self._check_project_room()
            every = sorted(u for uuids in served.values() for u in uuids) or [self._scope]
            ref = payload.layout_uuid("project_add", f"{self._scope}|{self.project}", every)
            layout.commands.append(_command("project_add", {"name": self.project}, ref, ref))
            layout.project = ref
        for name in missing:
            ref = payload.layout_uuid("section_add", f"{layout.project}|{name}", served[name])
            args = {"name": name, "project_id": layout.project}
            layout.commands.append(_command("section_add", args, ref, ref))
            layout.sections[name] = ref
        return layout

    def _check_project_room(self) -> None:
        allowed = self._account.limit("active_projects", None) if self._account else None
        if allowed is not None and self._projects_held >= allowed:
            raise ExportFailed(
                f"Todoist allows {allowed} active projects on your plan and the account has "
                f"{self._projects_held}, so followup cannot add the project {self.project!r}. "
                "Archive one in Todoist, or send follow-ups to a project you have: "
                "--set project='<its name>'"
            )

    def _task_room(self) -> int | None:
        allowed = self._account.limit("tasks_per_project", None) if self._account else None
        return None if allowed is None else allowed - self._active

    def _full(self) -> str:
        allowed = self._account.limit("tasks_per_project", 300) if self._account else 300
        return (
            f"Todoist allows {allowed} active tasks per project on your plan and "
            f"{self.project!r} is full; complete some there, or send follow-ups to another "
            "project with --set project='<name>'"
        )

    def _sections_full(self) -> str:
        allowed = self._account.limit("sections_per_project", 20) if self._account else 20
        return (
            f"Todoist allows {allowed} sections per project, so applications past that go in "
            f"{self.project!r} without a section, each under a label of its name "
            "(filter by it in Todoist)."
        )

    def _learn_layout(
        self, commands: list[dict[str, Any]], result: SyncResult, refused: dict[str, str]
    ) -> None:
        """Remember the ids Todoist gave the project and sections this request created."""
        from followup_todoist.api import UnknownOutcome

        for command in commands:
            ref, failure = command["temp_id"], result.failure(command["uuid"])
            real = result.temp_ids.get(ref) if failure is None else None
            if real is not None:
                self._ids[ref] = real
            if command["type"] == "project_add":
                if real is None:  # a replay answered without the id: look the project up
                    why = failure[1] if failure else "no id came back"
                    raise UnknownOutcome(
                        f"Todoist did not create the project {self.project!r} ({why}); {AGAIN}"
                    )
                self._project_id = real
                self._remember_project(real)
            elif real is None:
                refused[ref] = failure[1] if failure else "no id came back"
                if result.tag(command["uuid"]) == SECTION_LIMIT:
                    self._unsectioned.add(command["args"]["name"])
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

    def _plan_reminders(self, groups: list[_Group]) -> None:
        """How many reminders the plan lets this run add (`user_plan_limits`)."""
        if self._reminders is not None or self._account is None:
            return
        allowed = self._account.limit("reminders_per_user", None)
        if allowed is None:
            self._reminders = self._account.premium
        else:
            self._reminders = allowed > 0
            self._reminder_room = max(0, allowed - len(self._account.reminders))
        adds = any(group.reminder and group.reminder[1] == "add" for group in groups)
        if not self._reminders and adds:
            self.context.notice(NO_REMINDERS)

    def _find_project(self, client: TodoistClient) -> str | None:
        """By the id remembered from earlier runs (so a rename is fine), else by name. One
        the person archived or deleted is not written to, nor silently made again."""
        if self._project_id is not None or self._unfound:
            return self._project_id
        remembered = self._load_state().get("projects", {}).get(self.project)
        if remembered:
            found = client.project(str(remembered))
            if found is None or found[1]:
                raise ProjectGone(self.project, "archived" if found else "deleted")
            self._project_id = str(remembered)
            return self._project_id
        projects = client.projects()
        self._projects_held = len(projects)
        for project_id, name, inbox in projects:
            if name == self.project and not inbox:
                self._project_id = project_id
                self._remember_project(project_id)
                break
        else:
            self._unfound = True
            self._sections = {}
            self._standing = {}
            self._completed_read = True
        return self._project_id

    def _needs_section(self, change: Change) -> bool:
        extra = change.remote.extra if change.remote else {}
        moved = extra.get("application") != payload.section_name(change.task)
        return change.action == "create" or moved or not extra.get("section_id")

    def _group(
        self, change: Change, reported: Change, layout: _Layout, round_: int
    ) -> _Group | Outcome:
        task, remote = change.task, change.remote
        extra = dict(remote.extra) if remote else {}
        item_uuid = self._uuid(change, "item", round_)
        if change.action == "cancel":
            if not remote or not remote.remote_id:
                return Outcome(reported, remote_id=None)
            if self.on_cancel == "delete":
                command = _command("item_delete", {"id": remote.remote_id}, uuid_=item_uuid)
            else:
                args = {"id": remote.remote_id, "completed_at": _now()}
                command = _command("item_complete", args, uuid_=item_uuid)
            return _Group(change, reported, [command], item_uuid, {"reminder_id": None})
        name = payload.section_name(task)
        by_label = name in self._unsectioned
        section: str | None
        if not self._needs_section(change):
            section = str(extra["section_id"])
        elif by_label:
            section = extra.get("section_id") if change.action != "create" else None
        else:
            section = layout.sections.get(name)
            if section is None:
                return Outcome(reported, error="Todoist did not create the section for this task")
        project_id = layout.project
        if project_id is None:
            return Outcome(reported, error="Todoist did not create the project for this task")
        label = (payload.application_label(task),) if by_label and not section else ()
        fields = {k: v for k, v in payload.task_fields(task, *label).items() if v is not None}
        placement = {"project_id": project_id, "section_id": section, "application": name}
        if change.action == "create" or not remote or not remote.remote_id:
            args = {**fields, "project_id": project_id}
            if section:
                args["section_id"] = section
            group = _Group(
                change,
                reported,
                [_command("item_add", args, item_uuid, item_uuid)],
                item_uuid,
                {**placement, "reminder_id": None, "reminder_minutes": None},
                section=section,
            )
            self._plan_reminder(group, item_uuid, None, round_)
            return group
        item_id = remote.remote_id
        args = {"id": item_id, **payload.task_fields(task, *label)}
        commands = [_command("item_update", args, uuid_=item_uuid)]
        if task.status == "done":  # completed, never deleted: what the person did stays
            done_at = {"id": item_id, "completed_at": _completed_at(task)}
            commands.append(_command("item_complete", done_at, self._uuid(change, "done", round_)))
        elif remote.status == "done":  # undone with `followup done --undo`
            reopen = _command(
                "item_uncomplete", {"id": item_id}, self._uuid(change, "undo", round_)
            )
            commands.insert(0, reopen)
        group = _Group(change, reported, commands, item_uuid, dict(placement), section=section)
        if section and extra.get("section_id") != section:
            move = _command(
                "item_move",
                {"id": item_id, "section_id": section},
                uuid_=self._uuid(change, "move", round_),
            )
            group.commands.append(move)
        self._plan_reminder(group, item_id, extra, round_)
        return group

    def _plan_reminder(
        self, group: _Group, item_ref: str, extra: dict[str, Any] | None, round_: int
    ) -> None:
        """Add, change or drop the task's relative reminder to match the plan."""
        wanted = payload.reminder_minutes(group.change.task)
        have_id = (extra or {}).get("reminder_id")
        have = (extra or {}).get("reminder_minutes")
        reminder_uuid = self._uuid(group.change, "reminder", round_)
        if have_id and wanted is None:
            group.commands.append(_command("reminder_delete", {"id": have_id}, uuid_=reminder_uuid))
            group.reminder = (reminder_uuid, "delete")
        elif have_id and wanted != have:
            args = {"id": have_id, "type": "relative", "minute_offset": wanted}
            group.commands.append(_command("reminder_update", args, uuid_=reminder_uuid))
            group.reminder = (reminder_uuid, "update")
        elif not have_id and wanted is not None and self._reminders is not False:
            args = {"item_id": item_ref, "type": "relative", "minute_offset": wanted}
            group.commands.append(_command("reminder_add", args, reminder_uuid, reminder_uuid))
            group.reminder = (reminder_uuid, "add")

    def _outcome(self, group: _Group, result: SyncResult, *, last: bool) -> Outcome | str | None:
        """The change's outcome; None for an update whose task is gone (re-add it); a
        reason when the answer says nothing usable (look up and send again)."""
        change, reported = group.change, group.reported
        failure = result.failure(group.item)
        kind = group.commands[0]["type"]
        if failure is not None:
            code, message = failure
            if code == 404 and change.action == "cancel":
                failure = None  # already gone: that is what a cancel wants
            elif code == 404 and change.action == "update":
                return None
            elif result.tag(group.item) == TASK_LIMIT:
                return Outcome(reported, error=self._full())
            else:
                return f"Todoist refused this change: {message}"
        remote_id = (
            result.temp_ids.get(group.item)
            if kind == "item_add"
            else (change.remote.remote_id if change.remote else None)
        )
        if remote_id is None:
            return "Todoist accepted the task but sent no id for it"
        if not last and self._reminder_unclear(group, result):
            return "Todoist sent no word on the task's reminder"  # the lookup will tell
        if kind == "item_add":
            self._active += 1
        for key in PLACED_BY_REF:  # the state keeps real ids, never a temp id
            if group.extra.get(key):
                group.extra[key] = self._ids.get(group.extra[key], group.extra[key])
        for command in group.commands[1:]:
            if command["type"] == "item_move" and result.failure(command["uuid"]):
                group.extra.pop("section_id", None)  # stays where it was; try again next edit
                group.extra.pop("application", None)
        group.extra.update(self._reminder_outcome(group, result))
        return Outcome(reported, remote_id=remote_id, extra=group.extra)

    @staticmethod
    def _reminder_unclear(group: _Group, result: SyncResult) -> bool:
        """A reminder_add answered without its id, or with an error a replay may give."""
        if group.reminder is None or group.reminder[1] != "add":
            return False
        failure = result.failure(group.reminder[0])
        if failure is None:
            return group.reminder[0] not in result.temp_ids
        return failure[0] not in (403, 404)

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
        if code == 403 and result.tag(reminder_uuid) == REMINDER_LIMIT:
            self._reminder_room = 0
            self._without_reminder += 1
        elif code == 403:
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
        """Requests of at most 100 commands and 1 MB: the layout commands first, then whole
        groups in the room left. Lazy: once the plan is known to have no room for
        reminders (a 403 can say so mid-run), the groups not yet sent go without theirs."""
        head: list[dict[str, Any]] = []
        for start in range(0, len(layout), payload.MAX_COMMANDS):
            if head:  # only a layout of over 100 commands fills a request by itself
                yield head, []
            head = layout[start : start + payload.MAX_COMMANDS]
        request: list[_Group] = []
        count, size = len(head), sum(_size(c) for c in head)
        for group in groups:
            if group.reminder and group.reminder[1] == "add":
                if self._reminders is False or self._reminder_room == 0:
                    if self._reminders is not False:
                        self._without_reminder += 1
                    group.commands = [c for c in group.commands if c["type"] != "reminder_add"]
                    group.reminder = None
                elif self._reminder_room is not None:
                    self._reminder_room -= 1
            weight = sum(_size(c) for c in group.commands)
            too_many = count + len(group.commands) > payload.MAX_COMMANDS
            if count and (too_many or size + weight > payload.MAX_BODY):
                yield head, request
                head, request, count, size = [], [], 0, 0
            request.append(group)
            count, size = count + len(group.commands), size + weight
        if count:
            yield head, request

    def _tidy_sections(self, client: TodoistClient, changes: Sequence[Change]) -> None:
        """Archive the sections of applications that have no open task left. Never delete
        one: Todoist deletes a section's tasks with it, completed ones included."""
        touched = {
            str(c.remote.extra["section_id"])
            for c in changes
            if c.action == "cancel" and c.remote and c.remote.extra.get("section_id")
        }
        commands = [
            _command("section_archive", {"id": section_id}, uuid_=str(uuid.uuid4()))
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

    def _state_nonce(self) -> str:
        """A random name for this state, made once: a fresh state never replays old uuids."""
        state = self._load_state()
        if not isinstance(state.get("nonce"), str):
            state["nonce"] = secrets.token_hex(8)
            config.write_private(self._state_path(), json.dumps(state, indent=2))
        return str(state["nonce"])

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


def _on(
    change: Change, found: Standing, extra: dict[str, Any], action: str | None = None
) -> Change:
    """`change` aimed at the task found standing under its key."""
    sequence = change.remote.sequence if change.remote else -1
    moment = datetime.now(UTC)
    status = change.remote.status if change.remote else "planned"
    ref = RemoteRef(
        found.item_id, found.content_hash or "", sequence, status, moment, moment, extra
    )
    return Change(action or change.action, change.task, ref)  # type: ignore[arg-type]


def _completed_lately(client: TodoistClient, project: str) -> list[Standing]:
    """The project's tasks completed within Todoist's listing window (about three months)."""
    until = datetime.now(UTC) + timedelta(days=1)  # a day ahead: the two clocks may differ
    return client.completed_tasks(project, until - COMPLETED_WINDOW, until)


def _completed_at(task: Task) -> str:
    """When the person did it: noon UTC of the day the record gives keeps that day."""
    day = task.done_on or datetime.now(UTC).date()
    return datetime.combine(day, clock(12), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _size(command: dict[str, Any]) -> int:
    """Bytes the command takes in a JSON request body."""
    return len(json.dumps(command, ensure_ascii=False).encode()) + 2
