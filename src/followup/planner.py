"""The planner: `plan(record, playbook, settings, now)` -> the record's follow-up tasks.

Pure and deterministic: no clock, no network, no files but the templates (and the time zone
and holiday tables). The same inputs give the same tasks, keys and content hashes.

Two clocks: what reaches the employer (check-ins, calls, notes, a card) lands on one of their
business days at a contact time their working hours give, and, when you live elsewhere, at a
time you are awake; your own tasks follow your zone and your country's holidays.
"""

from __future__ import annotations

import dataclasses
import functools
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
    country_of_zone,
    localize,
    parse_clock,
)
from followup.config import Settings
from followup.playbook import (
    EVENING,
    MORNING,
    NOON,
    STALE_THANK_YOU_DAYS,
    WAKING_HOURS,
    Playbook,
    Rule,
    choose_profile,
    playbook_for,
)
from followup.record import Interview, Interviewer, InterviewRecord, person_slug
from followup.tasks import Task, TaskStatus

# Free-mail domains: a hiring manager's personal account is not the place to follow up [003].
PERSONAL_MAIL = ("gmail.com", "googlemail.com", "yahoo.", "hotmail.", "outlook.com", "icloud.com")
UNSIGNED = "[Your name]"


@dataclass(frozen=True)
class _Context:
    record: InterviewRecord
    settings: Settings
    employer_calendar: BusinessCalendar
    own_calendar: BusinessCalendar
    employer_zone: ZoneInfo
    own_zone: ZoneInfo
    hours: WorkingHours  # the employer's
    waking: WorkingHours  # yours
    recorded: datetime  # when the record was written: what "late" is measured from
    decision_by: date | None  # the promised date, unless older than the latest round
    merge_thanks: bool = False  # thank-yous too late to send apart: the check-in carries them

    def interview_start(self, interview: Interview) -> datetime:
        return localize(interview.at, self.employer_zone)

    def interview_end(self, interview: Interview) -> datetime:
        return add_elapsed(self.interview_start(interview), timedelta(minutes=interview.minutes))


@dataclass(frozen=True)
class _Slot:
    start: datetime | date
    late: bool = False
    send_at: datetime | None = None  # when the task is a reminder to schedule a send


def plan(
    record: InterviewRecord,
    playbook: Playbook,
    settings: Settings,
    now: datetime,
    calendar: BusinessCalendar | None = None,
) -> list[Task]:
    """Every task of the record's plan, planned or cancelled, in time order."""
    employer_zone = record.zone
    own_zone = ZoneInfo(settings.timezone) if settings.timezone else employer_zone
    employer_country = employer_country_of(record, settings)
    own_country = settings.country or (
        country_of_zone(settings.timezone) if settings.timezone else employer_country
    )
    employer_calendar = calendar or BusinessCalendar(employer_country)
    context = _Context(
        record=record,
        settings=settings,
        employer_calendar=employer_calendar,
        own_calendar=calendar
        or (
            employer_calendar
            if own_country == employer_country and not settings.subdivision
            else BusinessCalendar(own_country, settings.subdivision)
        ),
        employer_zone=employer_zone,
        own_zone=own_zone,
        hours=WorkingHours(*(parse_clock(text) for text in settings.working_hours)),
        waking=WorkingHours(*(parse_clock(text) for text in WAKING_HOURS)),
        recorded=localize(record.recorded_at, employer_zone) if record.recorded_at else now,
        decision_by=_fresh_decision(record),
    )
    tasks = _plan_rules(playbook, context)
    if _thank_yous_stale(tasks, context):
        tasks = _plan_rules(playbook, dataclasses.replace(context, merge_thanks=True))
    return sorted(tasks, key=lambda task: (_instant(task.start, context.own_zone), task.key))


def plan_record(
    record: InterviewRecord, settings: Settings, now: datetime, profile: str | None = None
) -> list[Task]:
    """Plan with the profile the command line, record, industry or settings choose."""
    chosen = choose_profile(profile, record.profile, record.industry, settings.profile)
    offsets = {**settings.offsets, **record.offsets}
    return plan(record, playbook_for(chosen, offsets), settings, now)


