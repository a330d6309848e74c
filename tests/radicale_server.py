"""A real Radicale CalDAV server on 127.0.0.1, for the caldav exporter's tests and benchmark.

Radicale (installed by the test extra) runs in-process as the WSGI application it is,
served by waitress on a free port, with htpasswd `plain` authentication and a temporary
storage folder (Radicale's documented settings: https://radicale.org/v3.html#configuration).
Nothing here imitates CalDAV: every answer is Radicale's. A thin WSGI layer in front counts
the requests by method and can inject the faults a network or a busy server produces — a
write refused with 503, or a write that lands while its answer is lost. With `digest=True`
the layer is instead the reverse proxy Radicale documents for other schemes (auth type
`http_x_remote_user`), taking HTTP Digest only — Baïkal's default (sabre-io/Baikal
Specific/config.php: "WebDAV authentication type; default Digest").
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WRITES = frozenset({"PUT", "DELETE", "MKCALENDAR", "PROPPATCH", "MKCOL", "MOVE"})
USER, PASSWORD = "jane", "correct horse battery staple"
REALM = "followup tests"

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


@dataclass
class Request:
    method: str
    path: str
    if_match: str | None
    if_none_match: str | None
    authorized: bool  # sent with an Authorization header
    status: int | None = None  # the answer's status code, once given


class RadicaleServer:
    """Radicale behind a request counter; `url` is the server root."""

    def __init__(self, folder: Path, *, digest: bool = False) -> None:
        from radicale import Application, config

        # Made here, or Radicale logs a warning that it is making them
        (folder / "collections" / "collection-root").mkdir(parents=True, exist_ok=True)
        users = folder / "users"
        users.write_text(f"{USER}:{PASSWORD}\n", encoding="utf-8")
        configuration = config.load()
        proxied = {"type": "http_x_remote_user"}  # the user the proxy vouches for
        configuration.update(
            {
                "auth": proxied
                if digest
                else {
                    "type": "htpasswd",
                    "htpasswd_filename": str(users),
                    "htpasswd_encryption": "plain",
                    "delay": "0",  # Radicale waits 1 s after a failed login by default
                },
                "storage": {"filesystem_folder": str(folder / "collections")},
                "logging": {"level": "warning"},
            },
            "followup tests",
            privileged=True,
        )
        self.app = Application(configuration)
        self.requests: list[Request] = []
        self.writes_left: int | None = None  # None: never refuse a write
        self.lost: Counter[str] = Counter()  # method -> this many land, then the answer is a 500
        self.busy = 0  # this many requests are turned away first …
        self.busy_status = "503 Service Unavailable"  # … with this status and Retry-After: 1
        self._lock = threading.Lock()
        self.url = ""  # set once it is served
        self.digest = digest
        self.nonces: set[str] = set()  # the Digest challenges given out

    # -- what tests look at ----------------------------------------------------------

    def count(self, *methods: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if not methods or r.method in methods)

    def methods(self) -> Counter[str]:
        with self._lock:
            return Counter(r.method for r in self.requests)

    def lose_answers(self, method: str, count: int = 1) -> None:
        """The next `count` requests of `method` are carried out, but answered with a 500."""
        with self._lock:
            self.lost[method] += count

    def writes(self) -> int:
        return self.count(*WRITES)

    # -- serving -------------------------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        request = Request(
            method,
            environ.get("PATH_INFO", ""),
            environ.get("HTTP_IF_MATCH"),
            environ.get("HTTP_IF_NONE_MATCH"),
            "HTTP_AUTHORIZATION" in environ,
        )

        def answer(status: str, *args: Any, **kwargs: Any) -> Any:
            request.status = int(status.split()[0])
            return start_response(status, *args, **kwargs)

        with self._lock:
            self.requests.append(request)
            if self.digest and not self._digest_user(environ):
                nonce = secrets.token_hex(16)
                self.nonces.add(nonce)
                challenge = f'Digest realm="{REALM}", nonce="{nonce}", qop="auth", algorithm=MD5'
                answer("401 Unauthorized", [("WWW-Authenticate", challenge)])
                return [b"digest only"]
            if self.busy > 0:
                self.busy -= 1
                answer(self.busy_status, [("Retry-After", "1")])
                return [b"busy"]
            refuse = method in WRITES and self.writes_left is not None and self.writes_left <= 0
            if method in WRITES and self.writes_left is not None and not refuse:
                self.writes_left -= 1
            lose = self.lost[method] > 0 and not refuse
            if lose:
                self.lost[method] -= 1
        if refuse:
            answer("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"injected failure"]
        if lose:  # the write happens, the answer does not arrive
            list(self.app(environ, lambda *args, **kwargs: None))
            answer("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"answer lost"]
        return self.app(environ, answer)

    def _digest_user(self, environ: Environ) -> bool:
        """A valid RFC 7616 §3.4 Digest answer (MD5, qop=auth) to a nonce given here; the
        user is then handed to Radicale as the proxy's X-Remote-User. Basic never passes."""
        header = environ.pop("HTTP_AUTHORIZATION", "")
        if not header.startswith("Digest "):
            return False
        fields = dict(re.findall(r'(\w+)="?([^",]*)"?', header[len("Digest ") :]))
        if fields.get("username") != USER or fields.get("nonce") not in self.nonces:
            return False

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()

        known = md5(f"{USER}:{REALM}:{PASSWORD}")
        asked = md5(f"{environ['REQUEST_METHOD']}:{fields.get('uri', '')}")
        parts = (fields.get("nonce"), fields.get("nc"), fields.get("cnonce"), "auth", asked)
        if fields.get("qop") != "auth" or fields.get("response") != md5(
            ":".join([known, *map(str, parts)])
        ):
            return False
        environ["HTTP_X_REMOTE_USER"] = USER
        return True


@contextmanager
def serving(app: Callable[..., Iterable[bytes]]) -> Iterator[str]:
    """Serve a WSGI app with waitress on a free port of 127.0.0.1; yields its root URL."""
    import logging

    import waitress.server

    logging.getLogger("waitress").setLevel(logging.ERROR)
    server: Any = waitress.server.create_server(app, host="127.0.0.1", port=0, threads=4)
    stopping = threading.Event()

    def loop() -> None:  # in slices, so the sockets are closed only once it has stopped
        while not stopping.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, count=1)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}/"
    finally:
        stopping.set()
        thread.join()
        server.close()


@contextmanager
def radicale(folder: Path, *, digest: bool = False) -> Iterator[RadicaleServer]:
    server = RadicaleServer(folder, digest=digest)
    with serving(server) as url:
        server.url = url
        yield server
