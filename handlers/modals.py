"""The modals' Block Kit: add a deal, book the next meeting, log to a deal.

Built here, apart from the listeners that open and submit them (commands, actions, views, shortcuts,
events), so that no listener module has to import another to show a form.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    DateTimePickerElement,
    InputBlock,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.blocks.basic_components import Option
from slack_sdk.models.views import View

from handlers import blocks as bk
from handlers.domain.grammar import MAX_COMPANY, STAGES
from handlers.domain.model import Kind
from handlers.domain.refs import Candidate, fold

KINDS = [(Kind.MAYBE, "Maybe / not now / send info"), (Kind.TOUCH, "Tried, no answer"),
         (Kind.MEETING, "Next meeting agreed"), (Kind.WON, "Won"), (Kind.NO, "Hard no"),
         (Kind.DROP, "Drop (not a fit)"), (Kind.NOTE, "Just a note")]
MAX_OPTIONS = 100  # Slack's limit for a static select


def field(block_id: str, label: str, element: Any, optional: bool = False, hint: str | None = None) -> InputBlock:
    return InputBlock(block_id=block_id, label=bk.plain(label, 2000), element=element, optional=optional,
                      hint=bk.plain(hint, 2000) if hint else None)


def text_input(action_id: str, placeholder: str = "", initial: str | None = None, multiline: bool = False,
               max_length: int | None = None) -> PlainTextInputElement:
    return PlainTextInputElement(action_id=action_id, placeholder=bk.plain(placeholder) if placeholder else None,
                                 initial_value=initial or None, multiline=multiline, max_length=max_length)


def add_deal_modal(company: str = "", note: str = "", metadata: str = "") -> dict[str, Any]:
    stage_options = [Option(text=bk.plain(s.capitalize()), value=s) for s in STAGES]
    return View(type="modal", callback_id="add_deal", title=bk.plain("Add a deal", 24),
                submit=bk.plain("Add"), close=bk.plain("Cancel"), private_metadata=metadata[:3000],
                blocks=[
                    field("company", "Company", text_input("v", "Acme Corp", company[:MAX_COMPANY], max_length=MAX_COMPANY)),
                    field("amount", "Amount", text_input("v", "$12k, 12000, €5,000"), optional=True),
                    field("next", "Next meeting", DateTimePickerElement(action_id="v"), optional=True),
                    field("contact", "Contact", text_input("v", "Who you talk to"), optional=True),
                    field("stage", "Waiting on", StaticSelectElement(action_id="v", options=stage_options,
                                                                        placeholder=bk.plain("Commitment")),
                           optional=True, hint="The commitment the deal waits on next"),
                    field("note", "Note", text_input("v", "", note[:3000], multiline=True), optional=True),
                ]).to_dict()


def meeting_modal(deal_id: int, company: str, origin: dict[str, Any] | None = None) -> dict[str, Any]:
    return View(type="modal", callback_id="book_meeting", title=bk.plain("Next meeting", 24),
                submit=bk.plain("Save"), close=bk.plain("Cancel"),
                private_metadata=json.dumps({"deal": deal_id, **(origin or {})}),
                blocks=[
                    bk.SectionBlock(text=bk.md(f"When is the next meeting with *{bk.escape(bk.clip(company, 200))}*?")),
                    field("when", "Date and time", DateTimePickerElement(action_id="v")),
                    field("note", "Purpose or note", text_input("v", "Pricing review with their CFO"), optional=True),
                ]).to_dict()


def log_modal(cands: list[Candidate], *, text: str = "", deal_id: int | None = None, kind: Kind | None = None,
              when: datetime | None = None, company: str = "", tz: str = "UTC", metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    # The deal in question first when it would not fit among the 100 options Slack allows.
    ordered = sorted(cands, key=lambda c: (not c.open, fold(c.company)))
    chosen = [c for c in ordered[MAX_OPTIONS:] if c.id == deal_id]
    ordered = (chosen + ordered)[:MAX_OPTIONS]
    deal_opts = [Option(text=bk.plain(f"{c.company} (#{c.id})" + ("" if c.open else " · closed"), 75),
                        value=str(c.id)) for c in ordered]
    initial_deal = next((o for o in deal_opts if o.value == str(deal_id)), None)
    kind_opts = [Option(text=bk.plain(label), value=k.value) for k, label in KINDS]
    initial_kind = next((o for o in kind_opts if kind and o.value == kind.value), kind_opts[-1])
    blocks: list[InputBlock] = []
    if deal_opts:
        blocks.append(field("deal", "Deal", StaticSelectElement(action_id="v", options=deal_opts,
                                                                 initial_option=initial_deal,
                                                                 placeholder=bk.plain("One of your deals")),
                             optional=True))
    blocks += [
        field("company", "…or a new deal for company", text_input("v", "Company name", "" if initial_deal else company[:MAX_COMPANY],
                                                                  max_length=MAX_COMPANY), optional=True),
        field("kind", "What happened", StaticSelectElement(action_id="v", options=kind_opts,
                                                            initial_option=initial_kind)),
        field("when", "Date (next meeting, or try again after)",
               DateTimePickerElement(action_id="v", initial_date_time=int(when.timestamp()) if when else None),
               optional=True),
        field("note", "Note", text_input("v", "", text[:3000], multiline=True, max_length=3000), optional=True),
    ]
    return View(type="modal", callback_id="log_update", title=bk.plain("Log to a deal", 24),
                submit=bk.plain("Log"), close=bk.plain("Cancel"),
                private_metadata=json.dumps(metadata or {})[:3000], blocks=blocks).to_dict()