def employer_country_of(record: InterviewRecord, settings: Settings) -> str | None:
    """The record's `country:`, else the settings' `employer_country`, else the time zone's."""
    return record.country or settings.employer_country or country_of_zone(record.timezone)


def record_warnings(record: InterviewRecord) -> list[str]:
    """One line each: what in the record the plan had to work around."""
    warnings = []
    expected, latest = record.decision.expected_by, record.latest.at.date()
    if expected is not None and expected < latest:
        warnings.append(
            f"decision.expected_by {expected} is before the latest round ({latest}): "
            "planned as if no date was given; ask them for a new one"
        )
    for interview in record.interviews:
        if len(interview.interviewers) > len(drafts.POOLS["opening"]):
            warnings.append(
                f"{len(interview.interviewers)} interviewers on {interview.at:%Y-%m-%d}: "
                "some thank-yous will share sentences, so personalise them by hand"
            )
    people = [p for i in record.interviews for p in i.interviewers]
    addresses = [p.email for p in people] + [record.contact.email]
    for address in sorted({a for a in addresses if a}):
        domain = address.rpartition("@")[2].lower()
        if domain.startswith(PERSONAL_MAIL):
            warnings.append(
                f"{address} looks like a personal address: follow up at their business address"
            )
    if record.country is None and country_of_zone(record.timezone) is None:
        warnings.append(
            f"no country for time zone {record.timezone}: public holidays are not skipped "
            "(add country: to the record)"
        )
    return warnings


def plan_warnings(record: InterviewRecord, settings: Settings) -> list[str]:
    """The record's warnings and the settings' ones that touch its drafts."""
    warnings = record_warnings(record)
    if not (settings.signature or settings.name):
        warnings.append(
            f"no signature in your settings: drafts are signed {UNSIGNED} "
            "(set [you] name or signature, or run followup init)"
        )
    return warnings


def _fresh_decision(record: InterviewRecord) -> date | None:
    """A decision date older than the latest round was overtaken by it [002]."""
    expected = record.decision.expected_by
    return expected if expected is not None and expected >= record.latest.at.date() else None


def _plan_rules(playbook: Playbook, context: _Context) -> list[Task]:
    anchors: dict[str, datetime | date] = {}  # when each chained rule falls, as scheduled
    tasks: list[Task] = []
    for rule in playbook.rules:
        if rule.enabled:
            tasks.extend(_tasks_of_rule(rule, context, anchors))
    return tasks


def _thank_yous_stale(tasks: list[Task], context: _Context) -> bool:
    """A late thank-you that would land on the check-in's heels (or weeks after the
    interview) is not sent apart: two notes at once read as pestering [000, 004]."""
    check_in = next((t for t in tasks if t.rule == "check-in" and t.status == "planned"), None)
    if check_in is None:
        return False
    latest_end = context.interview_end(context.record.latest)
    weeks_late = context.recorded - latest_end > timedelta(days=STALE_THANK_YOU_DAYS)
    for task in tasks:
        if task.rule == "thank-you" and task.late and task.status == "planned":
            close = _day_of(check_in.start) <= context.employer_calendar.add_business_days(
                _day_of(task.start), 2
            )
            if weeks_late or close:
                return True
    return False


def _tasks_of_rule(
    rule: Rule, context: _Context, anchors: dict[str, datetime | date]
) -> list[Task]:
    record = context.record
    if rule.outcome_only and record.status not in rule.statuses:
        return []
    rounds = list(enumerate(record.interviews, start=1))
    if rule.rounds == "latest":
        rounds = [max(rounds, key=lambda item: item[1].at)]
    kind, channel = _kind_and_channel(rule, record)
    employer_facing = rule.employer_hours or kind == "call"
    tasks = []
    for number, interview in rounds:
        raw = _when(rule, context, interview, anchors, employer_facing)
        slot = _not_in_the_past(rule, context, interview, raw, employer_facing)
        if not _condition_holds(rule.condition, context, interview):
            anchors[rule.id] = slot.start
            continue
        people: list[Interviewer | None] = (
            list(interview.interviewers) if rule.per_interviewer else [None]
        )
        made = [
            _task(rule, context, interview, number, person, slot, kind, channel)
            for person in people
        ]
        done = [record.done[task.ref] for task in made if task.ref in record.done]
        # What follows counts from when it was actually done, else from when it is scheduled.
        anchors[rule.id] = max(done) if done and len(done) == len(made) else slot.start
        tasks.extend(made)
    return tasks


