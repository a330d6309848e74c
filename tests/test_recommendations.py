"""One test per actionable recommendation of the guidance, named after it.

The recommendations, their articles and where followup encodes them are data
(`followup.playbook.RECOMMENDATIONS`); README's playbook table lists every one of them.
"""

from __future__ import annotations

import itertools
import re
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from followup.config import Settings
from followup.planner import plan_record, plan_warnings
from followup.playbook import RECOMMENDATIONS
from followup.record import InterviewRecord, LocalTime, load_record, record_from_data
from followup.tasks import Task

ROOT = Path(__file__).parent.parent
SAMPLES = ROOT / "samples"
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 20, 19, 0, tzinfo=NEW_YORK)
ME = Settings(name="Alex Morgan", phone="+1 555 0123")


def sample(name: str, **changes: Any) -> InterviewRecord:
    return msgspec.structs.replace(load_record(SAMPLES / name), **changes)


def tasks_of(record: InterviewRecord, settings: Settings = ME, **kw: Any) -> dict[str, Task]:
    return {t.key.split("/", 1)[1]: t for t in plan_record(record, settings, NOW, **kw)}


def panel(*people: dict[str, Any], **changes: Any) -> InterviewRecord:
    data: dict[str, Any] = {
        "id": "panel",
        "company": "Northwind",
        "role": "Platform Engineer",
        "timezone": "America/New_York",
        "recorded_at": "2026-11-20 17:30",
        "interviews": [{"at": "2026-11-20 13:00", "duration": "3h", "interviewers": people}],
        "decision": {"expected_by": "2026-12-01"},
    }
    return record_from_data(Path("panel.yaml"), {**data, **changes})


def words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def letter_of(task: Task) -> str:
    return task.body.split("\n\nBefore you send it", 1)[0].split("\n\nSend it", 1)[0]


# --- the table itself ---------------------------------------------------------------------


def test_every_recommendation_has_a_test_named_after_it() -> None:
    module = sys.modules[__name__]
    assert len(RECOMMENDATIONS) == 32
    for item in RECOMMENDATIONS:
        assert callable(getattr(module, f"test_{item.test}", None)), item.test


def test_the_readme_playbook_table_lists_every_recommendation_with_its_articles() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for item in RECOMMENDATIONS:
        row = next(
            (line for line in readme.splitlines() if line.startswith(f"| {item.number} |")), ""
        )
        assert item.text in row and " ".join(item.sources) in row, item.number
        assert f"`test_{item.test}`" in row


def test_the_recommendations_match_the_guidance() -> None:
    """Same numbers and articles as the guidance's own list, where a checkout has it beside."""
    for shared in (ROOT.parent / "shared", ROOT.parent.parent / "shared"):
        guidance = shared / "guidance" / "RECOMMENDATIONS.md"
        if guidance.exists():
            break
    else:
        return
    rows = re.findall(r"^\| (\d+) \| .* \| ([\d, ]+) \|$", guidance.read_text(), re.MULTILINE)
    assert {int(n): tuple(s.replace(",", " ").split()) for n, s in rows} == {
        item.number: item.sources for item in RECOMMENDATIONS
    }


# --- 1–9: asking, thanking, the medium ------------------------------------------------------


def test_ask_when_they_expect_to_decide() -> None:
    early = sample("onsite-acme.yaml", recorded_at=LocalTime(2026, 11, 19, 9, 0))
    ask = tasks_of(early)["ask-timeline"]
    assert ask.start == datetime(2026, 11, 20, 14, 0, tzinfo=NEW_YORK)
    assert "When do you expect to make a decision?" in ask.body
    assert "ask-timeline" not in tasks_of(sample("onsite-acme.yaml"))


