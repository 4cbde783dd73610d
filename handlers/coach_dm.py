"""The coach in the rep's DM: answers what `handlers.domain.coach_intent` read from a line.

handlers/events.py routes a DM here: draft and practice requests before the chat parser, and what the
parser calls chatter after it. Every answer uses only the asking rep's own deals (through their
`Ask`), and goes where the rep asked: into the thread for a line in a thread (Slack's assistant view
always threads), else the DM itself.

- Drafts: exactly `/deal coach <deal> [kind]` (handlers/coaching.py `draft_reply`, same buttons and
  feedback); with an LLM the draft streams into the thread as it forms (handlers/coach_stream.py) and
  falls back to a plain post when streaming is not available.
- Pipeline questions: `handlers.domain.coach_answers` over `DealLog.pipeline` (what /deal list and the
  digest use), each deal with a button for the draft its stall suggests.
- Situations ("how do I answer 'send me some info'?"): the LLM with prompts/coach_question.md (the
  question fenced as data, only this rep's open deals), checked for pressure phrases; without an LLM,
  or when it fails, the template reply for that brush-off with the playbook's reasoning.
- Practice: the drill (handlers/practice.py, another feature) is imported only when asked for.
- Anything else: what the coach can do, plainly, and how (with or without an LLM).

In Slack's assistant view, `assistant_thread_started` sets the suggested prompts and every answer
sets a status while it works ("is thinking…"); a workspace without the feature answers those methods
with an error, and the same prompts then arrive as a plain message.
"""

from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, Say
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ActionsBlock, Block, ContextBlock, SectionBlock

import prompts
from handlers import blocks as bk
from handlers.coach_stream import DraftStream
from handlers.coaching import draft_reply, on_draft_button
from handlers.commands import Ask, Reply, ask_for, resolve
from handlers.domain.coach_answers import PIPELINE_WANTS, pipeline_answer
from handlers.domain.coach_intent import Intent, Want
from handlers.domain.drafts import BRUSHOFF_KEYS, BRUSHOFF_LABELS, safety_problems, word_count
from handlers.domain.grammar import Command
from handlers.domain.templates import brushoff_example

log = logging.getLogger(__name__)

SUGGESTED_PROMPTS = (
    {"title": "What's stuck?", "message": "What's stuck?"},
    {"title": "Which deals need an ask?", "message": "Which deals need an ask?"},
    {"title": "Answer “send me some info”", "message": "How do I answer 'send me some info'?"},
    {"title": "Practice a brush-off", "message": "Let's practice"},
)
WELCOME = "Hi! I'm your coach. Ask me about your pipeline, ask for a draft, or rehearse a brush-off."
THINKING = "is thinking…"
DRAFTING = "is drafting…"
MAX_ANSWER_WORDS = 220
MAX_LINES = 15


@dataclass(frozen=True)
class Where:
    """Where the rep asked: the DM channel, the thread (None: the DM itself) and the message's ts."""

    channel: str
    thread_ts: str | None
    ts: str


def ask_of(event: dict[str, Any], team: str, client: Any, store: Any, clock: Any, reps: Any, coach: Any,
           settings: Any) -> Ask:
    """The Ask of the event's sender in the workspace `team` (Bolt's reading of the payload)."""
    return ask_for({"id": event["user"], "team_id": team}, store=store, clock=clock, reps=reps,
                   client=client, coach=coach, settings=settings)


def say_for(ask: Ask, where: Where) -> Say:
    """A plain `say` into the rep's thread (Bolt's assistant `say` would look up thread context first)."""
    return Say(ask.client, channel=where.channel, thread_ts=where.thread_ts)


def post(ask: Ask, where: Where, reply: Reply) -> None:
    kwargs = {"thread_ts": where.thread_ts} if where.thread_ts else {}
    ask.client.chat_postMessage(channel=where.channel, text=reply.text, blocks=bk.as_dicts(reply.blocks), **kwargs)


def set_status(ask: Ask, where: Where, status: str) -> None:
    """The assistant view's "is thinking…" under the thread; quietly nothing where the feature isn't offered."""
    if not where.thread_ts:
        return
    try:
        ask.client.assistant_threads_setStatus(channel_id=where.channel, thread_ts=where.thread_ts, status=status)
    except SlackApiError as e:
        log.debug("coach: no assistant status here (%s)", e.response.get("error"))


# --------------------------------------------------------------------------- answering

