"""The coach in Slack: `/deal coach`, the deal card's "Coach me" button, and the draft's own buttons.

Where drafts come from
    `/deal coach <deal> [ask|meeting|breakup]`  (no kind: `pick_kind` chooses and the reply says why)
    the "Coach me" button on deal cards          (action_id `deal:coach`, value = deal id)
    the nudger's digest buttons                  (through `send_draft` below)

Every listener acks first and drafts afterwards: Bolt runs listeners in a worker
thread once `ack()` has been called, so an LLM that takes 20 s delays the draft,
never the ack. The draft then arrives through the interaction's response_url (or,
for a button with no message behind it such as one on the App Home, as a DM).

The draft message: a headline (deal, kind, and why this kind when it was picked for
the rep), the subject line if the last exchange was an email, the message itself as
plain text (copy-friendly: no mrkdwn, no pings), the "why it works" line, a context
line "drafted from a template" when an LLM is configured but the draft came from the
templates, and the buttons

    Log as sent   `coach:log`     records the send: an ask as Kind.ASK (sets asked_at,
                                  which pauses the nudger), any other draft as Kind.TOUCH
    Shorter       `coach:shorter` redraft in that Tone, replacing the message
    Warmer        `coach:warmer`
    More direct   `coach:direct`
    Edit & log    `coach:edit`    a modal (callback `coach_edit`) with the text prefilled;
                                  submitting logs the edited version

The draft text is stored server-side as a pending proposal (`tx.save_proposal`, payload
type "draft"), because an LLM draft can't be reproduced; button values carry
`<proposal id>:<deal id>:<kind>:<tone>:<variant>` (well under Slack's 2000 chars), never
the text. A proposal is settled once ("logged" or "redrafted"), so a double click logs
once. Every lookup goes through the clicking user's id: a button on someone else's
draft or deal answers privately that it isn't theirs.

For other features (the nudger's "Draft hard-no ask" / "Draft meeting request" buttons)
------------------------------------------------------------------------------------

    send_draft(ask: Ask, deal_id: int, kind: DraftKind | str | None, deliver: Deliver,
               *, tone: Tone | str = Tone.DEFAULT) -> Reply

Drafts for the rep in `ask` (build it with `handlers.actions.ask_from(body, store, clock,
reps, client, coach, settings)`) on their deal `deal_id`; `kind` is "ask", "meeting",
"breakup", "objection" or None (pick the best kind and say why). Call it *after* `ack()`:
it may take as long as the LLM does (about 20 s at worst). The result, a `Reply` (the
draft, or a private "not yours"/"already closed" answer), is handed to `deliver(reply)`
and also returned. `deliverer(ask, respond, replace=False)` builds the usual `deliver`:
a new ephemeral message under the one with the button (replace=True replaces it), or a
DM when `respond` is None. The simplest wiring is the ready-made listener, as the card's
Coach me button has it (the digest's `digest:ask` / `digest:meeting` buttons use their own
listener in `handlers.nudger`, which also marks the digest line):

    app.action("deal:coach")(on_draft_button(None))     # value = deal id
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextActionsBlock,
    ContextBlock,
    FeedbackButtonObject,
    FeedbackButtonsElement,
    InputBlock,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from handlers import blocks as bk
from handlers.actions import ask_from, deal_id_of
from handlers.commands import NOT_YOURS, Ask, Reply, Verbs, ask_for, log_on, resolve
from handlers.domain.drafts import DraftKind, Situation, Tone, pick_kind
from handlers.domain.grammar import Command
from handlers.domain.model import Deal, Kind, Source
from handlers.views import deliver, values
from handlers.workspace import team_of

log = logging.getLogger(__name__)

Deliver = Callable[[Reply], None]

KIND_LABEL = {DraftKind.ASK: "hard-no ask", DraftKind.MEETING: "next-meeting request",
              DraftKind.BREAKUP: "last-try message", DraftKind.OBJECTION: "reply to their brush-off"}
TONE_LABEL = {Tone.SHORTER: "shorter", Tone.WARMER: "warmer", Tone.DIRECT: "more direct"}
TONE_ACTIONS = {"coach:shorter": Tone.SHORTER, "coach:warmer": Tone.WARMER, "coach:direct": Tone.DIRECT}
LOGGED_HEADLINE = {
    DraftKind.ASK: "Logged your decision ask to *{c}*. I'll hold the nudges while they think it over.",
    DraftKind.MEETING: "Logged your meeting request to *{c}*. When they pick a time, log it with *Next meeting*.",
    DraftKind.BREAKUP: "Logged your last try with *{c}*. Silence isn't a no; any answer is a decision.",
    DraftKind.OBJECTION: "Logged your reply to *{c}*. A next step or a clear no: log whichever comes back.",
}
STALE = {"logged": "That draft is already logged.",
         "redrafted": "That draft was replaced by a newer one: use the buttons on the newest draft."}
FALLBACK_NOTE = "_Drafted from a template_: the AI draft wasn't available this time."
MAX_EDIT = 3000  # plain_text_input's max_length ceiling


# --------------------------------------------------------------------------- drafting

def situation(ask: Ask, deal: Deal) -> Situation:
    """Everything the coach may use: this deal, its own history, the rep's name and zone, now."""
    history = tuple(ask.log.history(ask.rep.user_id, deal.id)) if deal.id is not None else ()
    return Situation(deal=deal, history=history, rep_name=ask.rep.name, tz=ask.rep.tz, now=ask.clock.now())


