"""The caldav exporter against a real Radicale on 127.0.0.1: what lands on the server, how
it is written (preconditions, request counts), what is read back, and the clear failures."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import msgspec
import pytest
from backends.caldav import CalDavBackend, backend
from radicale_server import PASSWORD, USER, serving

from followup.config import Settings
from followup.errors import AuthError, ExportFailed
from followup.exporter import SyncedTask
from followup.planner import plan_record
from followup.record import InterviewRecord, load_record
from followup.state import StateStore
from followup.sync import Report, sync
from followup.tasks import Task

SAMPLES = Path(__file__).parent.parent / "samples"
NOW = datetime(2026, 11, 20, 19, 0, tzinfo=ZoneInfo("America/New_York"))
SETTINGS = Settings(country="US")

pytestmark = pytest.mark.slow


@pytest.fixture
def caldav(tmp_path: Path) -> Iterator[CalDavBackend]:
    with backend(tmp_path) as made:
        yield made


@pytest.fixture
def todos(tmp_path: Path) -> Iterator[CalDavBackend]:
    with backend(tmp_path, **{"as": "todo", "calendar": "Reminders"}) as made:
        yield made


def onsite() -> InterviewRecord:
    return load_record(SAMPLES / "onsite-acme.yaml")


def planned(record: InterviewRecord) -> list[Task]:
    return plan_record(record, SETTINGS, NOW)


def export(caldav: CalDavBackend, store: StateStore, tasks: list[Task]) -> Report:
    exporter = caldav.make_exporter()
    try:
        return sync(tasks, {task.record for task in tasks}, exporter, store)
    finally:
        exporter.close()


def by_uid(caldav: CalDavBackend) -> dict[str, Any]:
    return {str(c["UID"]): c for c in caldav.objects()}


def raw_objects(caldav: CalDavBackend) -> dict[str, tuple[str, str | None, str]]:
    """Every object of the followup calendar: name -> (url, etag, data)."""
    import caldav as library

    with library.DAVClient(url=caldav.server.url, username=USER, password=PASSWORD) as client:
        [calendar] = client.principal().calendars()
        answer = client.report(str(calendar.url), _QUERY, depth=1)
        return {
            r.href.rsplit("/", 1)[-1]: (str(calendar.url.join(r.href)), r.etag, r.calendar_data)
            for r in answer.parse_calendar_query()
        }


_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"/></C:filter>
</C:calendar-query>"""


def put_on_server(url: str, data: str, etag: str | None) -> None:
    """What a phone does: replace the object, on the version it read."""
    import caldav as library

    with library.DAVClient(url=url, username=USER, password=PASSWORD) as client:
        headers = {"Content-Type": "text/calendar; charset=utf-8", "If-Match": etag or "*"}
        answer = client.request(url, "PUT", data, headers)
        assert answer.status in (200, 201, 204), answer.status


def test_events_land_strict_with_uid_from_the_key_and_conditional_creates(
    caldav: CalDavBackend, store: StateStore
) -> None:
    tasks = planned(onsite())
    report = export(caldav, store, tasks)
    assert report.ok and report.created == len(tasks)
    objects = raw_objects(caldav)
    assert len(objects) == len(tasks)
    for name, (_, _, data) in objects.items():
        assert name.endswith(".ics") and "/" not in name
        parsed = icalendar.Calendar.from_ical(data)
        [event] = [c for c in parsed.walk() if c.name == "VEVENT"]
        assert not [c for c in parsed.walk() if c.name == "VTODO"]
        assert int(event["SEQUENCE"]) == 0
        assert str(event["X-FOLLOWUP-HASH"])
    events = by_uid(caldav)
    for task in tasks:
        event = events[f"{task.key}@followup"]
        assert str(event["SUMMARY"]) == task.title
        if task.reminder_minutes is not None:
            assert [a for a in event.subcomponents if a.name == "VALARM"]
    puts = [r for r in caldav.server.requests if r.method == "PUT"]
    assert len(puts) == len(tasks), "one write per task"
    assert all(r.if_none_match == "*" and r.if_match is None for r in puts)
    assert caldav.server.count("MKCALENDAR") == 1


