"""Calendar periods as reps name them ("next month", "early january", "end of the week", "eoq", "after the
new year"), each read as one working day (Mon-Fri) in it.

dateparser reads none of these (and "next month" as a day one month from now). A period names a
stretch of the calendar; we read it as a working day of the part named: the start (early, start of,
beginning of, or no part), the middle (mid: the 15th, a week's Wednesday), late (the 21st, a week's
Thursday) or the end (the last working day). Periods already under way give today at the earliest.
handlers.domain.when asks here before it asks dateparser.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

TRIM = " \t\n,.;:!?()[]\"'“”"  # what may surround a date phrase without being part of it

_MONTH_NUMBERS = {name: n for n, names in enumerate(
    (("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
     ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
     ("november", "nov"), ("december", "dec")), start=1) for name in names}
_PERIOD_SHORTHAND = {"eom": "end of month", "eow": "end of week", "eoy": "end of year", "eoq": "end of quarter",
                     "month end": "end of month", "month-end": "end of month", "year end": "end of year",
                     "year-end": "end of year"}
_PART = r"(?:(?P<part>early|start\s+of|beginning\s+of|mid|middle\s+of|late|end\s+of)\s+(?:the\s+)?)?"
_LEAD = r"(?:(?:after|from|until|till|by|around|in|at|for|on|during|over)\s+)?(?:the\s+)?"
_NEW_YEAR = re.compile(_LEAD + r"(?:new\s+year(?:'?s)?(?:\s+day)?|(?:first|start|beginning)\s+of\s+the\s+year)")
_UNIT_PERIOD = re.compile(_LEAD + _PART + r"(?:(?P<rel>next|this)\s+)?(?P<unit>week|month|quarter|year)")
_MONTH_PERIOD = re.compile(_LEAD + _PART + "(?P<month>" + "|".join(sorted(_MONTH_NUMBERS, key=len, reverse=True))
                           + r")\.?(?:\s+(?P<year>\d{4}))?")
_PERIOD_SHORT = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(_PERIOD_SHORTHAND, key=len, reverse=True)))
                           + r")\b")
PERIOD_WORDS = frozenset({"eom", "eow", "eoy", "eoq", "quarter", "new", "early", "mid", "late", "end"})
QUARTER = re.compile(r"q[1-4]")
_PARTS = {"early": None, "start": None, "beginning": None, "mid": "mid", "middle": "mid", "late": "late",
          "end": "end"}


def working_day(day: date, forward: bool = True) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1 if forward else -1)
    return day


def _in_month(year: int, month: int, part: str | None) -> date:
    if part == "end":
        last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        return working_day(last, forward=False)
    return working_day(date(year, month, {"mid": 15, "late": 21}.get(part or "", 1)))


def _in_unit(unit: str, ahead: bool, part: str | None, today: date) -> date:
    """The day `part` of this (or the next) week, month, quarter or year names."""
    y, mo = today.year, today.month
    if unit == "week":  # a weekend's "this week" is the week ahead
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7 if ahead or today.weekday() >= 5 else 0)
        return monday + timedelta(days={None: 0, "mid": 2, "late": 3, "end": 4}[part])
    if unit == "month":
        return _in_month(y + (ahead and mo == 12), mo % 12 + 1 if ahead else mo, part)
    if unit == "quarter":
        first = (mo - 1) // 3 * 3 + 1 + (3 if ahead else 0)
        y, first = (y + 1, first - 12) if first > 12 else (y, first)
        return {"mid": _in_month(y, first + 1, "mid"), "late": _in_month(y, first + 2, None),
                "end": _in_month(y, first + 2, "end")}.get(part or "", _in_month(y, first, None))
    y += ahead  # year
    return {"mid": _in_month(y, 7, None), "late": _in_month(y, 10, None),
            "end": _in_month(y, 12, "end")}.get(part or "", _in_month(y, 1, None))


def period_match(text: str) -> re.Match[str] | None:
    """The match of a period phrase (folded), or None: also for "this month" (now, not a day to act on)
    and a month alone ("january" is dateparser's, and in free text "may" is mostly a verb)."""
    if m := _NEW_YEAR.fullmatch(text):
        return m
    if m := _UNIT_PERIOD.fullmatch(text):
        return m if m["rel"] == "next" or m["part"] else None
    if m := _MONTH_PERIOD.fullmatch(text):
        return m if m["part"] or m["year"] else None
    return None


def period_text(phrase: str) -> str:
    text = " ".join(phrase.casefold().replace("’", "'").split()).strip(TRIM)
    return _PERIOD_SHORT.sub(lambda m: _PERIOD_SHORTHAND[m[0]], text)


def period_day(phrase: str, today: date) -> date | None:
    """The day a period phrase names, from `today` on; None if the phrase is not a period."""
    m = period_match(period_text(phrase))
    if m is None:
        return None
    if m.re is _NEW_YEAR:
        return working_day(date(today.year + 1, 1, 1))
    part = _PARTS[m["part"].split()[0]] if m["part"] else None
    if m.re is _UNIT_PERIOD:
        return max(today, _in_unit(m["unit"], m["rel"] == "next", part, today))
    month = _MONTH_NUMBERS[m["month"]]
    if m["year"]:
        return _in_month(int(m["year"]), month, part)
    this_year = _in_month(today.year, month, part)
    return this_year if this_year >= today else _in_month(today.year + 1, month, part)


def is_period(phrase: str) -> bool:
    """Whether `phrase` (shorthand already spelled out) names a period."""
    return period_match(period_text(phrase)) is not None
