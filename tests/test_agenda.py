"""The agenda page as HTML: sections and groups, the person's and the employer's clocks, the
drafts' links, escaping, the contrast of every colour pair, and the subscribe links."""

from __future__ import annotations

import html.parser
import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from followup_ics.agenda import PALETTE, Agenda, Links, request_base
from interop import HOSTILE, make_task

from followup.drafts import with_links
from followup.record import InterviewRecord, record_from_data

NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=NEW_YORK)
LINKS = Links("http://192.168.1.20:5545/feed/t.ics", "webcal://192.168.1.20:5545/feed/t.ics")


def record(id: str, company: str, zone: str, status: str = "waiting") -> InterviewRecord:
    return record_from_data(
        Path(f"{id}.yaml"),
        {
            "id": id,
            "company": company,
            "role": "Engineer",
            "timezone": zone,
            "status": status,
            "interviews": [{"at": "2026-11-16 10:00", "interviewers": [{"name": "Jane Doe"}]}],
        },
    )


def task(key: str, start: datetime | date, **fields: object) -> object:
    made = make_task(key, start, **fields)  # type: ignore[arg-type]
    return replace(made, application=f"{key.split('/')[0].title()} — Engineer")


class Page(html.parser.HTMLParser):
    """The page as a tree-less list of (tag, attrs) and the text, to check structure."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(data.decode("utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def hrefs(self) -> list[str]:
        return [str(attrs["href"]) for tag, attrs in self.tags if tag == "a"]


def agenda(tasks: list, timezone: str | None = "America/New_York") -> Agenda:
    records = {
        "acme": (Path("acme.yaml"), record("acme", "Acme", "America/Los_Angeles", "heard-back")),
        "globex": (Path("globex.yaml"), record("globex", "Globex", "America/New_York")),
    }
    return Agenda.collect("Follow-ups", tasks, records, timezone)


def test_overdue_then_today_then_upcoming_grouped_by_application_with_status() -> None:
    done_today = task("globex/sent", datetime(2026, 11, 20, 9, 0, tzinfo=NEW_YORK), title="Sent")
    done_before = task("globex/old", datetime(2026, 11, 19, 9, 0, tzinfo=NEW_YORK), title="Old")
    tasks = [
        task("acme/later", datetime(2026, 11, 25, 12, 0, tzinfo=NEW_YORK), title="Later one"),
        task("globex/today", datetime(2026, 11, 23, 15, 0, tzinfo=NEW_YORK), title="Today one"),
        task("acme/overdue", datetime(2026, 11, 20, 9, 0, tzinfo=NEW_YORK), title="Late one"),
        task("acme/stale", datetime(2026, 11, 10, 9, 0, tzinfo=NEW_YORK), title="Stale one"),
        task("globex/far", datetime(2026, 12, 20, 9, 0, tzinfo=NEW_YORK), title="Far one"),
        task("acme/gone", datetime(2026, 11, 24, 9, 0, tzinfo=NEW_YORK), status="cancelled"),
        replace(done_today, status="done", done_on=date(2026, 11, 23)),
        replace(done_before, status="done", done_on=date(2026, 11, 22)),
    ]
    page = agenda(tasks).page(NOW, LINKS).decode()
    order = re.findall(r'<p class="what"><bdi>([^<]*)</bdi>', page)
    # Open work until it is marked done (as `followup list`), however old; done today last.
    assert order == ["Stale one", "Late one", "Today one", "Sent", "Later one"]
    now_section, upcoming = page.split('<h2 id="upcoming">')
    assert now_section.index("Acme — Engineer") < now_section.index("Globex — Engineer")
    assert "Heard back" in now_section and "Waiting to hear" in now_section
    assert re.search(r'class="task overdue">.*?Overdue', now_section)
    assert re.search(r'class="task today">.*?Today', now_section)
    assert re.search(r'class="task done">.*?Done', now_section)
    assert "Later one" in upcoming and "1 more after" in upcoming
    assert "Send a thank-you note" not in page  # the cancelled one is not shown
    forms = re.findall(
        r'<form method="post"><input type="hidden" name="task" value="([^"]+)"', page
    )
    assert sorted(forms) == ["acme/later", "acme/overdue", "acme/stale", "globex/today"]


def test_times_in_the_persons_zone_with_the_employers_beside_when_it_differs() -> None:
    tasks = [
        task("acme/call", datetime(2026, 11, 24, 9, 0, tzinfo=LOS_ANGELES), title="Call Acme"),
        task("globex/call", datetime(2026, 11, 24, 14, 0, tzinfo=NEW_YORK), title="Call Globex"),
        task("globex/prep", date(2026, 11, 25), title="Prepare"),
    ]
    page = agenda(tasks).page(NOW, LINKS).decode()
    acme = page[page.index("Acme — Engineer") :]
    assert re.search(
        r">Tomorrow 12:00</time> <span class=\"their\">\(09:00 Los Angeles time\)", acme
    )
    globex = page[page.index("Globex — Engineer") :]
    assert ">Tomorrow 14:00</time>" in globex and "New York time" not in globex
    assert "Wed 25 Nov, any time" in globex
    berlin = agenda(tasks, "Europe/Berlin").page(NOW, LINKS).decode()
    assert ">Tomorrow 18:00</time>" in berlin and "(09:00 Los Angeles time)" in berlin
    assert "(Tue 14:00 New York time)" not in berlin and "(14:00 New York time)" in berlin


def test_each_draft_opens_in_place_with_its_mailto_or_tel_and_a_copy_button() -> None:
    text = "Subject: Thank you\n\nDear Jane,\n\nThank you & see you <soon>."
    mailto = "mailto:jane@acme.example?subject=Thank%20you"
    tasks = [
        task(
            "acme/thanks",
            datetime(2026, 11, 24, 9, 0, tzinfo=NEW_YORK),
            body=with_links(text, [mailto], ["Proofread it."]),
        ),
        task("globex/call", datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK)),
    ]
    tasks[0] = replace(tasks[0], links=(mailto,), advice=("Proofread it.",))
    links = ("tel:+15550100", "javascript:alert(1)")
    tasks[1] = replace(tasks[1], links=links, body=with_links("Hi", list(links)))
    page = Page(agenda(tasks).page(NOW, LINKS))
    # A tap sends it: subject and the draft's text (not the advice) ride in the link.
    sent = mailto + "&body=" + quote("Dear Jane,\r\n\r\nThank you & see you <soon>.", safe="")
    assert sent in page.hrefs() and "tel:+15550100" in page.hrefs()
    assert not any(href.startswith("javascript") for href in page.hrefs())
    shown = "".join(page.text)
    assert "Subject: Thank you" in shown and "Dear Jane,\n\nThank you & see you <soon>." in shown
    assert "Proofread it." in shown and "paste the text above" not in shown
    assert sum(tag == "details" for tag, _ in page.tags) == 2
    copies = [attrs for tag, attrs in page.tags if tag == "button" and "data-copy" in attrs]
    ids = {attrs.get("id") for tag, attrs in page.tags if tag == "pre"}
    assert len(copies) == 2 and {attrs["data-copy"] for attrs in copies} == ids


def test_every_text_is_escaped_and_cannot_reorder_the_page() -> None:
    evil = "<img src=x onerror=alert(1)>\"'&" + HOSTILE
    tasks = [
        replace(
            task("acme/x", datetime(2026, 11, 24, 9, 0, tzinfo=NEW_YORK)),
            title=evil,
            body=evil,
            application=evil,
            people=(evil,),
        )
    ]
    data = agenda(tasks).page(NOW, LINKS)
    page = Page(data)
    assert "img" not in {tag for tag, _ in page.tags}
    assert all(not name.startswith("on") for _, attrs in page.tags for name in attrs)
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", data)
    assert "<img src=x onerror=alert(1)>" in "".join(page.text)
    assert data.count(b"<bdi>") >= 4  # title, application, people, draft's heading


def relative_luminance(color: str) -> float:
    """WCAG 2.2 relative luminance of #rrggbb (sRGB, as the definition gives it)."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("name", PALETTE)
