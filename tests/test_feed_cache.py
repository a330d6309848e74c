"""The feed's caches. A new process with nothing changed (`followup feed`) reuses the result
kept on disk, and `serve` answers from memory on a stat alone; every change that alters
the feed — a record's content (even behind an unchanged mtime and size), the settings, a
user template, the options, the planning day, a file added or deleted, the state rows,
time passing an item's end — is seen, and equals what a build from scratch makes."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
from click.testing import CliRunner
from followup_ics import feed as feed_module
from followup_ics import server as server_module
from followup_ics.feed import FeedBuilder, FeedExporter, FeedOptions, FeedResult
from followup_ics.server import FeedApp

from followup.cli import cli
from followup.config import Settings, cache_dir, state_dir
from followup.state import StateStore

NOW = datetime.fromisoformat("2026-11-20T19:00:00-05:00")
LATER = NOW + timedelta(minutes=10)  # the same planning day
ACME = "acme-backend-2026-11"
GLOBEX = "phone-screen-globex.yaml"


def kept(folder: Path, settings: Settings | None = None, **options: Any) -> FeedBuilder:
    """A builder as `followup feed` makes it: a new one per process, keeping its result."""
    return FeedBuilder(
        folder,
        settings or Settings(),
        state_dir() / "state.db",
        FeedOptions(**options),
        cache_dir() / "feed",
    )


def scratch(folder: Path, settings: Settings | None = None, **options: Any) -> FeedBuilder:
    """A builder with nothing kept: what the feed must equal."""
    return FeedBuilder(
        folder, settings or Settings(), state_dir() / "state.db", FeedOptions(**options)
    )


def events(data: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    return {str(event["UID"]).removesuffix("@followup"): event for event in calendar.walk("VEVENT")}


def descriptions(data: bytes) -> str:
    return "\n".join(str(event.get("DESCRIPTION", "")) for event in events(data).values())


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The id of every record the feed plans, in order."""
    calls: list[str] = []
    real = feed_module.plan_record

    def counting(record: Any, *args: Any) -> Any:
        calls.append(record.id)
        return real(record, *args)

    monkeypatch.setattr(feed_module, "plan_record", counting)
    return calls


def rewrite_keeping_stat(path: Path, old: str, new: str) -> None:
    """Change a file's bytes in place, same size, then put its mtime back."""
    assert len(old.encode()) == len(new.encode())
    before = path.stat()
    text = path.read_text()
    assert old in text
    with path.open("r+b") as stream:  # the same inode
        stream.write(text.replace(old, new).encode())
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )


# --- a new process: the result kept on disk ------------------------------------------


