"""Draft texts: a thank-you per interviewer, check-in notes and call scripts, closing notes.

Templates are plain text with `{placeholders}`; a file of the same name in the user's
`templates/` config folder replaces the built-in one. A line whose placeholders are all
empty disappears, so optional sentences leave no gaps. The sentences that make a note
personal come from pools below; the planner gives each interviewer of an interview a
different rank, so no two of their notes share a sentence [000, 004].
"""

from __future__ import annotations

import functools
import hashlib
import operator
import re
import stat
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote

from followup.errors import UserError

BUILT_IN = Path(__file__).parent / "templates"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
MAX_TOPICS = 2  # a thank-you is brief, not a second interview [002, 003]


@dataclass(frozen=True)
class Draft:
    subject: str | None
    text: str


def render(name: str, fields: dict[str, str], templates_dir: Path | None) -> Draft:
    """Fill the template `name` (the user's copy wins), then proofread the result."""
    path, template = _template(name, templates_dir)
    lines = []
    for line in template:
        for placeholder in line.names:
            if placeholder not in fields:
                raise UserError(f"{path}: unknown placeholder {{{placeholder}}}")
        if line.optional and not any(fields[p] for p in line.names):
            continue  # an optional sentence with nothing to say
        # split() gives text and placeholder names in turn: every odd piece is a name.
        lines.append("".join(fields[p] if i % 2 else p for i, p in enumerate(line.pieces)))
    text = proofread("\n".join(lines))
    subject = None
    if text.startswith("Subject: "):
        first, _, text = text.partition("\n")
        subject = first.removeprefix("Subject: ").strip()
        text = text.strip()
    return Draft(subject, text)


@dataclass(frozen=True)
class _Line:
    pieces: tuple[str, ...]  # PLACEHOLDER.split of the line
    names: tuple[str, ...]  # its placeholders
    optional: bool  # placeholders and nothing else: dropped when they are all empty


def _template(name: str, templates_dir: Path | None) -> tuple[Path, tuple[_Line, ...]]:
    """The user's copy when there is one (looked for on every call: `serve` sees an edit at
    once), else the built-in template."""
    if templates_dir is not None:
        user_copy = templates_dir / f"{name}.txt"
        try:
            status = user_copy.stat()
        except OSError:
            status = None
        if status is not None and stat.S_ISREG(status.st_mode):
            return user_copy, _parsed_template(user_copy, status.st_mtime_ns)
    return _built_in_template(name)


