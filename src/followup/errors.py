"""The errors a user can cause or meet; `cli.main` turns each into a message and exit code."""

from __future__ import annotations


class FollowupError(Exception):
    """Base: the message is for the user, complete, and safe to print."""

    exit_code = 1


class UserError(FollowupError):
    """Bad usage or bad input (exit 2): nothing was written."""

    exit_code = 2


class RecordError(UserError):
    """A record file that cannot be used: `<file>: <field>: <problem>`."""

    def __init__(self, path: str, field: str | None, problem: str) -> None:
        self.path, self.field, self.problem = path, field, problem
        where = f"{path}: {field}" if field else path
        super().__init__(f"{where}: {problem}")


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