def _coach(ask: Ask) -> Any:
    if ask.coach is None:
        from handlers.coach import Coach
        return Coach(None)
    return ask.coach


def draft_reply(ask: Ask, deal_id: int, kind: DraftKind | str | None = None, tone: Tone | str = Tone.DEFAULT,
                *, variant: int | None = None, reason: str | None = None,
                on_text: Callable[[str], None] | None = None) -> Reply:
    """A draft for the rep's deal as a message with buttons (slow with an LLM: call after ack). With
    `on_text`, an LLM draft streams its text to it as it forms (handlers/coach_stream.py)."""
    deal = ask.log.deal(ask.rep.user_id, deal_id)
    if deal is None:
        return Reply(NOT_YOURS, own=False)
    name = bk.escape(bk.clip(deal.company, 200))
    if not deal.is_open:
        return Reply(f"*{name}* is already closed out ({bk.STATE_LABEL[deal.status]}), so there's nothing to "
                     "ask for. Reopen it first if it's live again.")
    s = situation(ask, deal)
    if kind is None:
        kind, reason = pick_kind(s)
    kind, tone = DraftKind(kind), Tone(tone)
    coach = _coach(ask)
    draft = coach.draft(s, kind, tone, variant, on_text) if on_text is not None else coach.draft(s, kind, tone, variant)
    payload = {"type": "draft", "deal": deal.id, "company": deal.company, "kind": draft.kind.value,
               "tone": draft.tone.value, "variant": draft.variant, "text": draft.text, "subject": draft.subject,
               "why": draft.why, "source": draft.source, "reason": reason,
               "fallback": draft.source == "template" and bool(getattr(coach, "uses_llm", False))}
    model = getattr(getattr(coach, "llm", None), "model", None)
    with ask.store.tx(ask.rep.team_id) as tx:
        pid = tx.save_proposal(ask.rep.user_id, payload, ask.clock.now())
        tx.record_draft_shown(team_id=ask.rep.team_id, user_id=ask.rep.user_id, deal_id=deal.id, proposal_id=pid,
                              kind=draft.kind.value, tone=draft.tone.value,
                              variant=str(model) if draft.source == "llm" and model else f"template {draft.variant}",
                              now=ask.clock.now())
    return Reply(f"Draft {KIND_LABEL[draft.kind]} for {name}", draft_blocks(pid, payload))


def send_draft(ask: Ask, deal_id: int, kind: DraftKind | str | None, deliver: Deliver,
               *, tone: Tone | str = Tone.DEFAULT) -> Reply:
    """Draft `kind` (None: the best kind) for the rep's deal and hand the reply to `deliver`. Call after ack()."""
    reply = draft_reply(ask, deal_id, kind, tone)
    deliver(reply)
    return reply


