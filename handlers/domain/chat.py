"""One chat line from a rep ("Acme said maybe again, try after Jan 15") as a proposed deal update.

Offline and rule-based: keyword phrases in the tables below, no model, no network.
The bot shows the proposal and writes nothing until the rep confirms it, so this
module may guess; `confidence` says how sure the guess is (below 0.5 the bot asks
instead of proposing).

How a line is read:
1. Slack markup goes: mentions (`<@U123>`) and URLs are dropped for parsing,
   link labels kept. The note keeps everything, rendered as plain text.
2. The company: first the rep's own deals (`companies`), compared folded (case,
   accents, full-width forms do not matter), on word boundaries, longest match
   wins; a multi-word name is also found by its legal-form-free core ("Big Blue"
   for "Big Blue Inc") and its distinctive first word ("Acme" for "Acme Corp").
   Otherwise a capitalised name in a telling position (NAME_AFTER / NAME_BEFORE /
   NEW_DEAL). The company's words are then blanked out, so "Maybe Labs signed"
   is WON, not MAYBE.
3. The outcome: every phrase of PHRASES that occurs, overlaps resolved longest
   first ("we said no" is DROP, never also NO). A phrase right after a negation
   ("didn't say no") does not count; a NO followed by a softener ("not interested
   yet") is a MAYBE. Then PRECEDENCE picks one kind.
4. The date (MEETING and MAYBE only) comes from `handlers.domain.when.find_when`:
   the first date still ahead of `now`, skipping clauses about a meeting that
   already happened ("met Acme on Monday, next mtg Thursday" is Thursday).

Decisions:
- None for chatter: no outcome phrase and none of the rep's companies, or a
  question to the bot ("how do I ...?", "did Globex sign?"), or an emoji alone.
- A known company with no outcome is a NOTE (confidence 0.6), so nothing the rep
  tells about a deal is lost; an unknown one is a NOTE at 0.4 (the bot asks).
- An outcome without any company is proposed with company "" at 0.3: the bot
  asks which deal.
- Two or more of the rep's deals in one line: the longest name is proposed, at
  0.45, since one proposal cannot log both.
- "not a fit" alone counts as our decision (DROP); "not a fit for them" is NO.
- Only the first 2,000 characters are parsed (the note keeps the whole text).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from handlers.domain.amounts import AmountError, currency_code, parse_amount
from handlers.domain.model import Kind
from handlers.domain.when import find_when

MAX_PARSE = 2000

# --------------------------------------------------------------------------------------------
# Outcome phrases.
#
# Mini-syntax (compiled once by `_compile`): words separated by spaces; "a|b" are alternatives
# for one word; a trailing "?" makes a word optional; "<co>" is the company named in the line;
# "<end>" is the end of a clause; "^" the start of the line. Phrases are matched against the
# line folded (lowercase, no accents), without apostrophes ("didn't" reads as "didnt"), with
# hyphens as spaces and ABBREVIATIONS expanded ("vm" reads as "voicemail").
# --------------------------------------------------------------------------------------------
PHRASES: dict[Kind, tuple[str, ...]] = {
    Kind.MAYBE: (  # an answer, but no decision: the polite brush-offs of playbook section 4
        "said|says|say maybe", "maybe again", "maybe later", "maybe next week|month|quarter|year",
        "maybe in|after", "maybe",
        "not now", "not right now", "not at the moment", "not at this time", "not this year|quarter|month",
        "not ready", "not a priority", "not the right time", "bad timing", "timing isnt right", "on hold",
        "send|email|mail me|us? some|more? info|information|details|materials|brochure|deck|pricing",
        "asked for some|more? info|information|details", "wants some|more? info|information|details",
        "try me|us again? after|in|next|later|around|from", "try again? after",
        "circle back", "check back", "reach out again? after|in|next", "reconnect after|in|next",
        "touch base after|in|next", "call|ping me|us after|in|next|back",
        "next quarter", "next year", "next fiscal", "later this year", "in q1|q2|q3|q4|h1|h2",
        "after the? new year|holidays", "first of the year", "in the new year",
        "talk|talking it over", "talk|talking|check|checking to|with the|my|their|his|her team|boss|manager|cfo|ceo",
        "run it by", "think about it", "think it over", "thinking about it", "mull it over", "sleep on it",
        "get|getting back to me|us|you", "let me|us know",
        "already have|has|use|using a|an? partner|vendor|supplier|provider|solution|agency",
        "already work|working with a|an? partner|vendor|supplier|provider|solution|agency",
        "happy|satisfied|fine with our|their|the current|existing? supplier|vendor|provider|partner|solution|setup|agency",
        "keep|keeping|keeps your|our info|information|details|card|number|deck on file", "on file",
        "pushed it? to|back", "revisit", "budget frozen|freeze", "no budget until|till|before|this",
    ),
    Kind.TOUCH: (  # an attempt that got no answer
        "voicemail", "voicemails", "left a|another? message|msg", "left word",
        "no answer", "no reply", "no response", "no pickup", "no callback", "no call back", "no word",
        "radio silence", "crickets",
        "didnt pick up", "didnt answer|reply|respond", "didnt call|get back",
        "not picking up", "not answering|responding|replying",
        "noone|nobody answered|replied", "noone|nobody picked up",
        "havent|hasnt|hadnt|not|never replied|responded|answered|heard", "havent|hasnt|hadnt|never called|got|gotten|heard back",
        "emailed", "sent a|an|another? follow up", "sent a|an|another? email|note|message|text|reminder|inmail",
        "followed up", "follow up sent|email",
        "called", "rang", "dialed", "pinged", "chased", "texted", "messaged", "reached out",
        "tried calling|emailing|again", "tried to reach|call", "ghosted", "ghosting", "still waiting", "waiting to hear",
        "in a meeting", "out of office", "ooo",  # tried, but did not reach them
    ),
    Kind.MEETING: (  # a conversation; a next one when a date comes with it
        "met", "meeting", "meetings", "next meeting", "next call", "demo", "demos", "demoed", "walkthrough",
        "meeting|demo on|set|booked|scheduled|confirmed|tomorrow|tmrw|at|for",
        "call on|booked|scheduled|set|confirmed|with|at|for",
        "call|zoom tomorrow|tmrw|next|this|monday|tuesday|wednesday|thursday|friday|mon|tue|tues|wed|thu|thur|thurs|fri",
        "booked|scheduled|confirmed|got|set a|the|another|next? call|demo|walkthrough|session|zoom",
        "set up a|the|another|next? call|demo|walkthrough|session|zoom|meeting",
        "lunch with", "coffee with", "sat down with", "zoom with",
    ),
    Kind.WON: (  # the prospect said yes
        "signed", "contract signed", "inked", "closed won", "closed <co>|it|them", "closed the|a deal|contract",
        "won", "theyre in <end>", "<co> is|are in <end>", "said|says yes", "verbal yes|commit",
        "its a yes|go", "deal done", "done deal", "accepted the? proposal|quote|offer",
        "went with us|our", "chose|picked|selected us|our", "purchase order", "po received|arrived|landed",
        "po came|is in",
        "got|received the|a po", "sent|issued us? the|a? po", "🎉", "🥳", "🍾", ":tada:", ":champagne:", ":partying_face:", ":confetti_ball:",
    ),
    Kind.NO: (  # a hard no from the prospect
        "said|says|say no", "hard no", "got|its|thats a no", "gave us|me a no", "no go", "not interested",
        "passed <end>", "passed on", "pass <end>", "went with",
        "chose|picked|selected another|someone|somebody|competitors",
        "chose|picked|selected|went for a|the? different|other|competing? competitor|competition|vendor|provider|supplier|option|one",
        "not a fit for them|their", "not the right fit for them|their",
        "lost to", "lost the deal", "lost it", "we lost", "closed lost",
        "declined", "turned us|me|it down", "rejected", "not moving forward", "not going ahead|forward",
        "decided not to", "decided against", "no thanks", "no thank you",
        "stop contacting|calling|emailing", "dont contact|call|email", "unsubscribe",
    ),
    Kind.DROP: (  # we decided it is not a fit (playbook sections 6 and 7)
        "dropping|drop|dropped <co>|it|them|this", "dropping|drop|dropped the deal|lead|account", "were dropping", "disqualified", "disqualify",
        "disqualifying", "dq", "dqd", "dqed", "not a fit", "not a good fit", "not a fit for us",
        "not the right fit", "we said no", "i said no", "told them no", "walking away", "walk away",
        "walked away", "not worth it|chasing|pursuing", "not worth the time|effort", "not pursuing", "no longer pursuing",
        "stop chasing|pursuing", "giving|gave up on", "letting|let it|them|<co> go", "moving on from",
    ),
    Kind.ADDED: (  # a new deal
        "^ new lead|deal|prospect|opp|opportunity|account|logo", "^ add|adding|added",
    ),
    Kind.NOTE: (  # the prospect spoke, but said nothing decisive: keeps "called" (TOUCH) from matching
        "called back", "called me|us", "returned my|our call", "got back to me|us", "replied", "responded",
        "answered", "picked up", "heard back",
        # not a win: paperwork before the deal
        "signed|sent|countersigned the|an|a|our|their? nda|mnda", "signed up",
    ),
}

# Single-word outcome phrases common enough in other senses that they alone give less confidence.
WEAK = frozenset({"maybe", "meeting", "meetings", "demo", "demos", "met", "called", "won", "🎉", "🥳", "🍾",
                  ":tada:", ":champagne:", ":partying_face:", ":confetti_ball:"})
EMOJI = frozenset({"🎉", "🥳", "🍾", ":tada:", ":champagne:", ":partying_face:", ":confetti_ball:"})

# When several kinds match, the first in this order wins. Why this order:
# - WON first: a yes is the news ("said no to the upsell but signed the base plan").
# - NO before DROP: if the prospect said no, the decision was theirs, even when we also walk
#   away ("went with a competitor, so we're dropping it"); playbook section 5.
# - DROP before the open outcomes: the rep took the no ("maybe again, we're walking away").
# - A MEETING with a date ahead before MAYBE: a next conversation on the calendar is a next
#   step, whatever else was said ("said maybe, but booked a call for Dec 3").
# - MAYBE before an undated MEETING: "met Umbrella, they said maybe" is a maybe; a meeting
#   without a next meeting is no progress (playbook section 2).
# - Any answer before TOUCH: "left a voicemail, they said maybe later" means they answered.
# - ADDED late: "new lead: Stark, said maybe" is best proposed as MAYBE on a new company (the
#   bot's [Add as new deal] creates the deal and logs the maybe).
# - NOTE last: answers without a decision ("called back"), or a company alone.
MEETING_DATED = "meeting+date"
PRECEDENCE: tuple[Kind | str, ...] = (Kind.WON, Kind.NO, Kind.DROP, MEETING_DATED, Kind.MAYBE, Kind.MEETING,
                                      Kind.TOUCH, Kind.ADDED, Kind.NOTE)

# A phrase right after one of these (in the same clause, at most 3 words back) does not count.
NEGATORS = frozenset({"not", "never", "didnt", "doesnt", "dont", "wont", "isnt", "arent", "wasnt", "werent",
                      "hasnt", "havent", "hadnt", "cant", "cannot", "couldnt", "wouldnt", "shouldnt", "aint",
                      "nobody", "noone", "neither", "nor", "without"})
# A NO followed by one of these is a MAYBE: "not interested yet", "said no for now".
SOFTENERS = ("yet", "right now", "for now", "at the moment", "atm", "at this time", "this year", "this quarter",
             "this month", "until", "till", "til", "before", "just now", "for the moment")
# A bare "maybe" followed by one of these is the rep thinking aloud: "maybe I should call Acme".
MUSING = frozenset({"i", "ill", "im", "ive", "id", "we", "should", "its", "you"})
# A line that starts with one of these and has a "?" asks the bot something: not an update.
QUESTION_WORDS = frozenset({"how", "what", "whats", "why", "where", "when", "who", "which", "can", "could",
                            "should", "do", "does", "did", "is", "are", "will", "would", "shall", "any", "has",
                            "have", "help"})
# Rep shorthand, read as the words it stands for (whole words only; "w/" and "f/u" included).
ABBREVIATIONS = {
    "vm": "voicemail", "vms": "voicemails", "vmd": "left voicemail", "lvm": "left voicemail",
    "lm": "left message", "l/m": "left message", "msg": "message", "msgd": "messaged",
    "mtg": "meeting", "mtng": "meeting", "mtgs": "meetings", "meetin": "meeting",
    "f/u": "follow up", "fu": "follow up", "f/up": "follow up", "followup": "follow up", "fup": "follow up",
    "w/": "with ", "w": "with", "b/c": "because", "pls": "please", "plz": "please", "thx": "thanks", "ty": "thanks",
    "e-mail": "email", "e-mailed": "emailed", "emaild": "emailed", "infos": "info", "nxt": "next",
    "yr": "year", "qtr": "quarter", "interessted": "interested", "intrested": "interested",
    "intersted": "interested", "interestd": "interested", "mayb": "maybe", "mabye": "maybe",
    "maybee": "maybe", "myabe": "maybe", "sigend": "signed", "singed": "signed", "sined": "signed", "signd": "signed",
    "demod": "demoed", "n/i": "not interested", "em": "them", "no one": "noone", "u": "you",
    # One spelling per negation, so one phrase covers both: "did not pick up" = "didnt pick up", and
    # "isnt interested" = "is not interested" (so "not interested" matches).
    "did not": "didnt", "do not": "dont", "does not": "doesnt", "have not": "havent", "has not": "hasnt",
    "will not": "wont", "cannot": "cant", "isnt": "is not", "arent": "are not", "wasnt": "was not",
    "werent": "were not",
}
# A clause with one of these words talks about a meeting that happened: its dates are not the next one.
PAST_MEETING = frozenset({"met", "had"})

# --------------------------------------------------------------------------------------------
# Company names the bot does not know yet: a capitalised name right after one of NAME_AFTER,
# right before one of NAME_BEFORE, or (any case) after a NEW_DEAL cue at the start of the line.
# --------------------------------------------------------------------------------------------
NAME_AFTER = ("met with", "met", "meeting with", "meeting w/", "mtg with", "mtg w/", "call with", "demo with",
              "demo for", "lunch with", "coffee with", "voicemail for", "voicemail to", "vm for", "vm to",
              "left a message for", "left a message with", "emailed", "called", "pinged", "chased", "texted",
              "followed up with", "f/u with", "f/u to", "follow-up to", "heard back from", "signed", "closed",
              "won", "lost", "dropping", "disqualified", "no answer from", "no reply from")
NAME_BEFORE = ("said", "says", "signed", "passed", "went with", "chose", "picked", "is in", "are in", "wants",
               "asked", "replied", "came back", "got back", "didn't", "did not", "never", "won't", "is not",
               "isn't", "not interested", "is", "are", "will", "has")
NEW_DEAL = ("new lead", "new deal", "new prospect", "new opportunity", "new opp", "new account", "adding",
            "added", "add")
# Words that end a lowercase new-deal name: "new lead: hooli from the conference".
NAME_STOPS = frozenset({"from", "via", "at", "in", "for", "with", "who", "said", "says", "next", "contact",
                        "stage", "and", "they", "met", "is", "are", "wants", "-", "–", "—", "note", "amount"})
# Capitalised words that are not company names.
NOT_NAMES = frozenset({
    "i", "we", "they", "he", "she", "it", "you", "them", "their", "our", "my", "his", "her", "us", "me",
    "the", "a", "an", "this", "that", "these", "those", "then", "so", "and", "but", "or", "also", "just",
    "today", "tomorrow", "yesterday", "tonight", "tmrw", "finally", "again", "still", "maybe", "ok", "okay",
    "yes", "no", "hi", "hey", "hello", "thanks", "lol", "fyi", "btw", "update", "quick", "good", "great",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "mon", "tue", "wed", "thu",
    "fri", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "january",
    "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "q1", "q2", "q3", "q4", "ceo", "cfo", "cto", "coo", "cmo", "cio", "vp", "head", "director",
    "manager", "buyer", "procurement", "legal", "team", "boss", "contact", "champion", "someone", "everyone",
    "nobody", "client", "customer", "prospect", "lead", "deal", "he's", "she's", "they're", "we're", "i'm",
    "vm", "mtg", "left", "met", "called", "emailed", "sent", "new", "next", "call", "meeting", "demo",
})
ROLES = frozenset({"ceo", "cfo", "cto", "coo", "cmo", "cio", "vp", "head", "director", "manager", "buyer",
                   "procurement", "legal", "team", "boss", "contact", "champion", "founder", "owner"})
# Legal forms: "Acme Corp" is also found as "Acme", "株式会社サンプル" as "サンプル".
LEGAL_FORMS = frozenset({"inc", "corp", "corporation", "co", "llc", "ltd", "limited", "gmbh", "ag", "sa",
                         "sas", "sarl", "bv", "nv", "plc", "pty", "kk", "oy", "ab", "as", "srl", "spa",
                         "se", "lp", "llp", "pte", "kg", "ug", "oyj", "asa"})
LEGAL_AFFIXES = ("株式会社", "有限会社", "合同会社", "(株)", "股份有限公司", "有限公司")
# Everyday words a deal's first word is not found by alone, and single-word deal names that must
# be capitalised to count ("next" in "next meeting" is not the company Next).
COMMON_WORDS = frozenset({
    "the", "and", "for", "with", "from", "about", "after", "before", "again", "all", "any", "big", "best",
    "blue", "red", "green", "black", "white", "bright", "first", "global", "general", "great", "good", "new",
    "next", "open", "one", "our", "out", "over", "just", "day", "time", "data", "smart", "team", "work",
    "home", "world", "north", "south", "east", "west", "american", "national", "international", "united",
    "city", "bank", "health", "care", "digital", "media", "tech", "systems", "solutions", "group",
    "services", "partners", "capital", "energy", "power", "cloud", "soft", "net", "web", "high", "top",
    "sun", "star", "apple", "amazon", "target", "square", "block", "meta", "signal", "zoom", "slack",
    "today", "tomorrow", "call", "back", "will", "not", "yes", "now", "later", "they", "them", "this", "that",
    "deal", "lead", "note", "info", "email", "office", "company", "true", "real", "live", "hub",
}) | NOT_NAMES

# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    kind: Kind  # MAYBE, TOUCH, MEETING, WON, NO, DROP, NOTE or ADDED
    company: str  # as the rep's deal is named when known, else as written; "" when none was found
    known: bool  # True when `company` is one of the rep's deals
    when: datetime | None = None  # aware UTC: next meeting (MEETING) or "try after" date (MAYBE)
    note: str = ""  # the message itself, trimmed, Slack markup as plain text
    amount_text: str | None = None  # "$20k" as written, when the line names an amount
    confidence: float = 1.0  # 0..1; below 0.5 the bot asks rather than proposes


# --- Slack markup -----------------------------------------------------------------------------

_MARKUP = re.compile(r"<([^<>\n]*)>")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def _unescape(s: str) -> str:
    for entity, char in _ENTITIES:
        s = s.replace(entity, char)
    return s


def _render(inner: str, for_note: bool) -> str:
    """One `<...>` of Slack markup as plain text: for the note (lossless) or for parsing."""
    target, _, label = inner.partition("|")
    if not target:  # "<>" or "<|x>": not Slack markup, just text
        return f"<{inner}>" if for_note else " "
    if target[0] in "@#!":  # <@U123>, <@U123|bob>, <#C1|general>, <!here>
        if for_note:
            return ("#" if target[0] == "#" else "@") + (label or target[1:])
        return ""
    if target.startswith("mailto:"):
        return label or target[len("mailto:"):]
    if not label:
        return target if for_note else ""
    bare = re.sub(r"^[a-z]+://", "", target).rstrip("/")
    return label if not for_note or label.rstrip("/") in (bare, target) else f"{label} ({target})"


def _plain(text: str, for_note: bool) -> str:
    return _unescape(_MARKUP.sub(lambda m: _render(m[1], for_note), text))


def note_text(text: str) -> str:
    """A Slack message as the note a proposal keeps: trimmed, markup as plain text ("<@U1|bob>" -> "@bob")."""
    return _plain(str(text), for_note=True).strip()


# --- folding ----------------------------------------------------------------------------------

def _fold_map(s: str) -> tuple[str, list[int]]:
    """`s` folded (casefolded, accents stripped, compatibility forms) and, per folded char, its index in `s`."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(s):
        for c in unicodedata.normalize("NFKD", ch.casefold()):
            if unicodedata.combining(c):
                continue
            for d in c.casefold():
                out.append(d)
                where.append(i)
    return "".join(out), where


