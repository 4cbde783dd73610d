"""Which company a chat line names: one of the rep's own deals, or a new one.

First the rep's own deals, compared folded on word boundaries, longest match first; a multi-word
name also by its legal-form-free core ("Big Blue" for "Big Blue Inc") and its distinctive first
word ("Acme" for "Acme Corp"); failing that a shared first word (a question), a deal misspelt by
one letter or written without its spaces. Otherwise a capitalised name in a telling position
(NAME_AFTER / NAME_BEFORE / NEW_DEAL of handlers.domain.chat_words) is a company not yet a deal.
Spans are (start, end) character offsets into the parse text (handlers.domain.chat_text.parse_text).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from handlers.domain import refs
from handlers.domain.amounts import SIGNS
from handlers.domain.chat_text import TRAIL, edge_ok, fold, fold_map
from handlers.domain.chat_words import (
    COMMON_WORDS,
    LEGAL_AFFIXES,
    LEGAL_FORMS,
    NAME_AFTER,
    NAME_BEFORE,
    NAME_STOPS,
    NEW_DEAL,
    NOT_NAMES,
    ROLES,
)

# --- the rep's own companies ------------------------------------------------------------------

@dataclass(frozen=True)
class _Alias:
    key: str  # folded
    index: int  # into companies
    full: bool  # the whole name (wins ties over a shortened one)
    capital: bool  # a single everyday word: counts only when written capitalised


_LEGAL_AFFIXES_FOLDED = tuple(fold(a) for a in LEGAL_AFFIXES)


def strip_legal(key: str) -> str:
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
    keys = [fold(str(c)) for c in companies]
    firsts: dict[str, int] = {}
    for key in keys:
        words = strip_legal(key).split()
        if len(key.split()) > 1 and words:
            firsts[words[0]] = firsts.get(words[0], 0) + 1
    full_keys = set(keys)
    out: list[_Alias] = []
    for i, key in enumerate(keys):
        if len(key) < 2:
            continue
        single_common = " " not in key and key in COMMON_WORDS
        out.append(_Alias(key, i, True, single_common))
        core = strip_legal(key)
        if core != key and len(core) >= 2 and (" " in core or (core not in COMMON_WORDS and firsts.get(core, 0) < 2)):
            out.append(_Alias(core, i, False, False))
        words = core.split()
        first = words[0].strip(",.") if words else ""
        if (len(key.split()) > 1 and len(first) >= 3 and first != core and not first.isdigit()
                and first not in COMMON_WORDS and firsts.get(first, 0) == 1 and first not in full_keys):
            out.append(_Alias(first, i, False, False))
    return out


@dataclass(frozen=True)
class Hit:
    start: int  # in the parse text
    end: int
    index: int  # into companies
    choices: tuple[int, ...] = ()  # a shared first word ("Acme"): the deals it may mean


def shared_words(companies: Sequence[str]) -> dict[str, list[int]]:
    return _shared_of(tuple(str(c) for c in companies))


@lru_cache(maxsize=256)
def _shared_of(companies: tuple[str, ...]) -> dict[str, list[int]]:
    """First words that start two or more of the rep's deals ("acme": Acme Corp, Acme Labs), each with the
    deals `refs.match` (the matcher `/deal` uses) finds for it alone; an exact name ("Acme") is no question."""
    cands = [refs.Candidate(i, str(c)) for i, c in enumerate(companies)]
    shared: dict[str, list[int]] = {}
    for c in cands:
        words = strip_legal(fold(c.company)).split()
        first = words[0].strip(",.") if words else ""
        if len(words) < 2 or len(first) < 3 or first in COMMON_WORDS or first in shared:
            continue
        found = [m.id for m in refs.match(first, cands) if fold(m.company).startswith(first + " ")]
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


def near_companies(plain: str, companies: Sequence[str]) -> list[Hit]:
    """When no deal is named exactly: a shared first word (the bot asks which), or a deal misspelt by one
    letter or written without its spaces ("intiech", "piedpiper")."""
    folded, where = fold_map(plain)
    words = list(_WORD.finditer(folded))
    shared = shared_words(companies)
    for w in words:
        if w[0] in shared and plain[where[w.start()]:where[w.end() - 1] + 1]:
            return [Hit(where[w.start()], where[w.end() - 1] + 1, shared[w[0]][0], tuple(shared[w[0]]))]
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
                    return [Hit(where[run[0].start()], where[run[-1].end() - 1] + 1, index)]
    return []


def known_companies(plain: str, companies: Sequence[str]) -> list[Hit]:
    """The rep's companies named in `plain`, best first (longest, then whole names, then earliest), no overlaps."""
    folded, where = fold_map(plain)
    found: list[tuple[int, bool, int, int, int]] = []
    for alias in _aliases(companies):
        at = folded.find(alias.key)
        while at >= 0:
            end = at + len(alias.key)
            ok = ((at == 0 or edge_ok(folded[at], folded[at - 1]))
                  and (end == len(folded) or edge_ok(folded[end - 1], folded[end])))
            if ok and alias.capital:
                ok = plain[where[at]].isupper()
            if ok:
                found.append((len(alias.key), alias.full, -at, end, alias.index))
            at = folded.find(alias.key, at + 1)
    hits: list[Hit] = []
    for _, _, neg_at, end, index in sorted(found, reverse=True):
        start, stop = where[-neg_at], where[end - 1] + 1
        if all(stop <= h.start or start >= h.end for h in hits):
            hits.append(Hit(start, stop, index))
    return hits



