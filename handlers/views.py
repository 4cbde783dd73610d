"""Submitting the modals (add a deal, book the next meeting). Bad input is answered in the modal, next to the
field. The modals themselves are built in `handlers.modals`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from slack_bolt import App

from handlers import blocks as bk
from handlers.commands import ask_for, do_add, log_on
from handlers.domain.amounts import AmountError, parse_amount
from handlers.domain.grammar import Command
from handlers.domain.model import Kind, Source
from handlers.modals import add_deal_modal, meeting_modal  # noqa: F401 - where callers found them before
from handlers.workspace import team_of


def values(view: dict[str, Any]) -> dict[str, Any]:
    """Flatten a submitted view's state to {block_id: value}."""
    out = {}
    for block_id, actions in view["state"]["values"].items():
        v = actions.get("v", {})
        out[block_id] = (v.get("value") if "value" in v else
                         v.get("selected_date_time") if "selected_date_time" in v else
                         (v.get("selected_option") or {}).get("value"))
    return out


def register(app: App) -> None:
    app.view("add_deal")(submit_add_deal)
    app.view("book_meeting")(submit_meeting)


def submit_add_deal(ack: Any, body: Any, view: Any, client: Any, store: Any, clock: Any, reps: Any, coach: Any,
                    settings: Any) -> None:
    v = values(view)
    company = (v.get("company") or "").strip()
    errors = {}
    if not company:
        errors["company"] = "Give the company a name."
    amount = None
    if v.get("amount"):
        try:
            amount = parse_amount(v["amount"])
        except AmountError as e:
            errors["amount"] = str(e)[:150]
    when = datetime.fromtimestamp(v["next"], UTC) if v.get("next") else None
    if when and when < clock.now():
        errors["next"] = "That time has passed: pick the next meeting, not the last one."
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    ask = ask_for(body["user"], store=store, clock=clock, reps=reps, client=client, coach=coach,
                  settings=settings, source=Source.MODAL, team=team_of(body))
    rep = ask.rep
    reply = do_add(ask, Command("add", company=company, amount=amount, when=when, contact=v.get("contact"),
                                stage=v.get("stage"), note=(v.get("note") or "").strip()))
    client.chat_postMessage(channel=reps.dm_channel(rep), text=reply.text, blocks=bk.as_dicts(reply.blocks))


def submit_meeting(ack: Any, body: Any, view: Any, client: Any, store: Any, clock: Any, reps: Any, coach: Any,
                   settings: Any) -> None:
    v = values(view)
    when = datetime.fromtimestamp(v["when"], UTC) if v.get("when") else None
    if when is None:
        ack(response_action="errors", errors={"when": "Pick the date and time of the next meeting."})
        return
    if when < clock.now():
        ack(response_action="errors", errors={"when": "That time has passed: pick the next meeting."})
        return
    ack()
    meta = json.loads(view.get("private_metadata") or "{}")
    ask = ask_for(body["user"], store=store, clock=clock, reps=reps, client=client, coach=coach,
                  settings=settings, source=Source.MODAL, team=team_of(body))
    rep = ask.rep
    reply = log_on(ask, int(meta.get("deal", 0)), Kind.MEETING, (v.get("note") or "").strip(), when)
    deliver(client, reps, rep, reply, meta)


def deliver(client: Any, reps: Any, rep: Any, reply: Any, origin: dict[str, Any]) -> None:
    """Show the result where the rep acted: replace the original message when we know it, else DM."""
    if origin.get("response_url"):
        from slack_sdk.webhook import WebhookClient
        sent = WebhookClient(origin["response_url"]).send(text=reply.text, blocks=bk.as_dicts(reply.blocks),
                                                          replace_original=True)
        if sent.status_code == 200:
            return
        # The message is gone or its response_url expired (30 minutes): the DM still reaches the rep.
    client.chat_postMessage(channel=reps.dm_channel(rep), text=reply.text, blocks=bk.as_dicts(reply.blocks))