def _text(text: str) -> PlainTextObject:
    """Text exactly as the rep should send it: plain (no mrkdwn, no mentions), within Slack's limit."""
    return PlainTextObject(text=bk.clip(text, bk.MAX_SECTION) or " ", emoji=False)


def draft_blocks(pid: int, p: dict) -> list[Block]:
    kind, tone = DraftKind(p["kind"]), Tone(p["tone"])
    head = f"Draft for *{bk.escape(bk.clip(p['company'], 200))}*: a {KIND_LABEL[kind]}"
    head += f" ({TONE_LABEL[tone]})." if tone in TONE_LABEL else "."
    if p.get("reason"):
        head += f"\n_Why this kind:_ {bk.escape(p['reason'])}"
    blocks: list[Block] = [SectionBlock(text=bk.md(head))]
    if p.get("subject"):
        blocks.append(SectionBlock(text=_text(f"Subject: {p['subject']}")))
    blocks.append(SectionBlock(text=_text(p["text"])))
    notes = [bk.md(f"*Why it works:* {bk.escape(bk.clip(p['why'], 1500))}")]
    if p.get("fallback"):
        notes.append(bk.md(FALLBACK_NOTE))
    blocks.append(ContextBlock(elements=notes))
    value = f"{pid}:{p['deal']}:{kind.value}:{tone.value}:{p.get('variant', 0)}"
    blocks.append(ActionsBlock(block_id=f"coach:{pid}", elements=[
        bk.button("Log as sent", "coach:log", value, "primary"),
        bk.button("Shorter", "coach:shorter", value),
        bk.button("Warmer", "coach:warmer", value),
        bk.button("More direct", "coach:direct", value),
        bk.button("Edit & log", "coach:edit", value),
    ]))
    blocks.append(ContextBlock(elements=[bk.md("Copy it, send it yourself, then click *Log as sent* "
                                               "so I know it went out.")]))
    blocks.append(feedback_block(pid))
    return blocks


def feedback_block(pid: int) -> Block:
    """Thumbs up / down on this draft (Slack's feedback buttons), counted in `hardno coach report`."""
    return ContextActionsBlock(block_id=f"coach:fb:{pid}", elements=[FeedbackButtonsElement(
        action_id="coach:feedback",
        positive_button=FeedbackButtonObject(text="Good draft", value=f"{pid}:up",
                                             accessibility_label="This draft is good"),
        negative_button=FeedbackButtonObject(text="Not useful", value=f"{pid}:down",
                                             accessibility_label="This draft is not useful"))])


# --------------------------------------------------------------------------- delivering

def can_respond(respond: Respond | None) -> bool:
    """Whether `respond` can answer: Bolt hands a Respond without a URL to e.g. App Home buttons."""
    return respond is not None and getattr(respond, "response_url", True) is not None


def deliverer(ask: Ask, respond: Respond | None = None, *, replace: bool = False) -> Deliver:
    """How a reply reaches the rep: through `respond` (a new ephemeral message, or replacing the
    message with the button when `replace`), or as a DM when there is no response_url.
    Replies that aren't the rep's own (`Reply.own` False) are always private and never replace."""

    def deliver(reply: Reply) -> None:
        if respond is None or not can_respond(respond):
            ask.client.chat_postMessage(channel=ask.reps.dm_channel(ask.rep), text=reply.text,
                                        blocks=bk.as_dicts(reply.blocks))
        elif not reply.own:
            respond(text=reply.text, response_type="ephemeral", replace_original=False)
        elif replace:
            respond(text=reply.text, blocks=bk.as_dicts(reply.blocks), replace_original=True)
        else:
            respond(text=reply.text, blocks=bk.as_dicts(reply.blocks), response_type="ephemeral",
                    replace_original=False)

    return deliver


