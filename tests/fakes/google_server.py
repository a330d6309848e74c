"""A fake Google Calendar v3 service on 127.0.0.1, for driving the real SDK in tests.

Every behaviour below names its source: the Calendar v3 reference and guides ("Handle API
errors", "Send batch requests", "Manage quotas", "Extended properties"), the discovery
document bundled with google-api-python-client (scopes per method, schemas, field notes),
google-auth's token client, or a public report of observed behaviour. Where the service
is not documented, the fake takes the stricter answer, switchable per test (`Behaviour`).
"""

from __future__ import annotations

import base64
import email.parser
import hashlib
import itertools
import json
import random
import re
import secrets
import socket
import struct
import threading
import urllib.parse
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import googleapiclient

DISCOVERY = (
    Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "calendar.v3.json"
)
SERVICE_PATH = "/calendar/v3/"
BATCH_PATH = "/batch/calendar/v3"
TOKEN_PATH = "/token"
# "Send batch requests": "You're limited to 1000 calls in a single batch request."
MAX_BATCH_CALLS = 1000
# Event.reminders.overrides: "The maximum number of override reminders is 5."
MAX_REMINDERS = 5
# Event.id (discovery): base32hex characters, "between 5 and 1024 characters".
EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")
# colors.get "event" palette: ids "1" to "11" (Event.colorId refers to that palette).
EVENT_COLOURS = frozenset(str(n) for n in range(1, 12))
# Observed: "the event description character limit is approximately 8,192 characters"
# (Nylas support, "Event Description Limits in Google Calendar"); past it, an error.
MAX_DESCRIPTION = 8192
# Extended properties guide, "Limits": keys over 44 characters are silently dropped.
MAX_PROPERTY_KEY = 44
SCOPE_APP_CREATED = "https://www.googleapis.com/auth/calendar.app.created"
LIST_SCOPES = frozenset(
    {
        "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
        "https://www.googleapis.com/auth/calendar.calendarlist",
    }
)
DEFAULT_ACCOUNT = "me@example.com"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
IANA_ZONES = frozenset(zoneinfo.available_timezones()) | {"UTC"}
POSSIBLE_VALUE = re.compile(r'^- "([^"]+)"', re.MULTILINE)
# 403 rateLimitExceeded / 429 with Retry-After / 503 backendError: "Handle API errors".
# "reset": the connection drops (before or after the work); "lost": after, always.
FAULT_KINDS = ("429", "503", "403", "reset")

Reply = tuple[int, dict[str, str], bytes]


class ApiError(Exception):
    """Answer the current call with this error reply."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.reply = _error(status, reason, message)


class ResetConnection(Exception):
    """Drop the TCP connection with a RST instead of answering."""


@dataclass
class Method:
    name: str  # e.g. "events.insert"
    http_method: str
    pattern: re.Pattern[str]
    scopes: frozenset[str]
    request_schema: str | None
    required: frozenset[str]


@dataclass
class Grant:
    scopes: frozenset[str]
    account: str = DEFAULT_ACCOUNT
    revoked: bool = False


@dataclass
class Behaviour:
    """Where Google's answer is undocumented or varies: the stricter one by default."""

    # Observed: update of a deleted event answers 403 forbidden
    # (googleapis/google-api-ruby-client#1811, andrewramsay/ical_to_gcal_sync#12).
    revive_deleted: bool = False
    # A purged id stays taken: insert still answers 409 (stricter; nothing says otherwise).
    purged_ids_reusable: bool = False


@dataclass
class Stats:
    """What the fake received. A batch is one HTTP request holding several calls."""

    http_requests: int = 0
    write_http_requests: int = 0
    batch_requests: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    write_calls: int = 0
    token_requests: int = 0
    faults: Counter[str] = field(default_factory=Counter)


def load_discovery() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DISCOVERY.read_text(encoding="utf-8"))
    return document


def _methods(document: dict[str, Any]) -> list[Method]:
    found = []
    for resource_name, resource in document["resources"].items():
        for method_name, method in resource.get("methods", {}).items():
            regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(method["path"]))
            request = method.get("request", {}).get("$ref")
            required: frozenset[str] = frozenset()
            if request:
                required = frozenset(
                    name
                    for name, spec in document["schemas"][request].get("properties", {}).items()
                    if method["id"] in spec.get("annotations", {}).get("required", ())
                )
            found.append(
                Method(
                    name=f"{resource_name}.{method_name}",
                    http_method=method["httpMethod"],
                    pattern=re.compile(f"^{regex}$"),
                    scopes=frozenset(method.get("scopes", ())),
                    request_schema=request,
                    required=required,
                )
            )
    # Literal paths before templated ones: "events/import" is not the event "import".
    found.sort(key=lambda m: m.pattern.pattern.count("(?P"))
    return found


