"""`:seed`: a realistic demo pipeline, logged through the real app at the times it would have happened.

The sandbox clock goes back to each moment (weeks ago for the oldest deals), the rep types the `/deal`
command or chat line they would have typed then, and the clock returns to now. So the deals carry real
histories: repeated maybes, silence after several tries, a meeting that passed with nothing logged, a
consensus stall, effort beyond a small deal's worth, deals on track, and deals closed out this week
(won, hard no, dropped). Teammates without deals get a few closed-out deals too, for the leaderboard.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.sandbox import workspace
from bot.sandbox.render import render_blocks
from bot.sandbox.workspace import Person
from handlers.domain.model import Status

WEEK = "week"  # a step that happens this week (before now), for the leaderboard


@dataclass(frozen=True)
class DealSeed:
    add: str  # what follows `/deal add`; {d+N HH:MM} / {d-N} are dates N days from today
    days_ago: int
    steps: tuple = ()  # (days ago | WEEK, command with {r} for the deal); in order

    @property
    def company(self) -> str:
        words = []
        for word in self.add.split():
            if word.startswith("$") or ":" in word:
                break
            words.append(word)
        return " ".join(words)


MINE = (
    DealSeed("Acme Corp $12k contact:Jo Smith", 42, (
        (35, "maybe {r} send me some information"),
        (21, "maybe {r} we're happy with our current supplier for now"),
        (9, "maybe {r} can you just email me the pricing?"))),
    DealSeed("Globex $40k contact:Hank Scorpio", 31, (
        (27, "touch {r} left a voicemail"), (20, "touch {r} emailed the proposal"),
        (13, "touch {r} called, no answer"), (6, "touch {r} emailed again"))),
    DealSeed("Initech $8k contact:Bill Lumbergh", 28, (
        (20, "meet {r} {d-6 14:00} demo for their ops team"),)),
    DealSeed("Umbrella Corp $25k contact:Alice Abernathy stage:consensus", 45, (
        (41, "meet {r} {d-34 11:00} discovery call"),
        (34, "maybe {r} I'll talk it over with the team and get back to you in a couple of weeks"))),
    DealSeed("Hooli $4k contact:Gavin Belson", 62, tuple(
        (d, "touch {r} " + note) for d, note in (
            (58, "called"), (52, "emailed"), (46, "voicemail"), (40, "emailed the case study"), (33, "called"),
            (26, "LinkedIn message"), (19, "called the office"), (12, "emailed"), (5, "voicemail")))),
    DealSeed("Soylent $15k contact:Sam Treadwell", 16, (
        (8, "meet {r} {d+3 10:00} pricing review with their CFO"),)),
    DealSeed("Stark Industries $60k contact:Pepper Potts next:{d+5 14:00}", 4),
    DealSeed("Massive Dynamic $18k contact:Nina Sharp", 22, (
        (17, "touch {r} left a voicemail"), (11, "touch {r} emailed"),
        (4, "maybe {r} not now, budget freeze until the new fiscal year"))),
    DealSeed("Vandelay Industries $3k contact:Art Vandelay", 26, (
        (7, "maybe {r} try me again after the holidays"), (7, "snooze {r} {d+21}"))),
    DealSeed("Wayne Enterprises $30k contact:Lucius Fox", 50, (
        (44, "meet {r} {d-37 15:00} security review"), (30, "maybe {r} legal is still reading the contract"),
        (WEEK, "won {r} PO received"))),
    DealSeed("Cyberdyne $22k contact:Miles Dyson", 38, (
        (30, "maybe {r} send me info"), (16, "maybe {r} maybe next quarter"),
        (WEEK, "no {r} went with the incumbent"))),
    DealSeed("Tyrell Corp $9k", 19, ((12, "touch {r} emailed"), (WEEK, "drop {r} not a fit: a 3-person team"))),
)
# Added the way a rep would from chat: a DM, then [Add as new deal].
MY_CHAT = (2, "Pied Piper said maybe, send them the deck", "Add as new deal")
MY_CHAT_COMPANY = "Pied Piper"

TEAM = {
    "U2": (DealSeed("Globodyne $7k", 20, ((10, "maybe {r} next month"), (WEEK, "won {r}"))),
           DealSeed("Duff Beer $5k", 15, ((WEEK, "no {r} no budget this year"),)),
           DealSeed("Krusty Krew $2k", 9, ((WEEK, "won {r}"),)),
           DealSeed("Monsters Inc $14k", 6)),
    "U3": (DealSeed("Nakatomi Trading $11k", 25, ((WEEK, "won {r} signed at last"),)),
           DealSeed("Oceanic Air $6k", 12, ((WEEK, "drop {r} wrong region for us"),)),
           DealSeed("Initrode $9k", 8, ((3, "maybe {r} call me in the spring"),))),
}


class SeedError(Exception):
    pass


class _Seeder:
    def __init__(self, sb):
        self.sb = sb
        self.base = sb.clock.now()

    def local_day(self, person: Person, days: int) -> datetime:
        today = self.base.astimezone(ZoneInfo(person.tz)).date()
        return datetime.combine(today - timedelta(days=days), time(0), ZoneInfo(person.tz))

    def week_start(self, tz: str) -> datetime:
        local = self.base.astimezone(ZoneInfo(tz))
        return datetime.combine(local.date() - timedelta(days=local.weekday()), time(0), ZoneInfo(tz))

    def at(self, person: Person, days, step: int, frac: float = 0.5) -> datetime:
        """When step number `step` of a deal happened: a working hour `days` ago, or this week."""
        if days == WEEK:  # after the week began everywhere, so it is "this week" on any zone's board
            start = max(self.week_start(p.tz) for p in workspace.PEOPLE)
            return start + (self.base - start) * frac
        moment = self.local_day(person, days) + timedelta(hours=9 + step % 8, minutes=7 * step % 60)
        return min(moment, self.base - timedelta(minutes=60 - step))

    def fill(self, person: Person, text: str) -> str:
        """Replace {d+N HH:MM} / {d-N} with a date N days from today in the person's zone."""
        out, rest = "", text
        while "{d" in rest:
            head, _, tail = rest.partition("{d")
            spec, _, rest = tail.partition("}")
            days, _, hhmm = spec.partition(" ")
            day = self.local_day(person, -int(days))
            out += head + (f"{day:%Y-%m-%d} {hhmm}" if hhmm else f"{day:%Y-%m-%d}")
        return out + rest

    def command(self, person: Person, when: datetime, text: str) -> None:
        self.sb.clock.set(when)
        start = self.sb.command(text, user=person)
        replies = [c for c in self.sb.calls_since(start) if c.method == "response_url"]
        reply = replies[-1].params if replies else {}
        if not any(b.get("type") == "header" for b in reply.get("blocks") or []):
            raise SeedError(f"/deal {text} was answered “{(reply.get('text') or 'nothing')[:160]}”")

    def deal(self, person: Person, d: DealSeed, frac: float) -> None:
        ref = "\"" + d.add.split(" $")[0] + "\""  # the whole name: a decision on part of one asks first
        self.command(person, self.at(person, d.days_ago, 0), "add " + self.fill(person, d.add))
        for i, (days, text) in enumerate(d.steps, 1):
            self.command(person, self.at(person, days, i, frac), self.fill(person, text).replace("{r}", ref))

    def chat_add(self, person: Person, days: int, line: str, label: str) -> None:
        sb = self.sb
        sb.clock.set(self.at(person, days, 0))
        start = sb.chat(line, user=person)
        posted = [c for c in sb.calls_since(start) if c.method == "chat.postMessage" and c.ok]
        if not posted:
            raise SeedError(f"the chat line “{line}” got no answer")
        call = posted[-1]
        from bot.sandbox.session import Msg
        msg = Msg(call.response["channel"], call.response["ts"], call.params.get("text") or "",
                  call.params.get("blocks") or [], audience=person.id)
        button = next((b for b in render_blocks(msg.blocks).buttons if b.label == label), None)
        if button is None:
            raise SeedError(f"the answer to “{line}” had no [{label}] button")
        sb.clock.set(self.at(person, days, 1))
        start = sb.press(msg, button, person)
        replies = [c for c in sb.calls_since(start) if c.method == "response_url"]
        if not replies or not any(b.get("type") == "header" for b in replies[-1].params.get("blocks") or []):
            raise SeedError(f"[{label}] on “{line}” didn't add the deal")


