"""The template drafts: the coach's own wording, deterministic, with a few variants per kind.

The words live here; what a situation means (kind, slots, brush-offs, safety) lives in
`handlers.domain.drafts`, which these templates only read. Pure: plain data in, a `Draft` out.
Just over 400 lines because most of it is wording tables (three variants of every part).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from handlers.domain.drafts import (
    BRUSHOFF_LABELS,
    Draft,
    DraftKind,
    Situation,
    Tone,
    booked_meeting,
    company_name,
    detect_brushoff,
    effort_outweighs_value,
    first_name,
    fmt_day,
    fold,
    format_slots,
    is_consensus_stall,
    last_touch_was_email,
    local_today,
    named_date,
    passed_meeting,
    slots_for,
)
from handlers.domain.model import Deal

_T = TypeVar("_T")


# --------------------------------------------------------------------------- template text

_WARM_OPEN = (
    "Thanks again for the time you've given this so far.",
    "I hope things are going well on your side.",
    "I appreciate you being open with me so far.",
)
_WARM_OPEN_SILENT = (  # for someone who hasn't answered: no thanks for openness they didn't show
    "I hope things are going well on your side.",
    "I know how full inboxes get.",
    "I hope the season is treating you well.",
)
_WARM_CLOSE = (
    "Either way, thank you, I appreciate it.",
    "Whatever you decide, it's been good talking with you.",
    "Thanks for being straight with me, whichever way it goes.",
)

_OPEN_QUESTIONS = (  # stage keyword -> the open question, as a 'whether' clause
    ("resolve", "whether the concerns you raised are settled enough for {company} to go ahead"),
    ("concern", "whether the concerns you raised are settled enough for {company} to go ahead"),
    ("consensus", "whether the team at {company} is ready to back this"),
    ("invest", "whether {company} wants to put budget behind this"),
    ("budget", "whether {company} wants to put budget behind this"),
    ("review", "whether the proposal works for {company} as it stands"),
    ("proposal", "whether the proposal works for {company} as it stands"),
    ("negotiat", "whether {company} and I can agree terms and go ahead"),
    ("decide", "whether {company} wants to go ahead"),
    ("decision", "whether {company} wants to go ahead"),
    ("execute", "whether {company} is ready to get started"),
    ("change", "whether {company} wants to change how this is done today"),
    ("collaborat", "whether {company} wants to work through this together with me"),
    ("explor", "whether {company} wants to explore this further"),
    ("time", "whether {company} can set aside time for this"),
)


def open_question(deal: Deal) -> str:
    stage = fold(deal.stage or "")
    for key, q in _OPEN_QUESTIONS:
        if key in stage:
            return q.format(company=company_name(deal))
    return f"whether {company_name(deal)} wants to work with us on this"


def times(n: int) -> str:
    """How often, in words: 'once', 'twice', 'five times'; 'before' when the count is unknown (0)."""
    words = {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times", 6: "six times",
             7: "seven times", 8: "eight times", 9: "nine times", 10: "ten times"}
    if n <= 0:
        return "before"
    return words.get(n, f"{n} times")


@dataclass(frozen=True)
class _Ctx:
    s: Situation
    company: str
    contact: str  # how to address them, '' when unknown
    rep: str  # the rep's first name, '' when unknown
    variant: int
    tone: Tone

    def pick(self, options: Sequence[_T]) -> _T:
        return options[self.variant % len(options)]


def _greeting(c: _Ctx) -> str:
    if c.contact:
        return f"Hi {c.contact},"
    return "Hi there," if c.variant % 2 == 0 else f"Hi team at {c.company},"


def _signoff(c: _Ctx) -> str:
    if not c.rep:
        return ""
    if c.tone in (Tone.SHORTER, Tone.DIRECT):
        return c.rep
    return f"{c.pick(('Best,', 'Thanks,', 'All the best,'))}\n{c.rep}" if c.tone is Tone.WARMER \
        else f"{c.pick(('Best,', 'Thanks,', 'Cheers,'))}\n{c.rep}"


def _assemble(c: _Ctx, paragraphs: list[str]) -> str:
    body = [_greeting(c)] + [p for p in (" ".join(x.split()) for x in paragraphs) if p]
    sign = _signoff(c)
    if sign:
        body.append(sign)
    return "\n\n".join(body)


def _ask_context(c: _Ctx) -> str:
    d = c.s.deal
    if effort_outweighs_value(d):
        return "We've gone back and forth on this for a while, and I want to respect your time."
    if d.maybe_count >= 2:
        return f"We've come back to this {times(d.maybe_count)} without landing on a decision, " \
               "and I'd rather not leave it hanging for you."
    if d.maybe_count == 1:
        return "Last time we spoke it was a maybe, and I don't want to leave you with an open loop."
    if d.touch_count:
        return f"I've been in touch {times(d.touch_count)} about {c.company} and want to make this easy to decide."
    return f"I wanted to check where {c.company} stands on this."


_ASK = (
    dict(open="The open question is {open}.",
         yes="If it's a yes, just reply and I'll line up the next step.",
         yes_short="A yes is all I need to get started.",
         no="If it's a no, that's completely fine, and honestly better for both of us than another maybe.",
         no_short="If it's a no, that's completely fine.",
         q="Where do you land?"),
    dict(open="What I'd like to know is simple: {open}.",
         yes="A one-word yes is enough and I'll take it from there.",
         yes_short="One word is enough.",
         no="A clear no is completely fine too; it lets us both move on.",
         no_short="A clear no is completely fine too.",
         q="Shall we go ahead?"),
    dict(open="I'd like to settle one thing: {open}.",
         yes="If you're in, reply yes and I'll send over the next steps.",
         yes_short="Reply yes and I'll handle the rest.",
         no="If not, saying no is completely fine, and I'll close this out on my side.",
         no_short="Saying no is completely fine.",
         q="Is it a yes or a no?"),
)


def _ask_text(c: _Ctx) -> str:
    v = c.pick(_ASK)
    open_ = v["open"].format(open=open_question(c.s.deal))
    if c.tone is Tone.SHORTER:
        return _assemble(c, [f"{open_} {v['q']}", f"{v['yes_short']} {v['no_short']}"])
    if c.tone is Tone.DIRECT:
        return _assemble(c, [f"{open_} {v['q']}", f"{v['yes']} {v['no']}"])
    paras = [f"{_ask_context(c)} {open_}", f"{v['yes']} {v['no']}", v["q"]]
    if c.tone is Tone.WARMER:
        paras = [f"{c.pick(_WARM_OPEN)} {paras[0]}", paras[1], f"{v['q']} {c.pick(_WARM_CLOSE)}"]
    return _assemble(c, paras)


def _meeting_parts(c: _Ctx) -> tuple[str, str, str]:
    """(purpose as an infinitive phrase, who should attend, short attendee line)."""
    s, d = c.s, c.s.deal
    if is_consensus_stall(d):
        return (f"get everyone who has a say in one conversation, so {c.company} can decide together",
                "Please bring the other decision makers, for example whoever owns the budget, "
                "so everyone hears the same thing.",
                "Please bring the other decision makers.")
    passed = passed_meeting(s)
    if passed is not None:
        return (f"pick up where we left off on {fmt_day(passed, s.tz)} and agree the next step "
                f"for {c.company}",
                "Just the two of us is fine, or bring anyone else who should weigh in.", "")
    return (f"agree whether and how {c.company} moves forward",
            "Feel free to bring anyone else who should weigh in.", "")


def _booked_line(c: _Ctx) -> str:
    """The meeting already on the calendar, so the request is plainly for the conversation after it."""
    booked = booked_meeting(c.s)
    if booked is None:
        return ""
    return f"Our call on {fmt_day(booked, c.s.tz)} is in the calendar; this is for the conversation after it."


def _meeting_text(c: _Ctx) -> str:
    slots = format_slots(slots_for(c.s), c.s.tz)
    purpose, who, who_short = _meeting_parts(c)
    booked = _booked_line(c)
    if c.tone is Tone.SHORTER:
        return _assemble(c, [f"{booked} Could we book 30 minutes to {purpose}? {slots}.", who_short])
    if c.tone is Tone.DIRECT:
        return _assemble(c, [f"{booked} I'd like 30 minutes with you to {purpose}. Options: {slots}.",
                             f"{who} Which one works?"])
    variants = (
        [f"I'd like to book 30 minutes to {purpose}.", f"Would {slots} work for you? {who}",
         "If neither suits, send me a time that does."],
        ["Let's put our next conversation on the calendar.", f"The goal is to {purpose}. I can do {slots}.",
         f"{who} Which of the two suits you better?"],
        [f"So this doesn't drift, I'd suggest a 30-minute call to {purpose}.", f"Two options: {slots}.",
         f"{who} Does one of those work?"],
    )
    paras = c.pick(variants)
    paras = [f"{booked} {paras[0]}", *paras[1:]]
    if c.tone is Tone.WARMER:
        paras = [f"{c.pick(_WARM_OPEN)} {paras[0]}", *paras[1:], c.pick(_WARM_CLOSE)]
    return _assemble(c, paras)


_BREAKUP = (
    dict(open="I've reached out {times} about {company} and I don't want to keep bothering you.",
         no="If this isn't a priority right now, just tell me and I'll close it out; a no is completely fine.",
         busy="Otherwise I'll assume you're busy and try again in a few weeks.",
         q="Is it still worth keeping open?"),
    dict(open="I've tried you {times} without reaching you, so this is my last note for a while.",
         no="If {company} has decided against it, a one-line no is completely fine and I'll close this out.",
         busy="If the timing is just bad, tell me when to come back.",
         q="Is it a no for now?"),
    dict(open="I don't want to fill your inbox, and I've written to you {times} about {company}.",
         no="If it's a no, that's completely fine: just say so and I'll close it out.",
         busy="If you're simply busy, I'll take that as a not-yet and check back later.",
         q="Where do things stand on your side?"),
)


def _breakup_text(c: _Ctx) -> str:
    v = c.pick(_BREAKUP)
    n = max(c.s.deal.touches_since_answer, 0)
    fill = dict(times=times(n), company=c.company)
    open_, no, busy, q = (v[k].format(**fill) for k in ("open", "no", "busy", "q"))
    if c.tone is Tone.SHORTER:
        return _assemble(c, [open_, f"{no} {q}"])
    if c.tone is Tone.DIRECT:
        return _assemble(c, [f"{open_} {q}", no])
    paras = [open_, f"{no} {busy}", q]
    if c.tone is Tone.WARMER:
        paras = [f"{c.pick(_WARM_OPEN_SILENT)} {open_}", f"{no} {busy}", f"{q} {c.pick(_WARM_CLOSE[:2])}"]
    return _assemble(c, paras)


_OBJECTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "partner": dict(
        ack=("You mentioned {company} already has a partner for this and isn't looking to change.",
             "I hear you: you already have someone for this at {company}.",
             "Understood that {company} is set with a partner today."),
        real=("The real question is whether your current setup covers everything you need.",
              "Usually the question behind that is whether anything is missing today.",
              "Good partners rarely cover everything, so one honest check."),
        q=("Is there one gap at {company} worth a 20-minute look?",
           "Would a short side-by-side for {company} be useful?",
           "Is there anything your partner doesn't handle for {company} that you'd like handled?"),
        no=("If it's a firm no, that's completely fine and I'll close this out.",
            "If not, a clear no is completely fine and I'll step back.",
            "If there isn't, saying no is completely fine and I won't chase you."),
    ),
    "supplier": dict(
        ack=("You said you're happy with your current supplier and would keep my details on file.",
             "Thanks for saying you'd keep my details on file at {company}.",
             "Glad your current supplier is working out."),
        real=("In my experience that usually means 'not now', so let me ask plainly.",
              "Rather than sit in a file, I'd like to ask the real question.",
              "A file rarely gets opened, so here is the one question that matters."),
        q=("Is there anything you'd change about how {company} is supplied today, if you could?",
           "Is there one thing your current supplier could do better for {company}?",
           "If {company} could fix one thing about its current supply, what would it be?"),
        no=("If the honest answer is no, a clear no is completely fine and I won't keep checking in.",
            "If it's a no, that's completely fine and I'll close this out.",
            "If the answer is nothing, a clear no is completely fine and I'll leave you be."),
    ),
    "new_year": dict(
        ack=("Happy to pick this up after the new year.", "The new year makes sense for {company}.",
             "Thanks for the steer on timing."),
        real=("So it doesn't just slip, it helps to know whether timing is the only thing in the way.",
              "I just want to be sure it's the timing and not the priority.",
              "Dates set months ahead tend to drift, so one quick check."),
        q=("If timing is the only issue for {company}, shall we put 20 minutes in the calendar {when} now?",
           "Could we book a short call now {when}, so {company} has a date rather than a reminder?",
           "Shall I send {company} a calendar invite for a short call {when}?"),
        no=("And if it's really not a priority, a clear no is completely fine and better than a reminder from me.",
            "If it's more of a no than a not-yet, that's completely fine: just tell me and I'll close it out.",
            "If it's a no, that's completely fine too; I'd rather know than send a reminder."),
    ),
    "send_info": dict(
        ack=("Happy to send some information.", "Glad to email something over.",
             "Of course, I can put something in writing."),
        real=("To send something useful rather than a generic brochure, let me check one thing first.",
              "To make it worth your reading time, let me check one thing.",
              "So it isn't one more attachment you never open, one question first."),
        q=("Is this something {company} wants to act on this year?",
           "Is this a problem {company} is actively trying to solve right now?",
           "Which part matters most to {company} right now, so I send just that?"),
        no=("If it isn't, a clear no is completely fine and saves you a brochure.",
            "If the answer is no, that's completely fine, and I'll close it out rather than fill your inbox.",
            "And if none of it is a priority, a clear no is completely fine."),
    ),
    "team": dict(
        ack=("Makes sense to talk it over with your team.", "Of course, this should be a team decision at {company}.",
             "Good idea to bring the team in."),
        real=("Usually the question is what the others need to hear to decide.",
              "The tricky part is often answering everyone's questions second-hand.",
              "Decisions like this go faster when everyone hears the same thing."),
        q=("Would it help if I joined that conversation at {company} for 20 minutes to answer questions directly?",
           "Could we set up 20 minutes with the people at {company} who'll weigh in, so they can ask me directly?",
           "Who else at {company} will weigh in, and could we get them on one short call?"),
        no=("And if the team decides it's not for you, a clear no is completely fine.",
            "If the answer is no, that's completely fine; just let me know and I'll close it out.",
            "If the team lands on no, a clear no is completely fine too."),
    ),
    "": dict(  # a maybe with no recognisable brush-off
        ack=("Last time you said you'd think about it.", "I know we left {company} at a maybe.",
             "Thanks for considering this so far."),
        real=("Usually a maybe means there's one open question.", "Often there's one concern still in the way.",
              "A maybe usually hides one thing that isn't settled."),
        q=("Is there one concern I can answer for {company}, or is it a no?",
           "What's the one thing still holding {company} back?",
           "What would {company} need to see to decide either way?"),
        no=("A clear no is completely fine too, and I'll close it out.",
            "If it's a no, that's completely fine: just say so.",
            "Saying no is completely fine, and better than leaving it open."),
    ),
}


def _objection_text(c: _Ctx) -> str:
    key = detect_brushoff(c.s.deal.last_maybe_note) or ""
    t = _OBJECTIONS[key]
    named = named_date(c.s)  # the prospect's own date beats our guess of when "the new year" starts
    when = (f"for the week of {fmt_day(named, c.s.tz)}" if named is not None
            else c.pick(("for early January", "for the second week of January", "in the second week of January")))
    ack, real, q, no = (c.pick(t[k]).format(company=c.company, when=when) for k in ("ack", "real", "q", "no"))
    if c.tone is Tone.SHORTER:
        return _assemble(c, [f"{ack} {q}", no])
    if c.tone is Tone.DIRECT:
        return _assemble(c, [f"{real} {q}", no])
    paras = [ack, f"{real} {q}", no]
    if c.tone is Tone.WARMER:
        paras = [f"{c.pick(_WARM_OPEN)} {ack}", f"{real} {q}", f"{no} {c.pick(_WARM_CLOSE)}"]
    return _assemble(c, paras)


def brushoff_example(key: str | None, variant: int = 0) -> str:
    """A reply to a brush-off (a BRUSHOFF_KEYS key; None: a vague maybe) with no deal behind it, for the
    coach's answer to "how do I answer ...?": the template reply's four parts, addressed to "your company"."""
    t = _OBJECTIONS[key if key in _OBJECTIONS else ""]
    return " ".join(t[k][variant % len(t[k])].format(company="your company", when="for the second week of January")
                    for k in ("ack", "real", "q", "no"))


_SUBJECTS = {
    DraftKind.ASK: ("{company}: yes or no is fine", "A quick decision on {company}", "Where {company} stands"),
    DraftKind.MEETING: ("Next conversation: {company}", "30 minutes to agree next steps, {company}",
                        "Two times for our next call"),
    DraftKind.BREAKUP: ("Closing the loop, {company}", "Happy to close this out, {company}", "One last note from me"),
    DraftKind.OBJECTION: ("Re: {company}", "One question before I send anything",
                          "Following up on your note, {company}"),
}


def _why(s: Situation, kind: DraftKind) -> str:
    d = s.deal
    if kind is DraftKind.ASK:
        if effort_outweighs_value(d):
            return ("The effort here is far beyond the deal's value, so ask for a decision and be ready "
                    "to take the no gracefully (playbook §6).")
        maybes = f"{d.maybe_count} maybes cost" if d.maybe_count >= 2 else "a maybe left open costs"
        return (f"Asks for the decision directly and makes a no explicitly welcome: {maybes} more "
                "than one clear no (playbook §1).")
    if kind is DraftKind.MEETING:
        if is_consensus_stall(d):
            return ("Purpose, two concrete times and the other decision makers invited: consensus is the "
                    "stall reps prepare for least, and a meeting needs a next meeting (playbook §2-3).")
        return ("A meeting without a next meeting drifts toward a silent no, so this names a purpose, "
                "two concrete times and who should attend (playbook §2).")
    if kind is DraftKind.BREAKUP:
        n = d.touches_since_answer
        attempts = f"{n} attempts" if n >= 2 else "One attempt" if n == 1 else "Attempts"
        return (f"{attempts} without an answer: a polite last try that leaves the ball in their court "
                "usually earns a reply, and silence isn't a no (playbook §5).")
    key = detect_brushoff(d.last_maybe_note)
    label = f'"{BRUSHOFF_LABELS[key]}"' if key else "A vague maybe"
    return (f"{label} is usually a maybe in disguise; naming the real question invites a clear next "
            "step or a clear no (playbook §4).")


_TEXT: dict[DraftKind, Callable[[_Ctx], str]] = {
    DraftKind.ASK: _ask_text,
    DraftKind.MEETING: _meeting_text,
    DraftKind.BREAKUP: _breakup_text,
    DraftKind.OBJECTION: _objection_text,
}
VARIANTS = 3  # every kind has this many template variants


def auto_variant(s: Situation) -> int:
    """A variant that differs between deals and days but is stable within a day."""
    key = str(s.deal.id) if s.deal.id is not None else f"{s.deal.owner_id}:{s.deal.company}"
    day = local_today(s.now, s.tz).toordinal()
    return zlib.crc32(f"{key}|{day}".encode()) % VARIANTS


def subject_for(s: Situation, kind: DraftKind, variant: int) -> str | None:
    """An email subject line, only when the last exchange was by email."""
    if not last_touch_was_email(s):
        return None
    options = _SUBJECTS[kind]
    return options[variant % len(options)].format(company=company_name(s.deal))


def template_draft(s: Situation, kind: DraftKind, tone: Tone = Tone.DEFAULT,
                   variant: int | None = None) -> Draft:
    """A deterministic draft of `kind` in `tone`; `variant` None picks one from the deal id and day."""
    kind, tone = DraftKind(kind), Tone(tone)
    v = auto_variant(s) if variant is None else variant % VARIANTS
    c = _Ctx(s=s, company=company_name(s.deal), contact=first_name(s.deal.contact),
             rep=first_name(s.rep_name), variant=v, tone=tone)
    text = _TEXT[kind](c)
    return Draft(kind=kind, text=text, why=_why(s, kind), subject=subject_for(s, kind, v),
                 source="template", tone=tone, variant=v)
