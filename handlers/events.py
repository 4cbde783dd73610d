"""Chat: a DM to the bot, or an @mention, becomes a *proposed* deal update the rep confirms.

Nothing is written until the rep clicks [Log it] (or [Add as new deal]). In channels the bot speaks
only when mentioned, and then only to the rep who mentioned it (ephemeral), since proposals show
their deals; chatter there gets a short hint.

A DM goes, in this order (handlers/coach_dm.py answers the coach's part):
1. a line in a thread that is a practice drill: the drill takes it;
2. a draft or practice request ("draft a meeting request for Acme Corp", "let's practice"): the coach,
   before the chat parser, which would read that line as a meeting on Acme Corp;
3. the chat parser: a deal update is proposed as before; what it calls chatter is a question for
   the coach ("what's stuck?", "how do I answer 'send me some info'?").
Replies to a line in a thread go into that thread (Slack's assistant view threads every DM).

The line is read by `handlers.chat_reader` (the LLM when the coach has one, the rules otherwise).
A line naming two deals gets one proposal each, in one message whose buttons each settle their
own proposal (the message stays, so the other's buttons do too); a name two open deals share
asks which, with a button per deal and one for a new deal.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from slack_bolt import App
from slack_sdk.models.blocks import ActionsBlock, ContextBlock, SectionBlock

from handlers import blocks as bk
from handlers import coach_dm
from handlers.chat_reader import ChatReader, reader_for
from handlers.commands import Ask, Reply, ask_for, log_on
from handlers.deal_log import DealLog
from handlers.domain.amounts import AmountError, parse_amount
from handlers.domain.chat import PROPOSE_AT, Proposal
from handlers.domain.coach_intent import coach_command, coach_question
from handlers.domain.model import Kind, Source
from handlers.domain.refs import Candidate, fold
from handlers.domain.when import describe
from handlers.modals import log_modal
from handlers.workspace import team_of

HINT = ("I log deal updates from plain words, like “Acme said maybe, try after Jan 15”, "
        "“left a voicemail for Initech” or “Globex signed!”. `/deal help` lists everything I do.")
KIND_LABEL = {Kind.MAYBE: "Maybe", Kind.TOUCH: "No answer (a try)", Kind.MEETING: "Meeting",
              Kind.WON: "Won", Kind.NO: "Hard no", Kind.DROP: "Drop (not a fit)", Kind.NOTE: "Note",
              Kind.ADDED: "New deal"}
WHICH_DEAL = ("Which deal was that? Name the company, e.g. “Acme said maybe, try after Jan 15”, "
              "or use `/deal maybe <deal>`.")
ALREADY = "Already handled."
MENTION = re.compile(r"^\s*<@[A-Z0-9]+>\s*[:,]?\s*")


def register(app: App) -> None:
    app.event("message")(on_message)
    app.event("app_mention")(on_mention)
    app.action("chat:log")(log_it)
    app.action("chat:add")(add_it)
    app.action(re.compile(r"^chat:pick:\d+$"))(pick_it)
    app.action("chat:ignore")(ignore_it)
    app.action("chat:edit")(edit_it)


def on_message(event, client, store, clock, reps, coach, context, settings):
    # Only plain messages a person sent in a DM with the bot: no edits, joins, or bot posts.
    if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id") or not event.get("user"):
        return
    text = event.get("text") or ""
    ask = coach_dm.ask_of(event, context.get("team_id") or event.get("team", ""), client, store, clock, reps, coach,
                          settings)
    where = coach_dm.Where(event["channel"], event.get("thread_ts"), event.get("ts") or "")
    if coach_dm.reply_in_drill(ask, where, text):
        return
    intent = coach_command(text)
    if intent is not None:
        coach_dm.answer(ask, intent, where)
        return
    reply = read_line(ask.rep, text, store, clock, _reader(coach))
    if reply is None:
        coach_dm.answer(ask, coach_question(text), where)
        return
    coach_dm.post(ask, where, reply)


def on_mention(event, client, store, clock, reps, coach, context):
    if event.get("bot_id") or not event.get("user"):
        return
    rep = reps.get(event["user"], context.get("team_id") or event.get("team", ""))
    reply = understand(rep, MENTION.sub("", event.get("text") or ""), store, clock, _reader(coach))
    client.chat_postEphemeral(channel=event["channel"], user=rep.user_id, text=reply.text,
                              blocks=bk.as_dicts(reply.blocks))


def _reader(coach) -> ChatReader:
    """The LLM reader when the coach has a model configured (same key, URL and model), else the rules."""
    return reader_for(getattr(coach, "llm", None))


def understand(rep, text: str, store, clock, reader: ChatReader | None = None) -> Reply:
    """What the bot answers to one chat line: proposals to confirm (one per deal), a question, or a hint."""
    return read_line(rep, text, store, clock, reader) or Reply(HINT)


def read_line(rep, text: str, store, clock, reader: ChatReader | None = None) -> Reply | None:
    """Proposals to confirm (one per deal) or "which deal?"; None for chatter (no deal update in it)."""
    log = DealLog(store, clock, rep.team_id)
    cands = log.candidates(rep.user_id)
    names, open_names = [c.company for c in cands], [c.company for c in cands if c.open]
    now = clock.now()
    proposals = (reader or reader_for(None)).read(text, names, rep.tz, now, open_names)
    shown = [p for p in proposals if p.confidence >= PROPOSE_AT or p.choices]
    if not shown:
        if any(p.kind is not Kind.NOTE and not p.company for p in proposals):
            return Reply(bk.entities(WHICH_DEAL))  # an outcome we could not pin on a deal: ask
        return None
    parts: list[tuple[int, Proposal, Candidate | None, list[Candidate]]] = []
    with store.tx(rep.team_id) as tx:
        for p in shown:
            options = [c for name in p.choices for c in cands if c.company == name and c.open][:10]
            if p.choices and len(options) == 1:  # the other deal sharing the name is closed: no question
                p = replace(p, company=options[0].company, known=True, choices=())
                options = []
            deal = pick(p, cands)
            payload = {"type": "chat", "kind": p.kind.value, "company": p.company, "deal": deal.id if deal else None,
                       "when": p.when.isoformat() if p.when else None, "note": p.note, "amount": p.amount_text,
                       "choices": [c.id for c in options], "group": len(shown)}
            parts.append((tx.save_proposal(rep.user_id, payload, now), p, deal, options))
    return proposals_reply(parts, rep.tz, now)


def pick(p: Proposal, cands: list[Candidate]) -> Candidate | None:
    """The rep's deal the proposal names (open ones first), or None for a new company."""
    if not p.known:
        return None
    same = [c for c in cands if fold(c.company) == fold(p.company)]
    return next(iter(sorted(same, key=lambda c: not c.open)), None)


