"""App Home: the rep's pipeline at a glance, redrawn each time they open the Home tab."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, SectionBlock
from slack_sdk.models.views import View

from handlers import blocks as bk
from handlers import practice
from handlers.deal_log import DealLog
from handlers.domain.board import Period, current_span
from handlers.domain.model import Rep
from handlers.domain.when import describe
from handlers.workspace import team_of

HOW_TO = ("*How to use hardno*\n"
          "• `/deal add Acme $12k next:dec 3` adds a deal; `/deal add` alone opens a form\n"
          "• `/deal maybe acme`, `/deal touch acme`, `/deal meet acme thu 10am` log what happened\n"
          "• `/deal won acme`, `/deal no acme`, `/deal drop acme` close it out: every decision counts\n"
          "• `/deal coach acme` drafts a polite ask for a decision\n"
          "• Or just DM me: “Acme said maybe again, try after Jan 15”\n"
          "• `/deal help` lists everything")


def register(app: App) -> None:
    app.event("app_home_opened")(on_home_opened)


def on_home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient, store: Any, clock: Any,
                   reps: Any) -> None:
    if event.get("tab") not in (None, "home"):
        return  # the Messages tab needs nothing from us
    rep = reps.get(event["user"], team_of(body))
    log = DealLog(store, clock, rep.team_id)
    client.views_publish(user_id=rep.user_id, view=home_view(rep, log, clock.now()))


def home_view(rep: Rep, log: DealLog, now: datetime) -> dict[str, Any]:
    p = log.pipeline(rep, "open")
    tz = rep.tz
    week = current_span(Period.WEEK, now, tz)  # from the rep's local Monday 00:00, as the leaderboard counts
    closed = [d for d in log.closed_since(rep.user_id, 8) if d.closed_at is not None and d.closed_at >= week.start]

    blocks: list[Block] = [
        HeaderBlock(text=bk.plain("Your pipeline")),
        ContextBlock(elements=[bk.md(f"As of {describe(now, tz, now)} · {p.open_count} open · "
                                     f"{len(closed)} closed out this week")])]
    blocks += bk.pipeline_sections(p, tz, now, limit=15)
    blocks += bk.section_lines(f"Closed out this week ({len(closed)})", [bk.deal_line(d, tz, now) for d in closed],
                               limit=10)
    if closed:
        blocks.append(ContextBlock(elements=[bk.md("Won, hard no or dropped: each one is a decision. Nice work.")]))
    blocks += [DividerBlock(), *practice.home_blocks(rep, log.store, now)]
    blocks += [DividerBlock(), SectionBlock(text=bk.md(HOW_TO))]
    return View(type="home", blocks=blocks).to_dict()
