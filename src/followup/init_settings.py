"""`followup init`: write the settings file. Every answer is checked before it is written;
a re-run offers the current settings as defaults and keeps the old file as `.bak`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from followup import answers
from followup.answers import Invalid, Questions, checked
from followup.errors import UserError

DEFAULT_EXPORTER_OPTIONS = {
    "todoist": {"project": "Job search"},
    "google": {"calendar_name": "Interview follow-ups"},
    "caldav": {"calendar": "Job search", "as": "event"},  # url and username are the user's own
}


def _needs_sign_in(destination: str) -> bool:
    """Whether the destination's exporter keeps a secret (`followup auth NAME` asks for it)."""
    from followup.plugins import load_exporter

    try:
        return load_exporter(destination).secret is not None
    except Exception:  # a plugin that fails to load is reported when it is used
        return False


@click.command()
@click.option("--name", help="Your name, for the drafts.")
@click.option("--signature", help="How your messages end (default: your name).")
@click.option("--email", help="Your address, left out when reading invitations.")
@click.option("--timezone", "zone", help="Your own time zone (default: the system's).")
@click.option("--country", help="Country code for public holidays, e.g. US, DE (-: none).")
@click.option("--working-hours", help="When calls may land, e.g. 09:00-17:00 or 9am-5pm.")
@click.option(
    "--folder", type=click.Path(path_type=Path, file_okay=False), help="Your job-search folder."
)
@click.option(
    "--destination",
    "destinations",
    multiple=True,
    help="Where `followup sync` sends tasks (repeat): ics, google, todoist.",
)
@click.option("--force", is_flag=True, help="Replace existing settings without asking.")
def init(
    name: str | None,
    signature: str | None,
    email: str | None,
    zone: str | None,
    country: str | None,
    working_hours: str | None,
    folder: Path | None,
    destinations: tuple[str, ...],
    force: bool,
) -> None:
    """Write your settings file, asking for what the flags leave out (on a terminal; elsewhere
    the defaults stand and only --name is needed); says what to do next.

    \b
    Example:
      followup init
      followup init --name "Alex Morgan" --folder ~/job-search --destination ics
    """
    from followup.config import load_settings, settings_path, write_private
    from followup.plugins import discover

    path = settings_path()
    questions = Questions()
    current = _current_answers(path)
    if path.exists() and not force:
        if not questions.interactive:
            raise UserError(f"{path} exists: use --force to replace it")
        if not click.confirm(f"{path} exists. Change it? (its answers are the defaults)"):
            click.echo(f"kept {path}")
            return
    installed = sorted(discover())

    def value(flag: str, given: Any, question: str, check: Any, default: str) -> Any:
        if given is not None:
            return checked(flag, str(given), check)
        if questions.interactive:
            return questions.ask(question, check, default)
        try:
            return check(default)
        except Invalid as error:
            raise UserError(f"{flag}: {error}") from None

    you, planning = current.get("you", {}), current.get("planning", {})
    if name is None and not questions.interactive and not you.get("name"):
        answers.require(["--name"])
    name = value("--name", name, "Your name", _nonempty, you.get("name", ""))
    signature = value(
        "--signature",
        signature,
        "Signature (how your messages end)",
        _nonempty,
        you.get("signature") or name,
    )
    email = value(
        "--email",
        email,
        "Your e-mail address (empty: none)",
        _optional(answers.email),
        you.get("email", ""),
    )
    zone = value(
        "--timezone",
        zone,
        "Your time zone",
        answers.time_zone,
        you.get("timezone") or answers.local_zone_name(),
    )
    country = value(
        "--country",
        country,
        "Country for public holidays (e.g. US, GB, DE; - for none)",
        answers.country,
        planning.get("country") or _guess_country() or "-",
    )
    hours = value(
        "--working-hours",
        working_hours,
        "Working hours for calls",
        answers.working_hours,
        planning.get("working_hours", "09:00-17:00"),
    )
    folder_text = value(
        "--folder", folder, "Job-search folder", _nonempty, current.get("folder", "~/job-search")
    )
    chosen = (
        [checked("--destination", d, _destination(installed)) for d in destinations]
        if destinations
        else value(
            "--destination",
            None,
            f"Destinations for `followup sync` ({', '.join(installed)}; comma between)",
            _destinations(installed),
            ", ".join(current.get("destinations", ["ics"])),
        )
    )
    text = _settings_text(
        current, folder_text, chosen, name, signature, email, zone, country, hours
    )
    staged = path.with_name(path.name + ".new")
    write_private(staged, text)
    try:
        load_settings(staged)  # what we wrote must read back
    except UserError:
        staged.unlink()
        raise
    if path.exists():
        write_private(path.with_name(path.name + ".bak"), path.read_text(encoding="utf-8"))
        click.echo(f"kept the previous settings as {path.name}.bak")
    staged.replace(path)
    Path(folder_text).expanduser().mkdir(parents=True, exist_ok=True)
    click.echo(f"wrote {path}")
    click.echo("Next:")
    for destination in chosen:
        if _needs_sign_in(destination):
            click.echo(f"  followup auth {destination}")
    click.echo(f"  followup new -o {folder_text.rstrip('/')}/<company>.yaml   # after an interview")
    click.echo("  followup sync                                  # send every record everywhere")
    click.echo("  followup list                                  # what is next, overdue first")