def on_draft_button(kind: DraftKind | str | None) -> Callable[..., None]:
    """A Bolt listener for a button whose value is a deal id: drafts `kind` as a follow-up message."""
    def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
                 store: Any, clock: Any, reps: Any, coach: Any, settings: Any) -> None:
        ack()
        ask = ask_from(body, store, clock, reps, client, coach, settings)
        send_draft(ask, deal_id_of(action), kind, deliverer(ask, respond))

    listener.__name__ = f"draft_{kind or 'best'}_button"
    return listener


# --------------------------------------------------------------------------- listeners

def register(app: App, verbs: Verbs) -> None:
    verbs["coach"] = coach_command
    app.action("deal:coach")(on_draft_button(None))
    app.action("coach:log")(log_sent)
    for action_id in TONE_ACTIONS:
        app.action(action_id)(redraft)
    app.action("coach:edit")(edit_draft)
    app.action("coach:feedback")(rate)
    app.view("coach_edit")(submit_edit)


def coach_command(ask: Ask, cmd: Command) -> Reply:
    """`/deal coach <deal> [kind]`. Runs after the slash command's ack, so a slow LLM only delays the reply."""
    target = resolve(ask, cmd)
    if isinstance(target, Reply):
        return target
    return draft_reply(ask, target.id, cmd.option)


def _pid(action: dict[str, Any]) -> int:
    head = (action.get("value") or "").split(":", 1)[0]
    return int(head) if head.isdigit() else 0


def _take(ask: Ask, pid: int, state: str) -> tuple[dict | None, str | None]:
    """(payload, None) after settling the rep's pending draft to `state`; (None, why not) otherwise."""
    with ask.store.tx(ask.rep.team_id) as tx:
        found = tx.proposal(ask.rep.user_id, pid) if pid else None
        if found is None or found[1].get("type") != "draft":
            return None, NOT_YOURS
        if not tx.settle_proposal(ask.rep.user_id, pid, state):
            return None, STALE.get(found[0], "That draft was already handled.")
    return found[1], None


def log_draft(ask: Ask, p: dict, text: str, subject: str | None) -> Reply:
    """Record a sent draft: an ask as Kind.ASK (pauses the nudger), anything else as Kind.TOUCH."""
    kind = DraftKind(p["kind"])
    note = f"Email · Subject: {subject}\n\n{text}" if subject else text
    ask.source = Source.COACH
    deal = ask.log.deal(ask.rep.user_id, int(p["deal"]))
    reply = log_on(ask, int(p["deal"]), Kind.ASK if kind is DraftKind.ASK else Kind.TOUCH, note,
                   headline=LOGGED_HEADLINE[kind])
    if deal is None or not deal.is_open or not reply.own:
        return reply  # not theirs, or already closed out: log_on says so
    sent = [SectionBlock(text=_text(f"Subject: {subject}"))] if subject else []
    sent.append(SectionBlock(text=_text(text)))
    return Reply(reply.text, reply.blocks[:1] + sent + reply.blocks[1:])


def log_sent(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
             store: Any, clock: Any, reps: Any, coach: Any, settings: Any) -> None:
    ack()
    ask = ask_from(body, store, clock, reps, client, coach, settings, source=Source.COACH)
    deliver = deliverer(ask, respond, replace=True)
    p, why_not = _take(ask, _pid(action), "logged")
    if p is None:
        deliver(Reply(why_not or NOT_YOURS, own=False))
        return
    with store.tx(ask.rep.team_id) as tx:
        tx.mark_draft_sent(ask.rep.user_id, _pid(action), clock.now())
    deliver(log_draft(ask, p, p["text"], p.get("subject")))


def rate(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, store: Any, clock: Any) -> None:
    """A thumbs up or down on a draft: counted only when the draft is the clicking rep's own."""
    ack()
    pid, _, rating = str(action.get("value") or "").partition(":")
    with store.tx(team_of(body)) as tx:
        counted = (pid.isdigit() and rating in ("up", "down")
                   and tx.rate_draft(body["user"]["id"], int(pid), rating, clock.now()))
    if not counted and can_respond(respond):
        respond(text="That draft isn't one of yours, so your rating wasn't counted.", response_type="ephemeral",
                replace_original=False)


