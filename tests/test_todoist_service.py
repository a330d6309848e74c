"""Todoist as the real service behaves (issue 12): each test names the point it shows.

Every test here failed against the exporter before the issue was fixed; the fake they run
against models the service's behaviour with a citation per behaviour
(tests/fakes/todoist_server.py).
"""

from __future__ import annotations

import dataclasses
import json
import random
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from backends.todoist import TodoistBackend, backend, export, make_task
from fakes.todoist_server import COMMAND_ARGS, MAX_BODY, FakeTodoist, renders_as_markup
from followup_todoist import TodoistExporter, payload
from packaging.requirements import Requirement
from packaging.version import Version

from followup.exporter import Change, ExportContext, SyncedTask
from followup.state import StateStore
from followup.tasks import Task

ROOT = Path(__file__).parent.parent
ACME = "Acme Corp — Senior Backend Engineer"
GLOBEX = "Globex — Staff Engineer"


def three_tasks() -> list[Task]:
    return [
        make_task("acme/thank-you/jane-doe"),
        make_task("globex/check-in", title="Call Globex to check in", application=GLOBEX),
        make_task("globex/references", title="Brief your references", application=GLOBEX),
    ]


def by_key(fake: FakeTodoist, *, deleted: bool = False) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for item in fake.items.values():
        if deleted or not item["is_deleted"]:
            found.setdefault(str(payload.key_of(item["description"])), []).append(item)
    return found


def sent(fake: FakeTodoist, kind: str) -> list[dict]:
    return [c for batch in fake.batches for c in batch if c["type"] == kind]


# -- 1. the SDK range ------------------------------------------------------------


def test_the_declared_sdk_range_is_4x_and_holds_the_installed_sdk() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    [declared] = [
        Requirement(r)
        for r in extras["optional-dependencies"]["todoist"]
        if r.startswith("todoist-api-python")
    ]
    installed = version("todoist-api-python")
    assert Version(installed).major == 4
    assert declared.specifier.contains(installed)
    assert not declared.specifier.contains("3.2.1")  # 3.x has no `client=` argument
    assert not declared.specifier.contains("5.0.0")


# -- 2. timeouts, and finding what landed before resending ------------------------


def test_sync_has_explicit_connect_and_read_timeouts() -> None:
    from followup_todoist.api import TodoistClient

    client = TodoistClient("token", "http://127.0.0.1:9/api/v1")
    try:
        timeout = client._http.timeout
        assert timeout.connect == 10 and timeout.read is not None and timeout.read >= 60
    finally:
        client.close()


@pytest.mark.slow
def test_a_slow_answer_is_waited_for_not_resent(todoist: TodoistBackend, store: StateStore) -> None:
    todoist.fake.slow_seconds, todoist.fake.slow_writes = 6.0, 1  # over httpx's default 5 s
    report = export(todoist, store, three_tasks())
    assert report.ok and report.created == 3
    assert len(todoist.fake.batches) == 1 and todoist.delays == []  # received once, no retry


@pytest.mark.parametrize("replay", ["mapping", "ok", "error"])
def test_a_lost_answer_is_looked_up_whichever_way_a_replay_is_answered(
    todoist: TodoistBackend, store: StateStore, replay: str
) -> None:
    fake = todoist.fake
    fake.replay, fake.lose_writes = replay, 1
    report = export(todoist, store, three_tasks())
    assert report.ok and report.created == 3, report.failures
    live = by_key(fake)
    assert sorted(live) == sorted(t.key for t in three_tasks())
    assert all(len(items) == 1 for items in live.values())
    assert all(len(fake.live_reminders(items[0]["id"])) == 1 for items in live.values())
    assert len([p for p in fake.projects.values() if not p["inbox_project"]]) == 1
    assert len(fake.sections) == 2
    assert export(todoist, store, three_tasks()).unchanged == 3


@pytest.mark.parametrize("replay", ["mapping", "ok", "error"])
def test_a_write_repeated_in_a_later_run_never_fails_for_good(
    todoist: TodoistBackend, store: StateStore, replay: str
) -> None:
    """An edit is carried out but every answer is lost, so the run gives up; the next run
    sends it again and Todoist answers the repeated uuid one of its three ways."""
    fake = todoist.fake
    tasks = three_tasks()
    export(todoist, store, tasks)
    tasks[0] = dataclasses.replace(tasks[0], title="Thank Jane today")
    fake.replay, fake.lose_writes = replay, 10**6
    assert not export(todoist, store, tasks).ok
    assert by_key(fake)[tasks[0].key][0]["content"] == "Thank Jane today"  # it landed
    fake.lose_writes = 0
    report = export(todoist, store, tasks)  # the engine asks first: found, current
    assert report.ok, report.failures
    assert export(todoist, store, tasks).unchanged == 3
    live = by_key(fake)
    assert all(len(items) == 1 for items in live.values())


