"""The "Log to a deal" message shortcut, and the log modal it shares with [Edit] on chat proposals."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from slack_bolt import App
from slack_sdk.models.blocks import DateTimePickerElement, StaticSelectElement
from slack_sdk.models.blocks.basic_components import Option
from slack_sdk.models.views import View

from handlers import blocks as bk
from handlers.commands import ask_for, log_on
from handlers.deal_log import DealLog
from handlers.domain.chat import note_text, parse_chat
from handlers.domain.model import Kind, Source
from handlers.domain.refs import Candidate, fold
from handlers.events import apply_proposal
from handlers.views import _input, _text, deliver, values

KINDS = [(Kind.MAYBE, "Maybe / not now / send info"), (Kind.TOUCH, "Tried, no answer"),
         (Kind.MEETING, "Next meeting agreed"), (Kind.WON, "Won"), (Kind.NO, "Hard no"),
         (Kind.DROP, "Drop (not a fit)"), (Kind.NOTE, "Just a note")]
MAX_OPTIONS = 100  # Slack's limit for a static select


def register(app: App) -> None:
    app.shortcut("log_to_deal")(open_from_message)
    app.view("log_update")(submit_log)


def log_modal(cands: list[Candidate], *, text: str = "", deal_id: int | None = None, kind: Kind | None = None,
              when: datetime | None = None, company: str = "", tz: str = "UTC", metadata: dict | None = None) -> dict:
    # The deal in question first when it would not fit among the 100 options Slack allows.
    ordered = sorted(cands, key=lambda c: (not c.open, fold(c.company)))
    chosen = [c for c in ordered[MAX_OPTIONS:] if c.id == deal_id]
    ordered = (chosen + ordered)[:MAX_OPTIONS]
    deal_opts = [Option(text=bk.plain(f"{c.company} (#{c.id})" + ("" if c.open else " · closed"), 75),
                        value=str(c.id)) for c in ordered]
    initial_deal = next((o for o in deal_opts if o.value == str(deal_id)), None)
    kind_opts = [Option(text=bk.plain(label), value=k.value) for k, label in KINDS]
    initial_kind = next((o for o in kind_opts if kind and o.value == kind.value), kind_opts[-1])
    blocks = []
    if deal_opts:
        blocks.append(_input("deal", "Deal", StaticSelectElement(action_id="v", options=deal_opts,
                                                                 initial_option=initial_deal,
                                                                 placeholder=bk.plain("One of your deals")),
                             optional=True))
    blocks += [
        _input("company", "…or a new deal for company", _text("v", "Company name", "" if initial_deal else company[:200],
                                                             max_length=200), optional=True),
        _input("kind", "What happened", StaticSelectElement(action_id="v", options=kind_opts,
                                                            initial_option=initial_kind)),
        _input("when", "Date (next meeting, or try again after)",
               DateTimePickerElement(action_id="v", initial_date_time=int(when.timestamp()) if when else None),
               optional=True),
        _input("note", "Note", _text("v", "", text[:3000], multiline=True, max_length=3000), optional=True),
    ]
    return View(type="modal", callback_id="log_update", title=bk.plain("Log to a deal", 24),
                submit=bk.plain("Log"), close=bk.plain("Cancel"),
                private_metadata=json.dumps(metadata or {})[:3000], blocks=blocks).to_dict()


def open_from_message(ack, shortcut, client, store, clock, reps):
    ack()  # open quickly: the trigger expires in 3 s
    user = shortcut["user"]["id"]
    rep = reps.get(user, shortcut["user"].get("team_id", ""))
    cands = DealLog(store, clock).candidates(user)
    text = (shortcut.get("message") or {}).get("text") or ""
    guess = parse_chat(text, [c.company for c in cands], rep.tz, clock.now())
    deal_id = None
    if guess and guess.known:
        deal_id = next((c.id for c in cands if fold(c.company) == fold(guess.company)), None)
    client.views_open(trigger_id=shortcut["trigger_id"], view=log_modal(
        cands, text=note_text(text), deal_id=deal_id, kind=guess.kind if guess else Kind.NOTE,
        when=guess.when if guess else None, company=guess.company if guess and not guess.known else "",
        tz=rep.tz, metadata={"source": "shortcut"}))


def submit_log(ack, body, view, client, store, clock, reps, coach, settings):
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
                  settings=settings, source=source)
    rep = ask.rep
    if meta.get("proposal"):  # an edited chat proposal: settle it so its buttons can't log it twice
        with store.tx() as tx:
            tx.settle_proposal(user, int(meta["proposal"]), "logged")
    if deal_id is None:  # the name of one of their open deals (maybe beyond the 100 listed) is that deal
        same = [c.id for c in ask.log.candidates(user) if c.open and fold(c.company) == fold(company)]
        deal_id = same[0] if same else ask.log.add(user, rep.team_id, company, source=source).id
    note = (v.get("note") or "").strip()
    if kind is Kind.MEETING:
        reply = log_on(ask, deal_id, Kind.MEETING, note, when)
    else:
        reply = apply_proposal(ask, {"kind": kind.value, "note": note,
                                     "when": when.isoformat() if when else None}, deal_id)
    deliver(client, reps, rep, reply, meta)
