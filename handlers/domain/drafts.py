"""What the coach drafts for a situation: the kind, the meeting options, the brush-off, the safety checks.

Slack-free and network-free: plain data in (a `Situation`), plain data out. The
template wording is in `handlers.domain.templates` (`template_draft`); the LLM path
in `handlers.coach` reuses the helpers here (kind choice, meeting slots, safety
checks) and falls back to the templates.

The ideas behind every draft come from the playbook: ask for a decision and make
a no welcome (a maybe is the worst answer), end every conversation with the next
one booked, prepare for the polite brush-offs, keep trying until there is an
answer, never pressure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from handlers.domain.model import Activity, Deal, Kind
from handlers.domain.zones import zone

MAX_WORDS = 120

# Phrases no draft may contain (checked case-insensitively, curly quotes folded).
BANNED_PHRASES: tuple[str, ...] = (
    # fake urgency
    "act now", "limited time", "last chance", "only today", "expires", "final offer", "before it's too late",
    # guilt
    "disappointed", "i thought we had", "wasted", "let me down",
    # discount bait
    "discount", "% off", "special price", "special offer", "free upgrade",
    # pressure
    "you need to", "you must", "don't miss", "you have to", "you should have",
)


class DraftKind(StrEnum):
    ASK = "ask"
    MEETING = "meeting"
    BREAKUP = "breakup"
    OBJECTION = "objection"


class Tone(StrEnum):
    DEFAULT = "default"
    SHORTER = "shorter"
    WARMER = "warmer"
    DIRECT = "direct"


@dataclass(frozen=True)
class Situation:
    """Everything a draft may use; nothing else reaches a template or a prompt."""

    deal: Deal
    history: tuple[Activity, ...]
    rep_name: str
    tz: str
    now: datetime


@dataclass(frozen=True)
class Draft:
    kind: DraftKind
    text: str
    why: str
    subject: str | None = None
    source: str = "template"  # or "llm"
    tone: Tone = Tone.DEFAULT
    variant: int = 0


# --------------------------------------------------------------------------- time


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def local_today(now: datetime, tz: str) -> date:
    return _aware(now).astimezone(zone(tz)).date()


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SLOT_HOURS = (10, 14)


def fmt_day(dt: datetime, tz: str, year: bool = False) -> str:
    """'Tue 1 Dec' (or 'Tue 1 Dec 2026') in the rep's zone; locale-independent."""
    d = _aware(dt).astimezone(zone(tz))
    out = f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]}"
    return f"{out} {d.year}" if year else out


def fmt_slot(dt: datetime, tz: str) -> str:
    d = _aware(dt).astimezone(zone(tz))
    return f"{fmt_day(d, tz)} at {d:%H:%M}"


def zone_label(dt: datetime, tz: str) -> str:
    """The zone's abbreviation at `dt` ('CET', 'IST', 'PST'); numeric ones become 'UTC-03'."""
    name = _aware(dt).astimezone(zone(tz)).tzname() or "UTC"
    return f"UTC{name}" if name[:1] in "+-" else name


def meeting_slots(now: datetime, tz: str, n: int = 2, *, from_day: date | None = None) -> list[datetime]:
    """`n` meeting options in the rep's working hours, as aware UTC datetimes.

    One option per working day (Mon-Fri), starting the working day after the rep's
    local today (or on `from_day` when that is later), alternating 10:00 and 14:00
    local time. Public holidays are not known here.
    """
    z = zone(tz)
    day = local_today(now, tz)
    if from_day is not None and from_day > day + timedelta(days=1):
        day = from_day - timedelta(days=1)
    out: list[datetime] = []
    while len(out) < n:
        day += timedelta(days=1)
        if day.weekday() >= 5:
            continue
        hour = SLOT_HOURS[len(out) % len(SLOT_HOURS)]
        local = datetime.combine(day, time(hour, 0), tzinfo=z)
        # Round-trip through UTC so a wall time inside a DST gap is normalised.
        out.append(local.astimezone(UTC))
    return out


def booked_meeting(s: Situation) -> datetime | None:
    """The next meeting already on the calendar (after `now`), if any."""
    at = s.deal.next_meeting_at
    return at if at is not None and _aware(at) > _aware(s.now) else None


def named_date(s: Situation) -> datetime | None:
    """A future date the prospect named with their latest maybe ("try me after Jan 15"), if any.

    What the rep typed beats any guess of ours ("early January", "tomorrow").
    """
    maybes = [a for a in s.history if a.kind is Kind.MAYBE]
    latest = max(maybes, key=lambda a: _aware(a.at)) if maybes else None
    when = latest.when if latest is not None else None
    return when if when is not None and _aware(when) > _aware(s.now) else None


