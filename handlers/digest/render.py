"""The digest message: Block Kit for Slack, plain words for a terminal."""

from __future__ import annotations

import logging

from slack_sdk.models.blocks import ActionsBlock, Block, ContextBlock, DatePickerElement, SectionBlock

from handlers import blocks as bk
from handlers.digest.plan import Line, Planned
from handlers.domain.model import Rep
from handlers.domain.text import clip, plural
from handlers.mrkdwn import escape

log = logging.getLogger(__name__)

SETTINGS_HINT = "`/deal settings digest 8am` moves it, `/deal settings digest off` stops it"


def _waiting(days: int) -> str:
    return "waiting since today" if days <= 0 else f"waiting {plural(days, 'day')}"


def line_head(company: str, amount: str | None, age_days: int | None = None) -> str:
    bits = [f"*{escape(clip(company, 150))}*"]
    if amount:
        bits.append(escape(amount))
    if age_days is not None:
        bits.append(_waiting(age_days))
    return " · ".join(bits)


def line_text(line: Line) -> str:
    text = line_head(line.company, line.amount, line.age_days)
    if line.reasons:
        text += "\n" + escape(line.reasons[0])
    if line.reasons[1:]:
        text += "\n_also: " + escape("; ".join(line.reasons[1:])) + "_"
    return text


def line_buttons(line: Line) -> ActionsBlock:
    v = str(line.deal_id)
    return ActionsBlock(block_id=f"dg:{v}:a", elements=[
        bk.button("Draft hard-no ask", "digest:ask", f"{v}:{line.draft}", None if line.meeting_first else "primary"),
        bk.button("Draft meeting request", "digest:meeting", v, "primary" if line.meeting_first else None),
        bk.button("Won", "digest:won", v),
        bk.button("No", "digest:no", v),
        bk.button("Snooze 1 week", "digest:snooze", v),
        DatePickerElement(action_id="digest:snooze_until", placeholder=bk.plain("Snooze until…")),
    ])


def schedule_words(rep: Rep, default_hour: int) -> str:
    hour = rep.digest_hour if rep.digest_hour is not None else default_hour
    days = "every day" if rep.digest_weekends else "on working days"
    return f"{days} at {hour}:00 ({rep.tz})"


def digest_blocks(p: Planned, default_hour: int, home_link: str | None = None) -> tuple[str, list[Block]]:
    """(notification text, blocks): the opening, then per deal a line and its buttons, then "and N more"."""
    blocks: list[Block] = [SectionBlock(block_id="dg:open", text=bk.md(escape(p.opening)))]
    for line in p.lines:
        blocks.append(SectionBlock(block_id=f"dg:{line.deal_id}", text=bk.md(line_text(line))))
        blocks.append(line_buttons(line))
    if p.more:
        where = f"<{home_link}|my Home tab>" if home_link else "my Home tab"
        blocks.append(ContextBlock(block_id="dg:more", elements=[bk.md(
            f"…and {p.more} more waiting on a decision: see them all in {where}.")]))
    blocks.append(ContextBlock(block_id="dg:foot", elements=[bk.md(
        f"Your digest comes {schedule_words(p.rep, default_hour)} · {SETTINGS_HINT}")]))
    return p.opening, blocks


def digest_as_text(p: Planned) -> str:
    """The digest for a terminal (`hardno digest --dry-run`): plain words, no mrkdwn."""
    out = [p.opening]
    for i, line in enumerate(p.lines, 1):
        head = " · ".join([line.company] + ([line.amount] if line.amount else []) + [_waiting(line.age_days)])
        out.append(f"{i:>3}. {head}")
        out += [f"     {line.reasons[0]}"] if line.reasons else []
        out += [f"     also: {'; '.join(line.reasons[1:])}"] if line.reasons[1:] else []
    if p.more:
        out.append(f"     …and {p.more} more waiting on a decision (in the App Home)")
    return "\n".join(out)


_home_links: dict[tuple, str | None] = {}


def app_home_link(client) -> str | None:
    """slack://app?team=..&id=..&tab=home for "and N more", from auth.test + bots.info (once per process)."""
    key = (getattr(client, "base_url", None), getattr(client, "token", None))
    if key not in _home_links:
        try:
            auth = client.auth_test()
            bot = client.bots_info(bot=auth["bot_id"])["bot"]
            _home_links[key] = f"slack://app?team={auth['team_id']}&id={bot['app_id']}&tab=home"
        except Exception as e:  # the link is a convenience: the words still say where to look
            log.info("no App Home link for the digest: %s", e)
            _home_links[key] = None
    return _home_links[key]
