"""What a DM to the coach asks for: a draft, a practice drill, a pipeline question, a situation, or help.

Slack-free and database-free: a line of text in, an `Intent` out. Two entry points, called at
different moments of the DM routing (handlers/events.py):

- `coach_command(text)`, before the chat parser: the requests that look like deal updates to it
  ("draft a meeting request for Acme Corp" names a company and a meeting) but are addressed to the
  coach: drafting and practising. None for anything else.
- `coach_question(text)`, for what the chat parser calls chatter: pipeline questions ("what's
  stuck?"), situations ("how do I answer 'send me some info'?"), or HELP when nothing fits.

Decisions:
- A draft request must start with its verb (draft / write / compose / prepare, optionally after
  "please" or "can you"), so "Acme wants us to write a proposal" stays a deal update.
- The draft kind comes from words ("ask", "meeting", "breakup", "last try", "reply"); none named
  ("draft something for Acme") means the coach picks, as `/deal coach Acme` does.
- A tone word at the end ("..., shorter", "make it warmer") is the tone; the rest is the deal.
- A practice line keeps its brush-off as a key of BRUSHOFF_KEYS when it names one, else its own
  words (or None): the drill decides what to do with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from handlers.domain.drafts import BRUSHOFF_KEYS, DraftKind, Tone, detect_brushoff, fold


class Want(StrEnum):
    DRAFT = "draft"
    PRACTICE = "practice"
    STUCK = "stuck"  # what's stuck / needs a decision
    NEED_ASK = "need_ask"  # which deals need an ask
    DUE = "due"  # what's due this week
    MAYBES = "maybes"  # how many maybes
    SITUATION = "situation"  # how to handle a prospect's words
    HELP = "help"  # anything else: say plainly what the coach can do


@dataclass(frozen=True)
class Intent:
    want: Want
    target: str = ""  # DRAFT: the deal as the rep named it
    kind: DraftKind | None = None  # DRAFT: None lets the coach pick
    tone: Tone = Tone.DEFAULT
    brushoff: str | None = None  # PRACTICE / SITUATION: a BRUSHOFF_KEYS key, or the rep's words
    question: str = ""  # SITUATION: the whole question, for the LLM


_KINDS: tuple[tuple[str, DraftKind | None], ...] = (
    (r"(?:hard[- ]?no |decision )?ask(?: for a decision)?", DraftKind.ASK),
    (r"(?:next[- ])?meeting(?: request| invite)?|request for a (?:next )?meeting", DraftKind.MEETING),
    (r"break[- ]?up(?: note| message)?|last[- ]?try(?: message| note)?|last try", DraftKind.BREAKUP),
    (r"(?:reply|answer|response)(?: to (?:the|their) (?:brush[- ]?off|objection))?|objection reply",
     DraftKind.OBJECTION),
    (r"message|note|email|follow[- ]?up|something|one", None),
)
_KIND_RE = "|".join(f"(?:{p})" for p, _ in _KINDS)
_DRAFT_RE = re.compile(
    r"^(?:please\s+|can you\s+|could you\s+|would you\s+)?(?:draft|write|compose|prepare)\s+(?:me\s+)?"
    rf"(?:(?:an?|the|my|another)\s+)?(?P<kind>{_KIND_RE})?\s*(?:message\s+|email\s+|note\s+)?"
    r"(?:for|to)\s+(?P<rest>.+)$", re.IGNORECASE)
_TONES = (("shorter", Tone.SHORTER), ("short", Tone.SHORTER), ("warmer", Tone.WARMER), ("warm", Tone.WARMER),
          ("more direct", Tone.DIRECT), ("direct", Tone.DIRECT), ("blunter", Tone.DIRECT))
_TONE_TAIL = re.compile(
    r"[\s,;:(-]+(?:and\s+|but\s+)?(?:make\s+it\s+|keep\s+it\s+|a\s+bit\s+|please\s+)*"
    r"(?P<tone>shorter|short|warmer|warm|more direct|direct|blunter)\)?(?:\s+please)?$", re.IGNORECASE)
_PRACTICE_RE = re.compile(
    r"^(?:ok(?:ay)?[,!]?\s+)?(?:let'?s|let us|can we|could we|i want to|i'?d like to|time to|help me)?\s*"
    r"(?:practi[cs]e|rehearse|drill|role[- ]?play)\b(?P<rest>.*)$", re.IGNORECASE)
_PRACTICE_WORDS = {  # short names of the brush-offs a rep may type after "practice"
    "partner": "partner", "supplier": "supplier", "vendor": "supplier", "on file": "supplier",
    "new year": "new_year", "next year": "new_year", "january": "new_year", "timing": "new_year",
    "info": "send_info", "information": "send_info", "email me": "send_info", "brochure": "send_info",
    "team": "team", "talk it over": "team", "get back": "team",
}
_FILLER = re.compile(r"^[\s:,-]*(?:(?:a|an|the|my|some|one|with|on|answering|against)\s+)*", re.IGNORECASE)

_QUESTION_WORDS = re.compile(r"^(?:how|what|which|who|where|when|why|should|can|could|do|does|is|are|any)\b")
_STUCK = re.compile(r"\b(stuck|stalled|stalling|need(?:s)? (?:a )?decision|need(?:s)? (?:my )?attention|"
                    r"(?:should i|to) (?:focus|work) on|priorit|what'?s next|drifting|at risk)\b")
_NEED_ASK = re.compile(r"\b(need(?:s)? an? (?:hard[- ]?no )?ask|ask for a decision|should i ask|"
                       r"(?:due|ready) for an? ask|who (?:do|should) i ask)\b")
_DUE = re.compile(r"\b(due|coming up|this week|today|tomorrow|follow[- ]?ups?|scheduled)\b")
_MAYBES = re.compile(r"\bmaybes?\b")
_SITUATION = re.compile(r"\b((?:answer|respond|reply|react) to|handle|deal with|comeback|objection|brush[- ]?off|"
                        r"(?:they|prospect|client|customer|buyer)s? (?:say|said|says|tell|told|keeps? saying)|"
                        r"what (?:do|should|can) (?:i|we) (?:say|answer|reply|write) (?:to|when|if))\b")
_HELP = re.compile(r"^(?:help|\?|what can you do|what do you do|who are you|hi|hello|hey)\b")


def _clean(text: str) -> str:
    return " ".join(fold(text).split())


def coach_command(text: str) -> Intent | None:
    """A draft or practice request addressed to the coach, or None (then the chat parser reads the line)."""
    line = " ".join((text or "").split()).strip()
    if not line or len(line) > 500:
        return None
    m = _DRAFT_RE.match(line.rstrip(" .!?"))
    if m:
        return _draft(m)
    p = _PRACTICE_RE.match(line.rstrip(" .!?"))
    if p and not re.match(r"^\s*(?:on|at|for)\s+(?:the\s+)?(?:deal|account)", p.group("rest")):
        return Intent(Want.PRACTICE, brushoff=practice_brushoff(p.group("rest")))
    return None


def _draft(m: re.Match[str]) -> Intent | None:
    kind_words = _clean(m.group("kind") or "")
    kind = next((k for pat, k in _KINDS if kind_words and re.fullmatch(pat, kind_words)), None)
    rest, tone = m.group("rest").strip(), Tone.DEFAULT
    t = _TONE_TAIL.search(rest)
    if t:
        tone = next(v for w, v in _TONES if w == t.group("tone").lower())
        rest = rest[:t.start()]
    target = rest.strip(" ,;:.!?\"'“”‘’")
    if not target:
        return None
    return Intent(Want.DRAFT, target=target, kind=kind, tone=tone)


def practice_brushoff(words: str) -> str | None:
    """The brush-off a rep asked to practise: a BRUSHOFF_KEYS key, their own words, or None (any)."""
    rest = _FILLER.sub("", " ".join((words or "").split())).strip(" .!?\"'“”")
    rest = re.sub(r"^(?:brush[- ]?offs?|objections?)\b[\s:,-]*", "", rest, flags=re.IGNORECASE).strip()
    if not rest:
        return None
    key = detect_brushoff(rest)
    if key is None:
        folded = _clean(rest)
        key = next((v for w, v in _PRACTICE_WORDS.items() if re.search(rf"\b{re.escape(w)}\b", folded)), None)
    if key is None and _clean(rest).replace(" ", "_") in BRUSHOFF_KEYS:
        key = _clean(rest).replace(" ", "_")
    return key or rest[:300]


def coach_question(text: str) -> Intent:
    """What a line the chat parser called chatter asks the coach (HELP when it asks nothing we know)."""
    line = _clean(text or "")
    if not line or _HELP.match(line):
        return Intent(Want.HELP)
    key = detect_brushoff(line)
    if _SITUATION.search(line) or (key is not None and ("?" in line or _QUESTION_WORDS.match(line))):
        return Intent(Want.SITUATION, brushoff=key, question=" ".join(text.split())[:1000])
    if _NEED_ASK.search(line):
        return Intent(Want.NEED_ASK)
    if _MAYBES.search(line):
        return Intent(Want.MAYBES)
    if _STUCK.search(line):
        return Intent(Want.STUCK)
    if _DUE.search(line):
        return Intent(Want.DUE)
    return Intent(Want.HELP)
