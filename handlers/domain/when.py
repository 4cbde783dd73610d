"""Dates as reps type them ("dec 3", "next tuesday 2pm", "in 2 weeks"), read in their own time zone.

dateparser does the reading. This module pins it down so that it is fast and
predictable: English only (language detection is what makes dateparser take
seconds on text that is not a date), future dates preferred, phrases read
relative to `now` in the rep's zone, answers returned as aware UTC datetimes.

Decisions:
- A phrase without a time of day ("dec 3", "tomorrow", "in 2 weeks") means local
  midnight of that day, and `describe` shows it without a time.
- Slashed dates are month first (12/3 = 3 Dec) in the zones of countries that
  write them so (US, Canada, the Philippines), day first everywhere else (12/3 =
  12 Mar). ISO dates (2026-12-03) and named months ("3 dec") are never ambiguous.
- A local time that does not exist (clocks spring forward over it) moves on by
  the gap: 02:30 on the night Berlin skips 02:00-03:00 is 03:30 CEST. A local time
  that happens twice (clocks go back) is the first of the two.
- Rep shorthand is read as the words it stands for: "tmrw"/"tmw"/"tomo" (tomorrow),
  "weds"/"thurs" and the other day abbreviations, "nxt wk", "(in) a couple (of)
  weeks" (2 of them). In free text a day or month that is also an English word
  ("wed", "sat", "may") counts only after next/on/by/until/till ("next wed").
- A period ("next week", "next month", "next year", "early january", "mid next month", "end of
  month", "eow", "end of the quarter", "after the new year") names a stretch of the calendar and reads
  as a working day (Mon-Fri) in it: its first one, or for "mid" the 15th (a week's Wednesday), "late"
  the 21st (a week's Thursday), "end" the last working day. A named month ("january") is its first
  working day too. "in a month" stays a day one month ahead.
- "next tuesday" is the first Tuesday after today (tomorrow, said on a Monday; a week ahead, said on
  a Tuesday), the same day as "tuesday". Every reply shows the date it read ("Tue 24 Nov").
- Refused: bare numbers ("3") and bare years or quarters (too vague), amounts
  ("1.2m", "5k": digits run into anything but am/pm, an ordinal, a month, day or
  unit), days before today, years before 2000 and anything more than 10 years ahead.
- An unknown zone name reads as UTC (Slack always sends one; the fallback keeps a
  bad profile from breaking every command).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from zoneinfo import TZPATH

from dateparser.date import DateDataParser

from handlers.domain.periods import PERIOD_WORDS, QUARTER, TRIM, is_period, period_day, working_day
from handlers.domain.zones import zone as _zone

TRY = "Try “dec 3”, “next tuesday 2pm” or “2026-12-03”."
MAX_WORDS = 6  # the longest date phrase we look for ("next tuesday at 2:30 pm")
MAX_CHARS = 64
FIND_BUDGET = 24  # dateparser calls find_when may make (~1 ms each, a few ms on long junk)
HORIZON = timedelta(days=3653)  # ten years

# RELATIVE_BASE carries this odd microsecond: a result still carrying it took its
# time of day from `now` ("tomorrow"), not from the text ("tomorrow 11am").
_MARK = 123457
# Built once. No epoch timestamps ("1700000000") and no "20261203"-style runs.
_SETTINGS = {order: {"PREFER_DATES_FROM": "future", "RETURN_AS_TIMEZONE_AWARE": False,
                     "DATE_ORDER": order, "PARSERS": ["relative-time", "absolute-time"]}
             for order in ("MDY", "DMY")}
_PERIODS = {"day", "week", "month"}  # "2027" or "q1" are too vague for a meeting or a nudge
_MONTH_FIRST_COUNTRIES = {"US", "CA", "PH", "PR", "GU", "AS", "VI", "MP", "UM", "FM", "MH", "PW"}

_MONTHS = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
           "nov", "dec"}
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_WORDS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
              "sunday": 6, "mon": 0, "tue": 1, "tues": 1, "wed": 2, "weds": 2, "thu": 3, "thur": 3, "thurs": 3,
              "fri": 4, "sat": 5, "sun": 6}
# Rep shorthand dateparser does not read (or reads only sometimes: "wed" but not "next wed"), as the
# words it does. Only the text sent to dateparser is rewritten; callers get back what the rep typed.
_SHORTHAND = {"tmrw": "tomorrow", "tmw": "tomorrow", "tmr": "tomorrow", "tmrow": "tomorrow", "tmro": "tomorrow",
              "tomo": "tomorrow", "2moro": "tomorrow", "2morrow": "tomorrow", "tomorow": "tomorrow",
              "tommorow": "tomorrow", "tommorrow": "tomorrow", "nxt": "next", "wk": "week", "wks": "weeks",
              **{d: _FULL_DAYS[n] for d, n in _DAY_WORDS.items() if d not in _FULL_DAYS}}
# "(a) couple (of)" before a unit is 2 of them: "in a couple weeks".
_EXPAND = re.compile(r"(?<![\w/'’])(?:(?P<couple>(?:a\s+)?couple(?:\s+of)?)(?=\s+(?:days|weeks|wks|months|hours)\b)"
                     r"|(?P<word>" + "|".join(sorted(_SHORTHAND, key=len, reverse=True)) + r"))(?![\w/'’])", re.I)
_UNITS = {"day", "days", "week", "weeks", "wk", "wks", "fortnight", "month", "months", "year", "years", "hour", "hours",
          "hr", "hrs", "minute", "minutes", "min", "mins"}
# A bare number is a date only next to one of these: "dec 3", "in 2 weeks", "10 am"; not "in 5", "friday 10".
_SCALES = frozenset(_MONTHS | _UNITS | {"am", "pm", "a.m", "p.m"})
_DATE_WORDS = _SCALES | set(_DAY_WORDS) | set(_SHORTHAND) | {"today", "tomorrow", "tonight", "yesterday", "noon",
                                                              "midnight", "now", "couple"}
# In free text these are more often plain English ("they may", "sat down", "I am") than dates.
_WEAK_WORDS = frozenset({"may", "march", "mar", "sun", "sat", "wed", "now", "am", "pm", "day", "days", "year",
                         "years", "hour", "hours", "hr", "hrs", "minute", "minutes", "min", "mins"})
# ... except the days and months among them right after one of these: "next wed", "on sat", "until may".
_QUALIFIED = frozenset({"may", "march", "mar", "sun", "sat", "wed"})
_QUALIFIERS = frozenset({"next", "nxt", "on", "by", "until", "till"})
# What may follow the digits of a date token ("2pm", "3rd", "dec3", "2h", "2026-12-03t10:00"): not "1.2m" or "5k".
_DIGIT_LETTERS = _DATE_WORDS | {"st", "nd", "rd", "th", "h", "t", ""}
# A phrase does not end on these: "friday at" + "10" reads better as "friday" + note "at 10".
_DANGLING = frozenset({"at", "on", "in", "by", "the", "of", "next", "this", "after", "before", "until",
                       "from", "and", "around"})
_WORD = re.compile(r"[^\W\d_]+")
_HOURS = re.compile(r"\b(hours?|hrs?|minutes?|mins?)\b", re.I)
_ORDINAL_DAY = re.compile(r"(?:on\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)", re.I)


class WhenError(ValueError):
    """The message is a sentence to show the rep as is."""


@lru_cache(maxsize=1)
def _month_first_zones() -> frozenset[str]:
    """Zone names of month-first countries, from the tz database's own zone.tab."""
    tables: list[Traversable] = [Path(d) / "zone.tab" for d in TZPATH]
    try:
        tables.insert(0, resources.files("tzdata.zoneinfo") / "zone.tab")
    except ModuleNotFoundError:  # no tzdata package: the system database only
        pass
    for table in tables:
        try:
            rows = [line.split("\t") for line in table.read_text(encoding="utf-8").splitlines()]
        except OSError:
            continue
        return frozenset(r[2] for r in rows if len(r) > 2 and r[0] in _MONTH_FIRST_COUNTRIES)
    return frozenset()


