"""Chat: a DM to the bot, or an @mention, becomes a *proposed* deal update the rep confirms.

Nothing is written until the rep clicks [Log it] (or [Add as new deal]). Chatter that isn't
a deal update gets a short hint, and in channels the bot speaks only when mentioned,
and then only to the rep who mentioned it (ephemeral), since proposals show their deals.
"""

from __future__ import annotations

import re
from datetime import datetime

from slack_bolt import App
from slack_sdk.models.blocks import ActionsBlock, ContextBlock, SectionBlock

from handlers import blocks as bk
from handlers.commands import Ask, Reply, ask_for, log_on
from handlers.deal_log import DealLog
from handlers.domain.amounts import AmountError, parse_amount
from handlers.domain.chat import Proposal, parse_chat
from handlers.domain.model import Kind, Source
from handlers.domain.refs import Candidate, fold
from handlers.domain.when import describe
from handlers.modals import log_modal

HINT = ("I log deal updates from plain words, like “Acme said maybe, try after Jan 15”, "
        "“left a voicemail for Initech” or “Globex signed!”. `/deal help` lists everything I do.")
KIND_LABEL = {Kind.MAYBE: "Maybe", Kind.TOUCH: "No answer (a try)", Kind.MEETING: "Meeting",
              Kind.WON: "Won", Kind.NO: "Hard no", Kind.DROP: "Drop (not a fit)", Kind.NOTE: "Note",
              Kind.ADDED: "New deal"}
WHICH_DEAL = ("Which deal was that? Name the company, e.g. “Acme said maybe, try after Jan 15”, "
              "or use `/deal maybe <deal>`.")
ONE_AT_A_TIME = "That names more than one of your deals: tell me about one at a time, and I'll log each."
ALREADY = "Already handled."
MENTION = re.compile(r"^\s*<@[A-Z0-9]+>\s*[:,]?\s*")


def register(app: App) -> None:
    app.event("message")(on_message)
    app.event("app_mention")(on_mention)
    app.action("chat:log")(log_it)
    app.action("chat:add")(add_it)
    app.action("chat:ignore")(ignore_it)
    app.action("chat:edit")(edit_it)


def on_message(event, client, store, clock, reps):
    # Only plain messages a person sent in a DM with the bot: no edits, joins, or bot posts.
    if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
        return
    rep = reps.get(event["user"], event.get("team", ""))
    reply = understand(rep, event.get("text") or "", store, clock)
    client.chat_postMessage(channel=event["channel"], text=reply.text, blocks=bk.as_dicts(reply.blocks))


def on_mention(event, client, store, clock, reps):
    if event.get("bot_id") or not event.get("user"):
        return
    rep = reps.get(event["user"], event.get("team", ""))
    reply = understand(rep, MENTION.sub("", event.get("text") or ""), store, clock)
    client.chat_postEphemeral(channel=event["channel"], user=rep.user_id, text=reply.text,
                              blocks=bk.as_dicts(reply.blocks))


def understand(rep, text: str, store, clock) -> Reply:
    """What the bot answers to one chat line: a proposal to confirm, or a hint."""
    log = DealLog(store, clock)
    cands = log.candidates(rep.user_id)
    proposal = parse_chat(text, [c.company for c in cands], rep.tz, clock.now())
    if proposal is not None and proposal.confidence < 0.5 and proposal.kind is not Kind.NOTE:
        # an outcome we could not pin on one deal: ask, rather than answer with the generic hint
        if not proposal.company:
            return Reply(bk.entities(WHICH_DEAL))
        if proposal.known:
            return Reply(ONE_AT_A_TIME)
    if proposal is None or proposal.confidence < 0.5:
        return Reply(HINT)
    deal = pick(proposal, cands)
    payload = {"kind": proposal.kind.value, "company": proposal.company, "deal": deal.id if deal else None,
               "when": proposal.when.isoformat() if proposal.when else None, "note": proposal.note,
               "amount": proposal.amount_text}
    with store.tx() as tx:
        pid = tx.save_proposal(rep.user_id, {"type": "chat", **payload}, clock.now())
    return proposal_reply(pid, proposal, deal, rep.tz, clock.now())


def pick(p: Proposal, cands: list[Candidate]) -> Candidate | None:
    """The rep's deal the proposal names (open ones first), or None for a new company."""
    if not p.known:
        return None
    same = [c for c in cands if fold(c.company) == fold(p.company)]
    return (sorted(same, key=lambda c: not c.open) or [None])[0]


