"""The Todoist exporter through `followup.sync`, the real SDK and the fake API."""

from __future__ import annotations

import dataclasses
import json
import logging
import stat
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from backends.todoist import NEW_YORK, TodoistBackend, backend, export, make_task
from click.testing import CliRunner
from fakes.todoist_server import PLANS
from followup_todoist import NO_REMINDERS, TodoistExporter, payload

from followup.errors import AuthError, UserError
from followup.exporter import Change
from followup.state import StateStore
from followup.sync import Diff, sync
from followup.tasks import Task

ACME = "Acme Corp — Senior Backend Engineer"
GLOBEX = "Globex — Staff Engineer"


def three_tasks() -> list[Task]:
    return [
        make_task("acme/thank-you/jane-doe"),
        make_task(
            "globex/check-in",
            title="Call Globex to check in",
            application=GLOBEX,
            priority=2,
            labels=("call",),
            start=datetime(2026, 12, 4, 10, 30, tzinfo=NEW_YORK),
            body="Ask whether they decided. tel:+15550199",
            duration=15,
        ),
        make_task(
            "acme/references",
            title="Brief your references",
            priority=3,
            labels=("prep",),
            start=date(2026, 11, 24),
            reminder=None,
        ),
    ]


def live_by_key(todoist: TodoistBackend) -> dict[str, dict]:
    return {payload.key_of(i["description"]): i for i in todoist.fake.live_items()}


def test_layout_project_sections_labels_priority_due_duration(
    todoist: TodoistBackend, store: StateStore
) -> None:
    report = export(todoist, store, three_tasks())
    assert report.ok and report.created == 3
    fake = todoist.fake
    project = fake.project_named("Job search")
    assert project is not None
    sections = {s["id"]: s["name"] for s in fake.live_sections(project["id"])}
    assert sorted(sections.values()) == sorted([ACME, GLOBEX])

    items = live_by_key(todoist)
    thanks, call, prep = (
        items[k] for k in ("acme/thank-you/jane-doe", "globex/check-in", "acme/references")
    )
    assert sections[thanks["section_id"]] == ACME and sections[call["section_id"]] == GLOBEX
    assert thanks["content"] == "Send Jane a thank-you note"
    assert (thanks["priority"], call["priority"], prep["priority"]) == (4, 3, 2)
    assert thanks["labels"] == ["followup", "thank-you"] and prep["labels"] == ["followup", "prep"]
    # 16:00 in New York is 21:00 UTC; the zone keeps it at 16:00 on the person's clock.
    assert thanks["due"]["date"] == "2026-11-20T21:00:00Z"
    assert thanks["due"]["timezone"] == "America/New_York"
    assert thanks["duration"] == {"amount": 30, "unit": "minute"}
    assert prep["due"]["date"] == "2026-11-24" and prep["duration"] is None
    assert "mailto:jane.doe@acme.example" in thanks["description"]
    assert "tel:+15550100" in thanks["description"]
    assert [r["minute_offset"] for r in fake.live_reminders(thanks["id"])] == [15]
    assert fake.live_reminders(prep["id"]) == []
    # Two lookups (the project by name, the plan), then one request: project, sections, tasks.
    assert (fake.reads(), fake.writes()) == (2, 1)
    [write] = [request for request in fake.requests if request.write]
    assert write.path.endswith("/sync")


def test_an_unchanged_rerun_sends_no_request_at_all(
    todoist: TodoistBackend, store: StateStore
) -> None:
    export(todoist, store, three_tasks())
    before = len(todoist.fake.requests)
    report = export(todoist, store, three_tasks())
    assert report.unchanged == 3 and len(todoist.fake.requests) == before


def test_an_edit_updates_the_task_in_place(todoist: TodoistBackend, store: StateStore) -> None:
    tasks = three_tasks()
    export(todoist, store, tasks)
    old = live_by_key(todoist)["acme/thank-you/jane-doe"]
    writes = todoist.fake.writes()
    later = datetime(2026, 11, 20, 18, 0, tzinfo=NEW_YORK)
    tasks[0] = dataclasses.replace(tasks[0], title="Thank Jane", start=later, due=later)
    report = export(todoist, store, tasks)
    assert (report.created, report.updated) == (0, 1)
    assert todoist.fake.writes() == writes + 1
    new = live_by_key(todoist)["acme/thank-you/jane-doe"]
    assert new["id"] == old["id"] and new["content"] == "Thank Jane"
    assert new["due"]["date"] == "2026-11-20T23:00:00Z"
    assert len(todoist.fake.live_items()) == 3


