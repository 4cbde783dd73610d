"""When a chat line says to try again or meet: the first date still ahead, outside past-meeting clauses.

Only runs of date words go to handlers.domain.when.find_when (each candidate phrase costs a
dateparser call); a date right after "by" is a deadline of ours, not a try-after date.
"""

from __future__ import annotations

import re
from datetime import datetime

from handlers.domain.chat_phrases import DATE_WORD
from handlers.domain.chat_text import TRAIL
from handlers.domain.chat_words import PAST_MEETING
from handlers.domain.when import find_when

_DATE_CLAUSES = re.compile(r"[;!?\n]|,\s|\.\s+(?=[A-Z])|\s[-–—]\s|(?<!\w)but(?!\w)")


# Words a date phrase holds at least one of. Only runs of them go to `find_when`, whose cost grows
# with the words it is given (each candidate phrase is a dateparser call of about a millisecond).
_DATEISH = re.compile(
    r"(?<![\w/])(?:" + DATE_WORD[3:-7] + r"|today|tonight|tmw|tomo|tmr|noon|midnight|weekend|"
    r"days?|weeks?|wks?|fortnight|months?|years?|\d{1,2}(?::\d\d)?\s?(?:am|pm|a\.m\.|p\.m\.)|"
    r"\d{4}-\d\d-\d\d|\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{1,2}(?:st|nd|rd|th))(?![\w/])", re.IGNORECASE)
# Words that join date words into one phrase: "next week", "in 2 weeks", "dec 3 at 2pm", "by friday".
_DATE_GLUE = frozenset({"at", "in", "on", "next", "this", "the", "of", "a", "couple", "by", "nxt", "around", "@",
                        "new", "first", "start", "end", "early", "mid", "late", "beginning"})


def _date_runs(clause: str) -> list[str]:
    """The runs of date words (with the words that join them) in `clause`, in order: what may be a date."""
    runs: list[str] = []
    current: list[str] = []
    dated = False
    for tok in [*clause.split(), ""]:
        word = tok.strip(TRAIL)
        date_word = bool(word) and bool(_DATEISH.fullmatch(word))
        if word and (date_word or word.casefold() in _DATE_GLUE or word.isdigit()):
            current.append(word)
            dated = dated or date_word
            if word == tok:
                continue  # punctuation ends the run: "friday, or monday"
        if dated:
            runs.append(" ".join(current))
        current, dated = [], False
    return runs


def date_ahead(text: str, tz: str, now: datetime) -> datetime | None:
    """The first date still ahead of `now`, outside clauses about a meeting that already happened."""
    for clause in _DATE_CLAUSES.split(text):
        words = {w.strip(TRAIL) for w in clause.casefold().split()}
        if words & PAST_MEETING:
            continue
        for rest in _date_runs(clause):
            for _ in range(3):  # "today" (already begun) may come before the real date
                got = find_when(rest, tz, now) if rest else None
                if got is None:
                    break
                when, phrase = got
                at = rest.find(phrase)
                # "a proposal by friday": a deadline of ours, not when to try them again
                deadline = phrase.casefold().startswith("by ") or (at >= 0 and rest[:at].split()[-1:] == ["by"])
                if when > now and not deadline:
                    return when
                rest = rest[at + len(phrase):] if at >= 0 else ""
    return None

