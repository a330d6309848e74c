"""Paths, the settings file and secret storage. `FOLLOWUP_HOME` overrides every path."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from followup import answers
from followup.errors import ExportFailed, UserError

APP = "followup"


def home_override() -> Path | None:
    value = os.environ.get("FOLLOWUP_HOME")
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    if (home := home_override()) is not None:
        return home / "config"
    import platformdirs

    return Path(platformdirs.user_config_dir(APP))


def state_dir() -> Path:
    if (home := home_override()) is not None:
        return home / "state"
    import platformdirs

    return Path(platformdirs.user_state_dir(APP))


def cache_dir() -> Path:
    if (home := home_override()) is not None:
        return home / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP))


def private_dir(path: Path) -> Path:
    """Create a folder only its owner can enter (0700)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        path.chmod(0o700)
    return path


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace `path` so that readers see the old file or the new one, never half."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (0600), atomically."""
    private_dir(path.parent)
    write_atomically(path, text.encode("utf-8"), 0o600)


@dataclass(frozen=True)
class Settings:
    """The settings file (`config.toml`), with the embedded defaults filled in."""

    name: str = ""
    signature: str = ""
    email: str = ""
    phone: str = ""
    timezone: str | None = None  # None: the record's (employer's) zone
    country: str | None = None  # yours: the holidays of your own tasks
    subdivision: str | None = None
    employer_country: str | None = None  # every employer's, instead of the record's time zone
    working_hours: tuple[str, str] = ("09:00", "17:00")
    profile: str | None = None
    offsets: dict[str, str] = field(default_factory=dict)
    folder: Path | None = None
    destinations: tuple[str, ...] = ()
    exporters: dict[str, dict[str, Any]] = field(default_factory=dict)
    templates_dir: Path | None = None
    source: Path | None = None


def settings_path() -> Path:
    return config_dir() / "config.toml"


def load_settings(path: Path | None = None) -> Settings:
    path = path or settings_path()
    if not path.exists():
        return Settings(templates_dir=config_dir() / "templates")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: {error}") from None
    you = data.get("you", {})
    planning = data.get("planning", {})
    _known_keys(path, "you", you, ("name", "signature", "email", "phone", "timezone"))
    _known_keys(path, "planning", planning, PLANNING_KEYS)
    hours = _checked(path, "planning.working_hours", planning, answers.working_hours)
    start, end = (hours or "09:00-17:00").split("-")
    folder = data.get("folder")
    return Settings(
        name=you.get("name", ""),
        signature=you.get("signature", ""),
        email=_checked(path, "you.email", you, answers.email) or "",
        phone=you.get("phone", ""),
        timezone=_checked(path, "you.timezone", you, answers.time_zone),
        country=_checked(path, "planning.country", planning, _country) or None,
        subdivision=planning.get("subdivision"),
        employer_country=_checked(path, "planning.employer_country", planning, _country) or None,
        working_hours=(start, end),
        profile=_checked(path, "planning.profile", planning, _profile),
        offsets=_offsets(path, planning.get("offsets", {})),
        folder=Path(folder).expanduser() if folder else None,
        destinations=tuple(data.get("destinations", ())),
        exporters={k: dict(v) for k, v in data.get("exporters", {}).items()},
        templates_dir=config_dir() / "templates",
        source=path,
    )


def _country(text: str) -> str:
    from followup.calendar_math import known_country  # its answers are cached on disk

    code = text if re.fullmatch(r"[A-Z]{2,3}", text) else answers.country(text)
    if not known_country(code):
        raise answers.Invalid(f"no public holidays known for {text!r} (a code like US or DE)")
    return code


PLANNING_KEYS = (
    "country",
    "subdivision",
    "employer_country",
    "working_hours",
    "profile",
    "offsets",
)


def _known_keys(path: Path, section: str, table: Any, known: tuple[str, ...]) -> None:
    if not isinstance(table, dict):
        raise UserError(f"{path}: {section}: expected a table like [{section}]")
    for key in table:
        if key not in known:
            hint = answers.did_you_mean(key, known) or f" (known: {', '.join(known)})"
            raise UserError(f"{path}: {section}.{key}: unknown field{hint}")


def _profile(name: str) -> str:
    from followup.playbook import PROFILES

    return answers.choice(PROFILES)(name)


def _offsets(path: Path, table: dict[str, Any]) -> dict[str, str]:
    """`[planning.offsets]`: each a known rule and an offset like 3bd (as in a record)."""
    from followup.calendar_math import Offset
    from followup.playbook import RULE_IDS

    for name, text in table.items():
        field = f"planning.offsets.{name}"
        if name not in RULE_IDS:
            hint = (
                answers.did_you_mean(name, RULE_IDS) or f" (rules: {', '.join(sorted(RULE_IDS))})"
            )
            raise UserError(f"{path}: {field}: no rule named {name!r}{hint}")
        try:
            Offset.parse(str(text))
        except ValueError as error:
            raise UserError(f"{path}: {field}: {error}") from None
    return {name: str(text) for name, text in table.items()}


def _checked(path: Path, field: str, table: dict[str, Any], check: Any) -> Any:
    """A settings value through the check `followup init` applies; wrong is one line."""
    value = table.get(field.rsplit(".", 1)[1])
    if value is None:
        return None
    try:
        return check(str(value))
    except answers.Invalid as error:
        raise UserError(f"{path}: {field}: {error}") from None


# Secrets: the OS keyring when one works, else a 0600 file (with a warning).


def _keyring() -> Any | None:
    if os.environ.get("FOLLOWUP_NO_KEYRING") or home_override() is not None:
        return None
    try:
        import keyring
        from keyring.backends.fail import Keyring as FailKeyring
    except ImportError:
        return None
    backend = keyring.get_keyring()
    return None if isinstance(backend, FailKeyring) else keyring


def _secrets_file() -> Path:
    return config_dir() / "secrets.json"


def _read_secrets_file() -> dict[str, str]:
    path = _secrets_file()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as error:
        raise ExportFailed(
            f"the secrets file {path} is damaged ({error}); it was left as it is. Move it"
            f" aside (mv '{path}' '{path}.damaged') and sign in again with followup auth NAME"
        ) from None
    return {str(name): str(value) for name, value in data.items()}


def store_secret(name: str, value: str) -> str:
    """Store a secret; returns where it went, for the user's information."""
    ring = _keyring()
    if ring is not None:
        ring.set_password(APP, name, value)
        return "the system keyring"
    secrets = _read_secrets_file()
    secrets[name] = value
    write_private(_secrets_file(), json.dumps(secrets, indent=2))
    if home_override() is None:
        print(
            f"warning: no system keyring available; stored in {_secrets_file()} (mode 0600)",
            file=sys.stderr,
        )
    return str(_secrets_file())


def load_secret(name: str) -> str | None:
    ring = _keyring()
    if ring is not None:
        value = ring.get_password(APP, name)
        if value is not None:
            return str(value)
    return _read_secrets_file().get(name)


def delete_secret(name: str) -> bool:
    found = False
    ring = _keyring()
    if ring is not None:
        with contextlib.suppress(Exception):
            ring.delete_password(APP, name)
            found = True
    secrets = _read_secrets_file()
    if name in secrets:
        del secrets[name]
        write_private(_secrets_file(), json.dumps(secrets, indent=2))
        found = True
    return found