def slots_for(s: Situation, n: int = 2) -> list[datetime]:
    """The meeting options a draft offers: after a meeting already booked (the next conversation is
    the one after it), and not before a date the prospect named."""
    from_day = None
    booked, named = booked_meeting(s), named_date(s)
    if booked is not None:
        from_day = local_today(booked, s.tz) + timedelta(days=1)
    if named is not None:
        day = local_today(named, s.tz)
        from_day = day if from_day is None else max(from_day, day)
    return meeting_slots(s.now, s.tz, n, from_day=from_day)


def format_slots(slots: list[datetime], tz: str) -> str:
    """'Tue 1 Dec at 10:00 or Wed 2 Dec at 14:00 (CET)', in the rep's zone."""
    labels = [zone_label(s, tz) for s in slots]
    parts = [fmt_slot(s, tz) for s in slots]
    if len(set(labels)) > 1:  # a DST change between the options: label each one
        parts = [f"{p} ({lab})" for p, lab in zip(parts, labels, strict=True)]
        tail = ""
    else:
        tail = f" ({labels[0]})" if labels else ""
    if len(parts) <= 2:
        return " or ".join(parts) + tail
    return ", ".join(parts[:-1]) + " or " + parts[-1] + tail


# --------------------------------------------------------------------------- reading the deal

_BRUSHOFFS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # key, label (for the why line), patterns (matched against the folded note)
    ("send_info", "Just email me some information", (
        r"\b(e-?mail|send|shoot|forward)\b[^.?!]{0,30}\b(info|information|details|brochure|deck|"
        r"material|materials|something|overview|a link|pricing|case stud(y|ies))\b",
        r"\bsend (it|that|this) over\b", r"\bjust (e-?mail|send) me\b",
    )),
    ("new_year", "Try me again after the new year", (
        r"\bnew year\b", r"\bfirst of the year\b", r"\bnext year\b", r"\bafter the holidays\b",
        r"\b(after|in|early|until) (january|jan|q1)\b", r"\bstart of (the )?year\b", r"\bbeginning of the year\b",
    )),
    ("team", "I'll talk it over with the team", (
        r"\b(talk|discuss|run|go over|check)\b[^.?!]{0,25}\b(with|by|past|to)\b[^.?!]{0,10}"
        r"\b(team|colleagues|boss|manager|management|board|partners|ceo|cfo|cto|finance|committee|people)\b",
        r"\b(team|board|management|committee) (needs|has|wants) to (discuss|decide|review|look)\b",
        r"\bget back to you\b",
    )),
    ("supplier", "We're happy with our current supplier", (
        r"\bhappy with (our|the|their|my) (current )?(supplier|vendor|provider|solution|tool|setup)\b",
        r"\b(current|existing) (supplier|vendor|provider)\b",
        r"\bkeep (your|you|the|my)? ?(info|information|details|card|number|contact|brochure)\b[^.?!]{0,10}\bon file\b",
        r"\bon file\b",
    )),
    ("partner", "We already have a partner", (
        r"\balready (have|has|got) (a|an|someone|somebody|another|our|one)\b",
        r"\balready (work|working|partner|partnered) with\b",
        r"\balready (use|using) (a|an|another|someone|somebody)\b",
        r"\b(have|has) a (partner|vendor|agency|provider|supplier)\b",
        r"\bnot looking to (change|switch)\b", r"\bno plans to (change|switch)\b",
    )),
)
BRUSHOFF_KEYS = tuple(k for k, _, _ in _BRUSHOFFS)
BRUSHOFF_LABELS = {k: label for k, label, _ in _BRUSHOFFS}
_BRUSHOFF_RE = [(k, [re.compile(p) for p in pats]) for k, _, pats in _BRUSHOFFS]


def fold(text: str) -> str:
    return (text.casefold().replace("\u2019", "'").replace("\u2018", "'")
            .replace("\u201c", '"').replace("\u201d", '"'))


def detect_brushoff(note: str | None) -> str | None:
    """Which common brush-off a prospect's words are, if any: one of BRUSHOFF_KEYS or None.

    Checked in a fixed order, so "happy with our supplier, we'll keep your info on
    file" is `supplier` (not `send_info`) and "talk to the team after the new year"
    is `new_year` (the date is the stall to address first).
    """
    if not note or not note.strip():
        return None
    text = fold(" ".join(note.split()))
    for key, pats in _BRUSHOFF_RE:
        if any(p.search(text) for p in pats):
            return key
    return None


_EMAIL_RE = re.compile(r"\be-?mail(s|ed|ing)?\b|\binbox\b", re.IGNORECASE)
_CONVERSATION_KINDS = frozenset({Kind.TOUCH, Kind.ASK, Kind.MAYBE, Kind.MEETING, Kind.NOTE})


def last_touch(s: Situation) -> Activity | None:
    """The most recent exchange with the prospect (attempt, answer or note)."""
    acts = [a for a in s.history if a.kind in _CONVERSATION_KINDS]
    return max(acts, key=lambda a: _aware(a.at)) if acts else None


def last_touch_was_email(s: Situation) -> bool:
    act = last_touch(s)
    return bool(act and _EMAIL_RE.search(act.text or ""))


