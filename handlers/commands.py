"""`/deal`: parse the text, call the deal log, answer ephemerally with Block Kit.

Verbs that belong to other features (coach, board, settings, export, forget) are added by each
feature's `register(app, verbs)` (handlers/__init__.py); the router reads `verbs` from the Bolt context.

Decisions:
- A decision (won, no, drop) on a fuzzy reference (part of a name; not the `#id`, the whole name or
  the name without its legal form) asks first, with one button, so that a stray word never closes a
  deal ("Monsters Inc" was once closed by `/deal won inc`; a legal form alone now matches nothing).
- `/deal add` of a company that already has an open deal shows that deal's card and an
  **Add anyway** button (`deal:add_anyway`) instead of silently making a duplicate.
- Every reply that echoes what the rep typed escapes it, in the blocks and in the fallback `text`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from slack_bolt import App
from slack_sdk.models.blocks import ActionsBlock, Block

from handlers import blocks as bk
from handlers.deal_log import VERB_KIND, DealLog
from handlers.domain.amounts import Amount
from handlers.domain.grammar import (
    HELP_ALIASES,
    HELP_TERMS,
    HELP_TITLE,
    MEANING,
    USAGE,
    Command,
    Usage,
    help_entries,
    parse_command,
)
from handlers.domain.model import Kind, Rep, Source
from handlers.domain.refs import Candidate, exact, legal_form_only, same_company
from handlers.domain.when import describe
from handlers.modals import add_deal_modal

DECISIONS = frozenset({"won", "no", "drop"})  # closing verbs: a fuzzy reference asks before them
DECIDED = {"won": "won", "no": "a hard no", "drop": "dropped"}


@dataclass
class Reply:
    text: str  # the notification / fallback text (already escaped where it holds user text)
    blocks: list[Block] = field(default_factory=list)  # none given: the text as one section
    own: bool = True  # False: the rep acted on something that isn't theirs; answer privately

    def __post_init__(self) -> None:
        if not self.blocks:
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
    respond: Callable[..., Any] | None = None  # for subcommands whose answer comes later (e.g. the coach)


NOT_YOURS = "That deal isn't one of yours (or no longer exists), so I left it alone."

Handler = Callable[[Ask, Command], "Reply | None"]
Verbs = dict[str, Handler]  # the `/deal` verbs of other features, by verb


def register(app: App, verbs: Verbs) -> None:
    app.command("/deal")(deal_command)


def ask_for(user: dict[str, Any], *, store: Any, clock: Any, reps: Any, client: Any, coach: Any, settings: Any,
            team: str | None = None, **kw: Any) -> Ask:
    """An Ask for the Slack user in a payload (`{"id": ..., "team_id": ...}`), as a rep of the workspace
    `team` (the request's, `handlers.workspace.team_of`; default: the user's own team id)."""
    rep = reps.get(user["id"], team or user.get("team_id", ""))
    log = DealLog(store, clock, rep.team_id)  # this rep's workspace, bound for every query the Ask makes
    return Ask(rep, log, clock, client, store, coach, settings, reps=reps, **kw)


def deal_command(ack: Any, command: dict[str, Any], respond: Any, client: Any, store: Any, clock: Any, reps: Any,
                 coach: Any, settings: Any, turn: Any, verbs: Verbs) -> None:
    ack()
    with turn or nullcontext():  # after the rep's earlier commands (bot/ordering.py)
        _deal_command(command, respond, client, store, clock, reps, coach, settings, verbs)


def _deal_command(command: dict[str, Any], respond: Any, client: Any, store: Any, clock: Any, reps: Any,
                  coach: Any, settings: Any, verbs: Verbs) -> None:
    text = (command.get("text") or "").strip()
    if text.lower() in ("add", "new", "create"):  # a modal must open within 3 s of the trigger: nothing slow
        client.views_open(trigger_id=command["trigger_id"], view=add_deal_modal())
        return
    ask = ask_for({"id": command["user_id"], "team_id": command.get("team_id", "")}, store=store, clock=clock,
                  reps=reps, client=client, coach=coach, settings=settings,
                  channel_id=command.get("channel_id", ""), respond=respond)
    reply = run(ask, text, verbs)
    if reply is not None:
        respond(text=reply.text, blocks=bk.as_dicts(reply.blocks), response_type="ephemeral")


def run(ask: Ask, text: str, verbs: Verbs) -> Reply | None:
    """The answer to `/deal <text>` for this rep (None when the answer is sent later)."""
    companies = [c.company for c in ask.log.candidates(ask.rep.user_id)]
    cmd = parse_command(text, ask.rep.tz, ask.clock.now(), companies)
    if isinstance(cmd, Usage):  # it may echo what the rep typed: no pings, no links
        return Reply(bk.entities(cmd.message) + ("\n\n" + help_text() if cmd.full_help else ""))
    handler = verbs.get(cmd.verb) or VERBS.get(cmd.verb)
    if handler is None:
        return Reply(f"`/deal {cmd.verb}` isn't available yet.")
    return handler(ask, cmd)


# -- the deal log's own verbs ------------------------------------------------

def help_text() -> str:
    """The full /deal help in Slack mrkdwn, from the grammar's plain data; `<deal>` shows literally."""
    lines = [f"*{HELP_TITLE}*"]
    lines += [f"`{usage}`  {meaning}" for usage, meaning in help_entries()]
    lines += [f"`{term}`: {what}: " + ", ".join(f"`{e}`" for e in examples) + "."
              for term, what, examples in HELP_TERMS]
    lines.append("Also: " + ", ".join(f"`{short}` = {verb}" for short, verb in HELP_ALIASES) + ".")
    return bk.entities("\n".join(lines))


