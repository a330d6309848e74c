"""Draft texts: a personal thank-you per interviewer, check-in scripts, closing notes.

Templates are plain text with `{placeholders}`; a file of the same name in the user's
`templates/` config folder replaces the built-in one. A line whose placeholders are all
empty disappears, so optional sentences leave no gaps.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote

from followup.errors import UserError

BUILT_IN = Path(__file__).parent / "templates"
PLACEHOLDER = re.compile(r"\{(\w+)\}")

# Three openings, picked by the interviewer's name, so no two notes read like a form letter.
OPENINGS = (
    "Thank you for taking the time to meet with me on {day} about the {role} role.",
    "I appreciated our conversation on {day} — thank you for walking me through the {role} role.",
    "Thank you for the thoughtful discussion on {day}; it made me even keener on the {role} role.",
)


@dataclass(frozen=True)
class Draft:
    subject: str | None
    text: str


def render(name: str, fields: dict[str, str], templates_dir: Path | None) -> Draft:
    """Fill the template `name`; the user's copy wins over the built-in one."""
    user_copy = templates_dir / f"{name}.txt" if templates_dir else None
    path = user_copy if user_copy and user_copy.is_file() else BUILT_IN / f"{name}.txt"
    lines = []
    for line, names in _parsed_template(path, path.stat().st_mtime_ns):
        for placeholder in names:
            if placeholder not in fields:
                raise UserError(f"{path}: unknown placeholder {{{placeholder}}}")
        if names and not any(fields[p] for p in names) and not PLACEHOLDER.sub("", line).strip():
            continue  # an optional sentence with nothing to say
        filled = PLACEHOLDER.sub(lambda match: fields[match.group(1)], line) if names else line
        lines.append(re.sub(r"(?<=\S) {2,}", " ", filled).rstrip())  # gaps of empty sentences
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    subject = None
    if text.startswith("Subject: "):
        first, _, text = text.partition("\n")
        subject = first.removeprefix("Subject: ").strip()
        text = text.strip()
    return Draft(subject, text)


@functools.lru_cache(maxsize=64)
def _parsed_template(path: Path, mtime_ns: int) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each line and its placeholders, read once per version of the file (a feed plans
    thousands of tasks)."""
    text = path.read_text(encoding="utf-8")
    return tuple((line, tuple(PLACEHOLDER.findall(line))) for line in text.splitlines())


def join_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def long_day(day: date) -> str:
    return f"{day:%A}, {day:%B} {day.day}"


def thank_you_fields(
    *,
    name: str,
    topics: list[str],
    help_text: str | None,
    forgot: list[str],
    company: str,
    role: str,
    day: date,
    signature: str,
) -> dict[str, str]:
    """The personal parts of one interviewer's thank-you."""
    first_name = name.split()[0] if name.split() else name
    variant = int(hashlib.sha256(name.encode()).hexdigest(), 16) % len(OPENINGS)
    topics_sentence = (
        f"I especially enjoyed talking with you about {join_words(topics)}." if topics else ""
    )
    if help_text:
        help_sentence = help_text.strip()
    elif topics:
        help_sentence = (
            f"What you shared about {topics[0]} is exactly the kind of problem I would like to "
            "help solve, and I believe my experience would let me contribute quickly."
        )
    else:
        help_sentence = ""
    forgot_sentence = (
        f"One thing I did not get to mention: I {join_words(forgot)}." if forgot else ""
    )
    return {
        "name": name,
        "greeting_name": first_name,
        "company": company,
        "role": role,
        "interview_day": long_day(day),
        "opening": OPENINGS[variant].format(day=long_day(day), role=role),
        "topics_sentence": topics_sentence,
        "topics_short": f"I enjoyed our talk about {topics[0]}." if topics else "",
        "help_sentence": help_sentence,
        "interest_sentence": (
            f"I am very interested in joining {company}, and I am confident I would be a good "
            "fit for the team."
        ),
        "forgot_sentence": forgot_sentence,
        "closing": "Best regards,",
        "signature": signature,
    }


def mailto(address: str | None, subject: str | None, body: str) -> str | None:
    if not address:
        return None
    query = f"subject={quote(subject or '')}&body={quote(body)}"
    return f"mailto:{quote(address, safe='@.+-_')}?{query}"


def tel(phone: str | None) -> str | None:
    if not phone:
        return None
    digits = re.sub(r"[^\d+]", "", phone)
    return f"tel:{digits}" if digits.strip("+") else None


def with_links(text: str, links: list[str]) -> str:
    """The body a reminder shows: the draft, then the links to act on it."""
    lines = [text]
    for link in links:
        label = "Call" if link.startswith("tel:") else "Send it"
        lines.append(f"{label}: {link}")
    return "\n\n".join(lines)
