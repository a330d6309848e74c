"""The exporter plugin API: what a destination implements to receive tasks.

An exporter is a class registered under the entry-point group `followup.exporters`.
The sync engine hands it batches of `Change`s and it reports one `Outcome` per change,
as each one lands, so a run that dies half-way loses nothing already written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

from followup.tasks import Task

Action = Literal["create", "update", "cancel"]


@dataclass(frozen=True, slots=True)
class RemoteRef:
    """What the state store remembers about a task at one destination."""

    remote_id: str | None
    content_hash: str
    sequence: int
    status: str
    created_at: datetime
    updated_at: datetime
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Change:
    """One write the sync engine asks for. `remote` is None for a first create."""

    action: Action
    task: Task
    remote: RemoteRef | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one change: a remote id on success, an error message otherwise."""

    change: Change
    remote_id: str | None = None
    error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Found:
    """A task's item found standing at a destination by the task's key (`Exporter.lookup`)."""

    remote_id: str
    content_hash: str | None = None  # what it was written from, when the destination keeps it
    done: bool = False  # the person completed it there
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SyncedTask:
    """A task as it now stands at a destination, with the bookkeeping a file needs."""

    task: Task
    remote: RemoteRef


@dataclass(frozen=True, slots=True)
class Setting:
    """An option an exporter accepts, from the settings file or the command line."""

    name: str
    help: str
    default: Any = None
    env: str | None = None


@dataclass(frozen=True, slots=True)
class ExportContext:
    """What the core gives every exporter: where it may keep files and how to talk."""

    state_dir: Path
    dry_run: bool = False
    notices: list[str] = field(default_factory=list)

    def notice(self, message: str) -> None:
        """Tell the user something worth knowing once (shown after the run)."""
        if message not in self.notices:
            self.notices.append(message)


class Exporter:
    """Base class of every exporter. Subclasses set the class attributes and `apply`."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    settings: ClassVar[Sequence[Setting]] = ()
    secret: ClassVar[str | None] = None  # what it needs, e.g. "Todoist API token"
    batch_size: ClassVar[int] = 100
    # True when its writes are only the state store's rows (a feed rendered from them):
    # each batch is then recorded in one transaction, with no write in flight.
    local: ClassVar[bool] = False

    def __init__(self, options: Mapping[str, Any], context: ExportContext) -> None:
        self.options = dict(options)
        self.context = context

    @property
    def target(self) -> str:
        """Which place at the destination this run writes to (state is kept per target)."""
        return "default"

    def configured(self) -> tuple[bool, str]:
        """Whether it can run now, and a short word on why not."""
        return True, "ready"

    def apply(self, changes: Sequence[Change]) -> Iterator[Outcome]:
        """Carry out one batch; yield an outcome per change as soon as it is known."""
        raise NotImplementedError

    def content_hash(self, task: Task) -> str:
        """What a written item is compared by: the task's hash, plus whatever option shapes
        items at this destination (so changing that option rewrites what already stands)."""
        return task.content_hash

    def lookup(self, tasks: Sequence[Task]) -> Mapping[str, Found] | None:
        """Which of these tasks already stand at the destination, by task key.

        The sync engine asks before re-sending a write whose outcome it never learnt (a
        killed run, a lost answer) and before the first write to a target it has no state
        for, so nothing is created twice. Report items that exist (live or completed by the
        person), not deleted or cancelled ones. None means this exporter cannot tell.
        """
        return None

    def completions(self, tasks: Sequence[SyncedTask]) -> Mapping[str, datetime]:
        """Which of these tasks the person checked off at the destination, and when (aware).

        `followup sync` asks before planning and writes each one into its record, exactly
        as `followup done` would; a completion already taken in is not taken again, so a
        later `followup done --undo` wins. Empty when the destination cannot tell.
        """
        return {}

    def publish(self, tasks: Iterable[SyncedTask]) -> None:
        """After a run: every task now known at this target, for whole-file exporters."""

    def describe(self, change: Change) -> str:
        """The operation a dry run shows for a change."""
        return f"{change.action} {change.task.key}"

    def close(self) -> None:
        """Release connections."""

    @classmethod
    def auth_command(cls) -> Any | None:
        """A Click command mounted as `followup auth <name>`, for exporters with a secret."""
        return None