def first_run(caldav: CalDavBackend, store: StateStore, url: str) -> list[Any]:
    """The requests a first export to `url` sends, with the planned tasks' count."""
    caldav.options["url"] = url
    tasks = planned(onsite())
    report = export(caldav, store, tasks)
    assert report.ok and report.created == len(tasks)
    assert caldav.server.count("PUT") == len(tasks)
    return [r for r in caldav.server.requests if r.method != "PUT"]


def test_a_first_run_at_the_principal_url_finds_everything_in_one_propfind(
    caldav: CalDavBackend, store: StateStore
) -> None:
    import caldav as library

    sent = first_run(caldav, store, f"{caldav.server.url}{USER}/")
    # one PROPFIND (Depth 1: the home and its calendars), the calendar made with its name and
    # component set in the MKCALENDAR body (no PROPPATCH), and no 401 challenge: Basic sent
    assert [(r.method, r.status, r.authorized) for r in sent] == [
        ("PROPFIND", 207, True),
        ("MKCALENDAR", 201, True),
    ]
    with library.DAVClient(url=caldav.server.url, username=USER, password=PASSWORD) as client:
        [calendar] = client.principal().calendars()
        assert calendar.get_display_name() == "Job search"
        assert calendar.get_supported_components() == ["VEVENT"]


def test_a_calendar_name_with_markup_characters_is_made_as_written(
    caldav: CalDavBackend, store: StateStore
) -> None:
    import caldav as library

    caldav.options["calendar"] = "Jobs & <offers>"
    first_run(caldav, store, caldav.server.url)
    with library.DAVClient(url=caldav.server.url, username=USER, password=PASSWORD) as client:
        [calendar] = client.principal().calendars()
        assert calendar.get_display_name() == "Jobs & <offers>"


def test_a_first_run_at_the_server_root_takes_one_more_propfind_for_the_principal(
    caldav: CalDavBackend, store: StateStore
) -> None:
    sent = first_run(caldav, store, caldav.server.url)
    # the root only knows who the user is (RFC 5397); the principal, read with Depth 1, is
    # also Radicale's calendar home
    assert [(r.method, r.path, r.status) for r in sent] == [
        ("PROPFIND", "/", 207),
        ("PROPFIND", f"/{USER}/", 207),
        ("MKCALENDAR", sent[-1].path, 201),
    ]
    assert all(r.authorized for r in sent)


def test_another_calendar_on_the_same_account_lists_the_remembered_home_only(
    caldav: CalDavBackend, store: StateStore
) -> None:
    first_run(caldav, store, caldav.server.url)
    caldav.options.update({"as": "todo", "calendar": "Tasks"})
    before = len(caldav.server.requests)
    tasks = planned(onsite())
    assert export(caldav, store, tasks).created == len(tasks)
    sent = [r for r in caldav.server.requests[before:] if r.method != "PUT"]
    assert [(r.method, r.path) for r in sent] == [
        ("PROPFIND", f"/{USER}/"),
        ("MKCALENDAR", sent[-1].path),
    ]


def test_a_remembered_home_that_is_gone_is_found_again(
    caldav: CalDavBackend, store: StateStore
) -> None:
    import json

    first_run(caldav, store, caldav.server.url)
    state = caldav.state_dir / "caldav.json"
    remembered = json.loads(state.read_text(encoding="utf-8"))
    [account] = remembered["accounts"].values()
    account["home"] = f"{caldav.server.url}{USER}/moved/"  # as if the server had moved it
    state.write_text(json.dumps(remembered), encoding="utf-8")
    caldav.options.update({"as": "todo", "calendar": "Tasks"})
    before = len(caldav.server.requests)
    tasks = planned(onsite())
    assert export(caldav, store, tasks).created == len(tasks)
    sent = [(r.method, r.path, r.status) for r in caldav.server.requests[before:]]
    assert sent[:3] == [
        ("PROPFIND", f"/{USER}/moved/", 404),
        ("PROPFIND", "/", 207),
        ("PROPFIND", f"/{USER}/", 207),
    ]