# --- companies not (yet) among the rep's deals ---------------------------------------------------

_MONEY_WORD = re.compile("^[" + re.escape(SIGNS) + r"]?\d[\d,.]*(?:k|m|mm|bn|b)?$", re.I)
_TOKEN = re.compile(r"\S+")
_CONNECTORS = frozenset({"&", "of", "and", "de", "von", "van", "der", "du", "la", "y"})


def _cue(words: Sequence[str]) -> re.Pattern[str]:
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
    if not first or word.casefold().strip(TRAIL) in NOT_NAMES:
        return False
    if first.isdigit():  # "3M", "7-Eleven": digits with letters
        return any(c.isalpha() for c in word)
    return first.isupper() or (first.isalpha() and not first.islower())  # uncased scripts: 株式会社サンプル


def _bare(word: str) -> str:
    word = word.strip(TRAIL)
    for s in ("'s", "’s"):
        if word.endswith(s):
            word = word[: -len(s)]
    return word.strip(TRAIL)


def _looks_like_money(word: str) -> bool:
    return bool(_MONEY_WORD.match(word.strip(TRAIL)))


def _span(plain: str, taken: Sequence[re.Match[str]]) -> tuple[int, int] | None:
    """The span the words `taken` cover, without the punctuation or possessive that ends them."""
    if not taken:
        return None
    a, b = taken[0].start(), taken[-1].end()
    word = _bare(plain[a:b])
    return (a, a + len(word)) if word else None


def _read_name(plain: str, start: int, any_case: bool) -> tuple[int, int] | None:
    """The span of a name starting at `start`: capitalised words (or, with any_case, words up to a stop)."""
    tokens = list(_TOKEN.finditer(plain, start))
    taken: list[re.Match[str]] = []
    for tok in tokens[:5]:
        word = tok[0]
        low = word.casefold().strip(TRAIL)
        if any_case:
            if not low or low in NAME_STOPS or _looks_like_money(word):
                break
        elif not _capitalised(word) and not (taken and low in _CONNECTORS):
            break  # a connector may join capitalised words: "Bank of America", "Procter & Gamble"
        taken.append(tok)
        if word != word.rstrip(TRAIL) or word.endswith(("'s", "’s")):
            break  # punctuation or a possessive ends the name
    while taken and taken[-1][0].casefold().strip(TRAIL) in _CONNECTORS:
        taken.pop()
    if taken and not any_case and taken[0][0].casefold() == "the" and len(taken) > 1:
        taken.pop(0)
    return _span(plain, taken)


def _read_name_before(plain: str, end: int) -> tuple[int, int] | None:
    """The span of capitalised words ending just before `end` ("Acme said", "Globex's CFO said")."""
    tokens = [t for t in _TOKEN.finditer(plain[:end])]
    taken: list[re.Match[str]] = []
    for tok in reversed(tokens[-5:]):
        word = tok[0]
        bare = word.casefold().strip(TRAIL)
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
    return _span(plain, taken)


def unknown_company(plain: str) -> tuple[int, int] | None:
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

