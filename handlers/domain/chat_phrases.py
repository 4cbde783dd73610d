"""The outcome a chat line tells, as phrases: "said maybe", "signed", "not a fit", "next mtg <date>".

The phrases and their kinds are data (PHRASES in handlers.domain.chat_words); this module compiles
them into patterns over normalised text (folded, apostrophes gone, abbreviations expanded, the
company replaced by CO) and finds every one that occurs: overlaps resolved longest first, a phrase
right after a negation dropped ("didn't say no"), a NO before a softener read as a MAYBE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.domain.chat_text import fold
from handlers.domain.chat_words import ABBREVIATIONS, MUSING, NEGATORS, PHRASES, SOFTENERS
from handlers.domain.model import Kind

CO = "\ue000"  # stands for the company in the text phrases are matched against
_END = r"(?=\s*(?:$|[^\w\s" + CO + r"]|(?:but|and|so|though|because|since|as|lol|haha)\b))"
_APOSTROPHES = re.compile(r"['’‘`´]")
_ABBREV = re.compile("|".join(
    r"(?<!\w)" + re.escape(k).replace(r"\ ", r"\s+") + ("" if k.endswith("/") else r"(?!\w)")
    for k in sorted(ABBREVIATIONS, key=len, reverse=True)))


def normalise(folded: str) -> str:
    """Folded text as phrases see it: no apostrophes, abbreviations expanded, hyphens as spaces."""
    s = _APOSTROPHES.sub("", folded)
    s = _ABBREV.sub(lambda m: ABBREVIATIONS[" ".join(m[0].split())], s)
    s = re.sub(r"(?<=\w)[-‐‑–](?=\w)", " ", s)
    return " ".join(s.split())


def _alternative(word: str) -> str:
    if word == "<co>":
        return CO
    text = normalise(fold(word))
    body = r"\s+".join(re.escape(w) for w in text.split())
    left = r"(?<!\w)" if text[:1].isalnum() else ""
    right = r"(?!\w)" if text[-1:].isalnum() else ""
    return left + body + right


# Booking words end a gap: "call booked for next tuesday" is a meeting, not "call ... next" (a maybe).
_GAP = r"(?:\s+(?!(?:booked|scheduled|set|confirmed|invite|meeting|demo)(?!\w))[^\s,.;:!?()]+){0,4}?"
DATE_WORD = (r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|"
              r"august|september|october|november|december|mon|tue|tues|wed|thu|thur|thurs|fri|monday|tuesday|"
              r"wednesday|thursday|friday|tomorrow|tmrw|next|\d{1,2}/\d{1,2})(?!\w)")


def compile_phrase(phrase: str) -> re.Pattern[str]:
    pattern = ""
    for slot in phrase.split():
        if slot == "^":
            pattern += r"^\s*"
            continue
        if slot == "<end>":
            pattern += _END
            continue
        if slot == "*":  # up to four words of the same clause: "asked us for a formal proposal"
            pattern += _GAP
            continue
        if slot == "<date>":
            pattern += r"\s+" + DATE_WORD
            continue
        optional = slot.endswith("?") and len(slot) > 1
        alts = "(?:" + "|".join(_alternative(a) for a in slot.rstrip("?").split("|")) + ")"
        if not pattern or pattern.endswith(r"^\s*"):
            assert not optional, f"a phrase cannot start with an optional word: {phrase}"
            pattern += alts
        else:
            pattern += f"(?:\\s+{alts})?" if optional else f"\\s+{alts}"
    return re.compile(pattern)


_PATTERNS: list[tuple[Kind, str, re.Pattern[str]]] = [
    (kind, phrase, compile_phrase(phrase)) for kind, phrases in PHRASES.items() for phrase in phrases]
_SOFTENER = re.compile(r"\s*(?:" + "|".join(re.escape(s) for s in SOFTENERS) + r")(?!\w)")
_CLAUSE_MARK = re.compile(r"[,.;:!?()]|(?<!\w)but(?!\w)")


@dataclass(frozen=True)
class Match:
    kind: Kind
    phrase: str
    start: int
    end: int


def outcomes(s: str) -> list[Match]:
    """The outcome phrases in normalised text `s`, in order, without negated ones."""
    found = [Match(kind, phrase, m.start(), m.end())
             for kind, phrase, pattern in _PATTERNS for m in pattern.finditer(s) if m.end() > m.start()]
    kept: list[Match] = []
    for m in sorted(found, key=lambda m: (m.start - m.end, m.start, list(PHRASES).index(m.kind))):
        if all(m.end <= k.start or m.start >= k.end for k in kept):
            kept.append(m)
    kept.sort(key=lambda m: m.start)
    out: list[Match] = []
    prev_end = 0
    for m in kept:
        window = s[prev_end:m.start]
        clauses = _CLAUSE_MARK.split(window)
        before = clauses[-1].split()[-3:]
        prev_end = m.end
        if any(w in NEGATORS for w in before) or " ".join(before).endswith("yet to"):
            continue  # "didnt say no", "has yet to sign"
        after = s[m.end:]
        if m.phrase == "maybe" and after.split()[:1] and after.split()[0] in MUSING:
            continue
        if m.kind is Kind.NO and _SOFTENER.match(after):
            m = Match(Kind.MAYBE, m.phrase, m.start, m.end)
        out.append(m)
    return out