class SchemaValidator:
    """Checks a JSON body against a discovery schema: unknown fields, types, formats, enums.

    The discovery document lists most enums only in descriptions ("Possible values are:
    - "confirmed" …"); those lists are enforced too.
    """

    def __init__(self, document: dict[str, Any]) -> None:
        self.schemas: dict[str, Any] = document["schemas"]

    def errors(self, value: Any, schema_name: str) -> list[str]:
        problems: list[str] = []
        self._check(value, {"$ref": schema_name}, schema_name, problems)
        return problems

    def _check(self, value: Any, schema: dict[str, Any], where: str, problems: list[str]) -> None:
        if "$ref" in schema:
            schema = self.schemas[schema["$ref"]]
        if value is None:  # JSON null clears a field
            return
        kind = schema.get("type")
        if kind == "object":
            if not isinstance(value, dict):
                problems.append(f"{where}: expected an object")
                return
            properties = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for name, item in value.items():
                if name in properties:
                    self._check(item, properties[name], f"{where}.{name}", problems)
                elif extra is not None:
                    self._check(item, extra, f"{where}.{name}", problems)
                else:
                    problems.append(f"{where}.{name}: unknown field")
        elif kind == "array":
            if not isinstance(value, list):
                problems.append(f"{where}: expected an array")
                return
            for index, item in enumerate(value):
                self._check(item, schema.get("items", {}), f"{where}[{index}]", problems)
        elif kind == "string":
            self._check_string(value, schema, where, problems)
        elif kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                problems.append(f"{where}: expected an integer")
            elif schema.get("format") == "int32" and not -(2**31) <= value < 2**31:
                problems.append(f"{where}: out of int32 range")
        elif kind == "boolean":
            if not isinstance(value, bool):
                problems.append(f"{where}: expected a boolean")
        elif kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
            problems.append(f"{where}: expected a number")

    def _check_string(
        self, value: Any, schema: dict[str, Any], where: str, problems: list[str]
    ) -> None:
        if not isinstance(value, str):
            problems.append(f"{where}: expected a string")
            return
        fmt = schema.get("format")
        if fmt == "date" and not _parses(DATE, value, date.fromisoformat):
            problems.append(f"{where}: not a date")
        elif fmt == "date-time" and not _parses(DATE_TIME, value, _parse_instant):
            problems.append(f"{where}: not an RFC 3339 date-time")
        elif fmt in ("int64", "uint64") and not re.fullmatch(r"-?\d+", value):
            problems.append(f"{where}: not an integer string")
        allowed = schema.get("enum") or _described_values(schema.get("description", ""))
        if allowed and value not in allowed:
            problems.append(f"{where}: {value!r} is not one of {', '.join(allowed)}")


def _described_values(description: str) -> list[str]:
    if "Possible values are" not in description:
        return []
    return POSSIBLE_VALUE.findall(description.split("Possible values are", 1)[1])


def _parses(pattern: re.Pattern[str], value: str, parse: Any) -> bool:
    if not pattern.match(value):
        return False
    try:
        parse(value)
    except ValueError:
        return False
    return True


def _parse_instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _error(status: int, reason: str, message: str, domain: str = "global") -> Reply:
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"domain": domain, "reason": reason, "message": message}],
        }
    }
    return status, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(body).encode()


def _json(status: int, body: Any) -> Reply:
    return status, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(body).encode()


