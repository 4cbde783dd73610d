"""`/deal`: parse the text, call the deal log, answer ephemerally with Block Kit.

Subcommands that belong to other features (coach, board, settings, export)
register themselves with `@subcommand("verb")`, so this module stays the router.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from slack_bolt import App

from handlers import blocks as bk
from handlers.deal_log import VERB_KIND, DealLog
from handlers.domain.grammar import MEANING, USAGE, Command, Usage, help_text, parse_command
from handlers.domain.model import Kind, Rep, Source
from handlers.domain.refs import Candidate
from handlers.domain.when import describe


@dataclass
class Reply:
    text: str  # the notification / fallback text
    blocks: list = None
    own: bool = True  # False: the rep acted on something that isn't theirs; answer privately

    def __post_init__(self):
        if self.blocks is None:
            self.blocks = bk.text_reply(self.text)


@dataclass
class Ask:
    """One `/deal` (or button) request, with what handlers need to answer it."""

    rep: Rep
    log: DealLog
    clock: Any
    client: Any
    store: Any
    coach: Any
    settings: Any
    reps: Any = None
    channel_id: str = ""
    source: Source = Source.COMMAND
    respond: Callable | None = None  # for subcommands whose answer comes later (e.g. the coach)


NOT_YOURS = "That deal isn't one of yours (or no longer exists), so I left it alone."

SUBCOMMANDS: dict[str, Callable[[Ask, Command], Reply | None]] = {}


def subcommand(verb: str):
    def register(fn):
        SUBCOMMANDS[verb] = fn
        return fn
    return register


def register(app: App) -> None:
    app.command("/deal")(deal_command)


def ask_for(user: dict, *, store, clock, reps, client, coach, settings, **kw) -> Ask:
    """An Ask for the Slack user in a payload (`{"id": ..., "team_id": ...}`)."""
    rep = reps.get(user["id"], user.get("team_id", ""))
    return Ask(rep, DealLog(store, clock), clock, client, store, coach, settings, reps=reps, **kw)


def deal_command(ack, command, respond, client, store, clock, reps, coach, settings, turn):
    ack()
    with turn or nullcontext():  # after the rep's earlier commands (bot/ordering.py)
        _deal_command(command, respond, client, store, clock, reps, coach, settings)


def _deal_command(command, respond, client, store, clock, reps, coach, settings):
    text = (command.get("text") or "").strip()
    if text.lower() in ("add", "new", "create"):
        from handlers.views import add_deal_modal  # a modal must open within 3 s of the trigger: nothing slow
        client.views_open(trigger_id=command["trigger_id"], view=add_deal_modal())
        return
    ask = ask_for({"id": command["user_id"], "team_id": command.get("team_id", "")}, store=store, clock=clock,
                  reps=reps, client=client, coach=coach, settings=settings,
                  channel_id=command.get("channel_id", ""), respond=respond)
    reply = run(ask, text)
    if reply is not None:
        respond(text=reply.text, blocks=bk.as_dicts(reply.blocks), response_type="ephemeral")


def run(ask: Ask, text: str) -> Reply | None:
    """The answer to `/deal <text>` for this rep (None when the answer is sent later)."""
    companies = [c.company for c in ask.log.candidates(ask.rep.user_id)]
    cmd = parse_command(text, ask.rep.tz, ask.clock.now(), companies)
    if isinstance(cmd, Usage):  # it may echo what the rep typed: no pings, no links
        return Reply(bk.entities(cmd.message))
    handler = SUBCOMMANDS.get(cmd.verb) or VERBS.get(cmd.verb)
    if handler is None:
        return Reply(f"`/deal {cmd.verb}` isn't available yet.")
    return handler(ask, cmd)


# -- the deal log's own verbs ------------------------------------------------

def do_help(ask: Ask, cmd: Command) -> Reply:
    if cmd.option in USAGE:  # `/deal help meet`: just that one
        return Reply(bk.entities(f"`{USAGE[cmd.option]}`  {MEANING[cmd.option]}\n`/deal help` lists everything."))
    return Reply(bk.entities(help_text()))


def do_add(ask: Ask, cmd: Command) -> Reply:
    amount = cmd.amount
    deal = ask.log.add(ask.rep.user_id, ask.rep.team_id, cmd.company, amount=amount and amount.value,
                       currency=amount and amount.currency, when=cmd.when, contact=cmd.contact,
                       stage=cmd.stage, note=cmd.note, source=ask.source)
    understood = [f"amount {bk.escape(bk.amount_text(deal))}"] if amount else []
    if cmd.when:
        understood.append(f"next meeting: {describe(cmd.when, ask.rep.tz, ask.clock.now())}")
    head = f"Added *{bk.escape(bk.clip(deal.company, 200))}*" + (f" ({'; '.join(understood)})" if understood else "")
    return Reply(head, bk.deal_card(deal, ask.rep.tz, ask.clock.now(), headline=head + "."))


def do_list(ask: Ask, cmd: Command) -> Reply:
    which = cmd.option or "open"
    p = ask.log.pipeline(ask.rep.user_id, which)
    tz, now = ask.rep.tz, ask.clock.now()

    def lines(deals):
        return [bk.deal_line(d, tz, now) for d in deals]

    out = [bk.HeaderBlock(text=bk.plain(f"Your deals ({which})"))]
    if which != "closed":  # closed deals never need a decision
        out += bk.section_lines(f"Needs a decision ({len(p.needs_decision)})", lines(p.needs_decision))
    if which != "maybes":
        if which != "closed":
            out += bk.section_lines(f"Open, on track ({len(p.open)})", lines(p.open))
        if which in ("closed", "all"):
            out += bk.section_lines(f"Closed out ({len(p.closed)})", lines(p.closed))
    total = len(p.needs_decision) + len(p.open) + len(p.closed)
    if total == 0:
        out.append(bk.ContextBlock(elements=[bk.md("Nothing here yet. Add one: `/deal add Acme $12k next:dec 3`")]))
    return Reply(f"Your deals: {total}", out)


_HEADLINES = {
    Kind.MAYBE: "Logged a maybe on *{c}* (maybe number {n}). A maybe isn't a decision: `/deal coach {r}` drafts a polite ask for one.",
    Kind.TOUCH: "Logged an unanswered try on *{c}* ({t} in a row). Silence isn't a no: keep trying.",
    Kind.WON: "*{c}* is won. Congratulations! :tada:",
    Kind.NO: "*{c}* is closed out with a hard no. A clear answer frees your time for buyers who decide.",
    Kind.DROP: "*{c}* is dropped. Saying no yourself when it isn't a fit is a decision too.",
    Kind.REOPEN: "*{c}* is open again.",
    Kind.NOTE: "Noted on *{c}*.",
    Kind.ASK: "Logged your decision ask to *{c}*. I'll hold the nudges while they think it over.",
}


def log_verb(ask: Ask, cmd: Command) -> Reply | None:
    target = resolve(ask, cmd)
    if isinstance(target, Reply):
        return target
    kind = VERB_KIND[cmd.verb]
    return log_on(ask, target.id, kind, cmd.note, cmd.when)


def log_on(ask: Ask, deal_id: int, kind: Kind, note: str = "", when=None, headline: str | None = None) -> Reply:
    """Log `kind` on one of the rep's deals and show the updated card (under `headline` if given)."""
    done = ask.log.log(ask.rep.user_id, deal_id, kind, note, when=when, source=ask.source)
    if done is None:
        return Reply(NOT_YOURS, own=False)
    deal, tz, now = done.deal, ask.rep.tz, ask.clock.now()
    name = bk.escape(bk.clip(deal.company, 200))
    if done.double_click:
        head = f"Already logged that on *{name}* a moment ago; I counted it once."
    elif done.already_closed:
        head = f"*{name}* is already closed out ({bk.STATE_LABEL[deal.status]}); nothing changed. Reopen it first if it's live again."
    elif kind is Kind.MEETING:
        head = f"Next meeting with *{name}*: {describe(when, tz, now)}. A meeting with a next meeting is a real deal."
    elif kind is Kind.SNOOZE:
        head = f"No nudges about *{name}* until {describe(when, tz, now)}."
    elif headline:
        head = headline.format(c=name)
    else:
        head = _HEADLINES[kind].format(c=name, n=deal.maybe_count, t=deal.touches_since_answer,
                                       r=f"#{deal.id}")
    return Reply(head, bk.deal_card(deal, tz, now, headline=head))