def test_killed_or_lost_writes_then_an_edit_leave_one_task_per_key(tmp_path: Path) -> None:
    """20 trials: a run dies part-way (killed, or answers lost), the record is edited, the
    next run converges on exactly one live task per planned key."""
    rng = random.Random(12)
    for trial in range(20):
        with backend(tmp_path / f"trial-{trial}") as todoist:
            store = StateStore(tmp_path / f"trial-{trial}" / "state.db")
            fake = todoist.fake
            fake.replay = rng.choice(["mapping", "ok", "error"])
            tasks = [
                make_task(f"r{n % 3}/rule-{n}", title=f"Follow-up {n}", application=f"App {n % 3}")
                for n in range(12)
            ]
            if rng.random() < 0.5:
                fake.writes_left = rng.randrange(0, 40)  # killed part-way
            else:
                fake.lose_writes = 10**6  # every answer lost
            export(todoist, store, tasks)
            todoist.heal()
            tasks = [
                dataclasses.replace(t, title=t.title + " (edited)") if n % 2 else t
                for n, t in enumerate(tasks)
            ]
            tasks.append(make_task("r0/rule-new", title="A new one", application="App 0"))
            for _ in range(3):
                if export(todoist, store, tasks).ok:
                    break
            live = by_key(fake)
            assert sorted(live) == sorted(t.key for t in tasks), trial
            assert all(len(items) == 1 for items in live.values()), trial
            assert {live[t.key][0]["content"] for t in tasks} == {t.title for t in tasks}
            store.close()


# -- 3. nothing the user did is deleted ------------------------------------------


def test_a_section_holding_a_completed_task_is_never_deleted(
    todoist: TodoistBackend, store: StateStore
) -> None:
    tasks = three_tasks()
    export(todoist, store, tasks)
    done = by_key(todoist.fake)["globex/references"][0]
    todoist.fake.complete(done["id"])
    report = export(todoist, store, [tasks[0], tasks[1].cancelled(), tasks[2]])
    assert report.ok
    assert not todoist.fake.items[done["id"]]["is_deleted"]
    assert todoist.fake.items[done["id"]]["checked"]
    assert not todoist.fake.sections[done["section_id"]]["is_deleted"]
    assert sent(todoist.fake, "section_delete") == []


def test_an_emptied_section_is_archived_not_deleted(
    todoist: TodoistBackend, store: StateStore
) -> None:
    tasks = three_tasks()
    export(todoist, store, tasks)
    section = by_key(todoist.fake)["globex/check-in"][0]["section_id"]
    export(todoist, store, [tasks[0], tasks[1].cancelled(), tasks[2].cancelled()])
    assert todoist.fake.sections[section]["is_archived"]
    assert not todoist.fake.sections[section]["is_deleted"]


def test_a_task_the_user_completed_is_never_deleted_reopened_or_recreated(
    todoist: TodoistBackend, store: StateStore, tmp_path: Path
) -> None:
    tasks = three_tasks()
    export(todoist, store, tasks)
    done = by_key(todoist.fake)["acme/thank-you/jane-doe"][0]
    todoist.fake.complete(done["id"])
    tasks[0] = dataclasses.replace(tasks[0], title="Thank Jane, edited")
    assert export(todoist, store, tasks).ok  # an edit of a completed task
    assert todoist.fake.items[done["id"]]["checked"]
    fresh = StateStore(tmp_path / "fresh" / "state.db")  # the state is lost
    assert export(todoist, fresh, tasks).ok
    fresh.close()
    assert len(by_key(todoist.fake)[tasks[0].key]) == 1  # not created again
    assert export(todoist, store, [tasks[0].cancelled(), *tasks[1:]]).ok  # then cancelled
    item = todoist.fake.items[done["id"]]
    assert item["checked"] and not item["is_deleted"]
    assert all(c["args"]["id"] != done["id"] for c in sent(todoist.fake, "item_delete"))


def test_what_the_person_checked_off_is_read_back_with_its_time(
    todoist: TodoistBackend, store: StateStore
) -> None:
    tasks = three_tasks()
    export(todoist, store, tasks)
    done = by_key(todoist.fake)["globex/check-in"][0]
    todoist.fake.complete(done["id"])
    exporter = todoist.make_exporter()
    try:
        rows = store.rows("todoist", exporter.target)
        checked = exporter.completions([SyncedTask(r.task, r.remote) for r in rows if r.task])
    finally:
        exporter.close()
    assert list(checked) == ["globex/check-in"]
    assert checked["globex/check-in"].isoformat().startswith(done["completed_at"][:19])


