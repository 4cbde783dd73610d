"""The board and kudos as Slack mrkdwn (and as plain text for a terminal), from the domain's plain data.

Names are the caller's display names, never ``<@U123>`` mentions (a mention in a post notifies); a member
with no name shows as their bare user id. Everything user-typed is escaped. A long board stays readable:
at most ``MAX_ROWS`` ranked lines and ``MAX_WAITING`` still-working names, then "and N more". Company
names appear only with ``details``. Live kudos turn any number of closes into one line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from handlers import blocks as bk
from handlers.board.standings import Standings
from handlers.domain.board import MAX_COMPANIES, MONTHS, Board, Closed, Row, Span, decisions_by_rep
from handlers.domain.board_schedule import Schedule
from handlers.domain.model import Status
from handlers.domain.text import plural
from handlers.mrkdwn import escape

MAX_ROWS = 40  # ranked lines on one board; more are summed up in one line
MAX_WAITING = 30  # names on the "still working" line
TURN_OFF = "`/deal settings board off`"
_MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}


def _clean(text: str) -> str:
    """One line, escaped: a name never breaks the layout, pings or turns bold."""
    return escape(" ".join(text.split()))


@dataclass(frozen=True)
class _Style:
    """How a board is marked up: Slack mrkdwn (escaped, bold names), or plain words for a terminal."""

    clean: Callable[[str], str]
    bold: Callable[[str], str]
    italic: Callable[[str], str]


MRKDWN = _Style(_clean, lambda s: f"*{s}*", lambda s: f"_{s}_")
PLAIN = _Style(lambda s: " ".join(s.split()), lambda s: s, lambda s: s)


def _days(d: float) -> str:
    if d < 1:
        return "under a day"
    shown = round(d) if d >= 10 else round(d, 1)
    if shown == int(shown):
        shown = int(shown)
    return f"{shown} day" if shown == 1 else f"{shown} days"


def _period_word(span: Span) -> str:
    if span.label.startswith("week"):
        return "week"
    if span.label.startswith("Q"):
        return "quarter"
    if span.label.split(" ")[0] in MONTHS:
        return "month"
    return "period"


def _rep_line(row: Row, name: str, details: bool, style: _Style = MRKDWN) -> str:
    mark = _MEDALS.get(row.rank, f"{row.rank}.")
    parts = [(row.won, "won"), (row.no, "no"), (row.dropped, "dropped")]
    kinds = ", ".join(f"{n} {what}" for n, what in parts if n)
    line = f"{mark} {style.bold(name)} {row.closed_out} closed out: {kinds}"
    if row.maybes_cleared:
        line += f" · {plural(row.maybes_cleared, 'maybe')} cleared"
        if row.median_days_to_decision is not None:
            median = "" if row.maybes_cleared == 1 else "median "
            line += f" ({median}{_days(row.median_days_to_decision)})"
    if details and row.companies:
        line += " · " + ", ".join(style.clean(c) for c in row.companies)
    return line


def _change_line(board: Board, style: _Style = MRKDWN) -> str:
    word = _period_word(board.span)
    before = f"the {word} before"
    total, prev = board.total, board.previous_total
    head = style.bold(f"Team: {plural(total, 'decision')}")
    if total == 0:
        change = f", same as {before}" if prev == 0 else f" ({prev} {before})"
        return f"{head}{change}. A clear no counts too: ask for one."
    if total > prev:
        return f"{head}, {total - prev} more than {before} 🎉"
    if total == prev:
        return f"{head}, same as {before}"
    return f"{head} ({prev} {before})"


@dataclass(frozen=True)
class Parts:
    """The pieces of a rendered board, for laying out as text or as blocks."""

    title: str  # plain text, no markup: "🏁 Decisions · week of Nov 16"
    rows: tuple[str, ...]  # mrkdwn, one per ranked rep, at most ``max_rows``
    more: str | None  # "…and 3 more with a decision", when rows were cut
    still_working: str | None  # "Still working: Dee, Eve" (at most ``max_waiting`` names)
    team: str  # the team totals and the change


def render_parts(board: Board, names: Mapping[str, str], details: bool = False, *,
                 max_rows: int = MAX_ROWS, max_waiting: int = MAX_WAITING, style: _Style = MRKDWN) -> Parts:
    """The board as text: counts only unless ``details``; names from ``names`` (user id ->
    display name), escaped, never mentions. A long board keeps its first ``max_rows``
    ranked lines and its first ``max_waiting`` still-working names (alphabetically) and
    says how many more there are, so it stays readable on a phone and within Slack's limits."""
    def name(user: str) -> str:
        return style.clean(names.get(user) or user) or style.clean(user)

    rows = sorted(board.rows, key=lambda r: (r.rank, name(r.user_id).casefold(), r.user_id))
    shown = tuple(_rep_line(r, name(r.user_id), details, style) for r in rows[:max_rows])
    more = None
    if len(rows) > max_rows:
        more = style.italic(f"…and {len(rows) - max_rows} more with at least one decision")
    working = None
    if board.still_working:
        waiting = sorted(board.still_working, key=lambda u: (name(u).casefold(), u))
        working = "Still working: " + ", ".join(name(u) for u in waiting[:max_waiting])
        if len(waiting) > max_waiting:
            working += f" and {len(waiting) - max_waiting} more"
    return Parts(title(board), shown, more, working, _change_line(board, style))


