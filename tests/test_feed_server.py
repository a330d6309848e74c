"""`followup serve` as a real process on a free port, asked by a real HTTP client: headers,
304s, 404s, edits and withdrawals showing up, interop of the served feed, and a burst of
concurrent requests while a record is being rewritten."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from interop import khal_agenda, read_icalendar, read_icaljs, read_vobject, strict_problems

SAMPLES = Path(__file__).parent.parent / "samples"
NOW = "2026-11-20T19:00:00-05:00"
ACME = "acme-backend-2026-11"
pytestmark = pytest.mark.slow


@dataclass
class Server:
    host: str
    port: int
    path: str  # /feed/<token>.ics
    process: subprocess.Popen[str]

    def get(
        self, path: str | None = None, method: str = "GET", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lower-case names) and body of one request on a new connection."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path or self.path, headers=headers or {})
            response = connection.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            connection.close()


@pytest.fixture
def server(folder: Path, followup_home: Path) -> Iterator[Server]:
    command = [sys.executable, "-m", "followup", "--now", NOW, "serve", str(folder), "--port", "0"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "FOLLOWUP_HOME": str(followup_home)},
    )
    try:
        assert process.stdout is not None
        url = None
        for line in process.stdout:  # the process prints where to subscribe once it listens
            match = re.search(r"subscribe: http://([\d.]+):(\d+)(/feed/[\w-]+\.ics)", line)
            if match:
                url = match
                break
        assert url is not None, (
            f"serve did not start: {process.stderr.read() if process.stderr else ''}"
        )
        yield Server(url[1], int(url[2]), url[3], process)
    finally:
        process.terminate()
        process.wait(timeout=30)


def uids(body: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    return {str(event["UID"]).removesuffix("@followup"): event for event in calendar.walk("VEVENT")}


def test_serve_answers_edits_and_withdrawals_over_http(server: Server, folder: Path) -> None:
    status, headers, body = server.get()
    assert status == 200
    assert headers["content-type"] == "text/calendar; charset=utf-8"
    assert re.fullmatch(r'"[0-9a-f]{40}"', headers["etag"])  # strong
    assert headers["last-modified"].endswith(" GMT") and "max-age" in headers["cache-control"]
    assert int(headers["content-length"]) == len(body) and body.endswith(b"END:VCALENDAR\r\n")
    etag = headers["etag"]

    assert server.get(headers={"If-None-Match": etag})[0] == 304
    assert server.get(headers={"If-Modified-Since": headers["last-modified"]})[0] == 304
    head = server.get(method="HEAD")
    assert head[0] == 200 and head[2] == b"" and head[1]["etag"] == etag
    token = server.path.removeprefix("/feed/").removesuffix(".ics")
    for path in (
        "/",
        "/../",
        "/feed/",
        "/feed/wrong.ics",
        f"/feed/{token[:-1]}.ics",
        "/etc/passwd",
    ):
        status, _, answer = server.get(path)
        assert status == 404 and answer == b"Not Found\n", path

    record = folder / "onsite-acme.yaml"
    before = uids(body)[f"{ACME}/thank-you/raj-patel"]
    record.write_text(record.read_text().replace("[Kafka migration]", "[Kafka, Flink on k8s]"))
    status, headers, edited = server.get(headers={"If-None-Match": etag})
    assert status == 200 and headers["etag"] != etag
    after = uids(edited)[f"{ACME}/thank-you/raj-patel"]
    assert "Flink on k8s" in str(after["DESCRIPTION"])
    assert after["SEQUENCE"] > before["SEQUENCE"]

    record.write_text(record.read_text().replace("status: waiting", "status: withdrawn"))
    status, _, withdrawn = server.get()
    acme = {key: event for key, event in uids(withdrawn).items() if key.startswith(ACME + "/")}
    assert status == 200
    assert str(acme[f"{ACME}/thank-you/raj-patel"]["STATUS"]) == "CANCELLED"
    assert str(acme[f"{ACME}/check-in"]["STATUS"]) == "CANCELLED"
    assert any(str(event["STATUS"]) == "CONFIRMED" for event in acme.values())  # the note

    log = server.process
    log.terminate()
    _, errors = log.communicate(timeout=30)
    assert token not in errors


def test_the_served_feed_parses_everywhere_and_imports_into_khal(
    server: Server, tmp_path: Path
) -> None:
    status, _, body = server.get()
    assert status == 200 and strict_problems(body) == []
    path = tmp_path / "feed.ics"
    path.write_bytes(body)
    expected = {item.uid: item for item in read_icalendar(body)}
    assert len(expected) > 40
    assert {item.uid: item for item in read_vobject(body)} == expected
    assert {item.uid: item for item in read_icaljs(path)} == expected
    agenda = khal_agenda(path, tmp_path, "America/New_York", date(2026, 11, 1), date(2027, 3, 1))
    zone = ZoneInfo("America/New_York")
    for uid, item in expected.items():
        if item.status == "CANCELLED":
            continue
        if isinstance(item.start, datetime):
            local = item.start.astimezone(zone)
            assert agenda.get(uid) == (local.date().isoformat(), local.strftime("%H:%M")), uid
        else:
            assert agenda.get(uid) == (str(item.start), ""), uid


def test_a_burst_while_a_record_is_rewritten_gets_only_whole_calendars(
    server: Server, folder: Path
) -> None:
    record = folder / "onsite-acme.yaml"
    original = record.read_text()
    _, headers, _ = server.get()
    first_etag = headers["etag"]
    stop = threading.Event()

    def rewrite() -> None:
        number = 0
        while not stop.is_set():
            number += 1
            record.write_text(original.replace("[Kafka migration]", f"[Kafka round {number}]"))

    def fetch(index: int) -> tuple[int, bytes]:
        conditional = {"If-None-Match": first_etag} if index % 4 == 0 else {}
        status, _, body = server.get(headers=conditional)
        return status, body

    writer = threading.Thread(target=rewrite)
    writer.start()
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(fetch, range(200)))
    finally:
        stop.set()
        writer.join()
    assert len(answers) == 200
    changed = 0
    for status, body in answers:
        assert status in (200, 304)
        if status == 304:
            assert body == b""
            continue
        assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VCALENDAR\r\n")
        calendar = icalendar.Calendar.from_ical(body)
        assert len(calendar.walk("VEVENT")) > 40
        changed += b"Kafka round" in body
    assert changed, "no response saw a rewrite: the burst did not overlap the edits"
