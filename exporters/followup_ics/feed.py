"""The calendar feed: one calendar from every record in a folder, for subscribing once.

The feed is the ics exporter's state at the target `feed:<folder>`: every record is
planned and synced like an export (so SEQUENCE, DTSTAMP and LAST-MODIFIED come from the
state store, an edit raises SEQUENCE and a withdrawn or deleted record's items become
CANCELLED), then all items inside the time window are rendered as one VCALENDAR.

A `FeedBuilder` is incremental: it re-reads and re-plans only record files whose
(inode, mtime, size) changed, syncs only those records, and reuses rendered components,
so a rebuild after one edit costs about one record. Time is always passed in (`now`).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from followup.config import Settings, write_atomically
from followup.errors import FollowupError, UserError
from followup.exporter import Change, ExportContext, Exporter, Outcome, SyncedTask
from followup.planner import plan_record
from followup.record import InterviewRecord, find_records, load_record
from followup.state import StateStore
from followup.sync import Report, sync
from followup.tasks import Task
from followup_ics.calendar import (
    CalendarItem,
    Component,
    render_calendar,
    uid_for,
    zones_needed,
)

__all__ = [
    "FeedBuilder",
    "FeedOptions",
    "FeedResult",
    "write_if_changed",
]

# Google Calendar stops refreshing subscriptions over about 1 MB; warn with a margin.
WARN_BYTES = 900_000
DEFAULT_NAME = "Interview follow-ups"
_DURATION = re.compile(r"P(?=\d|T\d)(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?")
_HEX_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_CSS_NAME = re.compile(r"[a-z]{3,20}")
# When the feed target last changed an item, by the injected clock (the state store's own
# updated_at is the wall clock, which `--now` does not move).
CHANGED_AT = "feed_changed_at"

Signature = tuple[int, int, int]  # (inode, mtime_ns, size) of a record file


@dataclass(frozen=True)
class FeedOptions:
    """What `[exporters.feed]` in the settings (or the command line) sets."""

    name: str = DEFAULT_NAME
    color: str = "teal"  # a CSS3 colour name (COLOR) or #RRGGBB (Apple's calendar colour)
    refresh: str = "PT1H"  # REFRESH-INTERVAL and X-PUBLISHED-TTL: how often clients re-fetch
    window_days: int = 30  # items that ended longer ago than this age out
    keep_cancelled_days: int = 14  # how long a cancelled item stays so subscribers drop it
    warn_bytes: int = WARN_BYTES
    url: str | None = None  # the public base URL the feed is reached at (for `feed-url`)

    @classmethod
    def from_settings(cls, values: Mapping[str, Any], **overrides: Any) -> FeedOptions:
        """Checked options from the settings file, with command-line values on top."""
        known = {name for name in cls.__dataclass_fields__ if name != "warn_bytes"}
        unknown = sorted(set(values) - known)
        if unknown:
            names = ", ".join(sorted(known))
            raise UserError(f"[exporters.feed]: unknown setting {unknown[0]!r} (known: {names})")
        merged = {**values, **{k: v for k, v in overrides.items() if v is not None}}
        options = cls(**merged)
        options.check()
        return options

    def check(self) -> None:
        if not _DURATION.fullmatch(self.refresh):
            raise UserError(f"feed refresh: not an ISO 8601 duration like PT1H: {self.refresh!r}")
        if not (_HEX_COLOR.fullmatch(self.color) or _CSS_NAME.fullmatch(self.color)):
            raise UserError(f"feed color: use a CSS colour name or #RRGGBB, not {self.color!r}")
        for name in ("window_days", "keep_cancelled_days"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise UserError(f"feed {name}: expected a whole number of days, not {value!r}")
        if not self.name.strip():
            raise UserError("feed name: must not be empty")

    def calendar_properties(self) -> list[tuple[str, str]]:
        """The VCALENDAR properties a subscribing client reads besides the name."""
        properties = [
            ("REFRESH-INTERVAL;VALUE=DURATION", self.refresh),
            ("X-PUBLISHED-TTL", self.refresh),
        ]
        if _HEX_COLOR.fullmatch(self.color):
            properties.append(("X-APPLE-CALENDAR-COLOR", self.color.upper()))
        else:
            properties.append(("COLOR", self.color))
            if self.color == "teal":
                properties.append(("X-APPLE-CALENDAR-COLOR", "#008080"))
        return properties


@dataclass(frozen=True, slots=True)
class FeedItem(CalendarItem):
    """A calendar item whose content hash is the one the state store already holds."""

    content_hash: str
    changed_at: datetime | None  # by the feed's clock; None in rows written elsewhere
    end: datetime | date  # the task's end, worked out once

    def cache_key(self, component: Component) -> Hashable:
        # Same key as CalendarItem's, without re-hashing the task on every render.
        return (component, self.content_hash, self.sequence, self.created, self.stamp)

    @classmethod
    def from_synced(cls, synced: SyncedTask) -> FeedItem:
        remote = synced.remote
        changed_at = remote.extra.get(CHANGED_AT)
        return cls(
            synced.task,
            remote.sequence,
            remote.created_at,
            remote.updated_at,
            content_hash=remote.content_hash,
            changed_at=datetime.fromisoformat(changed_at) if changed_at else None,
            end=synced.task.end,
        )


@dataclass(frozen=True)
class FeedResult:
    """One build: the calendar bytes and what the user should hear about it."""

    data: bytes
    items: int  # components in the calendar
    records: int  # records loaded from the folder
    newest_change: datetime | None  # the latest LAST-MODIFIED among the items
    skipped: tuple[str, ...] = ()  # one message per record file that failed to load
    warnings: tuple[str, ...] = ()
    report: Report | None = None  # what this build changed in the state

    @property
    def ok(self) -> bool:
        return not self.skipped


class FeedExporter(Exporter):
    """The ics exporter's bookkeeping at a feed target; rendering is the builder's job."""

    name = "ics"
    description = "the calendar feed of a folder of records"

    def __init__(self, folder: Path, now: datetime, context: ExportContext) -> None:
        super().__init__({}, context)
        self.folder = folder
        self.now = now
        self.published: list[SyncedTask] = []

    @property
    def target(self) -> str:
        return f"feed:{self.folder}"

    def apply(self, changes: Sequence[Change]) -> Iterator[Outcome]:
        for change in changes:
            yield Outcome(
                change, remote_id=uid_for(change.task.key), extra={CHANGED_AT: self.now.isoformat()}
            )

    def publish(self, tasks: Iterable[SyncedTask]) -> None:
        self.published = list(tasks)


@dataclass
class _Plan:
    signature: Signature
    record: str
    tasks: list[Task]
    loaded: InterviewRecord


@dataclass
class FeedBuilder:
    """Builds the feed of `folder` again and again, redoing only what changed."""

    folder: Path
    settings: Settings
    state_path: Path
    options: FeedOptions = field(default_factory=FeedOptions)
    _plans: dict[Path, _Plan] = field(default_factory=dict, init=False)
    _items: dict[str, list[FeedItem]] | None = field(default=None, init=False)
    _zones: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict, init=False)
    _components: dict[Hashable, str] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.folder = self.folder.expanduser().resolve()

    def signature(self) -> dict[Path, Signature]:
        """Each record file of the folder with its (inode, mtime_ns, size)."""
        try:
            paths = find_records(self.folder)
        except FileNotFoundError:
            raise UserError(f"{self.folder}: no such folder") from None
        except NotADirectoryError:
            raise UserError(f"{self.folder}: not a folder") from None
        files = {}
        for path in paths:
            try:
                info = path.stat()
            except FileNotFoundError:  # deleted between the listing and now
                continue
            files[path] = (info.st_ino, info.st_mtime_ns, info.st_size)
        return files

    def build(self, now: datetime, files: dict[Path, Signature] | None = None) -> FeedResult:
        """The feed as of `now`; syncs the state of this folder's feed target on the way."""
        files = self.signature() if files is None else files
        plans, changed, skipped = self._plan(files, now)
        store = StateStore(self.state_path)
        try:
            exporter = FeedExporter(self.folder, now, ExportContext(self.state_path.parent))
            if self._items is None:  # first build: every item this target already has
                self._items = {}
                self._update(_by_record(store.rows(exporter.name, exporter.target)))
            # A record whose file is gone is cancelled; unless a file failed to load, as it
            # may be that very record.
            deleted = set() if skipped else set(self._items) - set(plans)
            scope = changed | deleted
            tasks = [task for record in changed for task in plans[record]]
            report = sync(tasks, scope, exporter, store) if scope else None
        finally:
            store.close()
        if report is not None:
            self._update({record: [] for record in scope} | _by_record(exporter.published))
        return self._render(now, len(plans), tuple(skipped), report)

    def _update(self, grouped: dict[str, list[FeedItem]]) -> None:
        """Replace the items (and the zones they need) of the records in `grouped`."""
        assert self._items is not None
        for record, items in grouped.items():
            if items:
                self._items[record] = items
                self._zones[record] = zones_needed(item.task for item in items)
            else:
                self._items.pop(record, None)
                self._zones.pop(record, None)

    def _plan(
        self, files: dict[Path, Signature], now: datetime
    ) -> tuple[dict[str, list[Task]], set[str], list[str]]:
        """Plans by record id, the ids whose plan was (re)made, and load errors."""
        plans: dict[str, list[Task]] = {}
        origin: dict[str, Path] = {}
        changed: set[str] = set()
        skipped: list[str] = []
        for path in [path for path in self._plans if path not in files]:
            del self._plans[path]
        for path, signature in files.items():
            cached = self._plans.get(path)
            if cached is None or cached.signature != signature:
                try:
                    record = load_record(path)
                    cached = _Plan(
                        signature, record.id, plan_record(record, self.settings, now), record
                    )
                except FollowupError as error:
                    self._plans.pop(path, None)
                    skipped.append(str(error))
                    continue
                self._plans[path] = cached
                changed.add(cached.record)
            if cached.record in origin:
                skipped.append(
                    f"{path}: id: {cached.record!r} is also the id of {origin[cached.record]}"
                )
                continue
            origin[cached.record] = path
            plans[cached.record] = cached.tasks
        return plans, changed & set(plans), skipped

    def _render(
        self, now: datetime, records: int, skipped: tuple[str, ...], report: Report | None
    ) -> FeedResult:
        assert self._items is not None
        oldest_end = now - timedelta(days=self.options.window_days)
        oldest_cancel = now - timedelta(days=self.options.keep_cancelled_days)
        shown: list[FeedItem] = []
        zones: dict[str, tuple[int, int]] = {}
        for record, items in self._items.items():
            kept = [item for item in items if _in_window(item, oldest_end, oldest_cancel)]
            if kept:
                shown += kept
                for tzid, (first, last) in self._zones[record].items():
                    low, high = zones.get(tzid, (first, last))
                    zones[tzid] = (min(low, first), max(high, last))
        data = render_calendar(
            shown,
            name=self.options.name,
            extra_properties=self.options.calendar_properties(),
            cache=self._components,
            zones=zones,  # each record's, worked out when it changed: a pass over all saved
        )
        if len(self._components) > 2 * len(shown) + 100:  # forget components no longer shown
            keep = {item.cache_key("event") for item in shown}
            self._components = {k: v for k, v in self._components.items() if k in keep}
        warnings = []
        if len(data) > self.options.warn_bytes:
            warnings.append(
                f"the feed is {len(data) / 1e6:.1f} MB: Google Calendar ignores subscriptions "
                "over about 1 MB; lower window_days or keep_cancelled_days under "
                "[exporters.feed] in the settings"
            )
        return FeedResult(
            data=data,
            items=len(shown),
            records=records,
            newest_change=max((item.stamp for item in shown), default=None),
            skipped=skipped,
            warnings=tuple(warnings),
            report=report,
        )

    def items(self) -> list[FeedItem]:
        """Every item the feed target holds, as of the last build (before the window)."""
        return [item for items in (self._items or {}).values() for item in items]

    def records(self) -> dict[str, tuple[Path, InterviewRecord]]:
        """Each loaded record and its file by id, as of the last build (the agenda shows
        status and zone, and writes what the person marks done into the file)."""
        return {plan.record: (path, plan.loaded) for path, plan in self._plans.items()}


def _by_record(synced: Iterable[Any]) -> dict[str, list[FeedItem]]:
    """State rows or synced tasks (both have .task and .remote) grouped by record."""
    grouped: dict[str, list[FeedItem]] = {}
    for entry in synced:
        if entry.task is not None:
            grouped.setdefault(entry.task.record, []).append(
                FeedItem.from_synced(SyncedTask(entry.task, entry.remote))
            )
    return grouped


def _in_window(item: FeedItem, oldest_end: datetime, oldest_cancel: datetime) -> bool:
    end = item.end
    if isinstance(end, datetime):
        if end < oldest_end:
            return False
    elif end < oldest_end.date():  # an all-day end (exclusive) against the user's own date
        return False
    if item.task.status != "cancelled":
        return True
    return (item.changed_at or item.stamp) >= oldest_cancel


def write_if_changed(path: Path, data: bytes) -> bool:
    """Replace `path` atomically when its bytes differ; True when it was written."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data)
    return True
