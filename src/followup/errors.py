"""The errors a user can cause or meet; `cli.main` turns each into a message and exit code."""

from __future__ import annotations

import re


class FollowupError(Exception):
    """Base: the message is for the user, complete, and safe to print."""

    exit_code = 1


class UserError(FollowupError):
    """Bad usage or bad input (exit 2): nothing was written."""

    exit_code = 2


class RecordError(UserError):
    """A record file that cannot be used: `<file>: <field>: <problem>`, on one line."""

    def __init__(self, path: str, field: str | None, problem: str) -> None:
        self.path, self.field, self.problem = path, field, problem
        where = f"{printable(path)}: {printable(field, 80)}" if field else printable(path)
        super().__init__(f"{where}: {printable(problem, 200)}")


# Line breaks and other controls, and lone surrogates (they cannot even be printed).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def printable(text: str, limit: int | None = None) -> str:
    """`text` safe to show in a one-line message: controls escaped, clipped to `limit`."""
    shown = _UNPRINTABLE.sub(lambda found: _escape(found.group()), text)
    return shown if limit is None or len(shown) <= limit else shown[: limit - 1] + "…"


def _escape(character: str) -> str:
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class ExportFailed(FollowupError):
    """A destination failed at run time (exit 1); the message says what to do next."""


class AuthError(ExportFailed):
    """Missing, expired or revoked credentials."""


class MissingExtra(UserError):
    """An exporter whose optional dependencies are not installed."""

    def __init__(self, exporter: str, extra: str) -> None:
        super().__init__(
            f"the {exporter} exporter needs extra packages: "
            f"pip install 'interview-followup[{extra}]'"
        )
