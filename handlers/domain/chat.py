"""One chat line from a rep ("Acme said maybe again, try after Jan 15") as a proposed deal update.

Offline and rule-based: keyword phrases in the tables of `handlers.domain.chat_words`, no model,
no network (`handlers.chat_reader` asks an LLM first when one is configured, and falls back here).
Over 400 lines because it is one pipeline (markup, names, phrases, dates, amounts) whose steps share
private helpers; the data lives in chat_words.py.
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
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache

from handlers.domain import refs
from handlers.domain.amounts import AmountError, currency_code, parse_amount
from handlers.domain.chat_words import (  # noqa: F401 - re-exported: tests and tools read the tables here
    ABBREVIATIONS,
    COMMON_WORDS,
    EMOJI,
    LEGAL_AFFIXES,
    LEGAL_FORMS,
    MEETING_DATED,
    MUSING,
    NAME_AFTER,
    NAME_BEFORE,
    NAME_STOPS,
    NEGATORS,
    NEW_DEAL,
    NOT_NAMES,
    PAST_MEETING,
    PHRASES,
    PRECEDENCE,
    QUESTION_WORDS,
    ROLES,
    SOFTENERS,
    WEAK,
)
from handlers.domain.model import Kind
from handlers.domain.when import find_when

MAX_PARSE = 2000
PROPOSE_AT = 0.5  # the confidence from which the bot proposes rather than asks

# ---------------------------------------------------------------------------------------------


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


_STRUCK = re.compile(r"(?<![\w~])~[^~\n]+~(?![\w~])")  # Slack's ~strikethrough~: the rep took it back


def _plain(text: str, for_note: bool) -> str:
    text = _MARKUP.sub(lambda m: _render(m[1], for_note), text)
    return _unescape(text if for_note else _STRUCK.sub(" ", text))


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


_LEGAL_AFFIXES_FOLDED = tuple(_fold(a) for a in LEGAL_AFFIXES)


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
    for affix in _LEGAL_AFFIXES_FOLDED:
        if key.startswith(affix) and len(key) > len(affix):
            key = key[len(affix):]
        elif key.endswith(affix) and len(key) > len(affix):
            key = key[:-len(affix)]
    words = key.split()
    while len(words) > 1 and words[-1].strip(",.") in LEGAL_FORMS:
        words.pop()
    return " ".join(words).strip(" ,.")


def _aliases(companies: Sequence[str]) -> list[_Alias]:
    return _aliases_of(tuple(str(c) for c in companies))


# A rep's deal names change rarely and every line of theirs needs their aliases: built once per pipeline.
@lru_cache(maxsize=256)
def _aliases_of(companies: tuple[str, ...]) -> list[_Alias]:
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
    choices: tuple[int, ...] = ()  # a shared first word ("Acme"): the deals it may mean


def _shared_words(companies: Sequence[str]) -> dict[str, list[int]]:
    return _shared_of(tuple(str(c) for c in companies))


@lru_cache(maxsize=256)
def _shared_of(companies: tuple[str, ...]) -> dict[str, list[int]]:
    """First words that start two or more of the rep's deals ("acme": Acme Corp, Acme Labs), each with the
    deals `refs.match` (the matcher `/deal` uses) finds for it alone; an exact name ("Acme") is no question."""
    cands = [refs.Candidate(i, str(c)) for i, c in enumerate(companies)]
    shared: dict[str, list[int]] = {}
    for c in cands:
        words = _strip_legal(_fold(c.company)).split()
        first = words[0].strip(",.") if words else ""
        if len(words) < 2 or len(first) < 3 or first in COMMON_WORDS or first in shared:
            continue
        found = [m.id for m in refs.match(first, cands) if _fold(m.company).startswith(first + " ")]
        if len(found) > 1:
            shared[first] = sorted(found)
    return shared


def _typo(a: str, b: str) -> bool:
    """One edit apart (insertion, deletion, substitution or swap of neighbours), same first letter."""
    if a == b or a[:1] != b[:1] or abs(len(a) - len(b)) > 1:
        return a == b
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long_[k]), len(short))
    return short[i:] == long_[i + 1:]


_WORD = re.compile(r"[^\W_]+")


def _near(plain: str, companies: Sequence[str]) -> list[_Hit]:
    """When no deal is named exactly: a shared first word (the bot asks which), or a deal misspelt by one
    letter or written without its spaces ("intiech", "piedpiper")."""
    folded, where = _fold_map(plain)
    words = list(_WORD.finditer(folded))
    shared = _shared_words(companies)
    for w in words:
        if w[0] in shared and plain[where[w.start()]:where[w.end() - 1] + 1]:
            return [_Hit(where[w.start()], where[w.end() - 1] + 1, shared[w[0]][0], tuple(shared[w[0]]))]
    keys: list[tuple[str, int]] = []
    for alias in _aliases(companies):
        compact = alias.key.replace(" ", "")
        if len(compact) >= 5 and not alias.capital:
            keys.append((compact, alias.index))
    for n in (1, 2):  # one word, or two run together ("pied piper" typed "piedpiper" is one word)
        for i in range(len(words) - n + 1):
            run = words[i:i + n]
            typed = "".join(m[0] for m in run)
            if len(typed) < 5 or typed in COMMON_WORDS:
                continue
            for compact, index in keys:
                if (n == 1 and _typo(typed, compact)) or (n == 2 and typed == compact):
                    return [_Hit(where[run[0].start()], where[run[-1].end() - 1] + 1, index)]
    return []


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
        if taken and bare in _CONNECTORS:
            taken.insert(0, tok)  # "Gekko & Co", "Bank of America": kept if a capitalised word comes first
            continue
        if word != word.rstrip(",;:!?.") or not _capitalised(word):
            break  # the previous clause, or not a name
        if word.endswith(("'s", "’s")):
            taken = [tok]  # "Globex's CFO": the possessive is the company
            break
        taken.insert(0, tok)
    while taken and taken[0][0].casefold() in _CONNECTORS:
        taken.pop(0)
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


# Booking words end a gap: "call booked for next tuesday" is a meeting, not "call ... next" (a maybe).
_GAP = r"(?:\s+(?!(?:booked|scheduled|set|confirmed|invite|meeting|demo)(?!\w))[^\s,.;:!?()]+){0,4}?"
_DATE_WORD = (r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|"
              r"august|september|october|november|december|mon|tue|tues|wed|thu|thur|thurs|fri|monday|tuesday|"
              r"wednesday|thursday|friday|tomorrow|tmrw|next|\d{1,2}/\d{1,2})(?!\w)")


def _compile(phrase: str) -> re.Pattern:
    pattern = ""
    for slot in phrase.split():
        if slot == "^":
            pattern += r"^\s*"
            continue
        if slot == "<end>":
            pattern += _END
            continue
        if slot == "*":  # up to four words of the same clause: "asked us for a formal proposal"
            pattern += _GAP
            continue
        if slot == "<date>":
            pattern += r"\s+" + _DATE_WORD
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


# Words a date phrase holds at least one of. Only runs of them go to `find_when`, whose cost grows
# with the words it is given (each candidate phrase is a dateparser call of about a millisecond).
_DATEISH = re.compile(
    r"(?<![\w/])(?:" + _DATE_WORD[3:-7] + r"|today|tonight|tmw|tomo|tmr|noon|midnight|weekend|"
    r"days?|weeks?|wks?|fortnight|months?|years?|\d{1,2}(?::\d\d)?\s?(?:am|pm|a\.m\.|p\.m\.)|"
    r"\d{4}-\d\d-\d\d|\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{1,2}(?:st|nd|rd|th))(?![\w/])", re.IGNORECASE)
# Words that join date words into one phrase: "next week", "in 2 weeks", "dec 3 at 2pm", "by friday".
_DATE_GLUE = frozenset({"at", "in", "on", "next", "this", "the", "of", "a", "couple", "by", "nxt", "around", "@",
                        "new", "first", "start", "end", "early", "mid", "late", "beginning"})


def _date_runs(clause: str) -> list[str]:
    """The runs of date words (with the words that join them) in `clause`, in order: what may be a date."""
    runs: list[str] = []
    current: list[str] = []
    dated = False
    for tok in [*clause.split(), ""]:
        word = tok.strip(_TRAIL)
        date_word = bool(word) and bool(_DATEISH.fullmatch(word))
        if word and (date_word or word.casefold() in _DATE_GLUE or word.isdigit()):
            current.append(word)
            dated = dated or date_word
            if word == tok:
                continue  # punctuation ends the run: "friday, or monday"
        if dated:
            runs.append(" ".join(current))
        current, dated = [], False
    return runs


def _date_ahead(text: str, tz: str, now: datetime) -> datetime | None:
    """The first date still ahead of `now`, outside clauses about a meeting that already happened."""
    for clause in _DATE_CLAUSES.split(text):
        words = {w.strip(_TRAIL) for w in clause.casefold().split()}
        if words & PAST_MEETING:
            continue
        for rest in _date_runs(clause):
            for _ in range(3):  # "today" (already begun) may come before the real date
                got = find_when(rest, tz, now) if rest else None
                if got is None:
                    break
                when, phrase = got
                at = rest.find(phrase)
                # "a proposal by friday": a deadline of ours, not when to try them again
                deadline = phrase.casefold().startswith("by ") or (at >= 0 and rest[:at].split()[-1:] == ["by"])
                if when > now and not deadline:
                    return when
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

    hits = _known(plain, companies) or _near(plain, companies)
    spans = [(h.start, h.end) for h in hits]
    company, known, choices = "", False, tuple[str, ...]()
    if hits and hits[0].choices:
        company, choices = plain[hits[0].start:hits[0].end], tuple(companies[i] for i in hits[0].choices)
    elif hits:
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
    kind = Kind.MEETING if chosen == MEETING_DATED else Kind(chosen)
    when = dated if kind in (Kind.MEETING, Kind.MAYBE) else None

    # How sure: the rep's own deal named plainly is the best case.
    confidence = 0.9 if known or choices else 0.75 if company else 0.3
    deciding = [m for m in matches if m.kind is kind]
    if deciding and all(m.phrase in WEAK for m in deciding) and when is None:  # a date makes it specific
        confidence = min(confidence, 0.7)
    if kind is Kind.NOTE:  # news about a deal, but no outcome to log
        confidence = min(confidence, 0.6 if known else 0.4)
    if len({h.index for h in hits if _fold(companies[h.index]) != _fold(company)}) >= 1:
        confidence = min(confidence, 0.45)  # two deals in one line: one proposal cannot log both

    return Proposal(kind=kind, company=company, known=known, when=when, note=note, amount_text=amount,
                    confidence=confidence, choices=choices)


# A clause starting with one of these is about the deal already named: "acme said maybe, so we dropped it".
SUBJECTS = frozenset({"they", "theyre", "he", "hes", "she", "shes", "we", "were", "i", "im", "it", "its", "them",
                      "so", "then", "which", "who", "that", "also", "but", "and", "still", "now", "their"})
_JOIN = re.compile(r"[,;]|\.\s|(?<!\w)(?:and|but|also|while|plus|then)(?!\w)|&|\+", re.IGNORECASE)


def _beside_another(plain: str, hit: _Hit, companies: Sequence[str], tz: str,
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
        words = _normalise(_fold(clause)).split()
        if not words or words[0] in SUBJECTS:
            continue
        found = _outcomes(" ".join(words))
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
    plain = " ".join(_plain(str(text), for_note=False).split())[:MAX_PARSE]
    hits = sorted(_known(plain, companies), key=lambda h: h.start)
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