@functools.lru_cache(maxsize=64)
def _built_in_template(name: str) -> tuple[Path, tuple[_Line, ...]]:
    """Read once per process: the built-in templates change only with the code."""
    path = BUILT_IN / f"{name}.txt"
    return path, _parsed_template(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _parsed_template(path: Path, mtime_ns: int) -> tuple[_Line, ...]:
    """Each line, parsed once per version of the file (a feed plans thousands of tasks)."""
    text = path.read_text(encoding="utf-8")
    return tuple(_parsed_line(line) for line in text.splitlines())


def _parsed_line(line: str) -> _Line:
    names = tuple(PLACEHOLDER.findall(line))
    optional = bool(names) and not PLACEHOLDER.sub("", line).strip()
    return _Line(tuple(PLACEHOLDER.split(line)), names, optional)


def proofread(text: str) -> str:
    """Paragraph breaks only (a sign-off and lists keep their lines), no doubled words,
    no doubled spaces or stops [000, 004]."""
    paragraphs = [p for p in PARAGRAPH_BREAK.split(text.strip()) if p.strip()]
    out = []
    for index, paragraph in enumerate(paragraphs):
        lines = [line for line in map(str.strip, paragraph.splitlines()) if line]
        is_list = any(line.startswith("- ") for line in lines)
        is_sign_off = index == len(paragraphs) - 1 and lines[0].endswith(",") and len(lines) > 1
        is_salutation = len(lines) == 1 and lines[0].endswith(",")
        out.append("\n".join(lines) if is_list or is_sign_off or is_salutation else " ".join(lines))
    return _tidy("\n\n".join(out))


PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
WORD = re.compile(r"\w+")
DOUBLED_WORD = re.compile(r"\b(\w+)(?:[ \t]+\1\b)+", re.IGNORECASE)  # "the the"
SPACES = re.compile(r"(?<=\S)[ \t]{2,}")
SPACE_BEFORE_STOP = re.compile(r"[ \t]+([.,;:!?])")
SPACED_STOPS = tuple(f" {mark}" for mark in ".,;:!?")
DOUBLE_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")  # a stop after a sentence that had one


def _tidy(text: str) -> str:
    # Each pattern runs only where a cheap test finds work: a feed proofreads thousands.
    words = WORD.findall(text.lower())
    if any(map(operator.eq, words, words[1:])):  # two words alike side by side
        text = DOUBLED_WORD.sub(r"\1", text)
    if "  " in text or "\t" in text:
        text = SPACES.sub(" ", text)
    if any(spaced in text for spaced in SPACED_STOPS):
        text = SPACE_BEFORE_STOP.sub(r"\1", text)
    if ".." in text:
        text = DOUBLE_STOP.sub(".", text)
    if "day, " in text:
        text = LONG_DATE_MID_SENTENCE.sub(r"\1,", text)  # "on Friday, November 20, about"
    return text


LONG_DATE_MID_SENTENCE = re.compile(
    r"\b((?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, [A-Z][a-z]+ \d{1,2})(?= [a-z])"
)


# --- names ------------------------------------------------------------------------------

HONORIFICS = {
    "dr", "prof", "professor", "mr", "mrs", "ms", "mx", "miss", "sir", "dame", "rev", "dean",
}  # fmt: skip
POST_NOMINALS = {"jr", "sr", "ii", "iii", "iv", "phd", "md", "mba", "esq", "cpa", "pe", "dds"}
PARTICLES = {"van", "von", "de", "der", "den", "da", "di", "du", "la", "le", "del", "bin", "al"}


@dataclass(frozen=True)
class PersonName:
    display: str  # as it should be written: "Dr. Jane Doe", "Zhang Wei", "John Doe"
    given: str
    family: str
    honorific: str | None = None


@functools.lru_cache(maxsize=1024)
def parse_name(raw: str) -> PersonName:
    """Honorifics, post-nominals, `Family, Given`, and a family name written first in
    capitals (`ZHANG Wei`), the usual way to mark it."""
    text = " ".join(raw.split())
    head, comma, tail = text.partition(",")
    suffix = ""
    if comma and all(_bare(word) in POST_NOMINALS for word in tail.split()):
        text, suffix = head.strip(), "," + tail
    elif comma and tail.strip():
        text = f"{tail.strip()} {head.strip()}"  # "Doe, John" is John Doe
    words = text.split()
    honorific = None
    if len(words) > 1 and _bare(words[0]) in HONORIFICS:
        honorific, words = words[0], words[1:]
    shouted = [w for w in words if len(w) > 1 and w.isupper() and w.isalpha()]
    if len(words) > 1 and len(shouted) == 1 and words[0] == shouted[0]:
        family = words[0].capitalize()  # family name first, marked in capitals
        given = " ".join(words[1:])
        words = [family, *words[1:]]
    else:
        family_start = len(words) - 1
        while family_start > 1 and words[family_start - 1].lower() in PARTICLES:
            family_start -= 1
        given = words[0] if words else text
        family = " ".join(words[family_start:]) if len(words) > 1 else ""
    display = " ".join([*([honorific] if honorific else []), *words]) + suffix
    return PersonName(
        display=display or raw.strip(), given=given, family=family, honorific=honorific
    )


def _bare(word: str) -> str:
    return word.lower().replace(".", "")


def greeting_name(name: PersonName, override: str | None, formal: bool) -> str:
    """How to address them: their override; a title and surname; formal: the full name."""
    if override:
        return override.strip()
    if name.honorific and name.family:
        return f"{name.honorific} {name.family}"
    if formal:
        return name.display.split(",")[0]
    return name.given


# --- topics -----------------------------------------------------------------------------

LOGISTICS = (
    "offer", "salary", "compensation", "pay ", "benefit", "relocat", "visa", "start date",
    "notice period", "timeline", "next step", "remote", "hybrid", "equity", "bonus",
    "vacation", "contract", "process", "schedule", "commute", "office days",
)  # fmt: skip
CULTURE = ("culture", "values", "mentor", "collaborat", "inclusion", "diversity", "work-life")
CHALLENGE = (
    "reliab", "migrat", "scal", "latency", "debt", "incident", "outage", "problem",
    "challenge", "backlog", "cost", "bottleneck", "legacy", "performance", "security",
    "late-arriving", "on-call", "churn", "quota", "risk", "flaky", "growth",
)  # fmt: skip
DETERMINERS = {
    "the", "a", "an", "our", "your", "their", "his", "her", "its", "my", "this", "that",
    "these", "those", "some", "each", "every", "how", "what", "why", "whether", "when",
    "where", "which", "who",
}  # fmt: skip
COUNTABLE = {
    "migration", "redesign", "rewrite", "rollout", "launch", "roadmap", "plan", "project",
    "pipeline", "system", "platform", "service", "product", "program", "initiative",
    "overhaul", "upgrade", "integration", "stack", "architecture", "codebase", "deployment",
    "transition", "reorganization", "expansion", "acquisition", "merger", "strategy",
    "framework", "dashboard", "rebrand", "move",
}  # fmt: skip
CLAUSE = re.compile(
    r"\b(is|are|was|were|will|can|could|should|need|needs|want|wants|has|have|had|"
    r"do|does|did|plan to|plans to)\b"
)


@dataclass(frozen=True)
class TopicText:
    text: str
    kind: str  # challenge | project | culture | logistics | general


@functools.lru_cache(maxsize=1024)
def topic_kind(text: str, kind: str | None) -> str:
    """The kind given, else a guess from the words: logistics are never in a thank-you."""
    if kind:
        return kind
    lowered = f" {text.lower()} "
    for guess, words in (("logistics", LOGISTICS), ("culture", CULTURE), ("challenge", CHALLENGE)):
        if any(word in lowered for word in words):
            return guess
    return "general"


@functools.lru_cache(maxsize=1024)
def topic_phrase(text: str) -> str:
    """A topic as it reads after "about": `Kafka migration` -> `the Kafka migration`,
    `we are moving to Kubernetes` -> `how we are moving to Kubernetes`."""
    phrase = " ".join(text.split()).rstrip(".;:!")
    words = phrase.split()
    if not words:
        return phrase
    first = words[0].lower()
    if first in DETERMINERS:
        return _lower_first(phrase)
    if CLAUSE.search(phrase.lower()):
        return f"how {_lower_first(phrase)}"
    if words[-1].lower() in COUNTABLE:
        return f"the {phrase}"
    return phrase


def _lower_first(text: str) -> str:
    first, _, rest = text.partition(" ")
    if len(first) > 1 and first[1:].islower():  # "Our" -> "our", but not "API" or "Kafka"
        first = first.lower()
    return f"{first} {rest}".strip()


LEADING_ARTICLE = re.compile(r"^(the|a|an) ")


def distinct_topics(topics: Sequence[TopicText]) -> list[TopicText]:
    """At most two, each once, logistics left out (they belong in a call, not a note)."""
    seen: set[str] = set()
    chosen = []
    for topic in topics:
        key = LEADING_ARTICLE.sub("", topic.text.lower().strip())
        if key in seen or topic.kind == "logistics":
            continue
        seen.add(key)
        chosen.append(topic)
    return chosen[:MAX_TOPICS]


def join_words(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def topics_text(topics: Sequence[TopicText]) -> str:
    return join_words([topic_phrase(topic.text) for topic in topics])


@functools.lru_cache(maxsize=1024)
def long_day(day: date) -> str:
    return f"{day:%A}, {day:%B} {day.day}"


def ordinal(number: int) -> str:
    names = {2: "second", 3: "third", 4: "fourth", 5: "fifth"}
    return names.get(number, f"{number}th")


# --- what you forgot to mention [003, 004] ------------------------------------------------

PAST_TENSE = {
    "led", "built", "ran", "wrote", "won", "made", "taught", "grew", "drove", "set", "cut",
    "brought", "took", "gave", "got", "began", "became", "held", "kept", "spoke", "sold",
    "spent", "sent", "found", "met", "rebuilt", "rewrote", "oversaw", "co-founded", "founded",
}  # fmt: skip
PRESENT = {"have", "hold", "speak", "know", "am", "own", "maintain", "volunteer", "teach"}


@functools.lru_cache(maxsize=1024)
def forgot_clause(item: str) -> tuple[str, bool]:
    """(`I led the redesign`, True) for something you did; (`my AWS certification`, False)
    for a thing: how it reads after "I did not get to mention (that)"."""
    text = " ".join(item.split()).rstrip(".")
    words = text.split()
    if not words:
        return text, False
    first = words[0].lower()
    if first == "i" or first in ("i'm", "i've"):
        return "I" + text[1:], True
    if first in PAST_TENSE or first in PRESENT or (first.endswith("ed") and len(first) > 4):
        return f"I {_lower_first(text)}", True
    return _lower_first(text), False


# Each pool: one sentence per slot, six ways to say it; `{forgot}` reads "that I led X", a noun
# phrase ("my AWS certification"), or both ("that I led X, as well as my AWS certification").
POOLS: dict[str, tuple[str, ...]] = {
    "opening": (
        "Thank you for taking the time to meet with me on {day} about the {role} role.",
        "I appreciated our conversation on {day}, and thank you for walking me through the {role} role.",  # noqa: E501
        "Thank you for the thoughtful discussion on {day}; it made me even keener on the {role} role.",  # noqa: E501
        "It was a pleasure to speak with you on {day} about the {role} position.",
        "Thank you for your time on {day} and for your candid answers about the {role} role.",
        "I am grateful for the time you gave me on {day} to talk about the {role} position.",
    ),
    "opening_again": (
        "Thank you for meeting with me again on {day} for the {round} round of the {role} interviews.",  # noqa: E501
        "It was good to talk with you again on {day}, in the {round} round for the {role} role.",
        "Thank you for making time for me again on {day}; the {round} round gave me a fuller picture of the {role} role.",  # noqa: E501
        "I enjoyed seeing you again on {day} for the {round} round of the {role} interviews.",
        "Thank you for your time again on {day}, this time in the {round} round for the {role} role.",  # noqa: E501
        "Meeting you again on {day} in the {round} round made me even more interested in the {role} role.",  # noqa: E501
    ),
    "opening_new": (
        "Thank you for joining the {round} round of my {role} interviews on {day}.",
        "It was a pleasure to meet you on {day} in the {round} round for the {role} role.",
        "Thank you for your time on {day}; I valued meeting you in the {round} round for the {role} role.",  # noqa: E501
        "I appreciated our conversation on {day} during the {round} round for the {role} position.",
        "Thank you for interviewing me on {day} in the {round} round for the {role} role.",
        "I am grateful for your time on {day} in the {round} round of the {role} interviews.",
    ),
    "topics": (
        "I especially enjoyed talking with you about {topics}.",
        "Our discussion of {topics} was a highlight of the day for me.",
        "I keep thinking about what you said about {topics}.",
        "Hearing your perspective on {topics} was especially valuable.",
        "I valued our exchange on {topics}.",
        "What you told me about {topics} stayed with me.",
    ),
    "challenge": (
        "Challenges like that are exactly the kind I like to take on, and I believe I could contribute quickly.",  # noqa: E501
        "I would welcome the chance to help your team tackle it.",
        "Helping to solve problems like that is the work I find most rewarding.",
        "I would be glad to bring my experience to bear on it from the first weeks.",
        "It is the kind of problem I would be excited to dig into with your team.",
        "I am confident I could help move it forward.",
    ),
    "project": (
        "I would enjoy contributing to that work.",
        "It is the kind of work I would be glad to take a share of.",
        "I could see myself contributing to it from early on.",
        "That is work I would be excited to be part of.",
        "I would be glad to put my experience into it.",
        "I would like to help see it through.",
    ),
    "culture": (
        "It sounds like a team where I would do my best work.",
        "That is the kind of team I want to be part of.",
        "It matches how I like to work.",
        "It made the team feel like a place I would thrive in.",
        "It is a big part of why the role appeals to me.",
        "I would be glad to add to that.",
    ),
    "interest": (
        "I am very interested in joining {company}, and I am confident I would be a good fit for the team.",  # noqa: E501
        "The conversation confirmed my interest in {company}; I believe my background fits what the team needs.",  # noqa: E501
        "I would be glad to bring my experience to {company}, and I am convinced the role is a strong match.",  # noqa: E501
        "I left even more enthusiastic about {company} and about what I could contribute there.",
        "I am excited about the chance to contribute at {company}, where my skills match the role well.",  # noqa: E501
        "Everything I heard made me want to join {company} more, and I am sure I could add value quickly.",  # noqa: E501
    ),
    "forgot": (
        "I did not get to mention {forgot}.",
        "I should also have mentioned {forgot}.",
        "I forgot to mention {forgot}.",
        "In the interview, I meant to mention {forgot}.",
        "I would also like to mention {forgot}.",
        "Let me also mention {forgot}.",
    ),
    "result": (
        "Whatever you decide, I would be glad to hear from you.",
        "I look forward to hearing from you, whatever the outcome.",
        "However the decision goes, I would appreciate hearing back from you.",
        "I would welcome your news, whichever way it goes.",
        "Whatever the result, I hope to hear from you.",
        "I would be grateful to hear from you either way.",
    ),
    "closing": (
        "Best regards,",
        "Kind regards,",
        "With thanks,",
        "Warm regards,",
        "Many thanks,",
        "All the best,",
    ),
    "card_thanks": (
        "Thank you again for your time on {day}.",
        "Thank you for meeting with me on {day}.",
        "I am grateful for our conversation on {day}.",
        "It was a pleasure to meet you on {day}.",
        "Thank you for a warm welcome on {day}.",
        "Many thanks for your time and attention on {day}.",
    ),
    "card_topic": (
        "I enjoyed our talk about {topic}.",
        "Our talk about {topic} stayed with me.",
        "I valued hearing your view on {topic}.",
        "I keep coming back to what you said about {topic}.",
        "Your thoughts on {topic} were a highlight.",
        "I learnt a lot from our exchange on {topic}.",
    ),
    "card_join": (
        "I would be glad to join {company} as {role}.",
        "I hope to join your team at {company}.",
        "I would love to contribute to {company}.",
        "I am keen to bring my experience to {company}.",
        "Joining {company} would mean a great deal to me.",
        "I very much hope to work with you at {company}.",
    ),
}


def variant(pool: str, rank: int, seed: str) -> str:
    """The sentence of `pool` for the interviewer of this rank: ranks differ within one
    interview, so the chosen sentences do too (up to six people); the seed shifts the start
    so two interviews do not open alike. Stable: a hash, never a random draw."""
    sentences = POOLS[pool]
    return sentences[(_pool_start(seed, pool) + rank) % len(sentences)]


@functools.lru_cache(maxsize=1024)
def _pool_start(seed: str, pool: str) -> int:
    """The same for every interviewer of an interview: hashed once, not per note."""
    return int(hashlib.sha256(f"{seed}/{pool}".encode()).hexdigest(), 16)


@functools.lru_cache(maxsize=1024)
def interview_ranks(slugs: tuple[str, ...], seed: str) -> Mapping[str, int]:
    """Each interviewer's rank by a stable hash of their name: independent of the order
    they are listed in, the same on every run."""
    ordered = sorted(slugs, key=lambda slug: hashlib.sha256(f"{seed}/{slug}".encode()).digest())
    return types.MappingProxyType({slug: index for index, slug in enumerate(ordered)})


@dataclass(frozen=True)
class NoteInput:
    """What one interviewer's thank-you is made of."""

    name: PersonName
    greeting: str
    topics: tuple[TopicText, ...]
    help_text: str | None
    forgot: tuple[str, ...]
    company: str
    role: str
    day: date
    signature: str
    round_number: int = 1
    met_before: bool = False
    rank: int = 0
    seed: str = ""


@functools.lru_cache(maxsize=256)
def thank_you_fields(note: NoteInput) -> Mapping[str, str]:
    """The personal parts of one interviewer's thank-you (and card): made once for both."""

    def pick(pool: str, **values: str) -> str:
        return variant(pool, note.rank, note.seed).format(**values)

    day = long_day(note.day)
    topics = distinct_topics(note.topics)
    named = topics_text(topics)
    if note.round_number > 1:
        opening_pool = "opening_again" if note.met_before else "opening_new"
        opening = pick(opening_pool, day=day, role=note.role, round=ordinal(note.round_number))
    else:
        opening = pick("opening", day=day, role=note.role)
    help_sentence = ""
    if note.help_text:
        help_sentence = as_sentence(note.help_text)
    elif topics and topics[0].kind in ("challenge", "project", "culture"):
        help_sentence = pick(topics[0].kind)
    fields = {
        "name": note.name.display,
        "greeting": note.greeting,
        "greeting_name": note.name.given,
        "company": note.company,
        "role": note.role,
        "interview_day": day,
        "round": ordinal(note.round_number) if note.round_number > 1 else "",
        "opening": opening,
        "topics_sentence": pick("topics", topics=named) if named else "",
        "topics_short": pick("card_topic", topic=topic_phrase(topics[0].text)) if topics else "",
        "help_sentence": help_sentence,
        "interest_sentence": pick("interest", company=note.company),
        "forgot_sentence": _forgot_sentence(note),
        "result_sentence": pick("result"),
        "card_thanks": pick("card_thanks", day=day),
        "card_join": pick("card_join", company=note.company, role=note.role),
        "closing": pick("closing"),
        "signature": note.signature,
    }
    return types.MappingProxyType(fields)  # shared by the note and the card


def _forgot_sentence(note: NoteInput) -> str:
    items = [forgot_clause(item) for item in note.forgot[:MAX_TOPICS] if item.strip()]
    if not items:
        return ""
    mixed = len({is_clause for _, is_clause in items}) > 1
    said = [f"that {text}" if is_clause else text for text, is_clause in items]
    forgot = ", as well as ".join(said) if mixed else join_words(said)
    return variant("forgot", note.rank, note.seed).format(forgot=forgot)


def as_sentence(text: str) -> str:
    text = " ".join(text.split())
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


# --- links --------------------------------------------------------------------------------


def mailto(address: str | None, subject: str | None) -> str | None:
    """One short link: the address and the subject; the text is right above it."""
    if not address:
        return None
    link = f"mailto:{quote(address, safe='@.+-_')}"
    return f"{link}?subject={quote(subject)}" if subject else link


def with_body(link: str, text: str) -> str:
    """A mailto: link that also carries the text (RFC 6068: line breaks as %0D%0A), for a
    page's send button; calendars get the short link, with the text beside it."""
    body = quote(text.replace("\r\n", "\n").replace("\n", "\r\n"), safe="")
    return f"{link}{'&' if '?' in link else '?'}body={body}"


def tel(phone: str | None) -> str | None:
    if not phone:
        return None
    digits = re.sub(r"[^\d+]", "", phone)
    return f"tel:{digits}" if digits.strip("+") else None


def _link_line(link: str) -> str:
    label = "Call" if link.startswith("tel:") else "Send it (paste the text above)"
    return f"{label}: {link}"


def with_links(text: str, links: Sequence[str], advice: Sequence[str] = ()) -> str:
    """The body a reminder shows: the draft, what to check before sending, the links."""
    return "\n\n".join([text, *advice, *map(_link_line, links)])


def without_links(body: str, links: Sequence[str]) -> str:
    """A body `with_links` made, less its links (for a page that shows them as buttons)."""
    return body.removesuffix("".join("\n\n" + _link_line(link) for link in links))
