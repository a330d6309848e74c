"""Every rule of the playbook, per profile, pinned to exact datetimes.

The samples are interviews in November 2026 (US Thanksgiving: Thursday 26 November).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest

from followup.config import Settings
from followup.planner import plan_record
from followup.record import InterviewRecord, LocalTime, load_record
from followup.tasks import Task

SAMPLES = Path(__file__).parent.parent / "samples"
NEW_YORK = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 11, 20, 19, 0, tzinfo=NEW_YORK)
US = Settings(country="US")


def sample(name: str) -> InterviewRecord:
    return load_record(SAMPLES / name)


def by_key(tasks: list[Task]) -> dict[str, Task]:
    return {task.key.split("/", 1)[1]: task for task in tasks}


def ny(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=NEW_YORK)  # type: ignore[misc]


def local(text: str) -> LocalTime:
    return LocalTime.fromisoformat(text)


ONSITE_STANDARD = {
    "thank-you/jane-doe": ny(2026, 11, 20, 19, 0),
    "thank-you/raj-patel": ny(2026, 11, 20, 19, 0),
    "thank-you/mei-lin": ny(2026, 11, 20, 19, 0),
    "thank-you-card/jane-doe": ny(2026, 11, 23, 9, 0),  # Friday + 1 business day = Monday
    "thank-you-card/raj-patel": ny(2026, 11, 23, 9, 0),
    "thank-you-card/mei-lin": ny(2026, 11, 23, 9, 0),
    "keep-searching": date(2026, 11, 23),
    "references": ny(2026, 11, 24, 10, 0),
    "check-in": ny(2026, 12, 4, 10, 0),  # decision Tue 1 Dec + 3 business days
    "second-check-in": ny(2026, 12, 11, 10, 0),
    "move-on": date(2026, 12, 18),
}


def test_onsite_standard_profile_pins_every_rule() -> None:
    tasks = by_key(plan_record(sample("onsite-acme.yaml"), US, NOW))
    assert {key: task.start for key, task in tasks.items()} == ONSITE_STANDARD
    assert all(task.status == "planned" and not task.late for task in tasks.values())
    thank_you = tasks["thank-you/jane-doe"]
    assert thank_you.due == ny(2026, 11, 21, 17, 0)  # within 24 h of the interview's end
    assert thank_you.priority == 1 and thank_you.people == ("Jane Doe",)


def test_onsite_assertive_profile() -> None:
    tasks = by_key(plan_record(sample("onsite-acme.yaml"), US, NOW, profile="assertive"))
    assert tasks["check-in"].start == ny(2026, 12, 1, 10, 0)  # on the decision date
    assert tasks["second-check-in"].start == ny(2026, 12, 7, 10, 0)  # + 4 business days
    assert tasks["move-on"].start == date(2026, 12, 14)


def test_onsite_patient_profile_has_one_check_in() -> None:
    tasks = by_key(plan_record(sample("onsite-acme.yaml"), US, NOW, profile="patient"))
    assert tasks["check-in"].start == ny(2026, 12, 8, 10, 0)  # + 5 business days
    assert "second-check-in" not in tasks
    assert tasks["move-on"].start == date(2026, 12, 22)


@pytest.mark.parametrize(
    ("profile", "check_in"),
    [
        ("standard", datetime(2026, 11, 25, 10, 0, tzinfo=CHICAGO)),  # 7 days, a Wednesday
        ("assertive", datetime(2026, 11, 23, 10, 0, tzinfo=CHICAGO)),  # 3 business days
        # 10 business days, skipping a weekend and Thanksgiving
        ("patient", datetime(2026, 12, 3, 10, 0, tzinfo=CHICAGO)),
    ],
)
def test_check_in_without_a_decision_date(profile: str, check_in: datetime) -> None:
    tasks = by_key(plan_record(sample("phone-screen-globex.yaml"), US, NOW, profile=profile))
    assert tasks["check-in"].start == check_in
    assert tasks["check-in"].kind == "call"  # they reached out by phone [003]
    assert tasks["check-in"].links == ("tel:+13125550142",)


def test_business_days_skip_thanksgiving() -> None:
    record = sample("onsite-acme.yaml")
    interview = msgspec.structs.replace(record.interviews[0], at=local("2026-11-25 10:00"))
    record = msgspec.structs.replace(
        record, interviews=(interview,), recorded_at=local("2026-11-25 14:00")
    )
    tasks = by_key(plan_record(record, US, NOW))
    assert tasks["keep-searching"].start == date(2026, 11, 27)
    assert tasks["references"].start == ny(2026, 11, 30, 10, 0)


def test_may_call_checks_in_on_the_decision_date() -> None:
    record = sample("onsite-acme.yaml")
    record = msgspec.structs.replace(
        record, decision=msgspec.structs.replace(record.decision, may_call=True)
    )
    assert by_key(plan_record(record, US, NOW))["check-in"].start == ny(2026, 12, 1, 10, 0)


def test_a_dst_change_keeps_the_wall_clock_time() -> None:
    record = sample("phone-screen-globex.yaml")
    interview = msgspec.structs.replace(record.interviews[0], at=local("2026-10-30 14:00"))
    record = msgspec.structs.replace(
        record, interviews=(interview,), recorded_at=local("2026-10-30 15:00")
    )
    tasks = by_key(plan_record(record, US, NOW))
    check_in = tasks["check-in"].start
    assert check_in == datetime(2026, 11, 6, 10, 0, tzinfo=CHICAGO)
    assert isinstance(check_in, datetime) and check_in.utcoffset().total_seconds() == -6 * 3600  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("wall", "utc"),
    [
        ("2026-03-08 02:30", "2026-03-08T07:30:00+00:00"),  # does not exist: read as 03:30 EDT
        ("2026-11-01 01:30", "2026-11-01T05:30:00+00:00"),  # happens twice: the first (EDT)
    ],
)
def test_dst_gaps_and_folds(wall: str, utc: str) -> None:
    record = sample("onsite-acme.yaml")
    interview = msgspec.structs.replace(record.interviews[0], at=local(wall))
    record = msgspec.structs.replace(
        record, interviews=(interview,), recorded_at=local("2026-02-01 09:00")
    )
    ask = by_key(plan_record(record, US, NOW))["ask-timeline"]
    assert isinstance(ask.start, datetime)
    assert ask.start.astimezone(ZoneInfo("UTC")).isoformat() == utc


def test_a_late_record_moves_overdue_tasks_to_the_next_working_slot() -> None:
    record = msgspec.structs.replace(
        sample("onsite-acme.yaml"), recorded_at=local("2026-11-24 12:00")
    )
    tasks = by_key(plan_record(record, US, NOW))
    assert tasks["thank-you/jane-doe"].start == ny(2026, 11, 24, 12, 0)
    assert tasks["thank-you/jane-doe"].late
    assert tasks["keep-searching"].start == date(2026, 11, 24) and tasks["keep-searching"].late
    assert tasks["references"].start == ny(2026, 11, 24, 12, 0) and tasks["references"].late
    assert not tasks["check-in"].late


def test_a_record_written_in_the_evening_moves_a_late_start_to_the_morning() -> None:
    record = msgspec.structs.replace(
        sample("onsite-acme.yaml"), recorded_at=local("2026-11-20 22:10")
    )
    thank_you = by_key(plan_record(record, US, NOW))["thank-you/jane-doe"]
    assert thank_you.start == ny(2026, 11, 20, 22, 10) and not thank_you.late


def test_a_thank_you_never_starts_late_in_the_evening() -> None:
    record = sample("onsite-acme.yaml")
    interview = msgspec.structs.replace(record.interviews[0], at=local("2026-11-20 18:00"))
    record = msgspec.structs.replace(
        record, interviews=(interview,), recorded_at=local("2026-11-20 21:30")
    )
    thank_you = by_key(plan_record(record, US, NOW))["thank-you/jane-doe"]
    assert thank_you.start == ny(2026, 11, 21, 8, 0)  # 23:00 would be rude; next morning


def test_ask_timeline_only_when_written_before_the_interview() -> None:
    assert "ask-timeline" not in by_key(plan_record(sample("onsite-acme.yaml"), US, NOW))
    record = msgspec.structs.replace(
        sample("onsite-acme.yaml"), recorded_at=local("2026-11-19 09:00")
    )
    assert by_key(plan_record(record, US, NOW))["ask-timeline"].start == ny(2026, 11, 20, 14, 0)


def test_do_not_contact_drops_check_ins_but_keeps_thank_yous() -> None:
    tasks = by_key(plan_record(sample("do-not-contact-hooli.yaml"), US, NOW))
    assert "check-in" not in tasks and "second-check-in" not in tasks
    assert {"thank-you/gavin-belson", "thank-you/priya-natarajan", "move-on"} <= set(tasks)


def test_withdrawn_leaves_only_the_withdrawal_note() -> None:
    tasks = plan_record(sample("withdrawn-vandelay.yaml"), US, NOW)
    planned = [task for task in tasks if task.status == "planned"]
    assert [task.rule for task in planned] == ["withdrawal-note"]
    assert planned[0].start == ny(2026, 11, 20, 10, 0)
    assert len(tasks) > 1 and all(t.status == "cancelled" for t in tasks if t not in planned)


@pytest.mark.parametrize(
    ("status", "planned_outcome", "check_ins"),
    [("rejected", ["gracious-close"], "cancelled"), ("offer", [], "cancelled")],
)
def test_outcomes(status: str, planned_outcome: list[str], check_ins: str) -> None:
    record = msgspec.structs.replace(
        sample("onsite-acme.yaml"), status=status, status_since=date(2026, 11, 30)
    )
    tasks = by_key(plan_record(record, US, NOW))
    assert [t.rule for t in tasks.values() if t.rule in ("gracious-close", "withdrawal-note")] == (
        planned_outcome
    )
    assert tasks["check-in"].status == tasks["second-check-in"].status == check_ins
    assert tasks["thank-you/jane-doe"].status == "planned"
    if planned_outcome:
        assert tasks["gracious-close"].start == ny(2026, 12, 1, 10, 0)
        assert "referral" not in tasks["gracious-close"].body.lower()


def test_heard_back_with_a_new_date_replans_the_check_ins() -> None:
    record = sample("onsite-acme.yaml")
    later = msgspec.structs.replace(
        record,
        status="heard-back",
        decision=msgspec.structs.replace(record.decision, expected_by=date(2026, 12, 10)),
    )
    tasks = by_key(plan_record(later, US, NOW))
    assert tasks["check-in"].start == ny(2026, 12, 15, 10, 0)
    assert tasks["second-check-in"].start == ny(2026, 12, 22, 10, 0)


def test_a_later_round_gets_its_own_thank_yous_and_moves_the_check_ins() -> None:
    london = ZoneInfo("Europe/London")
    tasks = by_key(plan_record(sample("later-round-stark.yaml"), Settings(country="GB"), NOW))
    assert tasks["thank-you/pepper-potts"].start == datetime(2026, 11, 10, 12, 45, tzinfo=london)
    assert tasks["thank-you/round-2/pepper-potts"].start == datetime(
        2026, 11, 20, 18, 0, tzinfo=london
    )
    assert tasks["check-in"].start == datetime(2026, 12, 2, 10, 0, tzinfo=london)


def test_an_override_moves_a_rule() -> None:
    record = msgspec.structs.replace(sample("onsite-acme.yaml"), offsets={"check-in": "5bd"})
    assert by_key(plan_record(record, US, NOW))["check-in"].start == ny(2026, 12, 8, 10, 0)
    settings = Settings(country="US", offsets={"references": "3bd"})
    assert by_key(plan_record(sample("onsite-acme.yaml"), settings, NOW))["references"].start == ny(
        2026, 11, 25, 10, 0
    )


def test_calls_land_in_the_employers_hours_and_own_tasks_in_your_zone() -> None:
    settings = Settings(country="US", timezone="Europe/Berlin")
    tasks = by_key(plan_record(sample("onsite-acme.yaml"), settings, NOW))
    assert tasks["check-in"].start == ny(2026, 12, 4, 10, 0)
    assert tasks["check-in"].timezone == "America/New_York"
    assert tasks["references"].timezone == "Europe/Berlin"
    assert tasks["references"].start == datetime(
        2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")
    )


def test_planning_is_deterministic() -> None:
    first = plan_record(sample("onsite-acme.yaml"), US, NOW)
    second = plan_record(sample("onsite-acme.yaml"), US, NOW)
    assert first == second
    assert [t.content_hash for t in first] == [t.content_hash for t in second]
    assert len({t.key for t in first}) == len(first)


def test_every_interviewer_gets_a_different_personal_note() -> None:
    tasks = [t for t in plan_record(sample("onsite-acme.yaml"), US, NOW) if t.rule == "thank-you"]
    bodies = {task.body for task in tasks}
    assert len(bodies) == 3
    jane = next(t for t in tasks if t.people == ("Jane Doe",))
    assert "Dear Jane" in jane.body and "billing pipeline reliability" in jane.body
    assert "payment retry pipeline" in jane.body  # how she can help
    assert "on-call rotation redesign" in jane.body  # what was forgotten
    assert jane.links[0].startswith("mailto:jane.doe@acme.example?subject=")


def test_a_user_template_replaces_the_built_in(tmp_path: Path) -> None:
    (tmp_path / "thank-you.txt").write_text("Subject: Thanks!\n\nHi {greeting_name} —{signature}")
    settings = Settings(country="US", templates_dir=tmp_path, signature="Alex")
    jane = by_key(plan_record(sample("onsite-acme.yaml"), settings, NOW))["thank-you/jane-doe"]
    assert jane.body.startswith("Subject: Thanks!\n\nHi Jane —Alex")


def test_an_outcome_recorded_after_hours_goes_next_without_a_late_mark() -> None:
    record = msgspec.structs.replace(
        sample("withdrawn-vandelay.yaml"), recorded_at=local("2026-11-20 19:00")
    )
    note = by_key(plan_record(record, US, NOW))["withdrawal-note"]
    assert note.start == ny(2026, 11, 23, 9, 0) and not note.late
