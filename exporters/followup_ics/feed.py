"""The calendar feed: one calendar from every record in a folder, for subscribing once.

The feed is the ics exporter's state at the target `feed:<folder>`: every record is
planned and synced like an export (so SEQUENCE, DTSTAMP and LAST-MODIFIED come from the
state store, an edit raises SEQUENCE and a withdrawn or deleted record's items become
CANCELLED), then all items inside the time window are rendered as one VCALENDAR.

A `FeedBuilder` is incremental: it re-reads only record files whose stat signature
changed, re-plans only those whose content changed (or all, on a new planning day), syncs
only those records, and reuses rendered components, so a rebuild after one edit costs
about one record, and a build with nothing changed returns the previous result. Given a
`result_dir`, the last result is also kept on disk, keyed on every file's content, the
settings, the options, the planning day and the feed's state rows, so a new process
(`followup feed`) with nothing changed only reads and hashes the folder. Time is always
passed in (`now`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import time as clock
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import followup
from followup.config import Settings, private_dir, write_atomically
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
    "wall_ns",
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

# (inode, mtime_ns, ctime_ns, size) of a file: any write, even one that puts the mtime
# back, moves the ctime, so an equal signature means the content need not be read again.
Signature = tuple[int, int, int, int]
# A file read within this long of its last change may have changed again within the same
# timestamp tick, unseen by its signature: it is read once more when this much has passed.
SETTLE_NS = 2_000_000_000
RESULT_FORMAT = 1  # of the result kept on disk; a new layout is a new number
_TICK = timedelta(microseconds=1)


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
    built_at: datetime | None = None  # the `now` it was built for
    fresh_until: datetime | None = None  # when an item next ages out of the window

    @property
    def ok(self) -> bool:
        return not self.skipped

    def fresh(self, now: datetime) -> bool:
        """Whether the same inputs still give these bytes at `now` (a later time, same day)."""
        if self.built_at is None or not self.built_at <= now:
            return False
        if now.date() != self.built_at.date():  # a new planning day
            return False
        return self.fresh_until is None or now < self.fresh_until


def target_of(folder: Path) -> str:
    """The state store's target for the feed of `folder`."""
    return f"feed:{folder}"


class FeedExporter(Exporter):
    """The ics exporter's bookkeeping at a feed target; rendering is the builder's job."""

    name = "ics"
    description = "the calendar feed of a folder of records"
    local = True  # an item stands in the feed the moment its row is written

    def __init__(self, folder: Path, now: datetime, context: ExportContext) -> None:
        super().__init__({}, context)
        self.folder = folder
        self.now = now
        self.published: list[SyncedTask] = []

    @property
    def target(self) -> str:
        return target_of(self.folder)

    def apply(self, changes: Sequence[Change]) -> Iterator[Outcome]:
        for change in changes:
            yield Outcome(
                change, remote_id=uid_for(change.task.key), extra={CHANGED_AT: self.now.isoformat()}
            )

    def publish(self, tasks: Iterable[SyncedTask]) -> None:
        self.published = list(tasks)


@dataclass
class _Plan:
    digest: str  # of the file's bytes
    day: date  # the planning day
    record: str
    # Both None: planned by an earlier process (the kept feed), as its state rows stand.
    tasks: list[Task] | None
    loaded: InterviewRecord | None