def _fold(s: str) -> str:
    return " ".join(_fold_map(s)[0].split())


def _continua(c: str) -> bool:
    """Scripts written without spaces between words: a name there needs no word boundary."""
    o = ord(c)
    return (0x0E00 <= o <= 0x0EFF or 0x1000 <= o <= 0x109F or 0x3040 <= o <= 0x312F or 0x3400 <= o <= 0x4DBF
            or 0x4E00 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF or 0xF900 <= o <= 0xFAFF
            or 0xFF66 <= o <= 0xFF9F or 0x20000 <= o <= 0x2FFFF)


def _edge_ok(inside: str, outside: str) -> bool:
    return not (inside.isalnum() and outside.isalnum()) or _continua(inside) or _continua(outside)


# --- the rep's own companies ------------------------------------------------------------------

@dataclass(frozen=True)
class _Alias:
    key: str  # folded
    index: int  # into companies
    full: bool  # the whole name (wins ties over a shortened one)
    capital: bool  # a single everyday word: counts only when written capitalised


def _strip_legal(key: str) -> str:
    for affix in LEGAL_AFFIXES:
        affix = _fold(affix)
        if key.startswith(affix) and len(key) > len(affix):
            key = key[len(affix):]
        elif key.endswith(affix) and len(key) > len(affix):
            key = key[:-len(affix)]
    words = key.split()
    while len(words) > 1 and words[-1].strip(",.") in LEGAL_FORMS:
        words.pop()
    return " ".join(words).strip(" ,.")


