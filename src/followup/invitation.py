"""Reading a calendar invitation (.ics, or an e-mail .eml carrying a text/calendar part)
into what a record needs: when, how long, where (the zone), how, and with whom.

The sources are RFC 5545 (iCalendar: DTSTART/TZID, ATTENDEE with CN, CUTYPE and ROLE),
RFC 6047 (iMIP: the invitation as a text/calendar MIME part) and RFC 7986 (CONFERENCE).
icalendar is imported here only, so `followup --help` never pays for it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from followup.errors import UserError

VIDEO_LINK = re.compile(
    r"https?://(?:[\w-]+\.)*(?:meet\.google\.com|zoom\.us|zoomgov\.com|teams\.microsoft\.com"
    r"|teams\.live\.com|webex\.com|whereby\.com|chime\.aws)/[^\s<>\"')\]]*",
    re.I,
)
PHONE = re.compile(r"(?:tel:)?\s*\+?[\d\s().\-/]{7,}(?:\s*(?:x|ext\.?)\s*\d+)?", re.I)
MAX_INVITATION_BYTES = 25 * 1024 * 1024  # mail services' message limit; attachments included
UTC_NAMES = {"UTC", "Etc/UTC", "Etc/GMT", "GMT", "UCT", "Etc/UCT", "Universal", "Zulu"}
NOT_PEOPLE = {"ROOM", "RESOURCE", "GROUP", "UNKNOWN"}  # RFC 5545 3.2.3 CUTYPE values
NO_REPLY = re.compile(r"^(?:no-?reply|do-?not-?reply|calendar-notification|notifications?)\b", re.I)
# Mail and calendar providers: an organizer there says nothing about the employer.
PUBLIC_DOMAINS = {
    "gmail.com",
    "googlemail.com",
    "google.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "proton.me",
    "protonmail.com",
    "calendly.com",
    "zoom.us",
    "greenhouse.io",
    "lever.co",
    "goodtime.io",
    "ashbyhq.com",
    "workday.com",
    "microsoft.com",
}
ROLE_WORDS = re.compile(
    r"\b(?:engineer|developer|manager|designer|analyst|scientist|architect|lead|director|"
    r"consultant|administrator|specialist|intern|researcher|officer|product|sre|devops)\b",
    re.I,
)
INTERVIEW_WORDS = re.compile(
    r"\b(?:interview|onsite|on-site|phone screen|screen(?:ing)?|call|chat|loop|round|"
    r"technical|final|first|second|panel|virtual)\b",
    re.I,
)


@dataclass(frozen=True)
class Person:
    name: str
    email: str | None = None


@dataclass(frozen=True)
class Invitation:
    """What an invitation says, before anyone has confirmed it."""

    source: Path
    summary: str
    start: datetime  # aware; naive for a floating time (RFC 5545 3.3.5), a wall clock anywhere
    minutes: int
    zone: str | None  # IANA name; None when the invitation gave UTC or floating times only
    kind: str | None  # video | phone | onsite; None when nothing tells
    location: str
    link: str | None
    people: tuple[Person, ...]
    company: str | None
    role: str | None

    def local_start(self, zone: str) -> datetime:
        """The start as a wall-clock time in `zone` (the record's zone)."""
        from zoneinfo import ZoneInfo

        if self.start.tzinfo is None:
            return self.start
        return self.start.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def read_invitation(path: Path, me: Collection[str] = ()) -> Invitation:
    """Read `path`; `me` are the user's own addresses, left out of the people."""
    from followup.files import read_regular_file

    data = read_regular_file(path, MAX_INVITATION_BYTES)  # a FIFO or /dev/zero is refused
    calendar_text = _calendar_part(path, data) if _looks_like_mail(path, data) else data
    return _from_calendar(path, calendar_text, {address.casefold() for address in me})


def _looks_like_mail(path: Path, data: bytes) -> bool:
    if path.suffix.lower() in (".eml", ".msg", ".mbox"):
        return True
    return not data.lstrip().upper().startswith(b"BEGIN:VCALENDAR")


def _calendar_part(path: Path, data: bytes) -> bytes:
    """The text/calendar part of a MIME message (RFC 6047 2.4), transfer-decoded."""
    import email
    import email.policy

    message = email.message_from_bytes(data, policy=email.policy.default)
    fallback = None
    for part in message.walk():
        kind = part.get_content_type()
        if part.is_multipart():
            continue
        name = (part.get_filename() or "").lower()
        if kind == "text/calendar" or (kind == "application/ics" or name.endswith(".ics")):
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes):
                continue
            if kind == "text/calendar":
                return payload
            fallback = fallback or payload
    if fallback is not None:
        return fallback
    raise UserError(
        f"{path}: no calendar invitation in this message "
        "(expected a text/calendar part or an .ics attachment)"
    )