def _date_order(tz: str) -> str:
    month_first = tz.startswith(("US/", "Canada/")) or tz in _month_first_zones()
    return "MDY" if month_first else "DMY"


def _local_now(now: datetime, tz: str) -> datetime:
    aware = now if now.tzinfo else now.replace(tzinfo=UTC)
    return aware.astimezone(_zone(tz)).replace(tzinfo=None)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _tokens(text: str) -> list[str]:
    return [t.strip(TRIM) for t in text.casefold().split()]


def _mentions_date(text: str) -> bool:
    """Cheap pre-check: a digit or a date word somewhere."""
    return any(c.isdigit() for c in text) or any(t in _DATE_WORDS or t in PERIOD_WORDS for t in _tokens(text))


def _plausible(phrase: str, strict: bool = False) -> bool:
    """Worth asking dateparser about: it names a date, not just a number (strict: not just a weak word)."""
    toks = _tokens(phrase)
    if not toks or toks[-1] in _DANGLING:
        return False
    # A trailing bare number is a day after its month, or a year: "dec 3", "3 dec 2027"; not "in 2 weeks 5".
    if toks[-1].isdigit() and len(toks[-1]) != 4 and (len(toks) < 2 or toks[-2] not in _MONTHS):
        return False
    named = {t for t in toks if t in _DATE_WORDS}
    numbers = [t for t in toks if any(c.isdigit() for c in t)]
    if not all(_date_letters(_WORD.findall(t)) for t in numbers):
        return False  # "1.2m", "5k", "q1": amounts and quarters, not dates
    if any(t.isdigit() for t in numbers) and not named & _SCALES:
        return False
    if strict and not numbers:
        named -= {t for i, t in enumerate(toks) if t in _WEAK_WORDS
                  and not (t in _QUALIFIED and i > 0 and toks[i - 1] in _QUALIFIERS)}
    return bool(named) or any(not t.isdigit() for t in numbers)


