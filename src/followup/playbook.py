"""The playbook: the follow-up rules as data, and the profiles that adjust them.

Each rule cites the guidance articles it comes from (`../shared/guidance/`, by prefix).
A profile, the settings file (`[planning.offsets]`) or a record (`offsets:`) may change a
rule's offset; the planner reads only this data.
"""

from __future__ import annotations

import dataclasses
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
