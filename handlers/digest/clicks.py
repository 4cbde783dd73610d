"""The digest's buttons (`digest:*`): each updates its own line of the digest in place (chat.update)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from slack_bolt import App

from handlers import blocks as bk
from handlers.actions import ask_from
from handlers.coaching import deliverer, send_draft
from handlers.commands import NOT_YOURS, Ask
from handlers.digest.due import DIGEST
from handlers.digest.render import line_head
from handlers.domain.model import Kind, Source
from handlers.domain.schedule import local_day
from handlers.domain.text import clip
from handlers.domain.zones import zone
from handlers.workspace import team_of


def register(app: App) -> None:
    app.action("digest:ask")(on_draft)
    app.action("digest:meeting")(on_draft)
    app.action(re.compile(r"^digest:(won|no)$"))(on_decision)
    app.action("digest:snooze")(on_snooze)
    app.action("digest:snooze_until")(on_snooze)


_STATUS = ("✅", "💤", "✍️", "↩️")  # status lines a click appends to a digest line


def _deal_id(action) -> int:
    head = (action.get("value") or "").split(":", 1)[0]
    if not head and (action.get("block_id") or "").startswith("dg:"):  # the date picker has no value
        head = action["block_id"].split(":")[1]
    return int(head) if head.isdigit() else 0


def _private(respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def update_line(client, store, body, deal_id: int, status: str, *, keep_buttons: bool,
                head: str | None = None) -> bool:
    """Show what was done on the digest line of `deal_id`, in place (chat.update on the digest message).

    The line's section gets `status` (replacing an earlier status; `head` replaces the whole line), and its
    buttons go unless `keep_buttons`; every other block stays as it was. Two quick clicks on different lines
    both come with the message as it was before either: so each click's mark is stored on the digest's
    delivery row and every update shows all the marks, and an update that may have overtaken a newer one is
    sent again. False when the click carried no digest line to update."""
    message, container = body.get("message") or {}, body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or message.get("ts")
    blocks = message.get("blocks")
    if not (channel and ts and blocks) or not any(b.get("block_id") == f"dg:{deal_id}" for b in blocks):
        return False
    user = (body.get("user") or {}).get("id") or ""
    mark = {"status": status, "head": head, "keep_buttons": keep_buttons}
    with store.tx(team_of(body)) as tx:
        marked = tx.mark_delivery(DIGEST, user, channel, ts, str(deal_id), mark)
    version, marks = marked or (None, {str(deal_id): mark})
    text = message.get("text") or "Your digest"
    for _ in range(_MAX_RESENDS):
        client.chat_update(channel=channel, ts=ts, text=text, blocks=_marked(blocks, marks))
        if version is None:
            break
        with store.read(team_of(body)) as tx:
            latest = tx.delivery_marks(DIGEST, user, channel, ts)
        if latest is None or latest[0] == version:  # nobody marked the digest meanwhile: this shows everything
            break
        version, marks = latest  # a click landed meanwhile and its update may have reached Slack first: resend
    return True


_MAX_RESENDS = 5  # each resend answers a click that came in meanwhile; that click sends its own update too


def _marked(blocks: list[dict], marks: dict[str, dict]) -> list[dict]:
    """The digest's blocks with every line mark applied (a mark is {status, head, keep_buttons})."""
    out = []
    for block in blocks:
        block_id = block.get("block_id") or ""
        key = block_id[3:].removesuffix(":a") if block_id.startswith("dg:") else None
        mark = marks.get(key) if key else None
        if mark is None:
            out.append(block)
        elif block_id.endswith(":a"):
            if mark["keep_buttons"]:
                out.append(block)
        elif block.get("type") == "section":
            kept = [ln for ln in ((block.get("text") or {}).get("text") or "").split("\n")
                    if not ln.startswith(_STATUS)]
            text = "\n".join(([mark["head"]] if mark["head"] else kept) + [mark["status"]])
            out.append({"type": "section", "block_id": block_id,
                        "text": {"type": "mrkdwn", "text": clip(text, bk.MAX_SECTION)}})
        else:
            out.append(block)
    return out