def _aliases(companies: Sequence[str]) -> list[_Alias]:
    keys = [_fold(str(c)) for c in companies]
    firsts: dict[str, int] = {}
    for key in keys:
        words = _strip_legal(key).split()
        if len(key.split()) > 1 and words:
            firsts[words[0]] = firsts.get(words[0], 0) + 1
    full_keys = set(keys)
    out: list[_Alias] = []
    for i, key in enumerate(keys):
        if len(key) < 2:
            continue
        single_common = " " not in key and key in COMMON_WORDS
        out.append(_Alias(key, i, True, single_common))
        core = _strip_legal(key)
        if core != key and len(core) >= 2 and (" " in core or (core not in COMMON_WORDS and firsts.get(core, 0) < 2)):
            out.append(_Alias(core, i, False, False))
        words = core.split()
        first = words[0].strip(",.") if words else ""
        if (len(key.split()) > 1 and len(first) >= 3 and first != core and not first.isdigit()
                and first not in COMMON_WORDS and firsts.get(first, 0) == 1 and first not in full_keys):
            out.append(_Alias(first, i, False, False))
    return out


@dataclass(frozen=True)
class _Hit:
    start: int  # in the parse text
    end: int
    index: int  # into companies


def _known(plain: str, companies: Sequence[str]) -> list[_Hit]:
    """The rep's companies named in `plain`, best first (longest, then whole names, then earliest), no overlaps."""
    folded, where = _fold_map(plain)
    found: list[tuple[int, bool, int, int, int]] = []
    for alias in _aliases(companies):
        at = folded.find(alias.key)
        while at >= 0:
            end = at + len(alias.key)
            ok = ((at == 0 or _edge_ok(folded[at], folded[at - 1]))
                  and (end == len(folded) or _edge_ok(folded[end - 1], folded[end])))
            if ok and alias.capital:
                ok = plain[where[at]].isupper()
            if ok:
                found.append((len(alias.key), alias.full, -at, end, alias.index))
            at = folded.find(alias.key, at + 1)
    hits: list[_Hit] = []
    for _, _, neg_at, end, index in sorted(found, reverse=True):
        start, stop = where[-neg_at], where[end - 1] + 1
        if all(stop <= h.start or start >= h.end for h in hits):
            hits.append(_Hit(start, stop, index))
    return hits


