"""One chat line from a rep ("Acme said maybe again, try after Jan 15") as a proposed deal update.

Offline and rule-based: keyword phrases in the tables of `handlers.domain.chat_words`, no model,
no network (`handlers.chat_reader` asks an LLM first when one is configured, and falls back here).
The steps have modules of their own: chat_text (markup, folding), chat_names (the company),
chat_phrases (the outcome), chat_dates (the date), amounts.find_amount (the amount); the phrase and
word tables live in chat_words.py. This module puts them together into proposals.
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
- Two or more of the rep's deals in one line: `read_chat` reads it clause by clause,
  one proposal per deal (`parse_chat` alone proposes the longest name, at 0.45).
- A first word two deals share ("Acme" for Acme Corp and Acme Labs) is a question:
  the proposal carries both as `choices`. A deal misspelt by one letter ("intiech")
  or written without its spaces ("piedpiper") is found when nothing matches exactly.
- A capitalised name before an outcome ("Globex ghosted me") is a new company.
- Text struck through (`~umbrella~`) is ignored; a date right after "by" is a
  deadline, not a try-after date.
- "not a fit" alone counts as our decision (DROP); "not a fit for them" is NO.
- Only the first 2,000 characters are parsed (the note keeps the whole text).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from handlers.domain.amounts import find_amount
from handlers.domain.chat_dates import date_ahead
from handlers.domain.chat_names import Hit, known_companies, near_companies, unknown_company
from handlers.domain.chat_phrases import CO, normalise, outcomes
from handlers.domain.chat_text import TRAIL, fold, note_text, parse_text
from handlers.domain.chat_words import EMOJI, MEETING_DATED, PRECEDENCE, QUESTION_WORDS, WEAK
from handlers.domain.model import Kind

PROPOSE_AT = 0.5  # the confidence from which the bot proposes rather than asks


@dataclass(frozen=True)
class Proposal:
    kind: Kind  # MAYBE, TOUCH, MEETING, WON, NO, DROP, NOTE or ADDED
    company: str  # as the rep's deal is named when known, else as written; "" when none was found
    known: bool  # True when `company` is one of the rep's deals
    when: datetime | None = None  # aware UTC: next meeting (MEETING) or "try after" date (MAYBE)
    note: str = ""  # the message itself, trimmed, Slack markup as plain text
    amount_text: str | None = None  # "$20k" as written, when the line names an amount
    confidence: float = 1.0  # 0..1; below PROPOSE_AT the bot asks rather than proposes
    choices: tuple[str, ...] = ()  # the rep's deals a shared prefix ("Acme") may mean: the bot asks which


def _is_question(s: str) -> bool:
    words = s.split()
    return "?" in s and bool(words) and words[0].strip(TRAIL) in QUESTION_WORDS


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
    plain = parse_text(text)
    if not plain:
        return None
    companies = [str(c) for c in companies]

    hits = known_companies(plain, companies) or near_companies(plain, companies)
    spans = [(h.start, h.end) for h in hits]
    company, known, choices = "", False, tuple[str, ...]()
    if hits and hits[0].choices:
        company, choices = plain[hits[0].start:hits[0].end], tuple(companies[i] for i in hits[0].choices)
    elif hits:
        company, known = companies[hits[0].index], True
    elif span := unknown_company(plain):
        spans = [span]
        company = plain[span[0]:span[1]]

    s = normalise(fold(_masked(plain, spans, f" {CO} ")))
    if _is_question(s):
        return None
    matches = outcomes(s)
    kinds = {m.kind for m in matches}
    if kinds and kinds <= {Kind.WON} and all(m.phrase in EMOJI for m in matches) and not company:
        return None  # an emoji alone is a reaction, not an update
    if not kinds:
        if not company or "?" in plain:
            return None
        kinds = {Kind.NOTE}

    amount = find_amount(_masked(plain, spans, " "))
    dated = None
    if kinds & {Kind.MEETING, Kind.MAYBE}:  # amounts out of the way: "1.2m" is no date
        date_text = _masked(plain, spans, "them")
        dated = date_ahead(date_text.replace(amount, " ") if amount else date_text, tz, now)
    ranked = {MEETING_DATED if (k is Kind.MEETING and dated) else k for k in kinds}
    chosen = next(k for k in PRECEDENCE if k in ranked)
    kind = Kind.MEETING if chosen == MEETING_DATED else Kind(chosen)
    when = dated if kind in (Kind.MEETING, Kind.MAYBE) else None

    # How sure: the rep's own deal named plainly is the best case.
    confidence = 0.9 if known or choices else 0.75 if company else 0.3
    deciding = [m for m in matches if m.kind is kind]
    if deciding and all(m.phrase in WEAK for m in deciding) and when is None:  # a date makes it specific
        confidence = min(confidence, 0.7)
    if kind is Kind.NOTE:  # news about a deal, but no outcome to log
        confidence = min(confidence, 0.6 if known else 0.4)
    if len({h.index for h in hits if fold(companies[h.index]) != fold(company)}) >= 1:
        confidence = min(confidence, 0.45)  # two deals in one line: one proposal cannot log both

    return Proposal(kind=kind, company=company, known=known, when=when, note=note, amount_text=amount,
                    confidence=confidence, choices=choices)


# A clause starting with one of these is about the deal already named: "acme said maybe, so we dropped it".
SUBJECTS = frozenset({"they", "theyre", "he", "hes", "she", "shes", "we", "were", "i", "im", "it", "its", "them",
                      "so", "then", "which", "who", "that", "also", "but", "and", "still", "now", "their"})
_JOIN = re.compile(r"[,;]|\.\s|(?<!\w)(?:and|but|also|while|plus|then)(?!\w)|&|\+", re.IGNORECASE)


def _beside_another(plain: str, hit: Hit, companies: Sequence[str], tz: str,
                    now: datetime) -> list[Proposal] | None:
    """One deal of the rep's next to news about another company ("globex signed and acme labs said
    maybe", Globex not a deal yet): the deal's own clause decides its outcome, and a capitalised new
    company in the other clause gets a proposal of its own. None when the line is about one deal."""
    bounds = [0, *[m.start() for m in _JOIN.finditer(plain)], len(plain)]
    clauses = [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if plain[a:b].strip(" ,;.&+")]
    if len(clauses) < 2:
        return None
    own = next(((a, b) for a, b in clauses if a <= hit.start < b), None)
    # First the cheap test: another clause that reads "<one word> <outcome>" ("globex signed").
    candidates: list[str] = []
    for a, b in clauses:
        if (a, b) == own:
            continue
        clause = _JOIN.sub(" ", plain[a:b], count=1) if _JOIN.match(plain, a) else plain[a:b]
        words = normalise(fold(clause)).split()
        if not words or words[0] in SUBJECTS:
            continue
        found = outcomes(" ".join(words))
        if found and len(" ".join(words)[:found[0].start].split()) == 1:
            candidates.append(clause)
    if not candidates or own is None:
        return None
    mine = parse_chat(plain[own[0]:own[1]], [companies[hit.index]], tz, now)
    if mine is None or mine.kind is Kind.NOTE:
        return None
    others = [theirs for clause in candidates if (theirs := parse_chat(clause, [], tz, now)) is not None
              and theirs.kind not in (mine.kind, Kind.NOTE)]
    if not others:
        return None
    news = [p for p in others if p.company and p.confidence >= PROPOSE_AT]
    return sorted([mine, *news], key=lambda p: plain.find(p.company) if p is not mine else hit.start)


def read_chat(text: str, companies: Sequence[str], tz: str, now: datetime) -> list[Proposal]:
    """Every update one chat line holds, one per deal in the order named; [] for chatter.

    Two or more of the rep's deals in one line ("globex signed and initech said maybe") are read
    clause by clause, each with its own deal; a clause without an outcome of its own ("left
    voicemails for hooli and soylent") shares its neighbour's."""
    companies = [str(c) for c in companies]
    plain = parse_text(text)
    hits = sorted(known_companies(plain, companies), key=lambda h: h.start)
    named = [h for i, h in enumerate(hits) if all(h.index != g.index for g in hits[:i])]
    if len(named) == 1 and (own := _beside_another(plain, named[0], companies, tz, now)):
        return [replace(p, note=note_text(text)) for p in own]
    if len(named) < 2:
        one = parse_chat(text, companies, tz, now)
        return [] if one is None else [one]
    cuts = [0]
    for prev, hit in zip(named, named[1:], strict=False):
        joins = list(_JOIN.finditer(plain, prev.end, hit.start))
        cuts.append(joins[-1].start() if joins else hit.start)
    cuts.append(len(plain))
    note = note_text(text)
    read: list[Proposal | None] = [
        parse_chat(plain[a:b], [companies[hit.index]], tz, now) for hit, a, b in zip(named, cuts, cuts[1:], strict=False)]
    decided = [p for p in read if p is not None and p.kind is not Kind.NOTE]
    out: list[Proposal] = []
    for i, p in enumerate(read):
        if p is None:
            continue
        if p.kind is Kind.NOTE and decided:  # no outcome of its own: the nearest clause's, earlier first
            near = next((q for q in reversed(read[:i]) if q is not None and q.kind is not Kind.NOTE), decided[0])
            p = replace(p, kind=near.kind, when=near.when, confidence=near.confidence)
        out.append(replace(p, note=note))
    return out