def _when(
    rule: Rule,
    context: _Context,
    interview: Interview,
    anchors: dict[str, datetime | date],
    employer_facing: bool,
) -> _Slot:
    """When the rule falls: an aware datetime, or a date for an all-day item."""
    offset = rule.offset_value()
    anchor: datetime | date
    if rule.anchor == "interview-start":
        anchor = context.interview_start(interview)
    elif rule.anchor == "interview-end":
        anchor = context.interview_end(interview)
    elif rule.anchor == "decision":
        if context.decision_by is not None:
            anchor = context.decision_by
            if context.record.decision.may_call and rule.offset_if_may_call:
                offset = Offset.parse(rule.offset_if_may_call)
        else:
            anchor = context.interview_end(interview)
            offset = Offset.parse(rule.fallback or rule.offset)
    elif rule.anchor == "outcome":
        anchor = context.record.status_since or context.recorded.date()
    else:
        anchor = anchors[rule.anchor]

    if offset.unit == "h":
        assert isinstance(anchor, datetime), f"rule {rule.id}: hour offsets need a time"
        moment = add_elapsed(anchor, timedelta(hours=offset.amount))
        if employer_facing:
            return _next_contact(moment, context, rule, at_opening=False)
        return _Slot(
            _outside_quiet_evening(moment, context.own_zone) if rule.quiet_evenings else moment
        )
    calendar = context.employer_calendar if employer_facing else context.own_calendar
    day = _day_of(anchor, context.employer_zone if employer_facing else None)
    day = calendar.shift(day, offset)
    if employer_facing:
        return _contact_slot(context.employer_calendar.contact_day(day), context, rule)
    if rule.clock is not None:
        return _Slot(at_local(day, parse_clock(rule.clock), context.own_zone))
    if rule.deadline and isinstance(anchor, datetime):
        # a day offset on a rule with a deadline (`thank-you: 2bd`) keeps the time of day
        moment = at_local(day, anchor.astimezone(context.own_zone).time(), context.own_zone)
        return _Slot(_outside_quiet_evening(moment, context.own_zone))
    return _Slot(day)


def _contact_slot(day: date, context: _Context, rule: Rule, kind: str | None = None) -> _Slot:
    """The moment on `day` to reach the employer: an hour into their working day (ten
    o'clock for 9-17), moved within their morning so that it falls in your waking hours;
    a call may use the afternoon. With no such time, the task comes in your evening before
    and says when to schedule the send."""
    hours, zone = context.hours, context.employer_zone
    preferred = _clock_plus(hours.start, rule.contact_minutes)
    if preferred >= hours.end:
        preferred = hours.start
    noon = max(parse_clock(NOON), _clock_plus(preferred, 120))
    is_call = (kind or _kind_and_channel(rule, context.record)[0]) == "call"
    candidates = _half_hours(preferred, min(noon, hours.end)) + _half_hours(hours.start, preferred)
    if is_call:
        candidates += _half_hours(max(noon, preferred), hours.end)
    for clock in candidates:
        moment = at_local(day, clock, zone)
        if _is_waking(moment, context):
            return _Slot(moment)
    send = at_local(day, preferred, zone)
    if is_call:
        return _Slot(send, send_at=send)
    own = send.astimezone(context.own_zone)
    evening = _clock_plus(context.waking.end, -60)
    reminder_day = (
        own.date() - timedelta(days=1) if own.time() < context.waking.start else own.date()
    )
    return _Slot(at_local(reminder_day, evening, context.own_zone), send_at=send)


@functools.lru_cache(maxsize=64)
def _half_hours(start: time, end: time) -> tuple[time, ...]:
    clocks, clock = [], start
    while clock < end:
        clocks.append(clock)
        nxt = _clock_plus(clock, 30)
        if nxt <= clock:
            break
        clock = nxt
    return tuple(clocks)


