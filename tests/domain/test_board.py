"""The leaderboard: periods in local time, scoring, ranking, and the text of the post."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.board.render import MAX_ROWS, kudos_line, render_lines, render_parts
from handlers.domain.board import (
    Board,
    Closed,
    Period,
    Row,
    Span,
    build_board,
    current_span,
    last_full_span,
    previous_span,
)
from handlers.domain.board_schedule import GRACE, Schedule, due_board, may_be_due
from handlers.domain.model import Deal, Status
from handlers.domain.zones import find_zone, most_common_zone
from handlers.mrkdwn import escape

UTC = UTC


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def hours(span: Span) -> float:
    return (span.end - span.start).total_seconds() / 3600


# The week of Mon Nov 16 2026 .. Mon Nov 23 2026, in UTC (the board tests run in UTC).
WEEK = Span(utc(2026, 11, 16), utc(2026, 11, 23), "week of Nov 16")
IN_WEEK = utc(2026, 11, 18, 12)


def close(owner: str, status: Status = Status.WON, at: datetime = IN_WEEK, maybe_days: float | None = None,
          company: str = "") -> Closed:
    first = None if maybe_days is None else at - timedelta(days=maybe_days)
    return Closed(owner, status, at, first, company)


# ---------------------------------------------------------------- periods


@pytest.mark.parametrize("tz, now, start", [
    # Wednesday afternoon on the US west coast (PST, -8).
    ("America/Los_Angeles", utc(2026, 11, 18, 20), utc(2026, 11, 16, 8)),
    # Still Sunday in UTC, already Monday 00:30 in Berlin (CET, +1): a new week there.
    ("Europe/Berlin", utc(2026, 11, 22, 23, 30), utc(2026, 11, 22, 23)),
    # Sunday 23:59 in Berlin: still the old week.
    ("Europe/Berlin", utc(2026, 11, 22, 22, 59), utc(2026, 11, 15, 23)),
    # Monday 01:30 in Kolkata (+5:30) is Sunday 20:00 UTC.
    ("Asia/Kolkata", utc(2026, 11, 22, 20), utc(2026, 11, 22, 18, 30)),
    # Chatham in November is +13:45: Monday 00:00 local is Sunday 10:15 UTC.
    ("Pacific/Chatham", utc(2026, 11, 22, 10, 14), utc(2026, 11, 15, 10, 15)),
    ("Pacific/Chatham", utc(2026, 11, 22, 10, 15), utc(2026, 11, 22, 10, 15)),
    # Chatham in June is +12:45.
    ("Pacific/Chatham", utc(2026, 6, 17, 3), utc(2026, 6, 14, 11, 15)),
])
def test_current_week_starts_monday_midnight_local(tz, now, start):
    span = current_span(Period.WEEK, now, tz)
    assert span.start == start
    assert span.end == now
    assert span.start.tzinfo is not None and span.start.utcoffset() == timedelta(0)


def test_current_span_labels_the_local_monday():
    # Monday 00:30 in Berlin, Sunday in UTC: the label names the local Monday.
    assert current_span(Period.WEEK, utc(2026, 11, 22, 23, 30), "Europe/Berlin").label == "week of Nov 23"
    assert current_span(Period.WEEK, utc(2026, 11, 18, 20), "America/Los_Angeles").label == "week of Nov 16"


def test_last_full_week_on_monday_morning():
    # Mon Nov 23 09:00 PST -> Mon Nov 16 00:00 .. Mon Nov 23 00:00 local.
    span = last_full_span(Period.WEEK, utc(2026, 11, 23, 17), "America/Los_Angeles")
    assert span == Span(utc(2026, 11, 16, 8), utc(2026, 11, 23, 8), "week of Nov 16")
    assert hours(span) == 168


@pytest.mark.parametrize("tz, monday_after, start, end, length", [
    # Spring forward: the week that contains the change is an hour short.
    ("Europe/Berlin", utc(2026, 3, 30, 7), utc(2026, 3, 22, 23), utc(2026, 3, 29, 22), 167),
    ("America/Los_Angeles", utc(2026, 3, 9, 16), utc(2026, 3, 2, 8), utc(2026, 3, 9, 7), 167),
    # Fall back: an hour long.
    ("Europe/Berlin", utc(2026, 10, 26, 8), utc(2026, 10, 18, 22), utc(2026, 10, 25, 23), 169),
    ("America/Los_Angeles", utc(2026, 11, 2, 17), utc(2026, 10, 26, 7), utc(2026, 11, 2, 8), 169),
    # Chatham moves by an hour at 02:45/03:45: NZ summer time ends Apr 5 2026.
    ("Pacific/Chatham", utc(2026, 4, 6, 0), utc(2026, 3, 29, 10, 15), utc(2026, 4, 5, 11, 15), 169),
])
def test_week_with_a_dst_change(tz, monday_after, start, end, length):
    span = last_full_span(Period.WEEK, monday_after, tz)
    assert (span.start, span.end) == (start, end)
    assert hours(span) == length


def test_monday_after_dst_change_starts_a_normal_week():
    # Berlin, Mon Mar 30 2026 09:00 CEST: the new week started at 00:00 CEST = 22:00 UTC.
    span = current_span(Period.WEEK, utc(2026, 3, 30, 7), "Europe/Berlin")
    assert span.start == utc(2026, 3, 29, 22)
    assert span.label == "week of Mar 30"


@pytest.mark.parametrize("period, now, tz, current, last", [
    (Period.MONTH, utc(2026, 11, 10, 12), "Europe/Berlin",
     (utc(2026, 10, 31, 23), "November 2026"),
     Span(utc(2026, 9, 30, 22), utc(2026, 10, 31, 23), "October 2026")),
    # January: the month before is December of the year before.
    (Period.MONTH, utc(2027, 1, 5, 12), "America/Los_Angeles",
     (utc(2027, 1, 1, 8), "January 2027"),
     Span(utc(2026, 12, 1, 8), utc(2027, 1, 1, 8), "December 2026")),
    (Period.QUARTER, utc(2026, 11, 23, 17), "America/Los_Angeles",
     (utc(2026, 10, 1, 7), "Q4 2026"),
     Span(utc(2026, 7, 1, 7), utc(2026, 10, 1, 7), "Q3 2026")),
    (Period.QUARTER, utc(2027, 2, 1), "Asia/Kolkata",
     (utc(2026, 12, 31, 18, 30), "Q1 2027"),
     Span(utc(2026, 9, 30, 18, 30), utc(2026, 12, 31, 18, 30), "Q4 2026")),
    # Chatham in March is +13:45; Q1 starts on Jan 1 local.
    (Period.QUARTER, utc(2026, 3, 15), "Pacific/Chatham",
     (utc(2025, 12, 31, 10, 15), "Q1 2026"),
     Span(utc(2025, 9, 30, 10, 15), utc(2025, 12, 31, 10, 15), "Q4 2025")),
])
def test_month_and_quarter_spans(period, now, tz, current, last):
    span = current_span(period, now, tz)
    assert (span.start, span.label) == current
    assert span.end == now
    assert last_full_span(period, now, tz) == last


def test_previous_of_a_full_week_is_the_full_week_before():
    span = last_full_span(Period.WEEK, utc(2026, 11, 23, 17), "America/Los_Angeles")
    assert previous_span(span, Period.WEEK, "America/Los_Angeles") == \
        Span(utc(2026, 11, 9, 8), utc(2026, 11, 16, 8), "week of Nov 9")


def test_previous_of_a_full_week_across_fall_back():
    span = Span(utc(2026, 11, 2, 8), utc(2026, 11, 9, 8), "week of Nov 2")
    prev = previous_span(span, Period.WEEK, "America/Los_Angeles")
    assert (prev.start, prev.end) == (utc(2026, 10, 26, 7), utc(2026, 11, 2, 8))
    assert hours(prev) == 169


def test_previous_of_a_partial_week_is_the_same_stretch_of_last_week():
    now = utc(2026, 11, 18, 22)  # Wednesday 14:00 PST
    span = current_span(Period.WEEK, now, "America/Los_Angeles")
    prev = previous_span(span, Period.WEEK, "America/Los_Angeles")
    assert (prev.start, prev.end) == (utc(2026, 11, 9, 8), utc(2026, 11, 11, 22))


def test_previous_partial_week_matches_wall_clock_across_dst():
    now = utc(2026, 11, 4, 22)  # Wednesday 14:00 PST; last Wednesday 14:00 was PDT
    span = current_span(Period.WEEK, now, "America/Los_Angeles")
    prev = previous_span(span, Period.WEEK, "America/Los_Angeles")
    assert (prev.start, prev.end) == (utc(2026, 10, 26, 7), utc(2026, 10, 28, 21))


def test_previous_partial_month_is_clamped_to_a_shorter_month():
    span = current_span(Period.MONTH, utc(2026, 3, 31, 12), "UTC")
    prev = previous_span(span, Period.MONTH, "UTC")
    assert prev == Span(utc(2026, 2, 1), utc(2026, 3, 1), "February 2026")
    mid = previous_span(current_span(Period.MONTH, utc(2026, 3, 10, 8), "UTC"), Period.MONTH, "UTC")
    assert (mid.start, mid.end) == (utc(2026, 2, 1), utc(2026, 2, 10, 8))


def test_previous_quarter_across_the_year():
    span = last_full_span(Period.QUARTER, utc(2027, 4, 2), "UTC")
    assert span.label == "Q1 2027"
    assert previous_span(span, Period.QUARTER, "UTC") == Span(utc(2026, 10, 1), utc(2027, 1, 1), "Q4 2026")


def test_a_month_whose_midnight_does_not_exist_starts_at_the_change():
    # Asuncion sprang forward at 00:00 on Oct 1 2023 (-4 -> -3): the local day, month and
    # quarter began at 01:00 -03, i.e. 04:00 UTC, not an hour before (still September there).
    now = utc(2023, 10, 15)
    assert last_full_span(Period.MONTH, now, "America/Asuncion").end == utc(2023, 10, 1, 4)
    assert current_span(Period.QUARTER, now, "America/Asuncion").start == utc(2023, 10, 1, 4)


def test_partial_previous_ending_in_a_repeated_hour_takes_the_first():
    # Sun Nov 8 2026 01:30 PST: last Sunday 01:30 happened twice; the board takes the PDT one.
    span = current_span(Period.WEEK, utc(2026, 11, 8, 9, 30), "America/Los_Angeles")
    assert previous_span(span, Period.WEEK, "America/Los_Angeles").end == utc(2026, 11, 1, 8, 30)


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        current_span(Period.WEEK, datetime(2026, 11, 18, 12), "UTC")


ZONES = ["UTC", "America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata", "Pacific/Chatham",
         "America/Asuncion", "America/Santiago"]


@settings(max_examples=300, deadline=None)
@given(now=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
       tz=st.sampled_from(ZONES), period=st.sampled_from(list(Period)))
def test_spans_tile_time(now, tz, period):
    cur = current_span(period, now, tz)
    last = last_full_span(period, now, tz)
    assert last.end == cur.start <= now == cur.end
    assert previous_span(last, period, tz).end == last.start
    prev = previous_span(cur, period, tz)
    assert prev.start == last.start and prev.end <= last.end
    if period is Period.WEEK:
        assert hours(last) in (167, 168, 169)


# ---------------------------------------------------------------- scoring


def test_ties_share_a_rank():
    closed = [close("A")] * 3 + [close("B")] * 2 + [close("C")] * 2 + [close("D")]
    board = build_board(WEEK, closed, [], ["A", "B", "C", "D", "E"])
    assert [(r.user_id, r.rank) for r in board.rows] == [("A", 1), ("B", 2), ("C", 2), ("D", 4)]
    assert board.still_working == ("E",)


def test_won_no_and_dropped_all_count_the_same():
    closed = [close("A", Status.WON), close("B", Status.NO), close("C", Status.DROPPED)]
    board = build_board(WEEK, closed, [], ["A", "B", "C"])
    assert [r.rank for r in board.rows] == [1, 1, 1]
    b = next(r for r in board.rows if r.user_id == "B")
    assert (b.won, b.no, b.dropped, b.closed_out) == (0, 1, 0, 1)


def test_counts_per_kind():
    closed = [close("A", Status.WON)] * 2 + [close("A", Status.NO)] * 2 + [close("A", Status.DROPPED)]
    (row,) = build_board(WEEK, closed, [], ["A"]).rows
    assert (row.won, row.no, row.dropped, row.closed_out) == (2, 2, 1, 5)


def test_reps_with_nothing_closed_are_listed_together_not_ranked():
    board = build_board(WEEK, [close("A")], [], ["C", "A", "B"])
    assert [r.user_id for r in board.rows] == ["A"]
    assert board.still_working == ("B", "C")


def test_only_members_are_ranked_and_counted():
    closed = [close("A"), close("X"), close("X")]
    board = build_board(WEEK, closed, [close("X")], ["A", "B"])
    assert [r.user_id for r in board.rows] == ["A"]
    assert "X" not in board.still_working
    assert (board.total, board.previous_total) == (1, 0)


def test_hidden_members_count_in_totals_but_are_never_named():
    closed = [close("A"), close("H"), close("H"), close("Z")]  # Z: hidden but not a member
    board = build_board(WEEK, closed, [close("H")], ["A", "H", "Q"], hidden={"H", "Q", "Z"})
    assert [r.user_id for r in board.rows] == ["A"]
    assert board.still_working == ()  # Q closed nothing but is hidden: not listed either
    assert (board.total, board.hidden_count, board.previous_total) == (3, 2, 1)
    text = "\n".join(render_lines(board, {"A": "Ana", "H": "Hidden Hal", "Q": "Quiet Quinn"}))
    assert "Hal" not in text and "Quinn" not in text
    assert "3 decisions" in text


def test_closes_outside_the_span_and_open_deals_do_not_count():
    closed = [close("A", at=WEEK.start), close("A", at=WEEK.end), close("A", at=WEEK.start - timedelta(seconds=1)),
              close("A", Status.OPEN)]
    board = build_board(WEEK, closed, [], ["A"])
    assert board.rows[0].closed_out == 1
    assert board.total == 1


def test_maybes_cleared_and_median_days():
    closed = [close("A", maybe_days=1), close("A", maybe_days=3), close("A", maybe_days=10), close("A"),
              close("B", maybe_days=2), close("B", maybe_days=5), close("C")]
    rows = {r.user_id: r for r in build_board(WEEK, closed, [], ["A", "B", "C"]).rows}
    assert (rows["A"].maybes_cleared, rows["A"].median_days_to_decision) == (3, 3.0)
    assert (rows["B"].maybes_cleared, rows["B"].median_days_to_decision) == (2, 3.5)
    assert (rows["C"].maybes_cleared, rows["C"].median_days_to_decision) == (0, None)


def test_a_maybe_logged_after_the_close_counts_zero_days():
    (row,) = build_board(WEEK, [close("A", maybe_days=-2)], [], ["A"]).rows
    assert (row.maybes_cleared, row.median_days_to_decision) == (1, 0.0)


def test_totals_and_previous_total():
    board = build_board(WEEK, [close("A")] * 4 + [close("B")], [close("A")] * 2, ["A", "B"])
    assert (board.total, board.previous_total) == (5, 2)


def test_companies_only_with_details_most_recent_first_up_to_three():
    closed = [close("A", at=IN_WEEK + timedelta(hours=h), company=c)
              for h, c in enumerate(["Acme", "Globex", "Initech", "Umbrella", "Acme"])]
    assert build_board(WEEK, closed, [], ["A"]).rows[0].companies == ()
    assert build_board(WEEK, closed, [], ["A"], details=True).rows[0].companies == \
        ("Acme", "Umbrella", "Initech")


def test_closed_from_deal():
    deal = Deal("U1", "Acme", utc(2026, 11, 1), status=Status.NO, closed_at=IN_WEEK,
                first_maybe_at=utc(2026, 11, 10))
    assert Closed.from_deal(deal) == Closed("U1", Status.NO, IN_WEEK, utc(2026, 11, 10), "Acme")
    with pytest.raises(ValueError):
        Closed.from_deal(Deal("U1", "Acme", utc(2026, 11, 1)))


MEMBER_IDS = st.sampled_from([f"U{i}" for i in range(8)])


@settings(max_examples=300, deadline=None)
@given(members=st.lists(MEMBER_IDS, max_size=8), hidden=st.sets(MEMBER_IDS),
       closes=st.lists(st.tuples(st.sampled_from([f"U{i}" for i in range(10)]),
                                 st.sampled_from(list(Status)),
                                 st.integers(-3 * 86400, 10 * 86400)), max_size=40))
def test_board_invariants(members, hidden, closes):
    closed = [Closed(o, s, WEEK.start + timedelta(seconds=sec)) for o, s, sec in closes]
    board = build_board(WEEK, closed, closed, members, hidden)
    ranks = [r.rank for r in board.rows]
    assert ranks == sorted(ranks)
    listed = [r.user_id for r in board.rows] + list(board.still_working)
    assert len(listed) == len(set(listed))
    assert set(listed) == set(members) - hidden  # everyone visible appears exactly once
    for r in board.rows:
        assert r.closed_out > 0
        assert r.rank == 1 + sum(1 for o in board.rows if o.closed_out > r.closed_out)
    assert sum(r.closed_out for r in board.rows) + board.hidden_count == board.total
    assert board.total <= board.previous_total  # the same closes, unfiltered by span


# ---------------------------------------------------------------- text


NAMES = {"A": "Ana", "B": "Ben", "C": "Cy", "D": "Dee", "E": "Eve"}


def test_rendered_board_layout():
    closed = ([close("A", Status.WON, maybe_days=2)] * 2 + [close("A", Status.NO, maybe_days=6)] * 2
              + [close("A", Status.DROPPED)] + [close("B")] * 2 + [close("C", Status.NO)] * 2)
    board = build_board(WEEK, closed, [close("A")] * 5, ["A", "B", "C", "D", "E"])
    lines = render_lines(board, NAMES)
    assert "week of Nov 16" in lines[0]
    assert lines[1].startswith("🥇 *Ana* 5 closed out: 2 won, 2 no, 1 dropped")
    assert "4 maybes cleared (median 4 days)" in lines[1]
    # Ben and Cy tie for second, alphabetically within the rank.
    assert lines[2].startswith("🥈 *Ben* 2 closed out: 2 won")
    assert lines[3].startswith("🥈 *Cy* 2 closed out: 2 no")
    assert lines[4] == "Still working: Dee, Eve"
    assert lines[5] == "*Team: 9 decisions*, 4 more than the week before 🎉"
    assert len(lines) == 6


def test_rank_four_after_a_tie_has_no_medal():
    closed = [close("A")] * 3 + [close("B")] * 2 + [close("C")] * 2 + [close("D")]
    lines = render_lines(build_board(WEEK, closed, [], ["A", "B", "C", "D"]), NAMES)
    assert lines[4].startswith("4. *Dee* 1 closed out: 1 won")


@pytest.mark.parametrize("now, prev, line", [
    (3, 5, "*Team: 3 decisions* (5 the week before)"),
    (1, 1, "*Team: 1 decision*, same as the week before"),
    (2, 0, "*Team: 2 decisions*, 2 more than the week before 🎉"),
    (0, 0, "*Team: 0 decisions*, same as the week before. A clear no counts too: ask for one."),
    (0, 2, "*Team: 0 decisions* (2 the week before). A clear no counts too: ask for one."),
])
def test_change_line(now, prev, line):
    board = build_board(WEEK, [close("A")] * now, [close("A")] * prev, ["A"])
    assert render_lines(board, NAMES)[-1] == line


def test_change_line_names_the_period():
    span = Span(utc(2026, 10, 1), utc(2026, 11, 1), "October 2026")
    board = build_board(span, [close("A", at=utc(2026, 10, 5))], [], ["A"])
    assert render_lines(board, NAMES)[-1].endswith("1 more than the month before 🎉")
    q = Span(utc(2026, 7, 1), utc(2026, 10, 1), "Q3 2026")
    assert render_lines(build_board(q, [], [], ["A"]), NAMES)[-1].startswith("*Team: 0 decisions*, same as the quarter")


def test_fewer_is_said_neutrally():
    text = "\n".join(render_lines(build_board(WEEK, [close("A")], [close("A")] * 4, ["A"]), NAMES))
    for word in ("fewer", "less", "down", "worse", "only", "🎉"):
        assert word not in text


def test_single_maybe_shows_its_days_without_median():
    board = build_board(WEEK, [close("A", maybe_days=0.5), close("B", maybe_days=12.4)], [], ["A", "B"])
    lines = render_lines(board, NAMES)
    assert "1 maybe cleared (under a day)" in lines[1]
    assert "1 maybe cleared (12 days)" in lines[2]


def test_company_names_only_when_details_on_both_ways():
    closed = [close("A", company="Acme"), close("A", company="Globex")]
    plain = "\n".join(render_lines(build_board(WEEK, closed, [], ["A"]), NAMES, details=True))
    built = build_board(WEEK, closed, [], ["A"], details=True)
    hidden_in_render = "\n".join(render_lines(built, NAMES))
    shown = "\n".join(render_lines(built, NAMES, details=True))
    for text in (plain, hidden_in_render):
        assert "Acme" not in text and "Globex" not in text
    assert "Acme" in shown and "Globex" in shown


def test_names_and_companies_are_escaped():
    names = {"A": "<!channel> & co", "B": "<@U999>", "C": "  Multi\nLine  "}
    closed = [close("A", company="<https://evil.example|click>"), close("B"), close("C")]
    lines = render_lines(build_board(WEEK, closed, [], ["A", "B", "C", "D"], details=True), names, details=True)
    text = "\n".join(lines)
    assert "&lt;!channel&gt; &amp; co" in text
    assert "&lt;@U999&gt;" in text
    assert "&lt;https://evil.example|click&gt;" in text
    assert "<" not in text and ">" not in text
    assert any(line.startswith("🥇 *Multi Line*") for line in lines)
    assert lines[-2] == "Still working: D"  # no name known: the bare id, never a mention


def test_names_cannot_break_the_bold_around_them():
    lines = render_lines(build_board(WEEK, [close("A", company="*Acme*")], [], ["A"], details=True),
                         {"A": "Ana* _x_"}, details=True)
    assert lines[1].startswith("🥇 *Ana*\u200b _\u200bx_\u200b* 1 closed out")
    assert lines[1].endswith("*\u200bAcme*\u200b")


def test_escape():
    assert escape("a & b <c> &amp;") == "a &amp; b &lt;c&gt; &amp;amp;"
    assert escape("plain") == "plain"


@settings(max_examples=200, deadline=None)
@given(names=st.dictionaries(MEMBER_IDS, st.text(max_size=20)),
       companies=st.lists(st.text(max_size=20), max_size=6))
def test_rendered_text_never_carries_raw_angle_brackets(names, companies):
    closed = [close(f"U{i % 3}", company=c) for i, c in enumerate(companies)]
    members = [f"U{i}" for i in range(8)]
    lines = render_lines(build_board(WEEK, closed, [], members, details=True), names, details=True)
    for line in lines:
        assert "<" not in line and ">" not in line
        assert "\n" not in line
    # Every visible member is named exactly once across the rep and still-working lines.
    assert len(lines) == 1 + len({c.owner_id for c in closed}) + 1 + 1


@pytest.mark.parametrize("name", ["board.py", "board_schedule.py"])
def test_board_module_stays_pure(name):
    source = Path(__file__).parents[2] / "handlers" / "domain" / name
    tree = ast.parse(source.read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"slack_sdk", "slack_bolt", "sqlalchemy"}


def test_board_and_row_are_frozen():
    row = Row(1, "A", 1, 0, 0, 0, None)
    with pytest.raises(AttributeError):
        row.rank = 2  # type: ignore[misc]
    board = Board(WEEK, (row,), (), 1, 0, 0)
    assert board.rows[0].closed_out == 1


# ---------------------------------------------------------------- long boards


def test_a_long_board_is_cut_with_a_count_of_the_rest():
    members = [f"U{i:03d}" for i in range(100)]
    closed = [close(u) for u in members[:55] for _ in range(1 + members.index(u) % 3)]
    parts = render_parts(build_board(WEEK, closed, [], members), {}, max_rows=MAX_ROWS, max_waiting=30)
    assert len(parts.rows) == MAX_ROWS
    assert parts.more == f"_…and {55 - MAX_ROWS} more with at least one decision_"
    assert parts.still_working.startswith("Still working: U055, U056")
    assert parts.still_working.endswith(" and 15 more")  # 45 waiting, 30 named
    assert parts.title == "🏁 Decisions · week of Nov 16"


def test_a_short_board_has_nothing_cut():
    parts = render_parts(build_board(WEEK, [close("A")], [], ["A", "B"]), NAMES)
    assert parts.more is None and parts.still_working == "Still working: Ben"
    assert render_lines(build_board(WEEK, [close("A")], [], ["A", "B"]), NAMES)[1:] == \
        [*parts.rows, parts.still_working, parts.team]


# ---------------------------------------------------------------- live kudos


def test_one_close_is_one_friendly_line_without_details():
    assert kudos_line([close("A", Status.NO, company="Acme")], NAMES) == \
        "🎯 *Ana* got a clear answer from a prospect today"
    assert kudos_line([close("A", Status.DROPPED)], NAMES) == "🎯 *Ana* made a clear call on a deal today"


def test_a_burst_of_closes_is_still_one_line():
    closed = [close("A", at=IN_WEEK + timedelta(minutes=i), company=f"Co{i}") for i in range(3)] + \
             [close("B", Status.NO, company="Initech")]
    line = kudos_line(closed, NAMES)
    assert line == "🎯 Decisions today: *Ana* (3) and *Ben*. Every clear answer counts."
    assert "Co" not in line and "Initech" not in line
    assert kudos_line(closed[:2], NAMES) == "🎯 *Ana* reached 2 decisions today"


def test_kudos_with_details_name_companies_and_outcomes():
    closed = [close("A", Status.WON, company="Acme"), close("B", Status.NO, company="<!here> Initech")]
    line = kudos_line(closed, NAMES, details=True)
    assert "*Ana* (Acme (won))" in line and "*Ben* (&lt;!here&gt; Initech (hard no))" in line
    assert kudos_line([closed[0]], NAMES, details=True).endswith("today: Acme (won)")


def test_kudos_name_at_most_a_few_people():
    closed = [close(f"U{i}") for i in range(12)]
    line = kudos_line(closed, {}, max_people=8)
    assert line.count("*U") == 8 and "and 4 more" in line


def test_no_kudos_for_nothing():
    assert kudos_line([], NAMES) is None
    assert kudos_line([close("A", Status.OPEN)], NAMES) is None


# ---------------------------------------------------------------- schedule and zones


@pytest.mark.parametrize("day, time, expect", [
    ("mon", "09:00", Schedule("mon", 9, 0)),
    ("Monday", "9am", Schedule("mon", 9, 0)),
    ("fri", "4:30pm", Schedule("fri", 16, 30)),
    ("thurs", "12am", Schedule("thu", 0, 0)),
    ("sun", "12pm", Schedule("sun", 12, 0)),
    ("wed", "23:59", Schedule("wed", 23, 59)),
    ("mon", "9", None),  # am or pm?
    ("mon", "24:00", None),
    ("mon", "13pm", None),
    ("someday", "09:00", None),
    ("mon", "9:60", None),
])
def test_schedule_parse(day, time, expect):
    assert Schedule.parse(day, time) == expect


def test_schedule_describe():
    assert Schedule("fri", 16, 0).describe("Europe/Berlin") == "Fridays at 16:00 (Europe/Berlin)"
    with pytest.raises(ValueError):
        Schedule("mon", 25, 0)


MON_9 = Schedule("mon", 9, 0)


def test_the_monday_board_covers_the_calendar_week_that_ended():
    ny = "America/New_York"
    assert due_board(utc(2026, 11, 23, 13, 59), ny, MON_9) is None  # 08:59 EST: not yet
    due = due_board(utc(2026, 11, 23, 14), ny, MON_9)  # 09:00 EST
    assert due.at == utc(2026, 11, 23, 14)
    assert (due.span.start, due.span.end, due.span.label) == (utc(2026, 11, 16, 5), utc(2026, 11, 23, 5),
                                                              "week of Nov 16")
    assert (due.previous.start, due.previous.end) == (utc(2026, 11, 9, 5), utc(2026, 11, 16, 5))
    # Still due later that day (the bot was down at 9:00), until the grace runs out.
    assert due_board(utc(2026, 11, 24, 13, 59), ny, MON_9).span == due.span
    assert due_board(utc(2026, 11, 24, 14), ny, MON_9) is None
    assert due_board(utc(2026, 11, 27, 12), ny, MON_9) is None


def test_the_monday_after_dst_ends_covers_169_hours_and_is_due_at_local_nine():
    ny = "America/New_York"  # EDT -> EST on Sun Nov 1 2026
    assert due_board(utc(2026, 11, 2, 13, 59), ny, MON_9) is None
    due = due_board(utc(2026, 11, 2, 14), ny, MON_9)
    assert (due.span.start, due.span.end) == (utc(2026, 10, 26, 4), utc(2026, 11, 2, 5))
    assert hours(due.span) == 169
    assert (due.previous.start, due.previous.end) == (utc(2026, 10, 19, 4), utc(2026, 10, 26, 4))


def test_the_monday_after_dst_starts_covers_167_hours():
    due = due_board(utc(2027, 3, 15, 13), "America/New_York", MON_9)  # 09:00 EDT
    assert (due.span.start, due.span.end) == (utc(2027, 3, 8, 5), utc(2027, 3, 15, 4))
    assert due.at == utc(2027, 3, 15, 13) and hours(due.span) == 167


def test_a_friday_board_covers_friday_to_thursday():
    due = due_board(utc(2026, 11, 27, 15), "Europe/Berlin", Schedule("fri", 16, 0))
    assert (due.span.start, due.span.end) == (utc(2026, 11, 19, 23), utc(2026, 11, 26, 23))
    assert due.span.label == "week ending Thu Nov 26"
    assert due.previous.label == "week ending Thu Nov 19"


def test_the_board_day_is_the_local_day():
    # Monday 09:00 in Kolkata is Monday 03:30 UTC; on Sunday evening UTC it's already Monday there.
    due = due_board(utc(2026, 11, 23, 3, 30), "Asia/Kolkata", MON_9)
    assert due.span.end == utc(2026, 11, 22, 18, 30)
    assert due_board(utc(2026, 11, 23, 3, 29), "Asia/Kolkata", MON_9) is None


def test_a_post_time_inside_a_dst_gap_still_happens_that_day():
    # 02:30 doesn't exist on Sun Mar 14 2027 in New York: the board goes out at 03:30 EDT.
    due = due_board(utc(2027, 3, 14, 7, 30), "America/New_York", Schedule("sun", 2, 30))
    assert due is not None and due.at == utc(2027, 3, 14, 7, 30)


ALL_ZONES = ["UTC", "America/Los_Angeles", "America/New_York", "Europe/Berlin", "Asia/Kolkata",
             "Pacific/Chatham", "Pacific/Kiritimati", "Etc/GMT+12", "America/Asuncion", "Australia/Lord_Howe"]


@settings(max_examples=400, deadline=None)
@given(now=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
       tz=st.sampled_from(ALL_ZONES), day=st.sampled_from(["mon", "wed", "fri", "sun"]),
       hour=st.integers(0, 23), minute=st.sampled_from([0, 30, 59]))
def test_due_boards_are_a_week_long_recent_and_foreseen(now, tz, day, hour, minute):
    schedule = Schedule(day, hour, minute)
    due = due_board(now, tz, schedule)
    if due is None:
        return
    assert due.at <= now < due.at + GRACE
    assert due.span.end <= due.at and due.previous.end == due.span.start
    assert 166 <= hours(due.span) <= 170
    assert may_be_due(now, schedule)  # the cheap pre-check never skips a due board


def test_may_be_due_is_false_for_most_of_the_week():
    off = [h for h in range(0, 7 * 24) if not may_be_due(utc(2026, 11, 16) + timedelta(hours=h), MON_9)]
    assert len(off) > 4 * 24


def test_most_common_zone():
    assert most_common_zone(["Europe/Berlin", "Asia/Kolkata", "Europe/Berlin"]) == "Europe/Berlin"
    assert most_common_zone(["Europe/Berlin", "America/New_York"]) == "America/New_York"  # a tie: first by name
    assert most_common_zone([None, ""]) is None


def test_find_zone_ignores_case():
    assert find_zone("europe/berlin") == "Europe/Berlin"
    assert find_zone("America/New_York") == "America/New_York"
    assert find_zone("mars/olympus") is None
