"""`followup new --from`: every invitation in tests/invitations/ gives the record it should."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from followup.cli import cli
from followup.invitation import read_invitation

INVITATIONS = Path(__file__).parent / "invitations"
NOW = "2026-11-25T19:00:00-05:00"
ME = ("alex.morgan@gmail.com", "alex@morgan.example")


def new_from(name: str, *flags: str) -> dict[str, Any]:
    """The record `followup new --from` writes (not a terminal: nothing is asked)."""
    me = [arg for address in ME for arg in ("--me", address)]
    result = CliRunner().invoke(
        cli, ["--now", NOW, "new", "--from", str(INVITATIONS / name), *me, *flags, "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = yaml.safe_load(result.stdout)
    return data


def people(record: dict[str, Any]) -> list[tuple[str, str | None]]:
    found = record["interviews"][0]["interviewers"]
    return [(person["name"], person.get("email")) for person in found]


def test_the_corpus_covers_each_kind_of_invitation() -> None:
    assert {path.suffix for path in INVITATIONS.iterdir()} >= {".ics", ".eml"}
    assert len(list(INVITATIONS.glob("*.ics"))) >= 5 and len(list(INVITATIONS.glob("*.eml"))) >= 2


def test_google_calendar_invitation() -> None:
    record = new_from("google-calendar.ics")
    assert (record["company"], record["role"]) == ("Acme Corp", "Senior Backend Engineer")
    assert record["timezone"] == "America/New_York"
    interview = record["interviews"][0]
    assert (interview["at"], interview["duration"], interview["kind"]) == (
        "2026-11-20 14:00",
        "1h",
        "video",
    )
    # the meeting room (CUTYPE=RESOURCE) and the user's own address are left out
    assert people(record) == [
        ("Priya Raman", "priya.raman@acme-corp.example"),
        ("Jane Doe", "jane.doe@acme-corp.example"),
    ]


def test_outlook_exchange_with_a_windows_zone_name() -> None:
    record = new_from("outlook-exchange.ics")
    assert record["timezone"] == "America/Los_Angeles"  # "Pacific Standard Time"
    interview = record["interviews"][0]
    assert (interview["at"], interview["duration"]) == ("2026-11-19 10:00", "90m")
    assert interview["kind"] == "video"  # the Teams link, not the dial-in number
    assert (record["company"], record["role"]) == ("Contoso", "Senior Software Engineer")
    names = [name for name, _ in people(record)]
    # "Doe, Jane" turned around; the NON-PARTICIPANT coordinator left out
    assert names == ["Raj Patel", "Jürgen Müller", "Lan Nguyen", "Jane Doe"]


def test_zoom_invitation_is_video_despite_its_dial_in_numbers() -> None:
    record = new_from("zoom.ics")
    interview = record["interviews"][0]
    assert record["timezone"] == "Europe/Berlin"
    assert (interview["at"], interview["duration"], interview["kind"]) == (
        "2026-11-18 17:00",
        "45m",
        "video",
    )
    assert (record["company"], record["role"]) == ("Initech", "Platform Engineer")
    assert [name for name, _ in people(record)] == ["Tom Weber", "Lena Fischer"]


def test_scheduling_tool_with_utc_times_and_rooms_takes_the_zone_from_the_flag() -> None:
    record = new_from("scheduler-utc-rooms.ics", "--timezone", "America/Los_Angeles")
    interview = record["interviews"][0]
    assert record["timezone"] == "America/Los_Angeles"
    assert (interview["at"], interview["duration"]) == ("2026-11-24 09:00", "3h")  # 17:00Z
    assert interview["kind"] == "onsite"  # a street address
    assert (record["company"], record["role"]) == ("Globex", "Staff Data Scientist")
    # room, resource, non-participant, no-reply organizer and Alex@Morgan.example left out;
    # an attendee without a CN is named from the address
    assert people(record) == [
        ("Mei Lin", "mei.lin@globex.example"),
        ("Omar Haddad", "omar.haddad@globex.example"),
    ]


def test_a_utc_only_invitation_takes_the_zone_from_the_settings(followup_home: Path) -> None:
    settings = followup_home / "config" / "config.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text('[you]\ntimezone = "America/Chicago"\nemail = "alex@morgan.example"\n')
    result = CliRunner().invoke(
        cli, ["new", "--from", str(INVITATIONS / "scheduler-utc-rooms.ics"), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    record = yaml.safe_load(result.stdout)
    assert (record["timezone"], record["interviews"][0]["at"]) == (
        "America/Chicago",
        "2026-11-24 11:00",
    )
    assert "alex" not in str(record["interviews"][0]["interviewers"]).lower()  # [you] email


def test_a_utc_only_invitation_without_a_zone_names_the_flag() -> None:
    result = CliRunner().invoke(
        cli, ["new", "--from", str(INVITATIONS / "scheduler-utc-rooms.ics"), "--dry-run"]
    )
    assert result.exit_code == 2
    assert "--timezone" in result.stderr and "not a terminal" in result.stderr


def test_phone_number_location_is_a_phone_interview() -> None:
    record = new_from("phone-screen.ics")
    interview = record["interviews"][0]
    assert (interview["kind"], interview["duration"], interview["at"]) == (
        "phone",
        "30m",
        "2026-11-17 09:00",
    )
    assert record["timezone"] == "America/Chicago"
    assert (record["company"], record["role"]) == ("Hooli", "Product Manager")
    assert people(record) == [("Wei Chen", "wei.chen@hooli.example")]  # "Chen, Wei", once


def test_google_invitation_email_with_a_base64_calendar_part() -> None:
    assert new_from("google-invitation-base64.eml") == new_from("google-calendar.ics")


def test_outlook_email_with_a_quoted_printable_calendar_part() -> None:
    record = new_from("outlook-invitation-quoted-printable.eml")
    interview = record["interviews"][0]
    assert record["timezone"] == "America/New_York"  # "Eastern Standard Time"
    assert (interview["at"], interview["kind"]) == ("2026-11-23 15:00", "onsite")
    assert (record["company"], record["role"]) == ("Fabrikam", "Engineering Manager")
    # UTF-8 through quoted-printable, "Last, First" turned around, the room left out
    assert [name for name, _ in people(record)] == ["María García López", "Chidi Okafor"]


def test_flags_win_over_the_invitation() -> None:
    record = new_from(
        "google-calendar.ics",
        "--company",
        "Acme Corporation",
        "--interviewer",
        "Jane Doe <jane.doe@acme-corp.example>: billing",
        "--timezone",
        "Europe/London",
        "--kind",
        "onsite",
    )
    assert record["company"] == "Acme Corporation"
    assert people(record) == [("Jane Doe", "jane.doe@acme-corp.example")]
    interview = record["interviews"][0]
    assert (interview["at"], interview["kind"]) == ("2026-11-20 19:00", "onsite")  # 14:00 EST


def test_the_written_record_validates_and_plans(tmp_path: Path) -> None:
    target = tmp_path / "acme.yaml"
    result = CliRunner().invoke(
        cli,
        [
            "--now",
            NOW,
            "new",
            "--from",
            str(INVITATIONS / "google-calendar.ics"),
            "--me",
            ME[0],
            "--decision-by",
            "2026-12-01",
            "-o",
            str(target),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Acme Corp - Senior Backend Engineer" in result.stderr  # what was read is shown
    plan = CliRunner().invoke(cli, ["--now", NOW, "plan", str(target)])
    assert plan.exit_code == 0 and "thank-you note to Jane Doe" in plan.output


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "no event"),
        (b"From: a@b.example\r\nSubject: hi\r\n\r\nno calendar here\r\n", "no calendar invitation"),
        (
            b"BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nBEGIN:VEVENT\r\nDTSTART:20261120T140000Z\r\n"
            b"END:VEVENT\r\nEND:VCALENDAR\r\n",
            "cancellation",
        ),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261120\r\n"
            b"END:VEVENT\r\nEND:VCALENDAR\r\n",
            "all-day",
        ),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\n", "not an iCalendar"),
    ],
)
def test_unusable_invitations_are_one_line_and_exit_2(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "invite.ics"
    path.write_bytes(content)
    result = CliRunner().invoke(cli, ["new", "--from", str(path), "--dry-run"])
    assert result.exit_code == 2, result.output
    assert problem in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.output


def test_windows_zone_names_map_through_cldr() -> None:
    invite = read_invitation(INVITATIONS / "outlook-exchange.ics", ME)
    assert invite.zone == "America/Los_Angeles"
    assert invite.start == datetime.fromisoformat("2026-11-19T18:00:00+00:00")


def test_a_floating_time_is_the_wall_clock_in_the_zone_given(tmp_path: Path) -> None:
    path = tmp_path / "floating.ics"
    path.write_bytes(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VEVENT\r\n"
        b"UID:1@x\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:20261120T140000\r\n"
        b"DTEND:20261120T144500\r\nSUMMARY:Interview - Umbrella - Account Executive\r\n"
        b"ORGANIZER;CN=Ada Wong:mailto:ada@umbrella.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    result = CliRunner().invoke(
        cli, ["new", "--from", str(path), "--timezone", "Asia/Tokyo", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    record = yaml.safe_load(result.stdout)
    interview = record["interviews"][0]
    assert (interview["at"], interview["duration"]) == ("2026-11-20 14:00", "45m")
    assert (record["company"], record["role"]) == ("Umbrella", "Account Executive")
