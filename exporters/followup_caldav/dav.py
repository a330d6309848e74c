"""Talking to a CalDAV server through python-caldav; imported only when the exporter runs.

The library finds the calendar (principal, calendar home, MKCALENDAR with the component
asked for) and negotiates authentication. Writes go through `DAVClient.request` with the
precondition headers set here, because `save()` decides for itself whether to send
`If-None-Match: *` (it searches first on servers it distrusts) and bumps SEQUENCE on its
own. Every request is retried with backoff on 5xx, 429 and dropped connections: each write
carries a precondition, so a replay can never overwrite or duplicate anything.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urljoin, urlsplit

from caldav.davclient import DAVClient
from caldav.lib import error

from followup.errors import AuthError, ExportFailed

ATTEMPTS = 5
LONGEST_WAIT = 60.0  # seconds; a longer Retry-After means "come back later", not "wait"
AGAIN = "run the same command again later — nothing will be duplicated"
CALENDAR_TYPES = {"event": "VEVENT", "todo": "VTODO"}
SUPPORTED_COMPONENT = "{urn:ietf:params:xml:ns:caldav}supported-calendar-component"
ICAL = {"Content-Type": "text/calendar; charset=utf-8"}

Sleep = Callable[[float], None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Listed:
    """One calendar object as a calendar-query REPORT returned it."""

    href: str
    etag: str | None
    data: str


@dataclass(frozen=True, slots=True)
class Written:
    status: int  # 2xx written, 412 precondition failed, 404 gone
    etag: str | None = None


class CannotHold(ExportFailed):
    """The calendar does not accept the component asked for (`supported`: what it takes)."""

    def __init__(self, supported: list[str] | None = None) -> None:
        super().__init__("the calendar does not accept this kind of item")
        self.supported = list(supported or [])


class CalDavConnection:
    """The few operations the exporter needs; every failure becomes a FollowupError."""

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        auth_type: str | None = None,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.url = url
        self.username = username
        self.sleep = sleep
        self.jitter = random.Random()
        self.principal: Any = None  # found once per run
        self.client = DAVClient(
            url=url, username=username, password=password, auth_type=auth_type, timeout=60
        )

    def __repr__(self) -> str:  # never show the password
        return f"CalDavConnection({self.url!r}, {self.username!r})"

    def close(self) -> None:
        self.client.close()

    @property
    def auth_type(self) -> str | None:
        """The scheme negotiated with the server, to skip the 401 round trip next run."""
        name = type(self.client.auth).__name__ if self.client.auth else ""
        return {"HTTPBasicAuth": "basic", "HTTPDigestAuth": "digest"}.get(name)

    # -- finding the calendar (first run only: the exporter remembers its URL) -----------

    def find_calendar(self, name: str, component: str) -> str | None:
        """The URL of the calendar with this display name (or the collection followup
        made for it, should its name not have been set), None when there is none."""
        wanted = CALENDAR_TYPES[component]
        principal = self._principal()
        for calendar in self._call(principal.calendars):
            made_here = _name_of(str(calendar.url)) == calendar_id(name)
            if not made_here and self._call(calendar.get_display_name) != name:
                continue
            supported = self._call(calendar.get_supported_components)
            if supported and wanted not in supported:
                raise CannotHold(list(supported))
            return str(calendar.url)
        return None

    def make_calendar(self, name: str, component: str) -> str:
        """MKCALENDAR with the component set, so the server files the items properly.

        The collection's id derives from the name, so an MKCALENDAR whose answer was lost
        and is sent again cannot make a second calendar: the server refuses it, and the
        calendar the first one made is found."""
        principal = self._principal()
        kind = CALENDAR_TYPES[component]
        try:
            calendar = self._call(
                lambda: principal.make_calendar(
                    name=name, cal_id=calendar_id(name), supported_calendar_component_set=[kind]
                )
            )
        except ExportFailed:
            found = self.find_calendar(name, component)
            if found is None:
                raise
            return found
        return str(calendar.url)

    def _principal(self) -> Any:
        if self.principal is None:
            self.principal = self._call(self.client.principal)
        return self.principal

    # -- reading and writing objects ------------------------------------------------

    def list(self, calendar_url: str, component: str) -> dict[str, Listed] | None:
        """Every VEVENT or VTODO object of the calendar by resource name, in one REPORT;
        None when the calendar is gone."""
        body = _CALENDAR_QUERY.format(component=CALENDAR_TYPES[component])
        response = self._send("REPORT", calendar_url, body, {"Depth": "1"})
        if response.status == 404:
            return None
        if response.status not in (200, 207):
            raise ExportFailed(
                f"the CalDAV server would not list {calendar_url} (HTTP {response.status})"
            )
        listed = {}
        for result in response.parse_calendar_query():
            if result.status == 200 and result.calendar_data:
                name = _name_of(result.href)
                listed[name] = Listed(name, result.etag, str(result.calendar_data))
        return listed

    def get(self, url: str) -> Listed | None:
        response = self._send("GET", url)
        if response.status == 404 or response.status == 410:
            return None
        if response.status != 200:
            raise ExportFailed(f"the CalDAV server would not give {url} (HTTP {response.status})")
        return Listed(_name_of(url), response.headers.get("ETag"), _text(response))

    def put(self, url: str, data: bytes, *, etag: str | None) -> Written:
        """Create (etag None: `If-None-Match: *`) or replace exactly version `etag`."""
        condition = {"If-Match": etag} if etag else {"If-None-Match": "*"}
        response = self._send("PUT", url, data.decode("utf-8"), {**ICAL, **condition})
        status = response.status
        if status in (200, 201, 204):
            return Written(status, _strong(response.headers.get("ETag")))
        if status in (404, 412):
            return Written(status)
        if status in (403, 409) and SUPPORTED_COMPONENT in _preconditions(response):
            raise CannotHold()
        why = f"HTTP {status}: {_reason(response)}"
        raise ExportFailed(f"the CalDAV server refused to store {_name_of(url)} ({why})")

    def delete(self, url: str, *, etag: str | None) -> Written:
        response = self._send("DELETE", url, headers={"If-Match": etag} if etag else None)
        if response.status in (200, 204, 404, 410, 412):
            return Written(response.status)
        raise ExportFailed(
            f"the CalDAV server refused to delete {_name_of(url)} (HTTP {response.status})"
        )

    # -- retries and messages -----------------------------------------------------------

    def _send(
        self, method: str, url: str, body: str = "", headers: dict[str, str] | None = None
    ) -> Any:
        sent = headers or {}
        return self._call(lambda: self._checked(self.client.request(url, method, body, sent)))

    @staticmethod
    def _checked(response: Any) -> Any:
        if response.status >= 500:
            raise _Transient(f"HTTP {response.status}")
        return response

    def _call(self, step: Callable[[], T]) -> T:
        """Run one request (or one library call), retrying what a replay cannot harm."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return step()
            except error.RateLimitError as limited:
                wait = limited.retry_after_seconds
                if wait is not None and wait > LONGEST_WAIT:
                    raise ExportFailed(
                        f"the CalDAV server asks to wait {wait:.0f} s; {AGAIN}"
                    ) from None
                why, delay = "it is rate-limiting (HTTP 429/503)", wait
            except error.AuthorizationError as refused:
                raise self._refused(refused) from None
            except _Transient as transient:
                why, delay = f"it answered {transient}", None
            except error.DAVError as failed:
                if (failed.status or 0) < 500:
                    raise self._not_caldav(failed) from None
                why, delay = f"it answered HTTP {failed.status}", None
            except OSError as lost:  # niquests' connection errors are OSErrors
                if attempt == 1 and _never_connected(lost):
                    raise ExportFailed(
                        f"cannot reach a CalDAV server at {self.url} ({_short(lost)}); "
                        "check `url` under [exporters.caldav]"
                    ) from None
                why, delay = f"the connection failed ({_short(lost)})", None
            if attempt == ATTEMPTS:
                raise ExportFailed(f"the CalDAV server at {self.url} failed: {why}; {AGAIN}")
            self.sleep(delay if delay is not None else self._backoff(attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _backoff(self, attempt: int) -> float:
        """Exponential, with jitter so many clients do not retry in step."""
        ceiling = min(30.0, 0.5 * 2 ** (attempt - 1))
        return ceiling / 2 + self.jitter.uniform(0, ceiling / 2)

    def _refused(self, refused: error.AuthorizationError) -> ExportFailed:
        if refused.status == 403:
            return AuthError(
                f"the CalDAV server refused {self.username!r} access to {refused.url} (HTTP 403)"
            )
        return AuthError(
            f"the CalDAV server at {self.url} rejected the password for {self.username!r} "
            "(HTTP 401); run `followup auth caldav` (iCloud, Fastmail and others need an "
            "app-specific password, not your account password)"
        )

    def _not_caldav(self, failed: error.DAVError) -> ExportFailed:
        status = failed.status
        if status == 404:
            return ExportFailed(
                f"nothing found at {failed.url or self.url} (HTTP 404): check `url` under "
                "[exporters.caldav] (e.g. https://caldav.icloud.com, https://caldav.fastmail.com"
                "/dav/, https://cloud.example.com/remote.php/dav)"
            )
        return ExportFailed(
            f"{self.url} does not answer as a CalDAV server ({_short(failed)}): check `url` "
            "under [exporters.caldav]; it should be the server's CalDAV address"
        )


class _Transient(Exception):
    """A server-side failure worth retrying."""


_CALENDAR_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="{component}"/></C:comp-filter>
  </C:filter>
</C:calendar-query>"""


def calendar_id(name: str) -> str:
    """The last path segment of the calendar followup makes for a display name."""
    return f"followup-{hashlib.sha256(name.encode()).hexdigest()[:16]}"


def _name_of(href: str) -> str:
    """A resource's last path segment, from an href or a URL."""
    return unquote(urlsplit(href).path.rstrip("/").rsplit("/", 1)[-1])


def resource_url(calendar_url: str, name: str) -> str:
    return urljoin(calendar_url.rstrip("/") + "/", name)


def _strong(etag: str | None) -> str | None:
    """An ETag If-Match can use: a weak one never matches (RFC 9110 §13.1.1)."""
    return etag if etag and not etag.startswith("W/") else None


def _text(response: Any) -> str:
    raw = response._raw
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")


def _preconditions(response: Any) -> list[str]:
    return error.parse_preconditions(response._raw)


def _reason(response: Any) -> str:
    return str(getattr(response, "reason", "") or "no detail")


def _never_connected(lost: OSError) -> bool:
    text = f"{type(lost).__name__} {lost}".lower()
    return any(word in text for word in ("refused", "name or service", "resolve", "nodename"))


def _short(failure: BaseException) -> str:
    """The gist of a library or socket error: "[Errno 111] Connection refused", not a repr."""
    text = str(failure)
    errno = re.search(r"\[Errno -?\d+\] [^'\")\]]+", text)
    if errno:
        return errno.group(0).strip()
    return text[text.index("reason ") :][:160] if "reason " in text else text[:160]
