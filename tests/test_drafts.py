"""Issue 13, drafts: notes that differ per person, topics and names that read well, the right
words for each moment, a call script for the phone, a proofreading pass, a usable `draft`."""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from click.testing import CliRunner

from followup.cli import cli
from followup.config import Settings
from followup.planner import plan_record
from followup.record import InterviewRecord, load_record, record_from_data
from followup.tasks import Task

SAMPLES = Path(__file__).parent.parent / "samples"
NOW = datetime(2026, 11, 20, 19, 0, tzinfo=ZoneInfo("America/New_York"))
ME = Settings(name="Alex Morgan", signature="Alex Morgan", phone="+1 555 0123")

FOUR = {
    "id": "northwind-platform-2026-11",
    "company": "Northwind",
    "role": "Platform Engineer",
    "timezone": "America/New_York",
    "recorded_at": "2026-11-20 17:30",
    "interviews": [
        {
            "at": "2026-11-20 13:00",
            "duration": "3h",
            "kind": "onsite",
            "interviewers": [
                {
                    "name": "Dr. Jane Doe",
                    "email": "jane@northwind.example",
                    "topics": [{"text": "Kafka migration", "kind": "challenge"}],
                },
                {
                    "name": "Raj Patel",
                    "email": "raj@northwind.example",
                    "topics": ["the deploy pipeline", "offer timeline"],
                },
                {
                    "name": "Mei Lin",
                    "email": "mei@northwind.example",
                    "topics": [{"text": "mentoring", "kind": "culture"}],
                },
                {
                    "name": "Tom Becker",
                    "email": "tom@northwind.example",
                    "topics": ["how they test in production"],
                },
            ],
        }
    ],
    "decision": {"expected_by": "2026-12-01"},
    "forgot_to_mention": ["led the on-call rotation redesign", "my AWS certification"],
}


def record(data: dict[str, Any] | None = None, **changes: Any) -> InterviewRecord:
    return record_from_data(Path("test.yaml"), {**(data or FOUR), **changes})


def thank_yous(tasks: list[Task]) -> dict[str, Task]:
    return {task.people[0]: task for task in tasks if task.rule == "thank-you"}


def letter(body: str) -> str:
    """The letter itself: after the subject, before the sign-off and the links."""
    text = body.split("\n\n", 1)[1] if body.startswith("Subject:") else body
    paragraphs = text.split("\n\n")
    start = 1 if paragraphs[0].startswith(("Dear ", "Hello ")) else 0
    end = next(
        (
            i
            for i in range(start, len(paragraphs))
            if paragraphs[i].endswith(",") or ",\n" in paragraphs[i]
        ),
        len(paragraphs),
    )
    return "\n\n".join(paragraphs[start:end])


def sentences(text: str) -> set[str]:
    return {s.strip() for s in re.split(r"(?<=[.!?])\s+", text.replace("\n", " ")) if s.strip()}


# --- 7. no form letter ------------------------------------------------------------------


def test_no_two_thank_yous_of_a_four_person_interview_share_more_than_one_sentence() -> None:
    notes = thank_yous(plan_record(record(), ME, NOW))
    assert len(notes) == 4
    for (a, first), (b, second) in itertools.combinations(notes.items(), 2):
        shared = sentences(letter(first.body)) & sentences(letter(second.body))
        assert len(shared) <= 1, (a, b, shared)


def test_sentences_are_chosen_per_interviewer_and_stable() -> None:
    first = thank_yous(plan_record(record(), ME, NOW))
    again = thank_yous(plan_record(record(), ME, NOW))
    assert {k: t.content_hash for k, t in first.items()} == {
        k: t.content_hash for k, t in again.items()
    }
    reordered = dict(FOUR)
    reordered["interviews"] = [
        {**FOUR["interviews"][0], "interviewers": FOUR["interviews"][0]["interviewers"][::-1]}  # type: ignore[index]
    ]
    shuffled = thank_yous(plan_record(record(reordered), ME, NOW))
    assert {k: t.body for k, t in shuffled.items()} == {k: t.body for k, t in first.items()}


# --- 8. topics ----------------------------------------------------------------------------


