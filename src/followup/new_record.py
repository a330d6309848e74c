"""`followup new`: write a record from flags, an invitation (--from) and, on a terminal,
questions that are checked as they are answered; elsewhere it asks nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from followup import answers
from followup.answers import Invalid, Questions, checked
from followup.errors import UserError

if TYPE_CHECKING:
    from followup.config import Settings
    from followup.invitation import Invitation

KINDS = ("phone", "video", "onsite")
CHANNELS = ("email", "phone", "mail", "in-person")


@click.command()
@click.option(
    "--from",
    "invitation",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Fill in from a calendar invitation: an .ics file, or an .eml e-mail carrying one.",
)
@click.option(
    "--me",
    multiple=True,
    metavar="EMAIL",
    help="Your own address, left out of the invitation's people (default: [you] email).",
)
@click.option("--company", help="Employer, e.g. 'Acme Corp'.")
@click.option("--role", help="The role, e.g. 'Senior Backend Engineer'.")
@click.option("--timezone", "zone", help="The employer's time zone, e.g. America/New_York.")
@click.option("--at", "at", help="Interview start, local time: '2026-11-20 14:00'.")
@click.option("--duration", help="30m, 90m, 2h… [default: the invitation's, else 60m]")
@click.option("--kind", type=click.Choice(KINDS), help="[default: from the invitation, else video]")
@click.option(
    "--interviewer",
    "interviewers",
    multiple=True,
    metavar="'NAME <EMAIL>: TOPIC; TOPIC'",
    help="Repeat for each interviewer (replaces the invitation's people).",
)
@click.option("--decision-by", help="When they said they would decide (YYYY-MM-DD).")
@click.option("--may-call/--no-may-call", default=None, help="They said you may call then.")
@click.option("--channel", type=click.Choice(CHANNELS), help="How they reach you.")
@click.option("--contact-email", help="Who to write to about the decision.")
@click.option("--contact-phone", help="Who to call about the decision.")
@click.option("--do-not-contact", is_flag=True, help="They asked candidates not to chase.")
@click.option("--style", type=click.Choice(["formal", "casual"]))
@click.option("--industry", help="e.g. sales (selects a brisker cadence).")
@click.option("--forgot", multiple=True, help="Something you forgot to mention (repeat).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write (default: <id>.yaml in your job-search folder, else here).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--dry-run", is_flag=True, help="Print the record instead of writing it.")
@click.pass_context
def new(ctx: click.Context, **given: Any) -> None:
    """Write a new interview record: from an invitation (--from), flags, and questions for
    whatever is left. When standard input is not a terminal nothing is asked: a missing
    value is an error naming its flag.

    \b
    Example:
      followup new --from invite.ics --decision-by 2026-12-01
      followup new --company "Acme Corp" --role "Backend Engineer" \\
        --timezone America/New_York --at "2026-11-20 14:00" \\
        --interviewer "Jane Doe <jane@acme.example>: billing; on-call" \\
        --decision-by 2026-12-01
    """
    from followup.cli import current_time, load_settings
    from followup.record import dump_record, record_from_data, record_id_for

    settings = load_settings()
    now = current_time(ctx)
    questions = Questions()
    invite = _read_invitation(given, settings)
    data = _gather(given, settings, invite, questions)
    at: datetime = data["interviews"][0]["at"]
    data["interviews"][0]["at"] = at.strftime("%Y-%m-%d %H:%M")
    written = now.astimezone(answers.zone_info(data["timezone"])).strftime("%Y-%m-%d %H:%M")
    first = {"id": record_id_for(data["company"], data["role"], at)}
    first.update((name, data.pop(name)) for name in ("company", "role", "timezone"))
    data = _without_empty({**first, "recorded_at": written, **data})
    # Into the job-search folder, so the next `followup sync` sends it everywhere.
    target = given["output"] or (settings.folder or Path()) / f"{data['id']}.yaml"
    text = dump_record(data)
    try:
        record_from_data(target, data)  # the same checks as every record, before writing
    except UserError:
        if questions.interactive:  # never lose what was typed
            click.echo(f"Your answers, to save by hand:\n{text}", err=True)
        raise
    if given["dry_run"]:
        click.echo(text, nl=False)
        return
    if target.exists() and not given["force"]:
        raise UserError(f"{target}: already exists (use --force to overwrite)")
    target.write_text(text, encoding="utf-8")
    in_folder = settings.folder is not None and target.parent.resolve() == settings.folder.resolve()
    following = "followup sync   (sends it everywhere)" if in_folder else f"followup plan {target}"
    click.echo(f"wrote {target}; next: {following}")


def _read_invitation(given: dict[str, Any], settings: Settings) -> Invitation | None:
    if not given["invitation"]:
        return None
    from followup.invitation import read_invitation

    mine = [checked("--me", address, answers.email) for address in given["me"]]
    if settings.email:
        mine.append(settings.email)
    invite = read_invitation(given["invitation"], mine)
    floating = invite.start.tzinfo is None
    where = f"{invite.start:%a %Y-%m-%d %H:%M} {invite.zone or ('local' if floating else 'UTC')}"
    how = f"{invite.kind or 'kind unknown'}" + (
        f" ({invite.link.split('/')[2]})" if invite.link else ""
    )
    people = ", ".join(person.name for person in invite.people) or "nobody"
    click.echo(f"{invite.source}: {invite.summary or '(no title)'}", err=True)
    click.echo(f"  {where}, {invite.minutes} min, {how}; people: {people}", err=True)
    return invite


def _gather(
    given: dict[str, Any], settings: Settings, invite: Invitation | None, questions: Questions
) -> dict[str, Any]:
    """Every value of the record, from flags, then the invitation, then questions."""
    ask = questions.ask if questions.interactive else None
    missing: list[str] = []

    def required(flag: str, value: Any) -> None:
        if value in (None, "", []):
            missing.append(flag)

    company = given["company"] or (invite.company if invite else None)
    role = given["role"] or (invite.role if invite else None)
    if ask:
        if not given["company"]:
            company = ask("Company", _nonempty("the company"), company)
        if not given["role"]:
            role = ask("Role", _nonempty("the role"), role)
    elif invite and (company or role):
        guesses = {"company": company, "role": role}
        shown = [f"--{flag} {text!r}" for flag, text in guesses.items() if text and not given[flag]]
        if shown:
            click.echo(f"  guessed: {', '.join(shown)} (give the flag to change it)", err=True)
    required("--company", company)
    required("--role", role)

    zone = checked("--timezone", given["zone"], answers.time_zone) if given["zone"] else None
    zone = zone or (invite.zone if invite else None)
    if zone is None:
        fallback = settings.timezone
        if ask:
            question = "Employer's time zone" + (
                " (the invitation says UTC only)" if invite else ""
            )
            zone = ask(question, answers.time_zone, fallback or answers.local_zone_name())
        else:
            zone = fallback
    required("--timezone", zone)

    at: datetime | None = None
    if given["at"]:
        at = checked("--at", given["at"], answers.local_time)
    elif invite and zone:
        at = invite.local_start(zone)
    elif ask:
        at = ask("Interview start (local time, YYYY-MM-DD HH:MM)", answers.local_time)
    if not invite:  # an invitation's time needs only the zone
        required("--at", at)

    if given["duration"]:
        length = checked("--duration", given["duration"], answers.duration)
    elif invite:
        length = answers.duration(f"{invite.minutes}m")
    else:
        length = ask("Length", answers.duration, "60m") if ask else "60m"

    kind = given["kind"] or (invite.kind if invite else None)
    if kind is None:
        kind = ask(f"Kind ({', '.join(KINDS)})", answers.choice(KINDS), "video") if ask else "video"

    people = [checked("--interviewer", text, answers.interviewer) for text in given["interviewers"]]
    if not people and invite:
        people = [_without_empty({"name": p.name, "email": p.email}) for p in invite.people]
    if not people and ask:
        people = _ask_people(ask)
    if ask:
        people = _ask_topics(ask, people, from_invite=bool(invite and not given["interviewers"]))
    try:
        _check_distinct(people)
    except Invalid as error:
        raise UserError(f"--interviewer: {error}") from None
    required("--interviewer", people)
    answers.require(missing, "" if invite else "or give --from INVITATION")

    assert at is not None and zone is not None
    decision_by = _decision(given, ask, at.date())
    may_call = given["may_call"]
    if may_call is None:
        may_call = bool(
            ask and decision_by and ask("May you call them that day? (y/n)", answers.yes_no, "n")
        )
    channel = given["channel"] or (
        ask("How do they reach you", answers.choice(CHANNELS), "email") if ask else "email"
    )
    forgot = list(given["forgot"])
    if not forgot and ask:
        forgot = ask("Anything you forgot to mention? (; between)", answers.items, "")
    contact_email = given["contact_email"] and checked(
        "--contact-email", given["contact_email"], answers.email
    )
    return {
        "company": company,
        "role": role,
        "timezone": zone,
        "interviews": [
            {"at": at, "duration": length, "kind": kind, "interviewers": people},
        ],
        "decision": {"expected_by": decision_by, "may_call": may_call},
        "contact": {
            "channel": channel,
            "email": contact_email,
            "phone": given["contact_phone"],
            "do_not_contact": given["do_not_contact"],
        },
        "style": given["style"],
        "industry": given["industry"],
        "forgot_to_mention": forgot,
        "status": "waiting",
    }


def _nonempty(what: str) -> Any:
    def check(text: str) -> str:
        if not text.strip():
            raise Invalid(f"give {what}")
        return text.strip()

    return check


def _ask_people(ask: Any) -> list[dict[str, Any]]:
    people: list[dict[str, Any]] = []

    def person_or_done(text: str) -> dict[str, Any] | None:
        if not text.strip():
            if not people:
                raise Invalid("name at least one interviewer, like 'Jane Doe <jane@acme.example>'")
            return None
        person = answers.interviewer(text)
        _check_distinct([*people, person])
        return person

    while True:
        person = ask("Interviewer ('Name <email>: topic; topic', empty to finish)", person_or_done)
        if person is None:
            return people
        people.append(person)


def _ask_topics(ask: Any, people: list[dict[str, Any]], from_invite: bool) -> list[dict[str, Any]]:
    """Topics (and how you could help) per interviewer; '-' drops someone the invitation
    listed who did not interview you (a coordinator, a shadow)."""
    kept = []
    for person in people:
        name = person["name"]
        if not person.get("topics"):
            drop = ", - if they did not interview you" if from_invite else ""
            topics = ask(f"What did you talk about with {name}? (; between{drop})", _topics, "")
            if topics is None:
                continue
            person["topics"] = topics
        help_text = ask(f"How could you help {name}? (optional)", str.strip, "")
        if help_text:
            person["help"] = help_text
        kept.append(person)
    if not kept:  # every listed person was dropped: ask, rather than lose the answers so far
        click.echo("  nobody is left: name who interviewed you", err=True)
        return _ask_topics(ask, _ask_people(ask), from_invite=False)
    return kept


def _topics(text: str) -> list[str] | None:
    return None if text.strip() == "-" else answers.items(text)


def _check_distinct(people: list[dict[str, Any]]) -> None:
    from followup.record import person_slug

    seen: set[str] = set()
    for person in people:
        slug = person_slug(person["name"])
        if slug in seen:
            raise Invalid(f"{person['name']!r} is named twice; give each interviewer once")
        seen.add(slug)


def _decision(given: dict[str, Any], ask: Any, interview_day: date) -> date | None:
    def check(text: str) -> date | None:
        if not text.strip():
            return None
        when = answers.day(text)
        if when < interview_day:
            raise Invalid(f"{when} is before the interview ({interview_day})")
        if when > interview_day + timedelta(days=366):
            raise Invalid(f"{when} is more than a year after the interview")
        return when

    if given["decision_by"]:
        return checked("--decision-by", given["decision_by"], check)
    if ask:
        chosen: date | None = ask("Decision expected by (YYYY-MM-DD, empty if unknown)", check, "")
        return chosen
    return None


def _without_empty(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {k: _without_empty(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, {}, [], False) or k == "may_call"}
    if isinstance(value, list):
        return [_without_empty(item) for item in value]
    return value
