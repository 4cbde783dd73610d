"""The shared table of deal situations the coach must handle, and the rubric every draft must pass.

Situations are built the way the product builds them: `new_deal` plus `apply` over
a history of Activities. The rubric is written independently of the drafting code
(its own phrase lists, its own time-zone arithmetic) so it can catch the code out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from handlers.domain.drafts import Draft, DraftKind, Situation
from handlers.domain.model import Activity, Kind, apply, new_deal

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


def ago(days: float, now: datetime = NOW) -> datetime:
    return now - timedelta(days=days)


def situation(company: str, events: list[tuple] = (), *, rep: str = "Anna Schmidt", tz: str = "Europe/Berlin",
              now: datetime = NOW, created: float = 40, owner: str = "U1", deal_id: int | None = 1,
              **fields) -> Situation:
    """A situation from a list of events: (days_ago, Kind[, text[, when]])."""
    deal, first = new_deal(owner, company, ago(created, now), id=deal_id, **fields)
    history = [first]
    for ev in events:
        ev = tuple(ev)
        days, kind, text, when = ev + ("", None)[len(ev) - 2:]
        act = Activity(kind, ago(days, now), text, when=when, deal_id=deal_id)
        history.append(act)
        deal = apply(deal, act)
    return Situation(deal=deal, history=tuple(history), rep_name=rep, tz=tz, now=now)


def touches(start: float, n: int, text: str = "called, no answer") -> list[tuple]:
    return [(start - i, Kind.TOUCH, text) for i in range(n)]


@dataclass(frozen=True)
class Case:
    name: str
    s: Situation
    kind: DraftKind  # what pick_kind should choose
    email: bool = False  # the last exchange was an email: drafts carry a subject
    consensus: bool = False  # meeting drafts must invite the other decision makers

    def __repr__(self) -> str:
        return self.name


FRI_LA = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # Fri 10:00 in Los Angeles
SAT_LONDON = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
FRI_BEFORE_DST_END = datetime(2026, 10, 23, 8, 0, tzinfo=UTC)  # Europe leaves DST on Sun 25 Oct
LATE_MON_KOLKATA = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # already Tue 01:30 in Kolkata

CASES: list[Case] = [
    Case("brushoff_partner", situation("Acme Logistics", [
        *touches(20, 2), (15, Kind.MAYBE, "We already have a partner and aren't looking to change."),
    ], contact="Maria Rossi", amount=Decimal("25000"), currency="EUR", stage="explore"), DraftKind.OBJECTION),
    Case("brushoff_supplier", situation("Northwind Traders", [
        (12, Kind.MAYBE, "We're happy with our current supplier; we'll keep your information on file."),
    ], contact="Tom Baker", amount=Decimal("8000"), currency="GBP"), DraftKind.OBJECTION),
    Case("brushoff_new_year", situation("Initrode", [
        *touches(10, 1), (6, Kind.MAYBE, "Try me again after the first of the year."),
    ], contact="Samir Haddad", stage="time"), DraftKind.OBJECTION),
    Case("brushoff_send_info_by_email", situation("Umbrella Health", [
        (9, Kind.TOUCH, "emailed the one-pager"),
        (7, Kind.MAYBE, "Can you just email me some information?"),
    ], contact="Alice Chen", amount=Decimal("15000"), currency="USD"), DraftKind.OBJECTION, email=True),
    Case("brushoff_new_year_named_date", situation("Initech", [
        (3, Kind.MAYBE, "Try me again after the new year, ideally after Jan 15", datetime(2027, 1, 15, 9, tzinfo=UTC)),
    ], contact="Bill Lumbergh"), DraftKind.OBJECTION),
    Case("brushoff_team", situation("Hooli", [
        (5, Kind.MAYBE, "I'll talk it over with the team and get back to you in a couple of weeks."),
    ], contact="Gavin Belson", amount=Decimal("120000"), currency="USD", stage="collaborate"),
        DraftKind.OBJECTION, consensus=True),
    Case("brushoff_team_after_new_year", situation("Vandelay Industries", [
        (4, Kind.MAYBE, "Let me discuss it with my boss after the new year"),
    ], contact="Art Vandelay"), DraftKind.OBJECTION),
    Case("silence_after_five_touches", situation("Stark Supplies", touches(12, 5),
                                                 contact="Pepper Potts", amount=Decimal("30000")),
         DraftKind.BREAKUP),
    Case("silence_after_eight_touches_emailed", situation("Wayne Freight", [
        (30, Kind.MAYBE, "maybe later"), *touches(25, 7), (2, Kind.TOUCH, "emailed again"),
    ], contact="Lucius Fox"), DraftKind.BREAKUP, email=True),
    Case("brushoff_then_four_unanswered", situation("Soylent Foods", [
        (20, Kind.MAYBE, "Happy with our current vendor, keep your card on file"), *touches(15, 4),
    ], contact="Sol Roth"), DraftKind.BREAKUP),
    Case("consensus_stage", situation("Cyberdyne Systems", [
        (10, Kind.STAGE, "consensus"), (6, Kind.MAYBE, "Need buy-in from finance and IT first"),
    ], contact="Miles Dyson", amount=Decimal("90000"), currency="USD"), DraftKind.MEETING, consensus=True),
    Case("passed_meeting", situation("Tyrell Corp", [
        (10, Kind.MEETING, "demo booked", ago(5)),
    ], contact="Rachael Tyrell", stage="review"), DraftKind.MEETING),
    Case("kolkata_passed_meeting", situation("Sharma Textiles Pvt Ltd", [
        (12, Kind.MEETING, "", ago(3, LATE_MON_KOLKATA)),
    ], rep="Priya Raghunathan", tz="Asia/Kolkata", now=LATE_MON_KOLKATA, contact="Rahul Sharma",
        amount=Decimal("450000"), currency="INR"), DraftKind.MEETING),
    Case("los_angeles_friday", situation("Pied Piper", [
        (9, Kind.MEETING, "intro call", ago(2, FRI_LA)),
    ], rep="Jared Dunn", tz="America/Los_Angeles", now=FRI_LA, contact="Richard Hendricks"),
        DraftKind.MEETING),
    Case("london_saturday_consensus", situation("Dunder Mifflin", [
        (3, Kind.STAGE, "Consensus"),
    ], rep="Jim Halpert", tz="Europe/London", now=SAT_LONDON, contact="Jan Levinson"),
        DraftKind.MEETING, consensus=True),
    Case("berlin_before_dst_change", situation("Bäckerei Schmidt", [
        (8, Kind.MEETING, "", ago(1, FRI_BEFORE_DST_END)),
    ], rep="Lukas Weber", now=FRI_BEFORE_DST_END, contact="Frau Schmidt"), DraftKind.MEETING),
    Case("sao_paulo_passed_meeting", situation("Padaria Pão Quente Ltda", [
        (6, Kind.MEETING, "", ago(2)),
    ], rep="João Silva", tz="America/Sao_Paulo", contact="Ana Souza"), DraftKind.MEETING),
    Case("stale_brushoff_then_passed_meeting", situation("Massive Dynamic", [
        (12, Kind.MAYBE, "send me some info"), (8, Kind.MEETING, "agreed a call", ago(3)),
    ], contact="Nina Sharp"), DraftKind.MEETING),
    Case("tiny_deal_huge_effort", situation("Corner Kiosk", [
        *touches(60, 4), (55, Kind.MAYBE, "not sure"), *touches(50, 3), (45, Kind.MAYBE, "maybe"),
        *touches(30, 2),
    ], contact="Bob", amount=Decimal("40"), currency="EUR"), DraftKind.ASK),
    Case("repeated_maybes", situation("Globex", [
        (30, Kind.MAYBE), (20, Kind.MAYBE), (10, Kind.MAYBE, "still thinking"),
    ], contact="Hank Scorpio", amount=Decimal("60000"), currency="USD", stage="decide"), DraftKind.ASK),
    Case("german_company", situation("Müller GmbH", [
        (8, Kind.MAYBE, "Klingt interessant, wir melden uns."),
    ], rep="Anna Schmidt", contact="Jürgen Müller", amount=Decimal("12000.50"), currency="EUR"), DraftKind.ASK),
    Case("japanese_company", situation("株式会社サンプル", touches(6, 2), rep="佐藤 花子", tz="Asia/Tokyo",
                                       contact="田中 太郎", amount=Decimal("3000000"), currency="JPY"),
         DraftKind.ASK),
    Case("spanish_names", situation("Café Olé S.A.", [
        (14, Kind.MAYBE, "Lo vemos"), (3, Kind.STAGE, "Resolve concerns"),
    ], rep="María José García", tz="America/Mexico_City", contact="José Ñúñez"), DraftKind.ASK),
    Case("no_contact_name", situation("Globex Widgets", touches(5, 1), contact=None), DraftKind.ASK),
    Case("blank_contact_name", situation("Blank Co", [(4, Kind.MAYBE, "hmm")], contact="   ",
                                         deal_id=2), DraftKind.ASK),
    Case("slack_markup_company", situation("*Bold* Corp <!channel>", [(6, Kind.MAYBE, "<@U999> says maybe")],
                                           contact="Jo"), DraftKind.ASK),
    Case("missing_amount_emailed", situation("Soylent Corp", [
        (9, Kind.TOUCH, "Emailed the proposal"), (4, Kind.TOUCH, "sent a follow-up email"),
    ], contact="Dr. Ana Lopez", stage="proposal", amount=None), DraftKind.ASK, email=True),
    Case("company_named_like_a_banned_phrase", situation("Discount Tire Co", [(5, Kind.MAYBE, "maybe")],
                                                         contact="Pat Lee"), DraftKind.ASK),
    Case("future_meeting_booked", situation("Wonka Industries", [
        (3, Kind.MEETING, "call booked", NOW + timedelta(days=4)),
    ], contact="Charlie Bucket"), DraftKind.ASK),
    Case("fresh_deal", situation("Aperture Science", created=0, contact="Cave Johnson"), DraftKind.ASK),
    Case("no_rep_name", situation("Black Mesa", touches(5, 2), rep="", contact="Gordon Freeman"), DraftKind.ASK),
    Case("unknown_time_zone", situation("Oceanic Airlines", touches(3, 1), tz="Mars/Olympus_Mons",
                                        contact="Jack Shephard"), DraftKind.ASK),
]
CASE_IDS = [c.name for c in CASES]
BY_NAME = {c.name: c for c in CASES}

# --------------------------------------------------------------------------- the rubric

BANNED = [
    "act now", "limited time", "last chance", "only today", "expires",
    "disappointed", "i thought we had", "wasted",
    "discount", "% off", "special price",
    "you need to", "you must", "don't miss",
]
# Explicit permission to say no: accepted phrasings.
NO_IS_FINE = [re.compile(p, re.IGNORECASE) for p in (
    r"\bno is (a )?(completely |perfectly |totally )?(fine|ok|okay|welcome|good answer|perfectly good answer)\b",
    r"\bif (it's|it is|the answer is|the honest answer is) (a )?(firm )?no\b[^.?!]{0,20}\b(completely |perfectly )?"
    r"(fine|ok|okay)\b",
    r"\bsaying no is (completely |perfectly )?(fine|ok|okay)\b",
    r"\b(it's|it is) (completely |perfectly )?(fine|ok|okay) to say no\b",
    r"\bjust (tell me|say so|let me know)\b[^.?!]{0,40}\bclose (it|this) out\b",
)]
PURPOSE = re.compile(r"\b(purpose|goal|agenda|agree|decide|next step|pick up where)\b", re.IGNORECASE)
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
SLOT = re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d{1,2}) (" + "|".join(_MONTHS) + r") at (\d{2}):(\d{2})\b")


def rep_zone(s: Situation) -> ZoneInfo:
    try:
        return ZoneInfo(s.tz)
    except Exception:  # noqa: BLE001 - unknown zones are treated as UTC by the product
        return ZoneInfo("UTC")


def time_options(text: str, s: Situation) -> list[datetime]:
    """The concrete meeting times named in `text`, as local datetimes in the rep's zone."""
    z = rep_zone(s)
    today = s.now.astimezone(z).date()
    out = []
    for wd, day, mon, hh, mm in SLOT.findall(text):
        month = _MONTHS.index(mon) + 1
        year = today.year if (month, int(day)) >= (today.month, today.day) else today.year + 1
        d = date(year, month, int(day))
        if _DAYS[d.weekday()] != wd:
            raise AssertionError(f"{wd} {day} {mon} is not a {wd}")
        out.append(datetime(year, month, int(day), int(hh), int(mm), tzinfo=z))
    return out