def do_help(ask: Ask, cmd: Command) -> Reply:
    if cmd.option in USAGE:  # `/deal help meet`: just that one
        return Reply(bk.entities(f"`{USAGE[cmd.option]}`  {MEANING[cmd.option]}\n`/deal help` lists everything."))
    return Reply(help_text())


def do_add(ask: Ask, cmd: Command, anyway: bool = False) -> Reply:
    """Add the deal, unless the rep already has an open one for that company (then: its card, and a
    button to add this one anyway)."""
    if not anyway and cmd.company:
        same = [c for c in ask.log.candidates(ask.rep.user_id) if c.open and same_company(c.company, cmd.company)]
        existing = ask.log.deal(ask.rep.user_id, same[0].id) if same else None
        if existing is not None:
            return _duplicate(ask, cmd, existing)
    amount = cmd.amount
    deal = ask.log.add(ask.rep.user_id, ask.rep.team_id, cmd.company or "", amount=amount.value if amount else None,
                       currency=amount.currency if amount else None, when=cmd.when, contact=cmd.contact,
                       stage=cmd.stage, note=cmd.note, source=ask.source)
    understood = [f"amount {bk.escape(bk.amount_text(deal))}"] if amount else []
    if cmd.when:
        understood.append(f"next meeting: {describe(cmd.when, ask.rep.tz, ask.clock.now())}")
    head = f"Added *{bk.escape(bk.clip(deal.company, 200))}*" + (f" ({'; '.join(understood)})" if understood else "")
    return Reply(head, bk.deal_card(deal, ask.rep.tz, ask.clock.now(), headline=head + "."))


def _duplicate(ask: Ask, cmd: Command, existing: Any) -> Reply:
    amount = cmd.amount
    with ask.store.tx(ask.rep.team_id) as tx:
        pending = tx.save_proposal(ask.rep.user_id, {
            "type": "add", "company": cmd.company, "amount": str(amount.value) if amount else None,
            "currency": amount.currency if amount else None, "when": cmd.when.isoformat() if cmd.when else None,
            "contact": cmd.contact, "stage": cmd.stage, "note": cmd.note, "source": ask.source.value},
            ask.clock.now())
    name = bk.escape(bk.clip(existing.company, 200))
    head = (f"You already have an open deal for *{name}* (#{existing.id}), so I didn't add another. "
            "Log news on it below, or add a second deal anyway.")
    blocks = bk.deal_card(existing, ask.rep.tz, ask.clock.now(), headline=head)
    blocks.append(ActionsBlock(elements=[bk.button("Add anyway", "deal:add_anyway", str(pending))]))
    return Reply(head, blocks)


def add_command(p: dict[str, Any]) -> Command:
    """The `/deal add` a saved "add anyway" proposal holds."""
    amount = Amount(Decimal(p["amount"]), p.get("currency")) if p.get("amount") else None
    return Command("add", company=p["company"], amount=amount,
                   when=datetime.fromisoformat(p["when"]) if p.get("when") else None,
                   contact=p.get("contact"), stage=p.get("stage"), note=p.get("note") or "")