def test_an_edit_moves_sections_and_changes_the_reminder(
    todoist: TodoistBackend, store: StateStore
) -> None:
    tasks = three_tasks()
    export(todoist, store, tasks)
    tasks[0] = dataclasses.replace(
        tasks[0], application="Acme Corp — Principal Engineer", reminder_minutes=60
    )
    export(todoist, store, tasks)
    item = live_by_key(todoist)["acme/thank-you/jane-doe"]
    section = todoist.fake.sections[item["section_id"]]
    assert section["name"] == "Acme Corp — Principal Engineer"
    assert [r["minute_offset"] for r in todoist.fake.live_reminders(item["id"])] == [60]
    tasks[0] = dataclasses.replace(tasks[0], reminder_minutes=None)
    export(todoist, store, tasks)
    assert todoist.fake.live_reminders(item["id"]) == []


def test_cancelling_deletes_the_tasks_and_archives_the_emptied_section(
    todoist: TodoistBackend, store: StateStore
) -> None:
    tasks = three_tasks()
    export(todoist, store, tasks)
    call = live_by_key(todoist)["globex/check-in"]
    tasks[1] = tasks[1].cancelled()
    report = export(todoist, store, tasks)
    assert report.cancelled == 1
    assert todoist.fake.items[call["id"]]["is_deleted"]
    # Archived, never deleted: Todoist deletes a section's tasks with it (issue 12, point 3).
    assert todoist.fake.sections[call["section_id"]]["is_archived"]
    assert not todoist.fake.sections[call["section_id"]]["is_deleted"]
    acme = live_by_key(todoist)["acme/references"]["section_id"]
    assert not todoist.fake.sections[acme]["is_archived"]  # still has open tasks


def test_a_section_with_the_users_own_task_is_kept(
    todoist: TodoistBackend, store: StateStore
) -> None:
    tasks = three_tasks()
    export(todoist, store, tasks)
    call = live_by_key(todoist)["globex/check-in"]
    todoist.fake.items["mine"] = {**call, "id": "mine", "description": "my own note"}
    tasks[1] = tasks[1].cancelled()
    export(todoist, store, tasks)
    assert not todoist.fake.sections[call["section_id"]]["is_deleted"]
    assert not todoist.fake.items["mine"]["is_deleted"]


def test_cancel_can_complete_instead(tmp_path: Path, store: StateStore) -> None:
    with backend(tmp_path, on_cancel="complete") as todoist:
        tasks = three_tasks()
        export(todoist, store, tasks)
        call = live_by_key(todoist)["globex/check-in"]
        tasks[1] = tasks[1].cancelled()
        export(todoist, store, tasks)
        item = todoist.fake.items[call["id"]]
        assert item["checked"] and not item["is_deleted"]
        assert todoist.fake.sections[call["section_id"]]["is_archived"]


def test_planned_again_after_a_cancel_comes_back(
    todoist: TodoistBackend, store: StateStore
) -> None:
    tasks = three_tasks()
    export(todoist, store, tasks)
    export(todoist, store, [tasks[0].cancelled(), *tasks[1:]])
    report = export(todoist, store, tasks)  # the very same content as the first time
    assert report.created == 1
    assert set(live_by_key(todoist)) == {t.key for t in tasks}


def test_a_renamed_project_is_found_again_by_id(todoist: TodoistBackend, store: StateStore) -> None:
    tasks = three_tasks()
    export(todoist, store, tasks)
    project = todoist.fake.project_named("Job search")
    assert project is not None
    project["name"] = "Jobs 2026"
    tasks.append(make_task("acme/keep-searching", title="Keep applying elsewhere"))
    export(todoist, store, tasks)
    assert todoist.fake.project_named("Job search") is None
    assert {i["project_id"] for i in todoist.fake.live_items()} == {project["id"]}