def _without_names(text: str, s: Situation) -> str:
    for name in (s.deal.company, s.deal.contact or ""):
        if name and name.strip():
            text = text.replace(" ".join(name.split()), "")
    return text


def rubric(d: Draft, s: Situation, email: bool | None = None) -> list[str]:
    """Everything wrong with draft `d` for situation `s`; [] means it passes."""
    bad: list[str] = []
    text = d.text
    words = len(text.split())
    if words > 120:
        bad.append(f"{words} words")
    company = " ".join(s.deal.company.split())
    contact_parts = (s.deal.contact or "").split()
    if company not in text and not any(p in text for p in contact_parts):
        bad.append("names neither the company nor the contact")
    bare = _without_names(text, s)  # the deal's own names are not our wording
    low = bare.lower().replace("\u2019", "'")
    bad += [f"banned phrase {p!r}" for p in BANNED if p in low]
    if bare.count("?") != 1:
        bad.append(f"{bare.count('?')} question marks")
    asks = d.kind in (DraftKind.ASK, DraftKind.BREAKUP, DraftKind.OBJECTION)
    if asks and not any(p.search(text) for p in NO_IS_FINE):
        bad.append("no explicit permission to say no")
    if d.kind is DraftKind.MEETING:
        try:
            opts = sorted(set(time_options(text, s)))
        except AssertionError as e:
            opts = []
            bad.append(str(e))
        if len(opts) < 2:
            bad.append(f"{len(opts)} concrete time options")
        local_today = s.now.astimezone(rep_zone(s)).date()
        for o in opts:
            if o.weekday() >= 5:
                bad.append(f"{o:%a %d %b} is a weekend")
            if not 8 <= o.hour < 18:
                bad.append(f"{o:%H:%M} is outside working hours")
            if o.date() <= local_today:
                bad.append(f"{o:%d %b} is not at least a working day ahead")
            if o.tzname() not in text:
                bad.append(f"zone {o.tzname()} not shown")
        if not PURPOSE.search(text):
            bad.append("no purpose")
        booked = s.deal.next_meeting_at
        if booked is not None and booked > s.now:  # the options are for the conversation after it
            day = booked.astimezone(rep_zone(s)).date()
            if f"{day.day} {_MONTHS[day.month - 1]}" not in text:
                bad.append("does not mention the meeting already booked")
            bad += [f"{o:%d %b} is not after the booked meeting" for o in opts if o.date() <= day]
        named = [a.when for a in s.history if a.kind is Kind.MAYBE and a.when is not None and a.when > s.now]
        if named:  # the prospect's own date beats any guess
            first = named[-1].astimezone(rep_zone(s)).date()
            bad += [f"{o:%d %b} is before the date the prospect named" for o in opts if o.date() < first]
    if re.search(r"[*_`<>#\[\]{}]", bare) or "None" in bare:
        bad.append("markup, placeholder or None in the text")
    if not d.why.strip() or "\n" in d.why:
        bad.append("why is not one line")
    if email is not None:
        if email and not (d.subject and d.subject.strip() and "\n" not in d.subject and len(d.subject) <= 80):
            bad.append(f"wants an email subject line, got {d.subject!r}")
        if not email and d.subject is not None:
            bad.append(f"no email: subject should be None, got {d.subject!r}")
    return bad
