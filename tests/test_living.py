"""The living plan, end to end through the CLI: `followup done` (and `--undo`), the plan
following what happened, every destination showing it, `followup round`, and `list`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import icalendar
import pytest
from click.testing import CliRunner, Result

from followup.cli import cli

SAMPLES = Path(__file__).parent.parent / "samples"
AFTER_CHECK_IN = "2026-12-09T12:00:00-05:00"


def run(*args: str, code: int = 0, now: str = AFTER_CHECK_IN) -> Result:
    result = CliRunner().invoke(cli, ["--now", now, *args])
    assert result.exit_code == code, result.output
    return result


def copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copy(SAMPLES / name, target)
    return target


def plan(path: Path, now: str = AFTER_CHECK_IN) -> dict[str, dict]:
    [record] = json.loads(run("plan", str(path), "--json", now=now).output)
    return {task["key"].partition("/")[2]: task for task in record["tasks"]}


@pytest.mark.parametrize("name", ["onsite-acme.yaml", "recruiter-initech.toml"])
def test_done_is_written_into_the_record_keeping_everything_else(tmp_path: Path, name: str) -> None:
    path = copy(tmp_path, name)
    original = path.read_text(encoding="utf-8")
    ref = "thank-you/jane-doe" if "acme" in name else "thank-you/lena-fischer"
    run("done", str(path), ref, "--on", "2026-11-20")
    text = path.read_text(encoding="utf-8")
    assert text.startswith(original.rstrip("\n")), "nothing the person wrote changes"
    assert "2026-11-20" in text[len(original.rstrip()) :]
    assert plan(path)[ref]["status"] == "done"

    run("done", str(path), ref, "--undo")
    assert path.read_text(encoding="utf-8") == original
    assert plan(path)[ref]["status"] == "planned"


def test_a_json_record_takes_done_too(tmp_path: Path) -> None:
    path = tmp_path / "acme.json"
    import yaml

    path.write_text(
        json.dumps(yaml.safe_load((SAMPLES / "onsite-acme.yaml").read_text()), default=str)
    )
    run("done", str(path), "references")
    assert json.loads(path.read_text())["done"] == {"references": "2026-12-09"}


def test_a_task_is_named_by_rule_key_or_full_key_and_nothing_else(tmp_path: Path) -> None:
    path = copy(tmp_path, "onsite-acme.yaml")
    ambiguous = run("done", str(path), "thank-you", code=2).output
    assert "thank-you/jane-doe, thank-you/mei-lin, thank-you/raj-patel" in ambiguous
    assert "no task 'thankyou'" in run("done", str(path), "thankyou", code=2).output
    assert "--on: not a date" in run("done", str(path), "check-in", "--on", "soon", code=2).output
    run("done", str(path), "acme-backend-2026-11/thank-you/mei-lin")
    assert plan(path)["thank-you/mei-lin"]["status"] == "done"


def test_later_steps_count_from_the_day_a_step_was_actually_done(tmp_path: Path) -> None:
    path = copy(tmp_path, "onsite-acme.yaml")
    before = plan(path)
    assert before["check-in"]["start"].startswith("2026-12-04")
    assert before["second-check-in"]["start"].startswith("2026-12-11")

    run("done", str(path), "check-in", "--on", "2026-12-09")
    after = plan(path)
    assert after["check-in"]["status"] == "done"
    assert after["second-check-in"]["start"].startswith("2026-12-16")
    assert after["move-on"]["start"].startswith("2026-12-23")


def test_a_done_task_never_comes_back_even_after_an_outcome(tmp_path: Path) -> None:
    path = copy(tmp_path, "onsite-acme.yaml")
    run("done", str(path), "thank-you/raj-patel", "--on", "2026-11-21")
    run("status", str(path), "withdrawn")
    tasks = plan(path)
    assert tasks["thank-you/raj-patel"]["status"] == "done"
    assert tasks["check-in"]["status"] == "cancelled"


@pytest.mark.parametrize("component", ["todo", "event"])
def test_the_calendar_keeps_a_done_item_and_marks_it(tmp_path: Path, component: str) -> None:
    path = copy(tmp_path, "onsite-acme.yaml")
    out = tmp_path / "out"
    export = ("export", str(path), "--to", "ics", "-o", str(out), "--as", component)
    run(*export)
    run("done", str(path), "thank-you/jane-doe", "--on", "2026-11-20")
    assert "1 updated" in run(*export).output
    calendar = icalendar.Calendar.from_ical((out / "acme-backend-2026-11.ics").read_bytes())
    name = "VTODO" if component == "todo" else "VEVENT"
    [item] = [
        item
        for item in calendar.walk(name)
        if str(item["UID"]).startswith("acme-backend-2026-11/thank-you/jane-doe")
    ]
    assert str(item["SUMMARY"]).startswith("Done: ")
    assert not item.walk("VALARM"), "no reminder for what is done"
    if component == "todo":
        assert item["STATUS"] == "COMPLETED"
        assert item.decoded("COMPLETED").date().isoformat() == "2026-11-20"
    assert "0 updated" in run(*export).output


def test_a_round_is_added_to_the_same_record_and_the_plan_follows_it(tmp_path: Path) -> None:
    path = copy(tmp_path, "onsite-acme.yaml")
    original = path.read_text(encoding="utf-8")
    run(
        "round",
        str(path),
        "--at",
        "2026-12-14 10:00",
        "--kind",
        "onsite",
        "--interviewer",
        "Sam Lee <sam@acme.example>: system design; team rituals",
        "--decision-by",
        "2026-12-18",
        now="2026-12-10T09:00:00-05:00",
    )
    text = path.read_text(encoding="utf-8")
    for line in original.splitlines():
        if "expected_by" not in line:
            assert line in text.splitlines(), f"lost: {line!r}"
    tasks = plan(path, now="2026-12-10T09:00:00-05:00")
    assert tasks["thank-you/round-2/sam-lee"]["start"].startswith("2026-12-14")
    assert tasks["thank-you/jane-doe"]["status"] == "planned"
    assert tasks["check-in"]["start"].startswith("2026-12-23")  # 3 business days after 12-18
    assert "acme-backend-2026-11" in text and text.count("id: ") == 1


def test_list_groups_due_work_by_application_and_hides_done(tmp_path: Path) -> None:
    folder = tmp_path / "search"
    folder.mkdir()
    acme = copy(folder, "onsite-acme.yaml")
    copy(folder, "recruiter-initech.toml")
    now = "2026-11-23T12:00:00-05:00"
    listed = run("list", str(folder), now=now).output
    headers = [line for line in listed.splitlines() if not line.startswith(" ")]
    assert [line.split("  ")[0] for line in headers] == [
        "Initech — Platform Engineer",  # its overdue thank-you is the oldest
        "Acme Corp — Senior Backend Engineer",
    ]
    acme_part = listed[listed.index("Acme Corp") :]
    for person in ("Jane Doe", "Mei Lin", "Raj Patel"):  # three overdue thank-yous, not one row
        assert f"Send a thank-you note to {person}" in acme_part
    assert "followup draft" in acme_part and '--interviewer "Raj Patel"' in acme_part
    assert "overdue" in acme_part

    run("done", str(acme), "thank-you/raj-patel", now=now)
    hidden = run("list", str(folder), now=now).output
    assert "thank-you note to Raj Patel" not in hidden
    shown = run("list", str(folder), "--all", now=now).output
    assert "done 2026-11-23" in shown and "thank-you note to Raj Patel" in shown


def test_what_was_checked_off_at_a_destination_is_taken_in_once(tmp_path: Path) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from backends.memory import MemoryBackend

    from followup.config import Settings
    from followup.jobsearch import _Prepared, load_folder, plan_folder, take_in_completions
    from followup.state import StateStore
    from followup.sync import sync

    folder = tmp_path / "search"
    folder.mkdir()
    path = copy(folder, "onsite-acme.yaml")
    settings = Settings(country="US", timezone="America/New_York")
    now = datetime(2026, 11, 23, 12, tzinfo=ZoneInfo("America/New_York"))
    backend = MemoryBackend(tmp_path)
    store = StateStore(tmp_path / "state.db")
    checked_at = datetime(2026, 11, 21, 2, 30, tzinfo=ZoneInfo("UTC"))  # the 20th in New York
    key = "acme-backend-2026-11/thank-you/jane-doe"

    def one_sync() -> None:
        loaded = load_folder(folder)
        exporter = backend.make_exporter()
        exporter.completions = lambda tasks: {  # type: ignore[method-assign]
            task.task.key: checked_at for task in tasks if task.task.key == key
        }
        take_in_completions(
            _Prepared("memory", exporter, store, set()),
            loaded,
            settings,
            dry_run=False,
            echo=lambda line: None,
        )
        plans = plan_folder(loaded, settings, now)
        sync([t for ts in plans.values() for t in ts], set(plans), exporter, store)

    one_sync()  # the first sync sends the tasks
    assert "done" not in path.read_text(encoding="utf-8")
    one_sync()  # the next one finds the thank-you checked off there
    assert "thank-you/jane-doe: 2026-11-20" in path.read_text(encoding="utf-8")
    [row] = [row for row in store.rows("memory", "default") if row.key == key]
    assert row.remote.status == "done"

    run("done", str(path), "thank-you/jane-doe", "--undo", now="2026-11-23T12:00:00-05:00")
    one_sync()  # the later undo wins: the same completion is not taken in again
    assert "thank-you/jane-doe" not in path.read_text(encoding="utf-8")
    [row] = [row for row in store.rows("memory", "default") if row.key == key]
    assert row.remote.status == "planned"
    store.close()


def test_new_writes_into_the_job_search_folder_and_says_sync_next(tmp_path: Path) -> None:
    from test_jobsearch import init

    folder = tmp_path / "job-search"
    init(folder, "ics")
    made = run(
        "new",
        "--company",
        "Acme Corp",
        "--role",
        "Backend Engineer",
        "--timezone",
        "America/New_York",
        "--at",
        "2026-11-20 14:00",
        "--interviewer",
        "Jane Doe",
        "--decision-by",
        "2026-12-01",
    ).output
    target = folder / "acme-corp-backend-engineer-2026-11.yaml"
    assert target.exists()
    assert made.strip().endswith("next: followup sync   (sends it everywhere)")


def test_list_names_the_interviewer_of_a_draft_written_family_name_first(tmp_path: Path) -> None:
    folder = tmp_path / "search"
    folder.mkdir()
    text = (SAMPLES / "onsite-acme.yaml").read_text(encoding="utf-8")
    (folder / "acme.yaml").write_text(text.replace("name: Jane Doe", 'name: "Doe, Jane"'))
    listed = run("list", str(folder), now="2026-11-23T12:00:00-05:00").output
    assert '--interviewer "Jane Doe"' in listed