def test_a_first_run_finds_an_existing_calendar_by_name_without_writing_to_it(
    todos: CalDavBackend, store: StateStore
) -> None:
    import caldav as library

    with library.DAVClient(url=todos.server.url, username=USER, password=PASSWORD) as client:
        client.principal().make_calendar(
            name="Personal", supported_calendar_component_set=["VEVENT"]
        )
        made = client.principal().make_calendar(
            name="Reminders", supported_calendar_component_set=["VTODO"]
        )
    todos.server.requests.clear()
    sent = first_run(todos, store, f"{todos.server.url}{USER}/")
    assert [(r.method, r.path) for r in sent] == [
        ("PROPFIND", f"/{USER}/"),
        ("REPORT", str(made.url.path)),
    ]


def test_a_server_taking_only_digest_turns_basic_down_and_digest_follows(
    tmp_path: Path, store: StateStore
) -> None:
    from radicale_server import radicale

    with radicale(tmp_path / "radicale", digest=True) as server:
        digest = CalDavBackend(server, tmp_path / "state", {"url": f"{server.url}{USER}/"})
        with pytest.MonkeyPatch.context() as env:
            env.setenv("FOLLOWUP_CALDAV_PASSWORD", PASSWORD)
            tasks = planned(onsite())
            report = export(digest, store, tasks)
            assert report.ok and report.created == len(tasks)
            # Basic up front is refused; the library answers the Digest challenge: the same
            # three PROPFINDs as a client that waits for the challenge
            first = [(r.method, r.status) for r in server.requests]
            assert first[:4] == [
                ("PROPFIND", 401),
                ("PROPFIND", 401),
                ("PROPFIND", 207),
                ("MKCALENDAR", 201),
            ]
            remembered = (tmp_path / "state" / "caldav.json").read_text(encoding="utf-8")
            assert '"auth": "digest"' in remembered
            server.requests.clear()
            edited = [dataclasses.replace(tasks[0], title="moved"), *tasks[1:]]
            assert export(digest, store, edited).updated == 1
            # the remembered scheme: never Basic again, Digest's own challenge round trip
            assert [(r.method, r.status, r.authorized) for r in server.requests] == [
                ("PUT", 401, False),
                ("PUT", 204, True),
            ]


def test_an_unchanged_rerun_of_events_sends_no_request_at_all(
    caldav: CalDavBackend, store: StateStore
) -> None:
    tasks = planned(onsite())
    export(caldav, store, tasks)
    before = caldav.server.count()
    report = export(caldav, store, tasks)
    assert (report.created, report.updated, report.cancelled) == (0, 0, 0)
    assert caldav.server.count() == before


def test_an_edit_is_one_if_match_put_with_sequence_raised(
    caldav: CalDavBackend, store: StateStore
) -> None:
    record = onsite()
    export(caldav, store, planned(record))
    etags = {name: etag for name, (_, etag, _) in raw_objects(caldav).items()}
    changed = msgspec.structs.replace(record, forgot_to_mention=("the on-call redesign",))
    tasks = planned(changed)
    before = len(caldav.server.requests)
    report = export(caldav, store, tasks)
    assert report.updated >= 1 and report.created == 0
    sent = caldav.server.requests[before:]
    assert [r.method for r in sent] == ["PUT"] * report.updated
    assert all(r.if_match in etags.values() and r.if_none_match is None for r in sent)
    for task in tasks:
        event = by_uid(caldav)[f"{task.key}@followup"]
        assert str(event["X-FOLLOWUP-HASH"]) == task.content_hash
    sequences = {int(c["SEQUENCE"]) for c in by_uid(caldav).values()}
    assert sequences == {0, 1}