def _deals(store, user_id: str):
    from bot.driver import TEAM as WORKSPACE  # the pretend workspace's team id
    with store.tx(WORKSPACE) as tx:
        return tx.deals(user_id, list(Status))


def seed(sb) -> None:
    """Seed the demo deals the rep doesn't have yet (by company): deals of their own, say a first
    session's Acme Corp, are kept as they are and not duplicated."""
    me = sb.user
    before = _deals(sb.store, me.id)
    have = {d.company.casefold() for d in before}
    todo = [d for d in MINE if d.company.casefold() not in have]
    chat = MY_CHAT_COMPANY.casefold() not in have
    if not todo and not chat:
        sb.console.note(f"There are deals for {me.handle} already (the whole demo pipeline), so :seed left them "
                        "alone. Start over with `hardno try --fresh`, or `:as dana` and :seed there.")
        return
    kept = sorted(d.company for d in before if d.company.casefold() in
                  {x.company.casefold() for x in MINE} | {MY_CHAT_COMPANY.casefold()})
    seeder = _Seeder(sb)
    started = _time.monotonic()
    sb.console.note(f"Seeding a demo pipeline for {me.handle} through the real app "
                    "(the clock goes back nine weeks and returns)…")
    sb.quiet = True
    teammates = []
    try:
        for i, d in enumerate(MINE):
            if d in todo:
                seeder.deal(me, d, frac=(0.3 + 0.2 * i / len(MINE)) if d.steps and d.steps[-1][0] == WEEK else 0.5)
        if chat:
            seeder.chat_add(me, *MY_CHAT)
        for user_id, deals in TEAM.items():
            mate = workspace.by_id(user_id)
            if mate is None or mate.id == me.id or _deals(sb.store, mate.id):
                continue
            for j, d in enumerate(deals):
                seeder.deal(mate, d, frac=0.2 + 0.15 * j)
            teammates.append(mate.handle)
    except SeedError as e:
        sb.quiet = False
        sb.console.warn(f"Seeding stopped: {e}")
        return
    finally:
        sb.drain()  # discard (quietly) what the seeding posted
        sb.quiet = False
        sb.clock.set(seeder.base + timedelta(seconds=_time.monotonic() - started))
    old = {d.id for d in before}
    mine = [d for d in _deals(sb.store, me.id) if d.id not in old]
    open_deals = [d for d in mine if d.status is Status.OPEN]
    closed = len(mine) - len(open_deals)
    mates = f" {' and '.join(teammates)} closed out a few deals this week too." if teammates else ""
    yours = (f" Your own {' and '.join(kept)} {'is' if len(kept) == 1 else 'are'} kept as you left "
             f"{'it' if len(kept) == 1 else 'them'}." if kept else "")
    sb.console.note(f"Loaded {len(mine)} deals for {me.handle}: {len(open_deals)} open, {closed} closed out "
                    f"this week, with histories going back nine weeks.{yours}{mates}\n"
                    f"It is {sb.local_now()} again. Try :digest, /deal list, :board, :home or /deal coach acme.")