def test_a_task_deleted_in_todoist_is_recreated_by_an_edit(
    todoist: TodoistBackend, store: StateStore
) -> None:
    tasks = three_tasks()
    export(todoist, store, tasks)
    gone = live_by_key(todoist)["acme/thank-you/jane-doe"]
    gone["is_deleted"] = True
    tasks[0] = dataclasses.replace(tasks[0], title="Thank Jane today")
    report = export(todoist, store, tasks)
    assert report.ok
    again = live_by_key(todoist)["acme/thank-you/jane-doe"]
    assert again["id"] != gone["id"] and again["content"] == "Thank Jane today"


def test_long_and_hostile_text_is_cut_never_refused(
    todoist: TodoistBackend, store: StateStore
) -> None:
    hostile = "Follow up 🙂\u202e\u0000 with\nnewlines\r\n" * 400
    task = make_task(
        "acme/thank-you/jane-doe",
        title=hostile,
        body="Dear Jane,\n" + "é" * 20_000,
        application="Acme " * 600,
        labels=("x" * 90, "thank-you", "thank-you"),
    )
    report = export(todoist, store, [task])
    assert report.ok, report.failures
    [item] = todoist.fake.live_items()
    assert len(item["content"]) <= 500 and item["content"].endswith("…")
    assert "\n" not in item["content"] and "\x00" not in item["content"]
    assert len(item["description"]) <= 16383
    assert payload.key_of(item["description"]) == task.key
    assert item["labels"] == ["followup", "x" * 60, "thank-you"]
    assert len(todoist.fake.sections[item["section_id"]]["name"]) <= 2048


def sent(todoist: TodoistBackend, kind: str) -> list[dict]:
    return [c for batch in todoist.fake.batches for c in batch if c["type"] == kind]


def plan_reads(todoist: TodoistBackend) -> int:
    return sum(1 for r in todoist.fake.requests if r.path.endswith("/sync") and not r.write)


def test_on_a_free_plan_no_reminder_is_sent_and_the_output_says_why(
    todoist: TodoistBackend, store: StateStore
) -> None:
    todoist.fake.plan = "free"
    report = export(todoist, store, three_tasks())
    assert report.ok and report.created == 3
    assert report.notices == [NO_REMINDERS]
    assert all(not todoist.fake.live_reminders(i["id"]) for i in todoist.fake.live_items())
    assert sent(todoist, "reminder_add") == [] and plan_reads(todoist) == 1
    assert todoist.fake.writes() == 1


