"""The interview record: the file a person writes after an interview, and its loader.

`load_record(path)` reads YAML, TOML or JSON and returns a validated `InterviewRecord`,
or raises `RecordError` naming the file, the field path and the problem.
"""

from __future__ import annotations

import json
import re
import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from msgspec import Meta, Struct

from followup.errors import RecordError

MAX_TEXT = 2000  # longer than any honest title, topic or name; hostile 10 kB strings stop here
RECORD_SUFFIXES = (".yaml", ".yml", ".toml", ".json")

Text = Annotated[str, Meta(min_length=1, max_length=MAX_TEXT)]
LongText = Annotated[str, Meta(max_length=MAX_TEXT * 5)]
RecordId = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")]
Duration = Annotated[str, Meta(pattern=r"^\d{1,3}(m|min|h)$")]
Offset = Annotated[str, Meta(pattern=r"^-?\d{1,3}(bd|d|h)$")]
Status = Literal["waiting", "heard-back", "offer", "rejected", "withdrawn"]
Channel = Literal["email", "phone", "mail", "in-person"]


class LocalTime(datetime):
    """A wall-clock date-time in the record's time zone, written like `2026-11-20 14:00`."""


class Interviewer(Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    name: Text
    title: Text | None = None
    email: Text | None = None
    phone: Text | None = None
    topics: tuple[Text, ...] = ()
    help: Text | None = None  # how you could help with what came up


class Interview(Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    at: LocalTime
    duration: Duration = "60m"
    kind: Literal["phone", "video", "onsite"] = "video"
    interviewers: Annotated[tuple[Interviewer, ...], Meta(min_length=1)]

    @property
    def minutes(self) -> int:
        number = int(re.match(r"\d+", self.duration).group())  # type: ignore[union-attr]
        return number * 60 if self.duration.endswith("h") else number


class Decision(Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    expected_by: date | None = None
    may_call: bool = False


class Contact(Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    channel: Channel = "email"
    name: Text | None = None
    email: Text | None = None
    phone: Text | None = None
    do_not_contact: bool = False


class InterviewRecord(Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    id: RecordId
    company: Text
    role: Text
    timezone: Text
    interviews: Annotated[tuple[Interview, ...], Meta(min_length=1)]
    decision: Decision = Decision()
    contact: Contact = Contact()
    style: Literal["formal", "casual"] | None = None
    industry: Text | None = None
    profile: Literal["standard", "assertive", "patient"] | None = None
    offsets: dict[str, Offset] = {}
    country: Text | None = None
    forgot_to_mention: tuple[Text, ...] = ()
    recorded_at: LocalTime | None = None  # when this was written; pins late/ask-timeline logic
    status: Status = "waiting"
    status_since: date | None = None
    status_note: LongText | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def application(self) -> str:
        return f"{self.company} — {self.role}"

    @property
    def latest(self) -> Interview:
        return max(self.interviews, key=lambda interview: interview.at)


def _decode_custom(kind: type, value: Any) -> Any:
    if kind is LocalTime:
        if isinstance(value, datetime):
            return LocalTime.fromisoformat(value.replace(tzinfo=None).isoformat())
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.strip())
            except ValueError:
                pass
            else:
                if parsed.tzinfo is None:
                    return LocalTime.fromisoformat(parsed.isoformat())
                raise ValueError("write the local time without an offset (the zone is `timezone`)")
        raise ValueError("not a date-time like 2026-11-20 14:00")
    raise NotImplementedError


def _schema_custom(kind: type) -> dict[str, Any]:
    if kind is LocalTime:
        return {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?$",
            "description": "local date-time in the record's time zone, e.g. 2026-11-20 14:00",
        }
    raise NotImplementedError


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a record, for editors (`followup schema`)."""
    schema: dict[str, Any] = msgspec.json.schema(InterviewRecord, schema_hook=_schema_custom)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "followup interview record"
    return schema


def parse_text(path: Path, text: str) -> Any:
    """Parse a record file's text by its suffix; syntax errors name the file."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            import yaml

            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix == ".json":
            return json.loads(text)
    except Exception as error:  # each parser has its own error type; all mean bad syntax
        problem = " ".join(str(error).split())
        raise RecordError(str(path), None, f"not valid {suffix[1:].upper()}: {problem}") from None
    raise RecordError(str(path), None, "unknown format (use .yaml, .toml or .json)")


def load_record(path: Path) -> InterviewRecord:
    """Read and validate one record file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecordError(str(path), None, "no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RecordError(str(path), None, f"cannot read: {error}") from None
    return record_from_data(path, parse_text(path, text))


def record_from_data(path: Path, data: Any) -> InterviewRecord:
    if not isinstance(data, dict):
        raise RecordError(str(path), None, "expected a mapping of fields at the top level")
    try:
        record = msgspec.convert(data, InterviewRecord, strict=False, dec_hook=_decode_custom)
    except msgspec.ValidationError as error:
        field, problem = _split_msgspec_error(str(error))
        raise RecordError(str(path), field, problem) from None
    for field, problem in _semantic_problems(record):
        raise RecordError(str(path), field, problem)
    return record


def _split_msgspec_error(message: str) -> tuple[str | None, str]:
    """`Expected `int`, got `str` - at `$.a[0].b`` -> (`a[0].b`, `expected int, got str`)."""
    problem, _, where = message.partition(" - at `")
    field = where.rstrip("`").removeprefix("$").removeprefix(".") or None
    if problem.startswith("Object contains unknown field"):
        name = problem.split("`")[1]
        field = f"{field}.{name}" if field else name
        problem = "unknown field"
    elif problem.startswith("Object missing required field"):
        name = problem.split("`")[1]
        field = f"{field}.{name}" if field else name
        problem = "required"
    problem = problem.replace("`", "")
    return field, problem[:1].lower() + problem[1:]


def _semantic_problems(record: InterviewRecord) -> list[tuple[str, str]]:
    """What types cannot say: zones, order of dates, duplicates, the offsets' rule names."""
    from followup.playbook import RULE_IDS

    problems = []
    try:
        ZoneInfo(record.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(("timezone", f"unknown time zone {record.timezone!r}"))
    for index, interview in enumerate(record.interviews):
        if interview.minutes <= 0:
            problems.append((f"interviews[{index}].duration", "must be longer than zero"))
        seen: set[str] = set()
        for person, interviewer in enumerate(interview.interviewers):
            where = f"interviews[{index}].interviewers[{person}].name"
            slug = person_slug(interviewer.name)
            if not interviewer.name.strip():
                problems.append((where, "is empty"))
            elif slug in seen:
                problems.append((where, f"duplicate interviewer {interviewer.name!r}"))
            seen.add(slug)
    first = min(interview.at for interview in record.interviews)
    expected = record.decision.expected_by
    if expected is not None and expected < first.date():
        problems.append(("decision.expected_by", "is before the first interview"))
    if expected is not None and expected > first.date() + timedelta(days=366):
        problems.append(("decision.expected_by", "is more than a year after the interview"))
    for name in record.offsets:
        if name not in RULE_IDS:
            problems.append((f"offsets.{name}", f"no rule named {name!r}"))
    return problems


def slugify(text: str) -> str:
    """A key-safe name: lowercase ASCII letters, digits and dashes."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60]


def person_slug(name: str) -> str:
    """A person's part of a task key; names with no Latin letters get a stable hash."""
    import hashlib

    return slugify(name) or "p-" + hashlib.sha256(name.strip().encode()).hexdigest()[:8]


def find_records(folder: Path) -> list[Path]:
    """The record files of a folder, in a stable order (settings files are not records)."""
    return sorted(
        path
        for path in folder.iterdir()
        if path.suffix.lower() in RECORD_SUFFIXES
        and path.is_file()
        and not path.name.startswith(".")
        and path.name != "config.toml"
    )
