"""An in-memory destination: the reference the exporter contract is checked against first."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from backends.base import RemoteItem
from followup.errors import ExportFailed
from followup.exporter import Change, ExportContext, Exporter, Found, Outcome
from followup.tasks import Task


class MemoryRemote:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(1)
        self.writes = 0
        self.allowed_writes: int | None = None

    def write(self) -> None:
        if self.allowed_writes is not None:
            if self.allowed_writes <= 0:
                raise ExportFailed("memory remote is down; run the same command again later")
            self.allowed_writes -= 1
        self.writes += 1


class MemoryExporter(Exporter):
    name: ClassVar[str] = "memory"
    batch_size: ClassVar[int] = 7  # small, so batching is exercised
    remote: ClassVar[MemoryRemote]

    def apply(self, changes: Sequence[Change]) -> Iterator[Outcome]:
        for change in changes:
            self.remote.write()
            task = change.task
            if change.action == "cancel":
                self.remote.items.pop(change.remote.remote_id if change.remote else "", None)
                yield Outcome(change, remote_id=change.remote.remote_id if change.remote else None)
                continue
            remote_id = (
                change.remote.remote_id
                if change.action == "update" and change.remote
                else f"m{next(self.remote.ids)}"
            )
            self.remote.items[remote_id] = {
                "key": task.key,
                "title": task.title,
                "start": task.start,
                "hash": task.content_hash,
            }
            yield Outcome(change, remote_id=remote_id)

    def lookup(self, tasks: Sequence[Task]) -> Mapping[str, Found]:
        wanted = {task.key for task in tasks}
        return {
            item["key"]: Found(remote_id, content_hash=item["hash"])
            for remote_id, item in self.remote.items.items()
            if item["key"] in wanted
        }


class MemoryBackend:
    def __init__(self, tmp_path: Path) -> None:
        self.remote = MemoryRemote()
        self.tmp_path = tmp_path

    def make_exporter(self) -> Exporter:
        exporter_class = type("BoundMemoryExporter", (MemoryExporter,), {"remote": self.remote})
        return exporter_class({}, ExportContext(state_dir=self.tmp_path))

    def remote_items(self) -> dict[str, RemoteItem]:
        from backends.base import iso_start

        return {
            item["key"]: RemoteItem(item["key"], item["title"], iso_start(item["start"]))
            for item in self.remote.items.values()
        }

    def live_count(self) -> int:
        return len(self.remote.items)

    def write_requests(self) -> int:
        return self.remote.writes

    def fail_after(self, writes: int) -> None:
        self.remote.allowed_writes = writes

    def heal(self) -> None:
        self.remote.allowed_writes = None


@contextmanager
def backend(tmp_path: Path) -> Iterator[MemoryBackend]:
    yield MemoryBackend(tmp_path)
