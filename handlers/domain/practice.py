"""Practice drills: the playbook's five polite brush-offs as data, a drill's state, and the scorer.

The coach plays a prospect saying one of the brush-offs of PLAYBOOK section 4; the rep answers; the
answer is scored with the draft rubric, rule by rule, so every verdict has a one-line reason:

    real_question   names the real question behind the brush-off (per brush-off cue words)
    one_question    asks exactly one question, and a short one
    welcomes_no     says a no is fine ("a clear no is completely fine")
    next_step       proposes a concrete next step (a call, a time, an invite, what to send)
    no_pressure     none of the drafts' banned phrases (fake urgency, guilt, discount bait)
    short           at most MAX_WORDS words, like every draft

The pressure and length checks are `drafts.safety_problems`, the same ones every draft passes. The
model answer is the coach's own template reply to that brush-off (`templates.template_draft`, kind
OBJECTION) when one of its variants passes all six checks, else the brush-off's written answer; tests
hold that every model answer passes. Pure: no Slack, no database, no clock of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from handlers.domain.drafts import (
    BRUSHOFF_KEYS,
    BRUSHOFF_LABELS,
    MAX_WORDS,
    DraftKind,
    Situation,
    Tone,
    detect_brushoff,
    fold,
    safety_problems,
    without_names,
    word_count,
)
from handlers.domain.model import Deal
from handlers.domain.templates import VARIANTS, template_draft

# The pretend prospect of a drill on a made-up deal.
PROSPECT_COMPANY = "Northwind"
PROSPECT_CONTACT = "Sam Lee"
MAX_QUESTION_WORDS = 30  # a clear question is one the prospect can answer without rereading it


@dataclass(frozen=True)
class Brushoff:
    key: str  # one of drafts.BRUSHOFF_KEYS
    name: str  # as typed after `/deal practice`
    lines: tuple[str, ...]  # what the prospect says (template variants)
    real_question: str  # the question behind it, for the rep
    cues: tuple[str, ...]  # patterns (on folded text) of an answer that names that question
    answer: str  # a written model answer, used when no template variant passes

    @property
    def label(self) -> str:
        return BRUSHOFF_LABELS[self.key]


_BRUSHOFFS = (
    Brushoff(
        "partner", "partner",
        ("Thanks, but we already have a partner for this and we aren't looking to change.",
         "We've worked with the same agency for years. We're not looking to switch.",
         "Honestly, we're covered: we already have someone doing this for us."),
        "Is anything missing with the partner they have, or is it a firm no?",
        (r"\b(gaps?|missing|lacking|wish|better|improve|side[- ]by[- ]side|compare|comparison|second opinion)\b",
         r"\b(doesn'?t|don'?t|does not|do not|can'?t) (handle|cover|do)\b", r"\bcovers? everything\b",
         r"\bwould (you )?change\b"),
        "Hi Sam,\n\nFair enough, and good partners are worth keeping. The real question is whether anything "
        "is missing today. Is there one gap worth a 20-minute call next week? If not, a clear no is "
        "completely fine and I'll step back."),
    Brushoff(
        "supplier", "supplier",
        ("We're happy with our current supplier, but we'll keep your information on file.",
         "Our vendor does a fine job. Leave me your details and I'll keep them on file.",
         "We're happy with our current provider. I'll keep your details on file."),
        "Is there anything they would change about their current supplier, or is it a no?",
        (r"\b(change|better|improve|fix|wish|frustrat\w*|missing|gaps?|one thing|if you could)\b",
         r"\bon file\b", r"\bnot now\b"),
        "Hi Sam,\n\nGlad it's working. A file rarely gets opened, so one honest question: if you could fix "
        "one thing about your current supply, would a short call on Thursday be worth it? If not, a clear "
        "no is completely fine."),
    Brushoff(
        "new_year", "new-year",
        ("This is interesting, but try me again after the first of the year.",
         "Budgets are locked until January. Reach out in the new year.",
         "Now's not a good time. Ping me after the holidays."),
        "Is it really the timing, or is it not a priority?",
        (r"\b(timing|priority|priorities|prioriti[sz]e|budget|slip|drift)\b",
         r"\bonly (thing|issue|reason|obstacle)\b", r"\bin the way\b", r"\bnot[- ]yet\b",
         r"\bwhat (changes|will change)\b"),
        "Hi Sam,\n\nHappy to wait. So it doesn't slip, it helps to know if timing is the only thing in the "
        "way. If it is, shall I send an invite for a 20-minute call in the second week of January now? And if it's really not a "
        "priority, a clear no is completely fine."),
    Brushoff(
        "send_info", "send-info",
        ("Can you just email me some information?",
         "Send me a deck and I'll take a look when I get a chance.",
         "Just shoot me something over email and I'll read it."),
        "Is this a priority they want to act on, and what would actually be worth sending?",
        (r"\b(priority|priorities|actively|act on|relevant|problem|challenge)\b",
         r"\btrying to (solve|fix)\b", r"\bmatters? (most )?to\b", r"\b(which|what) part\b",
         r"\bmost useful\b", r"\bworth (your|reading)\b", r"\bwhat are you (hoping|looking)\b",
         r"\bwhat (would|should) (it|i|the info|the information) (cover|include|focus on)\b"),
        "Hi Sam,\n\nHappy to. So I send something useful: which part matters most to you right now? Tell me "
        "and I'll send just that, with 15 minutes on Friday to walk through it. If it isn't a priority, a "
        "clear no is completely fine."),
    Brushoff(
        "team", "team",
        ("I'll talk it over with the team and get back to you in a couple of weeks.",
         "Let me run this past my boss and I'll let you know.",
         "I need to discuss this with a few people here. I'll get back to you."),
        "What does the team need to hear to decide, and who else weighs in?",
        (r"\bwho else\b", r"\bwho (will|would|'ll|is going to) (weigh|decide|be involved)\b",
         r"\bdecision[- ]makers?\b", r"\bweigh in\b", r"\b(questions|concerns)\b",
         r"\b(team|they|everyone|your boss|the others) (need|needs|will want|would want) to (hear|see|know)\b",
         r"\bsecond[- ]hand\b", r"\bsame thing\b"),
        "Hi Sam,\n\nMakes sense to bring the team in. Questions answered second-hand get lost, so: could I "
        "join that conversation for 20 minutes next week? If the team lands on no, a clear no is "
        "completely fine."),
)
BRUSHOFFS: Mapping[str, Brushoff] = {b.key: b for b in _BRUSHOFFS}
assert tuple(sorted(BRUSHOFFS)) == tuple(sorted(BRUSHOFF_KEYS)), "one drill per brush-off the coach knows"
NAMES = {b.key: b.name for b in _BRUSHOFFS}


# --------------------------------------------------------------------------- drill state

class Phase(StrEnum):
    OPEN = "open"  # waiting for the rep's first answer
    PUSHED = "pushed"  # the prospect pushed back once: waiting for the second answer
    DONE = "done"  # scored


@dataclass(frozen=True)
class DrillState:
    brushoff: str
    phase: Phase = Phase.OPEN
    answers: int = 0  # the rep's answers so far (the turn)

    @property
    def pushed_back(self) -> bool:
        return self.phase is Phase.PUSHED or (self.phase is Phase.DONE and self.answers > 1)

    @property
    def may_push_back(self) -> bool:
        """The prospect pushes back at most once, on the first answer."""
        return self.phase is Phase.OPEN

    def answered(self, push_back: bool) -> DrillState:
        """The state after one more answer; `push_back`: the prospect wants a second turn (ignored when
        it already had one). ValueError on a finished drill."""
        if self.phase is Phase.DONE:
            raise ValueError("this drill is finished")
        phase = Phase.PUSHED if push_back and self.may_push_back else Phase.DONE
        return replace(self, phase=phase, answers=self.answers + 1)


@dataclass(frozen=True)
class Drill:
    """One stored drill (storage.practice maps its rows onto this)."""

    user_id: str
    channel: str
    thread_ts: str
    brushoff: str
    created_at: datetime
    team_id: str = ""
    id: int | None = None
    state: str = Phase.OPEN.value
    turns: tuple[dict[str, Any], ...] = ()  # {"role": "prospect" | "rep", "text": ...}, oldest first
    score: int | None = None
    finished_at: datetime | None = None

    @property
    def progress(self) -> DrillState:
        answers = sum(1 for t in self.turns if t.get("role") == "rep")
        return DrillState(self.brushoff, Phase(self.state), answers)

    @property
    def deal_id(self) -> int | None:
        """The rep's own deal a `mine` drill is about (kept on the prospect's first turn)."""
        first = self.turns[0] if self.turns else {}
        value = first.get("deal")
        return value if isinstance(value, int) else None


def pick_brushoff(practiced: Mapping[str, int]) -> str:
    """With nothing asked for: the brush-off the rep has practised least (playbook order breaks ties)."""
    return min(BRUSHOFF_KEYS, key=lambda k: (practiced.get(k, 0), BRUSHOFF_KEYS.index(k)))


def prospect_line(key: str, variant: int = 0) -> str:
    lines = BRUSHOFFS[key].lines
    return lines[variant % len(lines)]


# --------------------------------------------------------------------------- scoring

@dataclass(frozen=True)
class Check:
    key: str
    label: str
    passed: bool
    why: str


@dataclass(frozen=True)
class Score:
    brushoff: str
    checks: tuple[Check, ...]
    model_answer: str = ""

    @property
    def points(self) -> int:
        return sum(c.passed for c in self.checks)

    @property
    def total(self) -> int:
        return len(self.checks)

    @property
    def perfect(self) -> bool:
        return self.points == self.total

    @property
    def missing(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]


LABELS = {
    "real_question": "Names the real question",
    "one_question": "Asks one clear question",
    "welcomes_no": "Welcomes a no",
    "next_step": "Proposes a concrete next step",
    "no_pressure": "No pressure",
    "short": "Short",
}

_NO_FINE = tuple(re.compile(p) for p in (
    r"\bno\b[^.?!]{0,40}\b(is|that'?s|that is|it'?s|would be) (completely |totally |perfectly |absolutely |also )?"
    r"(fine|ok|okay|good|welcome|alright|all right)\b",
    r"\b(fine|ok|okay) (for you )?to say no\b",
    r"\bno hard feelings\b",
    r"\bif (it'?s|the answer is) (a )?no\b[^.?!]{0,40}\b(i'?ll|i will) (close|step back|leave)",
))
_NEXT_STEP = (  # the strongest kind of step first: that is the one the feedback quotes
    re.compile(r"\b(\d+[- ]?min(ute)?s?|half an hour|\d{1,2}:\d{2}|\d{1,2} ?(am|pm)|(mon|tues|wednes|thurs|fri)day|"
               r"tomorrow|next week|week of|january|february|jan|feb)\b"),
    re.compile(r"\b(call|meeting|meet|calendar|invite|book|schedule|demo|join|side[- ]by[- ]side|walk ?through)\b"),
    re.compile(r"\b(send (you|over|just|it|that)( \w+)?|next steps?)\b"),
)
_CUES = {b.key: tuple(re.compile(p) for p in b.cues) for b in _BRUSHOFFS}


def questions(text: str, names: Sequence[str | None] = ()) -> list[str]:
    """The questions in `text`, each from the previous sentence end to its '?' (names taken out)."""
    bare = without_names(text, tuple(names))
    found, start = [], 0
    for i, ch in enumerate(bare):
        if ch == "\n" or (ch in ".!" and bare[i + 1:i + 2] in ("", " ", "\n")):  # not "e.g" or "<!channel>"
            start = i + 1
        elif ch == "?":
            found.append(bare[start:i + 1].strip())
            start = i + 1
    return found


def _check(key: str, passed: bool, why: str) -> Check:
    return Check(key, LABELS[key], passed, why)


def score_answer(text: str, key: str, names: Sequence[str | None] = ()) -> Score:
    """The rep's answer to brush-off `key`, criterion by criterion. `names` (the deal's company and
    contact, when the drill is on a real deal) are not read as pressure phrases or questions."""
    b = BRUSHOFFS[key]
    names_t = tuple(names)
    folded = fold(without_names(" ".join((text or "").split()), names_t))
    problems = safety_problems(text or "", names_t)
    pressure = [p.removeprefix("banned phrase ") for p in problems if p.startswith("banned phrase")]
    words = word_count(text or "")
    qs = questions(text or "", names_t)
    named = any(p.search(folded) for p in _CUES[key])
    welcome = any(p.search(folded) for p in _NO_FINE)
    step = next((m for p in _NEXT_STEP if (m := p.search(folded))), None)
    if len(qs) == 1 and word_count(qs[0]) <= MAX_QUESTION_WORDS:
        one = _check("one_question", True, f"One question: “{qs[0]}”")
    elif len(qs) == 1:
        one = _check("one_question", False, f"Your question runs {word_count(qs[0])} words; keep it under "
                                            f"{MAX_QUESTION_WORDS} so it's easy to answer.")
    elif not qs:
        one = _check("one_question", False, "No question: end with the one thing you want them to answer.")
    else:
        one = _check("one_question", False, f"{len(qs)} questions: ask just one, so the answer is clear.")
    checks = (
        _check("real_question", named,
               f"You got to it: {b.real_question[0].lower()}{b.real_question[1:]}" if named else
               f"Behind “{b.label}” is usually: {b.real_question}"),
        one,
        _check("welcomes_no", welcome,
               "You made a no welcome." if welcome else
               "Say a no is fine (“a clear no is completely fine”): it's what makes an honest answer easy."),
        _check("next_step", step is not None,
               f"A concrete step (“{step.group(0)}”)." if step else
               "Offer something concrete: a 20-minute call, two times, an invite, or exactly what you'll send."),
        _check("no_pressure", not pressure,
               "No pressure phrasing." if not pressure else
               "Pressure phrasing: " + ", ".join(pressure) + ". Direct, never pushy."),
        _check("short", 0 < words <= MAX_WORDS,
               f"{words} words." if 0 < words <= MAX_WORDS else
               "Empty." if words == 0 else f"{words} words: keep it under {MAX_WORDS}."),
    )
    return Score(key, checks)


# --------------------------------------------------------------------------- model answers

def practice_situation(key: str, now: datetime, tz: str = "UTC", rep_name: str = "", *,
                       deal: Deal | None = None) -> Situation:
    """A situation for the templates: the rep's own deal (a `mine` drill: its own last maybe) or the
    pretend prospect, whose last maybe is the brush-off's first line."""
    if deal is None:
        deal = Deal(owner_id="practice", company=PROSPECT_COMPANY, contact=PROSPECT_CONTACT, created_at=now)
    note = deal.last_maybe_note if detect_brushoff(deal.last_maybe_note) == key else prospect_line(key)
    deal = deal.replace(last_maybe_note=note, last_maybe_at=now, maybe_count=max(deal.maybe_count, 1),
                        last_answer_at=None)
    return Situation(deal=deal, history=(), rep_name=rep_name, tz=tz, now=now)


def template_answers(s: Situation) -> Iterable[str]:
    """The coach's objection templates for `s`: every variant, default tone first."""
    for tone in (Tone.DEFAULT, Tone.DIRECT, Tone.SHORTER, Tone.WARMER):
        for v in range(VARIANTS):
            yield template_draft(s, DraftKind.OBJECTION, tone, v).text


def model_answer(key: str, s: Situation) -> str:
    """The first template reply to brush-off `key` that passes every check; else the written answer."""
    names = (s.deal.company, s.deal.contact)
    for text in template_answers(s):
        if score_answer(text, key, names).perfect:
            return text
    return BRUSHOFFS[key].answer

