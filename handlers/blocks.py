"""Block Kit for the deal log, built with slack_sdk.models (which validates as it serialises)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from handlers.domain.amounts import Amount, format_amount
from handlers.domain.model import Deal, Status
from handlers.domain.pipeline import Pipeline
from handlers.domain.stalls import Stall
from handlers.domain.text import clip, plural  # noqa: F401 - re-exported for the listeners
from handlers.domain.when import describe
from handlers.mrkdwn import entities, escape  # noqa: F401 - re-exported for the listeners

MAX_SECTION = 2900  # Slack allows 3000 characters in a section's text; keep a margin

STATE_LABEL = {Status.OPEN: "open", Status.WON: "won :tada:", Status.NO: "hard no (closed out)",
               Status.DROPPED: "dropped (closed out)"}


def plain(text: str, limit: int = 150) -> PlainTextObject:
    return PlainTextObject(text=clip(text, limit) or " ", emoji=True)


def md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, MAX_SECTION))


def amount_text(deal: Deal) -> str:
    if deal.amount is None:
        return "not set"
    return format_amount(Amount(deal.amount, deal.currency))


def meeting_text(deal: Deal, tz: str, now: datetime) -> str:
    if deal.next_meeting_at is None:
        return "none booked"
    label = describe(deal.next_meeting_at, tz, now)
    return label + (" (passed)" if deal.next_meeting_at < now else "")


def age_days(deal: Deal, now: datetime) -> int:
    return max(0, (now - deal.created_at).days)


def button(text: str, action_id: str, value: str, style: str | None = None) -> ButtonElement:
    return ButtonElement(text=plain(text, 75), action_id=action_id, value=value[:2000], style=style)


def deal_buttons(deal: Deal) -> ActionsBlock:
    v = str(deal.id)
    if not deal.is_open:
        return ActionsBlock(block_id=f"deal:{deal.id}", elements=[button("Reopen", "deal:reopen", v)])
    return ActionsBlock(block_id=f"deal:{deal.id}", elements=[
        button("Maybe", "deal:maybe", v), button("No answer", "deal:touch", v),
        button("Next meeting", "deal:meet", v), button("Won", "deal:won", v, "primary"),
        button("Hard no", "deal:no", v), button("Drop", "deal:drop", v, "danger"),
        button("Coach me", "deal:coach", v)])


def deal_card(deal: Deal, tz: str, now: datetime, *, headline: str | None = None) -> list[Block]:
    """Everything a rep needs to decide the next step on one deal."""
    blocks: list[Block] = []
    if headline:
        blocks.append(SectionBlock(text=md(headline)))
    blocks.append(HeaderBlock(text=plain(deal.company)))
    # A closed deal has no plans: its card says when it was decided instead of a meeting or a snooze.
    plan = (md(f"*Next meeting*\n{meeting_text(deal, tz, now)}") if deal.is_open else
            md(f"*Decided*\n{describe(deal.closed_at, tz, now) if deal.closed_at else 'closed'}"))
    blocks.append(SectionBlock(fields=[
        md(f"*Amount*\n{escape(amount_text(deal))}"),
        md(f"*State*\n{STATE_LABEL[deal.status]}"),
        plan,
        md(f"*Maybes so far*\n{deal.maybe_count}"),
        md(f"*Unanswered tries*\n{deal.touches_since_answer}"),
        md(f"*Age*\n{plural(age_days(deal, now), 'day')}"),
    ]))
    facts = [f"#{deal.id}"]
    if deal.contact:
        facts.append(f"contact: {escape(clip(deal.contact, 200))}")
    if deal.stage:
        facts.append(f"waiting on: {escape(clip(deal.stage, 100))}")
    if deal.is_open and deal.snoozed_until and deal.snoozed_until > now:
        facts.append(f"snoozed until {describe(deal.snoozed_until, tz, now)}")
    if deal.close_reason:  # what was typed with the decision: a reason for a no, a note on a win
        label = "note" if deal.status is Status.WON else "reason"
        facts.append(f"{label}: {escape(clip(deal.close_reason, 300))}")
    elif deal.last_maybe_note:
        facts.append(f"last maybe: “{escape(clip(deal.last_maybe_note, 300))}”")
    blocks.append(ContextBlock(elements=[md(" · ".join(facts))]))
    blocks.append(deal_buttons(deal))
    return blocks


def deal_line(deal: Deal, tz: str, now: datetime, stalls: Sequence[Stall] = ()) -> str:
    """One deal in a list; `stalls` (the digest's reasons, when it would list the deal) go under it."""
    bits = [f"*{escape(clip(deal.company, 120))}* (#{deal.id})"]
    if deal.amount is not None:
        bits.append(escape(amount_text(deal)))
    if deal.is_open:
        if deal.maybe_count:
            bits.append(plural(deal.maybe_count, "maybe"))
        if deal.touches_since_answer:
            bits.append(plural(deal.touches_since_answer, "unanswered try", "unanswered tries"))
        bits.append(f"next: {meeting_text(deal, tz, now)}")
        if deal.snoozed_until is not None and deal.snoozed_until > now:
            bits.append(f"snoozed until {describe(deal.snoozed_until, tz, now)}")
    elif deal.closed_at is not None:
        bits.append(f"{STATE_LABEL[deal.status]} {describe(deal.closed_at, tz, now)}")
    else:
        bits.append(STATE_LABEL[deal.status])
    line = "• " + " · ".join(bits)
    if stalls:
        line += f"\n      _{escape(stalls[0].reason)}_"
    return line


def pipeline_sections(p: Pipeline, tz: str, now: datetime, *, open_groups: bool = True,
                      closed_title: str | None = None, limit: int = 40) -> list[Block]:
    """The groups of `p`, most urgent first. "Needs a decision" and "Open, on track" always show with
    `open_groups` (an empty group reads as good news); "Meeting passed" and "Snoozed" only when they
    have deals; the closed deals under `closed_title` when one is given."""
    def lines(deals: Sequence[Deal]) -> list[str]:
        return [deal_line(d, tz, now) for d in deals]

    out: list[Block] = []
    if open_groups:
        out += section_lines(f"Needs a decision ({len(p.needs_decision)})",
                             [deal_line(s.deal, tz, now, s.stalls) for s in p.needs_decision], limit=limit)
        if p.meeting_passed:
            out += section_lines(f"Meeting passed, no next one booked ({len(p.meeting_passed)})",
                                 lines(p.meeting_passed), limit=limit)
        out += section_lines(f"Open, on track ({len(p.on_track)})", lines(p.on_track), limit=limit)
        if p.snoozed:
            out += section_lines(f"Snoozed ({len(p.snoozed)})", lines(p.snoozed), limit=limit)
    if closed_title is not None:
        out += section_lines(f"{closed_title} ({len(p.closed)})", lines(p.closed), limit=limit)
    return out


def section_lines(title: str, lines: Sequence[str], *, limit: int = 40) -> list[Block]:
    """A titled group of lines, split over sections so each stays within Slack's text limit."""
    shown = list(lines[:limit])
    if len(lines) > limit:
        shown.append(f"_…and {len(lines) - limit} more: `/deal export` sends you all of them._")
    blocks: list[Block] = []
    chunk = f"*{title}*"
    for line in shown or ["_none_"]:
        if len(chunk) + 1 + len(line) > MAX_SECTION:
            blocks.append(SectionBlock(text=md(chunk)))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    blocks.append(SectionBlock(text=md(chunk)))
    return blocks


def text_reply(text: str, *, context: str | None = None) -> list[Block]:
    blocks: list[Block] = [SectionBlock(text=md(text))]
    if context:
        blocks.append(ContextBlock(elements=[md(context)]))
    return blocks


def pick_deal(prompt: str, choices: Iterable[tuple[str, str]], action_id: str) -> list[Block]:
    """Buttons to choose among several matching deals: choices are (label, value)."""
    buttons = [button(label, f"{action_id}:{i}", value) for i, (label, value) in enumerate(choices)][:24]
    return [SectionBlock(text=md(prompt)), ActionsBlock(elements=buttons), DividerBlock()]


def as_dicts(blocks: Iterable[Block]) -> list[dict]:
    return [b.to_dict() for b in blocks]