def proposal_reply(pid: int, p: Proposal, deal: Candidate | None, tz: str, now: datetime) -> Reply:
    name = bk.escape(bk.clip(p.company, 200))
    what = KIND_LABEL.get(p.kind, p.kind.value)
    lines = [f"*{what}* on *{name}*" + ("" if deal else " (not one of your deals yet)")]
    if p.when:
        lines.append(("next meeting: " if p.kind is Kind.MEETING else "try again after: ") + describe(p.when, tz, now))
    elif p.kind is Kind.MEETING:
        lines.append("next meeting: none booked yet (I'll ask you for the date)")
    if p.amount_text:
        lines.append(f"amount: {bk.escape(p.amount_text)}")
    if p.note:
        lines.append(f"note: “{bk.escape(bk.clip(p.note, 1500))}”")
    v = str(pid)
    first = (bk.button("Log it", "chat:log", v, "primary") if deal
             else bk.button("Add as new deal", "chat:add", v, "primary"))
    return Reply(f"Log this? {what} on {p.company}", [
        SectionBlock(text=bk.md("Here's what I understood:\n" + "\n".join(lines))),
        ActionsBlock(elements=[first, bk.button("Edit", "chat:edit", v), bk.button("Ignore", "chat:ignore", v)]),
        ContextBlock(elements=[bk.md("Nothing is saved until you click.")]),
    ])


def _take(body, store, clock, state: str) -> tuple[str, dict] | None:
    """Settle the rep's pending proposal exactly once (a double click does nothing the second time)."""
    user = body["user"]["id"]
    try:
        pid = int(body["actions"][0].get("value", ""))
    except ValueError:
        return None
    with store.tx() as tx:
        found = tx.proposal(user, pid)
        if found is None or not tx.settle_proposal(user, pid, state):
            return None
    return found


def _ask(body, store, clock, reps, client, coach, settings) -> Ask:
    return ask_for(body["user"], store=store, clock=clock, reps=reps, client=client, coach=coach,
                   settings=settings, source=Source.CHAT)


def _when(p: dict) -> datetime | None:
    return datetime.fromisoformat(p["when"]) if p.get("when") else None


def apply_proposal(ask: Ask, p: dict, deal_id: int) -> Reply:
    kind, note, when = Kind(p["kind"]), p.get("note", ""), _when(p)
    if kind is Kind.MEETING and when is None:
        # They met but no next meeting is booked: log the meeting as a note, ask for the next one.
        return log_on(ask, deal_id, Kind.NOTE, note or "met", headline=(
            "Logged your meeting with *{c}*. A meeting without a next meeting drifts toward a no: "
            "book the next one with *Next meeting* below."))
    if kind in (Kind.ADDED, Kind.NOTE):
        return log_on(ask, deal_id, Kind.NOTE, note)
    return log_on(ask, deal_id, kind, note, when)  # a maybe's "try after Jan 15" snoozes until then


def log_it(ack, body, respond, client, store, clock, reps, coach, settings):
    ack()
    found = _take(body, store, clock, "logged")
    if found is None:
        respond(text=ALREADY, replace_original=False, response_type="ephemeral")
        return
    ask = _ask(body, store, clock, reps, client, coach, settings)
    reply = apply_proposal(ask, found[1], int(found[1].get("deal") or 0))
    respond(text=reply.text, blocks=bk.as_dicts(reply.blocks), replace_original=True)


def add_it(ack, body, respond, client, store, clock, reps, coach, settings):
    ack()
    found = _take(body, store, clock, "logged")
    if found is None:
        respond(text=ALREADY, replace_original=False, response_type="ephemeral")
        return
    p = found[1]
    ask = _ask(body, store, clock, reps, client, coach, settings)
    amount = None
    if p.get("amount"):
        try:
            amount = parse_amount(p["amount"])
        except AmountError:
            amount = None  # the amount stays in the note; the rep can set it later
    deal = ask.log.add(ask.rep.user_id, ask.rep.team_id, p["company"], amount=amount and amount.value,
                       currency=amount and amount.currency, source=Source.CHAT)
    kind = Kind(p["kind"])
    if kind is Kind.ADDED:
        reply = log_on(ask, deal.id, Kind.NOTE, p.get("note", "")) if p.get("note") else \
            Reply(f"Added {p['company']}", bk.deal_card(deal, ask.rep.tz, clock.now(),
                                                         headline=f"Added *{bk.escape(p['company'])}*."))
    else:
        reply = apply_proposal(ask, p, deal.id)
    respond(text=reply.text, blocks=bk.as_dicts(reply.blocks), replace_original=True)


def ignore_it(ack, body, respond, store, clock):
    ack()
    if _take(body, store, clock, "ignored") is not None:
        respond(text="Ignored: nothing was logged.", replace_original=True)
    else:
        respond(text=ALREADY, replace_original=False, response_type="ephemeral")


def edit_it(ack, body, respond, client, store, clock):
    ack()
    user = body["user"]["id"]
    try:
        pid = int(body["actions"][0].get("value", ""))
    except ValueError:
        return
    with store.tx() as tx:
        found = tx.proposal(user, pid)
    if found is None or found[0] != "pending":
        respond(text=ALREADY, replace_original=False, response_type="ephemeral")
        return
    cands = DealLog(store, clock).candidates(user)
    p = found[1]
    # No users.info on the way: the trigger_id expires 3 s after the click.
    client.views_open(trigger_id=body["trigger_id"], view=log_modal(
        cands, text=p.get("note", ""), deal_id=p.get("deal"), kind=Kind(p["kind"]), when=_when(p),
        company=p.get("company", ""), metadata={"proposal": pid, "response_url": body.get("response_url")}))