def _clock_plus(clock: time, minutes: int) -> time:
    moment = datetime.combine(date(2000, 1, 1), clock) + timedelta(minutes=minutes)
    return moment.time() if moment.date() == date(2000, 1, 1) else clock


def _is_waking(moment: datetime, context: _Context) -> bool:
    own = moment.astimezone(context.own_zone).time()
    return context.waking.start <= own < context.waking.end


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
    slot: _Slot,
    kind: str,
    channel: str,
) -> Task:
    record = context.record
    key = f"{record.id}/{rule.id}"
    if rule.rounds == "each" and number > 1:
        key += f"/round-{number}"
    if person is not None:
        key += f"/{person_slug(person.name)}"

    start = slot.start
    due: datetime | date = start
    if rule.deadline and isinstance(start, datetime) and kind != "call":
        due = max(_deadline(rule, context, interview), start).astimezone(start.tzinfo)
    contact_person = person or _contact_person(record)
    name = drafts.parse_name(contact_person.name).display
    text, links, advice = _body(rule, context, interview, number, person, kind, slot)
    if rule.id == "thank-you" and kind == "email" and isinstance(start, datetime):
        advice[:0] = _send_advice(start, due, context, rule)
    status = _status(rule, record, key)
    note = ""
    merged = rule.id in ("thank-you", "thank-you-card") and status == "planned"
    if context.merge_thanks and merged and slot.late:
        status = "cancelled"
        note = "too late to send apart: merged into the check-in, which thanks them"
    title = rule.call_title if kind == "call" and rule.call_title else rule.title
    return Task(
        key=key,
        record=record.id,
        rule=rule.id,
        title=title.format(company=record.company, role=record.role, person=name),
        kind=kind,  # type: ignore[arg-type]
        start=start,
        due=due,
        duration_minutes=rule.duration_minutes,
        priority=rule.priority,
        labels=(*rule.labels, *([] if kind == rule.kind else [kind])),
        people=(name,) if rule.employer_hours or person else (),
        channel=channel,
        body=drafts.with_links(text, links, advice),
        application=record.application,
        reminder_minutes=rule.reminder_minutes,
        late=slot.late,
        status=status,
        links=tuple(links),
        done_on=record.done.get(key.partition("/")[2]),
        note=note,
        advice=tuple(advice),
    )


def _status(rule: Rule, record: InterviewRecord, key: str) -> TaskStatus:
    """Done when the record says so (whatever happened since), else by the outcome."""
    if key.partition("/")[2] in record.done:
        return "done"
    return "planned" if record.status in rule.statuses else "cancelled"


def _send_advice(
    written: datetime, due: datetime | date, context: _Context, rule: Rule
) -> list[str]:
    """A note written outside the employer's hours is best scheduled for their next
    morning, when that is still within its deadline; else it goes when it is written."""
    send = _next_contact(written, context, rule, at_opening=False)
    moment = send.send_at or send.start
    if not isinstance(moment, datetime) or moment <= written or not isinstance(due, datetime):
        return []
    if moment > due:
        return []
    own = moment.astimezone(context.own_zone)
    mine = "" if own.utcoffset() == moment.utcoffset() else f" ({own:%H:%M} your time)"
    return [f"Schedule the send for {moment:%a %-d %b, %H:%M %Z}{mine}, the start of their day."]


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
    rule: Rule, context: _Context, interview: Interview, slot: _Slot, employer_facing: bool
) -> _Slot:
    """Nothing starts before the record was written. Still within its deadline, a task
    starts then; past its deadline, it moves to the next working slot and is marked late."""
    recorded, when = context.recorded, slot.start
    if rule.condition == "before-interview":
        return slot
    if isinstance(when, datetime):
        if when >= recorded:
            return slot
        if not employer_facing and rule.deadline and recorded < _deadline(rule, context, interview):
            return _Slot(_round_up(recorded).astimezone(when.tzinfo))
        # News recorded later the same day is no lateness: the note simply goes next.
        late = rule.anchor != "outcome"
        if employer_facing:
            return dataclasses.replace(_next_contact(recorded, context, rule), late=late)
        moment = context.hours.next_slot(
            recorded.astimezone(context.own_zone), context.own_calendar
        )
        return _Slot(moment, late=late)
    today = recorded.astimezone(context.own_zone).date()
    return slot if when >= today else _Slot(today, late=True)