def answer(ask: Ask, intent: Intent, where: Where) -> None:
    """Answer one coach intent in the rep's DM (after the event's ack: may take as long as the LLM)."""
    if intent.want is Want.DRAFT:
        draft(ask, intent, where)
    elif intent.want is Want.PRACTICE:
        practice(ask, intent, where)
    elif intent.want in PIPELINE_WANTS:
        set_status(ask, where, THINKING)
        post(ask, where, pipeline_reply(ask, intent.want))
    elif intent.want is Want.SITUATION:
        set_status(ask, where, THINKING)
        post(ask, where, situation_reply(ask, intent))
    else:
        post(ask, where, help_reply(ask))


def draft(ask: Ask, intent: Intent, where: Where) -> None:
    """`/deal coach <deal> [kind]` from the DM: the same resolution, draft and buttons; streamed with an LLM."""
    target = resolve(ask, Command("coach", ref=intent.target, option=intent.kind.value if intent.kind else None))
    if isinstance(target, Reply):  # no such deal, or several: the same answer /deal coach gives
        post(ask, where, target)
        return
    set_status(ask, where, DRAFTING)
    if not getattr(ask.coach, "uses_llm", False):
        post(ask, where, draft_reply(ask, target.id, intent.kind, intent.tone))
        return
    stream = DraftStream(ask.client, where.channel, where.thread_ts or where.ts, ask.rep.user_id, ask.rep.team_id)
    reply = draft_reply(ask, target.id, intent.kind, intent.tone, on_text=stream.on_text)
    if not stream.finish(reply):
        post(ask, where, reply)


def practice(ask: Ask, intent: Intent, where: Where) -> None:
    drills = _practice_module()
    if drills is None:
        post(ask, where, Reply("Practice drills aren't part of this build yet. Meanwhile, ask me how to answer "
                               "a brush-off, e.g. “how do I answer 'send me some info'?”"))
        return
    drills.start_drill(ask, intent.brushoff, where.channel, say_for(ask, where))


def reply_in_drill(ask: Ask, where: Where, text: str) -> bool:
    """Whether the rep's line in a thread was an answer in a practice drill (and the drill took it)."""
    if not where.thread_ts:
        return False
    drills = _practice_module()
    if drills is None:
        return False
    return bool(drills.reply_in_drill(ask, where.channel, where.thread_ts, text, say_for(ask, where)))


def _practice_module() -> Any:
    """handlers.practice when this build has it (another feature: imported only when a DM needs it)."""
    try:
        return importlib.import_module("handlers.practice")
    except ModuleNotFoundError as e:
        if e.name in ("handlers.practice", "handlers"):
            return None
        raise


def pipeline_reply(ask: Ask, want: Want) -> Reply:
    now, tz = ask.clock.now(), ask.rep.tz
    found = pipeline_answer(want, ask.log.pipeline(ask.rep, "open"), now, tz)
    if not found.lines:
        return Reply(found.empty)
    shown = found.lines[:MAX_LINES]
    lines = [f"{bk.deal_line(line.deal, tz, now)}\n      _{bk.escape(line.why)}_" for line in shown]
    if len(found.lines) > MAX_LINES:
        lines.append(f"_…and {len(found.lines) - MAX_LINES} more: `/deal list` shows all of them._")
    blocks: list[Block] = bk.section_lines(bk.escape(found.headline), lines)
    buttons = [bk.button(f"Draft for {line.deal.company}", f"coach:dm:{i}", str(line.deal.id))  # ids unique
               for i, line in enumerate(shown[:5]) if line.deal.id is not None]                    # in a block
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    return Reply(found.headline, blocks)


def _deals_for_prompt(ask: Ask) -> str:
    """This rep's open deals as the LLM may see them: names and counts, never anyone else's."""
    p = ask.log.pipeline(ask.rep, "open")
    deals = [s.deal for s in p.needs_decision] + list(p.meeting_passed + p.snoozed + p.on_track)
    rows = [f"- {' '.join(d.company.split())[:80]} (#{d.id}): {d.maybe_count} maybes, "
            f"{d.touches_since_answer} unanswered tries" for d in deals[:25]]
    return prompts_data("\n".join(rows) or "(no open deals)")


def prompts_data(text: str) -> str:
    """Rep-written text that cannot close the prompt's fences."""
    for tag in ("deal", "question"):
        text = text.replace(f"</{tag}", f"\u2039/{tag}").replace(f"<{tag}", f"\u2039{tag}")
    return text


