"""The interview record: the file a person writes after an interview, and its loader.

`load_record(path)` reads YAML, TOML or JSON and returns a validated `InterviewRecord`,
or raises `RecordError` naming the file, the field path and the problem.
"""

from __future__ import annotations

import json
import re
import tomllib
import types
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from msgspec import Meta, Struct

from followup.answers import EMAIL
from followup.errors import RecordError

MAX_TEXT = 2000  # longer than any honest title, topic or name; hostile 10 kB strings stop here
RECORD_SUFFIXES = (".yaml", ".yml", ".toml", ".json")

Text = Annotated[str, Meta(min_length=1, max_length=MAX_TEXT)]
LongText = Annotated[str, Meta(max_length=MAX_TEXT * 5)]
RECORD_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")
TASK_REF = re.compile(r"[a-z0-9-]+(?:/[a-z0-9-]+)*")  # a task key without its record id
DURATION = re.compile(r"(\d{1,3})(m|min|h)")
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
    duration: str = "60m"
    kind: Literal["phone", "video", "onsite"] = "video"
    interviewers: Annotated[tuple[Interviewer, ...], Meta(min_length=1)]

    @property
    def minutes(self) -> int:
        match = DURATION.fullmatch(self.duration.strip())
        if not match:
            return 0
        return int(match.group(1)) * (60 if match.group(2) == "h" else 1)


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
    id: Text
    company: Text
    role: Text
    timezone: Text
    interviews: Annotated[tuple[Interview, ...], Meta(min_length=1)]
    decision: Decision = Decision()
    contact: Contact = Contact()
    style: Literal["formal", "casual"] | None = None
    industry: Text | None = None
    profile: Literal["standard", "assertive", "patient"] | None = None
    offsets: dict[str, str] = {}
    country: Text | None = None
    forgot_to_mention: tuple[Text, ...] = ()
    recorded_at: LocalTime | None = None  # when this was written; pins late/ask-timeline logic
    status: Status = "waiting"
    status_since: date | None = None
    status_note: LongText | None = None
    # What the person did, by task (`thank-you/jane-doe`, `check-in`): `followup done` writes it.
    done: dict[str, date] = {}

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
            if value.tzinfo is not None:
                raise ValueError("write the local time without an offset (the zone is `timezone`)")
            return LocalTime.fromisoformat(value.isoformat())
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
            return yaml.load(text, Loader=loader)
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix == ".json":
            return json.loads(text)
    except Exception as error:  # each parser has its own error type; all mean bad syntax
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) if mark else None
        if mark is not None and problem:
            problem = f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
        else:
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
    problem = FRIENDLIER.get(problem, problem)
    if field and problem == "unknown field":
        known = _field_names(field.rpartition(".")[0])
        problem += _near(field.rpartition(".")[2], known) or f" (known: {', '.join(known)})"
    elif field and problem.startswith("Invalid enum value"):
        given = problem.removeprefix("Invalid enum value ")
        allowed = _allowed_values(field)
        problem = f"{given} is not one of {', '.join(allowed)}" + _near(given.strip("'"), allowed)
    return field, problem[:1].lower() + problem[1:]


def _near(word: str, choices: Iterable[str]) -> str:
    from followup.answers import did_you_mean

    return did_you_mean(word, choices)


def _type_at(field: str) -> Any:
    """The declared type of a field path like `interviews[0].kind` (containers unwrapped)."""
    import typing

    kind: Any = InterviewRecord
    for name in filter(None, re.sub(r"\[\d+\]", "", field).split(".")):
        hints = typing.get_type_hints(kind, include_extras=True) if isinstance(kind, type) else {}
        kind = hints.get(name)
        while typing.get_origin(kind) in (Annotated, tuple, typing.Union, types.UnionType):
            args = [arg for arg in typing.get_args(kind) if arg not in (type(None), Ellipsis)]
            kind = args[0]
    return kind


def _field_names(parent: str) -> list[str]:
    kind = _type_at(parent)
    return list(kind.__struct_fields__) if _is_struct(kind) else []


