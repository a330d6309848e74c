"""The agenda page at `/feed/<token>`: what to do next, read and acted on from a phone.

Overdue and today's tasks come first, then upcoming ones, each section grouped by
application with its status. Times are in the person's zone (`[you] timezone`), with the
employer's clock beside them when it reads differently. Each draft opens in place with
tap-to-send `mailto:`/`tel:` links and a copy button. The page is one self-contained
document: its inline style and script are allowed by hash in a CSP that allows nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from followup.config import Settings
from followup.drafts import with_body
from followup.errors import UserError
from followup.jobsearch import instant
from followup.record import InterviewRecord
from followup.tasks import Task

__all__ = ["CONTENT_SECURITY_POLICY", "PALETTE", "Agenda", "request_base"]

UPCOMING = timedelta(days=14)  # keeps the page small; the calendar itself has everything
STATUS_LABELS = {
    "waiting": "Waiting to hear",
    "heard-back": "Heard back",
    "offer": "Offer",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
}
# Foreground/background pairs the page uses; a test holds each to WCAG 2.2 AA (4.5:1).
PALETTE = {
    "text": ("#1b1f24", "#ffffff"),
    "muted": ("#4a5360", "#ffffff"),
    "card": ("#1b1f24", "#f6f8fa"),
    "card-muted": ("#4a5360", "#f6f8fa"),
    "link": ("#0b57a4", "#ffffff"),
    "button": ("#ffffff", "#0b57a4"),
    "overdue": ("#8c1d18", "#fdecea"),
    "today": ("#6b4a00", "#fff4d6"),
    "status": ("#1f4d2b", "#e3f3e6"),
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_HOST = re.compile(r"[A-Za-z0-9.-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")


def _css() -> str:
    text, muted, card, _, link, button, overdue, today, status = PALETTE.values()
    return f"""
*{{box-sizing:border-box}}
body{{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;\
color:{text[0]};background:{text[1]};overflow-wrap:anywhere}}
header,main,footer{{max-width:64rem;margin:0 auto;padding:0 .9rem}}
h1{{font-size:1.35rem;margin:1rem 0 .2rem}}
h2{{font-size:1.1rem;margin:1.4rem 0 .4rem}}
h3{{font-size:1rem;margin:1rem 0 .4rem;display:flex;flex-wrap:wrap;gap:.4rem;\
align-items:baseline}}
.muted,.their,.who{{color:{muted[0]}}}
.vh{{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);\
white-space:nowrap}}
a{{color:{link[0]}}}
.badge{{font-size:.8rem;font-weight:600;padding:.05rem .45rem;border-radius:1rem}}
.status{{color:{status[0]};background:{status[1]}}}
.overdue .flag{{color:{overdue[0]};background:{overdue[1]}}}
.today .flag{{color:{today[0]};background:{today[1]}}}
.done .flag{{color:{status[0]};background:{status[1]}}}
li.done .what{{text-decoration:line-through}}
ul{{list-style:none;margin:0;padding:0}}
li.task{{background:{card[1]};color:{card[0]};border:1px solid #d0d7de;border-radius:.6rem;\
padding:.7rem .8rem;margin:0 0 .6rem}}
li.task .their,li.task .who{{color:{muted[0]}}}
.when{{margin:0;font-size:.95rem}}
.what{{margin:.15rem 0 0;font-weight:600}}
.who{{margin:0;font-size:.95rem}}
details{{margin-top:.4rem}}
summary{{cursor:pointer;color:{link[0]};padding:.3rem 0;min-height:2.75rem;display:flex;\
align-items:center}}
pre{{white-space:pre-wrap;font:inherit;background:{text[1]};border:1px solid #d0d7de;\
border-radius:.4rem;padding:.6rem;margin:.3rem 0}}
.actions{{display:flex;flex-wrap:wrap;gap:.5rem;margin:.4rem 0 0}}
.button{{display:inline-flex;align-items:center;min-height:2.75rem;padding:.4rem .9rem;\
border-radius:.4rem;border:1px solid {button[1]};background:{button[1]};color:{button[0]};\
font:inherit;text-decoration:none;cursor:pointer}}
button.button{{background:{text[1]};color:{link[0]}}}
.head{{display:none}}
footer{{margin:2rem auto 1.5rem}}
footer code{{font-size:.85rem}}
@media (min-width:48rem){{
li.task,.head{{display:grid;grid-template-columns:15rem 1fr 7rem;gap:0 1rem;\
border-radius:0;border-width:0 0 1px;margin:0;padding:.35rem .3rem;background:none}}
.head{{font-size:.85rem;font-weight:600;color:{muted[0]};border-bottom:2px solid #d0d7de}}
.what{{margin:0}}
li.task details{{margin:0}}
li.task summary{{min-height:auto;padding:0}}
li.task details[open]{{grid-column:1/-1}}
}}
""".strip()


# Runs only where the CSP allows it (by hash); without it the page works, minus copying.
_SCRIPT = """
function copyText(text) {
  var area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  document.body.appendChild(area);
  area.select();
  var copied = document.execCommand("copy");
  area.remove();
  return copied;
}
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    var text = document.getElementById(button.dataset.copy).textContent;
    var status = document.getElementById("copy-status");
    var done = function () { button.textContent = "Copied"; status.textContent = "Copied."; };
    var failed = function () { status.textContent = "Could not copy; select the text instead."; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {
        copyText(text) ? done() : failed();
      });
    } else {
      copyText(text) ? done() : failed();
    }
  });
});
""".strip()

_STYLE = _css()


def _source_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


# Nothing but this page's own style and script: no other origin, no frames, no forms.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src {_source_hash(_STYLE)}; "
    f"script-src {_source_hash(_SCRIPT)}; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def _text(value: str) -> str:
    """Escaped for HTML text and attributes; control characters (not valid HTML) shown as �."""
    return html.escape(_CONTROL.sub("\ufffd", value), quote=True)


def _isolated(value: str) -> str:
    """User text in <bdi>, so a direction mark inside cannot reorder the page around it."""
    return f"<bdi>{_text(value)}</bdi>"


def request_base(environ: Mapping[str, Any], configured: str | None) -> str:
    """The base URL the page's subscribe links use: the configured public URL, else the
    host the browser asked (so a phone on the LAN gets links it can reach)."""
    if configured:
        return configured
    scheme = "https" if environ.get("wsgi.url_scheme") == "https" else "http"
    host = str(environ.get("HTTP_HOST") or "")
    if not _HOST.fullmatch(host):
        name, port = environ.get("SERVER_NAME") or "localhost", environ.get("SERVER_PORT") or "80"
        host = f"[{name}]:{port}" if ":" in str(name) else f"{name}:{port}"
    return f"{scheme}://{host}"


@dataclass(frozen=True)
class Links:
    """Where the page points a subscriber: the feed over http(s) and as webcal://."""

    feed: str
    webcal: str

    @property
    def google(self) -> str:
        # Google's add-by-URL prompt (observed, undocumented: simonwillison.net TIL
        # "google-calendar-ics-subscribe-link"); Google must reach the feed over HTTPS.
        return "https://calendar.google.com/calendar/r?cid=" + quote(self.webcal, safe=":/")


