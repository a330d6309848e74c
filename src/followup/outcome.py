"""Recording what happened (`followup status`): a record file updated in place.

Only the outcome fields change (`status`, `status_since`, `status_note`,
`decision.expected_by`); the person's comments, key order, blank lines and quoting stay
as they were. YAML goes through ruamel.yaml's round-trip mode; TOML gets a careful
line edit of those few keys; JSON (which has no comments) is rewritten in its key order.
The new text is validated as a record before the file is replaced, so a bad edit never
lands.
"""

from __future__ import annotations

import io
import json
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from followup.errors import UserError
from followup.record import InterviewRecord, read_record_text, record_from_text

OUTCOMES = ("heard-back", "offer", "rejected", "withdrawn")


@dataclass(frozen=True)
class OutcomeChange:
    """What to write: the new status and, when given, a decision date and a note."""

    status: str
    today: date  # becomes `status_since` when the status changes
    decision_by: date | None = None
    note: str | None = None


def record_outcome(path: Path, change: OutcomeChange) -> InterviewRecord:
    """Write the outcome into the record file at `path`; returns the updated record."""
    if change.status not in OUTCOMES:
        raise UserError(f"status: expected one of {', '.join(OUTCOMES)}, not {change.status!r}")
    text = read_record_text(path)
    current = record_from_text(path, text)
    return edit_record(path, text, _changed_fields(current, change)) or current


REMOVE = object()  # as a field's value: take the field out of the file


def edit_record(path: Path, text: str, fields: dict[str, Any]) -> InterviewRecord | None:
    """Set (or REMOVE) these dotted fields in the record file `path`, whose text is `text`,
    keeping everything else as the person wrote it; the result is validated before the
    file is replaced. Returns the updated record, or None when there was nothing to do."""
    if not fields:
        return None
    return _rewrite(
        path,
        text,
        as_yaml=lambda: _edit_yaml(text, fields),
        as_toml=lambda: _edit_toml(path, text, fields),
        as_json=lambda: _edit_json(text, fields),
    )


def _rewrite(
    path: Path,
    text: str,
    *,
    as_yaml: Callable[[], str],
    as_toml: Callable[[], str],
    as_json: Callable[[], str],
) -> InterviewRecord:
    """The file's new text, made by the edit for its format, checked as a record and only
    then written; the old text goes through the bounded loader before ruamel reads it."""
    record_from_text(path, text)
    suffix = path.suffix.lower()
    edit = as_yaml if suffix in (".yaml", ".yml") else as_toml if suffix == ".toml" else as_json
    updated = edit()
    record = record_from_text(path, updated)
    _replace(path, updated)
    return record


def _changed_fields(record: InterviewRecord, change: OutcomeChange) -> dict[str, Any]:
    """Dotted field name -> new value, for the fields whose value actually changes."""
    fields: dict[str, Any] = {}
    if record.status != change.status:
        fields["status"] = change.status
        fields["status_since"] = change.today  # the planner anchors the closing note here
    elif record.status_since is None:
        fields["status_since"] = change.today
    if change.note is not None and change.note != record.status_note:
        fields["status_note"] = change.note
    if change.decision_by is not None and change.decision_by != record.decision.expected_by:
        fields["decision.expected_by"] = change.decision_by
    return fields


def _replace(path: Path, text: str) -> None:
    """Replace the file atomically, keeping its permissions."""
    temporary = path.with_name(f".{path.name}.followup.tmp")
    temporary.write_text(text, encoding="utf-8", newline="")
    try:
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# --- YAML ---------------------------------------------------------------------------


def _edit_yaml(text: str, fields: dict[str, Any]) -> str:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.util import load_yaml_guess_indent

    _, sequence_indent, dash_offset = load_yaml_guess_indent(text)
    yaml = YAML()  # round-trip: comments, order, quoting and flow style are kept
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the person's long lines
    yaml.indent(mapping=_mapping_indent(text), sequence=sequence_indent, offset=dash_offset or 0)
    data = yaml.load(text)
    for name, value in fields.items():
        parent: Any = data
        *path, key = name.split(".")
        for part in path:
            if not isinstance(parent.get(part), dict):
                parent[part] = CommentedMap()
            parent = parent[part]
        if value is not REMOVE:
            parent[key] = value
        elif key in parent:
            del parent[key]
            if path and not parent:  # an emptied mapping goes too
                _parent_of(data, path).pop(path[-1])
    out = io.StringIO()
    yaml.dump(data, out)
    dumped = out.getvalue()
    merged = _keep_untouched_lines(
        text, dumped, {part for name in fields for part in name.split(".")}
    )
    return merged if _same_yaml(merged, dumped) else dumped