def _summary(p: Proposal, deal: Candidate | None, tz: str, now: datetime, asking: bool) -> list[str]:
    name = bk.escape(bk.clip(p.company, 200))
    what = KIND_LABEL.get(p.kind, p.kind.value)
    if asking:
        head = f"*{what}* on *{name}*: which deal?"
    else:
        head = f"*{what}* on *{name}*" + (f" (#{deal.id})" if deal else " (not one of your deals yet)")
    lines = [head]
    if p.when:
        lines.append(("next meeting: " if p.kind is Kind.MEETING else "try again after: ") + describe(p.when, tz, now))
    elif p.kind is Kind.MEETING:
        lines.append("next meeting: none booked yet (I'll ask you for the date)")
    if p.amount_text:
        lines.append(f"amount: {bk.escape(p.amount_text)}")
    return lines


def _fallback_text(p: Proposal, deal: Candidate | None) -> str:
    what = KIND_LABEL.get(p.kind, p.kind.value)
    return f"{what} on {bk.escape(bk.clip(p.company, 200))}" + (f" (#{deal.id})" if deal else "")


def proposal_reply(pid: int, p: Proposal, deal: Candidate | None, tz: str, now: datetime) -> Reply:
    return proposals_reply([(pid, p, deal, [])], tz, now)


def proposals_reply(parts: list[tuple[int, Proposal, Candidate | None, list[Candidate]]], tz: str,
                    now: datetime) -> Reply:
    """One message: per proposal what was understood and its own buttons (a shared name asks which deal)."""
    blocks: list = []
    note = parts[0][1].note
    several = len(parts) > 1
    blocks.append(SectionBlock(text=bk.md(f"Here's what I understood ({len(parts)} updates):" if several
                                          else "Here's what I understood:")))
    for pid, p, deal, options in parts:
        v = str(pid)
        lines = _summary(p, deal, tz, now, asking=bool(options))
        if not several and note:
            lines.append(f"note: “{bk.escape(bk.clip(note, 1500))}”")
        blocks.append(SectionBlock(text=bk.md("\n".join(lines))))
        if options:
            buttons = [bk.button(f"{c.company} #{c.id}", f"chat:pick:{i}", f"{pid}:{c.id}")
                       for i, c in enumerate(options)]
            buttons += [bk.button("A new deal", f"chat:pick:{len(options)}", f"{pid}:new"),
                        bk.button("Ignore", "chat:ignore", v)]
        else:
            first = (bk.button("Log it", "chat:log", v, "primary") if deal
                     else bk.button("Add as new deal", "chat:add", v, "primary"))
            buttons = [first, bk.button("Edit", "chat:edit", v), bk.button("Ignore", "chat:ignore", v)]
        blocks.append(ActionsBlock(elements=buttons))
    if several and note:
        blocks.append(SectionBlock(text=bk.md(f"note: “{bk.escape(bk.clip(note, 1500))}”")))
    blocks.append(ContextBlock(elements=[bk.md("Nothing is saved until you click.")]))
    asks = [p for _, p, _, options in parts if options]
    if asks:
        text = f"Which deal? {_fallback_text(asks[0], None)}"
    else:
        text = "Log this? " + "; ".join(_fallback_text(p, deal) for _, p, deal, _ in parts)
    return Reply(text, blocks)