def test_a_plan_that_loses_reminders_after_the_read_still_gets_the_note(
    todoist: TodoistBackend, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = todoist.fake
    read = fake.plan_limits()  # the limits as read just before a downgrade
    monkeypatch.setattr(fake, "plan_limits", lambda: read)
    monkeypatch.setattr(fake, "limit", lambda name: PLANS["free"][name])
    report = export(todoist, store, three_tasks())
    assert report.ok and report.created == 3
    assert report.notices == [NO_REMINDERS]  # from the 403 on reminder_add
    assert len(sent(todoist, "reminder_add")) == 2
    assert all(not fake.live_reminders(i["id"]) for i in fake.live_items())


def test_the_account_is_read_once_per_run(todoist: TodoistBackend, store: StateStore) -> None:
    """Its id names every command uuid; its plan limits and reminders are kept to."""
    all_day = [
        make_task(f"acme/prep-{n}", start=date(2026, 11, 24), reminder=None) for n in range(3)
    ]
    assert export(todoist, store, all_day).ok
    assert plan_reads(todoist) == 1
    timed = [make_task(f"acme/rule-{n}", title=f"Follow-up {n}") for n in range(150)]
    exporter = todoist.make_exporter()  # 150 changes: two batches through one exporter
    try:
        report = sync(timed, {"acme"}, exporter, store)
    finally:
        exporter.close()
    assert report.ok and report.created == 150
    assert plan_reads(todoist) == 2
    assert len(sent(todoist, "reminder_add")) == 150


def test_project_sections_and_first_tasks_go_in_one_request(
    todoist: TodoistBackend, store: StateStore
) -> None:
    """90 timed tasks over 3 applications: 4 layout + 180 task commands, in 2 requests."""
    apps = [ACME, GLOBEX, "Initech — Platform Engineer"]
    tasks = [
        make_task(f"r{n % 3}/rule-{n}", title=f"Follow-up {n}", application=apps[n % 3])
        for n in range(90)
    ]
    report = export(todoist, store, tasks)
    assert report.ok and report.created == 90
    fake = todoist.fake
    first, second = fake.batches
    assert [c["type"] for c in first[:4]] == ["project_add", *["section_add"] * 3]
    assert len(first) == 100 and len(second) == 84
    project_ref = first[0]["temp_id"]
    section_refs = {c["temp_id"] for c in first[1:4]}
    placed = [c for c in first[1:] if c["type"] != "reminder_add"]
    assert {c["args"]["project_id"] for c in placed} == {project_ref}
    assert {c["args"]["section_id"] for c in first if c["type"] == "item_add"} == section_refs
    # The second request names the sections by the ids Todoist gave them: temp ids do not
    # outlive their request.
    project = fake.project_named("Job search")
    assert project is not None
    real = {s["id"] for s in fake.live_sections(project["id"])}
    assert {c["args"]["section_id"] for c in second if c["type"] == "item_add"} == real
    assert {c["args"]["project_id"] for c in second if c["type"] == "item_add"} == {project["id"]}
    rows = store.rows("todoist", "project:Job search")
    assert {str(row.remote.extra["section_id"]) for row in rows} == real
    assert {row.remote.extra["project_id"] for row in rows} == {project["id"]}
    # An edit later uses the remembered section: no lookup of sections, no move.
    before = len(fake.batches)
    edited = [dataclasses.replace(tasks[0], title="Follow-up 0, edited"), *tasks[1:]]
    assert export(todoist, store, edited).updated == 1
    assert [c["type"] for c in fake.batches[before]] == ["item_update"]


def test_a_section_tidied_away_is_created_again_when_its_tasks_come_back(
    todoist: TodoistBackend, store: StateStore
) -> None:
    tasks = three_tasks()
    export(todoist, store, [tasks[0], tasks[2]])  # the project first, so Globex's section
    export(todoist, store, tasks)  # is added to an existing project, as it will be again
    old = live_by_key(todoist)["globex/check-in"]["section_id"]
    export(todoist, store, [tasks[0], tasks[1].cancelled(), tasks[2]])
    assert todoist.fake.sections[old]["is_archived"]
    report = export(todoist, store, tasks)  # planned again, the very same content
    assert report.ok and report.created == 1
    new = live_by_key(todoist)["globex/check-in"]["section_id"]
    assert new != old and todoist.fake.sections[new]["name"] == GLOBEX
    assert len(sent(todoist, "project_add")) == 1


def test_dry_run_shows_the_operations_and_touches_nothing(
    todoist: TodoistBackend, store: StateStore, tmp_path: Path
) -> None:
    exporter = todoist.make_exporter()
    shown: list[str] = []

    def describe(planned: Diff) -> None:
        shown.extend(exporter.describe(change) for change in planned.changes)

    tasks = three_tasks()
    sync(tasks, {t.record for t in tasks}, exporter, store, dry_run=True, on_plan=describe)
    assert todoist.fake.requests == []
    assert store.rows("todoist", exporter.target) == []
    assert not (tmp_path / "todoist-state").exists()
    assert shown[0].startswith(f"item_add in project 'Job search', section '{ACME}'")
    assert '"due": {"date": "2026-11-20T21:00:00Z", "timezone": "America/New_York"}' in shown[0]
    assert shown[0].endswith("+ reminder_add 15 min before")
    assert "reminder_add" not in shown[2]
    assert exporter.describe(Change("cancel", tasks[0], None)).startswith("item_delete")


def test_a_bad_token_is_a_clear_auth_error(
    todoist: TodoistBackend, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TODOIST_API_TOKEN", "revoked-token-1234567890")
    report = export(todoist, store, three_tasks())
    assert not report.ok
    assert report.failures[0].error == (
        "Todoist rejected the token; run `followup auth todoist` or set TODOIST_API_TOKEN"
    )
    exporter = todoist.make_exporter()
    with pytest.raises(AuthError):
        list(exporter.apply([Change("create", three_tasks()[0])]))


def test_without_a_token_it_is_not_configured(
    todoist: TodoistBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TODOIST_API_TOKEN")
    exporter = todoist.make_exporter()
    ready, why = exporter.configured()
    assert not ready and "followup auth todoist" in why
    with pytest.raises(AuthError):
        list(exporter.apply([Change("create", three_tasks()[0])]))


def test_on_cancel_must_be_delete_or_complete(tmp_path: Path) -> None:
    with backend(tmp_path, on_cancel="archive") as todoist, pytest.raises(UserError):
        todoist.make_exporter().describe(Change("cancel", three_tasks()[0], None))


def test_auth_stores_a_checked_token_and_logout_removes_it(
    todoist: TodoistBackend, followup_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TODOIST_API_TOKEN")
    command = TodoistExporter.auth_command()
    runner = CliRunner()
    refused = runner.invoke(command, [], input="wrong-token-abcdef\n")
    assert isinstance(refused.exception, AuthError)
    assert "wrong-token-abcdef" not in refused.output + str(refused.exception)
    secrets = followup_home / "config" / "secrets.json"
    assert not secrets.exists()

    stored = runner.invoke(command, [], input=f"{todoist.fake.token}\n")
    assert stored.exit_code == 0, stored.output
    assert todoist.fake.token not in stored.output
    assert json.loads(secrets.read_text())["todoist"] == todoist.fake.token
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert todoist.make_exporter().configured()[0]

    assert runner.invoke(command, ["--logout"]).exit_code == 0
    assert "todoist" not in json.loads(secrets.read_text())
    assert not todoist.make_exporter().configured()[0]


def test_the_token_appears_in_no_output_log_or_error(
    todoist: TodoistBackend,
    store: StateStore,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore log every request at this level
    token = todoist.fake.token
    texts: list[str] = []
    todoist.fake.script = [429, "reset", 503, "lost"]
    report = export(todoist, store, three_tasks())
    todoist.fake.writes_left = 0  # then a run that gives up
    tasks = [dataclasses.replace(t, title=t.title + "!") for t in three_tasks()]
    failed = export(todoist, store, tasks)
    todoist.heal()
    exporter = todoist.make_exporter()
    texts += [exporter.describe(Change("create", t)) for t in tasks]
    texts += [repr(exporter), repr(exporter.__dict__)]
    list(exporter.apply([]))
    texts += [repr(exporter.__dict__), repr(exporter._client)]
    exporter.close()
    wrong = "wrong-token-abcdef"
    monkeypatch.setenv("TODOIST_API_TOKEN", wrong)
    refused = export(todoist, store, tasks)
    for outcome in [*report.failures, *failed.failures, *refused.failures]:
        texts.append(str(outcome.error))
    texts += [*report.notices, *failed.notices, caplog.text, *capsys.readouterr()]
    assert failed.failures and refused.failures and "HTTP Request" in caplog.text
    for text in texts:
        assert token not in text and wrong not in text


def test_the_sdk_is_imported_only_when_the_exporter_runs() -> None:
    code = (
        "import sys, followup_todoist\n"
        "heavy = {'httpx', 'todoist_api_python'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_edit_back_to_the_first_content_of_a_deleted_task_recreates_it(
    todoist: TodoistBackend, store: StateStore
) -> None:
    tasks = three_tasks()
    first = tasks[0]
    export(todoist, store, tasks)
    tasks[0] = dataclasses.replace(first, title="Thank Jane today")
    export(todoist, store, tasks)
    live_by_key(todoist)[first.key]["is_deleted"] = True  # the person deletes it in Todoist
    tasks[0] = first  # the same content as the very first create
    assert export(todoist, store, tasks).ok
    assert live_by_key(todoist)[first.key]["content"] == first.title
