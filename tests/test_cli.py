"""The command line as a user meets it: records, errors, `new`, `plan`, start-up imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from followup.cli import cli

ROOT = Path(__file__).parent.parent
SAMPLES = ROOT / "samples"
MALFORMED = sorted((Path(__file__).parent / "malformed").iterdir())
NOW = "2026-11-20T19:00:00-05:00"


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--now", NOW, *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def test_the_malformed_corpus_is_large_enough() -> None:
    assert len(MALFORMED) >= 25


@pytest.mark.parametrize("path", MALFORMED, ids=[p.name for p in MALFORMED])
def test_each_malformed_record_exits_2_with_one_line_naming_file_and_field(path: Path) -> None:
    code, out, err = run("plan", str(path))
    assert code == 2, out + err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) < 300
    assert lines[0].startswith(f"followup: {path}: ")
    assert "Traceback" not in err


def test_messages_name_the_field_path() -> None:
    _, _, err = run("validate", str(Path(__file__).parent / "malformed" / "08-bad-datetime.yaml"))
    assert "interviews[0].at: not a date-time" in err


def test_validate_accepts_every_sample() -> None:
    samples = sorted(SAMPLES.glob("*.yaml")) + sorted(SAMPLES.glob("*.toml"))
    code, out, _ = run("validate", *map(str, [s for s in samples if s.name != "config.toml"]))
    assert code == 0 and out.count(": ok (") == 7


def test_plan_prints_a_timeline() -> None:
    code, out, _ = run("plan", str(SAMPLES / "onsite-acme.yaml"))
    assert code == 0
    assert "Fri 2026-11-20 19:00 EST   Send a thank-you note to Jane Doe" in out
    assert "Fri 2026-12-04 10:00 EST   Check in with Acme Corp" in out


def test_plan_json_uses_the_documented_field_names() -> None:
    code, out, _ = run("plan", "--json", str(SAMPLES / "onsite-acme.yaml"))
    assert code == 0
    [entry] = json.loads(out)
    assert entry["record"] == "acme-backend-2026-11"
    documented = {
        "key",
        "rule",
        "title",
        "kind",
        "start",
        "due",
        "duration_minutes",
        "all_day",
        "priority",
        "labels",
        "people",
        "channel",
        "late",
        "status",
        "body",
    }
    for task in entry["tasks"]:
        assert documented <= set(task)
    first = entry["tasks"][0]
    assert first["start"] == "2026-11-20T19:00:00-05:00" and first["status"] == "planned"


def test_new_by_flags_writes_a_record_that_validates_and_plans(tmp_path: Path) -> None:
    target = tmp_path / "acme.yaml"
    code, out, err = run(
        "new",
        "--company",
        "Acme Corp",
        "--role",
        "Backend Engineer",
        "--timezone",
        "America/New_York",
        "--at",
        "2026-11-20 14:00",
        "--interviewer",
        "Jane Doe <jane@acme.example>: billing; on-call",
        "--interviewer",
        "Raj Patel",
        "--decision-by",
        "2026-12-01",
        "-o",
        str(target),
    )
    assert code == 0, err
    assert run("validate", str(target))[0] == 0
    code, out, _ = run("plan", "--json", str(target))
    tasks = json.loads(out)[0]["tasks"]
    assert json.loads(out)[0]["record"] == "acme-corp-backend-engineer-2026-11"
    assert {t["key"].split("/", 1)[1] for t in tasks} >= {"thank-you/jane-doe", "check-in"}
    assert (
        run(
            "new",
            "--company",
            "Acme Corp",
            "--role",
            "Backend Engineer",
            "--timezone",
            "UTC",
            "--at",
            "2026-11-20 14:00",
            "--interviewer",
            "X",
            "-o",
            str(target),
        )[0]
        == 2
    )  # never overwrites without --force


def test_new_by_answering_its_prompts(tmp_path: Path, terminal: None) -> None:
    target = tmp_path / "initech.yaml"
    answers = "\n".join(
        [
            "Initech",
            "Platform Engineer",
            "Europe/Berlin",
            "2026-11-19 15:00",
            "",  # length: 60m
            "",  # kind: video
            "Lena Fischer <lena@initech.example>: relocation",
            "",
            "",  # how you could help Lena: nothing
            "2026-11-26",
            "",  # may call: no
            "email",
            "",  # nothing forgotten
            "",
        ]
    )
    code, _, err = run("new", "-o", str(target), input=answers)
    assert code == 0, err
    assert run("validate", str(target))[0] == 0
    assert "Lena Fischer" in target.read_text()


def test_new_rejects_bad_input_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "bad.yaml"
    code, _, err = run(
        "new",
        "--company",
        "A",
        "--role",
        "B",
        "--timezone",
        "Mars/Base",
        "--at",
        "2026-11-20 14:00",
        "--interviewer",
        "X",
        "-o",
        str(target),
    )
    assert code == 2 and "timezone" in err and not target.exists()


def test_schema_is_json_schema() -> None:
    code, out, _ = run("schema")
    schema = json.loads(out)
    assert code == 0 and schema["$schema"].startswith("https://json-schema.org/")
    assert "InterviewRecord" in schema["$defs"]


def test_draft_for_one_interviewer() -> None:
    code, out, _ = run("draft", str(SAMPLES / "onsite-acme.yaml"), "--interviewer", "raj patel")
    assert code == 0 and "Dear Raj" in out and "Dear Jane" not in out
    code, _, err = run("draft", str(SAMPLES / "onsite-acme.yaml"), "--interviewer", "Nobody")
    assert code == 2 and "Nobody" in err


def test_every_command_has_help_with_an_example() -> None:
    for name, command in cli.commands.items():
        code, out, _ = run(name, "--help")
        assert code == 0 and "Example" in out, name
        assert command.help


def test_version() -> None:
    code, out, _ = run("--version")
    assert code == 0 and "followup" in out


SDK_PREFIXES = (
    "googleapiclient",
    "google_auth_oauthlib",
    "todoist_api_python",
    "httpx",
    "followup_ics",
    "followup_google",
    "followup_todoist",
    "icalendar",
    "holidays",
)


@pytest.mark.parametrize("args", [["--help"], ["plan", "samples/onsite-acme.yaml"]])
def test_help_and_plan_import_no_exporter_or_sdk(args: list[str]) -> None:
    script = (
        "import sys\nfrom followup.cli import cli\n"
        "try:\n    cli(sys.argv[1:], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {SDK_PREFIXES!r}))\n"
    )
    env = {**os.environ, "FOLLOWUP_NOW": NOW}
    # A warm holiday cache is the normal state after the first run.
    subprocess.run(
        [sys.executable, "-c", script, "plan", "samples/onsite-acme.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=True,
    )
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


hostile_text = st.text(
    st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300
) | st.sampled_from(["END:VEVENT", "a\r\nBEGIN:VCALENDAR", "\u202eevil", "😀" * 50, "x" * 10_000])
zones = st.sampled_from(
    [
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
        "Pacific/Chatham",
        "America/Sao_Paulo",
        "UTC",
        "Nope/No",
    ]
)


@settings(max_examples=60, deadline=None)
@given(
    company=hostile_text,
    person=hostile_text,
    topic=hostile_text,
    zone=zones,
    at=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31)),
)
def test_hostile_text_and_zones_never_crash_loader_or_planner(
    company: str, person: str, topic: str, zone: str, at: datetime
) -> None:
    from followup.config import Settings
    from followup.errors import UserError
    from followup.planner import plan_record
    from followup.record import record_from_data

    data = {
        "id": "hostile",
        "company": company,
        "role": "Engineer",
        "timezone": zone,
        "interviews": [{"at": str(at)[:16], "interviewers": [{"name": person, "topics": [topic]}]}],
        "contact": {"channel": "phone", "phone": topic},
    }
    try:
        record = record_from_data(Path("hostile.yaml"), data)
    except UserError as error:
        assert str(error).startswith("hostile.yaml: ")
        return
    tasks = plan_record(record, Settings(), at.replace(tzinfo=record.zone))
    assert tasks and len({task.key for task in tasks}) == len(tasks)


def test_an_unconfigured_destination_says_what_to_do_in_one_line(tmp_path: Path) -> None:
    code, out, err = run("export", str(SAMPLES / "onsite-acme.yaml"), "--to", "todoist")
    assert code == 1 and out == ""
    assert err.strip() == (
        "followup: todoist: no Todoist token: run `followup auth todoist` or set TODOIST_API_TOKEN"
    )


def test_dry_run_changes_nothing(tmp_path: Path, followup_home: Path) -> None:
    out_dir = tmp_path / "out"
    code, out, _ = run(
        "export", str(SAMPLES / "onsite-acme.yaml"), "--to", "ics", "-o", str(out_dir), "--dry-run"
    )
    assert code == 0 and out.count("would create") == 11
    assert out.strip().endswith("would be 11 created, 0 updated, 0 cancelled, 0 unchanged")
    assert not out_dir.exists() and not (followup_home / "state" / "state.db").exists()