def do_list(ask: Ask, cmd: Command) -> Reply:
    """`/deal list [open|maybes|closed|all]`: grouped as the digest judges them (see domain.pipeline)."""
    which = cmd.option or "open"
    p = ask.log.pipeline(ask.rep, which)
    out: list[bk.Block] = [bk.HeaderBlock(text=bk.plain(f"Your deals ({which})"))]
    out += bk.pipeline_sections(p, ask.rep.tz, ask.clock.now(), open_groups=which != "closed",  # closed: never
                                closed_title="Closed out" if which in ("closed", "all") else None)
    if p.total == 0:
        out.append(bk.ContextBlock(elements=[bk.md("Nothing here yet. Add one: `/deal add Acme $12k next:dec 3`")]))
    return Reply(f"Your deals: {p.total}", out)


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
    if cmd.verb in DECISIONS and not exact(cmd.ref or "", target):
        return _confirm(ask, cmd, target)
    if cmd.verb == "reopen" and target.open:
        return Reply(f"*{bk.escape(bk.clip(target.company, 200))}* is already open; nothing changed.")
    kind = VERB_KIND[cmd.verb]
    return log_on(ask, target.id, kind, cmd.note, cmd.when)


def _confirm(ask: Ask, cmd: Command, target: Candidate) -> Reply:
    """A decision on a fuzzy reference: ask with one button (the picker's, so the click finishes it)."""
    pending = _pending_verb(ask, cmd)
    ref, name = bk.escape(bk.clip(cmd.ref or "", 100)), bk.escape(bk.clip(target.company, 200))
    prompt = (f"“{ref}” is part of *{name}* (#{target.id}). Mark *{name}* {DECIDED[cmd.verb]}? "
              f"Nothing changes until you click.")
    label = f"Yes, {target.company} is {DECIDED[cmd.verb]}"
    return Reply(prompt, bk.pick_deal(prompt, [(label, f"{pending}:{target.id}")], "pick"))


def _pending_verb(ask: Ask, cmd: Command) -> int:
    with ask.store.tx(ask.rep.team_id) as tx:
        pending: int = tx.save_proposal(ask.rep.user_id, {
            "type": "verb", "verb": cmd.verb, "note": cmd.note,
            "when": cmd.when.isoformat() if cmd.when else None, "option": cmd.option}, ask.clock.now())
    return pending


def log_on(ask: Ask, deal_id: int, kind: Kind, note: str = "", when: datetime | None = None,
           headline: str | None = None) -> Reply:
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
    elif kind is Kind.MEETING and when is not None:
        head = f"Next meeting with *{name}*: {describe(when, tz, now)}. A meeting with a next meeting is a real deal."
    elif kind is Kind.SNOOZE and when is not None:
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
    if not found and legal_form_only(cmd.ref or ""):
        return Reply(f"“{ref}” is only a legal form, which names no deal. Give more of the company's name, "
                     "or its `#id`.")
    if not found:
        return Reply(f"No deal of yours matches “{ref}”. {_what_there_is(ask, reopening=cmd.verb == 'reopen')}")
    pending = _pending_verb(ask, cmd)
    choices = [(f"{c.company} (#{c.id})" + ("" if c.open else " closed"), f"{pending}:{c.id}")
               for c in found[:24]]
    more = " Here are the first 24; type more of the name to narrow it." if len(found) > 24 else ""
    return Reply(f"“{ref}” matches {len(found)} of your deals. Which one?",
                 bk.pick_deal(f"“{ref}” matches {len(found)} of your deals. Which one did you mean?{more}",
                              choices, "pick"))


def _what_there_is(ask: Ask, *, reopening: bool) -> str:
    """The deals the rep could have meant: the closed ones for `reopen` (only those can be reopened)."""
    names = [c.company for c in ask.log.candidates(ask.rep.user_id) if c.open != reopening][:10]
    if names:
        return f"Your {'closed' if reopening else 'open'} deals: " + ", ".join(bk.escape(bk.clip(n, 60)) for n in names)
    return "You have no closed deals to reopen." if reopening else "You have no open deals yet: `/deal add Acme $12k`."


VERBS: dict[str, Handler] = {
    "help": do_help, "add": do_add, "list": do_list,
    **{v: log_verb for v in ("maybe", "touch", "meet", "won", "no", "drop", "reopen", "snooze")},
}
