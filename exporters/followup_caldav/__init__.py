"""CalDAV: one calendar object per follow-up on iCloud, Fastmail, Nextcloud or any CalDAV server.

Each task is a resource named from its key in one calendar (found by display name, made
with MKCALENDAR when missing), holding the ics exporter's strict VEVENT or VTODO. Writes
are conditional: a create sends `If-None-Match: *`, an update or a delete the ETag last
seen (`If-Match`), so nothing is ever written twice or over a change made meanwhile; a
412 is answered by re-reading the resource. A to-do checked off on the phone is never
overwritten, and is read back as done. The calendar's URL, the account's calendar home and
the authentication scheme are remembered, so a run that has nothing to write sends nothing
at all, and another calendar of the account is found with one PROPFIND.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast, overload

from followup_ics.calendar import COMPONENTS, Component

from followup import config
from followup.errors import AuthError, ExportFailed, MissingExtra, UserError
from followup.exporter import Change, ExportContext, Exporter, Found, Outcome, Setting, SyncedTask
from followup.tasks import Task
from followup_caldav import resources

if TYPE_CHECKING:
    from followup_caldav.dav import CalDavConnection, Listed, Sleep

__all__ = ["CalDavExporter"]

SECRET_NAME = "caldav"
PASSWORD_ENV = "FOLLOWUP_CALDAV_PASSWORD"
STATE_FILE = "caldav.json"
DEFAULT_CALENDAR = "Job search"
NO_PASSWORD = f"no CalDAV password: run `followup auth caldav` or set {PASSWORD_ENV}"


def load_password() -> str | None:
    return os.environ.get(PASSWORD_ENV) or config.load_secret(SECRET_NAME)


def connect(
    url: str,
    username: str,
    password: str,
    auth_type: str | None = None,
    sleep: Sleep | None = None,
    home: str | None = None,
) -> CalDavConnection:
    try:
        from followup_caldav.dav import CalDavConnection
    except ImportError:
        raise MissingExtra("caldav", "caldav") from None
    return CalDavConnection(
        url, username, password, auth_type=auth_type, home=home, sleep=sleep or time.sleep
    )


class CalDavExporter(Exporter):
    name = "caldav"
    description = (
        "a CalDAV calendar (iCloud, Fastmail, Nextcloud…): events, or to-dos for Reminders"
    )
    settings: ClassVar[Sequence[Setting]] = (
        Setting("url", "the server's CalDAV address, e.g. https://caldav.icloud.com"),
        Setting("username", "the account's user name (often the e-mail address)"),
        Setting("calendar", "the calendar's display name (created when missing)", DEFAULT_CALENDAR),
        Setting("as", "event, or todo (Apple Reminders and other task lists)", "event"),
        Setting("component", "set by the --as flag; the same as `as`"),
    )
    secret = "CalDAV password (an app-specific password on iCloud and Fastmail)"
    batch_size = 50

    def __init__(
        self, options: Mapping[str, Any], context: ExportContext, *, sleep: Sleep | None = None
    ) -> None:
        super().__init__(options, context)
        kind = self.options.get("component") or self.options.get("as") or "event"
        if kind not in COMPONENTS:
            raise UserError(f"exporters.caldav.as: expected event or todo, not {kind!r}")
        self.component = cast(Component, kind)
        self.url = str(self.options.get("url") or "").strip()
        self.username = str(self.options.get("username") or "").strip()
        self.calendar = str(self.options.get("calendar") or DEFAULT_CALENDAR)
        self._sleep = sleep
        self._connection: CalDavConnection | None = None
        self._calendar_url: str | None = None
        self._calendar_missing = False
        self._listing: dict[str, Listed] | None = None  # read at most once per run

    @property
    def target(self) -> str:
        return f"{self.username}@{self.url} {self.calendar} ({self.component}s)"

    def configured(self) -> tuple[bool, str]:
        missing = [name for name in ("url", "username") if not getattr(self, name)]
        if missing:
            return False, f"set {' and '.join(missing)} under [exporters.caldav]"
        if load_password() is None:
            return False, NO_PASSWORD
        return True, f"ready ({self.component}s in {self.calendar!r} at {self.url})"

    def describe(self, change: Change) -> str:
        name = resources.resource_name(change.task.key)
        if change.action == "create":
            verb = "PUT (If-None-Match: *)"
        elif change.action == "cancel" and self.component == "event":
            verb = "DELETE (If-Match)"
        else:
            verb = "PUT (If-Match)"
        what = f"{self.component} {change.task.title!r}"
        return f"{change.action} {change.task.key}: {verb} {name} in {self.calendar!r}, {what}"

    # -- writing -------------------------------------------------------------------------

    def apply(self, changes: Sequence[Change]) -> Iterator[Outcome]:
        self._connect()
        from followup_caldav.dav import CannotHold

        for change in changes:
            try:
                yield self._apply_one(change)
            except CannotHold as refused:
                raise ExportFailed(self._cannot_hold_message(refused.supported)) from None
            except _ItemFailure as failure:
                yield Outcome(change, error=str(failure))

    def _apply_one(self, change: Change) -> Outcome:
        connection, calendar_url = self._connect(), self._find_calendar()
        from followup_caldav.dav import resource_url

        name = resources.resource_name(change.task.key)
        url = resource_url(calendar_url, name)
        remote = change.remote
        etag = remote.extra.get("etag") if remote and change.action != "create" else None
        removing = change.action == "cancel" and self.component == "event"
        if removing and not (remote and remote.remote_id):
            return Outcome(change, remote_id=None)
        listed = self._listing.get(name) if self._listing is not None else None
        if listed is not None and listed.etag != etag:
            return self._over(change, url, listed)  # changed since our write: read this run
        if etag is None and change.action != "create":
            return self._over(change, url, connection.get(url))  # no ETag known: read it first
        if removing:
            written = connection.delete(url, etag=etag)
        else:
            written = connection.put(url, self._render(change), etag=etag)
        if written.status in (404, 412):
            return self._over(change, url, connection.get(url))
        return Outcome(change, remote_id=url, extra={"etag": None if removing else written.etag})

    def _over(self, change: Change, url: str, standing: Listed | None) -> Outcome:
        """Carry out a change on the version that stands now (after a 412, or when the ETag
        last written is not the current one).

        Our own earlier write (its answer lost) is adopted as it is; a to-do the person
        checked off is left checked off; anything else gets the plan, on that exact version.
        """
        connection = self._connect()
        seen = resources.read(standing.data) if standing is not None else None
        if seen is not None and seen.done and self.component == "todo":
            return self._left_done(change, url, standing.etag if standing else None)
        if change.action == "cancel" and self.component == "event":
            if standing is None:
                return Outcome(change, remote_id=url, extra={"etag": None})  # already gone
            written = connection.delete(url, etag=standing.etag)
        elif standing is not None and seen and seen.content_hash == change.task.content_hash:
            return Outcome(change, remote_id=url, extra={"etag": standing.etag})
        else:
            data = self._render(change)
            written = connection.put(url, data, etag=standing.etag if standing else None)
        if written.status == 412:
            raise _ItemFailure("it changed on the server while followup wrote it; run again")
        if change.action == "cancel" and self.component == "event":
            return Outcome(change, remote_id=url, extra={"etag": None})
        if written.status == 404:
            raise _ItemFailure("it was removed on the server while followup wrote it; run again")
        return Outcome(change, remote_id=url, extra={"etag": written.etag})

    def _left_done(self, change: Change, url: str, etag: str | None) -> Outcome:
        if change.task.status != "done":  # the record does not know yet: say why it stays done
            self.context.notice(
                f"{change.task.title!r} was checked off in {self.calendar!r}; "
                "followup left it done there."
            )
        return Outcome(change, remote_id=url, extra={"etag": etag, "done": True})

    def _render(self, change: Change) -> bytes:
        now = datetime.now(UTC)
        remote = change.remote
        sequence = remote.sequence + 1 if remote else 0
        created = remote.created_at if remote else now
        return resources.render(
            change.task, self.component, sequence=sequence, created=created, stamp=now
        )

    # -- reading back --------------------------------------------------------------------

    def lookup(self, tasks: Sequence[Task]) -> Mapping[str, Found] | None:
        if self.context.dry_run:
            return None
        from followup_caldav.dav import resource_url

        found: dict[str, Found] = {}
        for key, (listed, seen) in self._standing(tasks).items():
            if seen.cancelled:
                continue
            extra: dict[str, Any] = {"etag": listed.etag}
            if seen.completed is not None:
                extra["completed"] = seen.completed.isoformat()
            found[key] = Found(
                remote_id=resource_url(self._find_calendar(), listed.href),
                content_hash=seen.content_hash,
                done=seen.done,
                extra=extra,
            )
        return found

    def completions(self, tasks: Sequence[SyncedTask]) -> Mapping[str, datetime]:
        """The to-dos checked off in the calendar (a phone, Thunderbird…), and when."""
        if self.component != "todo" or self.context.dry_run:
            return {}
        live = [s.task for s in tasks if s.remote.status == "planned"]
        return {
            key: seen.completed
            for key, (_, seen) in self._standing(live).items()
            if seen.completed is not None
        }

    def publish(self, tasks: Iterable[SyncedTask]) -> None:
        """Say once which to-dos the person checked off (read with the run's one REPORT)."""
        synced = list(tasks)
        done = self.completions(synced)
        state = self._load_state()
        told = set(state.get("completions", {}).get(self.target, []))
        fresh = sorted(set(done) - told)
        if not fresh:
            return
        titles = {s.task.key: s.task.title for s in synced}
        shown = "; ".join(f"{key} ({titles[key]!r})" for key in fresh[:5])
        more = f" and {len(fresh) - 5} more" if len(fresh) > 5 else ""
        self.context.notice(
            f"checked off in {self.calendar!r}: {shown}{more}. followup leaves them done there."
        )
        state.setdefault("completions", {})[self.target] = sorted(told | set(done))
        self._save_state(state)

    def _standing(self, tasks: Sequence[Task]) -> dict[str, tuple[Listed, resources.Standing]]:
        """What the calendar holds for these tasks, by key, from one listing per run."""
        keys = resources.key_index(list(tasks))
        standing = {}
        for listed in self._list().values():
            seen = resources.read(listed.data)
            if seen is not None and seen.uid in keys:
                standing[keys[seen.uid]] = (listed, seen)
        return standing

    def _list(self) -> dict[str, Listed]:
        """Every object of the calendar; none when it does not exist yet (it is not made
        for a read)."""
        if self._listing is None:
            connection = self._connect()
            calendar_url = self._find_calendar(create=False)
            listing = connection.list(calendar_url, self.component) if calendar_url else {}
            if listing is None:  # the remembered calendar is gone: look for it again
                self._forget_calendar()
                calendar_url = self._find_calendar(create=False)
                listing = connection.list(calendar_url, self.component) if calendar_url else {}
            self._listing = listing or {}
        return self._listing

    # -- the connection and the calendar -------------------------------------------------

    def _connect(self) -> CalDavConnection:
        if self._connection is None:
            missing = [name for name in ("url", "username") if not getattr(self, name)]
            if missing:
                raise UserError(f"caldav: set {' and '.join(missing)} under [exporters.caldav]")
            password = load_password()
            if password is None:
                raise AuthError(NO_PASSWORD)
            account = self._account()
            auth = self._remembered().get("auth") or account.get("auth")
            self._connection = connect(
                self.url, self.username, password, auth, self._sleep, account.get("home")
            )
        return self._connection

    @overload
    def _find_calendar(self) -> str: ...
    @overload
    def _find_calendar(self, *, create: bool) -> str | None: ...

    def _find_calendar(self, *, create: bool = True) -> str | None:
        """The calendar's URL: remembered, else found by display name, else made
        (unless `create` is False: then None)."""
        if self._calendar_url is None:
            remembered = self._remembered().get("url")
            if remembered:
                self._calendar_url = str(remembered)
                return self._calendar_url
            connection = self._connect()
            from followup_caldav.dav import CannotHold

            url = None
            if not self._calendar_missing:
                try:
                    url = connection.find_calendar(self.calendar, self.component)
                except CannotHold as refused:
                    raise ExportFailed(self._cannot_hold_message(refused.supported)) from None
            if url is None:
                self._calendar_missing = True  # looked for once this run
                if not create:
                    return None
                url = connection.make_calendar(self.calendar, self.component)
            self._calendar_url = url
            self._remember(url, connection)
        return self._calendar_url

    def _forget_calendar(self) -> None:
        state = self._load_state()
        state.get("calendars", {}).pop(self._calendar_key(), None)
        self._save_state(state)
        self._calendar_url = None
        self._calendar_missing = False

    def _cannot_hold_message(self, supported: Sequence[str]) -> str:
        kinds = "to-dos" if self.component == "todo" else "events"
        takes = f" (it takes {', '.join(supported)})" if supported else ""
        other = "event" if self.component == "todo" else "todo"
        return (
            f"the calendar {self.calendar!r} cannot hold {kinds}{takes}; choose another "
            f"`calendar` under [exporters.caldav] (followup creates it when missing), "
            f"or set as = {other}"
        )

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # -- the small state file: the calendar's URL, the account's calendar home, the auth
    #    scheme ----------------------------------------------------------------------------

    def _calendar_key(self) -> str:
        return f"{self.username}@{self.url}|{self.calendar}|{self.component}"

    def _remembered(self) -> dict[str, Any]:
        found = self._load_state().get("calendars", {}).get(self._calendar_key(), {})
        return found if isinstance(found, dict) else {}

    def _account(self) -> dict[str, Any]:
        found = self._load_state().get("accounts", {}).get(f"{self.username}@{self.url}", {})
        return found if isinstance(found, dict) else {}

    def _remember(self, url: str, connection: CalDavConnection) -> None:
        """The calendar's URL, and the account's home for another calendar's first run."""
        state = self._load_state()
        auth = connection.auth_type
        state.setdefault("calendars", {})[self._calendar_key()] = {"url": url, "auth": auth}
        account = {"home": connection.home_url, "auth": auth}
        state.setdefault("accounts", {})[f"{self.username}@{self.url}"] = account
        self._save_state(state)

    def _state_path(self) -> Path:
        return self.context.state_dir / STATE_FILE

    def _load_state(self) -> dict[str, Any]:
        try:
            data = json.loads(self._state_path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save_state(self, state: dict[str, Any]) -> None:
        config.write_private(self._state_path(), json.dumps(state, indent=2))

    # -- `followup auth caldav` -----------------------------------------------------------

    @classmethod
    def auth_command(cls) -> Any:
        import click

        @click.command(name="caldav")
        @click.option("--logout", is_flag=True, help="Forget the stored password.")
        def auth(logout: bool) -> None:
            """Store your CalDAV password, checked against the server first.

            Set url and username under [exporters.caldav] in the settings file before.
            iCloud and Fastmail need an app-specific password (not your account
            password). It goes to the system keyring when there is one, else to a file
            only you can read. Example:

                followup auth caldav
            """
            if logout:
                found = config.delete_secret(SECRET_NAME)
                click.echo("Removed the CalDAV password." if found else "No password was stored.")
                return
            exporter = cls(
                config.load_settings().exporters.get(cls.name, {}),
                ExportContext(state_dir=config.state_dir()),
            )
            missing = [name for name in ("url", "username") if not getattr(exporter, name)]
            if missing:
                raise UserError(
                    f"set {' and '.join(missing)} under [exporters.caldav] in "
                    f"{config.settings_path()} first, then run `followup auth caldav`"
                )
            password = click.prompt(
                f"CalDAV password for {exporter.username}", hide_input=True
            ).strip()
            connection = connect(exporter.url, exporter.username, password)
            from followup_caldav.dav import CannotHold

            try:
                connection.find_calendar(exporter.calendar, exporter.component)
            except CannotHold as refused:
                raise UserError(exporter._cannot_hold_message(refused.supported)) from None
            finally:
                connection.close()
            where = config.store_secret(SECRET_NAME, password)
            click.echo(f"CalDAV password checked and stored in {where}.")

        return auth


class _ItemFailure(ExportFailed):
    """One change failed; the others go on."""