def _ask(body, store, clock, reps, client, coach, settings) -> Ask:
    return ask_from(body, store, clock, reps, client, coach, settings, source=Source.BUTTON)


def on_decision(ack, body, action, respond, client, store, clock, reps, coach, settings):
    """Won / No: log it on the rep's own deal and show it on the line."""
    ack()
    kind = {"digest:won": Kind.WON, "digest:no": Kind.NO}[action["action_id"]]
    ask = _ask(body, store, clock, reps, client, coach, settings)
    done = ask.log.log(ask.rep.user_id, _deal_id(action), kind, source=Source.BUTTON)
    if done is None:
        _private(respond, NOT_YOURS)
        return
    deal = done.deal
    head = line_head(deal.company, None if deal.amount is None else bk.amount_text(deal))
    if done.already_closed:
        status = f"✅ Already closed out ({bk.STATE_LABEL[deal.status]}); nothing changed."
    elif kind is Kind.WON:
        status = "✅ *Won.* Congratulations! :tada:"
    else:
        status = "✅ *Closed out with a hard no.* A clear answer frees your time for buyers who decide."
    if not update_line(client, store, body, deal.id, status, keep_buttons=False, head=head):
        _private(respond, f"{head}\n{status}")


def on_snooze(ack, body, action, respond, client, store, clock, reps, coach, settings):
    """Snooze 1 week, or until the picked date: until the START of that local day, so the deal is back
    in that morning's digest (if it still needs a decision)."""
    ack()
    ask = _ask(body, store, clock, reps, client, coach, settings)
    tz, now = ask.rep.tz, clock.now()
    today = local_day(now, tz)
    if action["action_id"] == "digest:snooze":
        day = today + timedelta(days=7)
    else:
        try:
            day = date.fromisoformat(action.get("selected_date") or "")
        except ValueError:
            _private(respond, "Pick a day to snooze it until.")
            return
        if day <= today:
            _private(respond, "Pick a day after today to snooze it until.")
            return
    until = datetime.combine(day, time()).replace(tzinfo=zone(tz)).astimezone(UTC)
    done = ask.log.log(ask.rep.user_id, _deal_id(action), Kind.SNOOZE, when=until, source=Source.BUTTON)
    if done is None:
        _private(respond, NOT_YOURS)
        return
    deal = done.deal
    if done.already_closed:
        status = f"✅ Already closed out ({bk.STATE_LABEL[deal.status]}); nothing to snooze."
    else:
        status = f"💤 Snoozed until {day:%a %b %-d}: back in that morning's digest if it still needs a decision."
    if not update_line(client, store, body, deal.id, status, keep_buttons=False):
        _private(respond, status)


DRAFT_WORDS = {"ask": "a hard-no ask", "breakup": "a last-try message (it asks for a clear no too)",
               "meeting": "a meeting request"}


def on_draft(ack, body, action, respond, client, store, clock, reps, coach, settings):
    """Draft hard-no ask / Draft meeting request: the coach's draft arrives below the digest (it may take
    as long as the LLM does: after the ack), and the line says a draft is on its way."""
    ack()
    if action["action_id"] == "digest:meeting":
        kind = "meeting"
    else:
        kind = (action.get("value") or "").partition(":")[2]
        kind = kind if kind in ("ask", "breakup") else "ask"
    ask = _ask(body, store, clock, reps, client, coach, settings)
    deal = ask.log.deal(ask.rep.user_id, _deal_id(action))
    if deal is None:
        _private(respond, NOT_YOURS)
        return
    if not deal.is_open:
        update_line(client, store, body, deal.id, f"✅ Already closed out ({bk.STATE_LABEL[deal.status]}).",
                    keep_buttons=False)
        return
    update_line(client, store, body, deal.id, f"✍️ Drafting {DRAFT_WORDS[kind]}: it appears below.", keep_buttons=True)
    send_draft(ask, deal.id, kind, deliverer(ask, respond))
