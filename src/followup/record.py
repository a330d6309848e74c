"""The interview record: the file a person writes after an interview, and its loader.

`load_record(path)` reads YAML, TOML or JSON and returns a validated `InterviewRecord`,
or raises `RecordError` naming the file, the field path and the problem.

A record file is untrusted: it is read only if it is a regular file of bounded size,
parsed without YAML anchors, aliases or merge keys and to a bounded depth, and every
text, number and date in it is bounded, so that what loads can be planned and written.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
import types
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from msgspec import Meta, Struct

from followup.answers import EMAIL
from followup.errors import RecordError

MAX_TEXT = 2000  # longer than any honest title, topic or name; hostile 10 kB strings stop here
MAX_FILE_BYTES = 256 * 1024  # an honest record is a few kB; bigger files are not read
MAX_DEPTH = 16  # a record nests 5 levels deep; parsers recurse, so deeper stops at the door
EARLIEST_YEAR, LATEST_YEAR = 1970, 2100  # dates plus the longest offsets stay far from date.max
RECORD_SUFFIXES = (".yaml", ".yml", ".toml", ".json")

Text = Annotated[str, Meta(min_length=1, max_length=MAX_TEXT)]
LongText = Annotated[str, Meta(max_length=MAX_TEXT * 5)]
RECORD_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")
TASK_REF = re.compile(r"[a-z0-9-]+(?:/[a-z0-9-]+)*")  # a task key without its record id
DURATION = re.compile(r"(\d{1,3})(m|min|h)")
Status = Literal["waiting", "heard-back", "offer", "rejected", "withdrawn"]
Channel = Literal["email", "phone", "mail", "in-person"]
TopicKind = Literal["challenge", "project", "culture", "logistics"]


class LocalTime(datetime):
    """A wall-clock date-time in the record's time zone, written like `2026-11-20 14:00`."""