def _next_contact(
    after: datetime, context: _Context, rule: Rule, *, at_opening: bool = True
) -> _Slot:
    """The first moment from `after` inside the employer's hours on a contact day: `after`
    itself when it qualifies (a thank-you call two hours after an interview), else the
    next day's opening time (`at_opening`) or the rule's usual contact slot."""
    local = after.astimezone(context.employer_zone)
    hours, calendar = context.hours, context.employer_calendar
    day = local.date()
    inside = hours.start <= local.time() < hours.end
    if calendar.contact_day(day) == day and inside and _is_waking(local, context):
        return _Slot(_round_up(local))
    if local.time() >= hours.start:
        day += timedelta(days=1)
    day = calendar.contact_day(day)
    start = at_local(day, hours.start, context.employer_zone)
    if at_opening and _is_waking(start, context):
        return _Slot(start)
    return _contact_slot(day, context, rule)


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
        match = next(
            (p for i in record.interviews for p in i.interviewers if p.name == record.contact.name),
            None,
        )
        return Interviewer(
            name=record.contact.name,
            greeting=match.greeting if match else None,
            email=record.contact.email or (match.email if match else None),
            phone=record.contact.phone or (match.phone if match else None),
        )
    return first


@functools.lru_cache(maxsize=1024)
def _topics(person: Interviewer) -> tuple[drafts.TopicText, ...]:
    """Asked for several times per task; the same person gives the same topics."""
    return tuple(
        drafts.TopicText(topic.text, drafts.topic_kind(topic.text, topic.kind))
        for topic in person.topic_list
    )


def _body(
    rule: Rule,
    context: _Context,
    interview: Interview,
    number: int,
    person: Interviewer | None,
    kind: str,
    slot: _Slot,
) -> tuple[str, list[str], list[str]]:
    """The draft, its links and what to do besides (proofread, schedule the send)."""
    record, settings = context.record, context.settings
    signature = settings.signature or settings.name or UNSIGNED
    my_name = settings.name or signature.splitlines()[0]
    formal = record.style == "formal"
    to = person or _contact_person(record)
    name = drafts.parse_name(to.name)
    greeting = drafts.greeting_name(name, to.greeting, formal)
    callback = f"You can reach me at {settings.phone}." if settings.phone else ""
    if person is not None:
        note = _note_input(context, interview, number, person, signature)
        fields = dict(drafts.thank_you_fields(note))
        points = _call_points(record, [person])
    else:
        people = _focus_people(record, to)
        focus = drafts.topics_text(drafts.distinct_topics([t for p in people for t in _topics(p)]))
        expected = context.decision_by
        fields = {
            "greeting": greeting,
            "greeting_name": name.given,
            "salutation": "Dear" if formal else "Hello",
            "company": record.company,
            "role": record.role,
            "interview_day": drafts.long_day(record.latest.at.date()),
            "thanks_sentence": (
                "Thank you for meeting with me on "
                if context.merge_thanks
                else "Thank you again for meeting with me on "
            )
            + f"{drafts.long_day(record.latest.at.date())} about the {record.role} role.",
            "timeline_sentence": (
                f"You mentioned you hoped to decide by {drafts.long_day(expected)}."
                if expected
                else ""
            ),
            "fit_sentence": (
                f"I remain very interested, and confident that I could help {record.company} "
                f"with {focus}."
                if focus
                else f"I remain very interested, and confident that I would be a strong fit "
                f"for {record.company}."
            ),
            "enjoyed_sentence": (
                f"I enjoyed learning about {record.company} and the work on {focus}."
                if focus
                else f"I enjoyed learning about {record.company}."
            ),
            "focus": focus or "the team's work",
            "closing": "Best regards,",
            "signature": signature,
        }
        points = _call_points(record, people)
    fields |= {
        "my_name": my_name,
        "callback_sentence": callback,
        "point_one": points[0],
        "point_two": points[1],
    }
    template = rule.draft
    if record.contact.do_not_contact and rule.draft_if_no_contact:
        template = rule.draft_if_no_contact
    if kind == "call" and rule.kind != "call":
        template = f"{template}-call"
    draft = drafts.render(template, fields, settings.templates_dir)
    links: list[str] = []
    advice: list[str] = []
    if kind == "call":
        link = drafts.tel(to.phone or (record.contact.phone if person is None else None))
        if link:
            links.append(link)
        if slot.send_at is not None:
            own = slot.send_at.astimezone(context.own_zone)
            advice.append(f"That is {own:%H:%M} your time ({own:%a %-d %b}).")
    elif rule.kind == "email":
        email = to.email or (record.contact.email if person is None else None)
        link = drafts.mailto(email, draft.subject)
        if link:
            links.append(link)
        if slot.send_at is not None:
            send, own = slot.send_at, slot.send_at.astimezone(context.own_zone)
            advice.append(
                f"Schedule the send for {send:%a %-d %b, %H:%M %Z} ({own:%H:%M} your time), "
                "so it arrives in their morning."
            )
    if rule.id == "thank-you" and kind != "call":
        advice.append(
            f"Before you send it, proofread: read it aloud once, and check the spelling of "
            f"{name.display} and {record.company}."
        )
    text = f"Subject: {draft.subject}\n\n{draft.text}" if draft.subject else draft.text
    return text, links, advice