def title(board: Board) -> str:
    return f"🏁 Decisions · {board.span.label}"


def render_lines(board: Board, names: Mapping[str, str], details: bool = False, *, plain: bool = False,
                 **limits: int) -> list[str]:
    """The lines of the post: title, one line per ranked rep, still working, team. Slack mrkdwn, or with
    `plain` words for a terminal (no markup, nothing escaped)."""
    style = PLAIN if plain else MRKDWN
    parts = render_parts(board, names, details, style=style, **limits)
    head = parts.title if plain else style.bold(escape(parts.title))
    lines = [f"{head} {style.italic('(won, no or dropped: all count)')}", *parts.rows]
    lines += [line for line in (parts.more, parts.still_working) if line]
    lines.append(parts.team)
    return lines


_OUTCOME = {Status.WON: "won", Status.NO: "hard no", Status.DROPPED: "dropped"}


def kudos_line(closed: Iterable[Closed], names: Mapping[str, str], details: bool = False,
               max_people: int = 8) -> str | None:
    """One line cheering the decisions in ``closed`` (a burst of them is still one line).

    Counts only unless ``details``: then up to three companies per rep, with the outcome.
    None when there is nothing to cheer.
    """
    by_rep = decisions_by_rep(closed)
    if not by_rep:
        return None

    def name(user: str) -> str:
        return f"*{_clean(names.get(user) or user) or _clean(user)}*"

    def companies(mine: list[Closed]) -> str:
        seen = []
        for c in reversed(mine):
            label = f"{_clean(c.company)} ({_OUTCOME[Status(c.status)]})" if c.company.strip() else ""
            if label and label not in seen:
                seen.append(label)
        return ", ".join(seen[:MAX_COMPANIES])

    if len(by_rep) == 1:
        [(user, mine)] = by_rep.items()
        if len(mine) == 1:
            did = ("made a clear call on a deal" if Status(mine[0].status) is Status.DROPPED
                   else "got a clear answer from a prospect")
            line = f"🎯 {name(user)} {did} today"
        else:
            line = f"🎯 {name(user)} reached {len(mine)} decisions today"
        extra = companies(mine) if details else ""
        return f"{line}: {extra}" if extra else line
    people = []
    for user, mine in list(by_rep.items())[:max_people]:
        inside = companies(mine) if details else ""
        if not inside and len(mine) > 1:
            inside = str(len(mine))
        people.append(f"{name(user)} ({inside})" if inside else name(user))
    if len(by_rep) > max_people:
        people.append(f"{len(by_rep) - max_people} more")
    listed = ", ".join(people[:-1]) + " and " + people[-1]
    return f"🎯 Decisions today: {listed}. Every clear answer counts."


def board_blocks(s: Standings, details: bool, footer: str) -> tuple[str, list[Block]]:
    """(notification text, blocks): a header, one short line per rep, the team line, a footer."""
    parts = render_parts(s.board, s.names, details)
    blocks: list[Block] = [HeaderBlock(text=bk.plain(parts.title)),
                           ContextBlock(elements=[bk.md("Won, hard no or dropped: every decision counts.")])]
    rows = list(parts.rows) + ([parts.more] if parts.more else [])
    blocks += _sections(rows)
    if parts.still_working:
        blocks.append(SectionBlock(text=bk.md(parts.still_working)))
    blocks.append(SectionBlock(text=bk.md(parts.team)))
    blocks.append(ContextBlock(elements=[bk.md(footer)]))
    return f"{bk.escape(parts.title)}: {parts.team}", blocks


def _sections(lines: list[str]) -> list[Block]:
    out: list[Block] = []
    chunk = ""
    for line in lines:
        if chunk and len(chunk) + 1 + len(line) > bk.MAX_SECTION:
            out.append(SectionBlock(text=bk.md(chunk)))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        out.append(SectionBlock(text=bk.md(chunk)))
    return out


def _post_footer(schedule: Schedule, tz: str) -> str:
    return f"Posted {schedule.describe(tz)} · `/deal settings board` changes it, {TURN_OFF} stops it"


def kudos_blocks(line: str) -> list[dict]:
    return bk.as_dicts([SectionBlock(text=bk.md(line))])