def _date_letters(runs: list[str]) -> bool:
    """The letters in a token with digits are a date's: "10a.m." (a, m), "dec3rd" (dec, rd), "2pm"."""
    return "".join(runs) in _DIGIT_LETTERS or all(r in _DIGIT_LETTERS for r in runs)


def _expand(phrase: str) -> str:
    """The phrase with rep shorthand spelled out for dateparser: "nxt wed" -> "next wednesday"."""
    return _EXPAND.sub(lambda m: "2" if m["couple"] else _SHORTHAND[m["word"].casefold()], phrase)


def _next_day_of_month(day: int, today: datetime) -> datetime | None:
    """The next time the month has this day, from today on: "the 3rd" on 23 Nov is 3 Dec."""
    year, month = today.year, today.month
    for _ in range(13):
        try:
            got = datetime(year, month, day)
        except ValueError:
            got = None
        if got is not None and got.date() >= today.date():
            return got
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _is_period(phrase: str) -> bool:
    return is_period(_expand(phrase))


def read_when(phrase: str, tz: str, now: datetime) -> datetime | None:
    """THE date reader: the whole phrase as an aware UTC datetime; None if it is not a date; WhenError
    if we refuse it. Commands, chat, forms and snoozes all read dates through it (parse_when, split_when
    and find_when below only choose which words to give it), so a phrase means the same everywhere."""
    phrase = phrase.strip(TRIM)
    if not phrase or len(phrase) > MAX_CHARS:
        return None
    local_now = _local_now(now, tz)
    if (day := period_day(_expand(phrase), local_now.date())) is not None:
        start = datetime.combine(day, time())
        _check_range(phrase, start, local_now)
        return start.replace(tzinfo=_zone(tz)).astimezone(UTC)
    if not _plausible(phrase):
        return None
    if m := _ORDINAL_DAY.fullmatch(phrase):  # "the 3rd": dateparser may read 3 as March, or as past
        nth = _next_day_of_month(int(m[1]), local_now)
        return None if nth is None else nth.replace(tzinfo=_zone(tz)).astimezone(UTC)
    base = local_now.replace(microsecond=_MARK)
    settings = {**_SETTINGS[_date_order(tz)], "RELATIVE_BASE": base}
    try:
        data = DateDataParser(languages=["en"], settings=settings).get_date_data(_expand(phrase))
    except Exception:  # dateparser can overflow or trip on odd input; to us that is "not a date"
        return None
    got: datetime | None = data.date_obj
    if got is None or data.period not in _PERIODS:
        return None
    if got.time() == base.time() and not _HOURS.search(phrase):
        got = datetime.combine(got.date(), time())  # no time of day given: the whole day
    elif got.microsecond == _MARK:
        got = got.replace(second=0, microsecond=0)  # "in 2 hours": to the minute
    elif data.period == "month":  # a named month: its first working day, like "early january"
        got = datetime.combine(working_day(got.date().replace(day=1)), time())
    named = {_DAY_WORDS[w] for w in _words(phrase) if w in _DAY_WORDS}
    if named and named != {got.weekday()}:
        return None  # "friday 10" read as the 10th: not what was said
    _check_range(phrase, got, local_now)
    # Attaching the zone (fold=0) and converting is what moves nonexistent times on by the gap.
    return got.replace(tzinfo=_zone(tz)).astimezone(UTC)