def test_every_colour_pair_meets_wcag_aa_contrast(name: str) -> None:
    """WCAG 2.2 SC 1.4.3: 4.5:1 for normal text; ratio = (L1 + 0.05) / (L2 + 0.05)."""
    foreground, background = (relative_luminance(c) for c in PALETTE[name])
    light, dark = max(foreground, background), min(foreground, background)
    assert (light + 0.05) / (dark + 0.05) >= 4.5


def test_subscribe_links_name_the_host_the_browser_asked_or_the_configured_url() -> None:
    page = Page(agenda([]).page(NOW, LINKS))
    google = next(href for href in page.hrefs() if "google" in href)
    assert urlsplit(google)[:3] == ("https", "calendar.google.com", "/calendar/r")
    assert unquote(parse_qs(urlsplit(google).query)["cid"][0]) == LINKS.webcal
    assert LINKS.webcal in page.hrefs() and LINKS.feed in page.hrefs()
    assert request_base({"HTTP_HOST": "192.168.1.20:5545"}, None) == "http://192.168.1.20:5545"
    bad = {"HTTP_HOST": 'evil"><script>', "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "5545"}
    assert request_base(bad, None) == "http://127.0.0.1:5545"
    assert request_base(bad, "https://feeds.example.org") == "https://feeds.example.org"
    assert "Nothing due today." in "".join(page.text)


def test_an_empty_zone_setting_uses_the_zone_of_now() -> None:
    tasks = [task("acme/x", datetime(2026, 11, 24, 9, 0, tzinfo=NEW_YORK) + timedelta(hours=1))]
    page = agenda(tasks, None).page(NOW, LINKS).decode()
    assert "times in America/New_York" in page and ">Tomorrow 10:00</time>" in page
