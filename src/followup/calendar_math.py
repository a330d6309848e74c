"""Date math: business days, working hours, time zones with their DST gaps and folds."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

HolidayProvider = Callable[[str, str | None, int], frozenset[date]]
# A year either way, in each unit: planning stays in range, business-day loops stay short.
OFFSET_LIMITS = {"d": 366, "bd": 262, "h": 366 * 24}


@dataclass(frozen=True)
class Offset:
    """`3bd` (business days), `7d` (calendar days) or `2h` (elapsed hours)."""

    amount: int
    unit: str  # "bd" | "d" | "h"

    @classmethod
    @functools.lru_cache(maxsize=256)  # rules parse their offsets for every task planned
    def parse(cls, text: str) -> Offset:
        match = re.fullmatch(r"(-?\d{1,12})(bd|d|h)", text.strip())
        if not match:
            shown = text if len(text) <= 20 else text[:20] + "…"
            raise ValueError(f"not an offset like 3bd, 7d or 2h: {shown!r}")
        amount, unit = int(match.group(1)), match.group(2)
        if abs(amount) > OFFSET_LIMITS[unit]:
            raise ValueError(f"an offset moves at most {OFFSET_LIMITS[unit]}{unit} (a year)")
        return cls(amount, unit)

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    @property
    def hours(self) -> timedelta:
        if self.unit != "h":
            raise ValueError(f"{self} is not an hour offset")
        return timedelta(hours=self.amount)


def localize(wall: datetime, zone: ZoneInfo) -> datetime:
    """Attach `zone` to a wall-clock time; a time in a DST gap moves forward past it,
    a time that happens twice (fold) is the first occurrence."""
    aware = wall.replace(tzinfo=zone, fold=0)
    # A nonexistent time does not survive a round trip through UTC: that reveals the gap.
    return aware.astimezone(UTC).astimezone(zone)


def at_local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return localize(datetime.combine(day, clock), zone)


def add_elapsed(moment: datetime, delta: timedelta) -> datetime:
    """Add real elapsed time (Python's aware arithmetic adds wall-clock time)."""
    zone = moment.tzinfo
    return (moment.astimezone(UTC) + delta).astimezone(zone)


def parse_clock(text: str) -> time:
    return time.fromisoformat(text)


class BusinessCalendar:
    """Weekends and a country's public holidays (loaded once per year, lazily)."""

    def __init__(
        self,
        country: str | None,
        subdivision: str | None = None,
        provider: HolidayProvider | None = None,
    ) -> None:
        self.country = country
        self.subdivision = subdivision
        self.provider = provider or cached_holidays
        self._by_year: dict[int, frozenset[date]] = {}

    def holidays(self, year: int) -> frozenset[date]:
        if self.country is None:
            return frozenset()
        if year not in self._by_year:
            self._by_year[year] = self.provider(self.country, self.subdivision, year)
        return self._by_year[year]

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays(day.year)

    def on_or_after(self, day: date) -> date:
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def is_bridge_day(self, day: date) -> bool:
        """A lone working day between a holiday and a weekend (Black Friday): many are off."""
        before, after = day - timedelta(days=1), day + timedelta(days=1)
        holidays = self.holidays(before.year) | self.holidays(after.year)
        return (before in holidays and after.weekday() == 5) or (
            after in holidays and before.weekday() == 6
        )

    def contact_day(self, day: date) -> date:
        """The first day at or after `day` to reach an employer: a business day, not a bridge."""
        day = self.on_or_after(day)
        while self.is_bridge_day(day):
            day = self.on_or_after(day + timedelta(days=1))
        return day

    def add_business_days(self, day: date, count: int) -> date:
        step = 1 if count >= 0 else -1
        for _ in range(abs(count)):
            day += timedelta(days=step)
            while not self.is_business_day(day):
                day += timedelta(days=step)
        return day

    def shift(self, day: date, offset: Offset) -> date:
        """Move a day by a day-based offset; calendar days land on a business day."""
        if offset.unit == "bd":
            return self.add_business_days(day, offset.amount)
        if offset.unit == "d":
            return self.on_or_after(day + timedelta(days=offset.amount))
        raise ValueError(f"{offset} is not a day offset")


@dataclass(frozen=True)
class WorkingHours:
    start: time
    end: time

    def next_slot(self, moment: datetime, calendar: BusinessCalendar) -> datetime:
        """The first moment at or after `moment` inside working hours on a business day."""
        zone = moment.tzinfo
        assert isinstance(zone, ZoneInfo)
        day, clock = moment.date(), moment.timetz().replace(tzinfo=None)
        if calendar.is_business_day(day) and self.start <= clock < self.end:
            return moment
        if not calendar.is_business_day(day) or clock >= self.end:
            day = calendar.on_or_after(day + timedelta(days=1))
        return at_local(day, self.start, zone)


def country_of_zone(zone: str) -> str | None:
    """The country of a time zone from tzdata's zone tables (zone.tab, zone1970.tab); None for
    zones of no country (Etc/UTC). An old alias (US/Eastern) is matched by its zone data."""
    table = _zone_countries()
    if zone in table:
        return table[zone]
    return _country_of_alias(zone)


@functools.lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    table: dict[str, str] = {}
    for name in ("zone1970.tab", "zone.tab"):  # zone.tab last: its single country wins
        text = _tzdata_file(name)
        for line in (text or b"").decode("utf-8").splitlines():
            fields = line.split("\t")
            if len(fields) >= 3 and not line.startswith("#"):
                table[fields[2]] = fields[0].split(",")[0]
    return table


@functools.lru_cache(maxsize=16)
def _country_of_alias(zone: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*", zone) or "/" not in zone:
        return None  # UTC, GMT, EST5EDT...: zones of no country
    if zone.startswith("Etc/"):
        return None
    data = _tzdata_file(zone)
    if not data:
        return None
    for name, country in _zone_countries().items():
        if _tzdata_file(name) == data:
            return country
    return None


def _tzdata_file(name: str) -> bytes | None:
    """A file of the time zone database: the tzdata package's copy, else the system's."""
    import zoneinfo

    for folder in (*_tzdata_folders(), *zoneinfo.TZPATH):
        try:
            return (Path(folder) / name).read_bytes()
        except OSError:
            continue
    return None


@functools.lru_cache(maxsize=1)
def _tzdata_folders() -> tuple[str, ...]:
    """Where the tzdata package keeps its zoneinfo (found without importing
    importlib.resources, which costs start-up time)."""
    import importlib.util

    spec = importlib.util.find_spec("tzdata")
    locations = spec.submodule_search_locations if spec else None
    return tuple(str(Path(location) / "zoneinfo") for location in locations or ())


def _cached_answers(cache: Path, empty: dict[str, list[str]]) -> dict[str, list[str]]:
    """What a disk cache of the `holidays` package's answers holds, if it was written by
    the installed version (else `empty`): a new version may know other holidays."""
    stored: dict[str, list[str]] = {}
    if cache.exists():
        try:
            stored = json.loads(cache.read_text())
        except (OSError, ValueError):
            stored = {}
    version = _holidays_version()
    if stored.get("version") != [version]:
        stored = {"version": [version], **empty}
    return stored


@functools.lru_cache(maxsize=64)
def cached_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """Public holidays from the `holidays` package, cached on disk (importing it is slow)."""
    from followup.config import cache_dir

    cache = cache_dir() / "holidays" / f"{country}-{subdivision or 'all'}.json"
    stored = _cached_answers(cache, {})
    if str(year) not in stored:
        import holidays

        try:
            table = holidays.country_holidays(country, subdiv=subdivision, years=[year])
        except NotImplementedError:
            from followup.errors import UserError

            raise UserError(f"holidays: unknown country or subdivision {country!r}") from None
        stored[str(year)] = sorted(day.isoformat() for day in table if day.year == year)
        _write_cache(cache, stored)
    return frozenset(date.fromisoformat(text) for text in stored[str(year)])


@functools.lru_cache(maxsize=64)
def known_country(country: str) -> bool:
    """Whether the `holidays` package knows `country` (answers cached on disk, like holidays)."""
    from followup.config import cache_dir

    if not re.fullmatch(r"[A-Z]{2,3}", country):  # ISO 3166 codes; nothing else reaches disk
        return False
    cache = cache_dir() / "holidays" / "countries.json"
    stored = _cached_answers(cache, {"known": [], "unknown": []})
    for answer in ("known", "unknown"):
        if country in stored.get(answer, []):
            return answer == "known"
    import holidays

    try:
        holidays.country_holidays(country)
    except NotImplementedError:
        answer = "unknown"
    else:
        answer = "known"
    stored.setdefault(answer, []).append(country)
    _write_cache(cache, stored)
    return answer == "known"


def _holidays_version() -> str:
    """Identify the installed `holidays` data without importing it (that costs ~50 ms)."""
    import importlib.util

    spec = importlib.util.find_spec("holidays")
    origin = spec.origin if spec else None
    return str(Path(origin).stat().st_mtime_ns) if origin else "none"


def _write_cache(path: Path, data: dict[str, list[str]]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data))
        temporary.replace(path)
    except OSError:
        pass  # a cache that cannot be written only costs time
