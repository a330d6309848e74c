"""`new` and `init` as a person meets them: on a terminal every answer is checked as it is
typed and a wrong one is asked again (with a suggestion); without a terminal nothing is
asked and a missing value names its flag. Also the field errors of every command."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from followup.cli import cli
from followup.config import load_settings, settings_path

NOW = ["--now", "2026-11-25T19:00:00-05:00"]
INVITATIONS = Path(__file__).parent / "invitations"
SAMPLES = Path(__file__).parent.parent / "samples"


def run(*args: str, answers: list[str] | None = None) -> Result:
    given = "\n".join(answers) + "\n" if answers is not None else None
    return CliRunner().invoke(cli, [*NOW, *args], input=given)


# --- point 2: no terminal, no questions ------------------------------------------------


def test_new_without_a_terminal_asks_nothing_and_names_every_missing_flag(tmp_path: Path) -> None:
    result = run("new", "--company", "Acme", "-o", str(tmp_path / "a.yaml"))
    assert result.exit_code == 2
    assert "?" not in result.output  # no question was put
    message = result.stderr.strip()
    assert message.startswith("followup: missing --role, --timezone, --at, --interviewer")
    assert "not a terminal" in message and not (tmp_path / "a.yaml").exists()


def test_new_on_a_closed_stdin_exits_at_once(tmp_path: Path) -> None:
    home = {**os.environ, "FOLLOWUP_HOME": str(tmp_path)}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "followup", "new"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=home,
        timeout=60,
    )
    assert result.returncode == 2 and "--company" in result.stderr, result.stderr
    assert time.monotonic() - started < 60


def test_init_without_a_terminal_needs_only_a_name_and_never_replaces_unasked() -> None:
    missing = run("init")
    assert missing.exit_code == 2 and "--name" in missing.stderr
    assert not settings_path().exists()
    assert run("init", "--name", "Alex Morgan").exit_code == 0
    before = settings_path().read_bytes()
    again = run("init", "--name", "Someone Else")
    assert again.exit_code == 2 and "--force" in again.stderr
    assert settings_path().read_bytes() == before


# --- point 3: answers checked as typed ----------------------------------------------------


def test_new_asks_again_after_each_wrong_answer_offering_the_fix(
    tmp_path: Path, terminal: None
) -> None:
    target = tmp_path / "acme.yaml"
    answers = [
        "Acme Corp",
        "Backend Engineer",
        "New York",  # -> suggests America/New_York
        "",  # take the suggestion
        "11/20/2026 2pm",  # -> suggests 2026-11-20 14:00
        "",
        "1h30",
        "zoom",  # not a kind -> asked again
        "video",
        "Jane Doe jane@acme.example: billing; on-call",  # without <>
        "Raj Patel <raj@not-an-email>",  # bad address -> asked again
        "Raj Patel <raj@acme.example>",
        "jane doe",  # named twice -> asked again
        "",
        "",  # how you could help Jane
        "Kafka migration",  # topics for Raj
        "I ran one",
        "2026-11-19",  # before the interview -> asked again
        "2026-12-01",
        "maybe",  # not yes/no
        "y",
        "mail",
        "led the on-call redesign; speak German",
    ]
    result = run("new", "-o", str(target), answers=answers)
    assert result.exit_code == 0, result.output
    shown = result.output
    assert "did you mean America/New_York?" in shown
    assert "Employer's time zone [America/New_York]" in shown  # the suggestion is the default
    assert "did you mean 2026-11-20 14:00?" in shown
    assert "'zoom' is not one of phone, video, onsite" in shown
    assert "not an e-mail address" in shown and "named twice" in shown
    assert "is before the interview" in shown and "answer yes or no" in shown
    record = yaml.safe_load(target.read_text())
    interview = record["interviews"][0]
    assert record["timezone"] == "America/New_York"
    assert (interview["at"], interview["duration"], interview["kind"]) == (
        "2026-11-20 14:00",
        "90m",
        "video",
    )
    assert interview["interviewers"] == [
        {"name": "Jane Doe", "email": "jane@acme.example", "topics": ["billing", "on-call"]},
        {
            "name": "Raj Patel",
            "email": "raj@acme.example",
            "topics": ["Kafka migration"],
            "help": "I ran one",
        },
    ]
    assert record["decision"] == {
        "expected_by": date(2026, 12, 1),
        "may_call": True,
    }
    assert record["contact"]["channel"] == "mail"
    assert record["forgot_to_mention"] == ["led the on-call redesign", "speak German"]


def test_new_from_an_invitation_asks_only_what_is_missing(tmp_path: Path, terminal: None) -> None:
    target = tmp_path / "globex.yaml"
    answers = [
        "",  # company: the guess (Globex)
        "",  # role: the guess
        "Los Angeles",  # UTC-only invitation: the zone is asked -> suggestion
        "",
        "experimentation platform",  # topics with Mei Lin
        "",  # help
        "-",  # Omar Haddad did not interview after all
        "",  # decision date unknown
        "",  # reach: email
        "",  # nothing forgotten
    ]
    result = run(
        "new",
        "--from",
        str(INVITATIONS / "scheduler-utc-rooms.ics"),
        "--me",
        "alex@morgan.example",
        "-o",
        str(target),
        answers=answers,
    )
    assert result.exit_code == 0, result.output
    assert "Company [Globex]" in result.output and "Role [Staff Data Scientist]" in result.output
    assert "Interview start" not in result.output and "Length" not in result.output
    record = yaml.safe_load(target.read_text())
    assert (record["company"], record["timezone"]) == ("Globex", "America/Los_Angeles")
    assert record["interviews"][0]["at"] == "2026-11-24 09:00"
    assert record["interviews"][0]["interviewers"] == [
        {
            "name": "Mei Lin",
            "email": "mei.lin@globex.example",
            "topics": ["experimentation platform"],
        }
    ]


def test_init_checks_every_answer_and_writes_only_what_reads_back(
    folder: Path, terminal: None
) -> None:
    answers = [
        "Alex Morgan",
        "",  # signature: the name
        "not-an-email",  # asked again
        "alex@morgan.example",
        "New York",
        "",  # take America/New_York
        "Germny",  # unknown country, close match named
        "Germany",
        "nine to five",  # not working hours
        "9-5",  # normalised
        str(folder),
        "ics, gogle",  # did you mean google
        "ics, google",
    ]
    result = run("init", answers=answers)
    assert result.exit_code == 0, result.output
    assert "not an e-mail address" in result.output
    assert "did you mean DE for Germany?" in result.output
    assert "not working hours like 09:00-17:00" in result.output
    assert "did you mean google?" in result.output
    settings = load_settings()
    assert (settings.email, settings.timezone, settings.country) == (
        "alex@morgan.example",
        "America/New_York",
        "DE",
    )
    assert settings.working_hours == ("09:00", "17:00")
    assert settings.destinations == ("ics", "google")
    plan = run("plan", str(SAMPLES / "onsite-acme.yaml"))
    assert plan.exit_code == 0, plan.output


def test_init_rerun_offers_the_current_answers_and_keeps_the_old_file(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags = ["--name", "Alex Morgan", "--timezone", "Europe/Berlin", "--folder", str(folder)]
    assert run("init", *flags, "--working-hours", "8:30-16:30", "--country", "de").exit_code == 0
    monkeypatch.setattr("followup.answers.stdin_is_terminal", lambda: True)
    path = settings_path()
    text = path.read_text().replace("[planning]\n", '[planning]\nprofile = "patient"\n')
    text = text.replace('timezone = "Europe', 'phone = "+49 30 5550123"\ntimezone = "Europe')
    text += '\n[planning.offsets]\ncheck-in = "5bd"\n\n[exporters.todoist]\nproject = "Hunt 2026"\n'
    path.write_text(text)
    first = path.read_text()
    result = run("init", answers=["y"] + [""] * 9)  # Enter through every question
    assert result.exit_code == 0, result.output
    assert "Your time zone [Europe/Berlin]" in result.output
    assert "Working hours for calls [08:30-16:30]" in result.output
    assert f"Job-search folder [{folder}]" in result.output
    settings = load_settings()
    assert (settings.name, settings.country, settings.working_hours) == (
        "Alex Morgan",
        "DE",
        ("08:30", "16:30"),
    )
    # what init does not ask about stays as the user set it
    assert settings.exporters["todoist"]["project"] == "Hunt 2026"
    assert (settings.profile, settings.phone) == ("patient", "+49 30 5550123")
    assert settings.offsets == {"check-in": "5bd"}
    assert path.with_name("config.toml.bak").read_text() == first


def test_bad_working_hours_never_reach_the_settings() -> None:
    bad = run("init", "--name", "Alex", "--working-hours", "nine-ish")
    assert bad.exit_code == 2 and bad.stderr.startswith("followup: --working-hours: ")
    assert not settings_path().exists()
    assert run("init", "--name", "Alex", "--working-hours", "9am-5:30pm").exit_code == 0
    assert load_settings().working_hours == ("09:00", "17:30")


def test_settings_written_before_this_check_load_or_fail_in_one_line(followup_home: Path) -> None:
    path = followup_home / "config" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('[planning]\nworking_hours = "9-5"\n')  # what an older init wrote
    plan = run("plan", str(SAMPLES / "onsite-acme.yaml"))
    assert plan.exit_code == 0, plan.output
    path.write_text('[planning]\nworking_hours = "whenever"\n')
    plan = run("plan", str(SAMPLES / "onsite-acme.yaml"))
    assert plan.exit_code == 2 and "Traceback" not in plan.output
    assert plan.stderr.strip().splitlines() == [
        f"followup: {path}: planning.working_hours: not working hours like 09:00-17:00: 'whenever'"
    ]


# --- a real terminal ---------------------------------------------------------------------


def test_new_on_a_real_terminal(tmp_path: Path) -> None:
    """The tty check itself, through a pseudo-terminal (no monkeypatching)."""
    import pty

    target = tmp_path / "initech.yaml"
    main, secondary = pty.openpty()
    env = {**os.environ, "FOLLOWUP_HOME": str(tmp_path / "home"), "FOLLOWUP_NOW": NOW[1]}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "followup",
            "new",
            "--from",
            str(INVITATIONS / "zoom.ics"),
            "--me",
            "alex@morgan.example",
            "-o",
            str(target),
        ],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        close_fds=True,
    )
    os.close(secondary)
    seen = ""

    def expect(text: str) -> None:
        nonlocal seen
        deadline = time.monotonic() + 60
        while text not in seen:
            assert time.monotonic() < deadline, f"never saw {text!r} in {seen!r}"
            ready, _, _ = select.select([main], [], [], 1)
            if ready:
                try:
                    seen += os.read(main, 4096).decode(errors="replace")
                except OSError:
                    break
        seen = seen[seen.index(text) + len(text) :]

    def say(text: str) -> None:
        os.write(main, text.encode() + b"\r")

    for question, answer in [
        ("Company [Initech]", ""),
        ("Role [Platform Engineer]", ""),
        ("with Tom Weber?", "Rust; on-call"),
        ("help Tom Weber?", ""),
        ("with Lena Fischer?", "-"),
        ("Decision expected by", "2026-13-01"),
        ("not a date like 2026-12-01", "2026-12-01"),
        ("May you call them that day?", "n"),
        ("How do they reach you", ""),
        ("forgot to mention?", ""),
    ]:
        expect(question)
        say(answer)
    expect("wrote")
    assert process.wait(timeout=60) == 0
    os.close(main)
    record = yaml.safe_load(target.read_text())
    assert record["interviews"][0]["interviewers"] == [
        {"name": "Tom Weber", "email": "tom.weber@initech.example", "topics": ["Rust", "on-call"]}
    ]
    assert (
        record["timezone"] == "Europe/Berlin"
        and record["interviews"][0]["at"] == "2026-11-18 17:00"
    )


# --- point 4: every field error names the field and what is allowed --------------------------


def test_record_field_errors_name_the_allowed_values_and_the_nearest_field(tmp_path: Path) -> None:
    source = (SAMPLES / "onsite-acme.yaml").read_text()
    cases = {
        "kind: onsite": (
            "kind: zoom",
            "interviews[0].kind: 'zoom' is not one of phone, video, onsite",
        ),
        "status: waiting": ("statsu: waiting", "statsu: unknown field (did you mean status?)"),
        "email: jane.doe@acme.example": (
            "email: not-an-email",
            "interviews[0].interviewers[0].email: not an e-mail address like jane@acme.example",
        ),
    }
    for original, (broken, message) in cases.items():
        assert original in source
        path = tmp_path / "record.yaml"
        path.write_text(source.replace(original, broken, 1))
        result = run("validate", str(path))
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_new_rejects_a_contact_address_that_is_not_one(tmp_path: Path) -> None:
    result = run(
        "new",
        "--company",
        "A",
        "--role",
        "B",
        "--timezone",
        "UTC",
        "--at",
        "2026-11-20 14:00",
        "--interviewer",
        "X",
        "--contact-email",
        "not-an-email",
        "-o",
        str(tmp_path / "x.yaml"),
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("followup: --contact-email: not an e-mail address")


def test_exporter_names_get_did_you_mean() -> None:
    result = run("export", str(SAMPLES / "onsite-acme.yaml"), "--to", "gogle")
    assert result.exit_code == 2
    assert "no exporter named 'gogle' (did you mean google?)" in result.stderr


def test_sync_to_an_unknown_destination_is_exit_2_said_once(folder: Path) -> None:
    result = run("sync", str(folder), "--to", "unknown")
    assert result.exit_code == 2
    assert result.output.count("no exporter named 'unknown'") == 1
    assert "again" not in result.output  # not "run it again": it would fail the same way


def test_a_failing_destination_is_said_once(folder: Path) -> None:
    result = run("sync", str(folder), "--to", "todoist")
    assert result.exit_code == 1
    assert result.output.count("no Todoist token") == 1, result.output
    assert re.search(r"^todoist\s+could not sync", result.output, re.M)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--timezone", "New York"], "--timezone: unknown time zone 'New York'"),
        (["--timezone", "New York"], "(did you mean America/New_York?)"),
        (["--country", "Germny"], "--country: unknown country 'Germny'"),
        (["--country", "Germny"], "(did you mean DE for Germany?)"),
        (["--email", "not-an-email"], "--email: not an e-mail address"),
        (["--destination", "todoit"], "--destination: no exporter named 'todoit'"),
        (["--destination", "todoit"], "(did you mean todoist?)"),
    ],
)
def test_init_flags_are_checked_like_answers(flags: list[str], message: str) -> None:
    result = run("init", "--name", "Alex", *flags)
    assert result.exit_code == 2 and result.stderr.startswith("followup: ")
    assert message in result.stderr and not settings_path().exists()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ('[planning]\nprofile = "relaxed"\n', "planning.profile: 'relaxed' is not one of standard"),
        ('[planning.offsets]\ncheckin = "4bd"\n', "planning.offsets.checkin: no rule named"),
        ('[planning.offsets]\ncheckin = "4bd"\n', "(did you mean check-in?)"),
        ('[planning.offsets]\ncheck-in = "4 days"\n', "not an offset like 3bd"),
        (
            '[you]\nemial = "alex@morgan.example"\n',
            "you.emial: unknown field (did you mean email?)",
        ),
        ('[you]\nemail = "not-an-email"\n', "you.email: not an e-mail address"),
        ('[you]\ntimezone = "New York"\n', "(did you mean America/New_York?)"),
        ('[planning]\ncountry = "Germny"\n', "(did you mean DE for Germany?)"),
    ],
)
def test_settings_field_errors_are_one_line_naming_field_and_allowed_values(
    followup_home: Path, settings: str, message: str
) -> None:
    path = followup_home / "config" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(settings)
    result = run("plan", str(SAMPLES / "onsite-acme.yaml"))
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"followup: {path}: ") and message in lines[0]


def test_dropping_everyone_the_invitation_listed_asks_for_the_interviewers(
    tmp_path: Path, terminal: None
) -> None:
    target = tmp_path / "hooli.yaml"
    answers = ["", "", "-", "Sam Park <sam@hooli.example>: roadmap", "", "", "", "", ""]
    result = run(
        "new",
        "--from",
        str(INVITATIONS / "phone-screen.ics"),
        "--me",
        "alex@morgan.example",
        "-o",
        str(target),
        answers=answers,
    )
    assert result.exit_code == 0, result.output
    assert "nobody is left" in result.output
    record = yaml.safe_load(target.read_text())
    assert record["interviews"][0]["interviewers"] == [
        {"name": "Sam Park", "email": "sam@hooli.example", "topics": ["roadmap"]}
    ]