# -- 4. command uuids carry the account -------------------------------------------


def test_command_uuids_differ_between_accounts(tmp_path: Path) -> None:
    uuids = []
    for user_id in ("1001", "2002"):
        with FakeTodoist(user_id=user_id) as fake, pytest.MonkeyPatch.context() as env:
            env.setenv("FOLLOWUP_TODOIST_API_URL", fake.url)
            env.setenv("TODOIST_API_TOKEN", fake.token)
            todoist = TodoistBackend(fake, tmp_path / user_id, {})
            store = StateStore(tmp_path / user_id / "state.db")
            assert export(todoist, store, three_tasks()).ok
            store.close()
            uuids.append({c["uuid"] for batch in fake.batches for c in batch})
    assert uuids[0] and not uuids[0] & uuids[1]


def test_a_fresh_state_never_replays_an_old_uuid(
    todoist: TodoistBackend, store: StateStore, tmp_path: Path
) -> None:
    tasks = three_tasks()
    export(todoist, store, tasks)
    first = {c["uuid"] for batch in todoist.fake.batches for c in batch}
    gone = by_key(todoist.fake)[tasks[0].key][0]
    gone["is_deleted"] = True  # the person deleted it; then followup's state is lost
    fresh_todoist = TodoistBackend(todoist.fake, tmp_path / "fresh-state", {})
    fresh = StateStore(tmp_path / "fresh-state" / "state.db")
    report = export(fresh_todoist, fresh, tasks)
    fresh.close()
    assert report.ok
    assert len(by_key(todoist.fake)[tasks[0].key]) == 1  # back, once
    later = [c["uuid"] for batch in todoist.fake.batches for c in batch]
    assert not first & set(later[len(first) :])


# -- 5. plan limits ---------------------------------------------------------------


def test_past_20_applications_the_rest_go_by_label_and_all_land(
    todoist: TodoistBackend, store: StateStore
) -> None:
    tasks = [
        make_task(f"app-{n:02d}/check-in", title=f"Check in {n}", application=f"Company {n:02d}")
        for n in range(25)
    ]
    report = export(todoist, store, tasks)
    assert report.ok and report.created == 25, report.failures
    fake = todoist.fake
    project = fake.project_named("Job search")
    assert project is not None
    assert len(fake.live_sections(project["id"])) == 20
    live = by_key(fake)
    assert len(live) == 25
    unsectioned = [items[0] for items in live.values() if items[0]["section_id"] is None]
    assert len(unsectioned) == 5
    for item in unsectioned:
        assert any(label.startswith("Company ") for label in item["labels"])
    [notice] = [n for n in report.notices if "20 sections" in n]
    assert "label" in notice
    assert sent(fake, "section_add") and len(sent(fake, "section_add")) == 20


def test_the_active_task_limit_is_respected_with_a_clear_message(
    todoist: TodoistBackend, store: StateStore
) -> None:
    todoist.fake.limits = {"tasks_per_project": 4}
    tasks = [make_task(f"acme/rule-{n}", title=f"Follow-up {n}") for n in range(6)]
    report = export(todoist, store, tasks)
    assert report.created == 4 and report.failed == 2
    assert all("4 active tasks per project" in str(f.error) for f in report.failures)
    assert len(sent(todoist.fake, "item_add")) == 4  # nothing sent that must be refused


def test_a_plan_out_of_projects_says_so_and_how_to_go_on(tmp_path: Path, store: StateStore) -> None:
    with backend(tmp_path) as todoist:
        fake = todoist.fake
        fake.plan = "beginner"
        for n in range(4):
            fake._add_project(f"Own project {n}")  # with the inbox: 5, the Beginner limit
        report = export(todoist, store, three_tasks())
        assert not report.ok
        errors = {str(f.error) for f in report.failures}
        assert len(errors) == 1
        [error] = errors
        assert "5 active projects" in error and "--set project=" in error
        assert sent(fake, "project_add") == []


# -- 6. an archived or deleted project --------------------------------------------


@pytest.mark.parametrize("gone", ["is_archived", "is_deleted"])
def test_an_archived_or_deleted_project_is_one_clear_message(
    todoist: TodoistBackend, store: StateStore, gone: str
) -> None:
    tasks = three_tasks()
    export(todoist, store, tasks)
    project = todoist.fake.project_named("Job search")
    assert project is not None
    project[gone] = True
    writes = todoist.fake.writes()
    tasks.append(make_task("acme/keep-searching", title="Keep applying"))
    tasks[0] = dataclasses.replace(tasks[0], title="Thank Jane today")
    report = export(todoist, store, tasks)
    assert not report.ok and todoist.fake.writes() == writes
    [error] = {str(f.error) for f in report.failures}
    word = "archived" if gone == "is_archived" else "deleted"
    assert word in error and "--set project=" in error