def _is_struct(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, Struct)


def _allowed_values(field: str) -> list[str]:
    import typing

    kind = _type_at(field)
    return [str(value) for value in typing.get_args(kind)] if kind is not None else []


FRIENDLIER = {
    "Invalid RFC3339 encoded date": "not a date like 2026-12-01",
    "Expected `str` of length >= 1".replace("`", ""): "must not be empty",
    "Expected array of length >= 1": "needs at least one entry",
}


def _semantic_problems(record: InterviewRecord) -> list[tuple[str, str]]:
    """What types cannot say: zones, order of dates, duplicates, the offsets' rule names."""
    from followup.calendar_math import Offset
    from followup.playbook import RULE_IDS

    problems = []
    if not RECORD_ID.fullmatch(record.id):
        problems.append(("id", "use lowercase letters, digits and dashes (up to 80)"))
    try:
        ZoneInfo(record.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(("timezone", f"unknown time zone {record.timezone!r}"))
    for index, interview in enumerate(record.interviews):
        if not DURATION.fullmatch(interview.duration.strip()):
            problems.append((f"interviews[{index}].duration", "not a duration like 30m or 2h"))
        elif interview.minutes <= 0:
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
            if interviewer.email is not None and not EMAIL.fullmatch(interviewer.email.strip()):
                problems.append(
                    (where.removesuffix(".name") + ".email", _not_email(interviewer.email))
                )
    if record.contact.email is not None and not EMAIL.fullmatch(record.contact.email.strip()):
        problems.append(("contact.email", _not_email(record.contact.email)))
    first = min(interview.at for interview in record.interviews)
    expected = record.decision.expected_by
    if expected is not None and expected < first.date():
        problems.append(("decision.expected_by", "is before the first interview"))
    if expected is not None and expected > first.date() + timedelta(days=366):
        problems.append(("decision.expected_by", "is more than a year after the interview"))
    for name, text in record.offsets.items():
        if name not in RULE_IDS:
            problems.append((f"offsets.{name}", f"no rule named {name!r}{_near(name, RULE_IDS)}"))
            continue
        try:
            Offset.parse(text)
        except ValueError as error:
            problems.append((f"offsets.{name}", str(error)))
    for task, day in record.done.items():
        if not TASK_REF.fullmatch(task) or task.split("/")[0] not in RULE_IDS:
            problems.append((f"done.{task}", "not a task of the plan, like thank-you/jane-doe"))
        elif day < first.date():
            problems.append((f"done.{task}", "is before the first interview"))
    return problems


def _not_email(text: str) -> str:
    return f"not an e-mail address like jane@acme.example: {text!r}"


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


def record_id_for(company: str, role: str, at: datetime) -> str:
    """A stable id from what the record is about: `acme-corp-backend-engineer-2026-11`."""
    return f"{slugify(company)[:30]}-{slugify(role)[:30]}-{at:%Y-%m}".strip("-")


def parse_interviewer(text: str) -> dict[str, Any]:
    """`Jane Doe <jane@acme.example>: billing; on-call` (or the address without the angle
    brackets) -> an interviewer mapping."""
    match = re.fullmatch(
        r"\s*([^<:]+?)\s*(?:<([^>]*)>|\s(\S+@[^\s:]+))?\s*(?::(.*))?", text, re.DOTALL
    )
    if not match or not match.group(1).strip():
        raise ValueError(f"not like 'Name <email>: topic; topic': {text!r}")
    person: dict[str, Any] = {"name": match.group(1).strip()}
    address = match.group(2) or match.group(3)
    if address:
        person["email"] = address.strip()
    topics = [t.strip() for t in (match.group(4) or "").split(";") if t.strip()]
    if topics:
        person["topics"] = topics
    return person


def dump_record(data: dict[str, Any]) -> str:
    """YAML for a new record, fields in the documented order."""
    import yaml

    header = "# Interview record for followup; check it with `followup validate`.\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