def _note_input(
    context: _Context, interview: Interview, number: int, person: Interviewer, signature: str
) -> drafts.NoteInput:
    record = context.record
    slugs = tuple(person_slug(p.name) for p in interview.interviewers)
    seed = f"{record.id}/round-{number}"
    earlier = [i for i in record.interviews if i.at < interview.at]
    met_before = any(p.name == person.name for i in earlier for p in i.interviewers)
    name = drafts.parse_name(person.name)
    return drafts.NoteInput(
        name=name,
        greeting=drafts.greeting_name(name, person.greeting, record.style == "formal"),
        topics=_topics(person),
        help_text=person.help,
        forgot=record.forgot_to_mention,
        company=record.company,
        role=record.role,
        day=interview.at.date(),
        signature=signature,
        round_number=number if len(record.interviews) > 1 else 1,
        met_before=met_before,
        rank=drafts.interview_ranks(slugs, seed)[person_slug(person.name)],
        seed=seed,
    )


def _focus_people(record: InterviewRecord, contact: Interviewer) -> list[Interviewer]:
    """Whose topics a check-in names: the contact's own first, then the rest of the round."""
    people = list(record.latest.interviewers)
    people.sort(key=lambda p: p.name != contact.name)
    return people


def _call_points(record: InterviewRecord, people: list[Interviewer]) -> tuple[str, str]:
    """Two things from the record to say on a call: rapport on a topic, then a strength
    [000, 001]."""
    topics = drafts.distinct_topics([t for p in people for t in _topics(p)])
    helps = [p.help for p in people if p.help]
    points = []
    if topics:
        topic = drafts.topic_phrase(topics[0].text)
        points.append(
            f"Bring up {topic}: {drafts.as_sentence(helps[0])}"
            if helps
            else f"Bring up {topic}, and say how you would help."
        )
    for item in record.forgot_to_mention[:1]:
        clause, _ = drafts.forgot_clause(item)
        points.append(f"A strength you did not mention: {clause}.")
    points.append(f"Why you fit: what you would contribute to {record.company} from the start.")
    points.append("Your interest: say plainly that you want the role.")
    return points[0], points[1]


def _day_of(value: datetime | date, zone: ZoneInfo | None = None) -> date:
    if isinstance(value, datetime):
        return (value.astimezone(zone) if zone else value).date()
    return value


def _instant(value: datetime | date, zone: ZoneInfo) -> datetime:
    """Sort all-day items at the start of their day, beside timed ones."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0), tzinfo=zone)