# --- companies not (yet) among the rep's deals ---------------------------------------------------

_TOKEN = re.compile(r"\S+")
_TRAIL = ",.;:!?)]}\"'“”’…"
_CONNECTORS = frozenset({"&", "of", "and", "de", "von", "van", "der", "du", "la", "y"})


def _cue(words: Sequence[str]) -> re.Pattern:
    alts = sorted(words, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in alts) + r")(?!\w)",
                      re.IGNORECASE)


_AFTER = _cue(NAME_AFTER)
_BEFORE = _cue(NAME_BEFORE)
_VIA = re.compile(r"[’']?s?\s+(?:from|at|of|@)\s+", re.IGNORECASE)
_NEW = re.compile(r"^\s*(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in NEW_DEAL)
                  + r")(?!\w)\s*[:\-–—]?", re.IGNORECASE)


def _capitalised(word: str) -> bool:
    first = word[:1]
    if not first or word.casefold().strip(_TRAIL) in NOT_NAMES:
        return False
    if first.isdigit():  # "3M", "7-Eleven": digits with letters
        return any(c.isalpha() for c in word)
    return first.isupper() or (first.isalpha() and not first.islower())  # uncased scripts: 株式会社サンプル


def _bare(word: str) -> str:
    word = word.strip(_TRAIL)
    for s in ("'s", "’s"):
        if word.endswith(s):
            word = word[: -len(s)]
    return word.strip(_TRAIL)


