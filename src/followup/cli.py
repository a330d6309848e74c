"""The `followup` command line. Commands are thin: parse, call the library, print.

Heavy modules (exporters, SDKs, YAML writers) are imported inside the commands that need
them, so `followup --help` starts about as fast as Click itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from followup import __version__
from followup.errors import FollowupError, UserError

if TYPE_CHECKING:
    from followup.config import Settings
    from followup.record import InterviewRecord
    from followup.tasks import Task

RECORD_FILES = click.Path(path_type=Path, dir_okay=False)


class FollowupGroup(click.Group):
    """Turns every `FollowupError` into one line on stderr and its exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FollowupError as error:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"followup: {error}", err=True)
            ctx.exit(error.exit_code)


@click.group(cls=FollowupGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="followup")
@click.option(
    "--now",
    envvar="FOLLOWUP_NOW",
    metavar="ISO-8601",
    help="Plan as of this moment (with its offset), e.g. 2026-11-20T19:00:00-05:00.",
)
@click.option("--debug", is_flag=True, help="Show a traceback on errors.")
@click.pass_context
def cli(ctx: click.Context, now: str | None, debug: bool) -> None:
    """Turn an interview record into dated follow-up tasks, then send them to your
    calendar or task manager.

    \b
    Example:
      followup plan samples/onsite-acme.yaml
      followup export samples/onsite-acme.yaml --to ics -o out
    """
    ctx.obj = {"now": now, "debug": debug}


def current_time(ctx: click.Context) -> datetime:
    text = ctx.obj.get("now") if ctx.obj else None
    if not text:
        return datetime.now().astimezone()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"--now: not an ISO 8601 date-time: {text!r}") from None
    if moment.tzinfo is None:
        raise UserError("--now: give the offset too, e.g. 2026-11-20T19:00:00-05:00")
    return moment


def load_settings() -> Settings:
    from followup.config import load_settings as load

    return load()


def load_records(paths: Sequence[Path]) -> list[InterviewRecord]:
    """Every record, or the first error (nothing is written when one is bad)."""
    from followup.record import load_record

    records = [load_record(path) for path in paths]
    seen: dict[str, Path] = {}
    for path, record in zip(paths, records, strict=True):
        if record.id in seen:
            raise UserError(f"{path}: id: {record.id!r} is also the id of {seen[record.id]}")
        seen[record.id] = path
    return records


def plan_all(
    ctx: click.Context, records: list[InterviewRecord], settings: Settings, profile: str | None
) -> list[tuple[InterviewRecord, list[Task]]]:
    from followup.planner import plan_record

    now = current_time(ctx)
    return [(record, plan_record(record, settings, now, profile)) for record in records]


PROFILE = click.option(
    "--profile",
    type=click.Choice(["standard", "assertive", "patient"]),
    help="Override the cadence chosen by the record or the settings.",
)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=RECORD_FILES)
@PROFILE
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def plan(ctx: click.Context, files: tuple[Path, ...], profile: str | None, as_json: bool) -> None:
    """Show the follow-up tasks a record produces.

    \b
    Example:
      followup plan samples/onsite-acme.yaml
      followup plan samples/*.yaml --json
    """
    settings = load_settings()
    planned = plan_all(ctx, load_records(files), settings, profile)
    if as_json:
        import json

        out = [{"record": r.id, "tasks": [t.to_json() for t in tasks]} for r, tasks in planned]
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    from followup.timeline import render_timeline

    now = current_time(ctx)
    for index, (record, tasks) in enumerate(planned):
        if index:
            click.echo()
        click.echo(render_timeline(record, tasks, now))


@cli.command()
@click.argument("file", type=RECORD_FILES)
@click.option("--interviewer", help="Only this interviewer's thank-you (name, any case).")
@click.pass_context
def draft(ctx: click.Context, file: Path, interviewer: str | None) -> None:
    """Print the drafts of a record's messages, ready to copy.

    \b
    Example:
      followup draft samples/onsite-acme.yaml --interviewer "Raj Patel"
    """
    settings = load_settings()
    [(_, tasks)] = plan_all(ctx, load_records([file]), settings, None)
    chosen = [task for task in tasks if task.kind in ("email", "call", "mail")]
    if interviewer:
        wanted = interviewer.casefold()
        chosen = [t for t in chosen if any(p.casefold() == wanted for p in t.people)]
        if not chosen:
            names = sorted({p for t in tasks for p in t.people})
            raise UserError(f"--interviewer: no {interviewer!r} in {file} ({', '.join(names)})")
    for index, task in enumerate(chosen):
        if index:
            click.echo("\n" + "-" * 72 + "\n")
        click.echo(f"# {task.title}\n")
        click.echo(task.body)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=RECORD_FILES)