@dataclass(frozen=True)
class Agenda:
    """What one build of the feed knows for the page; the page itself is made per request,
    since what is overdue or today moves with the clock."""

    name: str
    tasks: tuple[Task, ...]  # planned and done tasks in the feed's window
    records: Mapping[str, InterviewRecord]
    files: Mapping[str, Path]  # each record's file, by id
    zone: tzinfo | None  # the person's zone; None: the zone of `now`
    # By task key: the HTML that does not move with the clock, made when first shown (a
    # rebuild stays cheap; racing requests would only make the same text twice).
    parts: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def collect(
        cls,
        name: str,
        tasks: Iterable[Task],
        records: Mapping[str, tuple[Path, InterviewRecord]],
        timezone: str | None,
    ) -> Agenda:
        planned = tuple(task for task in tasks if task.status in ("planned", "done"))
        return cls(
            name,
            planned,
            {id: record for id, (_, record) in records.items()},
            {id: path for id, (path, _) in records.items()},
            ZoneInfo(timezone) if timezone else None,
        )

    def mark_done(self, key: str, settings: Settings, now: datetime) -> bool:
        """Record in its record file that the task `key` was done today, as `followup done`
        does; False when it already was (a second tap writes nothing)."""
        from followup.living import find_task, mark_done
        from followup.planner import plan_record
        from followup.record import load_record

        path = self.files.get(key.partition("/")[0])
        if path is None:
            raise UserError(f"no task {key!r} here; reload the page")
        record = load_record(path)
        task = find_task(plan_record(record, settings, now), key)
        if task.status == "done":
            return False
        if task.status == "cancelled":
            raise UserError(f"{task.ref} is cancelled ({record.status}); nothing to mark done")
        mark_done(path, task, (now.astimezone(self.zone) if self.zone else now).date())
        return True

    def page(self, now: datetime, links: Links) -> bytes:
        """The HTML page as of `now`."""
        now = now.astimezone(self.zone) if self.zone else now
        current, later = self._sections(now)
        horizon = now + UPCOMING
        shown = [task for task in later if _start(task, now) < horizon]
        counts = f"{len(current)} overdue or today · {len(shown)} in the next two weeks"
        zone_name = getattr(now.tzinfo, "key", None) or now.strftime("%Z") or "UTC"
        body = [
            f"<header><h1>{_isolated(self.name)}</h1>",
            f'<p class="muted">As of {_text(_long(now))} · times in {_text(zone_name)}'
            f" · {_text(counts)}</p></header>",
            '<main id="main">',
            self._section("now", "Overdue and today", current, now),
            self._section("upcoming", "Next two weeks", shown, now),
        ]
        if len(later) > len(shown):
            body.append(
                f'<p class="muted">And {len(later) - len(shown)} more after '
                f"{_text(_short(horizon, now))}; your calendar has them all.</p>"
            )
        body.append("</main>")
        body.append(_footer(links))
        return _document(self.name, "\n".join(body)).encode("utf-8")

    def _due(self, task: Task, now: datetime) -> datetime:
        return instant(task.due, now)

    def _sections(self, now: datetime) -> tuple[list[Task], list[Task]]:
        """(overdue and today, upcoming), as `followup list` counts them: every open task that
        starts by the end of today, overdue ones first, soonest due first; then what was
        marked done today, so a tap on "Done" shows where it went."""
        current: list[Task] = []
        later: list[Task] = []
        today = now.date()
        for task in self.tasks:
            if task.status == "done":
                if task.done_on == today:
                    current.append(task)
            elif _local_date(task.start, now) <= today:
                current.append(task)
            else:
                later.append(task)
        current.sort(key=lambda task: self._urgency(task, now))
        later.sort(key=lambda task: (_start(task, now), task.key))
        return current, later

    def _urgency(self, task: Task, now: datetime) -> tuple[bool, bool, datetime, str]:
        """Open before done, overdue before due today, then the soonest due."""
        due = self._due(task, now)
        return (task.status == "done", due >= now, due, task.key)

    def _section(self, ident: str, title: str, tasks: list[Task], now: datetime) -> str:
        parts = [f'<section aria-labelledby="{ident}"><h2 id="{ident}">{title}</h2>']
        if not tasks:
            empty = "Nothing due today." if ident == "now" else "Nothing planned yet after today."
            parts.append(f'<p class="muted">{empty}</p></section>')
            return "\n".join(parts)
        groups: dict[str, list[Task]] = {}
        for task in tasks:  # applications in the order of their most pressing task
            groups.setdefault(task.record, []).append(task)
        for number, (record_id, group) in enumerate(groups.items(), 1):
            record = self.records.get(record_id)
            heading = f"{ident}-{number}"
            status = ""
            if record is not None:
                label = STATUS_LABELS.get(record.status, record.status)
                status = f' <span class="badge status">{_text(label)}</span>'
            parts.append(  # not a landmark: an application's name repeats across sections
                f'<section class="application"><h3 id="{heading}">'
                f"{_isolated(group[0].application)}{status}</h3>"
                '<div class="head" aria-hidden="true"><span>When</span><span>What</span>'
                "<span>Draft</span></div><ul>"
            )
            zone = record.zone if record is not None else None
            parts += [self._card(task, now, zone) for task in group]
            parts.append("</ul></section>")
        parts.append("</section>")
        return "\n".join(parts)

    def _card(self, task: Task, now: datetime, employer: ZoneInfo | None) -> str:
        if task.status == "done":
            state, flag = "done", '<span class="badge flag">Done</span> '
        elif self._due(task, now) < now:
            state, flag = "overdue", '<span class="badge flag">Overdue</span> '
        elif _local_date(task.start, now) <= now.date():
            state, flag = "today", '<span class="badge flag">Today</span> '
        else:
            state, flag = "upcoming", ""
        when = _when(task.start, now, employer)
        if task.due != task.start:
            when += f' <span class="their">· due {_text(_short(task.due, now))}</span>'
        return f'<li class="task {state}"><p class="when">{flag}{when}</p>{self._part(task)}</li>'

    def _part(self, task: Task) -> str:
        part = self.parts.get(task.key)
        if part is None:
            ident = "d" + hashlib.sha256(task.key.encode("utf-8")).hexdigest()[:12]
            part = self.parts[task.key] = _still_part(ident, task)
        return part