def _looks_like_money(word: str) -> bool:
    return bool(re.match(r"^[$€£¥₹]?\d[\d,.]*(?:k|m|mm|bn|b)?$", word.strip(_TRAIL), re.I))


def _read_name(plain: str, start: int, any_case: bool) -> tuple[int, int] | None:
    """The span of a name starting at `start`: capitalised words (or, with any_case, words up to a stop)."""
    tokens = list(_TOKEN.finditer(plain, start))
    taken: list[re.Match] = []
    for tok in tokens[:5]:
        word = tok[0]
        low = word.casefold().strip(_TRAIL)
        if any_case:
            if not low or low in NAME_STOPS or _looks_like_money(word):
                break
        elif not _capitalised(word) and not (taken and low in _CONNECTORS):
            break  # a connector may join capitalised words: "Bank of America", "Procter & Gamble"
        taken.append(tok)
        if word != word.rstrip(_TRAIL) or word.endswith(("'s", "’s")):
            break  # punctuation or a possessive ends the name
    while taken and taken[-1][0].casefold().strip(_TRAIL) in _CONNECTORS:
        taken.pop()
    if taken and not any_case and taken[0][0].casefold() == "the" and len(taken) > 1:
        taken.pop(0)
    if not taken:
        return None
    a, b = taken[0].start(), taken[-1].end()
    word = _bare(plain[a:b])
    return (a, a + len(word)) if word else None


