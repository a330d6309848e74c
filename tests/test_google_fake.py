"""The fake Google Calendar behaves like the service, as seen through the real SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from backends.google import GoogleBackend, backend, make_task
from fakes.google_server import SchemaValidator, load_discovery
from followup_google.auth import SCOPE_APP_CREATED, SCOPE_EVENTS
from followup_google.events import event_body
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest


@pytest.fixture
def google(tmp_path: Path) -> Iterator[GoogleBackend]:
    with backend(tmp_path) as b:
        yield b


def _service(google: GoogleBackend) -> Any:
    return google.make_exporter()._api()


def _calendar(service: Any) -> str:
    return str(service.calendars().insert(body={"summary": "Test"}).execute()["id"])


def _status(error: HttpError) -> tuple[int, str]:
    details = json.loads(error.content)["error"]
    return error.resp.status, details["errors"][0]["reason"] + ": " + details["message"]


def _valid_body() -> dict[str, Any]:
    return event_body(make_task("acme", "thank-you", 0), ("popup", "email"))


def _bad_bodies() -> dict[str, tuple[dict[str, Any], str]]:
    body = _valid_body
    return {
        "unknown field": ({**body(), "remindMe": True}, "unknown field"),
        "unknown nested field": (
            {**body(), "start": {**body()["start"], "zone": "UTC"}},
            "start.zone: unknown field",
        ),
        "wrong type": ({**body(), "summary": 42}, "expected a string"),
        "wrong nested type": (
            {**body(), "reminders": {"useDefault": "no", "overrides": []}},
            "expected a boolean",
        ),
        "bad enum": ({**body(), "status": "done"}, "'done' is not one of"),
        "bad reminder method": (
            {
                **body(),
                "reminders": {"useDefault": False, "overrides": [{"method": "sms", "minutes": 5}]},
            },
            "'sms' is not one of",
        ),
        "bad date-time": (
            {**body(), "start": {"dateTime": "tomorrow", "timeZone": "UTC"}},
            "not an RFC 3339 date-time",
        ),
        "end before start": (
            {**body(), "end": {"dateTime": "2026-11-01T09:00:00-04:00", "timeZone": "UTC"}},
            "timeRangeEmpty",
        ),
        "six reminders": (
            {
                **body(),
                "reminders": {
                    "useDefault": False,
                    "overrides": [{"method": "popup", "minutes": m} for m in range(6)],
                },
            },
            "cannotUseMoreThanFiveReminders",
        ),
        "missing end": ({k: v for k, v in body().items() if k != "end"}, "end: required"),
        "bad id": ({**body(), "id": "Not_Base32hex"}, "Invalid resource id"),
    }


@pytest.mark.parametrize("case", sorted(_bad_bodies()))
def test_bad_event_bodies_are_rejected(google: GoogleBackend, case: str) -> None:
    service = _service(google)
    calendar = _calendar(service)
    body, expected = _bad_bodies()[case]
    with pytest.raises(HttpError) as caught:
        service.events().insert(calendarId=calendar, body=body).execute()
    status, message = _status(caught.value)
    assert status == 400
    assert expected in message
    assert google.fake.live_events() == []


def test_the_exporters_bodies_validate() -> None:
    validator = SchemaValidator(load_discovery())
    assert validator.errors(_valid_body(), "Event") == []
    all_day = event_body(make_task("acme", "check-in", 3))
    assert validator.errors(all_day, "Event") == []


def test_a_duplicate_id_is_409_even_once_deleted(google: GoogleBackend) -> None:
    service = _service(google)
    calendar = _calendar(service)
    body = _valid_body()
    service.events().insert(calendarId=calendar, body=body).execute()
    service.events().delete(calendarId=calendar, eventId=body["id"]).execute()
    kept = service.events().get(calendarId=calendar, eventId=body["id"]).execute()
    assert kept["status"] == "cancelled"
    with pytest.raises(HttpError) as caught:
        service.events().insert(calendarId=calendar, body=body).execute()
    assert _status(caught.value)[0] == 409
    with pytest.raises(HttpError) as again:
        service.events().delete(calendarId=calendar, eventId=body["id"]).execute()
    assert _status(again.value)[0] == 410


def test_events_list_pages_and_hides_cancelled(google: GoogleBackend) -> None:
    service = _service(google)
    calendar = _calendar(service)
    ids = []
    for index in range(7):
        body = event_body(make_task("acme", f"rule-{index}", index))
        ids.append(body["id"])
        service.events().insert(calendarId=calendar, body=body).execute()
    service.events().delete(calendarId=calendar, eventId=ids[0]).execute()
    seen, pages, token = [], 0, None
    while True:
        page = service.events().list(calendarId=calendar, maxResults=3, pageToken=token).execute()
        pages += 1
        seen += [event["id"] for event in page["items"]]
        token = page.get("nextPageToken")
        if not token:
            break
    assert pages == 2 and sorted(seen) == sorted(ids[1:])
    deleted = service.events().list(calendarId=calendar, showDeleted=True).execute()
    assert len(deleted["items"]) == 7


def test_batches_hold_at_most_1000_calls(google: GoogleBackend) -> None:
    import urllib.error
    import urllib.request

    service = _service(google)
    calendar = _calendar(service)
    part = (
        "--b\r\nContent-Type: application/http\r\n\r\n"
        f"GET /calendar/v3/calendars/{calendar}/events HTTP/1.1\r\n\r\n"
    )
    request = urllib.request.Request(
        google.fake.url + "batch/calendar/v3",
        data=(part * 1001 + "--b--\r\n").encode(),
        headers={"Content-Type": "multipart/mixed; boundary=b"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 400
    more_than_fifty = BatchHttpRequest(batch_uri=google.fake.url + "batch/calendar/v3")
    for index in range(60):
        body = event_body(make_task("acme", f"rule-{index}", index))
        more_than_fifty.add(service.events().insert(calendarId=calendar, body=body))
    more_than_fifty.execute()
    assert len(google.fake.live_events()) == 60


def test_app_created_scope_cannot_reach_other_calendars(google: GoogleBackend) -> None:
    service = _service(google)
    with pytest.raises(HttpError) as caught:
        service.events().insert(calendarId="primary", body=_valid_body()).execute()
    assert caught.value.resp.status == 404


def test_a_token_without_a_calendar_scope_is_refused(google: GoogleBackend) -> None:
    from followup.config import store_secret

    grant = google.fake.grant(["https://www.googleapis.com/auth/calendar.readonly"])
    store_secret("google", json.dumps(grant))
    exporter = google.make_exporter(calendar="primary")
    exporter._grant = {**grant, "scopes": [SCOPE_EVENTS]}  # skip the local scope check
    service = exporter._api()
    with pytest.raises(HttpError) as caught:
        service.events().insert(calendarId="primary", body=_valid_body()).execute()
    assert _status(caught.value) == (403, "insufficientPermissions: Insufficient Permission")
    listed = service.events().list(calendarId="primary").execute()  # readonly may read
    assert listed["items"] == []


def test_refresh_with_a_revoked_grant_is_invalid_grant(google: GoogleBackend) -> None:
    from google.auth.exceptions import RefreshError

    google.fake.revoke_all()
    service = _service(google)
    with pytest.raises(RefreshError, match="invalid_grant"):
        _calendar(service)


# -- behaviours each switchable (issue 11, point 9) -------------------------------------


def _event(service: Any, calendar: str, **changes: Any) -> dict[str, Any]:
    body = {**_valid_body(), **changes}
    return dict(service.events().insert(calendarId=calendar, body=body).execute())


@pytest.mark.parametrize("method", ["update", "patch"])
def test_a_deleted_event_cannot_be_written_unless_revived(
    google: GoogleBackend, method: str
) -> None:
    service = _service(google)
    calendar = _calendar(service)
    event = _event(service, calendar)
    service.events().delete(calendarId=calendar, eventId=event["id"]).execute()
    write = getattr(service.events(), method)
    with pytest.raises(HttpError) as caught:
        write(calendarId=calendar, eventId=event["id"], body=_valid_body()).execute()
    assert _status(caught.value) == (403, "forbidden: Forbidden")
    google.fake.behaviour.revive_deleted = True
    revived = write(calendarId=calendar, eventId=event["id"], body=_valid_body()).execute()
    assert revived["status"] == "confirmed"


def test_purged_events_are_404_and_their_ids_stay_taken(google: GoogleBackend) -> None:
    service = _service(google)
    calendar = _calendar(service)
    event = _event(service, calendar)
    service.events().delete(calendarId=calendar, eventId=event["id"]).execute()
    google.fake.purge_cancelled()
    for call in (
        service.events().get(calendarId=calendar, eventId=event["id"]),
        service.events().update(calendarId=calendar, eventId=event["id"], body=_valid_body()),
    ):
        with pytest.raises(HttpError) as caught:
            call.execute()
        assert _status(caught.value)[0] == 404
    with pytest.raises(HttpError) as taken:
        _event(service, calendar)
    assert _status(taken.value)[0] == 409
    google.fake.behaviour.purged_ids_reusable = True
    assert _event(service, calendar)["status"] == "confirmed"


def test_a_non_rate_403_is_answered_for_one_event(google: GoogleBackend) -> None:
    service = _service(google)
    calendar = _calendar(service)
    google.fake.forbidden[_valid_body()["id"]] = "forbiddenForNonOrganizer"
    with pytest.raises(HttpError) as caught:
        _event(service, calendar)
    assert _status(caught.value) == (403, "forbiddenForNonOrganizer: Forbidden")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"colorId": "12"}, "Invalid color id"),
        ({"colorId": "0"}, "Invalid color id"),
        ({"start": {"dateTime": "2026-11-20T09:00:00", "timeZone": "Mars/Olympus"}}, "time zone"),
        ({"description": "x" * 8193}, "description is too long"),
        ({"start": {"dateTime": "2026-11-20T09:00:00"}}, "a time zone is required"),
    ],
    ids=["colour-12", "colour-0", "not-iana", "description", "no-zone"],
)
def test_values_google_refuses(google: GoogleBackend, changes: dict, expected: str) -> None:
    service = _service(google)
    calendar = _calendar(service)
    with pytest.raises(HttpError) as caught:
        _event(service, calendar, **changes)
    assert _status(caught.value)[0] == 400 and expected in _status(caught.value)[1]
    for colour in ("1", "11"):
        assert _event(service, calendar, colorId=colour, id=f"colour{colour}a")["colorId"]


def test_long_property_keys_are_dropped(google: GoogleBackend) -> None:
    service = _service(google)
    calendar = _calendar(service)
    body = _valid_body()
    body["extendedProperties"]["private"]["k" * 45] = "gone"
    event = service.events().insert(calendarId=calendar, body=body).execute()
    assert "k" * 45 not in event["extendedProperties"]["private"]
    assert event["extendedProperties"]["private"]["followupKey"] == "acme/thank-you"


def test_deleting_a_calendar_drops_its_events(google: GoogleBackend) -> None:
    service = _service(google)
    calendar = _calendar(service)
    event = _event(service, calendar)
    service.calendars().delete(calendarId=calendar).execute()
    with pytest.raises(HttpError) as caught:
        service.events().get(calendarId=calendar, eventId=event["id"]).execute()
    assert _status(caught.value)[0] == 404
    assert google.fake.live_events() == []


def test_a_lost_answer_to_calendars_insert_still_made_the_calendar(google: GoogleBackend) -> None:
    import requests

    exporter = google.make_exporter()
    exporter._api()
    google.fake.lose_answer_of["calendars.insert"] = 1
    with pytest.raises(requests.ConnectionError):
        exporter._insert_calendar({"summary": "Lost"})
    assert [c["summary"] for c in google.fake.app_calendars()] == ["Lost"]


def test_httplib2_sends_a_post_again_when_its_answer_is_lost(google: GoogleBackend) -> None:
    """Why calendars.insert does not go through the SDK's transport (see the exporter)."""
    service = _service(google)
    google.fake.lose_answer_of["calendars.insert"] = 1
    service.calendars().insert(body={"summary": "Twice"}).execute(num_retries=0)
    assert [c["summary"] for c in google.fake.app_calendars()] == ["Twice", "Twice"]


def test_the_calendar_list_needs_a_list_scope_and_shows_own_calendars(
    google: GoogleBackend,
) -> None:
    from followup.config import store_secret

    service = _service(google)
    calendar = _calendar(service)
    ids = [e["id"] for e in service.calendarList().list().execute()["items"]]
    assert calendar in ids and "me@example.com" in ids
    assert service.calendarList().get(calendarId="primary").execute()["id"] == "me@example.com"
    store_secret("google", json.dumps(google.fake.grant([SCOPE_APP_CREATED])))
    narrow = google.make_exporter()._api()
    with pytest.raises(HttpError) as caught:
        narrow.calendarList().list().execute()
    assert _status(caught.value)[0] == 403


def test_token_endpoint_faults(google: GoogleBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    import google.auth._exponential_backoff as backoff
    from google.auth.exceptions import RefreshError

    monkeypatch.setattr(backoff.time, "sleep", lambda seconds: None)
    google.fake.token_faults = ["500"] * 3
    with pytest.raises(RefreshError) as down:
        _calendar(_service(google))
    assert down.value.retryable
    google.fake.token_faults = ["invalid_grant"]
    with pytest.raises(RefreshError, match="invalid_grant") as refused:
        _calendar(_service(google))
    assert not refused.value.retryable