def _check_range(phrase: str, got: datetime, local_now: datetime) -> None:
    if got.year < 2000:
        raise WhenError(f"“{phrase}” is before 2000: I need a date that's still ahead. {TRY}")
    if got.date() < local_now.date():
        raise WhenError(f"“{phrase}” reads as {_day(got)}, which is in the past. {TRY}")
    if got - local_now > HORIZON:
        raise WhenError(f"“{phrase}” is more than 10 years away: check the year. {TRY}")


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def parse_when(text: str, tz: str, now: datetime) -> datetime:
    """The date or time the whole text names, as an aware UTC datetime."""
    phrase = _clean(text)
    if not phrase:
        raise WhenError(f"I need a date or time here. {TRY}")
    got = read_when(phrase, tz, now)
    if got is None:
        raise WhenError(f"I couldn't read “{phrase[:MAX_CHARS]}” as a date. {TRY}")
    return got


def split_when(text: str, tz: str, now: datetime) -> tuple[datetime, str]:
    """The longest run of leading words that is a date, and the rest of the text (a note)."""
    toks = list(re.finditer(r"\S+", str(text)))
    for k in range(min(len(toks), MAX_WORDS), 0, -1):
        got = read_when(text[toks[0].start():toks[k - 1].end()], tz, now)
        if got is not None:
            return got, text[toks[k - 1].end():].strip()
    start = " ".join(t[0] for t in toks[:3])
    if not start:
        raise WhenError(f"I need a date or time here. {TRY}")
    raise WhenError(f"I couldn't read a date at the start of “{start[:MAX_CHARS]}”. {TRY}")


def find_when(text: str, tz: str, now: datetime) -> tuple[datetime, str] | None:
    """The first date phrase inside free text ("try after Jan 15"), and the words that name it.

    Leftmost, then longest, among phrases with a clear date word or a digit; dates
    in the past and refused ones are skipped, since free text may mention them in passing.
    At most FIND_BUDGET phrases go to dateparser, so that no text can make this slow.
    """
    text = str(text)
    toks = list(re.finditer(r"\S+", text))
    budget = FIND_BUDGET
    for i in range(len(toks)):
        if i and QUARTER.fullmatch(toks[i - 1][0].casefold().strip(TRIM)):
            continue  # "Q1 next year" is a quarter, which is too vague to act on
        if not _mentions_date(" ".join(t[0] for t in toks[i:i + MAX_WORDS])):
            continue
        for k in range(min(len(toks) - i, MAX_WORDS), 0, -1):
            phrase = text[toks[i].start():toks[i + k - 1].end()].strip(TRIM)
            if not _plausible(phrase, strict=True) and not _is_period(phrase):
                continue
            if budget == 0:
                return None
            budget -= 1
            try:
                got = read_when(phrase, tz, now)
            except WhenError:
                continue
            if got is not None:
                return got, phrase
    return None


_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day(local: datetime, year: bool = True) -> str:
    text = f"{_DAY_NAMES[local.weekday()]} {local.day} {_MONTH_NAMES[local.month - 1]}"
    return f"{text} {local.year}" if year else text


def _zone_label(local: datetime) -> str:
    name = local.tzname() or "UTC"
    if name[:1] in "+-":  # zones without a common abbreviation: "+1345" -> "UTC+13:45"
        digits = name[1:]
        return f"UTC{name[0]}{digits[:2]}" + (f":{digits[2:4]}" if digits[2:4] else "")
    return name


def describe(dt: datetime, tz: str, now: datetime | None = None) -> str:
    """How we understood a time, in the rep's zone: "Tue 3 Dec, 14:00 CET", or "Thu 3 Dec" for a day.

    The year is shown when it is not the current one, and always when `now` is not
    given (this module never reads the clock).
    """
    zone = _zone(tz)
    local = (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(zone)
    show_year = now is None or local.year != _local_now(now, tz).year
    day = _day(local, show_year)
    if local.time() == time():
        return day
    return f"{day}, {local:%H:%M} {_zone_label(local)}"