def _parent_of(data: Any, path: list[str]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


def _same_yaml(one: str, other: str) -> bool:
    import yaml

    try:
        return bool(yaml.safe_load(one) == yaml.safe_load(other))
    except yaml.YAMLError:
        return False


def _keep_untouched_lines(before: str, after: str, keys: set[str]) -> str:
    """`after`, but with every line that sets none of `keys` exactly as it was `before`:
    ruamel.yaml re-spaces flow sequences and the like, which the person should not see."""
    import difflib

    sets_key = re.compile(rf"^[\s-]*(?:{'|'.join(map(re.escape, keys))})\s*:")
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    merged: list[str] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for action, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if action == "equal":
            merged += old[old_start:old_end]
        elif action == "replace" and old_end - old_start == new_end - new_start:
            for was, now in zip(old[old_start:old_end], new[new_start:new_end], strict=True):
                merged.append(now if sets_key.match(now) else was)
        elif action == "delete":  # lines of removed fields go; ruamel's re-spacing does not
            merged += [line for line in old[old_start:old_end] if not sets_key.match(line)]
        else:  # lines added for new fields
            merged += [line for line in new[new_start:new_end] if sets_key.match(line)]
            merged += [line for line in old[old_start:old_end]]
    return "".join(merged)


def _mapping_indent(text: str) -> int:
    """How far the file indents a mapping nested in a mapping (ruamel guesses sequences)."""
    match = _NESTED_MAPPING.search(text)
    return len(match.group(1)) if match else 2


_NESTED_MAPPING = re.compile(r"^[^\s#-][^:\n]*:[ \t]*(?:#[^\n]*)?\n( +)[^\s#-]", re.MULTILINE)


# --- TOML ---------------------------------------------------------------------------

_TABLE = re.compile(r"\s*\[")
_VALUE = r"(?:\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|[^\s#\"']+)"


def _edit_toml(path: Path, text: str, fields: dict[str, Any]) -> str:
    """Set each field on its own line (replacing the value only), or add the line."""
    lines = text.splitlines(keepends=True)
    for name, value in fields.items():
        table, _, key = name.rpartition(".")
        if value is REMOVE:
            lines = _remove_toml_key(lines, table, key)
        else:
            lines = _set_toml_key(lines, table, key, _toml_value(value))
    updated = "".join(lines)
    try:
        data = tomllib.loads(updated)
    except tomllib.TOMLDecodeError:
        data = None
    for name, value in fields.items():
        found: Any = data
        for part in name.split("."):
            found = found.get(part) if isinstance(found, dict) else None
        if found != (None if value is REMOVE else value):
            raise UserError(
                f"{path}: could not update `{name}` safely (it is written in a form followup "
                "does not edit); set it by hand"
            )
    return updated


def _toml_value(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return json.dumps(str(value), ensure_ascii=False)  # a valid TOML basic string


def _toml_key_pattern(key: str) -> str:
    """A key as it may be written: bare, or quoted (a task key with a slash must be)."""
    bare = re.escape(key)
    return (
        rf"(?:{bare}|\"{bare}\"|'{bare}')"
        if _BARE_KEY.fullmatch(key)
        else rf"(?:\"{bare}\"|'{bare}')"
    )


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _remove_toml_key(lines: list[str], table: str, key: str) -> list[str]:
    start, end = _table_span(lines, table)
    if start is None:
        return lines
    pattern = re.compile(rf"^\s*{_toml_key_pattern(key)}\s*=")
    kept = [line for i, line in enumerate(lines) if not (start <= i < end and pattern.match(line))]
    own = kept[start : end - (len(lines) - len(kept))]
    if table and not any(line.strip() for line in own):  # the table is empty now: it goes too
        header = start - 1
        blank_before = header > 0 and not kept[header - 1].strip()
        return kept[: header - blank_before] + kept[end - (len(lines) - len(kept)) :]
    return kept


def _set_toml_key(lines: list[str], table: str, key: str, value: str) -> list[str]:
    start, end = _table_span(lines, table)
    written = key if _BARE_KEY.fullmatch(key) else json.dumps(key)
    if start is None:  # no such table yet: add it at the end
        tail = "" if not lines or lines[-1].endswith("\n") else "\n"
        return [*lines, f"{tail}\n[{table}]\n{written} = {value}\n"]
    pattern = re.compile(rf"^(\s*{_toml_key_pattern(key)}\s*=\s*){_VALUE}(.*)$", re.DOTALL)
    for index in range(start, end):
        match = pattern.match(lines[index])
        if match:
            lines[index] = f"{match.group(1)}{value}{match.group(2)}"
            return lines
    # Add it after the table's last key line, so trailing comments stay with what follows.
    last_key = next(
        (i for i in range(end - 1, start - 1, -1) if "=" in lines[i] and not _comment(lines[i])),
        start - 1,
    )
    insert_at = last_key + 1
    if insert_at > 0 and not lines[insert_at - 1].endswith("\n"):
        lines[insert_at - 1] += "\n"
    lines.insert(insert_at, f"{written} = {value}\n")
    return lines


def _table_span(lines: list[str], table: str) -> tuple[int | None, int]:
    """The line range of a table's own keys ("" is the top level before any header)."""
    header = re.compile(rf"^\s*\[\s*{re.escape(table)}\s*\]\s*(#.*)?$")
    start: int | None = 0 if not table else None
    for index, line in enumerate(lines):
        if start is None:
            if header.match(line.rstrip("\n")):
                start = index + 1
        elif _TABLE.match(line):
            return start, index
    return start, len(lines)


def _comment(line: str) -> bool:
    return line.lstrip().startswith("#")


# --- JSON ---------------------------------------------------------------------------


def _edit_json(text: str, fields: dict[str, Any]) -> str:
    data = json.loads(text)
    for name, value in fields.items():
        parent = data
        *path, key = name.split(".")
        for part in path:
            parent = parent.setdefault(part, {})
        if value is REMOVE:
            parent.pop(key, None)
        else:
            parent[key] = value.isoformat() if isinstance(value, date) else value
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# --- a new interview round ------------------------------------------------------------


def append_interview(path: Path, text: str, interview: dict[str, Any]) -> InterviewRecord:
    """Append `interview` to the record's `interviews`, keeping the rest of the file."""
    return _rewrite(
        path,
        text,
        as_yaml=lambda: _append_yaml(text, interview),
        as_toml=lambda: _append_toml(path, text, interview),
        as_json=lambda: _append_json(text, interview),
    )


def _append_json(text: str, interview: dict[str, Any]) -> str:
    data = json.loads(text)
    data.setdefault("interviews", []).append(interview)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _append_yaml(text: str, interview: dict[str, Any]) -> str:
    from ruamel.yaml import YAML
    from ruamel.yaml.util import load_yaml_guess_indent

    _, sequence_indent, dash_offset = load_yaml_guess_indent(text)
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=_mapping_indent(text), sequence=sequence_indent, offset=dash_offset or 0)
    data = yaml.load(text)
    data["interviews"].append(interview)
    out = io.StringIO()
    yaml.dump(data, out)
    dumped = out.getvalue()
    # Only the new round's lines are added; every other line stays as the person wrote it.
    merged = _keep_untouched_lines(text, dumped, _all_keys(interview))
    return merged if _same_yaml(merged, dumped) else dumped


def _all_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in _all_keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in _all_keys(item)}
    return set()


def _append_toml(path: Path, text: str, interview: dict[str, Any]) -> str:
    """An `[[interviews]]` table (and its interviewers) at the end of the file."""
    lines = ["", "[[interviews]]"]
    lines += [
        f"{key} = {_toml_value(value)}" for key, value in interview.items() if key != "interviewers"
    ]
    for person in interview["interviewers"]:
        lines += ["", "[[interviews.interviewers]]"]
        for key, value in person.items():
            if isinstance(value, list):
                items = ", ".join(_toml_value(item) for item in value)
                lines.append(f"{key} = [{items}]")
            else:
                lines.append(f"{key} = {_toml_value(value)}")
    updated = text + ("" if text.endswith("\n") else "\n") + "\n".join(lines) + "\n"
    try:
        count = len(tomllib.loads(updated).get("interviews", []))
    except tomllib.TOMLDecodeError:
        count = -1
    if count != len(tomllib.loads(text).get("interviews", [])) + 1:
        raise UserError(
            f"{path}: could not add the round safely (its interviews are written in a form"
            " followup does not edit); add it by hand"
        )
    return updated