def _still_part(ident: str, task: Task) -> str:
    """A card's title, people and draft (opening in place, with its links, a copy button and,
    while it is open, a "Mark done" button)."""
    draft = task.draft
    subject = ""
    if draft.startswith("Subject: "):  # the planner's way of giving an email's subject
        first, _, draft = draft.partition("\n\n")
        subject = first.removeprefix("Subject: ")
    # A tap sends it: the email link carries the text too (calendars get the short link).
    links = [
        with_body(link, draft) if link.startswith("mailto:") else link
        for link in task.links
        if link.startswith(("mailto:", "tel:"))
    ]
    who = f'<p class="who">With {_isolated(", ".join(task.people))}</p>' if task.people else ""
    actions = [
        f'<button type="button" class="button" data-copy="{ident}" hidden>'
        f'Copy text<span class="vh"> of the draft: {_text(task.title)}</span></button>',
        *(_action(link, task) for link in links),
    ]
    if task.status == "planned":  # a POST to this same secret URL, as `followup done` would
        actions.append(
            f'<form method="post"><input type="hidden" name="task" value="{_text(task.key)}">'
            f'<button type="submit" class="button done">Mark done<span class="vh">: '
            f"{_text(task.title)}</span></button></form>"
        )
    subject_html = f"<p><strong>Subject:</strong> {_isolated(subject)}</p>" if subject else ""
    advice = "".join(f'<p class="muted">{_isolated(line)}</p>' for line in task.advice)
    return (
        f'<div><p class="what">{_isolated(task.title)}</p>{who}</div>'
        f'<details><summary>Draft<span class="vh">: {_text(task.title)}</span></summary>'
        f'{subject_html}<pre id="{ident}">{_text(draft)}</pre>{advice}'
        f'<div class="actions">{"".join(actions)}</div></details>'
    )