class Topic(Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """What was discussed; `kind` decides how a note takes it up (logistics: not in a thank-you)."""

    text: Text
    kind: TopicKind | None = None


class Interviewer(Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    name: Text
    title: Text | None = None
    greeting: Text | None = None  # how to address them, e.g. "Dr. Doe"; overrides the name
    email: Text | None = None
    phone: Text | None = None
    topics: tuple[Text | Topic, ...] = ()
    help: Text | None = None  # how you could help with what came up

    @property
    def topic_list(self) -> tuple[Topic, ...]:
        return tuple(Topic(text=t) if isinstance(t, str) else t for t in self.topics)


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
    country: Text | None = None  # the employer's, for public holidays; else from `timezone`
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


def load_record(path: Path) -> InterviewRecord:
    """Read and validate one record file."""
    return record_from_text(path, read_record_text(path))


def read_record_text(path: Path) -> str:
    """The text of a record file: a regular file of at most MAX_FILE_BYTES of UTF-8 (FIFOs,
    devices and folders refused unopened). A UTF-8 byte order mark is dropped."""
    from followup.files import UnreadableFile, read_regular_file

    try:
        data = read_regular_file(path, MAX_FILE_BYTES)
    except UnreadableFile as error:
        raise RecordError(str(path), None, error.problem) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RecordError(str(path), None, f"cannot read: {error}") from None


def record_from_text(path: Path, text: str) -> InterviewRecord:
    """Parse and validate a record file's text; errors name the field and, in YAML, its line."""
    parsed = parse_text(path, text)
    return record_from_data(path, parsed.data, parsed.lines)


@dataclass(frozen=True)
class Parsed:
    data: Any
    lines: dict[str, int]  # field path -> line, where the format tells (YAML)


class _Refused(Exception):
    """A YAML construct a record may not use: where, what, and on which line."""

    def __init__(self, where: str | None, problem: str, line: int) -> None:
        super().__init__(where, problem)
        self.where, self.problem = where, f"{problem} (line {line})"


def parse_text(path: Path, text: str) -> Parsed:
    """Parse a record file's text by its suffix; syntax errors name the file."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            return _parse_yaml(text)
        if suffix == ".toml":
            return Parsed(tomllib.loads(text), {})
        if suffix == ".json":
            return Parsed(json.loads(text), {})
    except _Refused as refused:
        raise RecordError(str(path), refused.where, refused.problem) from None
    except RecursionError:  # JSON and TOML parsers recurse; YAML is parsed iteratively
        raise RecordError(str(path), None, f"nested deeper than {MAX_DEPTH} levels") from None
    except Exception as error:  # each parser has its own error type; all mean bad syntax
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) if mark else None
        if mark is not None and problem:
            problem = f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
        else:
            problem = " ".join(str(error).split())
        at_line = re.search(r"at line (\d+)", problem) if suffix == ".toml" else None
        where = _toml_field(text, int(at_line[1])) if at_line else None
        raise RecordError(str(path), where, f"not valid {suffix[1:].upper()}: {problem}") from None
    raise RecordError(str(path), None, "unknown format (use .yaml, .toml or .json)")


_TOML_HEADER = re.compile(r"\s*(\[\[?)\s*([\w.-]+)\s*\]\]?\s*(#.*)?")
_TOML_KEY = re.compile(r"\s*([\w.-]+)\s*=")


def _toml_field(text: str, line: int) -> str | None:
    """The field a TOML line sets, like `interviews[0].at` (tomllib reports lines only; a
    date like 2026-02-30 is a syntax error in TOML)."""
    lines = text.splitlines()
    key = _TOML_KEY.match(lines[line - 1]) if 0 < line <= len(lines) else None
    if key is None:
        return None
    table = ""
    counts: dict[str, int] = {}  # array-of-tables name -> index of its latest element
    for content in lines[: line - 1]:
        header = _TOML_HEADER.fullmatch(content)
        if header is None:
            continue
        name = header[2]
        if header[1] == "[[":
            counts = {k: v for k, v in counts.items() if not k.startswith(name + ".")}
            counts[name] = counts.get(name, -1) + 1
        parts = name.split(".")
        table = ".".join(
            f"{part}[{counts[prefix]}]" if (prefix := ".".join(parts[: i + 1])) in counts else part
            for i, part in enumerate(parts)
        )
    return f"{table}.{key[1]}" if table else key[1]


@dataclass
class _Open:
    """A YAML mapping or sequence being built, and where it sits in the record."""

    value: dict[Any, Any] | list[Any]
    where: str
    key: Any = None
    has_key: bool = False

    def child(self) -> str:
        """The path of the value being read inside this collection."""
        return _child(self.where, self.key if self.has_key else len(self.value))


_MERGE, _STR = "tag:yaml.org,2002:merge", "tag:yaml.org,2002:str"
_COLLECTION_TAGS = (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_NO_ANCHORS = "anchors and aliases (& and *) are not allowed in a record"


def _parse_yaml(text: str) -> Parsed:
    """YAML to plain data from the parser's events, without recursion (libyaml's composer
    recurses per level and overflows the C stack on deep nesting), refusing anchors,
    aliases and merge keys (a few hundred bytes of them expand to gigabytes)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    scalar, mapping, sequence = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    lines: dict[str, int] = {}
    stack: list[_Open] = []
    root: Any = None
    documents = 0
    try:
        while (kind := type(event := loader.get_event())) is not yaml.StreamEndEvent:
            line = event.start_mark.line + 1
            if kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _Refused(None, "a record is one YAML document (no second ---)", line)
                continue
            parent = stack[-1] if stack else None
            if kind in ends:
                value = stack.pop().value
            elif kind is yaml.StreamStartEvent or kind is yaml.DocumentEndEvent:
                continue
            elif parent is not None and isinstance(parent.value, dict) and not parent.has_key:
                parent.key = _yaml_key(loader, event, parent.where, line)
                where = _child(parent.where, parent.key)
                if parent.key in parent.value:
                    raise _Refused(where, "given twice", line)
                parent.has_key = True
                lines[where] = line
                continue
            elif kind is yaml.AliasEvent or event.anchor is not None:
                raise _Refused(parent.child() if parent else None, _NO_ANCHORS, line)
            elif kind is scalar:
                value = _yaml_scalar(loader, event, parent, line)
            elif kind is mapping or kind is sequence:
                where = parent.child() if parent else ""
                if len(stack) >= MAX_DEPTH:
                    raise _Refused(_top(where), f"nested deeper than {MAX_DEPTH} levels", line)
                if event.tag not in _COLLECTION_TAGS:
                    raise _Refused(where or None, f"tag {event.tag} is not allowed", line)
                stack.append(_Open({} if kind is mapping else [], where))
                continue
            if not stack:
                root = value
            elif isinstance(stack[-1].value, dict):
                stack[-1].value[stack[-1].key] = value
                stack[-1].has_key = False
            else:
                stack[-1].value.append(value)
    finally:
        loader.dispose()
    return Parsed(root, lines)


def _child(where: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else str(key)


def _top(where: str) -> str | None:
    """The top-level field of a path: `a` of `a[0][1].b`."""
    return re.split(r"[.\[]", where, maxsplit=1)[0] or None


def _yaml_key(loader: Any, event: Any, where: str, line: int) -> Any:
    import yaml

    if type(event) is not yaml.ScalarEvent:
        raise _Refused(where or None, "a key must be a plain name", line)
    if event.anchor is not None:
        raise _Refused(where or None, _NO_ANCHORS, line)
    tag = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag == _MERGE:
        raise _Refused(_child(where, "<<"), "merge keys are not allowed in a record", line)
    return event.value if tag == _STR else _construct(loader, event, tag, where, line)


def _yaml_scalar(loader: Any, event: Any, parent: _Open | None, line: int) -> Any:
    """One scalar as the safe loader constructs it (text, int, date, bool...)."""
    import yaml

    tag = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag == _STR:
        return event.value
    return _construct(loader, event, tag, parent.child() if parent else "", line)


def _construct(loader: Any, event: Any, tag: str, where: str, line: int) -> Any:
    import yaml

    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as error:
        raise _Refused(where or None, str(getattr(error, "problem", error)), line) from None
    except ValueError as error:  # a date like 2026-13-45, or an integer of thousands of digits
        if tag == "tag:yaml.org,2002:timestamp":
            raise _Refused(where or None, f"not a valid date: {error}", line) from None
        raise _Refused(where or None, "a number too large", line) from None


def record_from_data(path: Path, data: Any, lines: dict[str, int] | None = None) -> InterviewRecord:
    """Validate parsed data as a record; `lines` (field path -> line) locates problems."""

    def refuse(where: str | None, problem: str) -> RecordError:
        line = lines.get(where) if lines and where else None
        return RecordError(str(path), where, f"{problem} (line {line})" if line else problem)

    if not isinstance(data, dict):
        raise RecordError(str(path), None, "expected a mapping of fields at the top level")
    for where, problem in _unsafe_parts(data):
        raise refuse(where, problem)
    try:
        record = msgspec.convert(data, InterviewRecord, strict=False, dec_hook=_decode_custom)
    except msgspec.ValidationError as error:
        raise refuse(*_split_msgspec_error(str(error))) from None
    for where, problem in _semantic_problems(record):
        raise refuse(where, problem)
    return record


_UNSAFE_TEXT = re.compile("[\x00\ud800-\udfff]")


def _unsafe_parts(data: dict[Any, Any]) -> Iterator[tuple[str | None, str]]:
    """Nesting deeper than MAX_DEPTH, and text no file or service can hold: NUL characters
    and lone surrogates (JSON escapes like \\ud800), in values and keys alike."""
    pending: list[tuple[Any, str, int]] = [(data, "", 1)]
    while pending:
        value, where, depth = pending.pop()
        if isinstance(value, str):
            found = _UNSAFE_TEXT.search(value)
            if found:
                yield where or None, _unsafe_problem(found.group())
            continue
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                yield _top(where), f"nested deeper than {MAX_DEPTH} levels"
                continue
            items = list(value.items() if isinstance(value, dict) else enumerate(value))
            for key, item in reversed(items):  # popped in the file's order
                child = _child(where, key)
                if isinstance(key, str) and (found := _UNSAFE_TEXT.search(key)):
                    yield child, _unsafe_problem(found.group())
                pending.append((item, child, depth + 1))


def _unsafe_problem(character: str) -> str:
    if character == "\x00":
        return "contains a NUL character"
    return f"contains a lone surrogate (U+{ord(character):04X}), which is not text"


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
    from followup.calendar_math import known_country
    from followup.playbook import RULE_IDS, offset_problem

    problems = []
    for where, moment in _dates(record):
        if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
            problems.append(
                (where, f"year {moment.year} is out of range ({EARLIEST_YEAR} to {LATEST_YEAR})")
            )
    if problems:
        return problems  # the checks below do date arithmetic
    if record.country is not None and not known_country(record.country):
        problems.append(
            ("country", f"no public holidays known for {record.country!r} (a code like US or DE)")
        )
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
        elif problem := offset_problem(name, text):
            problems.append((f"offsets.{name}", problem))
    for task, day in record.done.items():
        if not TASK_REF.fullmatch(task) or task.split("/")[0] not in RULE_IDS:
            problems.append((f"done.{task}", "not a task of the plan, like thank-you/jane-doe"))
        elif day < first.date():
            problems.append((f"done.{task}", "is before the first interview"))
    return problems


def _not_email(text: str) -> str:
    return f"not an e-mail address like jane@acme.example: {text!r}"


def _dates(record: InterviewRecord) -> Iterator[tuple[str, date]]:
    for index, interview in enumerate(record.interviews):
        yield f"interviews[{index}].at", interview.at
    for where, value in (
        ("recorded_at", record.recorded_at),
        ("decision.expected_by", record.decision.expected_by),
        ("status_since", record.status_since),
        *((f"done.{task}", day) for task, day in record.done.items()),
    ):
        if value is not None:
            yield where, value


def slugify(text: str) -> str:
    """A key-safe name: lowercase ASCII letters, digits and dashes."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60]


@functools.lru_cache(maxsize=4096)
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
        and not path.is_dir()  # a FIFO or device is reported by the loader, never opened
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