def _take(body, store, clock, state: str) -> tuple[str, dict] | None:
    """Settle the rep's pending proposal exactly once (a double click does nothing the second time)."""
    user = body["user"]["id"]
    try:
        pid = int(body["actions"][0].get("value", ""))
    except ValueError:
        return None
    with store.tx(team_of(body)) as tx:
        found = tx.proposal(user, pid)
        if found is None or not tx.settle_proposal(user, pid, state):
            return None
    return found


def _ask(body, store, clock, reps, client, coach, settings) -> Ask:
    return ask_for(body["user"], store=store, clock=clock, reps=reps, client=client, coach=coach,
                   settings=settings, source=Source.CHAT, team=team_of(body))


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


def _alone(p: dict) -> bool:
    """Whether the proposal had its message to itself: then its result replaces it. A message with
    several proposals stays, so each keeps its own buttons (one click each)."""
    return int(p.get("group") or 1) <= 1


def _settle(body, respond, client, store, clock, reps, coach, settings, choice: str | None = None) -> None:
    """Settle the clicked proposal once and log it: on its own deal (`choice` None), on a new deal (`choice`
    "new"), or on the deal the rep picked (`choice` a deal id, already checked against its choices)."""
    found = _take(body, store, clock, "logged")
    if found is None:
        respond(text=ALREADY, replace_original=False, response_type="ephemeral")
        return
    ask = _ask(body, store, clock, reps, client, coach, settings)
    p = found[1]
    if choice is None:
        reply = apply_proposal(ask, p, int(p.get("deal") or 0))
    else:
        reply = _add_new(ask, p, clock.now()) if choice == "new" else apply_proposal(ask, p, int(choice))
    respond(text=reply.text, blocks=bk.as_dicts(reply.blocks), replace_original=_alone(p))


def log_it(ack, body, respond, client, store, clock, reps, coach, settings):
    ack()
    _settle(body, respond, client, store, clock, reps, coach, settings)


def _add_new(ask: Ask, p: dict, now: datetime) -> Reply:
    """Add the proposal's company as a new deal, then log the proposal's outcome on it."""
    amount = None
    if p.get("amount"):
        try:
            amount = parse_amount(p["amount"])
        except AmountError:
            amount = None  # the amount stays in the note; the rep can set it later
    deal = ask.log.add(ask.rep.user_id, ask.rep.team_id, p["company"], amount=amount.value if amount else None,
                       currency=amount.currency if amount else None, source=Source.CHAT)
    assert deal.id is not None  # a saved deal has its id
    if Kind(p["kind"]) is Kind.ADDED:
        if p.get("note"):
            return log_on(ask, deal.id, Kind.NOTE, p["note"])
        return Reply(f"Added {bk.escape(p['company'])}", bk.deal_card(
            deal, ask.rep.tz, now, headline=f"Added *{bk.escape(p['company'])}*."))
    return apply_proposal(ask, p, deal.id)


def add_it(ack, body, respond, client, store, clock, reps, coach, settings):
    ack()
    _settle(body, respond, client, store, clock, reps, coach, settings, choice="new")


def pick_it(ack, body, respond, client, store, clock, reps, coach, settings):
    """A shared name ("Acme") asked which deal: the rep picked one of theirs, or a new deal."""
    ack()
    raw = str(body["actions"][0].get("value", ""))
    pid, _, choice = raw.partition(":")
    body = {**body, "actions": [{**body["actions"][0], "value": pid}]}
    with store.tx(team_of(body)) as tx:
        pending = tx.proposal(body["user"]["id"], int(pid)) if pid.isdigit() else None
    allowed = pending is not None and (choice == "new" or (choice.isdigit()
                                                           and int(choice) in pending[1].get("choices", [])))
    if not allowed:
        respond(text=ALREADY, replace_original=False, response_type="ephemeral")
        return
    _settle(body, respond, client, store, clock, reps, coach, settings, choice=choice)


def ignore_it(ack, body, respond, store, clock):
    ack()
    found = _take(body, store, clock, "ignored")
    if found is not None:
        respond(text="Ignored: nothing was logged.", replace_original=_alone(found[1]))
    else:
        respond(text=ALREADY, replace_original=False, response_type="ephemeral")


def edit_it(ack, body, respond, client, store, clock):
    ack()
    user = body["user"]["id"]
    try:
        pid = int(body["actions"][0].get("value", ""))
    except ValueError:
        return
    with store.tx(team_of(body)) as tx:
        found = tx.proposal(user, pid)
    if found is None or found[0] != "pending":
        respond(text=ALREADY, replace_original=False, response_type="ephemeral")
        return
    cands = DealLog(store, clock, team_of(body)).candidates(user)
    p = found[1]
    # No users.info on the way: the trigger_id expires 3 s after the click.
    client.views_open(trigger_id=body["trigger_id"], view=log_modal(
        cands, text=p.get("note", ""), deal_id=p.get("deal"), kind=Kind(p["kind"]), when=_when(p),
        company=p.get("company", ""), metadata={"proposal": pid, "response_url": body.get("response_url")}))