@dataclass
class FeedBuilder:
    """Builds the feed of `folder` again and again, redoing only what changed."""

    folder: Path
    settings: Settings
    state_path: Path
    options: FeedOptions = field(default_factory=FeedOptions)
    result_dir: Path | None = None  # where the last result is kept for the next process
    # Per file: its signature, the digest of its bytes, and when (wall-clock ns) to read it
    # once more because it was read too soon after a change (None: read after it settled).
    _digests: dict[Path, tuple[Signature, str, int | None]] = field(
        default_factory=dict, init=False
    )
    _plans: dict[Path, _Plan] = field(default_factory=dict, init=False)
    _items: dict[str, list[FeedItem]] | None = field(default=None, init=False)
    _zones: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict, init=False)
    _components: dict[Hashable, str] = field(default_factory=dict, init=False)
    # The last result and what it was made from (records shown, options).
    _last: tuple[FeedResult, frozenset[str], FeedOptions] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.folder = self.folder.expanduser().resolve()

    def signature(self) -> dict[Path, Signature]:
        """Each record file of the folder with its (inode, mtime_ns, ctime_ns, size)."""
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
            files[path] = (info.st_ino, info.st_mtime_ns, info.st_ctime_ns, info.st_size)
        return files

    @property
    def recheck_at(self) -> int | None:
        """When (wall-clock ns) a file read just after a change must be read once more."""
        return min((at for _, _, at in self._digests.values() if at is not None), default=None)

    def build(self, now: datetime, files: dict[Path, Signature] | None = None) -> FeedResult:
        """The feed as of `now`; syncs the state of this folder's feed target on the way."""
        files = self.signature() if files is None else files
        digests = self._read(files)
        inputs = self._inputs(now) if self.result_dir is not None else None
        if self._items is None:
            kept = self._first_build(inputs, digests, now)
            if kept is not None:
                return kept
        plans, changed, skipped = self._plan(digests, now)
        assert self._items is not None
        # A record whose file is gone is cancelled; unless a file failed to load, as it
        # may be that very record.
        deleted = set() if skipped else set(self._items) - set(plans)
        scope = changed | deleted
        last = self._last
        if (
            not scope
            and last is not None
            and last[0].fresh(now)
            and last[0].skipped == tuple(skipped)
            and last[1] == frozenset(plans)
            and last[2] == self.options
        ):
            return last[0]  # nothing changed: the same bytes, not even rendered again
        report = None
        if scope:
            store = StateStore(self.state_path)
            try:
                exporter = FeedExporter(self.folder, now, ExportContext(self.state_path.parent))
                tasks = [task for record in changed for task in plans[record].tasks or ()]
                report = sync(tasks, scope, exporter, store)
            finally:
                store.close()
            self._update({record: [] for record in scope} | _by_record(exporter.published))
        result = self._render(now, len(plans), tuple(skipped), report)
        self._last = (replace(result, report=None), frozenset(plans), self.options)
        if inputs is not None and (report is None or report.ok):
            self._keep(inputs, digests, result)
        return result

    def _first_build(
        self, inputs: str | None, digests: dict[Path, str | None], now: datetime
    ) -> FeedResult | None:
        """The result kept on disk, if made from the same inputs and still fresh. Else load
        the items this target already has, to build on; and if only some files changed
        since, take the others' plans as the state holds them, not to plan them again."""
        store = StateStore(self.state_path)
        try:
            name, target = FeedExporter.name, target_of(self.folder)
            kept = None
            if inputs is not None:
                kept = _Kept.read(self._result_path(), inputs, store.digest(name, target))
            if kept is not None:
                if kept.digests == digests and kept.result.fresh(now):
                    return kept.result
                for path, record in kept.records.items():  # `_plan` redoes those whose digest moved
                    self._plans[path] = _Plan(kept.digests[path], now.date(), record, None, None)
            self._items = {}
            self._update(_by_record(store.rows(name, target)))
        finally:
            store.close()
        return None

    def _read(self, files: dict[Path, Signature]) -> dict[Path, str | None]:
        """Each file's content digest (None: unreadable), read only where its signature moved."""
        for path in [path for path in self._digests if path not in files]:
            del self._digests[path]
        digests: dict[Path, str | None] = {}
        wall = wall_ns()
        for path, signature in files.items():
            known = self._digests.get(path)
            due = known is not None and known[2] is not None and known[2] <= wall
            if known is None or known[0] != signature or due:
                digest = _file_digest(path)
                if digest is None:
                    self._digests.pop(path, None)
                    digests[path] = None
                    continue
                settles = signature[2] + SETTLE_NS  # its ctime, plus the margin
                known = (signature, digest, settles if wall < settles else None)
                self._digests[path] = known
            digests[path] = known[1]
        return digests

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
        self, digests: dict[Path, str | None], now: datetime
    ) -> tuple[dict[str, _Plan], set[str], list[str]]:
        """Plans by record id, the ids whose plan was (re)made, and load errors."""
        plans: dict[str, _Plan] = {}
        origin: dict[str, Path] = {}
        changed: set[str] = set()
        skipped: list[str] = []
        day = now.date()
        for path in [path for path in self._plans if path not in digests]:
            del self._plans[path]
        for path, digest in digests.items():
            cached = self._plans.get(path)
            if cached is None or digest is None or cached.digest != digest or cached.day != day:
                try:
                    record = load_record(path)
                    tasks = plan_record(record, self.settings, now)
                except FollowupError as error:
                    self._plans.pop(path, None)
                    skipped.append(str(error))
                    continue
                # An unreadable file that then loads is planned again next time (digest "").
                cached = _Plan(digest or "", day, record.id, tasks, record)
                self._plans[path] = cached
                changed.add(cached.record)
            if cached.record in origin:
                skipped.append(
                    f"{path}: id: {cached.record!r} is also the id of {origin[cached.record]}"
                )
                continue
            origin[cached.record] = path
            plans[cached.record] = cached
        return plans, changed & set(plans), skipped

    def _result_path(self) -> Path:
        assert self.result_dir is not None
        return self.result_dir / f"{hashlib.sha256(str(self.folder).encode()).hexdigest()[:32]}.ics"

    def _inputs(self, now: datetime) -> str:
        """What plans and the feed's bytes depend on, besides the files and the state rows."""
        inputs = {
            "format": RESULT_FORMAT,
            "code": _code_signature(),
            "folder": str(self.folder),
            "settings": repr(self.settings),
            "templates": _folder_digest(self.settings.templates_dir),
            "options": repr(self.options),
            "day": now.date().isoformat(),
            "zone": str(now.tzinfo),
        }
        return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()

    def _keep(self, inputs: str, digests: dict[Path, str | None], result: FeedResult) -> None:
        """Keep `result` on disk for the next process; it is only a cache, so never fail."""
        readable = {path: digest for path, digest in digests.items() if digest is not None}
        if len(readable) != len(digests):  # an unreadable file: nothing to key it on
            return
        store = StateStore(self.state_path)
        try:
            state = store.digest(FeedExporter.name, target_of(self.folder))
        finally:
            store.close()
        records = {path: plan.record for path, plan in self._plans.items()}
        with contextlib.suppress(OSError):  # only a cache: the next run builds in full
            _Kept(inputs, state, readable, records, result).write(self._result_path())

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
            built_at=now,
            fresh_until=min((_ages_out(item, self.options, now) for item in shown), default=None),
        )

    def items(self) -> list[FeedItem]:
        """Every item the feed target holds, as of the last build (before the window)."""
        grouped = self._items
        if grouped is None:  # the last build came from disk
            store = StateStore(self.state_path)
            try:
                grouped = _by_record(store.rows(FeedExporter.name, target_of(self.folder)))
            finally:
                store.close()
        return [item for items in grouped.values() for item in items]

    def records(self) -> dict[str, tuple[Path, InterviewRecord]]:
        """Each loaded record and its file by id, as of the last build (the agenda shows
        status and zone, and writes what the person marks done into the file)."""
        return {
            plan.record: (path, plan.loaded)
            for path, plan in self._plans.items()
            if plan.loaded is not None
        }


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