def test_a_withdrawal_deletes_the_events_on_their_etag(
    caldav: CalDavBackend, store: StateStore
) -> None:
    record = onsite()
    export(caldav, store, planned(record))
    withdrawn = msgspec.structs.replace(
        record, status="withdrawn", status_since=datetime(2026, 11, 24).date()
    )
    tasks = planned(withdrawn)
    before = len(caldav.server.requests)
    report = export(caldav, store, tasks)
    deletes = [r for r in caldav.server.requests[before:] if r.method == "DELETE"]
    assert report.cancelled == len(deletes) == len(tasks) - 1
    assert all(r.if_match for r in deletes)
    assert sorted(c["UID"] for c in caldav.objects()) == [
        f"{t.key}@followup" for t in tasks if t.status == "planned"
    ]


def test_todos_carry_due_and_an_alarm_in_a_calendar_made_for_todos(
    todos: CalDavBackend, store: StateStore
) -> None:
    import caldav as library

    tasks = planned(onsite())
    report = export(todos, store, tasks)
    assert report.ok and report.created == len(tasks)
    with library.DAVClient(url=todos.server.url, username=USER, password=PASSWORD) as client:
        [calendar] = client.principal().calendars()
        assert calendar.get_display_name() == "Reminders"
        assert calendar.get_supported_components() == ["VTODO"]
    items = by_uid(todos)
    for task in tasks:
        todo = items[f"{task.key}@followup"]
        assert todo.name == "VTODO"
        assert "DUE" in todo and str(todo["STATUS"]) == "NEEDS-ACTION"
        if task.reminder_minutes is not None:
            [alarm] = [a for a in todo.subcomponents if a.name == "VALARM"]
            assert str(alarm["ACTION"]) == "DISPLAY"


def test_todos_rerun_reads_once_and_writes_nothing(todos: CalDavBackend, store: StateStore) -> None:
    tasks = planned(onsite())
    export(todos, store, tasks)
    before = len(todos.server.requests)
    report = export(todos, store, tasks)
    assert report.unchanged == len(tasks)
    assert [r.method for r in todos.server.requests[before:]] == ["REPORT"]


def test_a_todo_checked_off_on_the_phone_is_read_back_and_never_undone(
    todos: CalDavBackend, store: StateStore
) -> None:
    record = onsite()
    tasks = planned(record)
    export(todos, store, tasks)
    [(url, etag, data)] = [v for k, v in raw_objects(todos).items() if "thank-you-jane-doe" in k]
    done = data.replace("STATUS:NEEDS-ACTION", "STATUS:COMPLETED\r\nCOMPLETED:20261121T150000Z")
    put_on_server(url, done, etag)

    report = export(todos, store, tasks)
    assert any("checked off" in n and "thank-you/jane-doe" in n for n in report.notices)
    reader = todos.make_exporter()
    found = reader.lookup(tasks)
    assert found is not None
    jane_key = f"{record.id}/thank-you/jane-doe"
    assert found[jane_key].done and not found[f"{record.id}/thank-you/raj-patel"].done
    rows = store.rows("caldav", reader.target)
    synced = [SyncedTask(row.task, row.remote) for row in rows if row.task]
    assert reader.completions(synced) == {jane_key: datetime(2026, 11, 21, 15, 0, tzinfo=UTC)}

    # the record changes the thank-you: the person's check stays
    changed = msgspec.structs.replace(record, forgot_to_mention=("the on-call redesign",))
    report = export(todos, store, planned(changed))
    assert report.ok
    jane_now = by_uid(todos)[f"{record.id}/thank-you/jane-doe@followup"]
    assert str(jane_now["STATUS"]) == "COMPLETED"
    again = export(todos, store, planned(changed))
    assert not any("checked off" in n for n in again.notices), "told once"