def resolve(ask: Ask, cmd: Command) -> Candidate | Reply:
    """The one deal `cmd.ref` names, or a reply: none matches, or buttons to pick among several."""
    found = ask.log.find(ask.rep.user_id, cmd.ref or "")
    if len(found) == 1:
        return found[0]
    ref = bk.escape(bk.clip(cmd.ref or "", 100))
    if not found:
        open_names = [c.company for c in ask.log.candidates(ask.rep.user_id) if c.open][:10]
        hint = ("Your open deals: " + ", ".join(bk.escape(bk.clip(n, 60)) for n in open_names)
                if open_names else "You have no open deals yet: `/deal add Acme $12k`.")
        return Reply(f"No deal of yours matches “{ref}”. {hint}")
    with ask.store.tx() as tx:
        pending = tx.save_proposal(ask.rep.user_id, {"type": "verb", "verb": cmd.verb, "note": cmd.note,
                                                     "when": cmd.when.isoformat() if cmd.when else None,
                                                     "option": cmd.option}, ask.clock.now())
    choices = [(f"{c.company} (#{c.id})" + ("" if c.open else " closed"), f"{pending}:{c.id}")
               for c in found[:24]]
    more = " Here are the first 24; type more of the name to narrow it." if len(found) > 24 else ""
    return Reply(f"“{ref}” matches {len(found)} of your deals. Which one?",
                 bk.pick_deal(f"“{ref}” matches {len(found)} of your deals. Which one did you mean?{more}",
                              choices, "pick"))


VERBS: dict[str, Callable[[Ask, Command], Reply | None]] = {
    "help": do_help, "add": do_add, "list": do_list,
    **{v: log_verb for v in ("maybe", "touch", "meet", "won", "no", "drop", "snooze")},
}
