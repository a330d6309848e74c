"""The plans and the feed of the samples, pinned byte for byte: speed work on the planner,
the drafts, the sync engine or the feed must not change a single task or feed line.

Each figure is the SHA-256 of what was produced before that work began; when a change is
meant to alter the output, print the new figures with `pinned_figures()` and say why in the
commit."""

from __future__ import annotations

import hashlib
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from followup_ics.feed import FeedBuilder

from followup.config import Settings, load_settings, state_dir
from followup.planner import plan_record
from followup.record import load_record

SAMPLES = Path(__file__).parent.parent / "samples"
NOW = datetime.fromisoformat("2026-11-20T19:00:00-05:00")
NOWS = {"now": NOW, "forty days on": NOW + timedelta(days=40)}  # the feed window moves
STAMPS = re.compile(rb"^(DTSTAMP|CREATED|LAST-MODIFIED)[:;][^\r\n]*", re.MULTILINE)

PINNED = {
    "plan do-not-contact-hooli.yaml, default": "ac5a31021370d54e9645c774c66d80bc",
    "plan later-round-stark.yaml, default": "b81a1c362bb070f8dc28be15fff43985",
    "plan onsite-acme.yaml, default": "c353e5dedf564c6d7182170a1e703223",
    "plan phone-screen-globex.yaml, default": "7cb9f9c59b302e9eba8db604a3817a4f",
    "plan recruiter-initech.toml, default": "bda0f86d3f81a210073194113dd42395",
    "plan sales-umbrella.yaml, default": "7327ff9264b69dfd3a9894aeffb46a7f",
    "plan withdrawn-vandelay.yaml, default": "486b2e1a0319b42207cad0b66e35869a",
    "feed, default, now": "e13faec3a92589c5b3defdc2673b34e4",
    "feed, default, forty days on": "1898cbc96270b6610645774b4b8d7811",
    "plan do-not-contact-hooli.yaml, sample config": "9e908f87c3323ee2042a9718cbd0732a",
    "plan later-round-stark.yaml, sample config": "51635a557d47788fc81fdbb4802a9e4a",
    "plan onsite-acme.yaml, sample config": "66c7d87d930feaa379d211468cab8e2f",
    "plan phone-screen-globex.yaml, sample config": "37153d4bfe3661e2eddf911a02fff9fc",
    "plan recruiter-initech.toml, sample config": "443c1d349f3892eb3c213726a4877e33",
    "plan sales-umbrella.yaml, sample config": "e4717a28c703d2d31dbd1fefc7ce072c",
    "plan withdrawn-vandelay.yaml, sample config": "d0dc75530ed895c0364a55ab14694047",
    "feed, sample config, now": "d976bda3bd849cfb4f778aedd4bdc409",
    "feed, sample config, forty days on": "d0fae2e43d6c81dcce2279bc06b20901",
}


def _settings() -> dict[str, Settings]:
    return {"default": Settings(), "sample config": load_settings(SAMPLES / "config.toml")}


def _plan_digest(path: Path, settings: Settings, now: datetime) -> str:
    lines = [
        f"{task.key} {task.content_hash}" for task in plan_record(load_record(path), settings, now)
    ]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:32]


def _feed_digest(folder: Path, settings: Settings, now: datetime) -> str:
    result = FeedBuilder(folder, settings, state_dir() / "state.db").build(now)
    assert result.ok
    # The stamps are the wall clock of the build (not `now`): everything else is pinned.
    return hashlib.sha256(STAMPS.sub(rb"\1:-", result.data)).hexdigest()[:32]


def pinned_figures(tmp_path: Path) -> dict[str, str]:
    figures = {}
    records = sorted(p for p in SAMPLES.iterdir() if p.name != "config.toml")
    for settings_name, settings in _settings().items():
        for path in records:
            figures[f"plan {path.name}, {settings_name}"] = _plan_digest(path, settings, NOW)
        for now_name, now in NOWS.items():
            folder = tmp_path / f"{settings_name} {now_name}"
            folder.mkdir()
            for path in records:
                shutil.copy(path, folder / path.name)
            figures[f"feed, {settings_name}, {now_name}"] = _feed_digest(folder, settings, now)
    return figures


def test_plans_and_feed_of_the_samples_are_unchanged(tmp_path: Path) -> None:
    figures = pinned_figures(tmp_path)
    assert {name: figures[name] for name in PINNED} == PINNED
    assert set(figures) == set(PINNED)