def _read_name_before(plain: str, end: int) -> tuple[int, int] | None:
    """The span of capitalised words ending just before `end` ("Acme said", "Globex's CFO said")."""
    tokens = [t for t in _TOKEN.finditer(plain[:end])]
    taken: list[re.Match] = []
    for tok in reversed(tokens[-5:]):
        word = tok[0]
        bare = word.casefold().strip(_TRAIL)
        if not taken and bare in ROLES:  # "Acme CFO said": skip the role
            continue
        if word != word.rstrip(",;:!?.") or not _capitalised(word):
            break  # the previous clause, or not a name
        if word.endswith(("'s", "’s")):
            taken = [tok]  # "Globex's CFO": the possessive is the company
            break
        taken.insert(0, tok)
    if not taken:
        return None
    a, b = taken[0].start(), taken[-1].end()
    word = _bare(plain[a:b])
    return (a, a + len(word)) if word else None


def _unknown(plain: str) -> tuple[int, int] | None:
    """Where a company the rep does not have yet is named, or None."""
    if (m := _NEW.match(plain)) and (span := _read_name(plain, m.end(), any_case=True)):
        return span
    found: list[tuple[int, int]] = []
    for m in _AFTER.finditer(plain):
        if span := _read_name(plain, m.end(), any_case=False):
            # "met Sarah from Stark Industries": the company is the one after from/at/of
            if (via := _VIA.match(plain, span[1])) and (there := _read_name(plain, via.end(), any_case=False)):
                span = there
            found.append(span)
    for m in _BEFORE.finditer(plain):
        if span := _read_name_before(plain, m.start()):
            found.append(span)
    return min(found) if found else None