def test_topics_read_well_in_any_shape() -> None:
    notes = thank_yous(plan_record(record(), ME, NOW))
    jane, raj, tom = notes["Dr. Jane Doe"].body, notes["Raj Patel"].body, notes["Tom Becker"].body
    assert "the Kafka migration" in jane and jane.count("Kafka migration") == 1
    assert "the the" not in raj and raj.count("deploy pipeline") == 1
    assert "how they test in production" in tom
    assert "offer timeline" not in raj  # logistics never in a thank-you


def test_a_challenge_gets_the_help_sentence_and_culture_does_not() -> None:
    notes = thank_yous(plan_record(record(), ME, NOW))
    assert re.search(r"\bhelp|contribut|tackle|bring my", letter(notes["Dr. Jane Doe"].body))
    mei = letter(notes["Mei Lin"].body)
    assert "mentoring" in mei and "problem" not in mei and "challenge" not in mei


def test_at_most_two_topics_are_named() -> None:
    many = dict(FOUR)
    person = {"name": "Ana Ruiz", "topics": ["SLO design", "capacity planning", "incident reviews"]}
    many["interviews"] = [{**FOUR["interviews"][0], "interviewers": [person]}]  # type: ignore[index]
    body = thank_yous(plan_record(record(many), ME, NOW))["Ana Ruiz"].body
    assert "SLO design" in body and "capacity planning" in body
    assert "incident reviews" not in body


# --- 9. names and forgotten points ------------------------------------------------------


def test_forgotten_points_read_as_sentences() -> None:
    for note in thank_yous(plan_record(record(), ME, NOW)).values():
        assert "I my" not in note.body and "I led the on-call rotation redesign" in note.body
        assert "my AWS certification" in note.body


def test_honorifics_family_names_and_greeting_overrides() -> None:
    people = [
        {"name": "Dr. Jane Doe"},
        {"name": "ZHANG Wei"},
        {"name": "Kenji Tanaka", "greeting": "Tanaka-san"},
        {"name": "Doe, John"},
    ]
    data = dict(FOUR)
    data["interviews"] = [{**FOUR["interviews"][0], "interviewers": people}]  # type: ignore[index]
    notes = thank_yous(plan_record(record(data), ME, NOW))
    assert "Dear Dr. Doe," in notes["Dr. Jane Doe"].body
    assert "Dear Wei," in notes["Zhang Wei"].body  # family name written first, in capitals
    assert "Dear Tanaka-san," in notes["Kenji Tanaka"].body
    assert "Dear John," in notes["John Doe"].body
    formal = thank_yous(plan_record(record(data, style="formal"), ME, NOW))
    assert "Dear Dr. Doe," in formal["Dr. Jane Doe"].body
    assert "Dear Zhang Wei," in formal["Zhang Wei"].body  # no title known: the full name
    assert "Dear John Doe," in formal["John Doe"].body


# --- 10. the right words for each moment --------------------------------------------------


def test_a_second_round_says_so() -> None:
    tasks = plan_record(load_record(SAMPLES / "later-round-stark.yaml"), ME, NOW)
    again = next(t for t in tasks if t.key.endswith("thank-you/round-2/pepper-potts"))
    new = next(t for t in tasks if t.key.endswith("thank-you/round-2/bruce-banner"))
    assert "second round" in again.body and "again" in again.body
    assert "second round" in new.body


def test_check_ins_restate_fit_and_ask_for_a_timeframe() -> None:
    tasks = {t.rule: t for t in plan_record(record(), ME, NOW)}
    check_in = letter(tasks["check-in"].body)
    assert "Tuesday, December 1" in check_in  # the timetable they gave [002]
    assert "new timeframe" in check_in
    assert len([line for line in check_in.split("\n") if "confident" in line]) == 1
    second = letter(tasks["second-check-in"].body)
    assert "?" in second and ("decision" in second or "news" in second)


def test_a_rejection_reply_asks_to_be_kept_in_mind() -> None:
    rejected = record(status="rejected", status_since="2026-11-30")
    close = next(t for t in plan_record(rejected, ME, NOW) if t.rule == "gracious-close")
    assert "keep me in mind" in close.body and "feedback" in close.body
    assert "referr" not in close.body.lower()


def test_do_not_contact_has_its_own_move_on_wording() -> None:
    quiet = record(contact={"do_not_contact": True})
    move_on = next(t for t in plan_record(quiet, ME, NOW) if t.rule == "move-on")
    assert "asked" in move_on.body and "not to" in move_on.body


