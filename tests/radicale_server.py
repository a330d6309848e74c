"""A real Radicale CalDAV server on 127.0.0.1, for the caldav exporter's tests and benchmark.

Radicale (installed by the test extra) runs in-process as the WSGI application it is,
served by waitress on a free port, with htpasswd `plain` authentication and a temporary
storage folder (Radicale's documented settings: https://radicale.org/v3.html#configuration).
Nothing here imitates CalDAV: every answer is Radicale's. A thin WSGI layer in front counts
the requests by method and can inject the faults a network or a busy server produces — a
write refused with 503, or a write that lands while its answer is lost.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

WRITES = frozenset({"PUT", "DELETE", "MKCALENDAR", "PROPPATCH", "MKCOL", "MOVE"})
USER, PASSWORD = "jane", "correct horse battery staple"

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


class RadicaleServer:
    """Radicale behind a request counter; `url` is the server root."""

    def __init__(self, folder: Path) -> None:
        from radicale import Application, config

        folder.mkdir(parents=True, exist_ok=True)
        users = folder / "users"
        users.write_text(f"{USER}:{PASSWORD}\n", encoding="utf-8")
        configuration = config.load()
        configuration.update(
            {
                "auth": {
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
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.writes_left: int | None = None  # None: never refuse a write
        self.lose_answers = 0  # this many writes land, then the client gets a 500
        self.busy = 0  # this many requests get 503 with Retry-After first
        self._lock = threading.Lock()
        self._server: Any = None
        self.url = ""

    # -- what tests look at ----------------------------------------------------------

    def count(self, *methods: str) -> int:
        with self._lock:
            return sum(1 for method, _ in self.requests if not methods or method in methods)

    def methods(self) -> Counter[str]:
        with self._lock:
            return Counter(method for method, _ in self.requests)

    def writes(self) -> int:
        return self.count(*WRITES)

    # -- serving -------------------------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        with self._lock:
            self.requests.append((method, environ.get("PATH_INFO", "")))
            if self.busy > 0:
                self.busy -= 1
                start_response("503 Service Unavailable", [("Retry-After", "1")])
                return [b"busy"]
            refuse = method in WRITES and self.writes_left is not None and self.writes_left <= 0
            if method in WRITES and self.writes_left is not None and not refuse:
                self.writes_left -= 1
            lose = method in WRITES and self.lose_answers > 0 and not refuse
            if lose:
                self.lose_answers -= 1
        if refuse:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"injected failure"]
        if lose:  # the write happens, the answer does not arrive
            list(self.app(environ, lambda *args, **kwargs: None))
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"answer lost"]
        return self.app(environ, start_response)

    def start(self) -> None:
        import logging

        import waitress.server

        logging.getLogger("waitress").setLevel(logging.ERROR)
        self._server = waitress.server.create_server(self, host="127.0.0.1", port=0, threads=4)
        self.url = f"http://127.0.0.1:{self._server.effective_port}/"
        threading.Thread(target=self._server.run, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()


@contextmanager
def radicale(folder: Path) -> Iterator[RadicaleServer]:
    server = RadicaleServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
