"""The planner: `plan(record, playbook, settings, now)` -> the record's follow-up tasks.

Pure and deterministic: no clock, no network, no files but the templates. The same
inputs give the same tasks, keys and content hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from followup import drafts
from followup.calendar_math import (
    BusinessCalendar,
    Offset,
    WorkingHours,
    add_elapsed,
    at_local,
    localize,
    parse_clock,
)
from followup.config import Settings
from followup.playbook import EVENING, MORNING, Playbook, Rule, choose_profile, playbook_for
from followup.record import Interview, Interviewer, InterviewRecord, person_slug
from followup.tasks import Task, TaskStatus


@dataclass(frozen=True)
class _Context:
    record: InterviewRecord
    settings: Settings
    calendar: BusinessCalendar
    employer_zone: ZoneInfo
    own_zone: ZoneInfo
    hours: WorkingHours
    recorded: datetime  # when the record was written: what "late" is measured from

    def interview_start(self, interview: Interview) -> datetime:
        return localize(interview.at, self.employer_zone)

    def interview_end(self, interview: Interview) -> datetime:
        return add_elapsed(self.interview_start(interview), timedelta(minutes=interview.minutes))


def plan(
    record: InterviewRecord,
    playbook: Playbook,
    settings: Settings,
    now: datetime,
    calendar: BusinessCalendar | None = None,
) -> list[Task]:
    """Every task of the record's plan, planned or cancelled, in time order."""
    employer_zone = record.zone
    context = _Context(
        record=record,
        settings=settings,
        calendar=calendar
        or BusinessCalendar(record.country or settings.country, settings.subdivision),
        employer_zone=employer_zone,
        own_zone=ZoneInfo(settings.timezone) if settings.timezone else employer_zone,
        hours=WorkingHours(*(parse_clock(text) for text in settings.working_hours)),
        recorded=localize(record.recorded_at, employer_zone) if record.recorded_at else now,
    )
    anchors: dict[str, datetime | date] = {}  # when each chained rule falls, for later rules
    tasks: list[Task] = []
    for rule in playbook.rules:
        if rule.enabled:
            tasks.extend(_tasks_of_rule(rule, context, anchors))
    return sorted(tasks, key=lambda task: (_instant(task.start, context.own_zone), task.key))


def plan_record(
    record: InterviewRecord, settings: Settings, now: datetime, profile: str | None = None
) -> list[Task]:
    """Plan with the profile the command line, record, industry or settings choose."""
    chosen = choose_profile(profile, record.profile, record.industry, settings.profile)
    offsets = {**settings.offsets, **record.offsets}
    return plan(record, playbook_for(chosen, offsets), settings, now)


def _tasks_of_rule(
    rule: Rule, context: _Context, anchors: dict[str, datetime | date]
) -> list[Task]:
    record = context.record
    if rule.outcome_only and record.status not in rule.statuses:
        return []
    rounds = list(enumerate(record.interviews, start=1))
    if rule.rounds == "latest":
        rounds = [max(rounds, key=lambda item: item[1].at)]
    tasks = []
    for number, interview in rounds:
        when = _when(rule, context, interview, anchors)
        if not _condition_holds(rule.condition, context, interview):
            anchors[rule.id] = when
            continue
        people: list[Interviewer | None] = (
            list(interview.interviewers) if rule.per_interviewer else [None]
        )
        made = [_task(rule, context, interview, number, person, when) for person in people]
        done = [record.done[task.ref] for task in made if task.ref in record.done]
        # What follows counts from when it was actually done, not from when it was planned.
        anchors[rule.id] = max(done) if done and len(done) == len(made) else when
        tasks.extend(made)
    return tasks


