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
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from followup.errors import UserError
from followup.record import InterviewRecord, parse_text, record_from_data

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
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UserError(f"{path}: cannot read: {error.strerror or error}") from None
    current = record_from_data(path, parse_text(path, text))
    fields = _changed_fields(current, change)
    if not fields:
        return current
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        updated = _edit_yaml(text, fields)
    elif suffix == ".toml":
        updated = _edit_toml(path, text, fields)
    else:
        updated = _edit_json(text, fields)
    record = record_from_data(path, parse_text(path, updated))
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
        parent[key] = value
    out = io.StringIO()
    yaml.dump(data, out)
    dumped = out.getvalue()
    merged = _keep_untouched_lines(
        text, dumped, {part for name in fields for part in name.split(".")}
    )
    return merged if _same_yaml(merged, dumped) else dumped


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
        elif action == "delete":
            merged += old[old_start:old_end]
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
        if found != value:
            raise UserError(
                f"{path}: could not update `{name}` safely (it is written in a form followup "
                "does not edit); set it by hand"
            )
    return updated


def _toml_value(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return json.dumps(str(value), ensure_ascii=False)  # a valid TOML basic string


def _set_toml_key(lines: list[str], table: str, key: str, value: str) -> list[str]:
    start, end = _table_span(lines, table)
    if start is None:  # no such table yet: add it at the end
        tail = "" if not lines or lines[-1].endswith("\n") else "\n"
        return [*lines, f"{tail}\n[{table}]\n{key} = {value}\n"]
    pattern = re.compile(rf"^(\s*{re.escape(key)}\s*=\s*){_VALUE}(.*)$", re.DOTALL)
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
    lines.insert(insert_at, f"{key} = {value}\n")
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
        parent[key] = value.isoformat() if isinstance(value, date) else value
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