def brushoff_is_current(deal: Deal) -> str | None:
    """The brush-off key of the last maybe, if that maybe is still the prospect's latest answer."""
    key = detect_brushoff(deal.last_maybe_note)
    if key is None:
        return None
    if deal.last_answer_at and deal.last_maybe_at and _aware(deal.last_answer_at) > _aware(deal.last_maybe_at):
        return None  # they answered again since (e.g. agreed a meeting)
    return key


def is_consensus_stall(deal: Deal) -> bool:
    stage = fold(deal.stage or "")
    return "consensus" in stage or detect_brushoff(deal.last_maybe_note) == "team"


def passed_meeting(s: Situation) -> datetime | None:
    """The agreed next meeting, when it is in the past and the prospect hasn't answered since."""
    at = s.deal.next_meeting_at
    if at is None or _aware(at) > _aware(s.now):
        return None
    last_maybe = s.deal.last_maybe_at
    return None if last_maybe and _aware(last_maybe) > _aware(at) else at


def meeting_passed(s: Situation) -> bool:
    """The agreed next meeting is in the past and the prospect hasn't answered since."""
    return passed_meeting(s) is not None


def effort_outweighs_value(deal: Deal) -> bool:
    """Many attempts for a small amount: the playbook's 'know when to take the no'."""
    effort = deal.touch_count + deal.maybe_count
    return deal.amount is not None and deal.amount < Decimal(1000) and effort >= 8


def pick_kind(s: Situation) -> tuple[DraftKind, str]:
    """The best kind of draft for this deal now, and a one-line reason."""
    d = s.deal
    if d.touches_since_answer >= 4:
        since = f" since {fmt_day(d.last_answer_at, s.tz)}" if d.last_answer_at is not None else ""
        return (DraftKind.BREAKUP,
                f"{d.touches_since_answer} attempts without an answer{since}: time for a polite last try.")
    key = brushoff_is_current(d)
    if key:
        return (DraftKind.OBJECTION,
                f'The last maybe was a common brush-off ("{BRUSHOFF_LABELS[key]}"): name the real question.')
    future, passed = booked_meeting(s), passed_meeting(s)
    if passed is not None:
        return (DraftKind.MEETING,
                f"The meeting on {fmt_day(passed, s.tz)} passed with no next meeting booked.")
    if future is None and is_consensus_stall(d):
        return (DraftKind.MEETING,
                "Waiting on consensus: get the other decision makers into one meeting.")
    if future is not None:
        return (DraftKind.ASK,
                f"A meeting is booked for {fmt_day(future, s.tz)}; an ask makes the decision its agenda.")
    if effort_outweighs_value(d):
        return (DraftKind.ASK,
                "The effort is far beyond the deal's value: ask for a decision and be ready to let it go.")
    if d.maybe_count >= 2:
        return DraftKind.ASK, f"{d.maybe_count} maybes so far: ask directly for a decision."
    if d.maybe_count == 1:
        return DraftKind.ASK, "The last answer was a maybe: ask for a clear yes or no."
    return DraftKind.ASK, "No decision yet: ask for one, and make a no welcome."


# --------------------------------------------------------------------------- safety

_WORD_RE = re.compile(r"\S+")


def word_count(text: str) -> int:
    return len(_WORD_RE.findall(text))


def without_names(text: str, names: tuple[str | None, ...] = ()) -> str:
    """`text` with the given names taken out, so a company called "Discount Tire" is not pressure."""
    for name in sorted({" ".join((n or "").split()) for n in names}, key=len, reverse=True):
        if name:
            text = text.replace(name, " ")
    return text


def safety_problems(text: str, names: tuple[str | None, ...] = ()) -> list[str]:
    """Why a draft must not be shown (empty, too long, pressure phrasing); [] if it is fine.

    `names` (company, contact) are ignored by the phrase check: they are the deal's, not ours.
    """
    problems = []
    if not text or not text.strip():
        return ["empty"]
    if word_count(text) > MAX_WORDS:
        problems.append(f"{word_count(text)} words (max {MAX_WORDS})")
    folded = fold(without_names(text, names))
    problems += [f"banned phrase {p!r}" for p in BANNED_PHRASES if p in folded]
    return problems


# --------------------------------------------------------------------------- names

_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_TITLES = {"dr", "dr.", "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "prof", "prof.", "herr", "frau"}


def first_name(name: str | None) -> str:
    """How to address someone: 'Anna' from 'Anna Schmidt', 'Dr. Schmidt', CJK names whole."""
    name = " ".join((name or "").split())
    if not name:
        return ""
    if _CJK_RE.search(name):
        return name
    parts = name.split(" ")
    if parts[0].casefold() in _TITLES and len(parts) > 1:
        return f"{parts[0]} {parts[-1]}"
    return parts[0]


def company_name(deal: Deal) -> str:
    return " ".join((deal.company or "").split()) or "your team"