# -- 7. reminders as the plan allows ----------------------------------------------


def test_reminders_are_added_up_to_the_plans_allowance_and_the_rest_named(
    todoist: TodoistBackend, store: StateStore
) -> None:
    fake = todoist.fake
    fake.limits = {"reminders_per_user": 3}
    tasks = [make_task(f"acme/rule-{n}", title=f"Follow-up {n}") for n in range(5)]
    report = export(todoist, store, tasks)
    assert report.ok
    assert len(sent(fake, "reminder_add")) == 3
    [notice] = [n for n in report.notices if "reminder" in n]
    assert "3 reminders" in notice and "2 follow-ups" in notice


# -- 8. commands, request size, Markdown ------------------------------------------


def test_every_command_is_one_of_todoists_v1_commands_with_its_arguments(
    tmp_path: Path, store: StateStore
) -> None:
    with backend(tmp_path, on_cancel="complete") as todoist:
        tasks = three_tasks()
        export(todoist, store, tasks)
        tasks[0] = dataclasses.replace(tasks[0], application=GLOBEX, reminder_minutes=30)
        export(todoist, store, tasks)
        tasks[0] = dataclasses.replace(tasks[0], reminder_minutes=None)
        export(todoist, store, [tasks[0], tasks[1].cancelled(), tasks[2]])
        for batch in todoist.fake.batches:
            for command in batch:
                required, optional = COMMAND_ARGS[command["type"]]
                assert required <= command["args"].keys() <= required | optional, command
        statuses = [s for s in todoist.fake.executed.values() if s[0] != "ok"]
        assert statuses == []
        assert sent(todoist.fake, "item_complete")


def test_requests_are_split_by_size_as_well_as_by_count(
    todoist: TodoistBackend, store: StateStore
) -> None:
    tasks = [
        make_task(f"acme/rule-{n}", title=f"Follow-up {n}", body="é" * 16_000) for n in range(60)
    ]
    report = export(todoist, store, tasks)
    assert report.ok and report.created == 60, report.failures[:1]
    batches = todoist.fake.batches
    assert len(batches) >= 2 and all(len(batch) <= 100 for batch in batches)
    assert all(len(json.dumps(b, ensure_ascii=False).encode()) < MAX_BODY for b in batches)


@pytest.mark.parametrize(
    "title",
    [
        "**Urgent** call Jane",
        "Thank _Raj_ for the tour",
        "Mention `on-call` load",
        "Read [the offer](https://acme.example/offer)",
        "* starts like a note",
        "https://acme.example/jobs (the posting)",
    ],
)
def test_markdown_in_a_title_is_shown_as_typed(
    todoist: TodoistBackend, store: StateStore, title: str
) -> None:
    task = make_task("acme/thank-you/jane-doe", title=title)
    assert export(todoist, store, [task]).ok
    [item] = todoist.fake.live_items()
    assert not renders_as_markup(item["content"]), item["content"]


# -- 9. priorities as people see them ---------------------------------------------


def test_a_dry_run_shows_priorities_as_p1_to_p4(todoist: TodoistBackend) -> None:
    exporter = TodoistExporter({}, ExportContext(state_dir=todoist.state_dir))
    urgent = make_task("acme/thank-you/jane-doe", priority=1)
    low = make_task("acme/keep-searching", priority=4)
    assert '"priority": "P1"' in exporter.describe(Change("create", urgent))
    assert '"priority": "P4"' in exporter.describe(Change("create", low))


def test_a_reminder_answered_without_its_id_is_looked_up_not_doubled(
    todoist: TodoistBackend, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = todoist.fake
    add = fake._reminder_add
    answers = iter([None])  # the first reminder_add lands but its answer carries no id

    def reminder_add(args: dict) -> dict | None:
        made = add(args)
        return next(answers, made)

    monkeypatch.setattr(fake, "_reminder_add", reminder_add)
    tasks = [make_task("acme/thank-you/jane-doe")]
    assert export(todoist, store, tasks).ok
    tasks[0] = dataclasses.replace(tasks[0], reminder_minutes=60)
    assert export(todoist, store, tasks).ok
    [item] = fake.live_items()
    assert [r["minute_offset"] for r in fake.live_reminders(item["id"])] == [60]
