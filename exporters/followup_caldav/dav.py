"""Talking to a CalDAV server through python-caldav; imported only when the exporter runs.

Every request goes through `DAVClient.request` (the library's session, and its auth
negotiation should a server turn Basic down), with the bodies and precondition headers set
here: `save()` decides for itself whether to send `If-None-Match: *` (it searches first on
servers it distrusts) and bumps SEQUENCE on its own, and the library's discovery spends a
PROPFIND per property and a PROPPATCH after MKCALENDAR. Finding the calendar costs one
PROPFIND per hop the server makes necessary (RFC 6764 §6): one when the configured URL is
the principal or the calendar home. Every request is retried with backoff on 5xx, 429 and
dropped connections: each write carries a precondition, so a replay can never overwrite
or duplicate anything.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urljoin, urlsplit
from xml.sax.saxutils import escape

from caldav.davclient import DAVClient
from caldav.lib import error

from followup.errors import AuthError, ExportFailed

ATTEMPTS = 5
LONGEST_WAIT = 60.0  # seconds; a longer Retry-After means "come back later", not "wait"
AGAIN = "run the same command again later — nothing will be duplicated"
CALENDAR_TYPES = {"event": "VEVENT", "todo": "VTODO"}
CALDAV = "{urn:ietf:params:xml:ns:caldav}"
SUPPORTED_COMPONENT = f"{CALDAV}supported-calendar-component"
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


@dataclass(frozen=True, slots=True)
class Calendar:
    """One calendar of the calendar home, as a PROPFIND described it."""

    url: str
    name: str | None
    components: tuple[str, ...]  # empty: the server does not say (then it takes any)


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
        home: str | None = None,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.url = url
        self.username = username
        self.sleep = sleep
        self.jitter = random.Random()
        self.home: tuple[str, list[Calendar]] | None = None  # found once per run
        self.known_home = home  # the account's calendar home as an earlier run found it
        self.client = DAVClient(
            url=url, username=username, password=password, auth_type=auth_type, timeout=60
        )
        # Credentials with the first request, as RFC 9110 §11.6.2 allows, so a first run
        # spends no 401 round trip; Basic only where it crosses no network in the clear
        # (RFC 7617 §4). A server that turns it down with a challenge for another scheme is
        # answered by the library's negotiation, which then replaces this header.
        self.basic_up_front: str | None = None
        if auth_type is None and _private_channel(url):
            token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
            self.basic_up_front = f"Basic {token}"

    def __repr__(self) -> str:  # never show the password
        return f"CalDavConnection({self.url!r}, {self.username!r})"

    def close(self) -> None:
        self.client.close()

    @property
    def home_url(self) -> str | None:
        return self.home[0] if self.home else None

    @property
    def auth_type(self) -> str | None:
        """The scheme negotiated with the server, to skip the 401 round trip next run."""
        if self.client.auth is None:
            return "basic" if self.basic_up_front else None
        name = type(self.client.auth).__name__
        return {"HTTPBasicAuth": "basic", "HTTPDigestAuth": "digest"}.get(name)

    # -- finding the calendar (first run only: the exporter remembers its URL) -----------

    def find_calendar(self, name: str, component: str) -> str | None:
        """The URL of the calendar with this display name (or the collection followup
        made for it, should its name not have been set), None when there is none."""
        wanted = CALENDAR_TYPES[component]
        _, calendars = self._home()
        for calendar in calendars:
            if _name_of(calendar.url) != calendar_id(name) and calendar.name != name:
                continue
            if calendar.components and wanted not in calendar.components:
                raise CannotHold(list(calendar.components))
            return calendar.url
        return None

    def make_calendar(self, name: str, component: str) -> str:
        """MKCALENDAR with the display name and the component set in its body (RFC 4791
        §5.3.1: a 201 means every property was set, so no PROPPATCH follows).

        The collection's id derives from the name, so an MKCALENDAR whose answer was lost
        and is sent again cannot make a second calendar: the server refuses it, and the
        calendar the first one made is found."""
        home, _ = self._home()
        url = resource_url(home, calendar_id(name)) + "/"
        body = _MKCALENDAR.format(name=escape(name), component=CALENDAR_TYPES[component])
        response = self._send("MKCALENDAR", url, body, {"Content-Type": "application/xml"})
        if response.status == 201:
            return url
        self.home, self.known_home = None, home  # made by an attempt whose answer was lost?
        found = self.find_calendar(name, component)
        if found is not None:
            return found
        raise ExportFailed(
            f"the CalDAV server would not make the calendar {name!r} (HTTP {response.status}); "
            "create it in your calendar app and run again"
        )

    def _home(self) -> tuple[str, list[Calendar]]:
        """The calendar home and its calendars, in as few PROPFINDs as the server allows
        (RFC 6764 §6, RFC 4791 §6.2.1): the configured URL, read with its children, may be
        the home itself or the principal naming it; else it names the principal
        (current-user-principal, RFC 5397), read with its children in turn; a home found
        elsewhere (iCloud, Nextcloud, Fastmail) is listed once more."""
        if self.home is not None:
            return self.home
        if self.known_home is not None:
            remembered, self.known_home = self.known_home, None
            described = self._propfind(remembered, "1")
            if described is not None:  # else it moved: find it again
                self.home = (remembered, _calendars(described[1]))
                return self.home
        url = self.url
        # A server root's children are no calendars; Depth 0 spares the server listing them
        depth = "0" if urlsplit(url).path in ("", "/") else "1"
        for _ in range(2):  # the configured URL, then the principal it names
            here, children = self._described(url, depth)
            home = _href(url, here.get(f"{CALDAV}calendar-home-set"))
            if home is None and _calendars(children):
                home = url  # the URL is a calendar home itself
            if home is not None:
                if not (_same(home, url) and depth == "1"):
                    _, children = self._described(home, "1")
                self.home = (home, _calendars(children))
                return self.home
            principal = _href(url, here.get("{DAV:}current-user-principal"))
            if principal is None or _same(principal, url):
                break
            url, depth = principal, "1"
        raise ExportFailed(
            f"{self.url} does not answer as a CalDAV server (it names no calendar home): "
            "check `url` under [exporters.caldav]; it should be the server's CalDAV address"
        )

    def _described(self, url: str, depth: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        found = self._propfind(url, depth)
        if found is None:
            raise self._not_caldav(404, url, "Not Found")
        return found

    def _propfind(self, url: str, depth: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """The resource's properties and each child's (with "href" and "calendar"); None
        when there is nothing at the URL."""
        headers = {"Depth": depth, "Content-Type": "application/xml"}
        response = self._send("PROPFIND", url, _PROPFIND, headers)
        if response.status in (404, 410):
            return None
        if response.status != 207:
            raise self._not_caldav(response.status, url, _reason(response))
        tree = response.tree  # parsed by the library (lxml, entities never resolved)
        if tree is None:
            raise self._not_caldav(207, url, "its answer is not XML")
        here: dict[str, Any] | None = None
        children = []
        for answer in tree.iter("{DAV:}response"):
            href = urljoin(url, answer.findtext("{DAV:}href", "").strip())
            props: dict[str, Any] = {"href": href}
            for propstat in answer.iter("{DAV:}propstat"):
                if " 200 " in f"{propstat.findtext('{DAV:}status', '')} ":
                    for prop in propstat.iterfind("{DAV:}prop/*"):
                        props[prop.tag] = prop
            kind = props.get("{DAV:}resourcetype")
            props["calendar"] = kind is not None and kind.find(f"{CALDAV}calendar") is not None
            if here is None and _same(href, url):
                here = props
            else:
                children.append(props)
        return here or {"href": url}, children

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
        sent = dict(headers or {})
        if self.basic_up_front and self.client.auth is None:
            sent["Authorization"] = self.basic_up_front
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
                    raise self._not_caldav(failed.status, failed.url, _short(failed)) from None
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

    def _not_caldav(self, status: int | None, url: str | None, why: str) -> ExportFailed:
        if status == 404:
            return ExportFailed(
                f"nothing found at {url or self.url} (HTTP 404): check `url` under "
                "[exporters.caldav] (e.g. https://caldav.icloud.com, https://caldav.fastmail.com"
                "/dav/, https://cloud.example.com/remote.php/dav)"
            )
        return ExportFailed(
            f"{self.url} does not answer as a CalDAV server (HTTP {status}: {why}): check "
            "`url` under [exporters.caldav]; it should be the server's CalDAV address"
        )


class _Transient(Exception):
    """A server-side failure worth retrying."""


_CALENDAR_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="{component}"/></C:comp-filter>
  </C:filter>
</C:calendar-query>"""