def _when(
    rule: Rule, context: _Context, interview: Interview, anchors: dict[str, datetime | date]
) -> datetime | date:
    """When the rule falls: an aware datetime, or a date for an all-day item."""
    record = context.record
    offset = rule.offset_value()
    anchor: datetime | date
    if rule.anchor == "interview-start":
        anchor = context.interview_start(interview)
    elif rule.anchor == "interview-end":
        anchor = context.interview_end(interview)
    elif rule.anchor == "decision":
        if record.decision.expected_by is not None:
            anchor = record.decision.expected_by
            if record.decision.may_call and rule.offset_if_may_call:
                offset = Offset.parse(rule.offset_if_may_call)
        else:
            anchor = context.interview_end(interview)
            offset = Offset.parse(rule.fallback or rule.offset)
    elif rule.anchor == "outcome":
        anchor = record.status_since or context.recorded.date()
    else:
        anchor = anchors[rule.anchor]

    if offset.unit == "h":
        assert isinstance(anchor, datetime), f"rule {rule.id}: hour offsets need a time"
        moment = add_elapsed(anchor, timedelta(hours=offset.amount))
        return _outside_quiet_evening(moment, context.own_zone) if rule.quiet_evenings else moment
    day = anchor.date() if isinstance(anchor, datetime) else anchor
    day = context.calendar.shift(day, offset)
    if rule.clock is None:
        return day
    zone = context.employer_zone if rule.employer_hours else context.own_zone
    return at_local(day, parse_clock(rule.clock), zone)


def _outside_quiet_evening(moment: datetime, zone: ZoneInfo) -> datetime:
    """A note written at 23:00 reads worse than one sent at 08:00 the next morning."""
    local = moment.astimezone(zone)
    evening, morning = parse_clock(EVENING), parse_clock(MORNING)
    clock = local.time()
    if clock >= evening:
        return at_local(local.date() + timedelta(days=1), morning, zone)
    if clock < morning:
        return at_local(local.date(), morning, zone)
    return local


def _condition_holds(condition: str, context: _Context, interview: Interview) -> bool:
    record = context.record
    if condition == "always":
        return True
    if condition == "before-interview":
        return context.recorded < context.interview_start(interview)
    if condition == "may-contact":
        return not record.contact.do_not_contact
    if condition == "formal":
        return record.style == "formal"
    raise ValueError(f"unknown rule condition {condition!r}")


def _task(
    rule: Rule,
    context: _Context,
    interview: Interview,
    number: int,
    person: Interviewer | None,
    when: datetime | date,
) -> Task:
    record = context.record
    key = f"{record.id}/{rule.id}"
    if rule.rounds == "each" and number > 1:
        key += f"/round-{number}"
    if person is not None:
        key += f"/{person_slug(person.name)}"

    kind, channel = _kind_and_channel(rule, record)
    start, late = _not_in_the_past(rule, context, interview, when)
    due: datetime | date = start
    if rule.deadline and isinstance(start, datetime):
        due = max(_deadline(rule, context, interview), start).astimezone(start.tzinfo)
    contact_person = person or _contact_person(record)
    text, links = _body(rule, context, interview, person, kind)
    return Task(
        key=key,
        record=record.id,
        rule=rule.id,
        title=rule.title.format(
            company=record.company, role=record.role, person=contact_person.name
        ),
        kind=kind,  # type: ignore[arg-type]
        start=start,
        due=due,
        duration_minutes=rule.duration_minutes,
        priority=rule.priority,
        labels=(*rule.labels, *([] if kind == rule.kind else [kind])),
        people=(contact_person.name,) if rule.employer_hours or person else (),
        channel=channel,
        body=drafts.with_links(text, links),
        application=record.application,
        reminder_minutes=rule.reminder_minutes,
        late=late,
        status=_status(rule, record, key),
        links=tuple(links),
        done_on=record.done.get(key.partition("/")[2]),
    )


def _status(rule: Rule, record: InterviewRecord, key: str) -> TaskStatus:
    """Done when the record says so (whatever happened since), else by the outcome."""
    if key.partition("/")[2] in record.done:
        return "done"
    return "planned" if record.status in rule.statuses else "cancelled"


