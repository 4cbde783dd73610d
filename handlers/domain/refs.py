"""Which of a rep's deals a typed reference means: `#12`, `acme`, `muller` for "Müller GmbH".

Decisions:
- `#12` is deal 12 (if it is among the candidates). A bare number (`12`) is read
  as part of a name first, since names hold numbers ("Studio 54"), and as an
  id only when no name contains it.
- Names are compared folded: case, accents, compatibility forms (full-width
  letters, ligatures) and runs of spaces do not matter.
- An exact name wins alone; otherwise every name containing the reference
  matches. Open deals hide closed ones that match too: a rep logging news
  means the live deal, and can still reach a closed one by its id or full name.
- A reference made only of legal-form words (`inc`, `ltd`, `gmbh`, `corp`, `llc`, `co`, `plc`, `sa`,
  `ag`, `bv`, ...) matches nothing: `/deal won inc` must not close "Monsters Inc".
- `exact` tells a sure reference (`#id`, the whole name, or the name without its legal form:
  `acme` for "Acme Corp") from a fuzzy one (any other part of a name); the handlers ask before a
  decision (won, no, drop) on a fuzzy one.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

# Company legal forms: words that say what kind of company, never which one.
LEGAL_FORMS = frozenset({"inc", "incorporated", "corp", "corporation", "co", "company", "llc", "ltd", "limited",
                         "gmbh", "ag", "sa", "sas", "sarl", "bv", "nv", "plc", "pty", "kk", "oy", "ab", "as", "srl",
                         "spa", "se", "lp", "llp", "pte", "kg", "ug", "oyj", "asa", "the", "and", "&"})


@dataclass(frozen=True)
class Candidate:
    id: int
    company: str
    open: bool = True


def fold(s: str) -> str:
    """The form names are compared in: casefolded, accents stripped, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", s.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def _ordered(found: list[Candidate]) -> list[Candidate]:
    if any(c.open for c in found):
        found = [c for c in found if c.open]
    return sorted(found, key=lambda c: (not c.open, fold(c.company), c.id))


def match(ref: str, candidates: Sequence[Candidate]) -> list[Candidate]:
    """The candidates `ref` refers to, best first (open ones, then by name); [] for none."""
    ref = ref.strip()
    if ref.startswith("#") and _is_number(ref[1:]):
        return [c for c in candidates if c.id == int(ref[1:])][:1]
    key = fold(ref)
    if not key or legal_form_only(key):
        return []
    exact = [c for c in candidates if fold(c.company) == key]
    if exact:
        return _ordered(exact)
    found = [c for c in candidates if key in fold(c.company)]
    if not found and _is_number(key):
        found = [c for c in candidates if c.id == int(key)][:1]
    return _ordered(found)


def _is_number(s: str) -> bool:
    return s.isascii() and s.isdecimal()


def legal_form_only(ref: str) -> bool:
    """True when the reference names no company, only legal forms: "inc", "Ltd.", "gmbh & co"."""
    words = [w.strip(".,;:()") for w in fold(ref).split()]
    return all(w in LEGAL_FORMS or not w for w in words)


def exact(ref: str, candidate: Candidate) -> bool:
    """Whether `ref` names this deal for sure: its `#id` (or bare id), or its name (folded, legal form optional)."""
    ref = ref.strip()
    if ref.startswith("#") and _is_number(ref[1:]):
        return int(ref[1:]) == candidate.id
    if _is_number(ref) and int(ref) == candidate.id and ref not in fold(candidate.company):
        return True
    return same_company(ref, candidate.company)  # "acme" is Acme Corp for sure; "acm" is not


def core(name: str) -> str:
    """A company name without its legal forms and punctuation, folded: "Acme Corp." -> "acme"."""
    words = [w.strip(".,;:()") for w in fold(name).split()]
    return " ".join(w for w in words if w and w not in LEGAL_FORMS)


def same_company(a: str, b: str) -> bool:
    """Whether two names are one company as typed: "Acme Corp" and "acme corp.", or "Acme" and "Acme Inc"."""
    return fold(a) == fold(b) or (core(a) != "" and core(a) == core(b))
