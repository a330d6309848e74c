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
    "plan do-not-contact-hooli.yaml, default": "944d8d276878017419531bda56966d1b",
    "plan later-round-stark.yaml, default": "7279248c0cfb7581533b85b93c0fd8a6",
    "plan onsite-acme.yaml, default": "ed9220f2e1957d3407c630b2c9b28b42",
    "plan phone-screen-globex.yaml, default": "d069fc0c87b0202d936472d2fade9649",
    "plan recruiter-initech.toml, default": "a40e8edac8de41d22ee0556bc41ba100",
    "plan sales-umbrella.yaml, default": "bfc14739cd1eb353a150dbe0b7e0be08",
    "plan withdrawn-vandelay.yaml, default": "2ad51d271ad48e1189cd45a3419ab90a",
    "feed, default, now": "e13faec3a92589c5b3defdc2673b34e4",
    "feed, default, forty days on": "1898cbc96270b6610645774b4b8d7811",
    "plan do-not-contact-hooli.yaml, sample config": "4044ac2524a5763bda53e440c4b5f153",
    "plan later-round-stark.yaml, sample config": "d1be93bc0ede3fc4c1bdc7d42242da85",
    "plan onsite-acme.yaml, sample config": "70dafd9b945aa7ed64173dd91eeff11a",
    "plan phone-screen-globex.yaml, sample config": "bf36156d59ffb5d4700cd9eaf311c3aa",
    "plan recruiter-initech.toml, sample config": "a3ee2e89f3c3bd063d5ac1a840a326e4",
    "plan sales-umbrella.yaml, sample config": "01324c557798ecc3259192be7ceb2450",
    "plan withdrawn-vandelay.yaml, sample config": "37ef552588f97e62468141e7df5ff76c",
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
