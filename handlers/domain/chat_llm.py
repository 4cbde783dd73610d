"""The pure half of reading chat with an LLM: what the prompt may hold, and which answers to trust.

The prompt holds only the rep's line (fenced as data), today's date and zone, and the names of
this rep's own open deals. An answer is checked here before it becomes proposals; anything
doubtful returns None and the caller reads the line with the rules instead:
- a company that is neither one of the rep's deals nor written in the line (a guess, or a name
  from elsewhere) is refused, as is a kind outside the schema, or a date that is not a date,
  lies in the past or more than ten years ahead;
- a deal named only by a first word it shares with another deal ("Acme" for Acme Corp and Acme
  Labs) becomes a question (choices), whichever the model picked;
- the note the bot saves is always the rep's own words, never the model's summary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from handlers.domain.amounts import AmountError, parse_amount
from handlers.domain.chat import Proposal
from handlers.domain.chat_names import known_companies, shared_words, strip_legal
from handlers.domain.chat_text import fold, note_text, plain_text
from handlers.domain.model import Kind
from handlers.domain.zones import zone as _zone

MAX_LINE = 2000
MAX_DEALS = 200  # a rep's open deals in the prompt; more would crowd the line out
KINDS = {"maybe": Kind.MAYBE, "touch": Kind.TOUCH, "meeting": Kind.MEETING, "won": Kind.WON, "no": Kind.NO,
         "drop": Kind.DROP, "note": Kind.NOTE, "new deal": Kind.ADDED}
CHATTER = "chatter"
_FENCE = re.compile(r"<\s*/?\s*chat_line\b", re.IGNORECASE)
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::\d{2})?)?$")


def fenced(line: str) -> str:
    """The rep's line as one plain line that cannot close (or open) the data fence."""
    text = " ".join(note_text(line).split())[:MAX_LINE]
    return _FENCE.sub(lambda m: m.group(0).replace("<", "\u2039"), text)


def prompt_values(line: str, deal_names: Sequence[str], tz: str, now: datetime) -> dict[str, str]:
    """The placeholders of prompts/read_chat.md, from this line and this rep's own deals only."""
    local = now.astimezone(_zone(tz))
    names = sorted({" ".join(str(n).split()) for n in deal_names if str(n).strip()}, key=str.casefold)
    return {"line": fenced(line), "today": local.strftime("%A %Y-%m-%d %H:%M"), "tz": _zone(tz).key,
            "deals": json.dumps(names[:MAX_DEALS], ensure_ascii=False)}


def _local_date(value: str | None, tz: str, now: datetime) -> datetime | None | bool:
    """The answer's date as aware UTC; None for none; False when it is not a usable date."""
    if value is None or not str(value).strip():
        return None
    m = _DATE.match(str(value).strip())
    if not m:
        return False
    y, mo, d, hh, mm = (int(g) if g else 0 for g in m.groups())
    try:
        local = datetime(y, mo, d, hh, mm, tzinfo=_zone(tz))
    except ValueError:
        return False
    when = local.astimezone(UTC)
    today = now.astimezone(_zone(tz)).replace(hour=0, minute=0, second=0, microsecond=0)
    if local < today or when > now + timedelta(days=3653):
        return False
    return when


def _amount(value: str | None) -> str | None:
    if not value or not str(value).strip():
        return None
    try:
        parse_amount(str(value).strip())
    except (AmountError, ArithmeticError, ValueError):
        return None
    return str(value).strip()


def from_model(updates: Sequence[Mapping[str, Any]], line: str, companies: Sequence[str], tz: str,
               now: datetime) -> list[Proposal] | None:
    """The model's updates as proposals, or None when the answer is not to be trusted (see above)."""
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    companies = [str(c) for c in companies]
    by_fold = {fold(c): c for c in companies}
    plain = plain_text(line)
    folded_line = fold(plain)
    shared = shared_words(companies)
    named = {h.index for h in known_companies(plain, companies)}
    note = note_text(line)
    out: list[Proposal] = []
    for u in updates:
        kind_name = str(u.get("kind", "")).strip().lower()
        if kind_name == CHATTER:
            continue
        kind = KINDS.get(kind_name)
        if kind is None:
            return None
        company = " ".join(str(u.get("company") or "").split())
        key = fold(company)
        known = key in by_fold
        choices: tuple[str, ...] = ()
        if known:
            company = by_fold[key]
            index = companies.index(company)
            first = strip_legal(key).split()[:1]
            if index not in named and first and first[0] in shared and re.search(
                    rf"(?<!\w){re.escape(first[0])}(?!\w)", folded_line):
                choices = tuple(companies[i] for i in shared[first[0]])  # "Acme" alone: ask which
                company, known = first[0], False
        elif key and key not in folded_line:
            return None  # neither the rep's deal nor in the line: not a name we can trust
        when = _local_date(u.get("date"), tz, now) if kind in (Kind.MEETING, Kind.MAYBE) else None
        if not isinstance(when, datetime | None):
            return None  # a date we cannot use
        try:
            confidence = min(1.0, max(0.0, float(u.get("confidence", 0.0))))
        except (TypeError, ValueError):
            return None
        if not company:
            confidence = min(confidence, 0.3)  # an outcome without a deal: the bot asks which
        out.append(Proposal(kind=kind, company=company, known=known, when=when, note=note,
                            amount_text=_amount(u.get("amount")), confidence=confidence, choices=choices))
    return out