def test_ask_whether_you_may_call_on_the_date() -> None:
    early = sample("onsite-acme.yaml", recorded_at=LocalTime(2026, 11, 19, 9, 0))
    assert "may I call you?" in tasks_of(early)["ask-timeline"].body
    acme = sample("onsite-acme.yaml")
    may_call = msgspec.structs.replace(acme.decision, may_call=True)
    assert tasks_of(msgspec.structs.replace(acme, decision=may_call))["check-in"].start == (
        datetime(2026, 12, 1, 10, 0, tzinfo=NEW_YORK)
    )


def test_a_separate_thank_you_to_each_interviewer() -> None:
    tasks = tasks_of(sample("onsite-acme.yaml"))
    notes = [t for t in tasks.values() if t.rule == "thank-you"]
    assert sorted(t.people[0] for t in notes) == ["Jane Doe", "Mei Lin", "Raj Patel"]
    assert all(t.links[0].startswith("mailto:") for t in notes)


def test_send_the_thank_you_within_24_hours() -> None:
    note = tasks_of(sample("onsite-acme.yaml"))["thank-you/jane-doe"]
    assert isinstance(note.due, datetime) and isinstance(note.start, datetime)
    assert note.due - datetime(2026, 11, 20, 17, 0, tzinfo=NEW_YORK) <= timedelta(hours=24)
    two_days = sample("onsite-acme.yaml", offsets={"thank-you": "2bd"})  # the 000 reading
    later = tasks_of(two_days)["thank-you/jane-doe"]
    assert isinstance(later.start, datetime) and later.start.date() == date(2026, 11, 24)


def test_get_every_name_right() -> None:
    record = panel({"name": "Dr. Zoë Ñúñez-Okafor"}, {"name": "van der Berg, Anouk"})
    notes = {t.people[0]: t for t in plan_record(record, ME, NOW) if t.rule == "thank-you"}
    assert set(notes) == {"Dr. Zoë Ñúñez-Okafor", "Anouk van der Berg"}
    assert "Dear Dr. Ñúñez-Okafor," in notes["Dr. Zoë Ñúñez-Okafor"].body
    assert "Dear Anouk," in notes["Anouk van der Berg"].body
    assert "check the spelling of Anouk van der Berg" in notes["Anouk van der Berg"].body


def test_make_each_note_different_never_a_form_letter() -> None:
    same = {"topics": ["API design"]}
    record = panel({"name": "Ann Lee", **same}, {"name": "Bo Chen", **same})
    first, second = (t for t in plan_record(record, ME, NOW) if t.rule == "thank-you")
    split = re.compile(r"(?<=[.!?])\s+")
    shared = set(split.split(letter_of(first))) & set(split.split(letter_of(second)))
    assert all("Dear" in s or "Subject" in s or s.endswith(",") for s in shared), shared


def test_thank_them_even_if_you_will_not_get_the_job() -> None:
    rejected = sample("onsite-acme.yaml", status="rejected", status_since=date(2026, 11, 20))
    assert tasks_of(rejected)["thank-you/jane-doe"].status == "planned"


def test_use_the_medium_that_reaches_the_employer() -> None:
    by_phone = tasks_of(sample("phone-screen-globex.yaml"))
    assert by_phone["check-in"].kind == "call" and by_phone["check-in"].channel == "phone"
    by_email = tasks_of(sample("onsite-acme.yaml"))
    assert by_email["check-in"].kind == "email"


def test_match_the_medium_to_the_formality() -> None:
    formal = tasks_of(sample("onsite-acme.yaml"))
    assert formal["thank-you/jane-doe"].kind == "email"  # expected in most corporations
    assert formal["thank-you-card/jane-doe"].kind == "mail"
    assert "Dear Jane Doe," in formal["thank-you/jane-doe"].body
    casual = tasks_of(sample("onsite-acme.yaml", style=None))
    assert "thank-you-card/jane-doe" not in casual
    assert "Dear Jane," in casual["thank-you/jane-doe"].body


# --- 10–16: what the note says --------------------------------------------------------------


def test_refer_to_the_topics_discussed() -> None:
    note = tasks_of(sample("onsite-acme.yaml"))["thank-you/raj-patel"]
    assert note.body.count("Kafka migration") == 1