def redraft(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
            store: Any, clock: Any, reps: Any, coach: Any, settings: Any) -> None:
    ack()
    ask = ask_from(body, store, clock, reps, client, coach, settings)
    deliver = deliverer(ask, respond, replace=True)
    p, why_not = _take(ask, _pid(action), "redrafted")
    if p is None:
        deliver(Reply(why_not or NOT_YOURS, own=False))
        return
    deliver(draft_reply(ask, int(p["deal"]), p["kind"], TONE_ACTIONS[action["action_id"]],
                        variant=p.get("variant"), reason=p.get("reason")))


def _field(block_id: str, label: str, initial: str, max_length: int, *, multiline: bool = False,
           optional: bool = False) -> InputBlock:
    return InputBlock(block_id=block_id, label=bk.plain(label), optional=optional,
                      element=PlainTextInputElement(action_id="v", initial_value=initial[:max_length] or None,
                                                    multiline=multiline, max_length=max_length))


def edit_modal(pid: int, p: dict, origin: dict) -> dict:
    kind = DraftKind(p["kind"])
    blocks: list[Block] = [SectionBlock(text=bk.md(
        f"Your {KIND_LABEL[kind]} to *{bk.escape(bk.clip(p['company'], 200))}*. Edit it, send it, "
        "then log it here: I'll record exactly this version."))]
    if p.get("subject"):
        blocks.append(_field("subject", "Subject", p["subject"], 200, optional=True))
    blocks.append(_field("text", "Message", p["text"], MAX_EDIT, multiline=True))
    return View(type="modal", callback_id="coach_edit", title=bk.plain("Edit & log", 24),
                submit=bk.plain("Log as sent"), close=bk.plain("Cancel"),
                private_metadata=json.dumps({"proposal": pid, **origin})[:3000], blocks=blocks).to_dict()


def edit_draft(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient,
               store: Any, clock: Any, reps: Any, coach: Any, settings: Any) -> None:
    ack()  # the modal must open within 3 s of the click: only a quick lookup before it
    user, pid = body["user"]["id"], _pid(action)
    with store.tx(team_of(body)) as tx:
        found = tx.proposal(user, pid) if pid else None
    problem = (NOT_YOURS if found is None or found[1].get("type") != "draft" else
               STALE.get(found[0], "That draft was already handled.") if found[0] != "pending" else None)
    if problem or found is None:
        if can_respond(respond):
            respond(text=problem or NOT_YOURS, response_type="ephemeral", replace_original=False)
        return
    origin = {"response_url": body["response_url"]} if body.get("response_url") else {}
    client.views_open(trigger_id=body["trigger_id"], view=edit_modal(pid, found[1], origin))


def submit_edit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, store: Any, clock: Any,
                reps: Any, coach: Any, settings: Any) -> None:
    v = values(view)
    text = str(v.get("text") or "").strip()
    if not text:
        ack(response_action="errors", errors={"text": "Write the message you sent (or Cancel)."})
        return
    meta = json.loads(view.get("private_metadata") or "{}")
    pid = meta.get("proposal") if isinstance(meta.get("proposal"), int) else 0
    user = body["user"]["id"]
    with store.tx(team_of(body)) as tx:
        found = tx.proposal(user, pid) if pid else None
        problem = (NOT_YOURS if found is None or found[1].get("type") != "draft" else
                   None if tx.settle_proposal(user, pid, "logged") else
                   STALE.get(found[0], "That draft was already handled."))
        if problem is None:
            tx.mark_draft_sent(user, pid, clock.now())
    if problem or found is None:
        ack(response_action="errors", errors={"text": problem or NOT_YOURS})
        return
    ack()
    ask = ask_for(body["user"], store=store, clock=clock, reps=reps, client=client, coach=coach,
                  settings=settings, source=Source.COACH, team=team_of(body))
    subject = " ".join(str(v.get("subject") or "").split()) or None
    reply = log_draft(ask, found[1], text, subject)
    deliver(client, reps, ask.rep, reply, {k: meta[k] for k in ("response_url",) if meta.get(k)})