def _current_answers(path: Path) -> dict[str, Any]:
    """The settings file as it stands (even one that no longer loads), or nothing."""
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _settings_text(
    current: dict[str, Any],
    folder: str,
    chosen: list[str],
    name: str,
    signature: str,
    email: str | None,
    zone: str,
    country: str,
    hours: str,
) -> str:
    you, planning = current.get("you", {}), current.get("planning", {})
    lines = [
        "# followup settings, written by `followup init`; samples/config.toml shows every option.",
        f"folder = {_toml(folder)}",
        f"destinations = [{', '.join(_toml(d) for d in chosen)}]",
        "",
        "[you]",
        f"name = {_toml(name)}",
        f"signature = {_toml(signature)}",
        *([f"email = {_toml(email)}"] if email else []),
        *_kept(you, "phone"),  # what init does not ask stays as the user set it
        f"timezone = {_toml(zone)}",
        "",
        "[planning]",
        *([f"country = {_toml(country)}"] if country else []),
        *_kept(planning, "subdivision", "profile"),
        f"working_hours = {_toml(hours)}",
    ]
    offsets = planning.get("offsets")
    if isinstance(offsets, dict) and offsets:
        lines += [
            "",
            "[planning.offsets]",
            *(f"{_toml(k)} = {_toml(v)}" for k, v in offsets.items()),
        ]
    options: dict[str, dict[str, Any]] = {k: dict(v) for k, v in DEFAULT_EXPORTER_OPTIONS.items()}
    options["ics"] = {"output_dir": f"{folder.rstrip('/')}/calendar"}
    for exporter, table in current.get("exporters", {}).items():  # what the user set stays
        if isinstance(table, dict):
            kept = {k: v for k, v in table.items() if isinstance(v, str | int | bool)}
            options[exporter] = {**options.get(exporter, {}), **kept}
    for exporter, table in options.items():
        if exporter in chosen or exporter in current.get("exporters", {}):
            lines += ["", f"[exporters.{exporter}]"]
            lines += [f"{k} = {_toml(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _kept(table: dict[str, Any], *keys: str) -> list[str]:
    return [f"{key} = {_toml(table[key])}" for key in keys if isinstance(table.get(key), str)]


def _toml(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)  # JSON strings, numbers, booleans are TOML


def _nonempty(text: str) -> str:
    if not text.strip():
        raise Invalid("must not be empty")
    return text.strip()


def _optional(check: Any) -> Any:
    def optional(text: str) -> Any:
        return check(text) if text.strip() else None

    return optional


def _destination(installed: list[str]) -> Any:
    def check(name: str) -> str:
        name = name.strip()
        if name not in installed:
            raise Invalid(
                f"no exporter named {name!r} (installed: {', '.join(installed)})",
                answers.close_match(name, installed),
            )
        return name

    return check


def _destinations(installed: list[str]) -> Any:
    one = _destination(installed)

    def check(text: str) -> list[str]:
        return [one(part) for part in text.split(",") if part.strip()]

    return check


def _guess_country() -> str:
    """The country of the system locale (en_US.UTF-8 -> US), or empty."""
    import os
    import re

    for name in ("LC_ALL", "LC_TIME", "LANG"):
        match = re.match(r"[a-z]{2,3}_([A-Z]{2})\b", os.environ.get(name, ""))
        if match:
            return match.group(1)
    return ""
