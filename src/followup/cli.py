"""The `followup` command line. Commands are thin: parse, call the library, print.

Heavy modules (exporters, SDKs, YAML writers) are imported inside the commands that need
them, so `followup --help` starts about as fast as Click itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from followup import __version__
from followup.errors import FollowupError, UserError
from followup.init_settings import init
from followup.new_record import new

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
    from followup.record import EARLIEST_YEAR, LATEST_YEAR

    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise UserError(f"--now: a year from {EARLIEST_YEAR} to {LATEST_YEAR}, like the records'")
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
@click.option(
    "--interviewer", help="Only this interviewer's drafts (full or first name, any case)."
)
@click.pass_context
def draft(ctx: click.Context, file: Path, interviewer: str | None) -> None:
    """Print the drafts of a record's planned messages, ready to copy (cancelled and done
    ones are listed, marked, without their text).

    \b
    Example:
      followup draft samples/onsite-acme.yaml --interviewer raj
    """
    from followup.planner import plan_warnings

    settings = load_settings()
    [(record, tasks)] = plan_all(ctx, load_records([file]), settings, None)
    for warning in plan_warnings(record, settings):
        click.echo(f"warning: {warning}", err=True)
    chosen = [task for task in tasks if task.kind in ("email", "call", "mail")]
    if interviewer:
        wanted = interviewer.casefold().strip()

        def matches(person: str) -> bool:
            words = person.casefold().replace(".", " ").split()
            return person.casefold() == wanted or wanted in words

        chosen = [t for t in chosen if any(matches(p) for p in t.people)]
        if not chosen:
            names = sorted({p for t in tasks for p in t.people})
            raise UserError(f"--interviewer: no {interviewer!r} in {file} ({', '.join(names)})")
    planned = [task for task in chosen if task.status == "planned"]
    for index, task in enumerate(planned):
        if index:
            click.echo("\n" + "-" * 72 + "\n")
        click.echo(f"# {task.title}\n")
        click.echo(task.body)
    others = [task for task in chosen if task.status != "planned"]
    if others and planned:
        click.echo("\n" + "-" * 72 + "\n")
    for task in others:
        state = f"done {task.done_on}" if task.status == "done" else task.status
        why = f": {task.note}" if task.note else ""
        click.echo(f"# ({state}) {task.title}{why}")


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
    "--as", "component", type=click.Choice(["event", "todo"]), help="ics, caldav: VEVENT or VTODO."
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
    service: Any,
    folder: Path | None,
    settings: Settings,
    result_dir: Path | None = None,
    **overrides: int | None,
) -> Any:
    from followup.config import state_dir

    folder = folder or settings.folder
    if folder is None:
        raise UserError("give the folder of records, or set `folder` in the settings")
    options = service.FeedOptions.from_settings(settings.exporters.get("feed", {}), **overrides)
    return service.FeedBuilder(folder, settings, state_dir() / "state.db", options, result_dir)


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
    from followup.config import cache_dir

    service = _feed_service()
    builder = _feed_builder(
        service,
        folder,
        load_settings(),
        cache_dir() / "feed",  # the last feed, so a run with nothing changed only reads the folder
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
      followup serve --host 0.0.0.0     # for a phone on the same network: scan the QR code
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
        for line in service.announce(builder.folder, bound_host, bound_port, token.get()):
            click.echo(line)

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


# --- daily use: the whole job-search folder ----------------------------------------


def _folder_argument(folder: Path | None, settings: Settings) -> Path:
    folder = folder or settings.folder
    if folder is None:
        raise UserError("give the folder of records, or set `folder` in the settings")
    return folder.expanduser()


@cli.command()
@click.argument("file", type=RECORD_FILES)
@click.argument(
    "outcome", required=False, type=click.Choice(["heard-back", "offer", "rejected", "withdrawn"])
)
@click.option("--decision-by", metavar="DATE", help="Their new decision date (YYYY-MM-DD).")
@click.option("--note", help="What happened, in your words (kept in the record).")
@click.pass_context
def status(
    ctx: click.Context,
    file: Path,
    outcome: str | None,
    decision_by: str | None,
    note: str | None,
) -> None:
    """Record what happened, or (with the file alone) show the record's state and what
    each destination holds. Then run `followup sync` to update every destination.

    \b
    Example:
      followup status acme.yaml heard-back --decision-by 2026-12-10
      followup status acme.yaml withdrawn --note "Took another offer"
      followup status acme.yaml
    """
    from followup.record import load_record
    from followup.timeline import render_timeline

    settings = load_settings()
    now = current_time(ctx)
    if outcome is None:
        if decision_by or note:
            raise UserError("give the OUTCOME too, e.g. `followup status FILE heard-back ...`")
        record = load_record(file)
        _show_status(record, settings, now)
        return
    from followup.outcome import OutcomeChange, record_outcome
    from followup.planner import plan_record

    decided = None
    if decision_by:
        try:
            decided = date.fromisoformat(decision_by.strip())
        except ValueError:
            raise UserError(f"--decision-by: not a date like 2026-12-01: {decision_by!r}") from None
    record = record_outcome(file, OutcomeChange(outcome, now.date(), decided, note))
    click.echo(f"{file}: status {record.status} since {record.status_since}")
    click.echo(render_timeline(record, plan_record(record, settings, now), now))
    click.echo("next: followup sync   (updates every destination)")


def _content_hash_of(name: str, settings: Settings) -> Callable[[Task], str]:
    """How a destination compares what it holds (its options shape items too)."""
    from followup.errors import FollowupError
    from followup.export import build_exporter

    try:
        exporter = build_exporter(name, settings.exporters.get(name, {}), dry_run=True)
    except FollowupError:  # not installed here any more: compare by the task alone
        return lambda task: task.content_hash
    return exporter.content_hash


def _show_status(record: InterviewRecord, settings: Settings, now: datetime) -> None:
    from followup.export import open_state
    from followup.jobsearch import instant, synced_destinations
    from followup.planner import plan_record
    from followup.sync import diff
    from followup.timeline import render_timeline, when_text

    tasks = plan_record(record, settings, now)
    since = f" since {record.status_since}" if record.status_since else ""
    click.echo(f"{record.application}: {record.status}{since}")
    if record.status_note:
        click.echo(f"  note: {record.status_note}")
    if record.decision.expected_by:
        click.echo(f"  decision expected by {record.decision.expected_by}")
    click.echo()
    click.echo(render_timeline(record, tasks, now))
    store = open_state(read_only=True)
    try:
        places = synced_destinations(store, record.id)
        click.echo()
        for exporter, target in places:
            rows = store.rows(exporter, target, {record.id})
            live = [row.task for row in rows if row.task and row.remote.status == "planned"]
            hashed = _content_hash_of(exporter, settings)
            waiting = len(diff(tasks, rows, {record.id}, hashed).changes)
            state = f"{waiting} change(s) waiting for `followup sync`" if waiting else "up to date"
            click.echo(f"{exporter} ({target}): {len(live)} pending, {state}")
            for task in sorted(live, key=lambda t: (instant(t.start, now), t.key)):
                click.echo(f"  {when_text(task):<26} {task.title}")
    finally:
        store.close()
    missing = [name for name in settings.destinations if name not in {e for e, _ in places}]
    if missing:
        click.echo(f"not sent yet to: {', '.join(missing)} (run `followup sync`)")


@cli.command("sync")
@click.argument("folder", required=False, type=FEED_FOLDER)
@click.option("--to", "destinations", multiple=True, help="Only this destination (repeat).")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing anywhere.")
@click.option("--prune", is_flag=True, help="Cancel the tasks of deleted records without asking.")
@click.pass_context
def sync_command(
    ctx: click.Context,
    folder: Path | None,
    destinations: tuple[str, ...],
    dry_run: bool,
    prune: bool,
) -> None:
    """Bring every destination up to date with every record in the folder (default:
    `folder` in the settings). Exit 1 when a destination failed; run it again to retry.

    \b
    Example:
      followup sync
      followup sync ~/job-search --to todoist --dry-run
      followup sync --prune        # from cron: deleted records' tasks are cancelled
    """
    import sys

    from followup.export import failure_lines
    from followup.jobsearch import SELF_UPDATING, load_folder, summary_table, sync_folder
    from followup.plugins import check_names

    settings = load_settings()
    now = current_time(ctx)
    path = _folder_argument(folder, settings)
    chosen = list(dict.fromkeys(destinations or settings.destinations))
    if not chosen:
        raise UserError(
            'no destinations: set `destinations = ["ics"]` in the settings '
            "(`followup init`), or pass --to NAME"
        )
    where = "--to" if destinations else f"{settings.source}: destinations"
    check_names((name for name in chosen if name not in SELF_UPDATING), where)
    for name in [name for name in chosen if name in SELF_UPDATING]:
        chosen.remove(name)
        click.echo(f"{name}: follows the folder by itself (`followup serve` / `followup feed`)")
    loaded = load_folder(path)
    for message in loaded.errors:
        click.echo(f"skipped {message}", err=True)

    def confirm(gone: list[str]) -> bool:
        if not sys.stdin.isatty():  # cron: never block on a question
            return False
        return click.confirm(
            f"{len(gone)} record file(s) were deleted: {', '.join(gone)}. "
            "Cancel their tasks everywhere?",
            default=False,
        )

    results = sync_folder(
        loaded,
        settings,
        now,
        chosen,
        dry_run=dry_run,
        prune=prune,
        confirm_prune=confirm,
        echo=click.echo,
    )
    for result in results:
        if result.report is not None:
            for notice in result.report.notices:
                click.echo(f"{result.name}: note: {notice}")
            for line in failure_lines(result.report):
                click.echo(f"{result.name}: {line}")
            if result.report.publish_error:
                click.echo(f"{result.name}: not written: {result.report.publish_error}")
        if result.pruned:
            click.echo(f"{result.name}: cancelled the tasks of deleted {', '.join(result.pruned)}")
    click.echo(
        f"{len(loaded.records)} record(s) from {path}"
        + (" (dry run, nothing written)" if dry_run else "")
    )
    for line in summary_table(results):
        click.echo(line)
    failed = [result for result in results if not result.ok]
    if failed:  # each failure is already in the table: said once
        click.echo(
            "Some destinations failed: fix what is said above, then run `followup sync` "
            "again; what already landed is not repeated.",
            err=True,
        )
        raise click.exceptions.Exit(1)
    if loaded.errors:
        click.echo(
            f"{len(loaded.errors)} record file(s) skipped: fix them (`followup validate`)", err=True
        )
        raise click.exceptions.Exit(2)


from followup.living import done, list_command, round_command  # noqa: E402  (they use cli's helpers)

cli.add_command(done)
cli.add_command(round_command)
cli.add_command(list_command)
cli.add_command(new)
cli.add_command(init)


def main() -> None:
    cli(prog_name="followup")


if __name__ == "__main__":
    main()
