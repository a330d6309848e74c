"""`followup init`, `sync` and `list` over a folder of records (ics, and an unconfigured
Todoist for a destination that fails)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner, Result

from followup.cli import cli
from followup.config import load_settings, settings_path

SAMPLES = Path(__file__).parent.parent / "samples"
NOW = ["--now", "2026-11-20T19:00:00-05:00"]


def run(*args: str, code: int = 0, given: str | None = None) -> Result:
    result = CliRunner().invoke(cli, [*NOW, *args], input=given)
    assert result.exit_code == code, result.output
    return result


def init(folder: Path, *destinations: str) -> None:
    flags = [arg for name in destinations for arg in ("--destination", name)]
    run(
        "init",
        "--name",
        "Alex Morgan",
        "--timezone",
        "America/New_York",
        "--country",
        "US",
        "--folder",
        str(folder),
        *flags,
    )


def row(output: str, name: str) -> tuple[int, ...]:
    match = re.search(rf"^{name}\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", output, re.M)
    assert match, output
    return tuple(int(n) for n in match.groups())


def test_init_writes_settings_that_read_back_and_never_overwrites_unasked(
    folder: Path, terminal: None
) -> None:
    answers = (
        "Alex Morgan\nAlex\n--\nAmerica/Chicago\nde\n08:30-16:30\n" + f"{folder}\nics, todoist\n"
    )
    result = run("init", given=answers.replace("--\n", "\n"))  # no e-mail address
    assert "followup auth todoist" in result.output
    settings = load_settings()
    assert (settings.name, settings.signature, settings.timezone) == (
        "Alex Morgan",
        "Alex",
        "America/Chicago",
    )
    assert (settings.country, settings.working_hours) == ("DE", ("08:30", "16:30"))
    assert settings.folder == folder and settings.destinations == ("ics", "todoist")
    assert settings.exporters["ics"] == {"output_dir": f"{folder}/calendar"}
    before = settings_path().read_bytes()
    again = run("init", "--name", "Someone Else", given="n\n")
    assert "kept" in again.output and settings_path().read_bytes() == before


def test_sync_every_record_then_nothing_then_one_edit(folder: Path) -> None:
    init(folder, "ics")
    first = run("sync")
    created = row(first.output, "ics")[0]
    assert created > 40 and "7 record(s)" in first.output
    assert len(list((folder / "calendar").glob("*.ics"))) == 7
    assert row(run("sync").output, "ics") == (0, 0, 0, created, 0)
    acme = folder / "onsite-acme.yaml"
    acme.write_text(acme.read_text().replace("[Kafka migration]", "[Kafka]"))
    dry = run("sync", "--dry-run")
    assert "ics: would update acme-backend-2026-11/thank-you/raj-patel" in dry.output
    assert row(run("sync").output, "ics")[:3] == (0, 2, 0)


def test_a_failing_destination_spares_the_others_and_exits_1(folder: Path) -> None:
    init(folder, "ics", "todoist")
    result = run("sync", code=1)
    assert row(result.output, "ics")[0] > 40
    assert re.search(r"^todoist\s+could not sync: .*followup auth todoist", result.output, re.M)
    assert "run `followup sync` again" in result.output


def test_a_broken_record_is_reported_and_blocks_pruning(folder: Path) -> None:
    init(folder, "ics")
    first = row(run("sync").output, "ics")[0]
    (folder / "sales-umbrella.yaml").unlink()
    (folder / "broken.yaml").write_text("id: [unclosed\n")
    result = run("sync", "--prune", code=2)
    assert "skipped broken.yaml" in result.output.replace(str(folder) + "/", "")
    assert row(result.output, "ics")[2] == 0  # the broken file may be the "deleted" record
    (folder / "broken.yaml").unlink()
    declined = run("sync")  # not a terminal: nothing is asked, nothing cancelled
    assert "run with --prune" in declined.output and row(declined.output, "ics")[2] == 0
    pruned = run("sync", "--prune")
    cancelled = row(pruned.output, "ics")[2]
    assert cancelled > 0 and row(pruned.output, "ics")[3] == first - cancelled
    assert "cancelled the tasks of deleted umbrella-ae-2026-11" in pruned.output
    assert "run with --prune" not in run("sync").output


def test_sync_without_destinations_or_folder_says_what_to_do(folder: Path) -> None:
    assert "give the folder" in run("sync", code=2).output
    assert "followup init" in run("sync", str(folder), code=2).output


def test_list_shows_overdue_first_then_by_date(folder: Path) -> None:
    init(folder, "ics")
    lines = run("list").output.splitlines()
    headers = [line for line in lines if not line.startswith(" ")]
    assert len(headers) == 7  # one group per application
    groups = "\n".join(lines).split("\n" + headers[1])[0]
    assert "overdue" in groups  # the first group has overdue work
    acme = run("list").output.split("Acme Corp")[1]
    assert "[waiting]" in acme.splitlines()[0] and "Send a thank-you note to Jane Doe" in acme
    vandelay = run("list").output.split("Vandelay Industries — Product Manager")[1]
    assert "[withdrawn]" in vandelay.splitlines()[0] and "withdrawing" in vandelay
