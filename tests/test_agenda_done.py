"""The agenda page's "Mark done": a same-origin form POST to the secret page URL writes the
record exactly as `followup done` would, a repeat writes nothing, a GET never writes, and
anything not from the page itself is refused with nothing written."""

from __future__ import annotations

import io
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from followup_ics.feed import FeedBuilder
from followup_ics.server import FeedApp, TokenFile

from followup.cli import cli
from followup.config import Settings, state_dir

NOW = datetime.fromisoformat("2026-11-23T10:00:00-05:00")
HOST = "192.168.1.20:5545"
TASK = "acme-backend-2026-11/thank-you/jane-doe"


class Client:
    """Calls the WSGI app in process, as waitress would."""

    def __init__(self, app: FeedApp, token: str) -> None:
        self.app, self.path = app, f"/feed/{token}"

    def __call__(
        self, method: str = "GET", body: bytes = b"", path: str | None = None, **headers: str
    ) -> tuple[str, dict[str, str], bytes]:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path or self.path,
            "SCRIPT_NAME": "",
            "HTTP_HOST": HOST,
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
        }
        for name, value in headers.items():
            key = name.upper() if name in ("content_type", "content_length") else f"HTTP_{name}"
            environ[key.upper()] = value
        answer: dict[str, Any] = {}

        def start_response(status: str, header_list: list[tuple[str, str]]) -> None:
            answer.update(status=status, headers=dict(header_list))

        data = b"".join(self.app(environ, start_response))
        return answer["status"], answer["headers"], data

    def done(self, task: str = TASK, **headers: str) -> tuple[str, dict[str, str], bytes]:
        headers.setdefault("origin", f"http://{HOST}")
        return self("POST", f"task={task}".encode(), **headers)


@pytest.fixture
def client(folder: Path, followup_home: Path, tmp_path: Path) -> Client:
    settings = Settings(timezone="America/New_York")
    builder = FeedBuilder(folder, settings, state_dir() / "state.db")
    token = TokenFile(tmp_path / "token").get()
    return Client(FeedApp(builder, lambda: token, lambda: NOW, warn=lambda _: None), token)


def test_mark_done_writes_the_record_exactly_as_followup_done_does(
    client: Client, folder: Path, tmp_path: Path
) -> None:
    by_cli = tmp_path / "by-cli.yaml"
    shutil.copy(folder / "onsite-acme.yaml", by_cli)
    status, headers, _ = client.done()
    assert status == "303 See Other" and headers["Location"] == client.path
    result = CliRunner().invoke(cli, ["--now", NOW.isoformat(), "done", str(by_cli), TASK])
    assert result.exit_code == 0, result.output
    assert (folder / "onsite-acme.yaml").read_bytes() == by_cli.read_bytes()
    assert b"thank-you/jane-doe: 2026-11-23" in by_cli.read_bytes()
    page = client()[2].decode()
    card = page[: page.index("Send a thank-you note to Jane Doe")].rsplit("<li", 1)[1]
    assert 'class="task done"' in card
    assert f'value="{TASK}"' not in page  # no "Mark done" for it any more


def test_a_repeat_writes_nothing_and_a_get_never_writes(client: Client, folder: Path) -> None:
    record = folder / "onsite-acme.yaml"
    before = record.read_bytes()
    for _ in range(3):
        assert client()[0] == "200 OK" and client("HEAD")[0] == "200 OK"
    client(path=client.path + f"?task={TASK}")
    assert record.read_bytes() == before
    assert client.done()[0] == "303 See Other"
    written = record.read_bytes()
    assert written != before
    info = record.stat()
    assert client.done()[0] == "303 See Other"
    assert record.read_bytes() == written and record.stat().st_mtime_ns == info.st_mtime_ns


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"origin": ""}, "403"),
        ({"origin": "null"}, "403"),
        ({"origin": "https://evil.example"}, "403"),
        ({"origin": "http://192.168.1.20:5546"}, "403"),
        ({"content_type": "text/plain"}, "400"),
        ({"content_type": "multipart/form-data; boundary=x"}, "400"),
    ],
)
def test_a_post_not_from_the_page_is_refused_and_writes_nothing(
    client: Client, folder: Path, headers: dict[str, str], expected: str
) -> None:
    before = {path: path.read_bytes() for path in folder.iterdir()}
    status, answer, _ = client.done(**headers)
    assert status.startswith(expected) and answer["Content-Type"].startswith("text/plain")
    assert {path: path.read_bytes() for path in folder.iterdir()} == before


def test_bad_forms_unknown_or_cancelled_tasks_and_wrong_paths_write_nothing(
    client: Client, folder: Path
) -> None:
    before = {path: path.read_bytes() for path in folder.iterdir()}
    origin = {"origin": f"http://{HOST}"}
    assert client("POST", b"", **origin)[0].startswith("400")
    assert client("POST", b"task=a&task=b", **origin)[0].startswith("400")
    assert client("POST", b"x" * 5000, **origin)[0].startswith("400")
    assert client.done("acme-backend-2026-11/no-such-task")[0].startswith("409")
    assert client.done("no-such-record/check-in")[0].startswith("409")
    withdrawn = "vandelay-pm-2026-11/check-in"
    assert client.done(withdrawn)[0].startswith("409")
    assert client("POST", f"task={TASK}".encode(), path=client.path + ".ics", **origin)[0] == (
        "405 Method Not Allowed"
    )
    assert client("POST", f"task={TASK}".encode(), path="/feed/wrong", **origin)[0].startswith(
        "404"
    )
    assert {path: path.read_bytes() for path in folder.iterdir()} == before


def test_the_page_is_gzipped_when_asked_and_validated_by_its_etag(client: Client) -> None:
    import gzip

    status, plain_headers, plain = client()
    assert status == "200 OK" and "Content-Encoding" not in plain_headers
    status, headers, packed = client(accept_encoding="br, gzip;q=0.8")
    assert headers["Content-Encoding"] == "gzip" and headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(packed) == plain and len(packed) * 4 < len(plain)
    assert headers["ETag"] != plain_headers["ETag"]
    assert "Content-Encoding" not in client(accept_encoding="gzip;q=0")[1]
    again = client(accept_encoding="gzip", if_none_match=headers["ETag"])
    assert again[0] == "304 Not Modified" and again[2] == b""
    assert client(if_none_match=headers["ETag"])[0] == "200 OK"  # another encoding