_PROPFIND = """<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:current-user-principal/><C:calendar-home-set/><D:resourcetype/><D:displayname/>
    <C:supported-calendar-component-set/></D:prop>
</D:propfind>"""

_MKCALENDAR = """<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop><D:displayname>{name}</D:displayname>
    <C:supported-calendar-component-set><C:comp name="{component}"/>
    </C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>"""


def _calendars(children: list[dict[str, Any]]) -> list[Calendar]:
    """The calendar collections among a PROPFIND's children."""
    found = []
    for props in children:
        if not props["calendar"]:
            continue
        components = props.get(f"{CALDAV}supported-calendar-component-set")
        names = () if components is None else components.iterfind(f"{CALDAV}comp")
        shown = props.get("{DAV:}displayname")
        found.append(
            Calendar(
                props["href"],
                shown.text if shown is not None else None,
                tuple(str(comp.get("name")) for comp in names),
            )
        )
    return found


def _href(base: str, prop: Any) -> str | None:
    """The URL a property such as calendar-home-set names (its first DAV:href)."""
    text = prop.findtext("{DAV:}href") if prop is not None else None
    return urljoin(base, text.strip()) if text and text.strip() else None


def _same(one: str, other: str) -> bool:
    """The same resource, with or without the collection's trailing slash."""
    return _trimmed(one) == _trimmed(other)


def _trimmed(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower(), unquote(parts.path).rstrip("/")


def _private_channel(url: str) -> bool:
    """TLS, or this machine: nowhere a password sent up front crosses a network in clear."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    host = parts.hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