def _from_calendar(path: Path, data: bytes, me: set[str]) -> Invitation:
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError) as error:
        raise UserError(f"{path}: not an iCalendar invitation: {error}") from None
    method = str(calendar.get("METHOD", "")).upper()
    if method == "CANCEL":
        raise UserError(f"{path}: this is a cancellation, not an invitation")
    events = [event for event in calendar.walk("VEVENT") if "RECURRENCE-ID" not in event]
    events = events or list(calendar.walk("VEVENT"))
    if not events:
        raise UserError(f"{path}: no event (VEVENT) in this calendar")
    event = events[0]
    start_property = event.get("DTSTART")
    if start_property is None:
        raise UserError(f"{path}: DTSTART: the event has no start")
    start = start_property.dt
    if not isinstance(start, datetime):
        raise UserError(f"{path}: DTSTART: an all-day event has no time; give --at")
    zone = _zone_of(start_property, calendar)
    if start.tzinfo is None and zone:  # floating, with Google's calendar-wide zone
        start = start.replace(tzinfo=_zoneinfo(zone))
    minutes = _minutes(event, start)
    summary = _text(event.get("SUMMARY"))
    location = _text(event.get("LOCATION"))
    link = _video_link(event)
    organizer = _person(event.get("ORGANIZER"))
    people = _people(event, organizer, me)
    company = _company(summary, organizer, people, me)
    return Invitation(
        source=path,
        summary=summary,
        start=start,
        minutes=minutes,
        zone=zone,
        kind=_kind(link, location),
        location=location,
        link=link,
        people=people,
        company=company,
        role=_role(summary, company, people),
    )


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _zoneinfo(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _zone_of(start_property: Any, calendar: Any) -> str | None:
    """The IANA zone the invitation's times are in: the TZID itself when it is one, else the
    Windows name mapped through CLDR, else a vendor-prefixed `/…/Area/City`. None for UTC."""
    from followup.answers import known_zone, windows_zone

    tzid = start_property.params.get("TZID")
    candidates = [str(tzid)] if tzid else []
    candidates.append(str(calendar.get("X-WR-TIMEZONE", "")))  # Google's calendar-wide zone
    for candidate in filter(None, (c.strip().strip('"') for c in candidates)):
        parts = candidate.strip("/").split("/")
        suffixes = ("/".join(parts[begin:]) for begin in range(len(parts)))
        zone = windows_zone(candidate) or next(filter(known_zone, suffixes), None)
        if zone and zone not in UTC_NAMES:
            return zone
    return None


def _minutes(event: Any, start: datetime) -> int:
    end_property = event.get("DTEND")
    length: timedelta | None = None
    if end_property is not None and isinstance(end_property.dt, datetime):
        end = end_property.dt
        if end.tzinfo is None:
            end = end.replace(tzinfo=start.tzinfo)
        length = end - start
    elif event.get("DURATION") is not None:
        length = event.get("DURATION").dt
    if length is None or length <= timedelta(0):
        return 60
    return int(length.total_seconds() // 60)


def _video_link(event: Any) -> str | None:
    """The meeting link, from the fields each tool fills in, then the free text."""
    fields = [
        "X-GOOGLE-CONFERENCE",  # Google Calendar
        "X-MICROSOFT-SKYPETEAMSMEETINGURL",  # Exchange / Teams
        "X-MICROSOFT-ONLINEMEETINGCONFLINK",
        "CONFERENCE",  # RFC 7986 5.11
        "URL",
        "LOCATION",
        "DESCRIPTION",
        "X-ALT-DESC",
    ]
    for name in fields:
        values = event.get(name)
        for value in values if isinstance(values, list) else [values]:
            if value is None:
                continue
            match = VIDEO_LINK.search(str(value))
            if match:
                return match.group(0).rstrip(".,;")
    return None


def _kind(link: str | None, location: str) -> str | None:
    if link:
        return "video"
    if location and PHONE.fullmatch(location.strip()) and sum(c.isdigit() for c in location) >= 7:
        return "phone"
    return "onsite" if location else None


def _address(value: Any) -> str | None:
    text = str(value).strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    return text or None if "@" in text else None


def _person(value: Any) -> Person | None:
    if value is None:
        return None
    address = _address(value)
    name = _display_name(str(value.params.get("CN", "")), address)
    return Person(name, address) if name else None


def _display_name(common_name: str, address: str | None) -> str:
    """ "Doe, Jane" -> "Jane Doe"; no name: from the address (jane.doe@ -> Jane Doe)."""
    name = " ".join(common_name.strip().strip('"').split())
    if name and "@" in name:
        address, name = address or name, ""
    last, comma, first = name.partition(",")
    if comma and first.strip() and last.strip() and "," not in first:
        name = f"{first.strip()} {last.strip()}"
    if not name and address:
        local = address.split("@", 1)[0]
        words = [word for word in re.split(r"[._\-+]+", local) if word.isalpha()]
        name = " ".join(word.capitalize() for word in words)
    return name


def _people(event: Any, organizer: Person | None, me: set[str]) -> tuple[Person, ...]:
    """Attendees who are people taking part, then the organizer, without the user."""
    attendees = event.get("ATTENDEE") or []
    if not isinstance(attendees, list):
        attendees = [attendees]
    found: list[Person] = []
    for attendee in attendees:
        params = attendee.params
        if str(params.get("CUTYPE", "INDIVIDUAL")).upper() in NOT_PEOPLE:
            continue
        if str(params.get("ROLE", "")).upper() == "NON-PARTICIPANT":
            continue
        person = _person(attendee)
        if person is not None:
            found.append(person)
    if organizer is not None:
        found.append(organizer)
    people: list[Person] = []
    seen: set[str] = set()
    for person in found:
        key = (person.email or person.name).casefold()
        if key in seen or (person.email and person.email.casefold() in me):
            continue
        if person.email and NO_REPLY.match(person.email):
            continue
        seen.add(key)
        people.append(person)
    return tuple(people)


def _company(
    summary: str, organizer: Person | None, people: tuple[Person, ...], me: set[str]
) -> str | None:
    """ "… at Acme Corp" / "Acme Corp: …" in the summary, else the organizer's domain."""
    at = re.search(r"\b(?:at|with)\s+([A-Z][\w&.'-]*(?:\s+[A-Z][\w&.'-]*)*)\s*$", summary)
    if at and not ROLE_WORDS.search(at.group(1)):
        return at.group(1).strip()
    for part in re.split(r"\s+[-–—|:/]\s+|:\s+", summary):
        part = part.strip()
        words = ROLE_WORDS.search(part) or INTERVIEW_WORDS.search(part)
        if part and not words and not any(part.casefold() == p.name.casefold() for p in people):
            return part
    senders = [organizer] if organizer else []
    for person in [*senders, *people]:
        if person.email and person.email.casefold() not in me:
            domain = person.email.rsplit("@", 1)[1].lower()
            if domain not in PUBLIC_DOMAINS:
                label = domain.split(".")[-2] if domain.count(".") >= 1 else domain
                return label.replace("-", " ").title()
    return None


def _role(summary: str, company: str | None, people: tuple[Person, ...]) -> str | None:
    """The part of the summary naming a role ("Senior Backend Engineer"): one with a role
    word, else the one part left once the company, people and interview words are out."""
    names = {person.name.casefold() for person in people}
    left = []
    for part in re.split(r"\s+[-–—|:/]\s+|:\s+|\s+(?:for|at|with)\s+", summary):
        part = INTERVIEW_WORDS.sub("", part)
        part = " ".join(part.replace("()", "").split()).strip(" -–—:|,()")
        if not part or part == company or part.casefold() in names:
            continue
        if ROLE_WORDS.search(part):
            return part
        left.append(part)
    return left[0] if len(left) == 1 else None
