"""The Google Calendar exporter, through the real SDK against the fake service."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from backends.google import GoogleBackend, backend, make_task, many_tasks
from followup_google import GoogleExporter
from followup_google.auth import SCOPE_FULL, scopes_for
from followup_google.events import event_body, event_id

from followup.config import load_secret, store_secret
from followup.errors import AuthError, ExportFailed, MissingExtra
from followup.exporter import Change, ExportContext
from followup.state import StateStore
from followup.sync import sync


@pytest.fixture
def google(tmp_path: Path) -> Iterator[GoogleBackend]:
    with backend(tmp_path) as b:
        yield b


def _export(google: GoogleBackend, store: StateStore, tasks: list, **options: object):  # type: ignore[no-untyped-def]
    exporter = google.make_exporter(**options)
    try:
        return sync(tasks, {t.record for t in tasks}, exporter, store)
    finally:
        exporter.close()


# -- event bodies ---------------------------------------------------------------------


def test_event_ids_are_deterministic_base32hex() -> None:
    ident = event_id("acme-backend-2026-11/thank-you/jane-doe")
    assert ident == event_id("acme-backend-2026-11/thank-you/jane-doe")
    assert ident != event_id("acme-backend-2026-11/thank-you/raj-patel")
    assert re.fullmatch(r"[a-v0-9]{5,1024}", ident)


def test_event_body_has_zone_reminders_colour_and_key() -> None:
    task = make_task("acme", "thank-you", 0, kind="call", reminder_minutes=30)
    body = event_body(task, ("popup", "email"))
    assert body["start"] == {
        "dateTime": "2026-11-20T09:00:00-05:00",
        "timeZone": "America/New_York",
    }
    assert body["end"]["dateTime"] == "2026-11-20T09:30:00-05:00"
    assert body["reminders"] == {
        "useDefault": False,
        "overrides": [{"method": "popup", "minutes": 30}, {"method": "email", "minutes": 30}],
    }
    assert body["colorId"] == "10"
    assert body["extendedProperties"]["private"]["followupKey"] == "acme/thank-you"
    assert "mailto:jane.doe@acme.example" in body["description"]


def test_all_day_events_are_dates_with_exclusive_ends() -> None:
    body = event_body(make_task("acme", "references", 3, start=date(2026, 11, 24)))
    assert body["start"] == {"date": "2026-11-24"}
    assert body["end"] == {"date": "2026-11-25"}


def test_hostile_text_still_makes_a_valid_body(google: GoogleBackend) -> None:
    title = "Thank\x00 you\r\nEND:VEVENT \u202e" + "x" * 10_000 + " 🎉"
    task = make_task("acme", "hostile", 0, title=title, body="a\x07b\nc")
    outcome = next(google.make_exporter().apply([Change("create", task)]))
    assert outcome.ok, outcome.error
    (event,) = google.fake.live_events()
    assert "\x00" not in event["summary"] and len(event["summary"]) <= 1000


METHODS_USED = {  # what the exporter calls, for each kind of target
    None: ["calendarList.list", "calendarList.get", "calendars.get", "calendars.insert"],
    "primary": ["calendarList.get"],
}
EVENT_METHODS = ["events.insert", "events.update", "events.delete", "events.list"]


@pytest.mark.parametrize("calendar", [None, "primary"])
def test_the_scopes_serve_every_method_used_and_no_broader_one_is_asked(
    calendar: str | None,
) -> None:
    from fakes.google_server import load_discovery

    resources = load_discovery()["resources"]

    def scopes_of(method: str) -> set[str]:
        resource, name = method.split(".")
        return set(resources[resource]["methods"][name]["scopes"])

    asked = set(scopes_for(calendar))
    for method in METHODS_USED[calendar] + EVENT_METHODS:
        assert asked & scopes_of(method), f"{method} is not allowed by {sorted(asked)}"
    assert SCOPE_FULL not in asked
    used = METHODS_USED[calendar] + EVENT_METHODS
    for scope in asked:  # each asked scope is needed: without it some method fails
        assert any(not (asked - {scope}) & scopes_of(method) for method in used)


# -- writes -------------------------------------------------------------------------


def test_first_export_creates_a_dedicated_calendar_and_batches(
    google: GoogleBackend, store: StateStore
) -> None:
    tasks = many_tasks(120)
    report = _export(google, store, tasks)
    assert (report.created, report.failed) == (120, 0)
    assert google.fake.stats.batch_requests == 3  # ⌈120/50⌉
    (calendar,) = google.fake.app_calendars()
    assert calendar["summary"] == "Interview follow-ups"
    assert {e["organizer"]["email"] for e in google.fake.live_events()} == {calendar["id"]}
    assert set(google.remote_items()) == {t.key for t in tasks}
    writes = google.write_requests()
    again = _export(google, store, tasks)
    assert (again.unchanged, google.write_requests()) == (120, writes)


def test_a_deleted_calendar_is_made_again_with_every_event(
    google: GoogleBackend, store: StateStore
) -> None:
    tasks = many_tasks(12)
    _export(google, store, tasks)
    (calendar,) = google.fake.app_calendars()
    google.fake.delete_calendar(calendar["id"])  # the user deletes it in Google Calendar
    report = _export(google, store, tasks)
    assert (report.created, report.unchanged, report.failed) == (12, 0, 0)
    (again,) = google.fake.app_calendars()
    assert again["id"] != calendar["id"]
    assert set(google.remote_items()) == {t.key for t in tasks}
    assert "made it again" in report.notices[0]


def test_another_signed_in_account_gets_every_event(
    google: GoogleBackend, store: StateStore
) -> None:
    tasks = many_tasks(6)
    _export(google, store, tasks)
    other = google.fake.grant(scopes_for(None), account="other@example.com")
    store_secret("google", json.dumps(other))
    report = _export(google, store, tasks)
    assert (report.created, report.unchanged) == (6, 0)
    calendars = google.fake.app_calendars()
    assert sorted(c["_owner"] for c in calendars) == ["me@example.com", "other@example.com"]
    for calendar in calendars:
        assert len(google.fake.live_events(calendar["id"])) == 6


def test_primary_is_keyed_on_the_accounts_real_calendar(
    google: GoogleBackend, store: StateStore
) -> None:
    tasks = many_tasks(4)
    store_secret("google", json.dumps(google.fake.grant(scopes_for("primary"))))
    first = _export(google, store, tasks, calendar="primary")
    assert google.make_exporter(calendar="primary").target == "me@example.com"
    other = google.fake.grant(scopes_for("primary"), account="other@example.com")
    store_secret("google", json.dumps(other))
    second = _export(google, store, tasks, calendar="primary")
    assert (first.created, second.created, second.unchanged) == (4, 4, 0)
    assert len(google.fake.live_events("other@example.com")) == 4


def test_an_existing_calendar_needs_the_events_scope(google: GoogleBackend) -> None:
    exporter = google.make_exporter(calendar="primary")
    with pytest.raises(AuthError, match="followup auth google --calendar primary"):
        list(exporter.apply([Change("create", make_task("acme", "one"))]))
    store_secret("google", json.dumps(google.fake.grant(scopes_for("primary"), calendar="primary")))
    exporter = google.make_exporter()
    assert exporter.target == "me@example.com"  # the real id of this account's primary
    assert next(exporter.apply([Change("create", make_task("acme", "one"))])).ok
    assert google.fake.live_events("primary")


def test_edits_update_and_cancellations_delete(google: GoogleBackend, store: StateStore) -> None:
    tasks = many_tasks(10)
    _export(google, store, tasks)
    before = google.fake.stats.write_http_requests
    edited = [dataclasses.replace(t, title=t.title + " (edited)") for t in tasks[:3]]
    dropped = tasks[3]
    plan = [*edited, dropped.cancelled(), *tasks[4:]]
    report = _export(google, store, plan)
    assert (report.updated, report.cancelled, report.unchanged) == (3, 1, 6)
    assert google.fake.stats.write_http_requests - before == 1  # one batch
    items = google.remote_items()
    assert dropped.key not in items
    assert items[tasks[0].key].title.endswith("(edited)")


def test_insert_of_an_existing_id_becomes_an_update(google: GoogleBackend) -> None:
    task = make_task("acme", "thank-you")
    exporter = google.make_exporter()
    assert next(exporter.apply([Change("create", task)])).ok
    renamed = dataclasses.replace(task, title="Renamed")
    # State was lost: the exporter is asked to create again.
    outcome = next(google.make_exporter().apply([Change("create", renamed)]))
    assert outcome.ok and outcome.remote_id == event_id(task.key)
    assert google.remote_items()[task.key].title == "Renamed"
    assert google.fake.stats.calls["events.update"] == 1


@pytest.mark.parametrize("revive", [False, True], ids=["update-403", "update-revives"])
def test_a_task_planned_again_after_its_event_was_deleted_comes_back(
    google: GoogleBackend, store: StateStore, revive: bool
) -> None:
    google.fake.behaviour.revive_deleted = revive
    task = make_task("acme", "check-in")
    _export(google, store, [task])
    for purge in (False, True):  # withdrawn, then back to waiting; later after a purge
        _export(google, store, [task.cancelled()])
        assert google.remote_items() == {}
        if purge:
            google.fake.purge_cancelled()
        report = _export(google, store, [task])
        assert (report.created, report.failed) == (1, 0)
        assert list(google.remote_items()) == [task.key] and google.live_count() == 1


def test_without_state_a_deleted_events_id_is_passed_over(google: GoogleBackend) -> None:
    task = make_task("acme", "check-in")
    exporter = google.make_exporter()
    for generation in (0, 1):  # two earlier lives of the task, both deleted
        body = event_body(task, ident=event_id(task.key, generation))
        calendar = exporter.target
        exporter._api().events().insert(calendarId=calendar, body=body).execute()
        exporter._api().events().delete(calendarId=calendar, eventId=body["id"]).execute()
    outcome = next(google.make_exporter().apply([Change("create", task)]))
    assert outcome.ok, outcome.error
    assert outcome.remote_id == event_id(task.key, 2) and outcome.extra["generation"] == 2
    assert list(google.remote_items()) == [task.key] and google.live_count() == 1


@pytest.mark.parametrize("purge", [False, True], ids=["403-forbidden", "404-purged"])
def test_an_edit_of_an_event_deleted_in_google_puts_it_back(
    google: GoogleBackend, store: StateStore, purge: bool
) -> None:
    task = make_task("acme", "thank-you")
    _export(google, store, [task])
    exporter = google.make_exporter()
    events = exporter._api().events()
    events.delete(calendarId=exporter.target, eventId=event_id(task.key)).execute()
    if purge:
        google.fake.purge_cancelled()
    report = _export(google, store, [dataclasses.replace(task, title="Edited")])
    assert (report.updated, report.failed) == (1, 0)
    assert google.remote_items()[task.key].title == "Edited" and google.live_count() == 1


def test_cancelling_a_gone_event_counts_as_done(google: GoogleBackend) -> None:
    exporter = google.make_exporter()
    outcome = next(exporter.apply([Change("cancel", make_task("acme", "never").cancelled())]))
    assert outcome.ok


def test_a_rejected_change_is_one_failed_outcome(google: GoogleBackend) -> None:
    start = datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    good = make_task("acme", "good", 0)
    bad = make_task("acme", "bad", 0, start=start, due=start, duration_minutes=-30)
    outcomes = list(google.make_exporter().apply([Change("create", bad), Change("create", good)]))
    assert [o.ok for o in outcomes] == [False, True]
    assert "timeRangeEmpty" in (outcomes[0].error or "")


# -- auth and retries --------------------------------------------------------------


def test_a_rejected_token_is_refreshed(google: GoogleBackend) -> None:
    exporter = google.make_exporter()
    assert next(exporter.apply([Change("create", make_task("acme", "one"))])).ok
    assert google.fake.stats.token_requests == 1
    google.fake.expire_access_tokens()  # now a 401 inside a batch: refreshed, then retried
    assert next(exporter.apply([Change("create", make_task("acme", "two"))])).ok
    assert google.fake.stats.token_requests == 2
    assert len(google.remote_items()) == 2
    stored = json.loads(load_secret("google") or "{}")
    assert stored == google.grant  # the sign-in itself is left as it was


def test_an_expired_token_is_refreshed_before_the_first_call(google: GoogleBackend) -> None:
    grant = {**google.grant, "expiry": "2026-01-01T00:00:00"}
    store_secret("google", json.dumps(grant))
    assert next(google.make_exporter().apply([Change("create", make_task("acme", "one"))])).ok
    assert google.fake.stats.http_requests == 3  # list, calendar, batch: no 401 round trip
    assert google.fake.stats.token_requests == 1


def test_a_revoked_grant_says_to_sign_in_again(google: GoogleBackend) -> None:
    google.fake.revoke_all()
    with pytest.raises(AuthError, match=r"run `followup auth google`") as caught:
        list(google.make_exporter().apply([Change("create", make_task("acme", "one"))]))
    assert caught.value.exit_code == 1


def test_not_signed_in(google: GoogleBackend) -> None:
    from followup.config import delete_secret

    delete_secret("google")
    exporter = google.make_exporter()
    assert exporter.configured() == (False, "run `followup auth google`")
    with pytest.raises(AuthError, match="not signed in"):
        list(exporter.apply([Change("create", make_task("acme", "one"))]))


def test_retry_after_is_honoured(google: GoogleBackend) -> None:
    google.fake.retry_after = 7
    google.fake.queue_faults("reset")  # warm-up: the calendar insert survives a reset
    google.fake.queue_faults("429", "503", where="call")
    tasks = [make_task("acme", f"r{i}", i) for i in range(3)]
    outcomes = list(google.make_exporter().apply([Change("create", t) for t in tasks]))
    assert all(o.ok for o in outcomes)
    assert google.sleeps and google.sleeps[-1] >= 7  # both calls retried in one round
    google.sleeps.clear()
    google.fake.queue_faults("429", "403")
    assert next(google.make_exporter().apply([Change("create", make_task("b", "x"))])).ok
    assert len(google.sleeps) == 2 and google.sleeps[0] >= 7
    assert len(google.remote_items()) == 4


def test_backoff_grows_and_gives_up_with_a_clear_message(google: GoogleBackend) -> None:
    exporter = google.make_exporter()
    assert next(exporter.apply([Change("create", make_task("acme", "one"))])).ok
    google.fake.queue_faults(*["503"] * 20)
    with pytest.raises(ExportFailed, match="run the same command again later") as caught:
        list(exporter.apply([Change("create", make_task("acme", "two"))]))
    assert "nothing will be duplicated" in str(caught.value)
    assert google.sleeps == sorted(google.sleeps) and google.sleeps[-1] > google.sleeps[0]


def test_dry_run_describes_without_network(google: GoogleBackend, store: StateStore) -> None:
    exporter = GoogleExporter(
        google.options(), ExportContext(state_dir=google.state_dir, dry_run=True)
    )
    task = make_task("acme", "one")
    lines = []
    report = sync(
        [task],
        {"acme"},
        exporter,
        store,
        dry_run=True,
        on_plan=lambda d: lines.extend(exporter.describe(c) for c in d.changes),
    )
    assert google.fake.stats.http_requests == 0 and report.failed == 0
    assert lines == [
        f'POST <new calendar "Interview follow-ups">/events id={event_id(task.key)}  '
        f"(insert {task.title!r} {task.start.isoformat()}; if the id exists, update it)"
    ]


def test_without_the_sdk_the_message_names_the_extra(
    google: GoogleBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "googleapiclient", None)
    monkeypatch.setitem(sys.modules, "googleapiclient.discovery", None)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "googleapiclient" else real_find_spec(name, *a),
    )
    exporter = google.make_exporter()
    assert exporter.configured() == (False, "pip install 'interview-followup[google]'")
    with pytest.raises(MissingExtra, match=r"interview-followup\[google\]"):
        list(exporter.apply([Change("create", make_task("acme", "one"))]))


def test_the_exporter_is_registered() -> None:
    from importlib.metadata import entry_points

    (entry,) = entry_points(group="followup.exporters", name="google")
    assert entry.load() is GoogleExporter
