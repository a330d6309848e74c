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
from followup.errors import AuthError, ExportFailed, MissingExtra, UserError
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


# -- settings (issue 11, point 1) ------------------------------------------------------


def test_a_calendar_name_in_calendar_is_exit_2_naming_both_keys(google: GoogleBackend) -> None:
    with pytest.raises(UserError) as caught:
        google.make_exporter(calendar="Interview follow-ups")
    message = str(caught.value)
    assert caught.value.exit_code == 2
    assert 'calendar_name = "Interview follow-ups"' in message and 'calendar = "primary"' in message


def test_the_sample_settings_work_as_they_are(google: GoogleBackend, store: StateStore) -> None:
    from followup.config import load_settings

    settings = load_settings(Path(__file__).parent.parent / "samples" / "config.toml")
    options = {**settings.exporters["google"], **google.options()}
    report = _export(google, store, many_tasks(3), **options)
    assert (report.created, report.failed) == (3, 0)
    (calendar,) = google.fake.app_calendars()
    assert calendar["summary"] == settings.exporters["google"]["calendar_name"]


def test_advice_quotes_a_calendar_id_so_it_can_be_pasted(google: GoogleBackend) -> None:
    exporter = google.make_exporter(calendar="team#1@group.calendar.google.com")
    with pytest.raises(AuthError) as caught:
        list(exporter.apply([Change("create", make_task("acme", "one"))]))
    assert "`followup auth google --calendar 'team#1@group.calendar.google.com'`" in str(
        caught.value
    )


# -- the dedicated calendar is made once (point 5) ---------------------------------------


def test_a_lost_answer_to_calendars_insert_never_makes_two(
    google: GoogleBackend, store: StateStore
) -> None:
    google.fake.lose_answer_of["calendars.insert"] = 1  # made, the answer lost on the way
    report = _export(google, store, many_tasks(5))
    assert (report.created, report.failed) == (5, 0)
    assert len(google.fake.app_calendars()) == 1
    assert google.fake.stats.calls["calendars.insert"] == 1


def test_followups_calendar_is_found_again_when_this_computer_forgot_it(
    google: GoogleBackend, store: StateStore, tmp_path: Path
) -> None:
    tasks = many_tasks(5)
    _export(google, store, tasks)
    (google.state_dir / "google-calendar.json").unlink()
    fresh = StateStore(tmp_path / "other-computer.db")
    report = _export(google, fresh, tasks)
    fresh.close()
    assert len(google.fake.app_calendars()) == 1 and google.live_count() == 5
    assert report.failed == 0 and report.created == 0  # adopted through lookup


def test_a_grant_that_cannot_list_calendars_is_asked_to_sign_in_again(
    google: GoogleBackend,
) -> None:
    old = google.fake.grant(["https://www.googleapis.com/auth/calendar.app.created"])
    store_secret("google", json.dumps(old))
    with pytest.raises(AuthError, match="followup auth google"):
        google.make_exporter().target  # noqa: B018


# -- what Google refuses (point 4) -----------------------------------------------------


def test_a_non_rate_403_fails_that_task_and_the_rest_land(
    google: GoogleBackend, store: StateStore
) -> None:
    tasks = many_tasks(6)
    google.fake.forbidden[event_id(tasks[2].key)] = "forbiddenForNonOrganizer"
    report = _export(google, store, tasks)
    assert (report.created, report.failed) == (5, 1)
    assert "forbiddenForNonOrganizer" in (report.failures[0].error or "")
    exporter = google.make_exporter()
    recorded = {row.key for row in store.rows(exporter.name, exporter.target)}
    assert recorded == {t.key for t in tasks} - {tasks[2].key}


def test_insufficient_permissions_is_a_sign_in_problem(google: GoogleBackend) -> None:
    grant = google.fake.grant(["https://www.googleapis.com/auth/calendar.readonly"])
    store_secret("google", json.dumps({**grant, "scopes": scopes_for("primary")}))
    exporter = google.make_exporter(calendar="primary")  # the stored scopes claim too much
    with pytest.raises(AuthError, match=r"insufficientPermissions.*followup auth google"):
        list(exporter.apply([Change("create", make_task("acme", "one"))]))


