"""Reading a file the user named: only a regular file, and only so much of it.

A FIFO given as FILE would wait forever for a writer and /dev/zero never ends, so special
files are refused before they are opened, the open never blocks (in case the file is
swapped in between), and no more than `limit` bytes are read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from followup.errors import UserError


class UnreadableFile(UserError):
    """`<file>: <problem>`: missing, special, too large or unreadable."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(f"{path}: {problem}")


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of the regular file `path`, refused when larger than `limit`."""
    try:
        _refuse_special(path, os.stat(path).st_mode)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
        with os.fdopen(os.open(path, flags), "rb") as file:
            _refuse_special(path, os.fstat(file.fileno()).st_mode)
            data = file.read(limit + 1)
    except FileNotFoundError:
        raise UnreadableFile(path, "no such file") from None
    except OSError as error:
        raise UnreadableFile(path, f"cannot read: {error.strerror or error}") from None
    if len(data) > limit:
        raise UnreadableFile(path, f"larger than {limit // 1024} kB: not what followup reads")
    return data


def _refuse_special(path: Path, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        kind = "a folder"
    elif stat.S_ISFIFO(mode):
        kind = "a FIFO"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    else:
        kind = "a socket"
    raise UnreadableFile(path, f"not a regular file ({kind})")