# --- outcome phrases ----------------------------------------------------------------------------

CO = "\ue000"  # stands for the company in the text phrases are matched against
_END = r"(?=\s*(?:$|[^\w\s" + CO + r"]|(?:but|and|so|though|because|since|as|lol|haha)\b))"
_APOSTROPHES = re.compile(r"['’‘`´]")
_ABBREV = re.compile("|".join(
    r"(?<!\w)" + re.escape(k).replace(r"\ ", r"\s+") + ("" if k.endswith("/") else r"(?!\w)")
    for k in sorted(ABBREVIATIONS, key=len, reverse=True)))


def _normalise(folded: str) -> str:
    """Folded text as phrases see it: no apostrophes, abbreviations expanded, hyphens as spaces."""
    s = _APOSTROPHES.sub("", folded)
    s = _ABBREV.sub(lambda m: ABBREVIATIONS[" ".join(m[0].split())], s)
    s = re.sub(r"(?<=\w)[-‐‑–](?=\w)", " ", s)
    return " ".join(s.split())


def _alternative(word: str) -> str:
    if word == "<co>":
        return CO
    text = _normalise(_fold(word))
    body = r"\s+".join(re.escape(w) for w in text.split())
    left = r"(?<!\w)" if text[:1].isalnum() else ""
    right = r"(?!\w)" if text[-1:].isalnum() else ""
    return left + body + right


def _compile(phrase: str) -> re.Pattern:
    pattern = ""
    for slot in phrase.split():
        if slot == "^":
            pattern += r"^\s*"
            continue
        if slot == "<end>":
            pattern += _END
            continue
        optional = slot.endswith("?") and len(slot) > 1
        alts = "(?:" + "|".join(_alternative(a) for a in slot.rstrip("?").split("|")) + ")"
        if not pattern or pattern.endswith(r"^\s*"):
            assert not optional, f"a phrase cannot start with an optional word: {phrase}"
            pattern += alts
        else:
            pattern += f"(?:\\s+{alts})?" if optional else f"\\s+{alts}"
    return re.compile(pattern)


_PATTERNS: list[tuple[Kind, str, re.Pattern]] = [
    (kind, phrase, _compile(phrase)) for kind, phrases in PHRASES.items() for phrase in phrases]
_SOFTENER = re.compile(r"\s*(?:" + "|".join(re.escape(s) for s in SOFTENERS) + r")(?!\w)")
_CLAUSE_MARK = re.compile(r"[,.;:!?()]|(?<!\w)but(?!\w)")


@dataclass(frozen=True)
class _Match:
    kind: Kind
    phrase: str
    start: int
    end: int


def _outcomes(s: str) -> list[_Match]:
    """The outcome phrases in normalised text `s`, in order, without negated ones."""
    found = [_Match(kind, phrase, m.start(), m.end())
             for kind, phrase, pattern in _PATTERNS for m in pattern.finditer(s) if m.end() > m.start()]
    kept: list[_Match] = []
    for m in sorted(found, key=lambda m: (m.start - m.end, m.start, list(PHRASES).index(m.kind))):
        if all(m.end <= k.start or m.start >= k.end for k in kept):
            kept.append(m)
    kept.sort(key=lambda m: m.start)
    out: list[_Match] = []
    prev_end = 0
    for m in kept:
        window = s[prev_end:m.start]
        clauses = _CLAUSE_MARK.split(window)
        before = clauses[-1].split()[-3:]
        prev_end = m.end
        if any(w in NEGATORS for w in before) or " ".join(before).endswith("yet to"):
            continue  # "didnt say no", "has yet to sign"
        after = s[m.end:]
        if m.phrase == "maybe" and after.split()[:1] and after.split()[0] in MUSING:
            continue
        if m.kind is Kind.NO and _SOFTENER.match(after):
            m = _Match(Kind.MAYBE, m.phrase, m.start, m.end)
        out.append(m)
    return out


# --- dates and amounts -----------------------------------------------------------------------

