"""The fake Todoist API behaves like the service, checked through the real SDK and /sync."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fakes.todoist_server import FakeTodoist
from followup_todoist.api import TodoistTransport
from todoist_api_python.api import TodoistAPI


@pytest.fixture
def fake() -> Iterator[FakeTodoist]:
    with FakeTodoist() as server:
        yield server


def sdk(fake: FakeTodoist, token: str | None = None) -> TodoistAPI:
    """The real SDK, pointed at the fake through its public `client=` argument."""
    transport = TodoistTransport(fake.url, sleep=lambda _: None, attempts=1)
    return TodoistAPI(token or fake.token, client=httpx.Client(transport=transport))


def sync(fake: FakeTodoist, commands: list[dict[str, Any]]) -> dict[str, Any]:
    response = httpx.post(
        f"{fake.url}/sync",
        headers={"Authorization": f"Bearer {fake.token}"},
        data={"commands": json.dumps(commands)},
    )
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def item_add(uuid: str, **args: Any) -> dict[str, Any]:
    return {"type": "item_add", "uuid": uuid, "temp_id": f"t-{uuid}", "args": args}


def test_rest_create_rejects_what_the_api_rejects(fake: FakeTodoist) -> None:
    api = sdk(fake)
    moment = datetime(2026, 11, 20, 16, tzinfo=ZoneInfo("America/New_York"))
    refused = [
        dict(content="two due fields", due_date=date(2026, 11, 20), due_datetime=moment),
        dict(content="duration without unit", due_datetime=moment, duration=30),
        dict(content="x" * 501),
        dict(content="priority five", priority=5),
    ]
    for arguments in refused:
        with pytest.raises(httpx.HTTPStatusError) as caught:
            api.add_task(**arguments)
        assert caught.value.response.status_code == 400, arguments
    task = api.add_task("fine", due_datetime=moment, duration=30, duration_unit="minute")
    assert task.due is not None and task.duration is not None
    assert task.duration.amount == 30
    assert [t.content for page in api.get_tasks() for t in page] == ["fine"]


def test_sync_commands_are_validated_one_by_one(fake: FakeTodoist) -> None:
    good_due = {"date": "2026-11-20T21:00:00Z", "timezone": "America/New_York"}
    commands = [
        item_add("a", content="two due fields", due={"date": "2026-11-20", "string": "today"}),
        item_add("b", content="no unit", due=good_due, duration={"amount": 30}),
        item_add("c", content="x" * 501),
        item_add("d", content="priority five", priority=5),
        item_add(
            "e", content="zone on a floating time", due={**good_due, "date": "2026-11-20T21:00:00"}
        ),
        item_add("f", content="fine", due=good_due, duration={"amount": 30, "unit": "minute"}),
    ]
    result = sync(fake, commands)
    status = result["sync_status"]
    assert [status[k]["http_code"] for k in "abcde"] == [400] * 5
    assert status["f"] == "ok"
    assert list(result["temp_id_mapping"]) == ["t-f"]
    assert [item["content"] for item in fake.live_items()] == ["fine"]


def test_a_uuid_runs_once_and_a_replay_gets_the_first_answer(fake: FakeTodoist) -> None:
    command = item_add("same-uuid", content="Send a thank-you note", project_id=fake.inbox_id)
    first = sync(fake, [command])
    again = sync(fake, [command])
    assert again["sync_status"] == first["sync_status"] == {"same-uuid": "ok"}
    assert again["temp_id_mapping"] == first["temp_id_mapping"]
    assert len(fake.live_items()) == 1


def test_temp_ids_resolve_within_a_request(fake: FakeTodoist) -> None:
    result = sync(
        fake,
        [
            {"type": "project_add", "uuid": "p", "temp_id": "tp", "args": {"name": "Job search"}},
            {
                "type": "section_add",
                "uuid": "s",
                "temp_id": "ts",
                "args": {"name": "Acme", "project_id": "tp"},
            },
            item_add("i", content="Call Acme", project_id="tp", section_id="ts"),
        ],
    )
    ids = result["temp_id_mapping"]
    [item] = fake.live_items()
    assert (item["project_id"], item["section_id"]) == (ids["tp"], ids["ts"])
    assert set(ids.values()) <= set(fake.projects) | set(fake.sections) | set(fake.items)


def test_more_than_100_commands_is_refused(fake: FakeTodoist) -> None:
    commands = [item_add(str(n), content=f"task {n}") for n in range(101)]
    with pytest.raises(httpx.HTTPStatusError) as caught:
        sync(fake, commands)
    assert caught.value.response.status_code == 400
    assert fake.live_items() == []


def test_lists_are_paginated_with_a_cursor(fake: FakeTodoist) -> None:
    for batch in range(3):
        sync(fake, [item_add(f"{batch}-{n}", content=f"task {batch}-{n}") for n in range(90)])
    api = sdk(fake)
    pages = list(api.get_tasks(limit=100))
    assert [len(page) for page in pages] == [100, 100, 70]
    contents = [task.content for page in pages for task in page]
    assert len(set(contents)) == 270
    assert sum(1 for r in fake.requests if r.path.endswith("/tasks")) == 3
    with pytest.raises(httpx.HTTPStatusError):
        next(api.get_tasks(limit=201))


def test_a_wrong_token_gets_401(fake: FakeTodoist) -> None:
    api = sdk(fake, token="not-the-token")  # keep it: the SDK closes its client when collected
    with pytest.raises(httpx.HTTPStatusError) as caught:
        next(api.get_projects())
    assert caught.value.response.status_code == 401


def test_reminders_are_refused_on_a_free_plan(fake: FakeTodoist) -> None:
    fake.plan = "free"
    due = {"date": "2026-11-20T21:00:00Z", "timezone": "America/New_York"}
    result = sync(
        fake,
        [
            item_add("i", content="Call Acme", due=due),
            {
                "type": "reminder_add",
                "uuid": "r",
                "temp_id": "tr",
                "args": {"item_id": "t-i", "type": "relative", "minute_offset": 15},
            },
        ],
    )
    assert result["sync_status"]["i"] == "ok"
    assert result["sync_status"]["r"]["http_code"] == 403
    api = sdk(fake)
    with pytest.raises(httpx.HTTPStatusError) as caught:
        api.add_reminder(result["temp_id_mapping"]["t-i"], minute_offset=15)
    assert caught.value.response.status_code == 403


def test_429_carries_retry_after_and_5xx_is_answered(fake: FakeTodoist) -> None:
    fake.script = [429, 503]
    headers = {"Authorization": f"Bearer {fake.token}"}
    limited = httpx.get(f"{fake.url}/projects", headers=headers)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")
    assert httpx.get(f"{fake.url}/projects", headers=headers).status_code == 503
    assert httpx.get(f"{fake.url}/projects", headers=headers).status_code == 200


def test_a_lost_response_still_applied_the_write(fake: FakeTodoist) -> None:
    fake.script = ["lost"]
    with pytest.raises(httpx.TransportError):
        sync(fake, [item_add("u1", content="Send a thank-you note")])
    assert len(fake.live_items()) == 1
    replay = sync(fake, [item_add("u1", content="Send a thank-you note")])
    assert replay["sync_status"] == {"u1": "ok"} and "t-u1" in replay["temp_id_mapping"]
    assert len(fake.live_items()) == 1


@pytest.mark.parametrize(
    ("plan", "premium", "status"),
    [("pro", True, "current_personal_plan"), ("free", False, "not_premium")],
)
def test_the_user_resource_shows_the_plan_and_is_a_read(
    fake: FakeTodoist, plan: str, premium: bool, status: str
) -> None:
    fake.plan = plan
    response = httpx.post(
        f"{fake.url}/sync",
        headers={"Authorization": f"Bearer {fake.token}"},
        data={"sync_token": "*", "resource_types": json.dumps(["user"])},
    )
    response.raise_for_status()
    user = response.json()["user"]
    assert (user["is_premium"], user["premium_status"]) == (premium, status)
    assert user["inbox_project_id"] == fake.inbox_id
    assert (fake.reads(), fake.writes(), fake.batches) == (1, 0, [])
    sync(fake, [item_add("w", content="a write")])
    assert (fake.reads(), fake.writes()) == (1, 1)


def sync_answer(fake: FakeTodoist, commands: list[dict[str, Any]]) -> dict[str, Any]:
    return sync(fake, commands)["sync_status"]


def test_unknown_commands_and_arguments_are_refused(fake: FakeTodoist) -> None:
    added = sync(fake, [item_add("a", content="Call Acme")])["temp_id_mapping"]["t-a"]
    status = sync_answer(
        fake,
        [
            {"type": "item_close", "uuid": "c", "args": {"id": added}},  # v9, not v1
            {"type": "item_complete", "uuid": "d", "args": {"id": added}},  # no completed_at
            item_add("e", content="x", colour="red"),
            {"type": "item_update", "uuid": "f", "args": {"id": added, "section_id": "1"}},
        ],
    )
    assert [status[k]["http_code"] for k in "cdef"] == [400] * 4
    assert status["c"]["error_tag"] == "INVALID_COMMAND"
    done = {"id": added, "completed_at": "2026-11-20T21:00:00Z"}
    assert sync_answer(fake, [{"type": "item_complete", "uuid": "g", "args": done}]) == {"g": "ok"}


def test_plan_limits_are_served_and_enforced(fake: FakeTodoist) -> None:
    fake.plan = "beginner"
    response = httpx.post(
        f"{fake.url}/sync",
        headers={"Authorization": f"Bearer {fake.token}"},
        data={"sync_token": "*", "resource_types": json.dumps(["user_plan_limits"])},
    ).json()
    limits = response["user_plan_limits"]["current"]
    assert (limits["sections_per_project"], limits["tasks_per_project"]) == (20, 300)
    assert limits["active_projects"] == 5
    fake.limits = {"sections_per_project": 2, "tasks_per_project": 1}
    project = fake._add_project("Job search")["id"]
    sections = [
        {"type": "section_add", "uuid": f"s{n}", "args": {"name": f"S{n}", "project_id": project}}
        for n in range(3)
    ]
    status = sync_answer(fake, sections)
    assert (status["s0"], status["s1"], status["s2"]["http_code"]) == ("ok", "ok", 403)
    status = sync_answer(fake, [item_add(u, content=u, project_id=project) for u in ("i1", "i2")])
    assert status["i1"] == "ok" and status["i2"]["http_code"] == 403
    for n in range(3):  # with the inbox and Job search: 5, the Beginner limit
        fake._add_project(f"P{n}")
    add = {"type": "project_add", "uuid": "p", "args": {"name": "One more"}}
    assert sync_answer(fake, [add])["p"]["http_code"] == 403


def test_section_delete_takes_completed_tasks_with_it(fake: FakeTodoist) -> None:
    project = fake._add_project("Job search")["id"]
    made = sync(
        fake,
        [
            {
                "type": "section_add",
                "uuid": "s",
                "temp_id": "ts",
                "args": {"name": "Acme", "project_id": project},
            },
            item_add("i", content="done already", project_id=project, section_id="ts"),
        ],
    )["temp_id_mapping"]
    fake.complete(made["t-i"])
    sync(fake, [{"type": "section_delete", "uuid": "d", "args": {"id": made["ts"]}}])
    assert fake.items[made["t-i"]]["is_deleted"]


def test_completed_tasks_are_missing_from_the_active_list(fake: FakeTodoist) -> None:
    made = sync(fake, [item_add("i", content="done"), item_add("j", content="open")])
    fake.complete(made["temp_id_mapping"]["t-i"])
    api = sdk(fake)
    assert [t.content for page in api.get_tasks() for t in page] == ["open"]
    now = datetime.now(ZoneInfo("UTC"))
    done = [
        t.content
        for page in api.get_completed_tasks_by_completion_date(
            since=now - timedelta(days=1), until=now + timedelta(days=1)
        )
        for t in page
    ]
    assert done == ["done"]
    with pytest.raises(httpx.HTTPStatusError):  # more than 3 months at once
        next(api.get_completed_tasks_by_completion_date(since=now - timedelta(days=120), until=now))


def test_an_archived_project_is_got_but_takes_no_tasks(fake: FakeTodoist) -> None:
    project = fake._add_project("Job search")
    project["is_archived"] = True
    api = sdk(fake)  # keep it: the SDK closes its client when collected
    assert api.get_project(project["id"]).is_archived
    assert [p.name for page in api.get_projects() for p in page] == ["Inbox"]
    status = sync_answer(fake, [item_add("i", content="x", project_id=project["id"])])
    assert status["i"]["http_code"] == 404


@pytest.mark.parametrize("replay", ["mapping", "ok", "error"])
def test_a_repeated_uuid_is_answered_as_configured(fake: FakeTodoist, replay: str) -> None:
    fake.replay = replay
    first = sync(fake, [item_add("u", content="once")])
    again = sync(fake, [item_add("u", content="once")])
    assert first["sync_status"]["u"] == "ok" and len(fake.live_items()) == 1
    if replay == "mapping":
        assert again["temp_id_mapping"] == first["temp_id_mapping"]
    elif replay == "ok":
        assert again["sync_status"]["u"] == "ok" and again["temp_id_mapping"] == {}
    else:
        assert again["sync_status"]["u"]["http_code"] == 400 and again["temp_id_mapping"] == {}


@pytest.mark.slow
def test_a_slow_answer_comes_late_and_a_big_body_is_refused(fake: FakeTodoist) -> None:
    fake.slow_seconds, fake.slow_writes = 0.5, 1
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{fake.url}/sync",
            headers={"Authorization": f"Bearer {fake.token}"},
            data={"commands": json.dumps([item_add("s", content="slow")])},
            timeout=0.2,
        )
    assert len(fake.live_items()) == 1  # applied all the same
    big = [item_add(str(n), content="x", description="é" * 16_000) for n in range(40)]
    response = httpx.post(
        f"{fake.url}/sync",
        headers={"Authorization": f"Bearer {fake.token}"},
        data={"commands": json.dumps(big, ensure_ascii=False)},
    )
    assert response.status_code == 413 and len(fake.live_items()) == 1