def validate(files: tuple[Path, ...]) -> None:
    """Check record files; prints one line per file, exit 2 if any is invalid.

    \b
    Example:
      followup validate samples/*.yaml
    """
    from followup.record import load_record

    bad = 0
    for path in files:
        try:
            record = load_record(path)
        except UserError as error:
            bad += 1
            click.echo(f"followup: {error}", err=True)
        else:
            click.echo(f"{path}: ok ({record.id}, {len(record.interviews)} interview(s))")
    if bad:
        raise click.exceptions.Exit(2)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of a record, for editors.

    \b
    Example:
      followup schema > followup-record.schema.json
    """
    import json

    from followup.record import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@cli.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script.

    \b
    Example:
      eval "$(followup completion bash)"
    """
    from click.shell_completion import get_completion_class

    completer = get_completion_class(shell)
    assert completer is not None
    click.echo(completer(cli, {}, "followup", "_FOLLOWUP_COMPLETE").source())


@cli.command()
@click.option("--company", help="Employer, e.g. 'Acme Corp'.")
@click.option("--role", help="The role, e.g. 'Senior Backend Engineer'.")
@click.option("--timezone", "zone", help="The employer's time zone, e.g. America/New_York.")
@click.option("--at", "at", help="Interview start, local time: '2026-11-20 14:00'.")
@click.option("--duration", default="60m", show_default=True, help="30m, 90m, 2h…")
@click.option(
    "--kind", type=click.Choice(["phone", "video", "onsite"]), default="video", show_default=True
)
@click.option(
    "--interviewer",
    "interviewers",
    multiple=True,
    metavar="'NAME <EMAIL>: TOPIC; TOPIC'",
    help="Repeat for each interviewer.",
)
@click.option("--decision-by", help="When they said they would decide (YYYY-MM-DD).")
@click.option("--may-call/--no-may-call", default=None, help="They said you may call then.")
@click.option(
    "--channel",
    type=click.Choice(["email", "phone", "mail", "in-person"]),
    help="How they reach you.",
)
@click.option("--contact-email", help="Who to write to about the decision.")
@click.option("--contact-phone", help="Who to call about the decision.")
@click.option("--do-not-contact", is_flag=True, help="They asked candidates not to chase.")
@click.option("--style", type=click.Choice(["formal", "casual"]))
@click.option("--industry", help="e.g. sales (selects a brisker cadence).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write (default: ./<id>.yaml).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--dry-run", is_flag=True, help="Print the record instead of writing it.")
@click.pass_context
def new(ctx: click.Context, **given: Any) -> None:
    """Write a new interview record, asking for whatever the flags leave out.

    \b
    Example:
      followup new --company "Acme Corp" --role "Backend Engineer" \\
        --timezone America/New_York --at "2026-11-20 14:00" \\
        --interviewer "Jane Doe <jane@acme.example>: billing; on-call" \\
        --decision-by 2026-12-01
    """
    from followup.record import dump_record, parse_interviewer, record_from_data, record_id_for

    settings = load_settings()
    now = current_time(ctx)
    company = given["company"] or click.prompt("Company")
    role = given["role"] or click.prompt("Role")
    zone = given["zone"] or click.prompt(
        "Employer's time zone", default=settings.timezone or _local_zone_name()
    )
    at_text = given["at"] or click.prompt("Interview start (local time, YYYY-MM-DD HH:MM)")
    try:
        at = datetime.fromisoformat(at_text.strip())
    except ValueError:
        raise UserError(f"--at: not a date-time like 2026-11-20 14:00: {at_text!r}") from None
    people_text = list(given["interviewers"])
    if not people_text:
        while True:
            entry = click.prompt(
                "Interviewer ('Name <email>: topic; topic', empty to finish)",
                default="",
                show_default=False,
            )
            if not entry:
                break
            people_text.append(entry)
    try:
        people = [parse_interviewer(text) for text in people_text]
    except ValueError as error:
        raise UserError(f"--interviewer: {error}") from None
    interactive = not given["interviewers"]
    decision_by = given["decision_by"]
    if decision_by is None and interactive:
        decision_by = (
            click.prompt(
                "Decision expected by (YYYY-MM-DD, empty if unknown)",
                default="",
                show_default=False,
            )
            or None
        )
    if decision_by:
        try:
            decision_by = date.fromisoformat(decision_by.strip())
        except ValueError:
            raise UserError(f"--decision-by: not a date like 2026-12-01: {decision_by!r}") from None
    channel = given["channel"] or (
        click.prompt(
            "How do they reach you",
            default="email",
            type=click.Choice(["email", "phone", "mail", "in-person"]),
        )
        if interactive
        else "email"
    )
    data: dict[str, Any] = {
        "id": record_id_for(company, role, at),
        "company": company,
        "role": role,
        "timezone": zone,
        "recorded_at": now.astimezone(_zone(zone)).strftime("%Y-%m-%d %H:%M"),
        "interviews": [
            {
                "at": at.strftime("%Y-%m-%d %H:%M"),
                "duration": given["duration"],
                "kind": given["kind"],
                "interviewers": people,
            }
        ],
        "decision": {"expected_by": decision_by, "may_call": bool(given["may_call"])},
        "contact": {
            "channel": channel,
            "email": given["contact_email"],
            "phone": given["contact_phone"],
            "do_not_contact": given["do_not_contact"],
        },
        "style": given["style"],
        "industry": given["industry"],
        "status": "waiting",
    }
    data = _without_empty(data)
    target = given["output"] or Path(f"{data['id']}.yaml")
    record_from_data(target, data)  # the same checks as every record, before anything is written
    text = dump_record(data)
    if given["dry_run"]:
        click.echo(text, nl=False)
        return
    if target.exists() and not given["force"]:
        raise UserError(f"{target}: already exists (use --force to overwrite)")
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {target}; next: followup plan {target}")


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"--timezone: unknown time zone {name!r}") from None