class FakeGoogleCalendar:
    """The fake service. Use as a context manager; `url` is the API root to configure."""

    def __init__(self, *, seed: int = 0) -> None:
        self.document = load_discovery()
        self.methods = _methods(self.document)
        self.validator = SchemaValidator(self.document)
        self.lock = threading.RLock()
        self.calendars: dict[str, dict[str, Any]] = {}
        self.events: dict[str, dict[str, dict[str, Any]]] = {}
        self.purged: dict[str, set[str]] = {}
        self.clients: dict[str, str] = {}
        self.grants: dict[str, Grant] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.stats = Stats()
        self.rng = random.Random(seed)
        self.fault_rate = 0.0
        self.fault_kinds: tuple[str, ...] = FAULT_KINDS
        self.retry_after = 7
        self.writes_left: int | None = None
        self.queued_faults: dict[str, list[str]] = {"request": [], "call": []}
        self.token_faults: list[str] = []  # "500" or "invalid_grant", for the next refreshes
        self.lose_answer_of: Counter[str] = Counter()  # method name -> answers to drop
        self.forbidden: dict[str, str] = {}  # event id -> a non-rate 403 reason for writes
        self.behaviour = Behaviour()
        self.codes: dict[str, dict[str, Any]] = {}  # authorization code -> what it grants
        self.consented: set[tuple[str, str]] = set()  # (client id, account) that said yes
        self._clock = itertools.count(1)
        self._add_calendar(DEFAULT_ACCOUNT, app_created=False, summary=DEFAULT_ACCOUNT)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------

    def __enter__(self) -> FakeGoogleCalendar:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    @property
    def token_uri(self) -> str:
        return self.url.rstrip("/") + TOKEN_PATH

    # -- test controls ------------------------------------------------------------

    def grant(
        self,
        scopes: list[str],
        *,
        calendar: str | None = None,
        fresh: bool = False,
        account: str = DEFAULT_ACCOUNT,
    ) -> dict[str, Any]:
        """A signed-in user's stored grant (as `followup auth google` would store it).

        Unless `fresh`, its access token is stale: the first call answers 401 until a refresh.
        Each account has its own primary calendar, whose id is the account's address.
        """
        client_id = f"{secrets.token_hex(6)}.apps.googleusercontent.com"
        client_secret = f"GOCSPX-{secrets.token_urlsafe(18)}"
        refresh_token = f"1//{secrets.token_urlsafe(32)}"
        token = f"ya29.{secrets.token_urlsafe(24)}"
        with self.lock:
            if account not in self.calendars:
                self._add_calendar(account, app_created=False, summary=account, owner=account)
            self.clients[client_id] = client_secret
            self.grants[refresh_token] = Grant(frozenset(scopes), account)
            if fresh:
                self.access_tokens[token] = self.grants[refresh_token]
        return {
            "token": token,
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": client_secret,
            "scopes": scopes,
            "expiry": "2999-01-01T00:00:00",
            "calendar": calendar,
        }

    def register_client(self, client_id: str, client_secret: str) -> None:
        """A Desktop app OAuth client made in Google Cloud Console."""
        with self.lock:
            self.clients[client_id] = client_secret

    def consent(self, authorization_url: str, account: str = DEFAULT_ACCOUNT) -> str:
        """What Google's consent page does when the user allows access: a one-time code.

        OAuth 2.0 for installed apps / web server apps: a refresh token comes with the first
        consent of an account to a client (access_type=offline), and again only when the
        app asks for consent anew (prompt=consent).
        """
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorization_url).query))
        client = query["client_id"]
        with self.lock:
            first = (client, account) not in self.consented
            self.consented.add((client, account))
            code = f"4/{secrets.token_urlsafe(16)}"
            self.codes[code] = {
                "client_id": client,
                "scopes": frozenset(query["scope"].split()),
                "account": account,
                "refresh": query.get("access_type") == "offline"
                and (first or query.get("prompt") == "consent"),
                "redirect_uri": query["redirect_uri"],
                "challenge": query.get("code_challenge"),
            }
        return code

    def revoke_all(self) -> None:
        with self.lock:
            for grant in self.grants.values():
                grant.revoked = True
            self.access_tokens.clear()

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.access_tokens.clear()

    def inject_faults(self, rate: float, kinds: tuple[str, ...] = FAULT_KINDS) -> None:
        """Fail about `rate` of requests (and of calls inside batches) with `kinds`."""
        self.fault_rate, self.fault_kinds = rate, kinds

    def queue_faults(self, *kinds: str, where: str = "request") -> None:
        """Fail the next requests (or calls inside batches) with these kinds, in order."""
        with self.lock:
            self.queued_faults[where].extend(kinds)

    def fail_after(self, writes: int | None) -> None:
        """Let `writes` more write calls succeed, then answer 503 to each (None: heal)."""
        with self.lock:
            self.writes_left = writes

    def delete_calendar(self, calendar_id: str) -> None:
        """The user deletes a calendar in Google Calendar: its events go with it."""
        with self.lock:
            del self.calendars[calendar_id], self.events[calendar_id]

    def purge_cancelled(self) -> None:
        """Observed: cancelled events are kept a while, then purged (get answers 404)."""
        with self.lock:
            for calendar_id, events in self.events.items():
                for event_id in [i for i, e in events.items() if e["status"] == "cancelled"]:
                    del events[event_id]
                    self.purged.setdefault(calendar_id, set()).add(event_id)

    def live_events(self, calendar_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            if calendar_id == "primary":
                calendar_id = DEFAULT_ACCOUNT
            calendars = [calendar_id] if calendar_id else list(self.events)
            return [
                dict(event)
                for cal in calendars
                for event in self.events.get(cal, {}).values()
                if event["status"] != "cancelled"
            ]

    def app_calendars(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(c) for c in self.calendars.values() if c["_app_created"]]

    # -- request handling ---------------------------------------------------------

    def handle(self, method: str, target: str, headers: Any, body: bytes) -> Reply:
        """One top-level HTTP request (the handler thread calls this)."""
        path = urllib.parse.urlsplit(target).path
        if path == TOKEN_PATH and method == "POST":
            with self.lock:
                self.stats.token_requests += 1
            return self._token(body, headers.get("Authorization") or "")
        with self.lock:
            self.stats.http_requests += 1
            if method != "GET":
                self.stats.write_http_requests += 1
        reset_after = self._maybe_fault("request")
        if path == BATCH_PATH and method == "POST":
            with self.lock:
                self.stats.batch_requests += 1
            reply = self._batch(headers.get("Content-Type", ""), body)
        else:
            reply = self.call(method, target, headers.get("Authorization"), body)
        if reset_after:
            raise ResetConnection  # the work is done, the answer is lost
        return reply

    def _maybe_fault(self, where: str) -> bool:
        """Raise a fault per the queue or the injected rate; True: reset after the work."""
        with self.lock:
            if self.queued_faults[where]:
                kind = self.queued_faults[where].pop(0)
            elif self.fault_rate and self.rng.random() < self.fault_rate:
                kind = self.rng.choice(self.fault_kinds)
            else:
                return False
            if kind == "reset" and where == "call":
                kind = "503"  # a call inside a batch cannot drop the connection
            self.stats.faults[kind] += 1
            after = kind == "reset" and self.rng.random() < 0.5
        if kind == "reset":
            if after:
                return True
            raise ResetConnection
        raise _Fault(kind, self.retry_after)

    def call(self, method: str, target: str, authorization: str | None, body: bytes) -> Reply:
        """One API call, top-level or inside a batch."""
        split = urllib.parse.urlsplit(target)
        if not split.path.startswith(SERVICE_PATH):
            return _error(404, "notFound", "Not Found")
        relative = urllib.parse.unquote(split.path[len(SERVICE_PATH) :])
        query = dict(urllib.parse.parse_qsl(split.query))
        match = next(
            (
                (m, found)
                for m in self.methods
                if m.http_method == method and (found := m.pattern.match(relative))
            ),
            None,
        )
        if match is None:
            return _error(404, "notFound", "Not Found")
        spec, found = match
        with self.lock:
            self.stats.calls[spec.name] += 1
            grant = self.access_tokens.get((authorization or "").removeprefix("Bearer "))
        if grant is None or grant.revoked:  # errors guide: 401 authError, Invalid Credentials
            return _error(
                401,
                "authError",
                "Request had invalid authentication credentials.",
            )
        if not grant.scopes & spec.scopes:  # discovery: each method's "scopes"
            return _error(403, "insufficientPermissions", "Insufficient Permission")
        payload: Any = None
        if spec.request_schema:
            try:
                payload = json.loads(body or b"null")
            except ValueError:
                return _error(400, "parseError", "Parse Error")
            problems = self.validator.errors(payload, spec.request_schema)
            problems += [f"{name}: required" for name in spec.required if name not in payload]
            if problems:
                return _error(400, "invalid", "; ".join(problems))
        with self.lock:
            if method != "GET":
                self.stats.write_calls += 1
                if self.writes_left is not None:
                    if self.writes_left <= 0:
                        return _error(503, "backendError", "Backend Error")
                    self.writes_left -= 1
            handler = getattr(self, "_" + spec.name.replace(".", "_"), None)
            if handler is None:
                return _error(501, "notImplemented", f"{spec.name} is not faked")
            try:
                result: Reply = handler(grant, found.groupdict(), query, payload)
            except ApiError as error:
                return error.reply
            if self.lose_answer_of[spec.name] > 0:
                self.lose_answer_of[spec.name] -= 1
                raise ResetConnection  # the work is done, the answer is lost
            return result

    # -- token endpoint -----------------------------------------------------------

    def _token(self, body: bytes, authorization: str) -> Reply:
        form = dict(urllib.parse.parse_qsl(body.decode()))
        if authorization.startswith("Basic "):  # RFC 6749 §2.3.1: client id/secret either way
            client, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
            form.setdefault("client_id", urllib.parse.unquote(client))
            form.setdefault("client_secret", urllib.parse.unquote(secret))
        with self.lock:
            fault = self.token_faults.pop(0) if self.token_faults else None
        if fault == "500":  # google-auth retries 5xx itself, then RefreshError(retryable=True)
            return _json(500, {"error": "internal_failure", "error_description": "Backend"})
        if fault == "invalid_grant":  # RFC 6749 §5.2; Google: "Token has been expired or revoked."
            return _json(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
            )
        with self.lock:
            if self.clients.get(form.get("client_id", "")) != form.get("client_secret"):
                # RFC 6749 §5.2: an unknown client or wrong secret is invalid_client.
                return _json(401, {"error": "invalid_client", "error_description": "Unauthorized"})
            if form.get("grant_type") == "authorization_code":
                return self._exchange(form)
            grant = self.grants.get(form.get("refresh_token", ""))
            if form.get("grant_type") != "refresh_token" or grant is None or grant.revoked:
                return _json(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "Token has been expired or revoked.",
                    },
                )
            token = f"ya29.{secrets.token_urlsafe(24)}"
            self.access_tokens[token] = grant
        return _json(
            200,
            {
                "access_token": token,
                "expires_in": 3599,
                "scope": " ".join(sorted(grant.scopes)),
                "token_type": "Bearer",
            },
        )

    def _exchange(self, form: dict[str, str]) -> Reply:
        """The authorization-code grant: once per code, same redirect_uri, PKCE S256."""
        grant = self.codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if (
            grant is None
            or grant["client_id"] != form.get("client_id")
            or grant["redirect_uri"] != form.get("redirect_uri")
            or (grant["challenge"] and grant["challenge"] != challenge.decode().rstrip("="))
        ):
            return _json(400, {"error": "invalid_grant", "error_description": "Bad Request"})
        token = f"ya29.{secrets.token_urlsafe(24)}"
        stored = Grant(grant["scopes"], grant["account"])
        self.access_tokens[token] = stored
        answer = {
            "access_token": token,
            "expires_in": 3599,
            "scope": " ".join(sorted(grant["scopes"])),
            "token_type": "Bearer",
        }
        if grant["refresh"]:
            refresh_token = f"1//{secrets.token_urlsafe(32)}"
            self.grants[refresh_token] = stored
            answer["refresh_token"] = refresh_token
        return _json(200, answer)

    # -- batch --------------------------------------------------------------------

    def _batch(self, content_type: str, body: bytes) -> Reply:
        message = email.parser.BytesParser().parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        if not message.is_multipart():
            return _error(400, "badRequest", "Batch requests must be multipart/mixed")
        parts = [part for part in message.walk() if part is not message]
        if len(parts) > MAX_BATCH_CALLS:
            return _error(400, "tooManyRequests", "A batch holds at most 1000 calls")
        boundary = f"batch_{secrets.token_hex(8)}"
        out: list[str] = []
        for part in parts:
            content_id = str(part.get("Content-ID", ""))
            method, target, headers, inner = _parse_http(str(part.get_payload()))
            try:
                self._maybe_fault("call")
                status, reply_headers, reply_body = self.call(
                    method, target, headers.get("authorization"), inner
                )
            except _Fault as fault:
                status, reply_headers, reply_body = fault.reply()
            reply_headers = {**reply_headers, "Content-Length": str(len(reply_body))}
            head = "".join(f"{name}: {value}\r\n" for name, value in reply_headers.items())
            out.append(
                f"--{boundary}\r\nContent-Type: application/http\r\n"
                f"Content-ID: <response-{content_id.strip('<>')}>\r\n\r\n"
                f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n{head}\r\n"
                + reply_body.decode()
                + "\r\n"
            )
        out.append(f"--{boundary}--\r\n")
        return 200, {"Content-Type": f"multipart/mixed; boundary={boundary}"}, "".join(out).encode()

    # -- calendars ----------------------------------------------------------------

    def _add_calendar(
        self, calendar_id: str, *, app_created: bool, summary: str, owner: str = DEFAULT_ACCOUNT
    ) -> dict[str, Any]:
        calendar = {
            "kind": "calendar#calendar",
            "id": calendar_id,
            "etag": f'"{next(self._clock)}"',
            "summary": summary,
            "timeZone": "UTC",
            "_app_created": app_created,
            "_owner": owner,
        }
        self.calendars[calendar_id] = calendar
        self.events[calendar_id] = {}
        return calendar

    def _public(self, resource: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in resource.items() if not key.startswith("_")}

    def _calendar_for(
        self, grant: Grant, calendar_id: str, *, listing: bool = False
    ) -> dict[str, Any]:
        # "primary" is the signed-in user's primary calendar (calendarId, reference).
        calendar = self.calendars.get(grant.account if calendar_id == "primary" else calendar_id)
        # Another account's calendar is not there for this one (stricter than 403).
        if calendar is None or calendar["_owner"] != grant.account:
            raise ApiError(404, "notFound", "Not Found")
        # Scope text: calendar.app.created reaches only "secondary calendars" it made.
        # A list scope (calendarList.*) sees every calendar in the user's list.
        scopes = grant.scopes if listing else grant.scopes - LIST_SCOPES
        if not calendar["_app_created"] and scopes <= {SCOPE_APP_CREATED}:
            raise ApiError(404, "notFound", "Not Found")
        return calendar

    def _entry(self, calendar: dict[str, Any]) -> dict[str, Any]:
        """A calendarList entry (CalendarListEntry schema) of a calendar the user owns."""
        entry = {**self._public(calendar), "kind": "calendar#calendarListEntry"}
        entry["accessRole"] = "owner"
        if not calendar["_app_created"] and calendar["id"] == calendar["_owner"]:
            entry["primary"] = True
        return entry

    def _calendarList_list(
        self, grant: Grant, params: dict[str, str], query: Any, body: Any
    ) -> Reply:
        # The user's own calendars, created ones included (calendars.insert adds them).
        items = [self._entry(c) for c in self.calendars.values() if c["_owner"] == grant.account]
        size = min(int(query.get("maxResults", 100)), 250)  # "cannot be greater than 250"
        offset = int(query.get("pageToken", 0))
        page: dict[str, Any] = {
            "kind": "calendar#calendarList",
            "items": items[offset : offset + size],
        }
        if offset + size < len(items):
            page["nextPageToken"] = str(offset + size)
        return _json(200, page)

    def _calendarList_get(
        self, grant: Grant, params: dict[str, str], query: Any, body: Any
    ) -> Reply:
        calendar = self._calendar_for(grant, params["calendarId"], listing=True)
        return _json(200, self._entry(calendar))

    def _calendars_insert(
        self, grant: Grant, params: dict[str, str], query: Any, body: Any
    ) -> Reply:
        if not body or not body.get("summary"):
            raise ApiError(400, "required", "Missing title.")
        calendar_id = f"{secrets.token_hex(16)}@group.calendar.google.com"
        calendar = self._add_calendar(
            calendar_id, app_created=True, summary=body["summary"], owner=grant.account
        )
        calendar.update({k: v for k, v in body.items() if k not in ("id", "kind", "etag")})
        return _json(200, self._public(calendar))

    def _calendars_get(self, grant: Grant, params: dict[str, str], query: Any, body: Any) -> Reply:
        return _json(200, self._public(self._calendar_for(grant, params["calendarId"])))

    def _calendars_delete(
        self, grant: Grant, params: dict[str, str], query: Any, body: Any
    ) -> Reply:
        calendar = self._calendar_for(grant, params["calendarId"])
        # calendars.delete "Deletes a secondary calendar": its events go with it.
        del self.calendars[calendar["id"]], self.events[calendar["id"]]
        return 204, {}, b""

    # -- events -------------------------------------------------------------------

    def _events_of(self, grant: Grant, calendar_id: str) -> dict[str, dict[str, Any]]:
        return self.events[self._calendar_for(grant, calendar_id)["id"]]

    def _check_event(self, event: dict[str, Any]) -> None:
        start, end = event.get("start") or {}, event.get("end") or {}
        for name, when in (("start", start), ("end", end)):
            if ("date" in when) == ("dateTime" in when):
                raise ApiError(400, "required", f"{name}: exactly one of date and dateTime")
            # EventDateTime.timeZone: "Formatted as an IANA Time Zone Database name".
            if when.get("timeZone") and when["timeZone"] not in IANA_ZONES:
                raise ApiError(400, "timeZone", f"Invalid time zone definition for {name} time.")
            # EventDateTime.dateTime: "A time zone offset is required unless a time zone is
            # explicitly specified in timeZone."
            moment = when.get("dateTime")
            if moment and _parse_instant(moment).tzinfo is None and not when.get("timeZone"):
                raise ApiError(400, "timeZone", f"{name}: a time zone is required")
        if event.get("colorId") is not None and event["colorId"] not in EVENT_COLOURS:
            raise ApiError(400, "invalid", "Invalid color id value.")
        if len(event.get("description") or "") > MAX_DESCRIPTION:
            raise ApiError(400, "invalid", "The description is too long.")
        # Errors guide, 400 example: end before start is timeRangeEmpty.
        if ("date" in start) != ("date" in end):
            raise ApiError(400, "invalid", "start and end must both be dates or date-times")
        if "date" in start:
            empty = date.fromisoformat(end["date"]) <= date.fromisoformat(start["date"])
        else:
            empty = _instant(end) <= _instant(start)
        if empty:
            raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")
        overrides = (event.get("reminders") or {}).get("overrides") or []
        if len(overrides) > MAX_REMINDERS:  # reason as Google names it (public reports)
            raise ApiError(
                400,
                "cannotUseMoreThanFiveReminders",
                "Cannot specify more than 5 override reminders.",
            )
        for reminder in overrides:  # minutes: "Valid values are between 0 and 40320"
            if "method" not in reminder or not 0 <= reminder.get("minutes", -1) <= 40320:
                raise ApiError(400, "invalid", "Invalid reminder")
        if event.get("id") is not None and not EVENT_ID.match(event["id"]):
            raise ApiError(400, "invalid", "Invalid resource id value.")

    def _store_event(
        self, events: dict[str, Any], event: dict[str, Any], calendar_id: str
    ) -> Reply:
        stamp = f"2026-01-01T00:00:{next(self._clock) % 60:02d}.000Z"
        event.update(
            {
                "kind": "calendar#event",
                "etag": f'"{next(self._clock)}"',
                "updated": stamp,
                "htmlLink": f"https://calendar.example/event?eid={event['id']}",
                "iCalUID": f"{event['id']}@google.com",
                "organizer": {"email": calendar_id, "self": True},
            }
        )
        event.setdefault("created", stamp)
        event.setdefault("status", "confirmed")
        _drop_long_keys(event)
        events[event["id"]] = event
        return _json(200, event)

    def _events_insert(self, grant: Grant, params: dict[str, str], query: Any, body: Any) -> Reply:
        events = self._events_of(grant, params["calendarId"])
        self._check_event(body)
        event = dict(body)
        event.setdefault("id", secrets.token_hex(13))
        self._check_forbidden(event["id"])
        purged = self.purged.get(self._calendar_for(grant, params["calendarId"])["id"], set())
        taken = event["id"] in purged and not self.behaviour.purged_ids_reusable
        # Errors guide, 409 duplicate; cancelled ids too (google-api-python-client#846).
        if event["id"] in events or taken:
            raise ApiError(409, "duplicate", "The requested identifier already exists.")
        event["sequence"] = 0
        return self._store_event(events, event, params["calendarId"])

    def _existing(
        self, grant: Grant, params: dict[str, str]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        events = self._events_of(grant, params["calendarId"])
        event = events.get(params["eventId"])
        if event is None:
            raise ApiError(404, "notFound", "Not Found")
        return events, event

    def _events_get(self, grant: Grant, params: dict[str, str], query: Any, body: Any) -> Reply:
        return _json(200, self._existing(grant, params)[1])

    def _check_forbidden(self, event_id: str) -> None:
        """A non-rate 403 for one event (errors guide, e.g. forbiddenForNonOrganizer)."""
        reason = self.forbidden.get(event_id)
        if reason:
            raise ApiError(403, reason, "Forbidden")

    def _revivable(self, old: dict[str, Any]) -> None:
        # Observed: update of a deleted event is 403 forbidden (google-api-ruby-client#1811).
        if old["status"] == "cancelled" and not self.behaviour.revive_deleted:
            raise ApiError(403, "forbidden", "Forbidden")

    def _events_update(self, grant: Grant, params: dict[str, str], query: Any, body: Any) -> Reply:
        events, old = self._existing(grant, params)
        self._check_forbidden(old["id"])
        self._revivable(old)
        if body.get("id") not in (None, old["id"]):
            raise ApiError(400, "invalid", "The event id cannot change.")
        self._check_event(body)
        event = {**body, "id": old["id"], "created": old["created"]}
        event["sequence"] = body.get("sequence", old["sequence"])
        event.setdefault("status", "confirmed")  # an update brings a cancelled event back
        return self._store_event(events, event, params["calendarId"])

    def _events_patch(self, grant: Grant, params: dict[str, str], query: Any, body: Any) -> Reply:
        events, old = self._existing(grant, params)
        self._check_forbidden(old["id"])
        self._revivable(old)
        merged = {**old, **body}
        self._check_event(merged)
        return self._store_event(events, merged, params["calendarId"])

    def _events_delete(self, grant: Grant, params: dict[str, str], query: Any, body: Any) -> Reply:
        _, event = self._existing(grant, params)
        self._check_forbidden(event["id"])
        # Observed: deleting a deleted event is 410 "Resource has been deleted" (#210).
        if event["status"] == "cancelled":
            raise ApiError(410, "deleted", "Resource has been deleted")
        event["status"] = "cancelled"
        event["etag"] = f'"{next(self._clock)}"'
        return 204, {}, b""

    def _events_list(self, grant: Grant, params: dict[str, str], query: Any, body: Any) -> Reply:
        events = self._events_of(grant, params["calendarId"])
        items = [
            event
            for event in events.values()
            if query.get("showDeleted") == "true" or event["status"] != "cancelled"
        ]
        wanted = query.get("privateExtendedProperty")
        if wanted:
            name, _, value = wanted.partition("=")
            items = [
                e
                for e in items
                if e.get("extendedProperties", {}).get("private", {}).get(name) == value
            ]
        size = min(int(query.get("maxResults", 250)), 2500)  # "cannot be greater than 2500"
        offset = int(query.get("pageToken", 0))
        page: dict[str, Any] = {"kind": "calendar#events", "items": items[offset : offset + size]}
        if offset + size < len(items):
            page["nextPageToken"] = str(offset + size)
        return _json(200, page)


def _drop_long_keys(event: dict[str, Any]) -> None:
    """Extended properties guide, "Limits": keys over 44 characters are silently dropped."""
    for scope in (event.get("extendedProperties") or {}).values():
        for key in [k for k in (scope or {}) if len(k) > MAX_PROPERTY_KEY]:
            del scope[key]


def _instant(when: dict[str, str]) -> datetime:
    moment = _parse_instant(when["dateTime"])
    if moment.tzinfo is None:
        from zoneinfo import ZoneInfo

        moment = moment.replace(tzinfo=ZoneInfo(when["timeZone"]))
    return moment


class _Fault(Exception):
    def __init__(self, kind: str, retry_after: int) -> None:
        super().__init__(kind)
        self.kind, self.retry_after = kind, retry_after

    def reply(self) -> Reply:
        if self.kind == "429":
            status, headers, body = _error(429, "rateLimitExceeded", "Rate Limit Exceeded")
            return status, {**headers, "Retry-After": str(self.retry_after)}, body
        if self.kind == "403":
            return _error(403, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits")
        return _error(503, "backendError", "The service is currently unavailable.")


_REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    429: "Too Many Requests",
    501: "Not Implemented",
    503: "Service Unavailable",
}


def _parse_http(text: str) -> tuple[str, str, dict[str, str], bytes]:
    """An `application/http` part: request line, headers, body."""
    text = text.replace("\r\n", "\n")
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method, target, headers, body.encode()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGoogleCalendar
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read counters, not logs."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            status, headers, payload = self.fake.handle(self.command, self.path, self.headers, body)
        except _Fault as fault:
            status, headers, payload = fault.reply()
        except ResetConnection:
            self._reset()
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _reset(self) -> None:
        # SO_LINGER 0: the server's close() sends RST, as a dropped connection does.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
