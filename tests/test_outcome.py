"""`followup status`: the record file is updated in place, keeping the person's comments,
key order, blank lines and quoting byte for byte apart from the changed fields."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from followup.cli import cli
from followup.outcome import OutcomeChange, record_outcome
from followup.record import load_record

GOLDEN = Path(__file__).parent / "golden"
SAMPLES = Path(__file__).parent.parent / "samples"


def status(*args: str, now: str = "2026-12-12T09:00:00-06:00") -> str:
    result = CliRunner().invoke(cli, ["--now", now, "status", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_withdrawn_keeps_a_yaml_record_byte_for_byte_but_the_changed_fields(
    tmp_path: Path,
) -> None:
    record = tmp_path / "globex.yaml"
    shutil.copy(GOLDEN / "status-before.yaml", record)
    output = status(str(record), "withdrawn", "--note", "Chose a team closer to home; thanked Sam.")
    assert record.read_bytes() == (GOLDEN / "status-withdrawn.yaml").read_bytes()
    assert "status withdrawn since 2026-12-12" in output
    assert "Tell Globex you are withdrawing" in output  # re-planned on the spot


def test_heard_back_edits_only_those_toml_lines(tmp_path: Path) -> None:
    record = tmp_path / "initech.toml"
    shutil.copy(GOLDEN / "status-before.toml", record)
    status(
        str(record),
        "heard-back",
        "--decision-by",
        "2026-12-04",
        "--note",
        'Lena: "one more week"',
        now="2026-11-27T09:00:00+01:00",
    )
    assert record.read_bytes() == (GOLDEN / "status-heard-back.toml").read_bytes()
    loaded = load_record(record)
    assert loaded.decision.expected_by == date(2026, 12, 4)
    assert loaded.status_note == 'Lena: "one more week"'


@pytest.mark.parametrize(
    "sample", sorted(p.name for p in SAMPLES.iterdir() if p.name != "config.toml")
)
def test_every_sample_takes_every_outcome(tmp_path: Path, sample: str) -> None:
    record = tmp_path / sample
    for outcome in ("heard-back", "offer", "rejected", "withdrawn"):
        shutil.copy(SAMPLES / sample, record)
        change = OutcomeChange(outcome, date(2026, 11, 30), date(2026, 12, 20), "a: b # c\nd")
        updated = record_outcome(record, change)
        assert updated == load_record(record)
        assert (updated.status, updated.status_note) == (outcome, "a: b # c\nd")
        assert updated.decision.expected_by == date(2026, 12, 20)
        original = (SAMPLES / sample).read_text().splitlines()
        kept = [line for line in original if "status" not in line and "expected_by" not in line]
        assert all(line in record.read_text().splitlines() for line in kept)


def test_same_status_again_keeps_status_since(tmp_path: Path) -> None:
    record = tmp_path / "vandelay.yaml"
    shutil.copy(SAMPLES / "withdrawn-vandelay.yaml", record)
    before = record.read_bytes()
    record_outcome(record, OutcomeChange("withdrawn", date(2026, 12, 1)))
    assert record.read_bytes() == before


def test_json_record(tmp_path: Path) -> None:
    data = {
        "id": "json-rec-2026-11",
        "company": "J",
        "role": "R",
        "timezone": "UTC",
        "interviews": [{"at": "2026-11-20 10:00", "interviewers": [{"name": "A"}]}],
    }
    record = tmp_path / "j.json"
    record.write_text(json.dumps(data))
    updated = record_outcome(record, OutcomeChange("offer", date(2026, 11, 25), date(2026, 12, 1)))
    assert updated.status == "offer" and updated.status_since == date(2026, 11, 25)
    assert list(json.loads(record.read_text()))[:2] == ["id", "company"]


def test_a_bad_outcome_or_file_changes_nothing(tmp_path: Path) -> None:
    record = tmp_path / "acme.yaml"
    shutil.copy(SAMPLES / "onsite-acme.yaml", record)
    before = record.read_bytes()
    bad = CliRunner().invoke(cli, ["status", str(record), "hired"])
    assert bad.exit_code == 2
    early = CliRunner().invoke(
        cli, ["status", str(record), "heard-back", "--decision-by", "2020-01-01"]
    )
    assert early.exit_code == 2 and "decision.expected_by" in early.output
    assert record.read_bytes() == before


def test_status_alone_shows_state_and_each_destination(tmp_path: Path) -> None:
    record = tmp_path / "acme.yaml"
    shutil.copy(SAMPLES / "onsite-acme.yaml", record)
    now = ["--now", "2026-11-20T19:00:00-05:00"]
    out = tmp_path / "out"
    exported = CliRunner().invoke(cli, [*now, "export", str(record), "--to", "ics", "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    shown = status(str(record), now=now[1])
    assert "Acme Corp — Senior Backend Engineer: waiting" in shown
    assert f"ics ({out}): 11 pending, up to date" in shown
    status(str(record), "withdrawn", now=now[1])
    shown = status(str(record), now=now[1])
    assert f"ics ({out}): 11 pending, 12 change(s) waiting for `followup sync`" in shown