# --- 11. the phone gets a call script -----------------------------------------------------


def test_a_call_gets_a_script_and_a_voicemail() -> None:
    globex = load_record(SAMPLES / "phone-screen-globex.yaml")
    check_in = next(t for t in plan_record(globex, ME, NOW) if t.rule == "check-in")
    assert check_in.kind == "call" and "Subject:" not in check_in.body
    for part in ("Opening", "dbt models", "Has a decision been made", "Voicemail"):
        assert part in check_in.body, part
    assert "+1 555 0123" in check_in.body  # the voicemail leaves your number
    assert check_in.links == ("tel:+13125550142",)


# --- 12. proofreading ----------------------------------------------------------------------


def test_drafts_are_proofread() -> None:
    sloppy = dict(FOUR)
    person = {
        "name": "Ana Ruiz",
        "topics": ["the the API design"],
        "help": "I  built built an API.",
    }
    sloppy["interviews"] = [{**FOUR["interviews"][0], "interviewers": [person]}]  # type: ignore[index]
    tasks = plan_record(record(sloppy), ME, NOW)
    for task in tasks:
        assert not re.search(r"\b(\w+)\s+\1\b", task.body, re.IGNORECASE), task.key
        assert not re.search(r"\{\w+\}", task.body), task.key
        for paragraph in letter(task.body).split("\n\n") if task.rule == "thank-you" else []:
            assert "\n" not in paragraph, paragraph  # paragraph breaks only
    note = thank_yous(tasks)["Ana Ruiz"]
    assert "proofread" in note.body.lower()
    withdrawn = load_record(SAMPLES / "withdrawn-vandelay.yaml")
    body = next(t for t in plan_record(withdrawn, ME, NOW) if t.rule == "withdrawal-note").body
    assert all("\n" not in p for p in letter(body).split("\n\n"))


def test_an_unset_signature_is_a_warning() -> None:
    from followup.planner import plan_warnings

    assert any("signature" in w for w in plan_warnings(record(), Settings()))
    assert not any("signature" in w for w in plan_warnings(record(), ME))


# --- 13. the draft command, titles, links -------------------------------------------------


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--now", NOW.isoformat(), *args])
    return result.exit_code, result.stdout, result.stderr


def test_draft_shows_planned_tasks_and_marks_cancelled_ones() -> None:
    code, out, _ = run("draft", str(SAMPLES / "withdrawn-vandelay.yaml"))
    assert code == 0 and "withdraw" in out
    assert out.count("Subject:") == 1 and "(cancelled)" in out


def test_draft_matches_an_interviewer_by_first_name_in_any_case() -> None:
    code, out, _ = run("draft", str(SAMPLES / "onsite-acme.yaml"), "--interviewer", "RAJ")
    assert code == 0 and "Dear Raj" in out and "Dear Jane" not in out


def test_titles_name_the_company() -> None:
    for path in sorted(SAMPLES.glob("*.y*ml")):
        loaded = load_record(path)
        for task in plan_record(loaded, ME, NOW):
            assert loaded.company in task.title, task.title


def test_the_send_link_is_short_and_the_draft_is_plain_text_above_it() -> None:
    jane = thank_yous(plan_record(record(), ME, NOW))["Dr. Jane Doe"]
    [link] = jane.links
    assert link.startswith("mailto:jane@northwind.example?subject=") and "body=" not in link
    assert len(link) < 120
    assert jane.body.index("Dear Dr. Doe") < jane.body.index(link)


def test_check_in_on_a_saturday_decision_reads_right() -> None:
    saturday = record(decision={"expected_by": "2026-12-05", "may_call": True})
    check_in = next(t for t in plan_record(saturday, ME, NOW) if t.rule == "check-in")
    assert isinstance(check_in.start, datetime) and check_in.start.date() == date(2026, 12, 7)
    assert msgspec.json.encode(check_in.to_json())


def test_the_readme_plan_and_draft_examples_are_real_output() -> None:
    readme = (SAMPLES.parent / "README.md").read_text(encoding="utf-8")
    acme = str(SAMPLES / "onsite-acme.yaml")
    for args in (("plan", acme), ("draft", acme, "--interviewer", "raj")):
        code, out, err = run(*args)
        assert code == 0 and out in readme and err in readme, args