def test_token_endpoint_down_is_unreachable_not_revoked(
    google: GoogleBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    import google.auth._exponential_backoff as backoff

    monkeypatch.setattr(backoff.time, "sleep", lambda seconds: None)  # google-auth's own retries
    google.fake.token_faults = ["500"] * 6  # two refreshes of three tries each
    outcome = next(google.make_exporter().apply([Change("create", make_task("acme", "one"))]))
    assert outcome.ok and google.sleeps  # waited, then went on
    google.fake.token_faults = ["500"] * 100
    with pytest.raises(ExportFailed) as caught:
        list(google.make_exporter().apply([Change("create", make_task("acme", "two"))]))
    assert not isinstance(caught.value, AuthError)
    assert "could not be reached" in str(caught.value) and "revoked" not in str(caught.value)


def test_invalid_grant_says_revoked_or_expired_with_the_testing_hint(
    google: GoogleBackend,
) -> None:
    google.fake.token_faults = ["invalid_grant"]
    with pytest.raises(AuthError) as caught:
        list(google.make_exporter().apply([Change("create", make_task("acme", "one"))]))
    assert "revoked or has expired" in str(caught.value) and "7 days" in str(caught.value)


# -- shaping options and limits (points 7 and 8) -------------------------------------------


def test_changing_reminders_updates_every_event(google: GoogleBackend, store: StateStore) -> None:
    tasks = [make_task("acme", f"r{i}", i, reminder_minutes=30) for i in range(4)]
    _export(google, store, tasks)
    report = _export(google, store, tasks, reminders="popup,email")
    assert (report.updated, report.unchanged) == (4, 0)
    for event in google.fake.live_events():
        assert {r["method"] for r in event["reminders"]["overrides"]} == {"popup", "email"}
    again = _export(google, store, tasks, reminders="popup,email")
    assert again.unchanged == 4


def test_a_long_draft_is_cut_to_googles_description_limit(google: GoogleBackend) -> None:
    task = make_task("acme", "long", 0, body="word " * 5000)
    outcome = next(google.make_exporter().apply([Change("create", task)]))
    assert outcome.ok, outcome.error
    (event,) = google.fake.live_events()
    assert len(event["description"]) <= 8192
    assert event["description"].endswith(f"(followup: {task.key})")


# -- lookup -----------------------------------------------------------------------------


def test_lookup_finds_live_events_by_key_with_their_hash(
    google: GoogleBackend, store: StateStore
) -> None:
    tasks = many_tasks(8, records=2)
    _export(google, store, tasks)
    exporter = google.make_exporter()
    list(exporter.apply([Change("cancel", tasks[0].cancelled())]))
    found = google.make_exporter().lookup([*tasks, make_task("rec-0", "never-written")])
    assert found is not None and set(found) == {t.key for t in tasks[1:]}
    assert found[tasks[1].key].content_hash == exporter.content_hash(tasks[1])
    assert found[tasks[1].key].remote_id == event_id(tasks[1].key)


def test_lookup_in_a_users_calendar_finds_only_followups_events(
    google: GoogleBackend, store: StateStore
) -> None:
    store_secret("google", json.dumps(google.fake.grant(scopes_for("primary"))))
    tasks = many_tasks(5, records=2)
    _export(google, store, tasks, calendar="primary")
    exporter = google.make_exporter(calendar="primary")
    own = {"summary": "Dentist", "start": {"date": "2026-12-01"}, "end": {"date": "2026-12-02"}}
    exporter._api().events().insert(calendarId="primary", body=own).execute()
    listings = google.fake.stats.calls["events.list"]
    found = exporter.lookup(tasks)
    assert found is not None and set(found) == {t.key for t in tasks}
    assert google.fake.stats.calls["events.list"] - listings == 2  # one per record


def test_a_done_task_stays_marked_done_without_a_reminder() -> None:
    task = dataclasses.replace(
        make_task("acme", "thank-you", 1, reminder_minutes=30),
        status="done",
        done_on=date(2026, 11, 21),
    )
    body = event_body(task)
    assert body["summary"] == f"Done: {task.title}"
    assert body["reminders"] == {"useDefault": False, "overrides": []}


def test_a_dry_run_names_a_chosen_calendar_before_any_run(google: GoogleBackend) -> None:
    context = ExportContext(state_dir=google.state_dir, dry_run=True)
    exporter = GoogleExporter(google.options(calendar="primary"), context)
    line = exporter.describe(Change("create", make_task("acme", "one")))
    assert line.startswith("POST calendars/primary/events id=")
    assert google.fake.stats.http_requests == 0
