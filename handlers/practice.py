"""Practice drills in Slack: `/deal practice [brush-off]`, the rep's answers in the drill's thread, the score.

The coach posts the prospect's brush-off in the rep's DM as a thread parent; the rep answers in that thread;
the answer is scored rule by rule (`handlers.domain.practice.score_answer`) and the reply in the thread shows
the score, what was missing and a model answer. With an LLM configured (the coach's), the prospect's lines are
the model's (`handlers.prospect`) and it may push back once, which asks for a second answer; that one is
scored. Without one, the template lines and one answer.

Which brush-off
    `/deal practice send-info` (or partner, supplier, new-year, team; aliases in grammar.PRACTICE_OPTIONS)
    `/deal practice mine`: the latest of the rep's own maybes (open deals, last RECENT_MAYBE_DAYS days) that
        is one of the five, with that deal's company and contact; if there is none, the least-practised one.
    `/deal practice`: such a maybe of the rep's own when its deal has had no drill yet (rehearse the real
        conversation ahead), else the brush-off the rep has practised least.

For other features (the DM coach routes "let's practice" and thread replies here)

    start_drill(ask, brushoff: str | None, channel: str, say) -> None
        brushoff: a practice key ("send_info"), a name or alias as typed ("send info", see
        grammar.PRACTICE_OPTIONS), "mine", or None (as above); `say(text=, blocks=, thread_ts=)` posts in the DM
        `channel` and returns Slack's answer (its "ts" becomes the drill's thread).
    reply_in_drill(ask, channel: str, thread_ts: str, text: str, say) -> bool
        True when the thread is a drill: the rep's own is answered (a push-back or the score); a message
        from anyone else in a drill's thread is ignored, with nothing posted, and still True so that no
        other handler answers into a rep's practice thread. False: not a drill, route it elsewhere.

Private to the rep: drills are stored and found by the rep's user id, the DM is theirs, and only their own
deal (for `mine`) reaches the prompt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, PlainTextObject, SectionBlock

from handlers import blocks as bk
from handlers.commands import Ask, Reply, Verbs
from handlers.domain.drafts import brushoff_is_current, fmt_day
from handlers.domain.grammar import PRACTICE_OPTIONS, Command
from handlers.domain.model import Deal, Rep
from handlers.domain.practice import (
    BRUSHOFFS,
    LABELS,
    PROSPECT_COMPANY,
    PROSPECT_CONTACT,
    Drill,
    Phase,
    Score,
    model_answer,
    pick_brushoff,
    practice_situation,
    prospect_line,
    score_answer,
)
from handlers.prospect import Cast, prospect_for

log = logging.getLogger(__name__)

Say = Callable[..., Any]
RECENT_MAYBE_DAYS = 14
MAX_ANSWER = 3000  # what is kept of one answer
HOME_DRILLS = 5
RUBRIC = " · ".join(label.lower() for label in LABELS.values())
AGAIN = "`/deal practice` for another round, `/deal practice mine` for one of your own maybes."


def register(app: Any, verbs: Verbs) -> None:
    verbs["practice"] = practice_command


def poster(client: Any, channel: str) -> Say:
    """A `say` that posts to `channel` with chat.postMessage. (Bolt's own `say` for a message in a DM thread
    is its assistant `say`, which first reads the thread's context with conversations.replies.)"""

    def say(**kw: Any) -> Any:
        return client.chat_postMessage(channel=channel, **kw)

    return say


def practice_command(ask: Ask, cmd: Command) -> Reply:
    """`/deal practice [brush-off]`: the drill goes to the rep's DM; the reply here says so."""
    try:
        channel = ask.reps.dm_channel(ask.rep)
        drill = _start(ask, cmd.option, channel, poster(ask.client, channel))
    except SlackApiError as e:
        log.warning("practice: could not post the drill in the DM: %s", e.response.get("error"))
        return Reply("I couldn't post in our DM just now, so there's no drill yet. Try again in a moment.")
    label = BRUSHOFFS[drill.brushoff].label
    return Reply(f"Practice is on in our DM: the prospect says “{bk.escape(label)}”. Answer in the thread there.")


def start_drill(ask: Ask, brushoff: str | None, channel: str, say: Say) -> None:
    """Post a drill's opening line in the rep's DM `channel` and remember its thread (see the module doc)."""
    _start(ask, brushoff, channel, say)


def _prospect(ask: Ask) -> Any:
    return prospect_for(getattr(ask.coach, "llm", None))


def _choose(ask: Ask, option: str | None) -> tuple[str, Deal | None, int]:
    """(brush-off key, the rep's own deal for a `mine` drill, how often the rep practised that key)."""
    uid, now = ask.rep.user_id, ask.clock.now()
    with ask.store.tx(ask.rep.team_id) as tx:
        practiced = tx.drills_by_brushoff(uid)
        maybes = tx.recent_maybes(uid, now - timedelta(days=RECENT_MAYBE_DAYS)) if option in (None, "mine") else []
        drilled = {d.deal_id for d in tx.recent_drills(uid, 50)} if option is None else set()
    own = [(key, d) for d in maybes if (key := brushoff_is_current(d)) is not None]
    if option is None:
        own = [(key, d) for key, d in own if d.id not in drilled]
    if option in (None, "mine") and own:
        key, deal = own[0]
        return key, deal, practiced.get(key, 0)
    key = option if option is not None and option in BRUSHOFFS else pick_brushoff(practiced)
    return key, None, practiced.get(key, 0)


def _cast(first: dict[str, Any]) -> Cast:
    return Cast(first.get("company") or PROSPECT_COMPANY, first.get("contact") or PROSPECT_CONTACT,
                first.get("note"))


def _start(ask: Ask, option: str | None, channel: str, say: Say) -> Drill:
    if option is not None:  # a caller may pass a name or alias as typed ("send info")
        option = PRACTICE_OPTIONS.get("-".join(option.casefold().split()), option)
    key, deal, practiced = _choose(ask, option)
    b = BRUSHOFFS[key]
    now = ask.clock.now()
    first: dict[str, Any] = {"role": "prospect"}
    if deal is not None:
        first.update(deal=deal.id, company=deal.company, contact=(deal.contact or "").strip() or "your contact",
                     note=deal.last_maybe_note)
    cast = _cast(first)
    line = _prospect(ask).opening(key, cast, practiced) or prospect_line(key, practiced)
    first["text"] = line
    who = f"{cast.contact} at {cast.company}"
    if deal is not None:
        note = bk.escape(bk.clip(deal.last_maybe_note or "", 300))
        intro = (f"*Practice: “{bk.escape(b.label)}”*, from your maybe on *{bk.escape(bk.clip(deal.company, 200))}*"
                 f" (you logged “{note}”). Rehearse the real conversation: {bk.escape(who)} says")
    else:
        intro = f"*Practice: “{bk.escape(b.label)}”*. You're talking to {bk.escape(who)}, who says"
        if option == "mine":
            intro = (f"None of your maybes of the last {RECENT_MAYBE_DAYS} days is one of the five brush-offs, "
                     f"so here's a common one.\n{intro}")
    blocks: list[Block] = [
        SectionBlock(text=bk.md(intro)),
        SectionBlock(text=PlainTextObject(text=f"“{bk.clip(line, 1000)}”", emoji=False)),
        ContextBlock(elements=[bk.md(f"Answer in this thread as you'd answer them. I score it on: {RUBRIC}.")]),
    ]
    posted = say(text=f"Practice: {bk.escape(cast.contact)} says “{bk.escape(bk.clip(line, 1000))}”",
                 blocks=bk.as_dicts(blocks))
    drill = Drill(user_id=ask.rep.user_id, team_id=ask.rep.team_id, channel=channel, thread_ts=str(posted["ts"]),
                  brushoff=key, created_at=now, turns=(first,))
    with ask.store.tx(ask.rep.team_id) as tx:
        return tx.save_drill(drill)


def reply_in_drill(ask: Ask, channel: str, thread_ts: str, text: str, say: Say) -> bool:
    """A message in a thread of the DM: the rep's answer to their drill (see the module doc)."""
    uid = ask.rep.user_id
    with ask.store.tx(ask.rep.team_id) as tx:
        owner = tx.drill_owner(channel, thread_ts)
        drill = tx.drill_in_thread(uid, channel, thread_ts) if owner == uid else None
    if owner is None:
        return False
    if drill is None or drill.id is None:
        return True  # someone else's drill: not theirs to answer, and nothing of it is shown
    progress = drill.progress
    if progress.phase is Phase.DONE:
        say(thread_ts=thread_ts, text="This drill is scored already. " + AGAIN)
        return True
    # Slack sends &, <, > in message text as entities; score what the rep typed
    answer = (text or "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()[:MAX_ANSWER]
    first = dict(drill.turns[0]) if drill.turns else {}
    cast = _cast(first)
    turns = [*drill.turns, {"role": "rep", "text": answer}]
    reaction = _prospect(ask).react(drill.brushoff, cast, turns) if progress.may_push_back else None
    after = progress.answered(push_back=bool(reaction and reaction[1]))
    now = ask.clock.now()
    if after.phase is Phase.PUSHED and reaction is not None:
        turns.append({"role": "prospect", "text": reaction[0]})
        with ask.store.tx(ask.rep.team_id) as tx:
            moved = tx.advance_drill(uid, drill.id, expect_state=drill.state, state=after.phase.value, turns=turns)
        if moved:
            say(thread_ts=thread_ts, text=f"{bk.escape(cast.contact)}: “{bk.escape(reaction[0])}”",
                blocks=bk.as_dicts(_pushback_blocks(cast, reaction[0])))
        return True
    if reaction is not None:  # the prospect's straight answer, shown above the score
        turns.append({"role": "prospect", "text": reaction[0]})
    score = score_answer(answer, drill.brushoff, (first.get("company"), first.get("contact")))
    deal = ask.log.deal(uid, first["deal"]) if isinstance(first.get("deal"), int) else None
    model = model_answer(drill.brushoff, practice_situation(drill.brushoff, now, ask.rep.tz, ask.rep.name,
                                                            deal=deal))
    with ask.store.tx(ask.rep.team_id) as tx:
        moved = tx.advance_drill(uid, drill.id, expect_state=drill.state, state=Phase.DONE.value, turns=turns,
                                 score=score.points, finished_at=now)
    if moved:
        said = reaction[0] if reaction is not None else None
        say(thread_ts=thread_ts, text=f"Your answer scores {score.points}/{score.total}.",
            blocks=bk.as_dicts(score_blocks(score, model, cast, said, second=after.answers > 1)))
    return True


def _pushback_blocks(cast: Cast, line: str) -> list[Block]:
    return [
        SectionBlock(text=bk.md(f"{bk.escape(cast.contact)} pushes back:")),
        SectionBlock(text=PlainTextObject(text=f"“{bk.clip(line, 1000)}”", emoji=False)),
        ContextBlock(elements=[bk.md("Answer once more in this thread; I'll score that answer.")]),
    ]


def score_blocks(score: Score, model: str, cast: Cast, said: str | None = None, *,
                 second: bool = False) -> list[Block]:
    """The score in the drill's thread: each check, what was missing (with why), a model answer."""
    out: list[Block] = []
    if said:
        out.append(SectionBlock(text=PlainTextObject(text=f"{cast.contact}: “{bk.clip(said, 1000)}”", emoji=False)))
    which = "your answer to the push-back" if second else "your answer"
    head = f"*I score {which} {score.points}/{score.total}.*"
    if score.perfect:
        head += " Every box ticked: that's how a maybe turns into a decision. :tada:"
    out.append(SectionBlock(text=bk.md(head)))
    if score.missing:
        lines = [f":x: *{c.label}*: {bk.escape(c.why)}" for c in score.missing]
        out.append(SectionBlock(text=bk.md(bk.clip("*What was missing*\n" + "\n".join(lines), bk.MAX_SECTION))))
    done = [f":white_check_mark: *{c.label}*: {bk.escape(c.why)}" for c in score.checks if c.passed]
    if done:
        out.append(SectionBlock(text=bk.md(bk.clip("*Done well*\n" + "\n".join(done), bk.MAX_SECTION))))
    out.append(SectionBlock(text=bk.md("*A model answer*")))
    out.append(SectionBlock(text=PlainTextObject(text=bk.clip(model, bk.MAX_SECTION), emoji=False)))
    out.append(ContextBlock(elements=[bk.md(AGAIN)]))
    return out


def home_blocks(rep: Rep, store: Any, now: datetime) -> list[Block]:
    """The App Home's Practice section: the rep's recent drills and scores."""
    with store.read(rep.team_id) as tx:
        drills = tx.recent_drills(rep.user_id, HOME_DRILLS)
    out: list[Block] = [HeaderBlock(text=bk.plain("Practice"))]
    if not drills:
        out.append(SectionBlock(text=bk.md(
            "Rehearse the five brush-offs: `/deal practice` plays a prospect in our DM and scores your answer.")))
        return out
    lines = []
    for d in drills:
        label = BRUSHOFFS[d.brushoff].label if d.brushoff in BRUSHOFFS else d.brushoff
        result = (f"*{d.score}/{len(LABELS)}*" if d.score is not None and d.state == Phase.DONE.value
                  else "_waiting for your answer in our DM_")
        company = d.turns[0].get("company") if d.turns else None
        mine = f" ({bk.escape(bk.clip(str(company), 60))})" if company else ""
        lines.append(f"• {fmt_day(d.created_at, rep.tz)} · “{bk.escape(label)}”{mine} · {result}")
    out.append(SectionBlock(text=bk.md("\n".join(lines))))
    out.append(ContextBlock(elements=[bk.md(AGAIN)]))
    return out
