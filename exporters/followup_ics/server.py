"""The feed over HTTP: a plain WSGI app, served by waitress.

The feed lives at `/feed/<token>.ics` (an agenda page at `/feed/<token>`); everything
else is a bare 404. Responses come from an immutable snapshot swapped in whole after
each rebuild, so concurrent readers always get one complete calendar. While no record
file's stat signature moves, the day stays and no item ages out, a request costs a
listing and a stat per file; otherwise the builder is asked, and it re-reads only the
files that moved and rebuilds only when their content did.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import logging
import re
import secrets
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from followup.config import write_private
from followup.errors import FollowupError, UserError
from followup_ics.agenda import CONTENT_SECURITY_POLICY, Agenda, Links, request_base
from followup_ics.feed import (
    FeedBuilder,
    FeedOptions,
    FeedResult,
    Signature,
    wall_ns,
    write_if_changed,
)
from followup_ics.reach import announce, is_loopback, subscribe_urls

__all__ = [
    "DEFAULT_PORT",
    "FeedApp",
    "FeedBuilder",
    "FeedOptions",
    "TokenFile",
    "announce",
    "is_loopback",
    "serve",
    "subscribe_urls",
    "write_if_changed",
]

DEFAULT_PORT = 5545  # RFC 5545 is the iCalendar standard
CACHE_CONTROL = "private, max-age=300"
MAX_FORM = 2048  # bytes: the page's "Mark done" form is one task key
_FEED_PATH = re.compile(r"/feed/([A-Za-z0-9_-]{1,128})(\.ics)?")
_NOT_FOUND = b"Not Found\n"
_TOKEN_IN_PATH = re.compile(r"/feed/[^\s'\"]*")

StartResponse = Callable[..., Any]
Clock = Callable[[], datetime]
Warn = Callable[[str], None]


def _warn_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class TokenFile:
    """The secret part of the feed URL, kept 0600 in a file; re-read when it is rotated."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cached: tuple[Signature, str] | None = None

    def get(self) -> str:
        """The current token, created on first use."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return self.rotate()
        signature = (info.st_ino, info.st_mtime_ns, info.st_ctime_ns, info.st_size)
        cached = self._cached
        if cached is not None and cached[0] == signature:
            return cached[1]
        token = self.path.read_text(encoding="utf-8").strip()
        if not _FEED_PATH.fullmatch(f"/feed/{token}"):  # damaged or hand-edited: start afresh
            return self.rotate()
        self._cached = (signature, token)
        return token

    def rotate(self) -> str:
        """A new token; every URL handed out before stops working."""
        token = secrets.token_urlsafe(24)
        write_private(self.path, token + "\n")
        self._cached = None
        return token


@dataclass(frozen=True)
class Snapshot:
    """What every request is answered from; replaced whole, never changed."""

    calendar: bytes
    calendar_etag: str
    agenda: Agenda
    last_modified: datetime  # UTC, whole seconds
    files: dict[Path, Signature]
    recheck_at: int | None  # wall-clock ns: a file read just after a change is read again
    result: FeedResult

    def holds(self, files: dict[Path, Signature], now: datetime) -> bool:
        """Still the answer: the same files (by stat alone), and nothing aged out."""
        if self.recheck_at is not None and wall_ns() >= self.recheck_at:
            return False
        return self.files == files and self.result.fresh(now)


class FeedApp:
    """The WSGI application serving one folder's feed behind a secret token."""

    def __init__(
        self,
        builder: FeedBuilder,
        token: Callable[[], str],
        clock: Clock,
        warn: Warn = _warn_stderr,
    ) -> None:
        self.builder = builder
        self.token = token
        self.clock = clock
        self.warn = warn
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._reported: set[str] = set()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            return self._respond(environ, start_response)
        except Exception as error:
            # Handled here: waitress would log the request path, which holds the token.
            if isinstance(error, FollowupError):
                self._report(f"followup serve: cannot build the feed: {error}")
            else:
                self._report("followup serve: internal error\n" + traceback.format_exc())
            return _plain(start_response, "503 Service Unavailable", b"Feed unavailable\n")

    def snapshot(self) -> Snapshot:
        """The current snapshot, rebuilt first if a record file, the day or the window moved."""
        files = self.builder.signature()
        now = self.clock()
        current = self._snapshot
        if current is not None and current.holds(files, now):
            return current
        with self._lock:  # one rebuild at a time; the others wait, then use its result
            current = self._snapshot
            files = self.builder.signature()
            if current is None or not current.holds(files, now):
                current = self._rebuild(files, now, current)
                self._snapshot = current
            return current

    def _rebuild(
        self, files: dict[Path, Signature], now: datetime, old: Snapshot | None
    ) -> Snapshot:
        result = self.builder.build(now, files)
        if old is not None and result.data is old.result.data:  # the builder's last bytes
            return replace(old, files=files, recheck_at=self.builder.recheck_at)
        for message in (*result.skipped, *result.warnings):
            self._report(
                f"followup serve: {'skipped ' if message in result.skipped else ''}{message}"
            )
        etag = _etag(result.data)
        if old is not None and old.calendar_etag == etag:
            last_modified = old.last_modified
        else:
            # Strictly later than the previous body, so If-Modified-Since never hides a change.
            candidates = [
                now.astimezone(UTC),
                *([result.newest_change] if result.newest_change else []),
            ]
            if old is not None:
                candidates.append(old.last_modified + timedelta(seconds=1))
            last_modified = max(candidates).astimezone(UTC).replace(microsecond=0)
        agenda = Agenda.collect(
            self.builder.options.name,
            (item.task for item in self.builder.items()),
            self.builder.records(),
            self.builder.settings.timezone,
        )
        return Snapshot(
            calendar=result.data,
            calendar_etag=etag,
            agenda=agenda,
            last_modified=last_modified,
            files=files,
            recheck_at=self.builder.recheck_at,
            result=result,
        )

    def _respond(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        match = _FEED_PATH.fullmatch(environ.get("PATH_INFO") or "")
        if match is None or not hmac.compare_digest(
            match[1].encode("ascii"), self.token().encode("ascii")
        ):
            return _plain(start_response, "404 Not Found", _NOT_FOUND)
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "POST" and not match[2]:
            return self._mark_done(environ, start_response)
        if method not in ("GET", "HEAD"):
            return _plain(
                start_response, "405 Method Not Allowed", b"Use GET\n", [("Allow", "GET, HEAD")]
            )
        snapshot = self.snapshot()
        if not match[2]:
            return self._agenda(environ, start_response, snapshot, match[1])
        body, etag = snapshot.calendar, snapshot.calendar_etag
        headers = [
            ("ETag", etag),
            ("Last-Modified", format_datetime(snapshot.last_modified, usegmt=True)),
            ("Cache-Control", CACHE_CONTROL),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),  # the URL is the secret
        ]
        if _not_modified(environ, etag, snapshot.last_modified):
            start_response("304 Not Modified", headers)
            return []
        headers += [
            ("Content-Type", "text/calendar; charset=utf-8"),
            ("Content-Length", str(len(body))),
        ]
        start_response("200 OK", headers)
        return [] if method == "HEAD" else [body]

    def _agenda(
        self, environ: dict[str, Any], start_response: StartResponse, snapshot: Snapshot, token: str
    ) -> Iterable[bytes]:
        """The agenda page, made per request: what is overdue or today moves with the clock,
        and its subscribe links name the host the browser asked."""
        feed, webcal = subscribe_urls(request_base(environ, self.builder.options.url), token)
        body = snapshot.agenda.page(self.clock(), Links(feed, webcal))
        encoding = []
        if _accepts_gzip(str(environ.get("HTTP_ACCEPT_ENCODING") or "")):
            # Mostly drafts in much the same words: it shrinks many times over.
            body = gzip.compress(body, compresslevel=6, mtime=0)
            encoding = [("Content-Encoding", "gzip")]
        etag = _etag(body)
        headers = [
            ("ETag", etag),
            ("Vary", "Accept-Encoding"),
            ("Cache-Control", "private, no-cache"),
            ("X-Content-Type-Options", "nosniff"),
            # The URL is the secret: no other site gets it, and the page's own form posts
            # carry their Origin (no-referrer would send "Origin: null").
            ("Referrer-Policy", "same-origin"),
        ]
        # Validated by ETag alone: the page has no Last-Modified (it changes with the clock).
        if_none_match = {"HTTP_IF_NONE_MATCH": environ.get("HTTP_IF_NONE_MATCH")}
        if if_none_match["HTTP_IF_NONE_MATCH"] is not None and _not_modified(
            if_none_match, etag, snapshot.last_modified
        ):
            start_response("304 Not Modified", headers)
            return []
        headers += [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
            *encoding,
        ]
        start_response("200 OK", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def _mark_done(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """The page's "Mark done" (a form POST): only from the page itself, then written into
        the record like `followup done`; a repeat writes nothing. Answered with a redirect
        to the page (POST/redirect/GET), so a reload never posts again."""
        if not _same_origin(environ, self.builder.options.url):
            return _plain(start_response, "403 Forbidden", b"Only the agenda page can do that\n")
        content_type = str(environ.get("CONTENT_TYPE") or "").partition(";")[0].strip()
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if content_type != "application/x-www-form-urlencoded" or not 0 < length <= MAX_FORM:
            return _plain(start_response, "400 Bad Request", b"Expected the page's small form\n")
        form = parse_qs(environ["wsgi.input"].read(length).decode("utf-8", "replace"))
        if len(form.get("task", [])) != 1:
            return _plain(start_response, "400 Bad Request", b"Expected one task\n")
        try:
            self.snapshot().agenda.mark_done(form["task"][0], self.builder.settings, self.clock())
        except UserError as error:
            return _plain(start_response, "409 Conflict", f"{error}\n".encode())
        page = f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}"
        start_response(
            "303 See Other",
            [("Location", page), ("Content-Length", "0"), ("Cache-Control", "no-store")],
        )
        return []

    def _report(self, message: str) -> None:
        """Say each problem once, not on every request."""
        if message not in self._reported:
            self._reported.add(message)
            self.warn(message)


def _accepts_gzip(accept_encoding: str) -> bool:
    """RFC 9110 §12.5.3: gzip listed (or `*`) with a non-zero quality."""
    for item in accept_encoding.split(","):
        name, _, parameters = item.partition(";")
        if name.strip().lower() in ("gzip", "x-gzip", "*"):
            quality = parameters.strip().lower().removeprefix("q=")
            try:
                return not parameters.strip() or float(quality) > 0
            except ValueError:
                return False
    return False


def _same_origin(environ: dict[str, Any], public_url: str | None) -> bool:
    """The POST came from a page of this server: its Origin names the host it was sent to
    (or the public URL's host), as browsers send it for a form post."""
    origin = urlsplit(str(environ.get("HTTP_ORIGIN") or "")).netloc
    hosts = {str(environ.get("HTTP_HOST") or ""), urlsplit(public_url or "").netloc} - {""}
    return bool(origin) and origin in hosts


def _etag(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:40]}"'


def _not_modified(environ: dict[str, Any], etag: str, last_modified: datetime) -> bool:
    """RFC 9110 §13.2.2: If-None-Match wins; If-Modified-Since only without it."""
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or etag in tags
    if_modified_since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if not if_modified_since:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified <= since


def _plain(
    start_response: StartResponse,
    status: str,
    body: bytes,
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        *(extra or []),
    ]
    start_response(status, headers)
    return [body]


class _RedactFeedPaths(logging.Filter):
    """Waitress names the request path in some log lines; the path holds the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN_IN_PATH.sub("/feed/…", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def serve(
    app: FeedApp,
    host: str,
    port: int,
    on_ready: Callable[[str, int], None],
    threads: int = 8,
) -> None:
    """Serve `app` with waitress until interrupted; `on_ready(host, port)` once listening."""
    import waitress.server

    for name in ("waitress", "waitress.queue"):
        logging.getLogger(name).addFilter(_RedactFeedPaths())
    server: Any = waitress.server.create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="followup",
        clear_untrusted_proxy_headers=True,
    )
    bound_port = getattr(server, "effective_port", port)
    on_ready(host, int(bound_port))
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
