"""What the shared exporter contract tests need from each destination's test backend.

A backend module (tests/backends/<name>.py) exposes `backend(tmp_path)`: a context manager
yielding a `Backend`. Fakes behind it run on 127.0.0.1; nothing reaches the internet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from followup.exporter import Exporter


@dataclass(frozen=True)
class RemoteItem:
    """A task as the destination now shows it to the person (live items only)."""

    key: str
    title: str
    start: str  # ISO 8601 of the instant (datetime) or the day (all-day)


class Backend(Protocol):
    def make_exporter(self) -> Exporter:
        """A fresh exporter instance, as a new `followup export` process would build."""

    def remote_items(self) -> dict[str, RemoteItem]:
        """Every live (not cancelled, deleted or completed) item there, by task key."""

    def live_count(self) -> int:
        """How many live items the destination holds in all (duplicates would show here)."""

    def write_requests(self) -> int:
        """How many writes the destination has received so far (files written, POSTs, …)."""

    def fail_after(self, writes: int) -> None:
        """From now on, let `writes` more writes succeed, then fail every write (until reset)."""

    def heal(self) -> None:
        """Stop failing."""


def iso_start(value: object) -> str:
    """How RemoteItem.start spells a task's start: the UTC instant, or the day."""
    from datetime import UTC, date, datetime

    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    assert isinstance(value, date)
    return value.isoformat()