def test_a_withdrawal_cancels_todos_with_status_cancelled(
    todos: CalDavBackend, store: StateStore
) -> None:
    record = onsite()
    export(todos, store, planned(record))
    withdrawn = msgspec.structs.replace(
        record, status="withdrawn", status_since=datetime(2026, 11, 24).date()
    )
    report = export(todos, store, planned(withdrawn))
    assert report.ok and report.cancelled == len(planned(record))
    statuses = [str(c["STATUS"]) for c in todos.objects()]
    assert statuses.count("CANCELLED") == report.cancelled
    assert statuses.count("NEEDS-ACTION") == 1  # the withdrawal note
    assert todos.server.count("DELETE") == 0


def test_a_create_whose_answer_was_lost_is_adopted_not_duplicated(
    caldav: CalDavBackend, store: StateStore
) -> None:
    tasks = planned(onsite())
    caldav.server.lose_answers("PUT")  # the first PUT lands; the client sees a 500
    report = export(caldav, store, tasks)
    assert report.ok and report.created == len(tasks)
    assert caldav.live_count() == len(tasks)
    puts = [r for r in caldav.server.requests if r.method == "PUT"]
    assert len(puts) == len(tasks) + 1, "the replay met 412 and the object was adopted"
    assert [r.method for r in caldav.server.requests].count("GET") == 1
    assert caldav.delays, "the 500 was retried after a pause"


def test_a_calendar_made_while_the_answer_was_lost_is_made_once(
    caldav: CalDavBackend, store: StateStore
) -> None:
    import caldav as library

    caldav.server.lose_answers("MKCALENDAR")
    report = export(caldav, store, planned(onsite()))
    assert report.ok
    # the replay is refused (it exists), and one listing of the home finds it
    after = [(r.method, r.status) for r in caldav.server.requests if r.method != "PUT"][2:]
    assert after == [("MKCALENDAR", 500), ("MKCALENDAR", 409), ("PROPFIND", 207)]
    with library.DAVClient(url=caldav.server.url, username=USER, password=PASSWORD) as client:
        names = [c.get_display_name() for c in client.principal().calendars()]
    assert names == ["Job search"]


def test_a_412_on_update_rereads_and_writes_on_the_new_version(
    caldav: CalDavBackend, store: StateStore
) -> None:
    record = onsite()
    export(caldav, store, planned(record))
    [(url, etag, data)] = [v for k, v in raw_objects(caldav).items() if "thank-you-jane" in k]
    put_on_server(url, data.replace("SUMMARY:", "SUMMARY:(moved) "), etag)
    changed = msgspec.structs.replace(record, forgot_to_mention=("the on-call redesign",))
    tasks = planned(changed)
    report = export(caldav, store, tasks)
    assert report.ok and not report.failures
    [jane] = [t for t in tasks if t.key.endswith("thank-you/jane-doe")]
    assert str(by_uid(caldav)[f"{jane.key}@followup"]["SUMMARY"]) == jane.title


def test_lookup_lists_the_calendar_in_one_request(caldav: CalDavBackend, store: StateStore) -> None:
    tasks = planned(onsite())
    export(caldav, store, tasks)
    before = len(caldav.server.requests)
    found = caldav.make_exporter().lookup(tasks)
    assert [r.method for r in caldav.server.requests[before:]] == ["REPORT"]
    assert found is not None and set(found) == {t.key for t in tasks}
    assert all(found[t.key].content_hash == t.content_hash for t in tasks)


@pytest.mark.parametrize("status", ["503 Service Unavailable", "429 Too Many Requests"])
def test_busy_server_is_retried_with_backoff(
    caldav: CalDavBackend, store: StateStore, status: str
) -> None:
    caldav.server.busy, caldav.server.busy_status = 3, status  # with Retry-After: 1
    tasks = planned(onsite())
    report = export(caldav, store, tasks)
    assert report.ok and caldav.delays[:3] == [1.0, 1.0, 1.0]