def test_a_new_process_with_nothing_changed_reuses_the_kept_feed(
    folder: Path, planned: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = kept(folder).build(NOW)
    assert planned and first.report is not None
    planned.clear()

    def no_sync(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("nothing changed: nothing to sync")

    monkeypatch.setattr(feed_module, "sync", no_sync)
    again = kept(folder).build(LATER)
    assert planned == []
    assert again.data == first.data
    assert (again.items, again.records, again.skipped, again.warnings) == (
        first.items,
        first.records,
        first.skipped,
        first.warnings,
    )
    assert again.newest_change == first.newest_change


def test_followup_feed_run_twice_plans_once_and_leaves_the_file(
    folder: Path, planned: list[str], tmp_path: Path
) -> None:
    output = tmp_path / "public" / "followup.ics"
    args = ["--now", NOW.isoformat(), "feed", str(folder), "-o", str(output)]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    written = output.read_bytes()
    planned.clear()
    second = CliRunner().invoke(cli, args)
    assert second.exit_code == 0, second.output
    assert planned == [] and "(unchanged)" in second.output
    assert output.read_bytes() == written


def test_an_edited_record_is_seen(folder: Path) -> None:
    kept(folder).build(NOW)
    text = (folder / "onsite-acme.yaml").read_text()
    (folder / "onsite-acme.yaml").write_text(text.replace("[Kafka migration]", "[Kafka, Flink]"))
    again = kept(folder).build(LATER)
    assert "Flink" in descriptions(again.data)
    assert again.data == scratch(folder).build(LATER).data


def test_a_new_process_after_one_edit_plans_only_that_record(
    folder: Path, planned: list[str]
) -> None:
    kept(folder).build(NOW)
    planned.clear()
    text = (folder / "onsite-acme.yaml").read_text()
    (folder / "onsite-acme.yaml").write_text(text.replace("[Kafka migration]", "[Kafka, Flink]"))
    again = kept(folder).build(LATER)
    assert planned == [ACME]
    assert again.report is not None and again.report.updated > 0
    assert again.data == scratch(folder).build(LATER).data


def test_a_record_rewritten_behind_its_old_mtime_and_size_is_seen(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed_module, "SETTLE_NS", 0)  # signatures trusted at once
    serving = scratch(folder)
    first = serving.build(NOW)
    kept(folder).build(NOW)
    rewrite_keeping_stat(folder / "onsite-acme.yaml", "Kafka migration", "Flink migration")
    assert "Flink" not in descriptions(first.data)
    again = kept(folder).build(LATER)  # a new process: by content
    assert "Flink migration" in descriptions(again.data)
    assert again.data == scratch(folder).build(LATER).data
    assert serving.build(LATER).data == again.data  # in memory: the ctime moved


def test_changed_settings_are_seen(folder: Path) -> None:
    first = kept(folder, Settings(signature="Best,\nAnn Example")).build(NOW)
    again = kept(folder, Settings(signature="Cheers,\nBo Sample")).build(LATER)
    assert "Ann Example" in descriptions(first.data)
    assert "Bo Sample" in descriptions(again.data) and "Ann Example" not in descriptions(again.data)


def test_an_edited_user_template_is_seen(folder: Path, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    original = Path(__file__).parent.parent / "src" / "followup" / "templates" / "thank-you.txt"
    (templates / "thank-you.txt").write_text(original.read_text() + "\nP.S. first version\n")
    settings = Settings(templates_dir=templates)
    first = kept(folder, settings).build(NOW)
    (templates / "thank-you.txt").write_text(original.read_text() + "\nP.S. second version\n")
    again = kept(folder, settings).build(LATER)
    assert "first version" in descriptions(first.data)
    assert "second version" in descriptions(again.data)


def test_changed_options_are_seen(folder: Path) -> None:
    narrow = kept(folder, window_days=0).build(NOW)
    wide = kept(folder, window_days=3650).build(LATER)
    assert wide.items > narrow.items
    assert wide.data == scratch(folder, window_days=3650).build(LATER).data


def test_a_new_planning_day_plans_again(folder: Path, planned: list[str]) -> None:
    # Without `recorded_at`, a record's plan counts from now: the day matters.
    path = folder / "onsite-acme.yaml"
    path.write_text(
        "\n".join(line for line in path.read_text().splitlines() if "recorded_at" not in line)
    )
    first = kept(folder).build(NOW)
    planned.clear()
    next_day = NOW + timedelta(days=1)
    again = kept(folder).build(next_day)
    assert ACME in planned
    assert again.data != first.data
    assert again.data == scratch(folder).build(next_day).data


def test_a_deleted_file_is_cancelled_and_an_added_file_shows(folder: Path) -> None:
    first = kept(folder).build(NOW)
    (folder / GLOBEX).unlink()
    gone = kept(folder).build(LATER)
    globex = [key for key in events(first.data) if key.startswith("globex")]
    assert globex and all(events(gone.data)[key]["STATUS"] == "CANCELLED" for key in globex)

    text = (folder / "onsite-acme.yaml").read_text()
    (folder / "copy.yaml").write_text(text.replace(f"id: {ACME}", "id: acme-copy"))
    added = kept(folder).build(LATER)
    assert any(key.startswith("acme-copy/") for key in events(added.data))
    assert added.records == gone.records + 1


def test_lost_state_is_rebuilt_not_answered_from_the_kept_feed(folder: Path) -> None:
    kept(folder).build(NOW)
    for path in state_dir().glob("state.db*"):
        path.unlink()
    again = kept(folder).build(LATER)
    assert again.report is not None and again.report.created > 0
    store = StateStore(state_dir() / "state.db")
    try:
        assert store.rows("ics", f"feed:{folder.resolve()}")
    finally:
        store.close()


def test_a_damaged_kept_feed_is_built_again(folder: Path) -> None:
    first = kept(folder).build(NOW)
    (kept_file,) = (cache_dir() / "feed").iterdir()
    for damage in (b"", b"not json\n", kept_file.read_bytes()[:-100]):
        kept_file.write_bytes(damage)
        assert kept(folder).build(LATER).data == first.data


def test_new_code_builds_again(
    folder: Path, planned: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    kept(folder).build(NOW)
    planned.clear()
    real = feed_module._code_signature
    monkeypatch.setattr(feed_module, "_code_signature", lambda: [*real(), ("upgraded", 1, 1)])
    kept(folder).build(LATER)
    assert planned


def test_the_kept_feed_is_not_used_once_an_item_ages_out(folder: Path) -> None:
    first = kept(folder, window_days=0).build(NOW)
    assert first.fresh_until is not None
    moment = first.fresh_until
    assert moment.astimezone(NOW.tzinfo).date() == NOW.date()  # the day alone would not tell
    at_end = kept(folder, window_days=0).build(moment - timedelta(microseconds=1))
    after = kept(folder, window_days=0).build(moment)
    assert after.items < at_end.items
    assert after.data == scratch(folder, window_days=0).build(moment).data


# --- a full build ------------------------------------------------------------------


def test_a_full_build_records_each_batch_in_one_transaction_with_nothing_in_flight(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    transactions: list[int] = []
    syncing: list[bool] = []
    real_transaction, real_sync = StateStore.transaction, feed_module.sync

    def counting(self: StateStore) -> Any:
        if syncing:
            transactions.append(1)
        return real_transaction(self)

    def counting_sync(*args: Any, **kwargs: Any) -> Any:
        syncing.append(True)
        try:
            return real_sync(*args, **kwargs)
        finally:
            syncing.pop()

    def in_flight(*args: Any) -> None:
        raise AssertionError("a feed item stands once its row is written: none is in flight")

    monkeypatch.setattr(StateStore, "transaction", counting)
    monkeypatch.setattr(feed_module, "sync", counting_sync)
    monkeypatch.setattr(StateStore, "mark_in_flight", in_flight)
    scratch(folder, window_days=3650).build(NOW)
    rows = len(scratch(folder).items())
    assert rows > 20 and len(transactions) <= -(-rows // FeedExporter.batch_size)


# --- serve: in memory ----------------------------------------------------------------

Request = Callable[..., tuple[str, dict[str, str], bytes]]


def app_of(builder: FeedBuilder, clock: list[datetime]) -> Request:
    app = FeedApp(builder, lambda: "token", lambda: clock[0], warn=lambda message: None)

    def request(**headers: str) -> tuple[str, dict[str, str], bytes]:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/feed/token.ics"}
        environ.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
        answer: dict[str, Any] = {}

        def start_response(status: str, header_list: list[tuple[str, str]]) -> None:
            answer.update(status=status, headers=dict(header_list))

        body = b"".join(app(environ, start_response))
        return answer["status"], answer["headers"], body

    return request


def test_serve_answers_an_unchanged_feed_from_a_stat_alone(
    folder: Path, planned: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed_module, "SETTLE_NS", 0)  # the copies are trusted at once
    reads: list[Path] = []
    real_digest = feed_module._file_digest

    def counting_digest(path: Path) -> str | None:
        reads.append(path)
        return real_digest(path)

    monkeypatch.setattr(feed_module, "_file_digest", counting_digest)
    renders: list[int] = []
    real_render = feed_module.render_calendar

    def counting_render(*args: Any, **kwargs: Any) -> bytes:
        renders.append(1)
        return real_render(*args, **kwargs)

    monkeypatch.setattr(feed_module, "render_calendar", counting_render)
    request = app_of(scratch(folder), [NOW])
    status, headers, body = request()
    assert status == "200 OK"
    reads.clear()
    planned.clear()
    renders.clear()
    for _ in range(20):
        again = request()
        assert again[2] == body and again[1]["ETag"] == headers["ETag"]
    assert reads == [] and planned == []

    path = folder / "onsite-acme.yaml"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))  # touched
    assert request(if_none_match=headers["ETag"])[0] == "304 Not Modified"
    assert reads == [path] and planned == [] and renders == []  # read, not even rendered

    path.write_text(path.read_text().replace("[Kafka migration]", "[Kafka, Flink]"))
    edited = request()
    assert edited[1]["ETag"] != headers["ETag"] and planned == [ACME]


def test_a_file_read_just_after_a_change_is_read_once_more_when_it_settles(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A write within the same timestamp tick as the last look leaves the stat unchanged:
    # a file read that soon after its last change is read once more, later, then trusted.
    reads: list[Path] = []
    real_digest = feed_module._file_digest

    def counting_digest(path: Path) -> str | None:
        reads.append(path)
        return real_digest(path)

    monkeypatch.setattr(feed_module, "_file_digest", counting_digest)
    builder = scratch(folder)
    files = builder.signature()
    first = builder.build(NOW, files)  # the copies were made just now
    assert builder.recheck_at is not None
    rewrite_keeping_stat(folder / "onsite-acme.yaml", "Kafka migration", "Flink migration")
    reads.clear()
    builder.build(NOW, files)  # as if the filesystem had not moved its times
    assert reads == []  # not on every request: only once it has settled
    settled = builder.recheck_at + feed_module.SETTLE_NS
    monkeypatch.setattr(feed_module, "wall_ns", lambda: settled)
    again = builder.build(NOW, files)
    assert "Flink migration" in descriptions(again.data) and again.data != first.data
    assert builder.recheck_at is None  # read after it settled: its signature is trusted
    reads.clear()
    builder.build(NOW, files)
    assert reads == []


def test_serve_reads_a_file_changed_just_before_it_looked_once_it_settles(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builder = scratch(folder)
    stale = builder.signature()
    monkeypatch.setattr(builder, "signature", lambda: stale)  # times that never move
    request = app_of(builder, [NOW])
    first = request()[1]["ETag"]
    rewrite_keeping_stat(folder / "onsite-acme.yaml", "Kafka migration", "Flink migration")
    assert request()[1]["ETag"] == first  # answered from memory meanwhile
    assert builder.recheck_at is not None
    settled = builder.recheck_at + feed_module.SETTLE_NS  # every copy has settled by then
    monkeypatch.setattr(feed_module, "wall_ns", lambda: settled)
    monkeypatch.setattr(server_module, "wall_ns", lambda: settled)
    status, headers, body = request()
    assert status == "200 OK" and headers["ETag"] != first
    assert "Flink migration" in descriptions(body)


def test_serve_drops_an_item_the_moment_it_ages_out(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed_module, "SETTLE_NS", 0)  # nothing changes but the time
    moment = scratch(folder, window_days=0).build(NOW).fresh_until
    assert moment is not None
    clock = [moment - timedelta(minutes=1)]
    assert clock[0].date() == moment.date()
    request = app_of(scratch(folder, window_days=0), clock)
    before = request()
    clock[0] = moment
    after = request()
    assert after[1]["ETag"] != before[1]["ETag"]
    assert len(events(after[2])) < len(events(before[2]))


def test_a_file_gone_while_another_fails_to_load_is_not_counted(folder: Path) -> None:
    (folder / "broken.yaml").write_text("id: [unclosed\n")
    builder = scratch(folder)
    first = builder.build(NOW)
    assert len(first.skipped) == 1
    (folder / GLOBEX).unlink()
    # Nothing to sync (a file failed to load: the gone record may be that one), yet the
    # count of records changed: not the last result.
    again = builder.build(NOW)
    assert again.records == first.records - 1 and again.skipped == first.skipped


def test_a_result_is_fresh_only_later_the_same_day_until_an_item_ages_out() -> None:
    result = FeedResult(b"", 0, 0, None, built_at=NOW, fresh_until=NOW + timedelta(hours=2))
    assert result.fresh(NOW) and result.fresh(NOW + timedelta(hours=1))
    assert not result.fresh(NOW - timedelta(seconds=1))
    assert not result.fresh(NOW + timedelta(hours=2))
    midnight = NOW.replace(hour=0, minute=0) + timedelta(days=1)
    assert not FeedResult(b"", 0, 0, None, built_at=NOW).fresh(midnight)
    assert FeedResult(b"", 0, 0, None, built_at=NOW).fresh(midnight - timedelta(seconds=1))


def test_the_kept_feed_is_private(folder: Path) -> None:
    kept(folder).build(NOW)
    (kept_file,) = (cache_dir() / "feed").iterdir()
    assert kept_file.stat().st_mode & 0o777 == 0o600
    assert (cache_dir() / "feed").stat().st_mode & 0o777 == 0o700


def test_a_copied_folder_keeps_its_own_feed(folder: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(folder, other)
    (other / GLOBEX).unlink()
    mine = kept(folder).build(NOW)
    theirs = kept(other).build(NOW)
    assert theirs.records == mine.records - 1
    assert kept(folder).build(LATER).data == mine.data
