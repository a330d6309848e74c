"""The playbook: the follow-up rules as data, and the profiles that adjust them.

Each rule cites the guidance articles it comes from (`../shared/guidance/`, by prefix).
A profile, the settings file (`[planning.offsets]`) or a record (`offsets:`) may change a
rule's offset; the planner reads only this data.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass

from followup.calendar_math import Offset

# A thank-you that would start this late (the candidate's own clock) waits for the morning.
EVENING = "21:00"
MORNING = "08:00"
# When you can be expected to send or take a call yourself (your own zone).
WAKING_HOURS = ("07:00", "22:00")
# Employer-facing sends prefer the employer's morning [their inbox is read then]; this ends it.
NOON = "12:00"
# A thank-you this late (or landing this close to the check-in) is folded into the check-in.
STALE_THANK_YOU_DAYS = 7


@dataclass(frozen=True)
class Rule:
    id: str
    # What the offset counts from: interview-start / interview-end (of each or the latest
    # round), decision (the promised date; `fallback` from the interview end when unknown),
    # another rule's id, or outcome (the day the status changed).
    anchor: str
    offset: str
    kind: str
    priority: int  # 1 most urgent … 4 least (Todoist's P1…P4)
    title: str
    draft: str
    sources: tuple[str, ...]
    fallback: str | None = None  # offset from the interview end when no decision date is known
    deadline: str | None = None  # elapsed time from the anchor by which it must be done
    quiet_evenings: bool = False  # a late-evening start moves to the next morning
    offset_if_may_call: str | None = None  # they said you may call on the decision date
    clock: str | None = None  # your time of day for day offsets; None: all-day
    # It reaches the employer: a business day, at the contact time their working hours give.
    employer_hours: bool = False
    contact_minutes: int = 60  # how far into their working day it lands: not the first minute
    call_title: str | None = None  # the title when the channel makes it a call
    draft_if_no_contact: str | None = None  # the draft when they asked not to be contacted
    per_interviewer: bool = False
    rounds: str = "latest"  # "each": once per interview round
    condition: str = "always"  # always | before-interview | may-contact | formal
    statuses: tuple[str, ...] = ("waiting", "heard-back")  # planned in these, else cancelled
    outcome_only: bool = False  # exists only once the status is one of `statuses`
    duration_minutes: int = 30
    reminder_minutes: int | None = 15
    labels: tuple[str, ...] = ()
    enabled: bool = True

    def offset_value(self) -> Offset:
        return Offset.parse(self.offset)


ALL_STATUSES = ("waiting", "heard-back", "offer", "rejected")

RULES: tuple[Rule, ...] = (
    Rule(
        id="ask-timeline",
        anchor="interview-start",
        offset="0h",
        kind="prep",
        priority=2,
        title="Ask {company} when they expect to decide",
        draft="ask-timeline",
        sources=("000", "001", "002", "003"),
        condition="before-interview",
        statuses=ALL_STATUSES,
        duration_minutes=15,
        reminder_minutes=30,
        labels=("prep",),
    ),
    Rule(
        id="thank-you",
        anchor="interview-end",
        offset="2h",  # the next morning instead when that falls late in the evening
        kind="email",
        priority=1,
        title="Send a thank-you note to {person} at {company}",
        call_title="Call {person} at {company} to say thank you",
        draft="thank-you",
        sources=("000", "001", "002", "003", "004"),
        deadline="24h",
        quiet_evenings=True,
        per_interviewer=True,
        rounds="each",
        statuses=ALL_STATUSES,
        labels=("thank-you",),
    ),
    Rule(
        id="thank-you-card",
        anchor="interview-end",
        offset="1bd",
        kind="mail",
        priority=2,
        title="Mail a handwritten thank-you card to {person} at {company}",
        draft="thank-you-card",
        sources=("004",),
        employer_hours=True,  # posted or handed in at the front desk while it is open
        contact_minutes=0,
        per_interviewer=True,
        rounds="each",
        condition="formal",
        statuses=ALL_STATUSES,
        labels=("thank-you",),
    ),
    Rule(
        id="keep-searching",
        anchor="interview-end",
        offset="1bd",
        kind="reflect",
        priority=4,
        title="Keep applying and interviewing elsewhere while {company} decides",
        draft="keep-searching",
        sources=("000", "003"),
        reminder_minutes=None,
        labels=("search",),
    ),
    Rule(
        id="references",
        anchor="interview-end",
        offset="2bd",
        kind="prep",
        priority=3,
        title="Get your references ready for {company}",
        draft="references",
        sources=("002",),
        clock="10:00",
        duration_minutes=45,
        statuses=("waiting", "heard-back", "offer"),  # an offer is when references get called
        labels=("prep",),
    ),
    Rule(
        id="check-in",
        anchor="decision",
        offset="3bd",
        fallback="7d",
        offset_if_may_call="0bd",
        kind="email",  # a call when the employer reaches you by phone
        priority=2,
        title="Check in with {company} about the {role} decision",
        draft="check-in",
        sources=("000", "001", "002", "004"),
        employer_hours=True,
        condition="may-contact",
        labels=("check-in",),
    ),
    Rule(
        id="second-check-in",
        anchor="check-in",
        offset="7d",
        kind="email",
        priority=2,
        title="One more gentle follow-up with {company}",
        draft="second-check-in",
        sources=("003", "004"),
        employer_hours=True,
        condition="may-contact",
        labels=("check-in",),
    ),
    Rule(
        id="move-on",
        anchor="second-check-in",
        offset="7d",
        kind="reflect",
        priority=4,
        title="Let {company} go and put your energy into other openings",
        draft="move-on",
        draft_if_no_contact="move-on-no-contact",
        sources=("003",),
        reminder_minutes=None,
        labels=("reflect",),
    ),
    Rule(
        id="withdrawal-note",
        anchor="outcome",
        offset="0bd",
        kind="email",
        priority=1,
        title="Tell {company} you are withdrawing, courteously",
        draft="withdrawal-note",
        sources=("004",),
        employer_hours=True,
        statuses=("withdrawn",),
        outcome_only=True,
        labels=("outcome",),
    ),
    Rule(
        id="gracious-close",
        anchor="outcome",
        offset="1bd",
        kind="email",
        priority=2,
        title="Thank {company} for considering you",
        draft="gracious-close",
        sources=("000",),
        employer_hours=True,
        statuses=("rejected",),
        outcome_only=True,
        labels=("outcome",),
    ),
)

RULE_IDS = frozenset(rule.id for rule in RULES)
# Rules counting from an interview's time; the others count from a day, so in days only.
TIMED_RULE_IDS = frozenset(
    rule.id for rule in RULES if rule.anchor in ("interview-start", "interview-end")
)


def offset_problem(rule_id: str, text: str) -> str | None:
    """What is wrong with `text` as the offset of the rule `rule_id`, or None."""
    try:
        offset = Offset.parse(text)
    except ValueError as error:
        return str(error)
    if offset.unit == "h" and rule_id not in TIMED_RULE_IDS:
        return f"{rule_id} falls on a day: give days (d or bd), not hours"
    return None


# Profiles change the data above, nothing else. [001] argues for a brisker cadence in sales.
PROFILES: Mapping[str, Mapping[str, Mapping[str, object]]] = {
    "standard": {},
    "assertive": {
        "check-in": {"offset": "0bd", "fallback": "3bd"},
        "second-check-in": {"offset": "4bd"},
        "move-on": {"offset": "7d"},
    },
    "patient": {
        "check-in": {"offset": "5bd", "fallback": "10bd"},
        "second-check-in": {"enabled": False},
        "move-on": {"anchor": "check-in", "offset": "14d"},
    },
}


@dataclass(frozen=True)
class Playbook:
    profile: str
    rules: tuple[Rule, ...]

    def rule(self, rule_id: str) -> Rule:
        return next(rule for rule in self.rules if rule.id == rule_id)


def playbook_for(profile: str, offsets: Mapping[str, str] | None = None) -> Playbook:
    """The rules of a profile, with per-rule offset overrides applied last."""
    return _playbook(profile, tuple(sorted((offsets or {}).items())))


@functools.lru_cache(maxsize=64)
def _playbook(profile: str, override: tuple[tuple[str, str], ...]) -> Playbook:
    """Made once per profile and overrides (a feed plans every record with the same)."""
    offsets = dict(override)
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r} (choose {', '.join(PROFILES)})")
    changes = PROFILES[profile]
    rules = []
    for rule in RULES:
        adjusted = dataclasses.replace(rule, **changes.get(rule.id, {}))  # type: ignore[arg-type]
        if offsets and rule.id in offsets:
            Offset.parse(offsets[rule.id])  # fail early on a malformed override
            adjusted = dataclasses.replace(adjusted, offset=offsets[rule.id])
        rules.append(adjusted)
    return Playbook(profile, tuple(rules))


def choose_profile(
    requested: str | None, record_profile: str | None, industry: str | None, settings: str | None
) -> str:
    """Command line, then the record, then the industry (sales is brisk), then settings."""
    if requested:
        return requested
    if record_profile:
        return record_profile
    if industry and industry.strip().lower() == "sales":
        return "assertive"
    return settings or "standard"


@dataclass(frozen=True)
class Recommendation:
    """One actionable point of the guidance (`../shared/guidance/RECOMMENDATIONS.md`), where
    followup encodes it, and the test that pins it (`tests/test_recommendations.py`)."""

    number: int
    test: str
    text: str
    sources: tuple[str, ...]
    how: str


RECOMMENDATIONS: tuple[Recommendation, ...] = tuple(
    Recommendation(number, test, text, tuple(sources.split()), how)
    for number, (test, text, sources, how) in enumerate(
        (
            (
                "ask_when_they_expect_to_decide",
                "At the end of the interview, ask when they expect to decide",
                "000 001 002 003",
                "ask-timeline, when the record is written before the interview",
            ),
            (
                "ask_whether_you_may_call_on_the_date",
                "If they give a date, ask whether you may call then",
                "001",
                "ask-timeline; `decision.may_call` moves the check-in onto the date",
            ),
            (
                "a_separate_thank_you_to_each_interviewer",
                "A separate thank-you to each person who interviewed you",
                "000 004",
                "thank-you, one task per interviewer and round",
            ),
            (
                "send_the_thank_you_within_24_hours",
                "Send it soon: within 24 hours; two business days at the latest",
                "003 004 000",
                "thank-you 2 h after the end, due within 24 h; `offsets: {thank-you: 2bd}`",
            ),
            (
                "get_every_name_right",
                "Get every name right",
                "000",
                "names as written, honorifics, family name first, `greeting:`; proofread reminder",
            ),
            (
                "make_each_note_different_never_a_form_letter",
                "Make each note a little different in case they compare; never one form letter",
                "000 004",
                "sentence pools per interviewer: no two notes share more than one sentence",
            ),
            (
                "thank_them_even_if_you_will_not_get_the_job",
                "Thank them even if you are sure you will not get the job",
                "000",
                "thank-yous stay planned after a rejection",
            ),
            (
                "use_the_medium_that_reaches_the_employer",
                "Use the medium that reaches the employer best — the one they used to reach you",
                "000 003",
                "`contact.channel`: phone makes check-ins calls with a script",
            ),
            (
                "match_the_medium_to_the_formality",
                "Match the medium to the company's formality; "
                "email is expected in most corporations",
                "004 001",
                "email by default; `style: formal` adds a card and formal greetings",
            ),
            (
                "refer_to_the_topics_discussed",
                "Refer to the topics you discussed",
                "001",
                "up to two topics per note, each once, written to read well",
            ),
            (
                "say_how_you_would_help_with_a_challenge",
                "Where they named a challenge, say how you would help with it",
                "001",
                "a `challenge` topic (or `help:`) brings the how-I-would-help sentence",
            ),
            (
                "mention_what_you_forgot_to_say",
                "Mention what you forgot to say in the interview",
                "003 004",
                "`forgot_to_mention` items as sentences",
            ),
            (
                "keep_it_brief",
                "Keep it brief; it is not a second interview",
                "002 003",
                "two short paragraphs, at most two topics and two forgotten points",
            ),
            (
                "proofread",
                "Proofread: no spelling or grammar mistakes",
                "000 004",
                "a proofreading pass on every draft; the thank-you task says to proofread",
            ),
            (
                "restate_interest_fit_and_contribution",
                "Restate your interest, your fit and what you would contribute",
                "000 003 004",
                "an interest-and-fit sentence in every thank-you; the check-in restates fit",
            ),
            (
                "say_you_would_like_to_hear_whatever_the_result",
                "Say you would like to hear from them whatever the result",
                "003",
                "the closing sentence of every thank-you",
            ),
            (
                "prepare_and_brief_your_references",
                "Prepare your references and brief them on what to cover",
                "002",
                "references, kept through an offer",
            ),
            (
                "keep_searching_elsewhere",
                "Keep searching and interviewing elsewhere",
                "000 003",
                "keep-searching",
            ),
            (
                "check_in_at_least_three_days_after_the_date",
                "With a date: check in a few days (at least three) after it has passed",
                "002",
                "check-in 3 business days after the decision date",
            ),
            (
                "remind_them_of_their_timetable",
                "Remind them of the timetable they gave you",
                "002",
                "the check-in names the date they gave",
            ),
            (
                "without_a_date_follow_up_after_about_a_week",
                "Without a date: follow up after about a week",
                "000 001",
                "check-in 7 days after the interview; `assertive`: 3 business days",
            ),
            (
                "sales_roles_follow_up_more_assertively",
                "Sales roles expect a more assertive follow-up",
                "001",
                "`industry: sales` selects the assertive profile",
            ),
            (
                "on_the_call_thank_ask_and_ask_for_a_new_timeframe",
                "On the call: thank them, show interest, ask whether a decision was made; "
                "if not, restate your qualifications and ask for a new timeframe",
                "001",
                "the check-in call script and the check-in email",
            ),
            (
                "on_a_call_build_rapport_and_state_strengths",
                "On a phone call, build rapport and state your strengths",
                "000",
                "call scripts open on a topic you shared and name a strength",
            ),
            (
                "follow_up_once_then_once_more_then_let_go",
                "Follow up once; if nothing, once more; then let go",
                "003",
                "check-in, second-check-in, move-on",
            ),
            (
                "do_not_overdo_it",
                "Do not overdo it — calling too often hurts",
                "000 004",
                "at most two nudges, a week apart, never two items on one day",
            ),
            (
                "be_patient",
                "Be patient: hiring takes longer than employers expect",
                "000 002",
                "nothing chases before the date; the `patient` profile",
            ),
            (
                "respect_a_request_not_to_be_contacted",
                "Respect a request not to be contacted",
                "003",
                "`do_not_contact` drops the check-ins; its own move-on wording",
            ),
            (
                "use_business_addresses_not_personal_ones",
                "Use a business address; avoid hiring managers' personal numbers or accounts",
                "003",
                "a warning for a personal (free-mail) address in the record",
            ),
            (
                "withdraw_courteously_if_you_lose_interest",
                "If you lose interest, withdraw courteously — don't burn bridges",
                "004",
                "`status: withdrawn`: the withdrawal note, everything else cancelled",
            ),
            (
                "no_referral_requests_after_a_rejection",
                "After a rejection, do not ask the interviewer for referrals",
                "000",
                "gracious-close asks to be kept in mind, never for referrals",
            ),
            (
                "do_not_take_silence_personally_move_on",
                "Don't take silence personally; move on to other opportunities",
                "003",
                "move-on",
            ),
        ),
        start=1,
    )
)