def _action(link: str, task: Task) -> str:
    if link.startswith("tel:"):
        label = f"Call {link.removeprefix('tel:')}"
    else:
        address = urlsplit(link).path
        label = f"Email {address}" if address else "Write the email"
    return (
        f'<a class="button" href="{_text(link)}">{_text(label)}'
        f'<span class="vh"> for: {_text(task.title)}</span></a>'
    )


def _footer(links: Links) -> str:
    return (
        '<footer><nav aria-label="Subscribe"><h2>Subscribe</h2>'
        "<p>Follow these tasks in your calendar; it updates itself as records change.</p>"
        '<p class="actions">'
        f'<a class="button" href="{_text(links.webcal)}">Subscribe in your calendar app</a>'
        f'<a class="button" href="{_text(links.google)}">Add to Google Calendar</a>'
        f'<a href="{_text(links.feed)}">Calendar file (.ics)</a></p>'
        f'<p class="muted">Feed address: <code>{_text(links.feed)}</code></p>'
        '<p class="muted">Google Calendar fetches the feed from the internet: it needs the '
        "public HTTPS address set as <code>url</code> under <code>[exporters.feed]</code>."
        "</p></nav>"
        '<p id="copy-status" class="vh" role="status" aria-live="polite"></p></footer>'
    )


def _document(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><meta name="robots" content="noindex">
<title>{_text(title)}</title>
<style>{_STYLE}</style></head>
<body>
{body}
<script>{_SCRIPT}</script>
</body></html>
"""


def _start(task: Task, now: datetime) -> datetime:
    """Where an item begins, an all-day one at midnight of the person's day."""
    if isinstance(task.start, datetime):
        return task.start
    return datetime.combine(task.start, datetime.min.time(), now.tzinfo)


def _local_date(when: datetime | date, now: datetime) -> date:
    return when.astimezone(now.tzinfo).date() if isinstance(when, datetime) else when


def _relative_day(day: date, now: datetime) -> str:
    offset = (day - now.date()).days
    if offset == 0:
        return "Today"
    if offset == 1:
        return "Tomorrow"
    if offset == -1:
        return "Yesterday"
    return f"{day:%a} {day.day} {day:%b}"


def _short(when: datetime | date, now: datetime) -> str:
    if isinstance(when, datetime):
        local = when.astimezone(now.tzinfo)
        return f"{_relative_day(local.date(), now)} {local:%H:%M}"
    return _relative_day(when, now)


def _long(now: datetime) -> str:
    return f"{now:%a} {now.day} {now:%b %Y}, {now:%H:%M}"


def _when(start: datetime | date, now: datetime, employer: ZoneInfo | None) -> str:
    """The start in the person's zone; the employer's clock beside it when it reads otherwise."""
    if not isinstance(start, datetime):
        day = _relative_day(start, now)
        return f'<time datetime="{start.isoformat()}">{_text(day)}, any time</time>'
    mine = start.astimezone(now.tzinfo)
    shown = f'<time datetime="{mine.isoformat()}">{_text(_short(mine, now))}</time>'
    if employer is None:
        return shown
    theirs = start.astimezone(employer)
    if (theirs.date(), theirs.time()) == (mine.date(), mine.time()):
        return shown
    place = employer.key.rsplit("/", 1)[-1].replace("_", " ")
    day = f"{theirs:%a} " if theirs.date() != mine.date() else ""
    return f'{shown} <span class="their">({_text(f"{day}{theirs:%H:%M} {place} time")})</span>'