def _ages_out(item: FeedItem, options: FeedOptions, now: datetime) -> datetime:
    """The first instant `_in_window` drops a shown item (nothing shown comes back later)."""
    end = item.end
    # An all-day item is shown while its end is on or after the window's first day.
    last = end if isinstance(end, datetime) else _instant(end + timedelta(days=1), now) - _TICK
    leaves = last + timedelta(days=options.window_days) + _TICK
    if item.task.status == "cancelled":
        since = item.changed_at or item.stamp
        leaves = min(leaves, since + timedelta(days=options.keep_cancelled_days) + _TICK)
    return leaves


def _instant(when: datetime | date, reference: datetime) -> datetime:
    """An all-day date as midnight in the zone of `reference` (the user's now)."""
    if isinstance(when, datetime):
        return when
    return datetime.combine(when, time(), reference.tzinfo)


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


def _file_digest(path: Path) -> str | None:
    """The SHA-256 of a regular file's bytes; None when it cannot be read as one."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO put in its place won't hang
    except OSError:
        return None
    with os.fdopen(fd, "rb") as stream:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return hashlib.file_digest(stream, "sha256").hexdigest()
        except OSError:
            return None


def wall_ns() -> int:
    """The wall clock, as file times are kept (not the injected `now`)."""
    return clock.time_ns()


def _folder_digest(folder: Path | None) -> str:
    """The digest of the files of a folder (the user's templates); "" when there is none."""
    try:
        paths = sorted(path for path in folder.iterdir() if path.is_file()) if folder else []
    except OSError:
        return ""
    return hashlib.sha256(
        json.dumps([(path.name, _file_digest(path)) for path in paths]).encode()
    ).hexdigest()


def _code_signature() -> list[tuple[str, int, int]]:
    """The installed code that plans and renders: an upgrade makes a new feed."""
    files = []
    for package in (Path(followup.__file__).parent, Path(__file__).parent):
        for path in sorted(package.rglob("*")):
            if path.suffix in (".py", ".txt", ".toml", ".yaml", ".json"):
                info = path.stat()
                files.append((str(path), info.st_mtime_ns, info.st_size))
    return files


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@dataclass(frozen=True)
class _Kept:
    """The last result of a folder's feed on disk: a JSON header line, then the calendar."""

    inputs: str
    state: str  # the digest of the feed target's state rows after the build
    digests: Mapping[Path, str]  # of every record file
    records: Mapping[Path, str]  # the record id of each file that loaded
    result: FeedResult

    @classmethod
    def read(cls, path: Path, inputs: str, state: str) -> _Kept | None:
        """What is kept at `path`, if made from the same inputs and state rows."""
        try:
            with path.open("rb") as stream:
                meta = json.loads(stream.readline())
                if meta.get("inputs") != inputs or meta.get("state") != state:
                    return None
                body = stream.read()
            if len(body) != meta["size"]:  # cut short
                return None
            return cls(
                inputs,
                state,
                {Path(name): digest for name, digest in meta["digests"].items()},
                {Path(name): record for name, record in meta["records"].items()},
                FeedResult(
                    data=body,
                    items=meta["items"],
                    records=meta["records_loaded"],
                    newest_change=_from_iso(meta["newest_change"]),
                    skipped=tuple(meta["skipped"]),
                    warnings=tuple(meta["warnings"]),
                    built_at=_from_iso(meta["built_at"]),
                    fresh_until=_from_iso(meta["fresh_until"]),
                ),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):  # damaged: build
            return None

    def write(self, path: Path) -> None:
        result = self.result
        header = {
            "inputs": self.inputs,
            "state": self.state,
            "digests": {str(path): digest for path, digest in self.digests.items()},
            "records": {str(path): record for path, record in self.records.items()},
            "size": len(result.data),
            "items": result.items,
            "records_loaded": result.records,
            "newest_change": _iso(result.newest_change),
            "skipped": list(result.skipped),
            "warnings": list(result.warnings),
            "built_at": _iso(result.built_at),
            "fresh_until": _iso(result.fresh_until),
        }
        private_dir(path.parent)
        write_atomically(path, json.dumps(header).encode() + b"\n" + result.data, 0o600)


def _from_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