def situation_reply(ask: Ask, intent: Intent) -> Reply:
    key = intent.brushoff if intent.brushoff in BRUSHOFF_KEYS else None
    said = ask.coach.answer(_question_messages(ask, intent, key)) if getattr(ask.coach, "uses_llm", False) else None
    if said is not None:
        text = said.strip()
        problems = safety_problems(text) + ([f"{word_count(text)} words"] if word_count(text) > MAX_ANSWER_WORDS else [])
        if not problems:
            return Reply(bk.clip(bk.escape(text), bk.MAX_SECTION),
                         [SectionBlock(text=bk.md(bk.escape(text))),
                          ContextBlock(elements=[bk.md("Grounded in the hardno playbook. For a message to one "
                                                       "deal, `/deal coach <deal>`.")])])
        log.warning("coach: LLM answer not shown (%s); the template answer instead", "; ".join(problems)[:200])
    return template_situation(key)


def _question_messages(ask: Ask, intent: Intent, key: str | None) -> list[Any]:
    from handlers.coach import fill
    values = {"brushoff": f'"{BRUSHOFF_LABELS[key]}"' if key else "none recognised",
              "deals": _deals_for_prompt(ask), "question": prompts_data(" ".join(intent.question.split())[:1000])}
    return [{"role": "user", "content": fill(prompts.load("coach_question"), values)}]


def template_situation(key: str | None) -> Reply:
    """Without an LLM: the playbook's reasoning and the template reply for that brush-off."""
    if key is None:
        text = ("A vague maybe usually hides one open question. Name it kindly and ask for a clear next step "
                "or a clear no (playbook §1, §4). For example:\n> " + bk.escape(brushoff_example(None)) +
                "\nFor a reply to one of your deals, `/deal coach <deal>`. I know the five common brush-offs: "
                "partner, supplier, new year, send me info, talk to the team.")
    else:
        text = (f"“{BRUSHOFF_LABELS[key]}” is usually a maybe in disguise (playbook §4). Acknowledge it, name "
                "the real question behind it, and ask for one concrete next step, saying a clear no is fine. "
                "For example:\n> " + bk.escape(brushoff_example(key)) +
                "\nLog it as a maybe with their words and `/deal coach <deal>` drafts the reply for that deal.")
    return Reply(text, [SectionBlock(text=bk.md(text))])


def help_reply(ask: Ask) -> Reply:
    llm = getattr(ask.coach, "uses_llm", False)
    lines = [
        "I'm your coach. In this DM you can:",
        "• tell me what happened, e.g. “Acme said maybe, try after Jan 15”, and I'll log it when you confirm",
        "• ask about your pipeline: “what's stuck?”, “which deals need an ask?”, “what's due this week?”, "
        "“how many maybes do I have?”",
        "• ask for a draft: “draft an ask for Acme”, “draft a meeting request for Globex, shorter”, "
        "“write a last try for Initech”",
        "• ask how to handle a brush-off: “how do I answer 'send me some info'?”",
        "• rehearse one: “let's practice” or `/deal practice`",
        "`/deal help` lists every command.",
    ]
    lines.append("Drafts and answers come from an AI model, checked against the playbook." if llm else
                 "I'm running without an AI model, so drafts come from tested templates and I answer the "
                 "questions above; free-form questions beyond them I can't answer yet.")
    return Reply(bk.entities("\n".join(lines)))


# --------------------------------------------------------------------------- the assistant view

def register(app: App) -> None:
    app.action(re.compile(r"^coach:dm:\d+$"))(on_draft_button(None))  # "Draft for X" under an answer
    app.event("assistant_thread_started")(thread_started)
    app.event("assistant_thread_context_changed")(context_changed)


def thread_started(event: dict[str, Any], client: Any) -> None:
    """The rep opened a new thread with the coach: a greeting and the suggested prompts (or, where the
    workspace doesn't offer them, the same prompts in the greeting)."""
    thread = event.get("assistant_thread") or {}
    channel, thread_ts = thread.get("channel_id"), thread.get("thread_ts")
    if not channel or not thread_ts:
        return
    try:
        client.assistant_threads_setSuggestedPrompts(channel_id=channel, thread_ts=thread_ts,
                                                     title="Ask your coach", prompts=list(SUGGESTED_PROMPTS))
        text = WELCOME
    except SlackApiError as e:
        log.info("coach: suggested prompts not offered here (%s); listing them instead", e.response.get("error"))
        text = WELCOME + "\nTry: " + " · ".join(f"“{p['message']}”" for p in SUGGESTED_PROMPTS)
    client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)


def context_changed() -> None:
    """The rep switched channels with the assistant open: the coach reads no channel, so nothing to do."""
