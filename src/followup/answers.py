"""Checks for what a person types at a question or passes as a flag.

Each check returns the value in the form the files use, or raises `Invalid` with a
message that says what is allowed and, when one is close, a suggestion. `Questions`
asks again after a wrong answer (offering the suggestion as the default), and asks
nothing at all when standard input is not a terminal.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import cache
from typing import Any, TypeVar

import click

from followup.errors import UserError

T = TypeVar("T")

EMAIL = re.compile(r"[^@\s<>,;:\"]+@[^@\s<>,;:\"]+\.[^@\s<>,;:\".]+")


class Invalid(ValueError):
    """A wrong answer: `str(error)` explains it; `suggestion` is a corrected answer, if any."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        if suggestion is not None:
            message = f"{message} (did you mean {suggestion}?)"
        super().__init__(message)
        self.suggestion = suggestion


def close_match(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice nearest to `word` (ignoring case), if any is near enough."""
    import difflib

    by_folded = {choice.casefold(): choice for choice in choices}
    found = difflib.get_close_matches(word.casefold(), list(by_folded), n=1, cutoff=cutoff)
    return by_folded[found[0]] if found else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean X?)` when a choice is close to `word`, else empty."""
    found = close_match(word, choices)
    return f" (did you mean {found}?)" if found else ""


# --- time zones ---------------------------------------------------------------------


@cache
def _zone_names() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def _loads_as_zone(name: str) -> bool:
    """Cheaper than listing every zone, for the usual right answer."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name in ("localtime", "posixrules", "Factory") or not re.fullmatch(
        r"[A-Za-z][\w+\-]*(?:/[\w+\-]+)*", name
    ):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def known_zone(name: str) -> bool:
    return _loads_as_zone(name)


def zone_info(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def local_zone_name() -> str:
    """The system's zone name (from /etc/localtime), or UTC when it cannot be told."""
    from pathlib import Path

    link = Path("/etc/localtime")
    if link.is_symlink():
        parts = link.resolve().parts
        if "zoneinfo" in parts:
            return "/".join(parts[parts.index("zoneinfo") + 1 :])
    return "UTC"


def windows_zone(name: str) -> str | None:
    """The IANA zone of a Windows zone name ("Pacific Standard Time"), from the CLDR
    windowsZones table that icalendar ships (icalendar.timezone.windows_to_olson)."""
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

    found: str | None = WINDOWS_TO_OLSON.get(name.strip())
    return found


def time_zone(text: str) -> str:
    """An IANA zone name; "new york", "Pacific Standard Time" or a typo get a suggestion."""
    name = text.strip()
    if not name:
        raise Invalid("give an IANA time zone like America/New_York or Europe/Berlin")
    if _loads_as_zone(name):
        return name
    names = _zone_names()
    folded = {zone.casefold(): zone for zone in names}
    key = name.replace(" ", "_").casefold()
    suggestion = folded.get(key) or windows_zone(name)
    if suggestion is None:
        cities = [zone for zone in names if zone.casefold().rsplit("/", 1)[-1] == key]
        suggestion = cities[0] if len(cities) == 1 else None
    if suggestion is None:
        suggestion = close_match(name.replace(" ", "_"), names, cutoff=0.75)
    raise Invalid(f"unknown time zone {name!r}; use an IANA name like America/New_York", suggestion)


# --- working hours ------------------------------------------------------------------

_CLOCK = re.compile(r"(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?", re.I)


def _clock(text: str) -> tuple[int, int, str | None]:
    match = _CLOCK.fullmatch(text.strip())
    if not match:
        raise ValueError(text)
    meridiem = (match.group(3) or "").replace(".", "").lower() or None
    return int(match.group(1)), int(match.group(2) or 0), meridiem


def working_hours(text: str) -> str:
    """`HH:MM-HH:MM`, from "09:00-17:00", "9-5", "9am-5pm", "9:00 to 17:30"…"""
    parts = re.split(r"\s*(?:-|–|—|to|until)\s*", text.strip(), maxsplit=1)
    try:
        if len(parts) != 2:
            raise ValueError(text)
        (h1, m1, p1), (h2, m2, p2) = _clock(parts[0]), _clock(parts[1])
    except ValueError:
        raise Invalid(f"not working hours like 09:00-17:00: {text.strip()!r}") from None
    if p1 is None and p2 == "pm" and h1 < h2 < 12:
        p1 = "pm"  # "1-5pm" is an afternoon; "9-5pm" starts in the morning
    hours = []
    for hour, minute, meridiem in ((h1, m1, p1), (h2, m2, p2)):
        if meridiem and not 1 <= hour <= 12:
            raise Invalid(f"{hour}{meridiem} is not a time: {text.strip()!r}")
        if meridiem == "pm" and hour != 12:
            hour += 12
        if meridiem == "am" and hour == 12:
            hour = 0
        if hour > 23 or minute > 59:
            raise Invalid(f"not a time of day in {text.strip()!r} (use 00:00 to 23:59)")
        hours.append((hour, minute))
    (start_h, start_m), (end_h, end_m) = hours
    if (end_h, end_m) <= (start_h, start_m) and p2 is None and end_h < 12:
        end_h += 12  # "9-5": the afternoon is meant
    if (end_h, end_m) <= (start_h, start_m):
        raise Invalid(f"working hours must end after they start: {text.strip()!r}")
    return f"{start_h:02d}:{start_m:02d}-{end_h:02d}:{end_m:02d}"


# --- countries ----------------------------------------------------------------------


@cache
def _countries() -> dict[str, str]:
    """Country name -> code, for the countries the holidays library knows."""
    from holidays.registry import COUNTRIES

    return {module.replace("_", " ").title(): names[1] for module, names in COUNTRIES.items()}


def country(text: str) -> str:
    """An ISO 3166 code the holidays library knows ("us", "Germany" -> US, DE); empty for none."""
    name = text.strip()
    if name in ("", "-"):
        return ""
    countries = _countries()
    codes = set(countries.values())
    if name.upper() in codes:
        return name.upper()
    by_name = {key.casefold(): code for key, code in countries.items()}
    if name.casefold() in by_name:
        return by_name[name.casefold()]
    near = close_match(name, countries, cutoff=0.7)
    hint = f" (did you mean {countries[near]} for {near}?)" if near else ""
    raise Invalid(
        f"unknown country {name!r}: give a two-letter code like US, GB or DE, "
        f"a country name, or - for none{hint}"
    ) from None


# --- dates, times, lengths, people ----------------------------------------------------

_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def _meridiem_time(text: str) -> str | None:
    try:
        hour, minute, meridiem = _clock(text)
    except ValueError:
        return None
    if meridiem == "pm" and hour != 12:
        hour += 12
    if meridiem == "am" and hour == 12:
        hour = 0
    return f"{hour:02d}:{minute:02d}" if hour < 24 and minute < 60 else None


def local_time(text: str) -> datetime:
    """A wall-clock date-time like 2026-11-20 14:00; "11/20/2026 2pm" gets a suggestion."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        pass
    else:
        if moment.tzinfo is not None:
            raise Invalid("give the local time without an offset, like 2026-11-20 14:00")
        return moment
    day, _, clock = value.partition(" ")
    us = _US_DATE.fullmatch(day)
    if us and int(us.group(2)) > 12:
        day = f"{us.group(3)}-{int(us.group(1)):02d}-{int(us.group(2)):02d}"
    elif us and int(us.group(1)) > 12:
        day = f"{us.group(3)}-{int(us.group(2)):02d}-{int(us.group(1)):02d}"
    clock_text = _meridiem_time(clock)
    suggestion = f"{day} {clock_text}" if clock_text else None
    if suggestion:
        try:
            datetime.fromisoformat(suggestion)
        except ValueError:
            suggestion = None
    raise Invalid(f"not a date-time like 2026-11-20 14:00: {value!r}", suggestion)


def day(text: str) -> date:
    value = text.strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    us = _US_DATE.fullmatch(value)
    suggestion = None
    if us and (int(us.group(1)) > 12 or int(us.group(2)) > 12):
        first, second = int(us.group(1)), int(us.group(2))
        month, day_ = (first, second) if second > 12 else (second, first)
        suggestion = f"{us.group(3)}-{month:02d}-{day_:02d}"
    raise Invalid(f"not a date like 2026-12-01: {value!r}", suggestion)


def duration(text: str) -> str:
    """`45m` or `2h`, from "45", "45 min", "1h30", "1.5h", "90 minutes"."""
    value = text.strip().lower().replace(" ", "")
    match = re.fullmatch(
        r"(?:(\d+(?:\.\d+)?)h(?:ours?|rs?)?)?(?:(\d+)(?:m|mins?|minutes?)?)?", value
    )
    if not value or not match or not (match.group(1) or match.group(2)):
        raise Invalid(f"not a length like 45m or 2h: {text.strip()!r}")
    minutes = round(float(match.group(1) or 0) * 60) + int(match.group(2) or 0)
    if not 0 < minutes <= 24 * 60:
        raise Invalid(f"a length between 1m and 24h, not {text.strip()!r}")
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def email(text: str) -> str:
    value = text.strip()
    if not EMAIL.fullmatch(value):
        raise Invalid(f"not an e-mail address like jane@acme.example: {value!r}")
    return value


def interviewer(text: str) -> dict[str, Any]:
    """ "Jane Doe <jane@acme.example>: topics" or "Jane Doe jane@acme.example: topics"."""
    from followup.record import parse_interviewer

    try:
        person = parse_interviewer(text)
    except ValueError as error:
        raise Invalid(str(error)) from None
    if "email" in person:
        person["email"] = email(person["email"])
    return person


def choice(options: Iterable[str]) -> Callable[[str], str]:
    allowed = list(options)

    def check(text: str) -> str:
        value = text.strip().lower()
        if value in allowed:
            return value
        raise Invalid(
            f"{text.strip()!r} is not one of {', '.join(allowed)}", close_match(value, allowed)
        )

    return check


def yes_no(text: str) -> bool:
    value = text.strip().lower()
    if value in ("y", "yes", "true", "1"):
        return True
    if value in ("n", "no", "false", "0"):
        return False
    raise Invalid(f"answer yes or no, not {text.strip()!r}")


def items(text: str) -> list[str]:
    """ "a; b; c" -> [a, b, c]."""
    return [part.strip() for part in text.split(";") if part.strip()]


# --- asking -------------------------------------------------------------------------


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


class Questions:
    """Asks on a terminal, re-asking after a wrong answer; elsewhere asks nothing."""

    def __init__(self) -> None:
        self.interactive = stdin_is_terminal()

    def ask(
        self,
        question: str,
        check: Callable[[str], T],
        default: str | None = None,
    ) -> T:
        """The checked answer; an empty answer takes `default` (when there is one)."""
        assert self.interactive, "ask() is only for a terminal"
        while True:
            text = click.prompt(
                question,
                default=default if default is not None else "",
                show_default=bool(default),
            )
            try:
                return check(str(text))
            except Invalid as error:
                click.echo(f"  {error}", err=True)
                if error.suggestion is not None:
                    default = error.suggestion


def checked(flag: str, value: str, check: Callable[[str], T]) -> T:
    """A flag's value through its check; a wrong one is exit 2 naming the flag."""
    try:
        return check(value)
    except Invalid as error:
        raise UserError(f"{flag}: {error}") from None


def require(missing: list[str], how: str = "") -> None:
    """Exit 2 naming the flags a non-interactive run needs but was not given."""
    if missing:
        raise UserError(
            f"missing {', '.join(missing)}: standard input is not a terminal, so nothing is asked"
            + (f" ({how})" if how else "")
        )
