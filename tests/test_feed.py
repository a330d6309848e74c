"""The calendar feed of a folder: window, cancellations, skipped records, size, caching;
the `feed` and `feed-url` commands; the WSGI app's answers (in process)."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import stat
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
from click.testing import CliRunner
from followup_ics import feed as feed_module
from followup_ics.feed import FeedBuilder, FeedOptions
from followup_ics.server import FeedApp, TokenFile, is_loopback, subscribe_urls
from interop import strict_problems

from followup.cli import cli
from followup.config import Settings, state_dir

SAMPLES = Path(__file__).parent.parent / "samples"
NOW = datetime.fromisoformat("2026-11-20T19:00:00-05:00")
ACME = "acme-backend-2026-11"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    records = tmp_path / "job-search"
    records.mkdir()
    for name in ("onsite-acme.yaml", "phone-screen-globex.yaml", "recruiter-initech.toml"):
        shutil.copy(SAMPLES / name, records / name)
    return records


def builder(folder: Path, **options: Any) -> FeedBuilder:
    return FeedBuilder(folder, Settings(), state_dir() / "state.db", FeedOptions(**options))


def events(data: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    return {str(event["UID"]).removesuffix("@followup"): event for event in calendar.walk("VEVENT")}


def of_record(data: bytes, record: str) -> dict[str, icalendar.Event]:
    return {key: event for key, event in events(data).items() if key.startswith(record + "/")}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_one_strict_calendar_with_name_refresh_colour_and_alarms(folder: Path) -> None:
    result = builder(folder).build(NOW)
    assert result.ok and result.records == 3 and not result.warnings
    assert strict_problems(result.data) == []
    calendar = icalendar.Calendar.from_ical(result.data)
    assert str(calendar["X-WR-CALNAME"]) == "Interview follow-ups"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in result.data.decode()
    assert str(calendar["X-PUBLISHED-TTL"]) == "PT1H"
    assert str(calendar["COLOR"]) == "teal"
    found = events(result.data)
    assert len(found) == result.items > 10
    assert {key.split("/")[0] for key in found} == {
        "acme-backend-2026-11",
        "globex-data-eng-2026-11",
        "initech-platform-2026-11",
    }
    thank_yous = [event for key, event in found.items() if "/thank-you/" in key]
    assert thank_yous and all(event.walk("VALARM") for event in thank_yous)
    assert all(event["SEQUENCE"] == 0 for event in found.values())


def test_unchanged_rebuild_is_byte_identical_across_processes(folder: Path) -> None:
    first = builder(folder).build(NOW)
    again = builder(folder).build(NOW)  # a new builder: nothing cached in memory
    assert again.data == first.data
    assert again.report is not None and again.report.summary().startswith("0 created, 0 updated")


def test_edit_raises_sequence_and_withdrawing_cancels(folder: Path) -> None:
    feed = builder(folder)
    before = of_record(feed.build(NOW).data, ACME)
    edit(folder / "onsite-acme.yaml", "topics: [Kafka migration]", "topics: [Kafka, Flink]")
    after = of_record(feed.build(NOW).data, ACME)
    raj = f"{ACME}/thank-you/raj-patel"
    assert after[raj]["SEQUENCE"] == before[raj]["SEQUENCE"] + 1
    assert "Flink" in str(after[raj]["DESCRIPTION"])
    jane = f"{ACME}/thank-you/jane-doe"
    assert after[jane]["SEQUENCE"] == before[jane]["SEQUENCE"]  # untouched by the edit

    edit(folder / "onsite-acme.yaml", "status: waiting", "status: withdrawn")
    withdrawn = of_record(feed.build(NOW).data, ACME)
    cancelled = [key for key, event in withdrawn.items() if event["STATUS"] == "CANCELLED"]
    assert raj in cancelled and withdrawn[raj]["SEQUENCE"] == after[raj]["SEQUENCE"] + 1
    assert not withdrawn[raj].walk("VALARM")


def test_a_deleted_record_file_cancels_its_items(folder: Path) -> None:
    feed = builder(folder)
    assert all(e["STATUS"] == "CONFIRMED" for e in of_record(feed.build(NOW).data, ACME).values())
    (folder / "onsite-acme.yaml").unlink()
    gone = of_record(builder(folder).build(NOW).data, ACME)  # a later, separate run
    assert gone and all(event["STATUS"] == "CANCELLED" for event in gone.values())


def test_a_bad_record_is_skipped_the_rest_is_built_and_nothing_is_cancelled(
    folder: Path,
) -> None:
    builder(folder).build(NOW)
    text = (folder / "onsite-acme.yaml").read_text()
    (folder / "onsite-acme.yaml").write_text(text.replace("  - at: 2026-11-20 14:00", "  - at: x"))
    result = builder(folder).build(NOW)
    assert not result.ok
    assert len(result.skipped) == 1 and "onsite-acme.yaml" in result.skipped[0]
    # It may be the broken file's own record, so Acme's items stay as they were.
    acme = of_record(result.data, ACME)
    assert acme and all(event["STATUS"] == "CONFIRMED" for event in acme.values())
    assert len({key.split("/")[0] for key in events(result.data)}) == 3


def test_the_feed_command_reports_the_skip_and_exits_2(folder: Path) -> None:
    (folder / "broken.yaml").write_text("id: [unclosed\n")
    output = folder.parent / "public" / "followup.ics"
    runner = CliRunner()
    args = ["--now", NOW.isoformat(), "feed", str(folder), "-o", str(output)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert "followup: skipped" in result.stderr and "broken.yaml" in result.stderr
    assert "items from 3 records" in result.stdout
    assert len({key.split("/")[0] for key in events(output.read_bytes())}) == 3


def test_the_feed_command_writes_stdout_or_a_file_once(folder: Path) -> None:
    runner = CliRunner()
    base = ["--now", NOW.isoformat(), "feed", str(folder)]
    printed = runner.invoke(cli, base)
    assert printed.exit_code == 0 and printed.stdout_bytes.endswith(b"END:VCALENDAR\r\n")
    output = folder.parent / "feed.ics"
    first = runner.invoke(cli, [*base, "-o", str(output)])
    assert first.exit_code == 0 and "(unchanged)" not in first.stdout
    assert output.read_bytes() == printed.stdout_bytes
    again = runner.invoke(cli, [*base, "-o", str(output)])
    assert again.exit_code == 0 and "(unchanged)" in again.stdout


def test_folder_comes_from_the_settings_and_bad_feed_settings_are_usage_errors(
    folder: Path, followup_home: Path
) -> None:
    runner = CliRunner()
    assert "give the folder" in runner.invoke(cli, ["feed"]).stderr
    config = followup_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'folder = "{folder}"\n[exporters.feed]\nname = "Jobs"\nwindow_days = 7\n')
    result = runner.invoke(cli, ["--now", NOW.isoformat(), "feed"])
    assert result.exit_code == 0 and b"X-WR-CALNAME:Jobs\r\n" in result.stdout_bytes
    config.write_text(f'folder = "{folder}"\n[exporters.feed]\nrefresh = "hourly"\n')
    bad = runner.invoke(cli, ["feed"])
    assert bad.exit_code == 2 and "ISO 8601 duration" in bad.stderr


def test_past_items_age_out_of_the_window(folder: Path) -> None:
    now = NOW
    everything = events(builder(folder, window_days=3650).build(now).data)
    later = now + timedelta(days=40)
    windowed = events(builder(folder, window_days=30).build(later).data)
    assert windowed and len(windowed) < len(everything)
    for event in windowed.values():
        end = event.decoded("DTEND")
        end = (
            end
            if isinstance(end, datetime)
            else datetime.combine(end, datetime.min.time(), NOW.tzinfo)
        )
        assert end >= later - timedelta(days=30)


def test_cancelled_items_stay_for_a_while_then_drop(folder: Path) -> None:
    builder(folder, window_days=3650).build(NOW)
    edit(folder / "onsite-acme.yaml", "status: waiting", "status: withdrawn")
    builder(folder, window_days=3650).build(NOW)  # the cancellation happens now

    def cancelled_after(days: int) -> list[str]:
        data = (
            builder(folder, window_days=3650, keep_cancelled_days=14)
            .build(NOW + timedelta(days=days))
            .data
        )
        return [k for k, e in of_record(data, ACME).items() if e["STATUS"] == "CANCELLED"]

    assert cancelled_after(13)
    assert cancelled_after(15) == []


def test_a_feed_over_the_limit_warns(folder: Path) -> None:
    result = builder(folder, warn_bytes=10_000).build(NOW)
    assert len(result.data) > 10_000
    assert result.warnings and "Google Calendar" in result.warnings[0]


def test_a_rebuild_replans_only_the_changed_record_and_matches_a_fresh_build(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned: list[str] = []
    real = feed_module.plan_record

    def counting(record: Any, *args: Any) -> Any:
        planned.append(record.id)
        return real(record, *args)

    monkeypatch.setattr(feed_module, "plan_record", counting)
    feed = builder(folder)
    feed.build(NOW)
    assert len(planned) == 3
    planned.clear()
    assert feed.build(NOW).report is None  # nothing changed: no sync at all
    edit(folder / "onsite-acme.yaml", "topics: [Kafka migration]", "topics: [Kafka, Flink]")
    rebuilt = feed.build(NOW)
    assert planned == [ACME]
    assert rebuilt.report is not None and rebuilt.report.updated >= 1
    assert rebuilt.data == builder(folder).build(NOW).data


def test_feed_url_prints_https_and_webcal_and_rotates(followup_home: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["feed-url", "--base-url", "https://feeds.example.org/"])
    assert first.exit_code == 0
    https, webcal = first.stdout.split()
    token = https.removeprefix("https://feeds.example.org/feed/").removesuffix(".ics")
    assert len(token) >= 32 and webcal == f"webcal://feeds.example.org/feed/{token}.ics"
    token_file = followup_home / "state" / "feed-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert runner.invoke(cli, ["feed-url"]).stdout.split()[0].endswith(f"/{token}.ics")
    rotated = runner.invoke(cli, ["feed-url", "--rotate"])
    assert rotated.exit_code == 0 and token not in rotated.stdout
    assert "old one no longer works" in rotated.stdout


# --- the WSGI app, called in process ---------------------------------------------------

Call = Callable[..., tuple[str, dict[str, str], bytes]]


@pytest.fixture
def call(folder: Path, tmp_path: Path) -> tuple[Call, str]:
    token = TokenFile(tmp_path / "token").get()
    app = FeedApp(builder(folder), lambda: token, lambda: NOW, warn=lambda message: None)

    def request(path: str, method: str = "GET", **headers: str) -> tuple[str, dict, bytes]:
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path}
        environ.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
        answer: dict[str, Any] = {}

        def start_response(status: str, header_list: list[tuple[str, str]]) -> None:
            answer.update(status=status, headers=dict(header_list))

        body = b"".join(app(environ, start_response))
        return answer["status"], answer["headers"], body

    return request, token


def test_app_serves_the_feed_with_cache_headers_and_304s(call: tuple[Call, str]) -> None:
    request, token = call
    status, headers, body = request(f"/feed/{token}.ics")
    assert status == "200 OK" and body.endswith(b"END:VCALENDAR\r\n")
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert headers["Content-Length"] == str(len(body))
    assert headers["ETag"].startswith('"') and not headers["ETag"].startswith("W/")
    assert headers["Cache-Control"] == "private, max-age=300"
    assert request(f"/feed/{token}.ics", if_none_match=headers["ETag"])[0] == "304 Not Modified"
    assert request(f"/feed/{token}.ics", if_none_match='"other"')[0] == "200 OK"
    since = headers["Last-Modified"]
    assert request(f"/feed/{token}.ics", if_modified_since=since)[0] == "304 Not Modified"
    head = request(f"/feed/{token}.ics", "HEAD")
    assert head[0] == "200 OK" and head[2] == b"" and head[1]["ETag"] == headers["ETag"]
    assert request(f"/feed/{token}.ics", "POST")[0].startswith("405")
    agenda = request(f"/feed/{token}")
    assert agenda[0] == "200 OK" and agenda[1]["Content-Type"] == "text/html; charset=utf-8"
    assert b"Acme Corp" in agenda[2]
    # Inline style and script run only by hash: nothing injected into the page could.
    policy = agenda[1]["Content-Security-Policy"]
    assert policy.startswith("default-src 'none';") and "unsafe" not in policy
    inline = re.findall(rb"<(script|style)>(.*?)</\1>", agenda[2], re.DOTALL)
    assert sorted(kind for kind, _ in inline) == [b"script", b"style"]
    for _, source in inline:
        digest = base64.b64encode(hashlib.sha256(source).digest()).decode()
        assert f"'sha256-{digest}'" in policy


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/feed/",
        "/feed/.ics",
        "/../",
        "/feed/{token}.ics/",
        "/feed/{token}x.ics",
        "/feed/{token}.ics.bak",
        "/FEED/{token}.ics",
        "/feed/wrong.ics",
        "/feed/{upper}.ics",
    ],
)
def test_app_answers_404_without_a_hint(call: tuple[Call, str], path: str) -> None:
    request, token = call
    status, headers, body = request(path.format(token=token, upper=token.upper()))
    assert status == "404 Not Found" and body == b"Not Found\n"
    assert token not in str(headers) and headers["Content-Type"].startswith("text/plain")


def test_subscribe_urls_need_an_http_base() -> None:
    assert subscribe_urls("http://127.0.0.1:5545", "t") == (
        "http://127.0.0.1:5545/feed/t.ics",
        "webcal://127.0.0.1:5545/feed/t.ics",
    )
    with pytest.raises(Exception, match="expected http"):
        subscribe_urls("feeds.example.org", "t")


def test_only_loopback_hosts_count_as_private() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "localhost", "::1", "[::1]", "127.8.0.1"]))
    assert not any(map(is_loopback, ["0.0.0.0", "192.168.1.5", "::", "example.org"]))
