"""Issue 13, timing: employer-facing items land on business days inside working hours,
holidays come from the employer's country, spacing survives moves, stale dates are ignored,
sending times suit both zones, offers keep the references task.

November 2026: Thanksgiving is Thursday 26; 21/22 and 28/29 are weekends.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from followup.config import Settings
from followup.planner import plan_record
from followup.record import InterviewRecord, LocalTime, load_record, record_from_data
from followup.tasks import Task
from followup.timeline import render_timeline

SAMPLES = Path(__file__).parent.parent / "samples"
NEW_YORK = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 20, 19, 0, tzinfo=NEW_YORK)
EMPLOYER_FACING = ("check-in", "second-check-in", "withdrawal-note", "gracious-close")


def sample(name: str) -> InterviewRecord:
    return load_record(SAMPLES / name)


def record(data: dict[str, Any]) -> InterviewRecord:
    base: dict[str, Any] = {
        "id": "test-record",
        "company": "Acme Corp",
        "role": "Backend Engineer",
        "timezone": "America/New_York",
        "interviews": [
            {
                "at": "2026-11-20 14:00",
                "duration": "60m",
                "interviewers": [{"name": "Jane Doe", "email": "jane@acme.example"}],
            }
        ],
    }
    return record_from_data(Path("test.yaml"), {**base, **data})


def by_key(tasks: list[Task]) -> dict[str, Task]:
    return {task.key.split("/", 1)[1]: task for task in tasks}


def local(text: str) -> LocalTime:
    return LocalTime.fromisoformat(text)


def in_hours(moment: datetime | date, zone: ZoneInfo, start: int = 9, end: int = 17) -> bool:
    assert isinstance(moment, datetime)
    wall = moment.astimezone(zone)
    return wall.weekday() < 5 and start <= wall.hour < end


# --- 1. employer-facing items: business day, working hours, contact time from the hours ---


def test_a_saturday_decision_date_with_may_call_checks_in_on_monday() -> None:
    acme = record({"decision": {"expected_by": "2026-12-05", "may_call": True}})
    check_in = by_key(plan_record(acme, Settings(), NOW))["check-in"]
    assert check_in.start == datetime(2026, 12, 7, 10, 0, tzinfo=NEW_YORK)


def test_an_evening_phone_screen_gets_its_thank_you_call_in_working_hours() -> None:
    globex = msgspec.structs.replace(
        sample("phone-screen-globex.yaml"), recorded_at=local("2026-11-17 18:45")
    )
    interview = msgspec.structs.replace(globex.interviews[0], at=local("2026-11-17 18:00"))
    globex = msgspec.structs.replace(globex, interviews=(interview,))
    call = by_key(plan_record(globex, Settings(), NOW))["thank-you/sam-rivera"]
    assert call.kind == "call"
    assert call.start == datetime(2026, 11, 18, 10, 0, tzinfo=CHICAGO)


def test_a_withdrawal_on_a_saturday_is_sent_on_monday() -> None:
    vandelay = msgspec.structs.replace(
        sample("withdrawn-vandelay.yaml"),
        status_since=date(2026, 11, 21),
        recorded_at=local("2026-11-21 08:00"),
    )
    note = by_key(plan_record(vandelay, Settings(), NOW))["withdrawal-note"]
    assert note.start == datetime(2026, 11, 23, 10, 0, tzinfo=NEW_YORK)


def test_contact_times_come_from_the_working_hours() -> None:
    settings = Settings(working_hours=("08:00", "16:00"))
    tasks = by_key(plan_record(sample("onsite-acme.yaml"), settings, NOW))
    assert tasks["check-in"].start == datetime(2026, 12, 4, 9, 0, tzinfo=NEW_YORK)
    late_starter = Settings(working_hours=("11:00", "19:00"))
    tasks = by_key(plan_record(sample("onsite-acme.yaml"), late_starter, NOW))
    assert tasks["check-in"].start == datetime(2026, 12, 4, 12, 0, tzinfo=NEW_YORK)
    # a card delivered to the front desk is employer-facing too
    assert in_hours(tasks["thank-you-card/jane-doe"].start, NEW_YORK, 11, 19)


def test_every_employer_facing_item_lands_in_working_hours_on_a_business_day() -> None:
    for name in sorted(SAMPLES.glob("*.y*ml")):
        for status in ("waiting", "rejected", "withdrawn"):
            weekend = msgspec.structs.replace(
                load_record(name),
                status=status,
                status_since=date(2026, 11, 28),
                decision=msgspec.structs.replace(
                    load_record(name).decision, expected_by=date(2026, 11, 29), may_call=True
                ),
            )
            for task in plan_record(weekend, Settings(), NOW):
                if task.rule in EMPLOYER_FACING or task.kind == "call":
                    zone = ZoneInfo(weekend.timezone)
                    assert in_hours(task.start, zone), (name.name, status, task.key, task.start)


# --- 2. public holidays of the employer's country, inferred from the time zone ------------


def test_the_country_comes_from_the_time_zone() -> None:
    from followup.calendar_math import country_of_zone

    assert country_of_zone("America/Chicago") == "US"
    assert country_of_zone("Europe/Berlin") == "DE"
    assert country_of_zone("Europe/Zurich") == "CH"
    assert country_of_zone("Asia/Kolkata") == "IN"
    assert country_of_zone("US/Eastern") == "US"  # an old alias, same zone data
    assert country_of_zone("Etc/UTC") is None


def test_a_chicago_record_skips_thanksgiving_and_black_friday_without_settings() -> None:
    wednesday = record(
        {
            "timezone": "America/Chicago",
            "interviews": [
                {
                    "at": "2026-11-25 10:00",
                    "interviewers": [{"name": "Sam Rivera", "email": "sam@globex.example"}],
                }
            ],
            "recorded_at": "2026-11-25 12:00",
        }
    )
    tasks = by_key(plan_record(wednesday, Settings(), NOW))
    assert tasks["keep-searching"].start == date(2026, 11, 27)  # not Thanksgiving
    friday = record(
        {
            "timezone": "America/Chicago",
            "interviews": [
                {
                    "at": "2026-11-20 10:00",
                    "interviewers": [{"name": "Sam Rivera", "email": "sam@globex.example"}],
                }
            ],
            "recorded_at": "2026-11-20 12:00",
        }
    )
    # a week later is Black Friday, a bridge day most offices take off: the next Monday
    check_in = by_key(plan_record(friday, Settings(), NOW))["check-in"]
    assert check_in.start == datetime(2026, 11, 30, 10, 0, tzinfo=CHICAGO)


def test_the_country_is_overridable_per_record_and_in_the_settings() -> None:
    # decision Wed 1 July; US: Fri 3 July is Independence Day (observed)
    summer: dict[str, Any] = {
        "interviews": [
            {"at": "2026-06-24 10:00", "interviewers": [{"name": "Jane Doe"}]},
        ],
        "decision": {"expected_by": "2026-07-01"},
        "recorded_at": "2026-06-24 12:00",
    }
    inferred = by_key(plan_record(record(summer), Settings(), NOW))["check-in"]
    assert inferred.start == datetime(2026, 7, 7, 10, 0, tzinfo=NEW_YORK)
    per_record = by_key(plan_record(record({**summer, "country": "GB"}), Settings(), NOW))
    assert per_record["check-in"].start == datetime(2026, 7, 6, 10, 0, tzinfo=NEW_YORK)
    in_settings = by_key(plan_record(record(summer), Settings(employer_country="GB"), NOW))
    assert in_settings["check-in"].start == datetime(2026, 7, 6, 10, 0, tzinfo=NEW_YORK)


def test_your_own_tasks_follow_your_country() -> None:
    # Ascension Day, Thursday 14 May 2026, is a public holiday in Germany, not in the US
    berlin = Settings(timezone="Europe/Berlin")
    spring = record(
        {
            "interviews": [{"at": "2026-05-13 10:00", "interviewers": [{"name": "Jane Doe"}]}],
            "recorded_at": "2026-05-13 12:00",
        }
    )
    tasks = by_key(plan_record(spring, berlin, NOW))
    assert tasks["keep-searching"].start == date(2026, 5, 15)
    assert by_key(plan_record(spring, Settings(), NOW))["keep-searching"].start == date(2026, 5, 14)


# --- 3. spacing survives moves; a late record never stacks items on one slot --------------


def test_the_second_check_in_counts_from_the_moved_check_in() -> None:
    late = msgspec.structs.replace(
        sample("onsite-acme.yaml"), recorded_at=local("2026-12-09 12:00")
    )
    tasks = by_key(plan_record(late, Settings(), NOW))
    first, second = tasks["check-in"].start, tasks["second-check-in"].start
    assert isinstance(first, datetime) and isinstance(second, datetime)
    assert first >= datetime(2026, 12, 9, 12, 0, tzinfo=NEW_YORK)
    assert (second.date() - first.date()).days >= 7


def test_a_thank_you_weeks_late_is_merged_into_the_check_in() -> None:
    late = msgspec.structs.replace(
        sample("onsite-acme.yaml"), recorded_at=local("2026-12-09 12:00")
    )
    tasks = plan_record(late, Settings(), NOW)
    planned = [t for t in tasks if t.status == "planned" and t.kind in ("email", "call", "mail")]
    days = [t.start.date() for t in planned if isinstance(t.start, datetime)]
    assert len(days) == len(set(days)), [(t.key, t.start) for t in planned]
    thanks = [t for t in tasks if t.rule == "thank-you"]
    assert thanks and all(t.status == "cancelled" and "check-in" in t.note for t in thanks)
    check_in = by_key(tasks)["check-in"]
    assert check_in.status == "planned" and "Thank you for meeting with me" in check_in.body
    assert "merged into the check-in" in render_timeline(late, tasks, NOW)


# --- 4. a decision date before the latest round is stale --------------------------------


def test_a_decision_date_before_the_latest_round_is_stale() -> None:
    stark = sample("later-round-stark.yaml")
    stale = msgspec.structs.replace(
        stark, decision=msgspec.structs.replace(stark.decision, expected_by=date(2026, 11, 15))
    )
    check_in = by_key(plan_record(stale, Settings(), NOW))["check-in"]
    # as if none was given: seven days after the latest round (Fri 20 Nov, 16:00)
    assert check_in.start == datetime(2026, 11, 27, 10, 0, tzinfo=LONDON)
    from followup.planner import plan_warnings

    [warning] = plan_warnings(stale, Settings(name="Alex Morgan"))
    assert "2026-11-15" in warning and "before the latest round" in warning
    assert "\n" not in warning
    assert warning in render_timeline(stale, plan_record(stale, Settings(), NOW), NOW)


# --- 5. sending times: the employer's morning and your waking hours ---------------------


def test_sending_times_fall_in_the_employers_morning_and_your_waking_hours() -> None:
    berlin_job = record({"timezone": "Europe/Berlin", "decision": {"expected_by": "2026-12-01"}})
    auckland = Settings(timezone="Pacific/Auckland")
    check_in = by_key(plan_record(berlin_job, auckland, NOW))["check-in"]
    # 10:00 in Berlin is 22:00 in Auckland: 09:00 Berlin (21:00 there) suits both
    assert check_in.start == datetime(2026, 12, 4, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def test_with_no_overlap_the_task_says_when_to_schedule_the_send() -> None:
    london_job = record({"timezone": "Europe/London", "decision": {"expected_by": "2026-12-01"}})
    los_angeles = ZoneInfo("America/Los_Angeles")
    check_in = by_key(plan_record(london_job, Settings(timezone="America/Los_Angeles"), NOW))[
        "check-in"
    ]
    assert isinstance(check_in.start, datetime)
    wall = check_in.start.astimezone(los_angeles)
    assert 7 <= wall.hour < 22  # you are awake when the reminder fires
    assert "Schedule the send for Fri 4 Dec, 10:00 GMT" in check_in.body


# --- 6. offers keep references; a day offset keeps the thank-you's time -----------------


def test_an_offer_keeps_the_references_task() -> None:
    offer = msgspec.structs.replace(
        sample("onsite-acme.yaml"), status="offer", status_since=date(2026, 11, 23)
    )
    tasks = by_key(plan_record(offer, Settings(), NOW))
    assert tasks["references"].status == "planned"
    assert tasks["check-in"].status == "cancelled"


def test_a_two_business_day_thank_you_keeps_its_due_time() -> None:
    acme = msgspec.structs.replace(sample("onsite-acme.yaml"), offsets={"thank-you": "2bd"})
    thank_you = by_key(plan_record(acme, Settings(), NOW))["thank-you/jane-doe"]
    assert isinstance(thank_you.start, datetime) and isinstance(thank_you.due, datetime)
    assert thank_you.start.date() == date(2026, 11, 24)
    assert thank_you.due >= thank_you.start
