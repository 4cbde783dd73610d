"""The "Log to a deal" message shortcut, and submitting the log modal (`handlers.modals.log_modal`), which
[Edit] on chat proposals opens too."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from slack_bolt import App

from handlers.commands import ask_for, log_on
from handlers.deal_log import DealLog
from handlers.domain.chat import parse_chat
from handlers.domain.chat_text import note_text
from handlers.domain.model import Kind, Source
from handlers.domain.refs import fold
from handlers.domain.when import find_when
from handlers.events import apply_proposal
from handlers.modals import log_modal
from handlers.views import deliver, values
from handlers.workspace import team_of


def register(app: App) -> None:
    app.shortcut("log_to_deal")(open_from_message)
    app.view("log_update")(submit_log)


def open_from_message(ack: Any, shortcut: Any, client: Any, store: Any, clock: Any, reps: Any) -> None:
    ack()  # open quickly: the trigger expires in 3 s
    user = shortcut["user"]["id"]
    rep = reps.get(user, team_of(shortcut) or shortcut["user"].get("team_id", ""))
    cands = DealLog(store, clock, rep.team_id).candidates(user)
    text = (shortcut.get("message") or {}).get("text") or ""
    guess = parse_chat(text, [c.company for c in cands], rep.tz, clock.now())
    deal_id = None
    if guess and guess.known:
        deal_id = next((c.id for c in cands if fold(c.company) == fold(guess.company)), None)
    client.views_open(trigger_id=shortcut["trigger_id"], view=log_modal(
        cands, text=note_text(text), deal_id=deal_id, kind=guess.kind if guess else Kind.NOTE,
        when=guess.when if guess else None, company=guess.company if guess and not guess.known else "",
        tz=rep.tz, metadata={"source": "shortcut"}))


def submit_log(ack: Any, body: Any, view: Any, client: Any, store: Any, clock: Any, reps: Any, coach: Any,
               settings: Any) -> None:
    v = values(view)
    user = body["user"]["id"]
    kind = Kind(v.get("kind") or "note")
    when = datetime.fromtimestamp(v["when"], UTC) if v.get("when") else None
    company = (v.get("company") or "").strip()
    deal_id = int(v["deal"]) if v.get("deal") else None
    errors = {}
    if deal_id is None and not company:
        errors["company" if "deal" not in v else "deal"] = "Pick one of your deals, or name a company for a new one."
    if kind is Kind.MEETING and (when is None or when < clock.now()):
        errors["when"] = "A next meeting needs a date and time in the future."
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    meta = json.loads(view.get("private_metadata") or "{}")
    source = Source.SHORTCUT if meta.get("source") == "shortcut" else Source.MODAL
    ask = ask_for(body["user"], store=store, clock=clock, reps=reps, client=client, coach=coach,
                  settings=settings, source=source, team=team_of(body))
    rep = ask.rep
    if meta.get("proposal"):  # an edited chat proposal: settle it so its buttons can't log it twice
        with store.tx(rep.team_id) as tx:
            tx.settle_proposal(user, int(meta["proposal"]), "logged")
    if deal_id is None:  # the name of one of their open deals (maybe beyond the 100 listed) is that deal
        same = [c.id for c in ask.log.candidates(user) if c.open and fold(c.company) == fold(company)]
        deal_id = same[0] if same else ask.log.add(user, rep.team_id, company, source=source).id or 0
    note = (v.get("note") or "").strip()
    if kind is Kind.MAYBE and when is None and (named := find_when(note, rep.tz, clock.now())):
        when = named[0]  # "try after the new year" in the note: no nudges until then, as `/deal maybe` does
    if kind is Kind.MEETING:
        reply = log_on(ask, deal_id, Kind.MEETING, note, when)
    else:
        reply = apply_proposal(ask, {"kind": kind.value, "note": note,
                                     "when": when.isoformat() if when else None}, deal_id)
    deliver(client, reps, rep, reply, meta)