def _local_zone_name() -> str:
    """The system's zone name (from /etc/localtime), or UTC when it cannot be told."""
    link = Path("/etc/localtime")
    if link.is_symlink():
        parts = link.resolve().parts
        if "zoneinfo" in parts:
            return "/".join(parts[parts.index("zoneinfo") + 1 :])
    return "UTC"


def _without_empty(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {k: _without_empty(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, {}, [], False) or k == "may_call"}
    if isinstance(value, list):
        return [_without_empty(item) for item in value]
    return value


def parse_options(pairs: Sequence[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UserError(f"--set: expected NAME=VALUE, got {pair!r}")
        options[name.strip()] = value
    return options


@cli.command()
@click.argument("files", nargs=-1, required=True, type=RECORD_FILES)
@click.option("--to", "destination", required=True, help="Exporter name: ics, google, todoist…")
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where file exporters write (ics: one <record id>.ics per record).",
)
@click.option(
    "--as", "component", type=click.Choice(["event", "todo"]), help="ics: VEVENT or VTODO."
)
@click.option(
    "--set",
    "settings_pairs",
    multiple=True,
    metavar="NAME=VALUE",
    help="Any exporter option, e.g. --set project='Job hunt'.",
)
@PROFILE
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing anywhere.")
@click.pass_context
def export(
    ctx: click.Context,
    files: tuple[Path, ...],
    destination: str,
    output_dir: Path | None,
    component: str | None,
    settings_pairs: tuple[str, ...],
    profile: str | None,
    dry_run: bool,
) -> None:
    """Send the tasks of one or more records to a destination. Re-running after an
    edit changes exactly what the edit implies; an unchanged re-run writes nothing.

    \b
    Example:
      followup export samples/onsite-acme.yaml --to ics -o out
      followup export acme.yaml --to todoist --dry-run
    """
    from followup.export import run_export

    settings = load_settings()
    planned = plan_all(ctx, load_records(files), settings, profile)
    options = dict(settings.exporters.get(destination, {}))
    options.update({k: v for k, v in (("output_dir", output_dir), ("component", component)) if v})
    options.update(parse_options(settings_pairs))
    report = run_export(planned, destination, options, dry_run=dry_run, echo=click.echo)
    if not report.ok:
        raise click.exceptions.Exit(1)


@cli.command()
def exporters() -> None:
    """List the installed exporters, where each comes from, and whether it is configured.

    \b
    Example:
      followup exporters
    """
    from followup.export import describe_exporters

    for line in describe_exporters(load_settings()):
        click.echo(line)


class AuthGroup(click.Group):
    """`followup auth <name>`: each exporter that needs a secret brings its own command."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from followup.plugins import discover

        return sorted(discover())

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        from followup.plugins import discover

        plugin = discover().get(name)
        if plugin is None:
            return None
        try:
            command = plugin.load().auth_command()
        except Exception as error:  # a broken plugin is a warning; the others keep working
            click.echo(f"warning: the {name} exporter failed to load: {error}", err=True)
            return None
        if command is None:
            return click.Command(name, help=f"{name} needs no sign-in.", callback=lambda: None)
        return command


@cli.group(cls=AuthGroup)
def auth() -> None:
    """Sign in to a destination; the secret goes to the system keyring.

    \b
    Example:
      followup auth todoist
      followup auth google --no-browser
      followup auth todoist --logout
    """


# --- the calendar feed (built and served by the ics exporter's feed support) ---------

FEED_FOLDER = click.Path(path_type=Path, file_okay=False)


def _feed_service() -> Any:
    """The ics exporter's feed module, found through the plugin registry like any exporter."""
    from followup.plugins import load_exporter

    support: Any = getattr(load_exporter("ics"), "feed_support", None)
    if support is None:
        raise UserError("the installed ics exporter cannot build a feed")
    return support()


def _feed_builder(
    service: Any, folder: Path | None, settings: Settings, **overrides: int | None
) -> Any:
    from followup.config import state_dir

    folder = folder or settings.folder
    if folder is None:
        raise UserError("give the folder of records, or set `folder` in the settings")
    options = service.FeedOptions.from_settings(settings.exporters.get("feed", {}), **overrides)
    return service.FeedBuilder(folder, settings, state_dir() / "state.db", options)


def _feed_token(service: Any) -> Any:
    from followup.config import state_dir

    return service.TokenFile(state_dir() / "feed-token")


@cli.command()
@click.argument("folder", required=False, type=FEED_FOLDER)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the calendar to this file (default: standard output).",
)
@click.option(
    "--window-days", type=click.IntRange(min=0), help="Drop items that ended longer ago [30]."
)
@click.option(
    "--keep-cancelled-days",
    type=click.IntRange(min=0),
    help="Keep cancelled items this long, so subscribers remove them [14].",
)
@click.pass_context
def feed(
    ctx: click.Context,
    folder: Path | None,
    output: Path | None,
    window_days: int | None,
    keep_cancelled_days: int | None,
) -> None:
    """Build one calendar from every record in a folder (default: `folder` in the
    settings), to publish on any static web host. Exit 2 when a record was skipped.

    \b
    Example:
      followup feed ~/job-search -o ~/public/followup.ics
    """
    service = _feed_service()
    builder = _feed_builder(
        service,
        folder,
        load_settings(),
        window_days=window_days,
        keep_cancelled_days=keep_cancelled_days,
    )
    result = builder.build(current_time(ctx))
    for message in result.skipped:
        click.echo(f"followup: skipped {message}", err=True)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if output is None:
        click.echo(result.data, nl=False)  # bytes: written as they are
    else:
        written = service.write_if_changed(output, result.data)
        click.echo(
            f"{output}: {result.items} items from {result.records} records, "
            f"{len(result.data) / 1000:.0f} kB{'' if written else ' (unchanged)'}"
        )
    if not result.ok:
        raise click.exceptions.Exit(2)


@cli.command()
@click.argument("folder", required=False, type=FEED_FOLDER)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=5545, show_default=True, help="0: any free."
)
@click.pass_context
def serve(ctx: click.Context, folder: Path | None, host: str, port: int) -> None:
    """Serve the folder's feed at a secret URL; it follows every edit, no restart needed.

    \b
    Example:
      followup serve ~/job-search
      followup feed-url --rotate        # a new secret URL; the old one stops working
    """
    service = _feed_service()
    builder = _feed_builder(service, folder, load_settings())
    token = _feed_token(service)
    app = service.FeedApp(builder, token.get, lambda: current_time(ctx))
    app.snapshot()  # build once before listening, so a bad folder fails here
    if not service.is_loopback(host):
        click.echo(
            f"warning: --host {host} exposes the feed beyond this machine: anyone who learns "
            "the URL reads your job search; serve it through HTTPS (a reverse proxy)",
            err=True,
        )

    def ready(bound_host: str, bound_port: int) -> None:
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        url, webcal = service.subscribe_urls(f"http://{shown}:{bound_port}", token.get())
        click.echo(f"Serving the feed of {builder.folder} (Ctrl-C to stop)")
        click.echo(f"  subscribe: {url}")
        click.echo(f"         or: {webcal}")
        click.echo(f"     agenda: {url.removesuffix('.ics')}")

    service.serve(app, host, port, ready)


@cli.command("feed-url")
@click.option("--rotate", is_flag=True, help="Make a new secret URL; the old one stops working.")
@click.option(
    "--base-url",
    metavar="URL",
    help="Where the feed is reached, e.g. https://feeds.example.org "
    "(default: `url` under [exporters.feed], else http://127.0.0.1:5545).",
)
def feed_url(rotate: bool, base_url: str | None) -> None:
    """Print the URLs to subscribe to the served feed (https:// and webcal://).

    \b
    Example:
      followup feed-url --base-url https://feeds.example.org
      followup feed-url --rotate
    """
    service = _feed_service()
    options = service.FeedOptions.from_settings(load_settings().exporters.get("feed", {}))
    token = _feed_token(service)
    secret = token.rotate() if rotate else token.get()
    url, webcal = service.subscribe_urls(base_url or options.url or "http://127.0.0.1:5545", secret)
    if rotate:
        click.echo("New secret URL; the old one no longer works (a running serve follows).")
    click.echo(url)
    click.echo(webcal)


def main() -> None:
    cli(prog_name="followup")


if __name__ == "__main__":
    main()
