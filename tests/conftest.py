"""Shared fixtures: no test touches $HOME or reads the clock."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from followup.state import StateStore


@pytest.fixture(autouse=True)
def followup_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "followup-home"
    monkeypatch.setenv("FOLLOWUP_HOME", str(home))
    monkeypatch.setenv("FOLLOWUP_NO_KEYRING", "1")
    for name in (
        "TODOIST_API_TOKEN",
        "FOLLOWUP_NOW",
        "FOLLOWUP_GOOGLE_API_URL",
        "FOLLOWUP_GOOGLE_TOKEN_URI",
        "FOLLOWUP_TODOIST_API_URL",
        "FOLLOWUP_CALDAV_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    yield home


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    """A state store of the test's own."""
    state = StateStore(tmp_path / "state" / "state.db")
    yield state
    state.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A job-search folder holding a copy of every sample record."""
    samples = Path(__file__).parent.parent / "samples"
    records = tmp_path / "job-search"
    records.mkdir()
    for path in samples.iterdir():
        if path.name != "config.toml":
            shutil.copy(path, records / path.name)
    return records


@pytest.fixture
def todoist(tmp_path: Path) -> Iterator[Any]:
    """The Todoist exporter's test backend over a fake Todoist on 127.0.0.1."""
    from backends.todoist import backend

    with backend(tmp_path) as made:
        yield made


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Standard input counts as a terminal, so `new` and `init` ask their questions
    (CliRunner's input is a pipe; tests/test_guided.py also drives a real pty)."""
    monkeypatch.setattr("followup.answers.stdin_is_terminal", lambda: True)