def test_say_how_you_would_help_with_a_challenge() -> None:
    challenge = panel({"name": "Ann Lee", "topics": [{"text": "flaky CI", "kind": "challenge"}]})
    logistics = panel({"name": "Ann Lee", "topics": [{"text": "flaky CI", "kind": "logistics"}]})
    with_help = letter_of(next(t for t in plan_record(challenge, ME, NOW) if t.rule == "thank-you"))
    without = letter_of(next(t for t in plan_record(logistics, ME, NOW) if t.rule == "thank-you"))
    assert "flaky CI" in with_help and "flaky CI" not in without
    assert len(re.split(r"(?<=[.!?])\s+", with_help)) > len(re.split(r"(?<=[.!?])\s+", without))


def test_mention_what_you_forgot_to_say() -> None:
    note = tasks_of(sample("onsite-acme.yaml"))["thank-you/mei-lin"]
    assert "I led the on-call rotation redesign" in note.body


def test_keep_it_brief() -> None:
    for path in SAMPLES.glob("*.y*ml"):
        for task in plan_record(load_record(path), ME, NOW):
            if task.rule == "thank-you":
                assert words(letter_of(task)) <= 160, (task.key, words(letter_of(task)))


def test_proofread() -> None:
    record = panel({"name": "Ann Lee", "topics": ["the the API"], "help": "I  I built one."})
    note = next(t for t in plan_record(record, ME, NOW) if t.rule == "thank-you")
    assert not re.search(r"\b(\w+)\s+\1\b", note.body, re.IGNORECASE)
    assert not re.search(r"\{\w+\}", note.body) and "  " not in note.body
    assert "proofread" in note.body


def test_restate_interest_fit_and_contribution() -> None:
    for task in tasks_of(sample("onsite-acme.yaml")).values():
        if task.rule == "thank-you":
            assert "Acme Corp" in letter_of(task)
            assert re.search(r"fit|match|contribute|add value", letter_of(task)), task.key


def test_say_you_would_like_to_hear_whatever_the_result() -> None:
    for task in tasks_of(sample("onsite-acme.yaml")).values():
        if task.rule == "thank-you":
            assert re.search(r"whatever|however|either way|whichever", letter_of(task), re.I)


# --- 17–22: references, searching, when to check in ----------------------------------------


def test_prepare_and_brief_your_references() -> None:
    references = tasks_of(sample("onsite-acme.yaml"))["references"]
    assert references.start == datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK)
    assert "Tell each of them" in references.body and "billing pipeline" in references.body


def test_keep_searching_elsewhere() -> None:
    keep = tasks_of(sample("onsite-acme.yaml"))["keep-searching"]
    assert keep.start == date(2026, 11, 23) and "interviewing elsewhere" in keep.body


def test_check_in_at_least_three_days_after_the_date() -> None:
    check_in = tasks_of(sample("onsite-acme.yaml"))["check-in"].start
    assert isinstance(check_in, datetime)
    assert (check_in.date() - date(2026, 12, 1)).days >= 3


def test_remind_them_of_their_timetable() -> None:
    check_in = tasks_of(sample("onsite-acme.yaml"))["check-in"]
    assert "You mentioned you hoped to decide by Tuesday, December 1." in check_in.body


def test_without_a_date_follow_up_after_about_a_week() -> None:
    chicago = ZoneInfo("America/Chicago")
    globex = tasks_of(sample("phone-screen-globex.yaml"))
    assert globex["check-in"].start == datetime(2026, 11, 25, 10, 0, tzinfo=chicago)


def test_sales_roles_follow_up_more_assertively() -> None:
    umbrella = sample("sales-umbrella.yaml")
    no_call = msgspec.structs.replace(umbrella.decision, may_call=False)
    sales = msgspec.structs.replace(umbrella, decision=no_call)
    la = ZoneInfo("America/Los_Angeles")
    assert tasks_of(sales)["check-in"].start == datetime(2026, 11, 25, 10, 0, tzinfo=la)
    other = tasks_of(msgspec.structs.replace(sales, industry=None))
    assert other["check-in"].start == datetime(2026, 12, 1, 10, 0, tzinfo=la)


