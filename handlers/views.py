"""Modals: add a deal, book the next meeting. Bad input is answered in the modal, next to the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from slack_bolt import App
from slack_sdk.models.blocks import (
    DateTimePickerElement,
    InputBlock,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.blocks.basic_components import Option
from slack_sdk.models.views import View

from handlers import blocks as bk
from handlers.commands import ask_for, do_add, log_on
from handlers.domain.amounts import AmountError, parse_amount
from handlers.domain.grammar import Command
from handlers.domain.model import Kind, Source

STAGES = ["time", "explore", "change", "collaborate", "consensus", "invest", "review",
          "resolve concerns", "decide", "execute"]
MAX_COMPANY = 200


def _input(block_id: str, label: str, element, optional: bool = False, hint: str | None = None) -> InputBlock:
    return InputBlock(block_id=block_id, label=bk.plain(label, 2000), element=element, optional=optional,
                      hint=bk.plain(hint, 2000) if hint else None)


def _text(action_id: str, placeholder: str = "", initial: str | None = None, multiline: bool = False,
          max_length: int | None = None):
    return PlainTextInputElement(action_id=action_id, placeholder=bk.plain(placeholder) if placeholder else None,
                                 initial_value=initial or None, multiline=multiline, max_length=max_length)


def add_deal_modal(company: str = "", note: str = "", metadata: str = "") -> dict:
    stage_options = [Option(text=bk.plain(s.capitalize()), value=s) for s in STAGES]
    return View(type="modal", callback_id="add_deal", title=bk.plain("Add a deal", 24),
                submit=bk.plain("Add"), close=bk.plain("Cancel"), private_metadata=metadata[:3000],
                blocks=[
                    _input("company", "Company", _text("v", "Acme Corp", company[:MAX_COMPANY], max_length=MAX_COMPANY)),
                    _input("amount", "Amount", _text("v", "$12k, 12000, €5,000"), optional=True),
                    _input("next", "Next meeting", DateTimePickerElement(action_id="v"), optional=True),
                    _input("contact", "Contact", _text("v", "Who you talk to"), optional=True),
                    _input("stage", "Waiting on", StaticSelectElement(action_id="v", options=stage_options,
                                                                        placeholder=bk.plain("Commitment")),
                           optional=True, hint="The commitment the deal waits on next"),
                    _input("note", "Note", _text("v", "", note[:3000], multiline=True), optional=True),
                ]).to_dict()


def meeting_modal(deal_id: int, company: str, origin: dict | None = None) -> dict:
    return View(type="modal", callback_id="book_meeting", title=bk.plain("Next meeting", 24),
                submit=bk.plain("Save"), close=bk.plain("Cancel"),
                private_metadata=json.dumps({"deal": deal_id, **(origin or {})}),
                blocks=[
                    bk.SectionBlock(text=bk.md(f"When is the next meeting with *{bk.escape(bk.clip(company, 200))}*?")),
                    _input("when", "Date and time", DateTimePickerElement(action_id="v")),
                    _input("note", "Purpose or note", _text("v", "Pricing review with their CFO"), optional=True),
                ]).to_dict()


def values(view: dict) -> dict[str, object]:
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


def submit_add_deal(ack, body, view, client, store, clock, reps, coach, settings):
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
                  settings=settings, source=Source.MODAL)
    rep = ask.rep
    reply = do_add(ask, Command("add", company=company, amount=amount, when=when, contact=v.get("contact"),
                                stage=v.get("stage"), note=(v.get("note") or "").strip()))
    client.chat_postMessage(channel=reps.dm_channel(rep), text=reply.text, blocks=bk.as_dicts(reply.blocks))


def submit_meeting(ack, body, view, client, store, clock, reps, coach, settings):
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
                  settings=settings, source=Source.MODAL)
    rep = ask.rep
    reply = log_on(ask, int(meta.get("deal", 0)), Kind.MEETING, (v.get("note") or "").strip(), when)
    deliver(client, reps, rep, reply, meta)


def deliver(client, reps, rep, reply, origin: dict) -> None:
    """Show the result where the rep acted: replace the original message when we know it, else DM."""
    if origin.get("response_url"):
        from slack_sdk.webhook import WebhookClient
        sent = WebhookClient(origin["response_url"]).send(text=reply.text, blocks=bk.as_dicts(reply.blocks),
                                                          replace_original=True)
        if sent.status_code == 200:
            return
        # The message is gone or its response_url expired (30 minutes): the DM still reaches the rep.
    client.chat_postMessage(channel=reps.dm_channel(rep), text=reply.text, blocks=bk.as_dicts(reply.blocks))