_DATE_CLAUSES = re.compile(r"[;!?\n]|,\s|\.\s+(?=[A-Z])|\s[-–—]\s|(?<!\w)but(?!\w)")


def _date_ahead(text: str, tz: str, now: datetime) -> datetime | None:
    """The first date still ahead of `now`, outside clauses about a meeting that already happened."""
    for clause in _DATE_CLAUSES.split(text):
        words = {w.strip(_TRAIL) for w in clause.casefold().split()}
        if words & PAST_MEETING:
            continue
        rest = clause
        for _ in range(3):  # "today" (already begun) may come before the real date
            got = find_when(rest, tz, now)
            if got is None:
                break
            when, phrase = got
            if when > now:
                return when
            at = rest.find(phrase)
            rest = rest[at + len(phrase):] if at >= 0 else ""
    return None


_MONEY = re.compile(
    r"(?<![\w.,$€£¥₹])(?P<sym>US\$|CA\$|AU\$|NZ\$|C\$|A\$|R\$|[$€£¥₹])?\s?(?P<num>\d(?:[\d,.]*\d)?)"
    r"(?:\s?(?P<scale>bn|mm|[kmb])(?![^\W\d_]))?(?:\s?(?P<code>[A-Za-z]{3})(?![^\W\d_]))?")


def _amount(text: str) -> str | None:
    """The first amount in `text` as written ("$20k", "5,000 EUR"), if it reads as money."""
    for m in _MONEY.finditer(text):
        with_code = bool(m["code"]) and currency_code(m["code"]) is not None
        if not (m["sym"] or m["scale"] or with_code):
            continue
        end = m.end() if with_code else (m.end("scale") if m["scale"] else m.end("num"))
        candidate = text[m.start():end].strip()
        try:
            parse_amount(candidate)
        except (AmountError, ArithmeticError, ValueError):
            continue
        return candidate
    return None


# --- the parser ------------------------------------------------------------------------------

def _is_question(s: str) -> bool:
    words = s.split()
    return "?" in s and bool(words) and words[0].strip(_TRAIL) in QUESTION_WORDS


def _masked(plain: str, spans: list[tuple[int, int]], by: str) -> str:
    out, last = [], 0
    for a, b in sorted(spans):
        out += [plain[last:a], by]
        last = b
    out.append(plain[last:])
    return "".join(out)


def parse_chat(text: str, companies: Sequence[str], tz: str, now: datetime) -> Proposal | None:
    """One chat line as a proposed deal update, or None when it is not one (see the module notes)."""
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    note = note_text(text)
    plain = " ".join(_plain(str(text), for_note=False).split())[:MAX_PARSE]
    if not plain:
        return None
    companies = [str(c) for c in companies]

    hits = _known(plain, companies)
    spans = [(h.start, h.end) for h in hits]
    company, known = "", False
    if hits:
        company, known = companies[hits[0].index], True
    elif span := _unknown(plain):
        spans = [span]
        company = plain[span[0]:span[1]]

    s = _normalise(_fold(_masked(plain, spans, f" {CO} ")))
    if _is_question(s):
        return None
    matches = _outcomes(s)
    kinds = {m.kind for m in matches}
    if kinds and kinds <= {Kind.WON} and all(m.phrase in EMOJI for m in matches) and not company:
        return None  # an emoji alone is a reaction, not an update
    if not kinds:
        if not company or "?" in plain:
            return None
        kinds = {Kind.NOTE}

    amount = _amount(_masked(plain, spans, " "))
    dated = None
    if kinds & {Kind.MEETING, Kind.MAYBE}:  # amounts out of the way: "1.2m" is no date
        date_text = _masked(plain, spans, "them")
        dated = _date_ahead(date_text.replace(amount, " ") if amount else date_text, tz, now)
    ranked = {MEETING_DATED if (k is Kind.MEETING and dated) else k for k in kinds}
    chosen = next(k for k in PRECEDENCE if k in ranked)
    kind = Kind.MEETING if chosen == MEETING_DATED else chosen
    when = dated if kind in (Kind.MEETING, Kind.MAYBE) else None

    # How sure: the rep's own deal named plainly is the best case.
    confidence = 0.9 if known else 0.75 if company else 0.3
    deciding = [m for m in matches if m.kind is kind]
    if deciding and all(m.phrase in WEAK for m in deciding) and when is None:  # a date makes it specific
        confidence = min(confidence, 0.7)
    if kind is Kind.NOTE:  # news about a deal, but no outcome to log
        confidence = min(confidence, 0.6 if known else 0.4)
    if len({h.index for h in hits if _fold(companies[h.index]) != _fold(company)}) >= 1:
        confidence = min(confidence, 0.45)  # two deals in one line: one proposal cannot log both

    return Proposal(kind=kind, company=company, known=known, when=when, note=note, amount_text=amount,
                    confidence=confidence)
