"""`/deal forget me`: a confirm button, then everything hardno stores about the caller is deleted.

Only the caller's own click counts: the button carries the id of the rep who asked, and a click by anyone
else (a forwarded or forged payload: the message itself is ephemeral) deletes nothing.
"""

from __future__ import annotations

from slack_bolt import App
from slack_sdk.models.blocks import ActionsBlock, Block, SectionBlock

from handlers import blocks as bk
from handlers.commands import Ask, Reply, Verbs
from handlers.domain.grammar import Command
from handlers.domain.text import plural
from handlers.workspace import team_of

CONFIRM, CANCEL = "forget:confirm", "forget:cancel"
NOT_YOURS = ("That button belongs to someone else's request, so I deleted nothing. "
             "To delete what I store about you, use `/deal forget me`.")


def register(app: App, verbs: Verbs) -> None:
    verbs["forget"] = forget
    app.action(CONFIRM)(confirm)
    app.action(CANCEL)(cancel)


def forget(ask: Ask, cmd: Command) -> Reply:
    if [w.lower() for w in cmd.args] != ["me"]:
        return Reply("To delete everything I store about you, type `/deal forget me` (I'll ask you to confirm).")
    with ask.store.tx(ask.rep.team_id) as tx:
        counts = tx.rep_data_counts(ask.rep.user_id)
    text = ("This deletes everything I store about you: " + what(counts, future=True)
            + ". It can't be undone, and your teammates' deals are not touched.")
    return Reply(text, confirm_blocks(text, ask.rep.user_id))


def confirm_blocks(text: str, user_id: str) -> list[Block]:
    return [SectionBlock(text=bk.md(text)),
            ActionsBlock(block_id="forget", elements=[bk.button("Delete everything", CONFIRM, user_id, "danger"),
                                                      bk.button("Cancel", CANCEL, user_id)])]


def what(counts: dict[str, int], *, future: bool = False) -> str:
    """The counts in words: '3 deals with 7 history entries, 1 proposal, your settings and 2 deliveries'."""
    deals = plural(counts.get("deals", 0), "deal")
    if counts.get("history"):
        deals += f" with {plural(counts['history'], 'history entry', 'history entries')}"
    parts = [deals, plural(counts.get("proposals", 0), "update proposed from chat", "updates proposed from chat")]
    if counts.get("settings"):
        parts.append("your settings (time zone, digest and board choices)")
    elif future:
        parts.append("no saved settings")
    if counts.get("drills"):
        parts.append(plural(counts["drills"], "practice drill"))
    parts.append(plural(counts.get("deliveries", 0), "digest record"))
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def confirm(ack, body, action, respond, store):
    ack()
    clicker = body["user"]["id"]
    if action.get("value") != clicker:
        respond(text=NOT_YOURS, response_type="ephemeral", replace_original=False)
        return
    with store.tx(team_of(body)) as tx:  # the clicker's own workspace only
        gone = tx.forget_rep(clicker)
    text = f"Done: I deleted {what(gone)}. I store nothing about you now; if you use `/deal` again, I start fresh."
    respond(text=text, blocks=bk.as_dicts(bk.text_reply(text)), response_type="ephemeral", replace_original=True)


def cancel(ack, body, action, respond):
    ack()
    if action.get("value") != body["user"]["id"]:
        respond(text=NOT_YOURS, response_type="ephemeral", replace_original=False)
        return
    respond(text="Cancelled: nothing was deleted.", response_type="ephemeral", replace_original=True)