def _kind_and_channel(rule: Rule, record: InterviewRecord) -> tuple[str, str]:
    """Match how the employer reaches you [003]: by phone means a call."""
    by_phone = record.contact.channel == "phone"
    if rule.id in ("check-in", "second-check-in") and by_phone:
        return "call", "phone"
    if rule.id == "thank-you" and by_phone and record.style == "casual":
        return "call", "phone"
    if rule.kind == "mail":
        return "mail", "mail"
    return rule.kind, "email" if rule.kind == "email" else "-"


def _not_in_the_past(
    rule: Rule, context: _Context, interview: Interview, when: datetime | date
) -> tuple[datetime | date, bool]:
    """Nothing starts before the record was written. Still within its deadline, a task
    starts then; past its deadline, it moves to the next working slot and is marked late."""
    recorded = context.recorded
    if rule.condition == "before-interview":
        return when, False
    if isinstance(when, datetime):
        if when >= recorded:
            return when, False
        if rule.deadline and recorded < _deadline(rule, context, interview):
            return _round_up(recorded).astimezone(when.tzinfo), False
        zone = context.employer_zone if rule.employer_hours else context.own_zone
        # News recorded later the same day is no lateness: the note simply goes next.
        late = rule.anchor != "outcome"
        return context.hours.next_slot(recorded.astimezone(zone), context.calendar), late
    today = recorded.astimezone(context.own_zone).date()
    return (when, False) if when >= today else (today, True)


def _deadline(rule: Rule, context: _Context, interview: Interview) -> datetime:
    assert rule.deadline is not None
    return add_elapsed(context.interview_end(interview), Offset.parse(rule.deadline).hours)


def _round_up(moment: datetime, minutes: int = 5) -> datetime:
    """To the next whole five minutes, so a start taken from the clock looks hand-made."""
    spare = timedelta(
        minutes=moment.minute % minutes, seconds=moment.second, microseconds=moment.microsecond
    )
    return moment if not spare else add_elapsed(moment, timedelta(minutes=minutes) - spare)


def _contact_person(record: InterviewRecord) -> Interviewer:
    """Who check-ins address: the named contact, else the latest round's first interviewer."""
    first = record.latest.interviewers[0]
    if record.contact.name:
        return Interviewer(
            name=record.contact.name,
            email=record.contact.email or None,
            phone=record.contact.phone or None,
        )
    return first


def _body(
    rule: Rule,
    context: _Context,
    interview: Interview,
    person: Interviewer | None,
    kind: str,
) -> tuple[str, list[str]]:
    record, settings = context.record, context.settings
    signature = settings.signature or settings.name or "[Your name]"
    day = interview.at.date()
    if person is not None:
        fields = drafts.thank_you_fields(
            name=person.name,
            topics=list(person.topics),
            help_text=person.help,
            forgot=list(record.forgot_to_mention),
            company=record.company,
            role=record.role,
            day=day,
            signature=signature,
        )
        to = person
    else:
        to = _contact_person(record)
        topics = [topic for someone in interview.interviewers for topic in someone.topics]
        expected = record.decision.expected_by
        fields = {
            "greeting_name": to.name.split()[0] if to.name.split() else to.name,
            "company": record.company,
            "role": record.role,
            "interview_day": drafts.long_day(record.latest.at.date()),
            "timeline_sentence": (
                f"You mentioned you hoped to decide by {drafts.long_day(expected)}."
                if expected
                else ""
            ),
            "focus": drafts.join_words(topics[:2]) or "the team's work",
            "signature": signature,
        }
    draft = drafts.render(rule.draft, fields, settings.templates_dir)
    links: list[str] = []
    if rule.kind == "email" or kind == "call":
        email = to.email or (record.contact.email if person is None else None)
        phone = to.phone or (record.contact.phone if person is None else None)
        link = (
            drafts.tel(phone) if kind == "call" else drafts.mailto(email, draft.subject, draft.text)
        )
        if link:
            links.append(link)
    text = f"Subject: {draft.subject}\n\n{draft.text}" if draft.subject else draft.text
    return text, links


def _instant(value: datetime | date, zone: ZoneInfo) -> datetime:
    """Sort all-day items at the start of their day, beside timed ones."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0), tzinfo=zone)
