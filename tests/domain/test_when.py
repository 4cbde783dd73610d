"""Dates as reps type them, read in their own zone; how we say back what we understood."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.domain.when import WhenError, describe, find_when, parse_when, split_when

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday
LA, BERLIN, KOLKATA, CHATHAM = "America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata", "Pacific/Chatham"


def local(dt: datetime, tz: str) -> str:
    assert dt.tzinfo is not None and dt.utcoffset().total_seconds() == 0  # always aware UTC
    return dt.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize("tz", [LA, BERLIN, KOLKATA, CHATHAM])
@pytest.mark.parametrize("text, expected", [
    ("2026-12-03", "2026-12-03 00:00"),
    ("dec 3", "2026-12-03 00:00"),  # late November: this year's
    ("Jan 15", "2027-01-15 00:00"),  # in November: next year's
    ("3 Dec 2027", "2027-12-03 00:00"),
    ("next tuesday 2pm", "2026-11-24 14:00"),
    ("thursday 10am", "2026-11-26 10:00"),
    ("friday", "2026-11-27 00:00"),
    ("the 3rd", "2026-12-03 00:00"),  # the next 3rd, not the past one
    ("december", "2026-12-01 00:00"),  # a named month: its first day
])
def test_phrases_in_every_zone(tz, text, expected):
    assert local(parse_when(text, tz, NOW), tz) == expected


@pytest.mark.parametrize("tz, text, expected", [
    # "now" is 02:00 in LA, 11:00 in Berlin, 15:30 in Kolkata, 23:45 in Chatham, 00:00 next day in Kiritimati
    (LA, "tomorrow", "2026-11-24 00:00"),
    (CHATHAM, "tomorrow", "2026-11-24 00:00"),
    (CHATHAM, "in 2 hours", "2026-11-24 01:45"),  # past local midnight
    ("Pacific/Kiritimati", "today", "2026-11-24 00:00"),  # UTC+14: already the 24th there
    ("Pacific/Kiritimati", "in 2 weeks", "2026-12-08 00:00"),
    (LA, "in 2 weeks", "2026-12-07 00:00"),
    (KOLKATA, "in 2 hours", "2026-11-23 17:30"),
    (LA, "10am", "2026-11-23 10:00"),  # still ahead today
    (BERLIN, "10am", "2026-11-24 10:00"),  # passed today: tomorrow
    (LA, "12/3", "2026-12-03 00:00"),  # US zones: month first
    (BERLIN, "12/3", "2027-03-12 00:00"),  # elsewhere: day first
    (KOLKATA, "12/3", "2027-03-12 00:00"),
    (BERLIN, "31/12", "2026-12-31 00:00"),
    (LA, "next month", "2026-12-01 00:00"),  # a period: its first working day (was a day a month ahead)
    # rep shorthand (the text sent to dateparser is spelled out; callers keep what was typed)
    (LA, "tmrw 2pm", "2026-11-24 14:00"),
    (LA, "3pm tmrw", "2026-11-24 15:00"),
    (BERLIN, "tomo", "2026-11-24 00:00"),
    (LA, "next wed", "2026-11-25 00:00"),
    (LA, "next weds", "2026-11-25 00:00"),
    (LA, "thurs 3pm", "2026-11-26 15:00"),
    (LA, "next sat", "2026-11-28 00:00"),
    (LA, "in a couple weeks", "2026-12-07 00:00"),
    (LA, "in a couple of days", "2026-11-25 00:00"),
    (LA, "in 2 wks", "2026-12-07 00:00"),
    (LA, "nxt wk", "2026-11-30 00:00"),
])
def test_relative_to_now_in_the_reps_zone(tz, text, expected):
    assert local(parse_when(text, tz, NOW), tz) == expected


def test_date_only_means_local_midnight():
    dt = parse_when("dec 3", CHATHAM, NOW)
    assert dt == datetime(2026, 12, 3, tzinfo=ZoneInfo(CHATHAM)).astimezone(UTC)
    assert dt.tzinfo is UTC


def test_blorp_message():
    with pytest.raises(WhenError) as e:
        parse_when("blorp", BERLIN, NOW)
    assert str(e.value) == ("I couldn't read “blorp” as a date. "
                            "Try “dec 3”, “next tuesday 2pm” or “2026-12-03”.")


@pytest.mark.parametrize("text, says", [
    ("", "I need a date"),
    ("   ", "I need a date"),
    ("3", "couldn't read"),  # a bare number is not a date
    ("in 5", "couldn't read"),
    ("friday 10", "couldn't read"),  # dateparser would say the 10th
    ("2027", "couldn't read"),  # a bare year is too vague
    ("q1 2027", "couldn't read"),
    ("a", "couldn't read"),
    ("yesterday", "in the past"),
    ("1999-01-01", "before 2000"),
    ("1/1/2099", "10 years"),
    ("12/3/95", "10 years"),  # two-digit years are read forward
    ("1700000000", "couldn't read"),  # no epoch timestamps
    ("x" * 500, "couldn't read"),
    ("1.2m", "couldn't read"),  # an amount, not 1.2 minutes from now
    ("5k", "couldn't read"),
])
def test_refusals(text, says):
    with pytest.raises(WhenError, match=says):
        parse_when(text, BERLIN, NOW)


def test_an_unknown_zone_reads_as_utc():
    assert parse_when("dec 3 2pm", "Mars/Olympus", NOW) == datetime(2026, 12, 3, 14, tzinfo=UTC)
    assert parse_when("dec 3 2pm", "", NOW) == datetime(2026, 12, 3, 14, tzinfo=UTC)


def test_naive_now_is_taken_as_utc():
    assert parse_when("tomorrow", BERLIN, NOW.replace(tzinfo=None)) == parse_when("tomorrow", BERLIN, NOW)


# --- DST ---------------------------------------------------------------------------------------------

SPRING = datetime(2027, 3, 22, 10, tzinfo=UTC)  # Monday; Berlin skips 02:00-03:00 on Sunday 28 March
AUTUMN = datetime(2027, 10, 25, 10, tzinfo=UTC)  # Monday; Berlin repeats 02:00-03:00 on Sunday 31 October


def test_a_nonexistent_local_time_moves_on_by_the_gap():
    dt = parse_when("next sunday 2:30am", BERLIN, SPRING)
    assert dt == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert local(dt, BERLIN) == "2027-03-28 03:30"
    assert describe(dt, BERLIN, SPRING) == "Sun 28 Mar, 03:30 CEST"


def test_times_either_side_of_the_spring_change_keep_their_wall_clock():
    assert local(parse_when("sunday 1:30am", BERLIN, SPRING), BERLIN) == "2027-03-28 01:30"
    assert parse_when("sunday 1:30am", BERLIN, SPRING) == datetime(2027, 3, 28, 0, 30, tzinfo=UTC)
    assert parse_when("sunday 3:30am", BERLIN, SPRING) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)


def test_a_repeated_local_time_is_the_first_one():
    dt = parse_when("oct 31 2:30am", BERLIN, AUTUMN)
    assert dt == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 02:30 CEST, not 02:30 CET
    assert describe(dt, BERLIN, AUTUMN) == "Sun 31 Oct, 02:30 CEST"


def test_los_angeles_spring_gap():
    dt = parse_when("mar 14 2:30am", LA, datetime(2027, 3, 1, tzinfo=UTC))
    assert local(dt, LA) == "2027-03-14 03:30"


def test_same_phrase_on_either_side_of_a_change_uses_each_days_offset():
    before = parse_when("mar 27 9am", BERLIN, SPRING)
    after = parse_when("mar 29 9am", BERLIN, SPRING)
    assert (before.hour, after.hour) == (8, 7)  # CET then CEST


# --- describe ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dt, tz, shown", [
    (datetime(2026, 12, 3, 13, tzinfo=UTC), BERLIN, "Thu 3 Dec, 14:00 CET"),
    (datetime(2026, 12, 2, 23, tzinfo=UTC), BERLIN, "Thu 3 Dec"),  # local midnight: a day
    (datetime(2026, 12, 3, 22, tzinfo=UTC), LA, "Thu 3 Dec, 14:00 PST"),
    (datetime(2026, 12, 3, 8, 30, tzinfo=UTC), KOLKATA, "Thu 3 Dec, 14:00 IST"),
    (datetime(2026, 12, 3, 0, 15, tzinfo=UTC), CHATHAM, "Thu 3 Dec, 14:00 UTC+13:45"),
    (datetime(2027, 1, 15, 9, tzinfo=UTC), BERLIN, "Fri 15 Jan 2027, 10:00 CET"),  # not this year
    (datetime(2027, 1, 14, 23, tzinfo=UTC), BERLIN, "Fri 15 Jan 2027"),
])
def test_describe(dt, tz, shown):
    assert describe(dt, tz, NOW) == shown


def test_describe_without_now_always_shows_the_year():
    assert describe(datetime(2026, 12, 2, 23, tzinfo=UTC), BERLIN) == "Thu 3 Dec 2026"


def test_describe_round_trips_parse():
    for tz in (LA, BERLIN, KOLKATA, CHATHAM):
        assert describe(parse_when("dec 3", tz, NOW), tz, NOW) == "Thu 3 Dec"
        assert describe(parse_when("dec 3 2:15pm", tz, NOW), tz, NOW).startswith("Thu 3 Dec, 14:15 ")


# --- split_when and find_when ----------------------------------------------------------------------

@pytest.mark.parametrize("text, when, rest", [
    ("thursday 10am demo with CTO", "2026-11-26 10:00", "demo with CTO"),
    ("dec 3 2pm with CTO", "2026-12-03 14:00", "with CTO"),
    ("tomorrow call back", "2026-11-24 00:00", "call back"),
    ("in 2 weeks 5 people", "2026-12-07 00:00", "5 people"),
    ("friday 3 people", "2026-11-27 00:00", "3 people"),
    ("friday at 10", "2026-11-27 00:00", "at 10"),  # a bare hour is not a time: say 10am
    ("2026-12-03 kickoff", "2026-12-03 00:00", "kickoff"),
    ("dec 3, then demo", "2026-12-03 00:00", "then demo"),
    ("next tuesday 2pm", "2026-11-24 14:00", ""),
])
def test_split_when(text, when, rest):
    dt, note = split_when(text, BERLIN, NOW)
    assert (local(dt, BERLIN), note) == (when, rest)


@pytest.mark.parametrize("text, says", [
    ("blorp tomorrow", "start of “blorp tomorrow”"),
    ("", "I need a date"),
    ("jan 15 2099 call", "10 years"),
])
def test_split_when_needs_a_leading_date(text, says):
    with pytest.raises(WhenError, match=says):
        split_when(text, BERLIN, NOW)


@pytest.mark.parametrize("text, when, phrase", [
    ("try after Jan 15", "2027-01-15 00:00", "after Jan 15"),
    ("next meeting Thursday 10am", "2026-11-26 10:00", "Thursday 10am"),
    ("call in 2 weeks", "2026-12-07 00:00", "in 2 weeks"),
    ("budget frozen until march 3, maybe", "2027-03-03 00:00", "march 3"),
    ("met yesterday, try again next week", "2026-11-30 00:00", "next week"),  # past dates skipped
    ("ping me tomorrow.", "2026-11-24 00:00", "tomorrow"),
    ("mtg tmrw 2pm", "2026-11-24 14:00", "tmrw 2pm"),  # not "2pm" today
    ("demo 3pm tmrw", "2026-11-24 15:00", "3pm tmrw"),
    ("meeting set for next wed at 2", "2026-11-25 00:00", "next wed"),  # a bare hour is not a time
    ("call me on thurs", "2026-11-26 00:00", "on thurs"),
    ("try again in a couple weeks", "2026-12-07 00:00", "in a couple weeks"),
    ("deal is 1.2m, call tomorrow", "2026-11-24 00:00", "tomorrow"),
])
def test_find_when(text, when, phrase):
    dt, found = find_when(text, BERLIN, NOW)
    assert (local(dt, BERLIN), found) == (when, phrase)
    assert found in text


@pytest.mark.parametrize("text", [
    "send me info", "they may call back", "sat down with the CFO", "now is not a good time",
    "I am out", "3 people on leave", "", "Q1 next year", "1.2m", "worth 1.2m", "5k seats", "a couple of people",
    "c'mon, wed them", "this may work",
])
def test_find_when_ignores_plain_english(text):
    assert find_when(text, BERLIN, NOW) is None


# --- speed and totality -------------------------------------------------------------------------

def test_every_call_is_fast():
    parse_when("dec 3", BERLIN, NOW)  # dateparser loads its data on first use
    texts = ["blorp", "next tuesday 2pm", "in 2 weeks", "dec 3", "xyzzy plugh 42 frob", "2026-12-03",
             "asdf qwer zxcv", "friday", "the weather is nice", "tomorrow 3pm", "tmrw 2pm", "in a couple weeks"]
    took = []
    for text in texts * 3:
        start = time.perf_counter()
        try:
            parse_when(text, BERLIN, NOW)
        except WhenError:
            pass
        took.append(time.perf_counter() - start)
    assert statistics.median(took) < 0.02
    assert max(took) < 0.5  # dateparser's language detection would take ~3 s
    start = time.perf_counter()
    find_when("blah " * 100 + "try after jan 15 " + "blah 3 sat may " * 20, BERLIN, NOW)
    assert time.perf_counter() - start < 0.5


zones = st.sampled_from([LA, BERLIN, KOLKATA, CHATHAM, "UTC"])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), zones)
def test_parse_when_gives_a_utc_datetime_or_a_when_error(text, tz):
    try:
        dt = parse_when(text, tz, NOW)
    except WhenError as e:
        assert str(e)
        return
    assert dt.tzinfo is UTC
    assert datetime(2000, 1, 1, tzinfo=UTC) <= dt


date_words = st.sampled_from(["dec", "3", "next", "tuesday", "2pm", "in", "2", "weeks", "tomorrow", "at",
                              "10am", "jan", "15", "2026-12-03", "12/3", "sunday", "2:30am", "may", "blorp",
                              "tmrw", "weds", "a couple of", "1.2m", "wks"])


@settings(max_examples=200, deadline=None)
@given(st.lists(date_words, max_size=7).map(" ".join), zones)
def test_date_like_text_never_crashes(text, tz):
    try:
        dt, rest = split_when(text, tz, NOW)
    except WhenError:
        return
    assert dt.tzinfo is UTC and text.endswith(rest)
    found = find_when(text, tz, NOW)  # may skip what split_when takes ("may" alone is plain English)
    assert found is None or (found[0].tzinfo is UTC and found[1] in text)


# --- one reader: periods, the same everywhere, on any day of the year ----------------------------------

SUMMER = datetime(2026, 7, 14, 15, tzinfo=UTC)  # a Tuesday in July (EDT, CEST)
YEAR_END = datetime(2026, 12, 30, 15, tzinfo=UTC)  # a Wednesday, two days before the new year
NY = "America/New_York"


@pytest.mark.parametrize("now, text, expected", [
    (NOW, "after the new year", "2027-01-01"),  # Fri 1 Jan 2027
    (NOW, "the new year", "2027-01-01"),
    (NOW, "next year", "2027-01-01"),
    (NOW, "end of month", "2026-11-30"),  # Mon 30 Nov
    (NOW, "end of the month", "2026-11-30"),
    (NOW, "eom", "2026-11-30"),
    (NOW, "early january", "2027-01-01"),
    (NOW, "mid january", "2027-01-15"),
    (NOW, "late january", "2027-01-21"),
    (NOW, "end of january", "2027-01-29"),  # Sun 31 Jan: the Friday before
    (NOW, "next month", "2026-12-01"),  # Tue 1 Dec, not Wed 23 Dec
    (NOW, "mid next month", "2026-12-15"),
    (NOW, "end of next month", "2026-12-31"),
    (NOW, "next week", "2026-11-30"),  # its Monday
    (NOW, "end of the week", "2026-11-27"),  # this Friday
    (NOW, "end of next week", "2026-12-04"),
    (NOW, "next quarter", "2027-01-01"),
    (NOW, "end of the year", "2026-12-31"),
    (SUMMER, "after the new year", "2027-01-01"),
    (SUMMER, "next month", "2026-08-03"),  # Sat 1 Aug: the Monday after, never a Saturday
    (SUMMER, "end of month", "2026-07-31"),
    (SUMMER, "early january", "2027-01-01"),
    (SUMMER, "early august", "2026-08-03"),
    (SUMMER, "next week", "2026-07-20"),
    (SUMMER, "next year", "2027-01-01"),
    (SUMMER, "next quarter", "2026-10-01"),
    (SUMMER, "august", "2026-08-03"),  # a named month: its first working day too
    (YEAR_END, "next month", "2027-01-01"),
    (YEAR_END, "end of month", "2026-12-31"),
    (YEAR_END, "next year", "2027-01-01"),
    (YEAR_END, "early january", "2027-01-01"),
    (datetime(2027, 7, 31, 15, tzinfo=UTC), "end of month", "2027-07-31"),  # a Saturday: today, not past
    (datetime(2027, 12, 1, 15, tzinfo=UTC), "after the new year", "2028-01-03"),  # Sat 1 Jan 2028: Monday
])
def test_periods_read_as_a_working_day_in_them(now, text, expected):
    got = parse_when(text, NY, now)
    assert local(got, NY) == expected + " 00:00"
    assert got.astimezone(ZoneInfo(NY)).weekday() < 5 or got.astimezone(ZoneInfo(NY)).date() == \
        now.astimezone(ZoneInfo(NY)).date()


PHRASES = ["after the new year", "end of month", "early january", "next year", "next month", "next week",
           "end of the week", "mid next month", "next tuesday", "dec 3", "in 2 weeks", "tomorrow 2pm", "jan 15"]


@pytest.mark.parametrize("now", [NOW, SUMMER, YEAR_END, datetime(2027, 3, 28, 1, tzinfo=UTC)])
@pytest.mark.parametrize("text", PHRASES)
def test_one_reader_commands_chat_and_forms_agree(now, text):
    """A form field (parse_when), a command's `next:`/snooze (split_when) and a chat line or a maybe's
    note (find_when) read the same phrase as the same moment."""
    form = parse_when(text, BERLIN, now)
    command, note = split_when(f"{text} call the CFO", BERLIN, now)
    chat = find_when(f"they said try {text}, fine", BERLIN, now)
    assert chat is not None
    assert form == command == chat[0] and note == "call the CFO"


def test_a_quarter_before_a_period_stays_too_vague():
    assert find_when("Q1 next year", BERLIN, SUMMER) is None
    assert find_when("maybe in q3 next year", BERLIN, NOW) is None


@pytest.mark.parametrize("text", ["the week", "month", "the year", "this may work", "may"])
def test_a_period_that_is_now_is_not_a_date(text):
    assert find_when(text, BERLIN, NOW) is None


def test_next_weekday_is_the_first_one_after_today_on_every_day_of_a_year():
    days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    start = datetime(2026, 1, 1, 15, tzinfo=UTC)
    for n in range(0, 365, 5):
        now = start + timedelta(days=n)
        today = now.astimezone(ZoneInfo(NY)).date()
        for wd, name in enumerate(days):
            got = parse_when(f"next {name}", NY, now).astimezone(ZoneInfo(NY)).date()
            assert got.weekday() == wd and 1 <= (got - today).days <= 7, (today, name, got)


@pytest.mark.parametrize("text", ["after the new year", "new years", "the first of the year", "start of the year",
                                  "after new year's day"])
def test_the_new_year_is_the_coming_one(text):
    assert local(parse_when(text, NY, NOW), NY) == "2027-01-01 00:00"
    assert local(parse_when(text, NY, SUMMER), NY) == "2027-01-01 00:00"
