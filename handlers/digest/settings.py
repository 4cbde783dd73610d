"""`/deal settings digest 8am|off|on|weekends on|off`."""

from __future__ import annotations

import re

from handlers.commands import Ask, Reply
from handlers.digest.due import DIGEST
from handlers.digest.render import schedule_words
from handlers.domain.schedule import local_day
from handlers.domain.text import clip
from handlers.mrkdwn import escape
from handlers.settings import Area

USAGE = "8am\noff\non\nweekends on|off"
_HOUR = re.compile(r"^(\d{1,2})(?::(\d{2}))?(am|pm|a\.m\.|p\.m\.)?$")


def parse_hour(text: str) -> int | str:
    """The hour in "8am", "8", "08:00", "14:00", "2pm", "noon"; or a message saying what's wrong."""
    text = text.replace(" ", "").lower()
    if text in ("noon", "midday"):
        return 12
    if text == "midnight":
        return 0
    m = _HOUR.match(text)
    if not m:
        return ""
    hour, minutes, half = int(m.group(1)), m.group(2), (m.group(3) or "")[:1]
    if minutes not in (None, "00"):
        return "The digest comes on the hour: try `8am` or `14:00`."
    if half:
        if not 1 <= hour <= 12:
            return ""
        hour = hour % 12 + (12 if half == "p" else 0)
    elif hour > 23:
        return ""
    return hour


def apply_digest(ask: Ask, words: list[str]) -> Reply:
    with ask.store.tx(ask.rep.team_id) as tx:
        rep = tx.rep(ask.rep.user_id) or ask.rep
    default_hour = ask.settings.hardno_digest_hour
    if not words:
        return Reply(f"Morning digest: {show_digest(ask)}\n\n" + _usage())
    if words == ["off"]:
        rep, said = rep.replace(digest_on=False), ("Your morning digest is off. `/deal settings digest on` brings "
                                                   "it back; your deals stay in `/deal list` and the Home tab.")
    elif words == ["on"]:
        rep = rep.replace(digest_on=True)
        said = f"Your morning digest is on: {schedule_words(rep, default_hour)}."
    elif words[0] == "weekends" and words[1:] in (["on"], ["off"]):
        rep = rep.replace(digest_weekends=words[1] == "on")
        when = schedule_words(rep, default_hour)
        said = (f"Your digest now comes every day, weekends too: {when}." if rep.digest_weekends
                else f"Your digest comes on working days only: {when}.")
    else:
        hour = parse_hour(" ".join(words))
        if not isinstance(hour, int):
            return Reply((hour or f"I didn't get “{escape(clip(' '.join(words), 80))}”.") + "\n" + _usage())
        rep = rep.replace(digest_hour=hour, digest_on=True)
        said = f"Your digest now comes {schedule_words(rep, default_hour)}."
        with ask.store.tx(ask.rep.team_id) as tx:
            today = local_day(ask.clock.now(), rep.tz).isoformat()
            if tx.settled_deliveries(DIGEST, [(rep.user_id, today)]):
                said += " Today's is settled already: the new time starts tomorrow."
    with ask.store.tx(ask.rep.team_id) as tx:
        tx.save_rep(rep)
    return Reply(said)


def show_digest(ask: Ask) -> str:
    with ask.store.tx(ask.rep.team_id) as tx:
        rep = tx.rep(ask.rep.user_id) or ask.rep
    if not rep.digest_on:
        return "off"
    return f"on, {schedule_words(rep, ask.settings.hardno_digest_hour)}"


def _usage() -> str:
    forms = "\n".join(f"`/deal settings digest {form}`" for form in USAGE.splitlines())
    return f"Change it with:\n{forms}\n(any hour: `7am`, `14:00`; in your Slack time zone)"


AREA = Area("digest", USAGE, apply_digest, show_digest)
