"""Buttons on deal cards, on "which deal did you mean?" pickers (also the one-button "are you sure?" before
a decision on part of a name), and **Add anyway** on a duplicate `/deal add`."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from slack_bolt import App

from handlers import blocks as bk
from handlers.commands import NOT_YOURS, Ask, Reply, Verbs, add_command, ask_for, do_add, log_on
from handlers.deal_log import VERB_KIND, DealLog
from handlers.domain.grammar import Command
from handlers.domain.model import Kind, Source
from handlers.modals import meeting_modal
from handlers.workspace import team_of

CARD_KINDS = {"maybe": Kind.MAYBE, "touch": Kind.TOUCH, "won": Kind.WON, "no": Kind.NO,
              "drop": Kind.DROP, "reopen": Kind.REOPEN}


def register(app: App) -> None:
    app.action(re.compile(r"^deal:(maybe|touch|won|no|drop|reopen)$"))(card_button)
    app.action("deal:meet")(card_meeting)
    app.action(re.compile(r"^pick:\d+$"))(picked)
    app.action("deal:add_anyway")(add_anyway)


def ask_from(body: Any, store: Any, clock: Any, reps: Any, client: Any, coach: Any, settings: Any,
             source: Source = Source.BUTTON) -> Ask:
    return ask_for(body["user"], store=store, clock=clock, reps=reps, client=client, coach=coach,
                   settings=settings, channel_id=(body.get("channel") or {}).get("id", ""), source=source,
                   team=team_of(body))


def deal_id_of(action: Any) -> int:
    try:
        return int(action.get("value", ""))
    except ValueError:
        return 0


def card_button(ack: Any, body: Any, action: Any, respond: Any, client: Any, store: Any, clock: Any, reps: Any,
                coach: Any, settings: Any) -> None:
    ack()
    ask = ask_from(body, store, clock, reps, client, coach, settings)
    reply = log_on(ask, deal_id_of(action), CARD_KINDS[action["action_id"].split(":")[1]])
    show(respond, reply)


def card_meeting(ack: Any, body: Any, action: Any, respond: Any, client: Any, store: Any, clock: Any, reps: Any,
                 coach: Any, settings: Any) -> None:
    ack()
    deal = DealLog(store, clock, team_of(body)).deal(body["user"]["id"], deal_id_of(action))
    if deal is None or deal.id is None:
        respond(text=NOT_YOURS, response_type="ephemeral", replace_original=False)
        return
    origin = {"response_url": body["response_url"]} if body.get("response_url") else {}
    client.views_open(trigger_id=body["trigger_id"], view=meeting_modal(deal.id, deal.company, origin))


def picked(ack: Any, body: Any, action: Any, respond: Any, client: Any, store: Any, clock: Any, reps: Any,
           coach: Any, settings: Any, verbs: Verbs) -> None:
    """The rep chose one deal among several matches: finish what they typed."""
    ack()
    ask = ask_from(body, store, clock, reps, client, coach, settings, source=Source.COMMAND)
    pending_id, _, deal_id = action.get("value", "").partition(":")
    with store.tx(ask.rep.team_id) as tx:
        found = tx.proposal(ask.rep.user_id, int(pending_id)) if pending_id.isdigit() else None
        fresh = found is not None and tx.settle_proposal(ask.rep.user_id, int(pending_id), "logged")
    if not fresh or found is None:
        show(respond, Reply("That choice was already made (or isn't yours)."))
        return
    p = found[1]
    verb = p["verb"]
    reply: Reply | None
    if verb in VERB_KIND:
        when = datetime.fromisoformat(p["when"]) if p.get("when") else None
        reply = log_on(ask, int(deal_id), VERB_KIND[verb], p.get("note", ""), when)
    else:  # a subcommand of another feature (e.g. coach): re-run it on the chosen deal
        ask.respond = respond
        reply = verbs[verb](ask, Command(verb, ref=f"#{deal_id}", note=p.get("note", ""),
                                               option=p.get("option")))
    if reply is not None:
        show(respond, reply)


def add_anyway(ack: Any, body: Any, action: Any, respond: Any, client: Any, store: Any, clock: Any, reps: Any,
               coach: Any, settings: Any) -> None:
    """The rep saw their open deal for that company and wants a second one: add it as they typed it."""
    ack()
    user, pending = body["user"]["id"], action.get("value", "")
    with store.tx(team_of(body)) as tx:
        found = tx.proposal(user, int(pending)) if pending.isdigit() else None
        fresh = found is not None and found[1].get("type") == "add" and tx.settle_proposal(user, int(pending), "logged")
    if not fresh or found is None:
        show(respond, Reply("That one was already added (or isn't yours)."))
        return
    p = found[1]
    ask = ask_from(body, store, clock, reps, client, coach, settings, source=Source(p.get("source") or "command"))
    show(respond, do_add(ask, add_command(p), anyway=True))


def show(respond: Any, reply: Reply) -> None:
    """Replace the message the button was on with the result (privately if it wasn't theirs)."""
    if not reply.own:
        respond(text=reply.text, response_type="ephemeral", replace_original=False)
        return
    respond(text=reply.text, blocks=bk.as_dicts(reply.blocks), replace_original=True)