def test_a_server_failing_for_good_gives_up_after_backoff(
    caldav: CalDavBackend, store: StateStore
) -> None:
    caldav.fail_after(0)  # every write: 503 without Retry-After
    report = export(caldav, store, planned(onsite()))
    assert not report.ok and report.created == 0
    assert "run the same command again later" in str(report.failures[0].error)
    assert len(caldav.delays) == 4 and caldav.delays == sorted(caldav.delays)


def test_a_wrong_password_is_one_clear_line(caldav: CalDavBackend, store: StateStore) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FOLLOWUP_CALDAV_PASSWORD", "wrong")
        with pytest.raises(AuthError) as refused:
            export(caldav, store, planned(onsite()))
    assert "rejected the password for 'jane'" in str(refused.value)
    assert "followup auth caldav" in str(refused.value)
    assert "wrong" not in str(refused.value).replace("rejected", "")
    assert caldav.server.writes() == 0


def test_an_unreachable_url_says_so(tmp_path: Path, store: StateStore) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with backend(tmp_path) as caldav:
        caldav.options["url"] = f"http://127.0.0.1:{port}/dav/"
        exporter = caldav.make_exporter()
        with pytest.raises(ExportFailed) as unreachable:
            exporter.lookup(planned(onsite()))
    assert str(unreachable.value) == (
        f"cannot reach a CalDAV server at http://127.0.0.1:{port}/dav/ ([Errno 111] Connection "
        "refused); check `url` under [exporters.caldav]"
    )


def test_a_server_without_caldav_says_so(tmp_path: Path, store: StateStore) -> None:
    def website(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        # A plain web server refuses the WebDAV methods it does not know (RFC 9110 §15.5.6)
        status = "200 OK" if environ["REQUEST_METHOD"] in ("GET", "HEAD") else "405 Not Allowed"
        start_response(status, [("Content-Type", "text/html")])
        return [b"<html><body>Welcome</body></html>"]

    with serving(website) as url, backend(tmp_path) as caldav:
        caldav.options["url"] = url
        with pytest.raises(ExportFailed, match="does not answer as a CalDAV server"):
            caldav.make_exporter().lookup(planned(onsite()))


def test_a_calendar_that_cannot_hold_todos_is_named(
    caldav: CalDavBackend, store: StateStore
) -> None:
    import caldav as library

    with library.DAVClient(url=caldav.server.url, username=USER, password=PASSWORD) as client:
        client.principal().make_calendar(
            name="Job search", supported_calendar_component_set=["VEVENT"]
        )
    caldav.options["as"] = "todo"
    with pytest.raises(ExportFailed) as refused:
        export(caldav, store, planned(onsite()))
    message = str(refused.value)
    assert "'Job search' cannot hold to-dos (it takes VEVENT)" in message
    assert "as = event" in message
    assert caldav.server.count("PUT") == 0


def test_missing_password_is_an_auth_error(caldav: CalDavBackend) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.delenv("FOLLOWUP_CALDAV_PASSWORD")
        exporter = caldav.make_exporter()
        assert exporter.configured() == (
            False,
            "no CalDAV password: run `followup auth caldav` or set FOLLOWUP_CALDAV_PASSWORD",
        )
        with pytest.raises(AuthError):
            list(exporter.apply([]))


def test_a_lost_state_database_adopts_what_stands_without_writing(
    caldav: CalDavBackend, store: StateStore, tmp_path: Path
) -> None:
    tasks = planned(onsite())
    export(caldav, store, tasks)
    writes = caldav.server.writes()
    fresh = StateStore(tmp_path / "another-computer" / "state.db")
    try:
        before = len(caldav.server.requests)
        report = export(caldav, fresh, tasks)
    finally:
        fresh.close()
    assert (report.created, report.updated, report.unchanged) == (0, 0, len(tasks))
    assert any("adopted 11" in notice for notice in report.notices)
    assert caldav.server.writes() == writes
    assert [r.method for r in caldav.server.requests[before:]] == ["REPORT"]