# --- 23–24: on the phone ----------------------------------------------------------------------


def test_on_the_call_thank_ask_and_ask_for_a_new_timeframe() -> None:
    call = tasks_of(sample("phone-screen-globex.yaml"))["check-in"].body
    order = ["Thank you", "Has a decision been made?", "new timeframe"]
    assert all(part in call for part in order)
    assert [call.index(part) for part in order] == sorted(call.index(part) for part in order)


def test_on_a_call_build_rapport_and_state_strengths() -> None:
    call = tasks_of(sample("sales-umbrella.yaml"))["check-in"].body
    assert "Bring up the territory plan" in call
    assert "Why you fit" in call or "A strength" in call
    assert "Voicemail" in call and "+1 555 0123" in call


# --- 25–32: how often, when to stop, outcomes -----------------------------------------------


def test_follow_up_once_then_once_more_then_let_go() -> None:
    tasks = tasks_of(sample("onsite-acme.yaml"))
    nudges = [t for t in tasks.values() if "check-in" in t.labels]
    assert [t.rule for t in nudges] == ["check-in", "second-check-in"]
    assert tasks["move-on"].start > nudges[-1].start.date()  # type: ignore[operator, union-attr]


def test_do_not_overdo_it() -> None:
    for path in SAMPLES.glob("*.y*ml"):
        tasks = plan_record(load_record(path), ME, NOW)
        nudges = sorted(
            t.start  # type: ignore[misc]
            for t in tasks
            if t.status == "planned" and t.rule in ("check-in", "second-check-in")
        )
        assert len(nudges) <= 2
        for first, second in itertools.pairwise(nudges):
            assert (second.date() - first.date()).days >= 3


def test_be_patient() -> None:
    tasks = tasks_of(sample("onsite-acme.yaml"))
    chasing = [t for t in tasks.values() if t.rule in ("check-in", "second-check-in")]
    assert all(t.start.date() > date(2026, 12, 1) for t in chasing)  # type: ignore[union-attr]
    patient = tasks_of(sample("onsite-acme.yaml"), profile="patient")
    assert "second-check-in" not in patient


def test_respect_a_request_not_to_be_contacted() -> None:
    tasks = tasks_of(sample("do-not-contact-hooli.yaml"))
    assert "check-in" not in tasks and "second-check-in" not in tasks
    assert "asked candidates not to follow up" in tasks["move-on"].body


def test_use_business_addresses_not_personal_ones() -> None:
    personal = panel({"name": "Ann Lee", "email": "ann.lee1980@gmail.com"})
    assert any("ann.lee1980@gmail.com" in w for w in plan_warnings(personal, ME))
    business = panel({"name": "Ann Lee", "email": "ann@northwind.example"})
    assert plan_warnings(business, ME) == []


def test_withdraw_courteously_if_you_lose_interest() -> None:
    tasks = plan_record(sample("withdrawn-vandelay.yaml"), ME, NOW)
    [note] = [t for t in tasks if t.status == "planned"]
    assert note.rule == "withdrawal-note" and "withdraw my application" in note.body
    assert "hope our paths cross again" in note.body


def test_no_referral_requests_after_a_rejection() -> None:
    rejected = sample("onsite-acme.yaml", status="rejected", status_since=date(2026, 11, 30))
    close = tasks_of(rejected)["gracious-close"].body
    assert "keep me in mind" in close and "referr" not in close.lower()
    assert "introduc" not in close.lower() and "contacts" not in close.lower()


def test_do_not_take_silence_personally_move_on() -> None:
    move_on = tasks_of(sample("onsite-acme.yaml"))["move-on"]
    assert "do not take the silence personally" in move_on.body
    assert move_on.start == date(2026, 12, 18)
