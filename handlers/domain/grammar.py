"""The `/deal` grammar: the text after `/deal` in, a `Command` (or a `Usage` saying what was wrong) out.

The forms are the public contract in /work/shared/INTERFACE.md. Pure: the caller
passes the rep's zone, `now` and the names of the rep's own deals (`companies`),
which is how multi-word references like `acme corp` are told apart from a note.
`parse_command` never raises: anything it cannot use becomes a `Usage`.
Just over 400 lines: the whole `/deal` contract stays in one place, so it reads as one grammar.

Verbs are case-insensitive, with these aliases:
  new, create -> add        ls -> list              yes, win -> won
  lost -> no                dq, disqualify -> drop  meeting -> meet    unclose -> reopen
  leaderboard, lb -> board  csv -> export           ?, h -> help
  setting, config -> settings  drill, rehearse -> practice
Options: list takes `maybe` for `maybes`; board takes `weekly`/`monthly`/`quarterly`;
coach takes `meet` for `meeting`, `break-up`/`last` for `breakup`, `hardno` for `ask`;
practice takes a brush-off by name or alias (`PRACTICE_OPTIONS`: `send-info`, `send info`, `info`...).

`add` details:
- The company runs up to the first amount-looking word or `key:` word. Its first
  word always belongs to it (so `add 3M 50k` is the company 3M), unless that word
  is plainly money (`$12k`); so does a bare whole number right before another
  amount (`add Studio 54 $10k`). `"Quoted Company 42"` (straight or curly quotes)
  holds anything, digits included.
- Keys are `next:`, `contact:`, `stage:`, `note:` only; other `word:` words (`Re:Invent`)
  are ordinary text. Each key at most once, in any order. A value runs to the next key;
  a `contact:` or `stage:` value also ends at an amount (`stage:negotiation $5k`; a bare
  number such as `phase 2` stays in it), and `note:` keeps everything up to the next key.
- One amount: a second one (`$5k $6k`, or one before and one after a key) is refused.
- After a known playbook stage (`stage:explore met at a conference`) the rest is note.
- Slack escapes `&`, `<`, `>` in command text as `&amp;`, `&lt;`, `&gt;`; they are
  turned back here, once, so "AT&T" is stored as typed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from handlers.domain.amounts import Amount, AmountError, currency_code, looks_like_amount, parse_amount
from handlers.domain.refs import fold
from handlers.domain.when import WhenError, find_when, split_when

VERBS = ("add", "list", "maybe", "touch", "meet", "won", "no", "drop", "reopen", "snooze", "coach", "board",
         "export", "help", "settings", "forget", "practice")
ALIASES = {"new": "add", "create": "add", "ls": "list", "yes": "won", "win": "won", "lost": "no",
           "dq": "drop", "disqualify": "drop", "unclose": "reopen", "meeting": "meet", "leaderboard": "board", "lb": "board",
           "csv": "export", "?": "help", "h": "help", "setting": "settings", "config": "settings",
           "drill": "practice", "rehearse": "practice"}

USAGE = {
    "add": "/deal add <company> [amount] [next:<when>] [contact:<name>] [stage:<stage>] [note ...]",
    "list": "/deal list [open|maybes|closed|all]",
    "maybe": "/deal maybe <deal> [note]",
    "touch": "/deal touch <deal> [note]",
    "meet": "/deal meet <deal> <when> [note]",
    "won": "/deal won <deal> [note]",
    "no": "/deal no <deal> [reason]",
    "drop": "/deal drop <deal> [reason]",
    "reopen": "/deal reopen <deal> [note]",
    "snooze": "/deal snooze <deal> <when>",
    "coach": "/deal coach <deal> [ask|meeting|breakup]",
    "board": "/deal board [week|month|quarter]",
    "export": "/deal export",
    "help": "/deal help",
    "settings": "/deal settings ...",
    "forget": "/deal forget me",
    "practice": "/deal practice [brush-off]",
}
MEANING = {
    "add": "add a deal you are working",
    "list": "your deals (default: open ones)",
    "maybe": "the prospect said maybe / not now / send me info",
    "touch": "an attempt that got no answer (call, email, voicemail)",
    "meet": "a next meeting is agreed",
    "won": "the prospect said yes",
    "no": "the prospect gave a hard no",
    "drop": "we decided it is not a fit (disqualified)",
    "reopen": "a closed deal is open again",
    "snooze": "no nudges about it until then",
    "coach": "draft a hard-no ask, a next-meeting request, or a last-try message",
    "board": "the leaderboard, shown only to you",
    "export": "your deals as CSV",
    "help": "this help",
    "settings": "your digest and leaderboard settings",
    "forget": "delete everything hardno stores about you (asks to confirm)",
    "practice": "rehearse answering a prospect's brush-off; the coach scores your answer",
}
STAGES = ("time", "explore", "change", "collaborate", "consensus", "invest", "review", "resolve concerns",
          "decide", "execute")
LIST_FILTERS = {"open": "open", "maybes": "maybes", "maybe": "maybes", "closed": "closed", "all": "all"}
BOARD_PERIODS = {"week": "week", "weekly": "week", "month": "month", "monthly": "month",
                 "quarter": "quarter", "quarterly": "quarter"}
COACH_KINDS = {"ask": "ask", "hardno": "ask", "meeting": "meeting", "meet": "meeting",
               "breakup": "breakup", "break-up": "breakup", "last": "breakup"}
# `/deal practice` takes one of the playbook's five brush-offs (handlers.domain.practice keys), or `mine`:
# a brush-off from the rep's own recent maybes.
PRACTICE_OPTIONS = {
    "partner": "partner", "already": "partner", "incumbent": "partner", "switch": "partner",
    "supplier": "supplier", "vendor": "supplier", "file": "supplier", "on-file": "supplier", "happy": "supplier",
    "new-year": "new_year", "newyear": "new_year", "new_year": "new_year", "next-year": "new_year",
    "january": "new_year", "timing": "new_year", "later": "new_year",
    "send-info": "send_info", "send_info": "send_info", "info": "send_info", "email": "send_info",
    "brochure": "send_info", "deck": "send_info", "send-me-info": "send_info",
    "team": "team", "boss": "team", "colleagues": "team", "consensus": "team",
    "mine": "mine", "my": "mine", "own": "mine",
}
MAX_COMPANY = 200
MAX_STAGE = 100  # the database column's width
MAX_REF_WORDS = 20
MAX_EXTRA_REF_WORDS = 6  # words an unknown name may have beyond its first, in `meet`/`snooze`

_KEY = re.compile(r"(next|contact|stage|note):", re.I)
_NEEDS_VALUE = {"next": "`next:` needs a date, e.g. `next:friday` or `next:dec 3 2pm`.",
                "contact": "`contact:` needs a value, e.g. `contact:Jo Park`.",
                "stage": "`stage:` needs a value, e.g. `stage:explore`."}
_OPEN_QUOTES, _CLOSE_QUOTES = "\"“”„", "\"“”"


@dataclass(frozen=True)
class Command:
    verb: str  # one of VERBS
    ref: str | None = None  # the <deal> reference as typed ("#12", "acme")
    company: str | None = None  # add
    amount: Amount | None = None  # add
    when: datetime | None = None  # add next:, meet, snooze; maybe: a date named in the note (aware UTC)
    contact: str | None = None  # add
    stage: str | None = None  # add
    note: str = ""  # free text / reason
    option: str | None = None  # list filter, coach kind, board period; help: the verb asked about
    args: tuple[str, ...] = ()  # settings: the words after "settings"


@dataclass(frozen=True)
class Usage:
    verb: str | None  # which subcommand the help is for (None = general)
    message: str  # what was wrong, then the usage line
    full_help: bool = False  # the whole help (`help_entries`) belongs after the message


# What `/deal help` says, as plain data: the handlers render it. (term, examples) pairs.
HELP_TITLE = "/deal turns open-ended maybes into decisions."
HELP_TERMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (  # (term, what it is, examples)
    ("<deal>", "the #id or part of the company name of one of your deals", ("#12", "acme")),
    ("<amount>", "a sum; $ is USD", ("$12k", "12000", "€5,000", "1.2m USD")),
    ("<when>", "a date or a phrase, in your Slack time zone",
     ("2026-12-03", "dec 3", "next tuesday 2pm", "in 2 weeks", "end of month", "early january",
      "after the new year")),
    ("<stage>", "the commitment the deal waits on, or your own words", STAGES),
    ("<brush-off>", "a prospect's polite brush-off to practise (none: one you need; mine: from your own maybes)",
     ("partner", "supplier", "new-year", "send-info", "team", "mine")),
)
HELP_ALIASES = (("new", "add"), ("ls", "list"), ("yes/win", "won"), ("lost", "no"), ("dq", "drop"),
                ("leaderboard", "board"), ("?", "help"))


def help_entries() -> list[tuple[str, str]]:
    """Every /deal form with what it does: (usage, meaning), in the order help shows them."""
    return [(USAGE[verb], MEANING[verb]) for verb in VERBS]


def _usage(verb: str, problem: str) -> Usage:
    return Usage(verb, f"{problem}\nUsage: `{USAGE[verb]}`")


def _words(text: str) -> list[re.Match[str]]:
    return list(re.finditer(r"\S+", text))


def _span(text: str, words: list[re.Match[str]], i: int, j: int) -> str:
    """The original text of words[i:j], spacing kept."""
    return text[words[i].start():words[j - 1].end()] if i < j else ""


def _quoted(text: str) -> tuple[str, str] | None:
    """("inside", "after") for text starting with a quote; None if it does not start with one."""
    if not text[:1] or text[0] not in _OPEN_QUOTES:
        return None
    end = next((i for i, c in enumerate(text) if i and c in _CLOSE_QUOTES), None)
    if end is None:
        return None  # an unclosed quote is just a character of the name
    return text[1:end].strip(), text[end + 1:]


def _unslack(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse_command(text: str, tz: str, now: datetime, companies: Sequence[str] = ()) -> Command | Usage:
    text = _unslack(str(text or "")).strip()
    words = _words(text)
    if not words:
        return Usage(None, "Tell me what happened with a deal, e.g. `/deal maybe acme send me info`.",
                     full_help=True)
    head = words[0][0].casefold()
    verb = head if head in VERBS else ALIASES.get(head)
    if verb is None:
        return _unknown(words[0][0])
    rest = text[words[0].end():].strip()
    if verb == "add":
        return _add(rest, tz, now)
    if verb == "list":
        return _option(verb, rest, LIST_FILTERS, "open")
    if verb == "board":
        return _option(verb, rest, BOARD_PERIODS, "week")
    if verb == "help":
        topic = rest.split()[0].casefold() if rest else ""
        return Command("help", option=topic if topic in VERBS else ALIASES.get(topic))
    if verb == "export":
        return Command("export")
    if verb in ("settings", "forget"):
        return Command(verb, args=tuple(rest.split()))
    if verb == "coach":
        return _coach(rest, companies)
    if verb == "practice":
        return _practice(rest)
    return _deal_verb(verb, rest, tz, now, companies)


def _unknown(word: str) -> Usage:
    shown = word[:30]
    close = difflib.get_close_matches(word.casefold(), [*VERBS, *ALIASES], n=1, cutoff=0.6)
    if close:
        verb = ALIASES.get(close[0], close[0])
        return Usage(None, f"I don't know “{shown}”. Did you mean `/deal {verb}`?\nUsage: `{USAGE[verb]}`")
    return Usage(None, f"I don't know “{shown}”. Start with what happened, e.g. `/deal maybe acme send me "
                       f"info` or `/deal add Acme $12k`; `/deal help` lists everything.")


def _option(verb: str, rest: str, allowed: dict[str, str], default: str) -> Command | Usage:
    if not rest:
        return Command(verb, option=default)
    if rest.casefold() in allowed:
        return Command(verb, option=allowed[rest.casefold()])
    choices = ", ".join(dict.fromkeys(allowed.values()))
    return _usage(verb, f"“{rest[:40]}” isn't one of {choices}.")


# --- add -----------------------------------------------------------------------------------------

def _plainly_money(word: str) -> bool:
    return looks_like_amount(word) and not word[0].isdigit()


def _amount_at(words: list[re.Match[str]], j: int) -> bool:
    """Whether the amount starts at words[j]. A bare whole number right before another amount
    is part of the name: `add Studio 54 $10k`."""
    if not looks_like_amount(words[j][0]):
        return False
    bare = words[j][0].isascii() and words[j][0].isdigit()
    return not (bare and j + 1 < len(words) and looks_like_amount(words[j + 1][0]))


def _add(rest: str, tz: str, now: datetime) -> Command | Usage:
    missing = "Which company? Put its name first, e.g. `/deal add Acme $12k next:friday`."
    quoted = _quoted(rest)
    if quoted:
        company, tail = quoted
    else:
        words = _words(rest)
        if not words or _KEY.match(words[0][0]) or _plainly_money(words[0][0]):
            return _usage("add", missing)
        j = 1  # the first word is always the name's: 3M, 7-Eleven
        while j < len(words) and not _KEY.match(words[j][0]) and not _amount_at(words, j):
            j += 1
        company, tail = _span(rest, words, 0, j).rstrip(",;"), rest[words[j - 1].end():]
    if not company:
        return _usage("add", missing)
    if len(company) > MAX_COMPANY:
        return _usage("add", f"That company name is {len(company)} characters; the limit is {MAX_COMPANY}.")
    found: dict[str, Any] = {}  # Command fields from the options
    amounts_given: list[str] = []  # the amount as typed, for the two-amounts message
    seen: set[str] = set()
    notes: list[str] = []
    for key, value in _segments(tail):
        if key in seen:
            return _usage("add", f"You gave `{key}:` twice; give it once.")
        if key:
            seen.add(key)
        if key in _NEEDS_VALUE and not value:
            return _usage("add", _NEEDS_VALUE[key])
        if key == "next":
            try:
                found["when"], value = split_when(value, tz, now)
            except WhenError as e:
                return _usage("add", str(e))
        elif key == "contact":
            found["contact"], value = value, ""
        elif key == "stage":
            found["stage"], value = _stage(value)
            if len(found["stage"]) > MAX_STAGE:
                return _usage("add", f"That stage is {len(found['stage'])} characters; "
                                     f"the limit is {MAX_STAGE}.")
        while key in (None, "next"):  # free text may start with the amount; one amount only
            given = value
            amount, value = _take_amount(value)
            if isinstance(amount, AmountError):
                return _usage("add", str(amount))
            if amount is None:
                break
            if "amount" in found:
                first, second = amounts_given[0], given[:len(given) - len(value)].strip()
                return _usage("add", f"You gave two amounts, {first} and {second}: give one.")
            found["amount"], amounts_given = amount, [given[:len(given) - len(value)].strip()]
        if value:
            notes.append(value)
    return Command("add", company=company, note=" ".join(notes), **found)


def _money(word: str) -> bool:
    """Plainly an amount (`$5k`, `5k`, `1.2m`, `€5,000`), not a bare number (`phase 2`)."""
    return looks_like_amount(word) and not (word.isascii() and word.isdigit())


def _segments(text: str) -> list[tuple[str | None, str]]:
    """[(None, free text), (key, value), ...] in order. A value runs to the next `key:` word; a
    `contact:` or `stage:` value also ends at an amount (`stage:negotiation $5k`), which starts free text."""
    starts = [(m.start(), m.start() + len(k[0]), k[1].lower())
              for m in _words(text) if (k := _KEY.match(m[0]))]
    found: list[tuple[str | None, str]] = [(None, text[:starts[0][0]] if starts else text)]
    for n, (_, value_start, key) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(text)
        value = text[value_start:end]
        money = next((w for w in _words(value) if _money(w[0])), None) if key in ("contact", "stage") else None
        if money is None:
            found.append((key, value))
        else:
            found += [(key, value[:money.start()]), (None, value[money.start():])]
    return [(key, value.strip()) for key, value in found if key or value.strip()]


def _take_amount(text: str) -> tuple[Amount | AmountError | None, str]:
    """An amount at the start of free text (`1.2m USD`, `$12k`), and the rest."""
    words = _words(text)
    if not words or not looks_like_amount(words[0][0]):
        return None, text
    with_code = len(words) > 1 and currency_code(words[1][0]) and looks_like_amount(_span(text, words, 0, 2))
    n = 2 if with_code else 1
    try:
        amount = parse_amount(_span(text, words, 0, n))
    except AmountError as e:
        return e, text
    return amount, text[words[n - 1].end():].strip()


def _stage(value: str) -> tuple[str, str]:
    """(stage, rest): a playbook stage in lowercase with the words after it as note; else all of it."""
    words = value.split()
    for n in (2, 1):
        name = " ".join(re.split(r"[\s_-]+", fold(" ".join(words[:n]))))
        if len(words) >= n and name in STAGES:
            return name, " ".join(words[n:])
    return value, ""


# --- verbs about one deal ------------------------------------------------------------------------

def _deal_ref(rest: str, companies: Sequence[str]) -> tuple[str, str, bool] | None:
    """(ref, rest, known): `#id`, a quoted name, or the longest run of leading words found in one
    of the rep's company names. Failing those the ref is the first word, and known is False.
    """
    quoted = _quoted(rest)
    if quoted and quoted[0]:
        return quoted[0], quoted[1].strip(), True
    words = _words(rest)
    if not words:
        return None
    first = words[0][0].rstrip(",.;:!?") or words[0][0]
    if first.startswith("#"):  # an id is complete in itself
        return first, rest[words[0].end():].strip(), True
    names = [fold(c) for c in companies]
    for k in range(min(len(words), MAX_REF_WORDS), 0, -1):
        ref = _span(rest, words, 0, k).rstrip(",.;:!?")
        key = fold(ref)
        if key and any(key in name for name in names):
            return ref, rest[words[k - 1].end():].strip(), True
    return first, rest[words[0].end():].strip(), False


def _deal_verb(verb: str, rest: str, tz: str, now: datetime, companies: Sequence[str]) -> Command | Usage:
    found = _deal_ref(rest, companies)
    if found is None:
        return _usage(verb, "Which deal? Give its `#id` or part of the company name.")
    ref, tail, known = found
    if verb == "maybe":  # "try after Jan 15": the prospect named a date, so no nudges until then
        named = find_when(tail, tz, now)
        return Command(verb, ref=ref, note=tail, when=named[0] if named else None)
    if verb not in ("meet", "snooze"):
        return Command(verb, ref=ref, note=tail)
    if not tail:
        what = "the meeting" if verb == "meet" else "the snooze end"
        return _usage(verb, f"When? I need a date or time for {what}, e.g. `next tuesday 2pm`.")
    try:
        when, note = split_when(tail, tz, now)
    except WhenError as e:
        if not known:  # a name we could not look up may have several words: find where the date starts
            words = _words(tail)
            for j in range(1, min(len(words), MAX_EXTRA_REF_WORDS + 1)):
                try:
                    when, note = split_when(tail[words[j].start():], tz, now)
                except WhenError:
                    continue
                return Command(verb, ref=f"{ref} {_span(tail, words, 0, j)}", when=when, note=note)
        return _usage(verb, str(e))
    return Command(verb, ref=ref, when=when, note=note)


def _coach(rest: str, companies: Sequence[str]) -> Command | Usage:
    words = _words(rest)
    option = None
    if len(words) >= 2 and words[-1][0].casefold() in COACH_KINDS:
        option = COACH_KINDS[words[-1][0].casefold()]
        rest = _span(rest, words, 0, len(words) - 1)
    found = _deal_ref(rest, companies)
    if found is None:
        return _usage("coach", "Which deal? Give its `#id` or part of the company name.")
    ref, tail, known = found
    if tail and known:
        return _usage("coach", f"“{tail[:40]}” isn't a kind of draft: use ask, meeting or breakup.")
    if tail:  # a name we could not look up: all of it is the reference
        ref = rest.strip()
    return Command("coach", ref=ref, option=option)


def _practice(rest: str) -> Command | Usage:
    """`practice`, `practice send-info`, `practice send info` (words joined by a dash), `practice mine`."""
    if not rest:
        return Command("practice")
    key = "-".join(fold(rest).split())
    if key in PRACTICE_OPTIONS:
        return Command("practice", option=PRACTICE_OPTIONS[key])
    close = difflib.get_close_matches(key, list(PRACTICE_OPTIONS), n=1, cutoff=0.7)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    return _usage("practice", f"“{rest[:40]}” isn't a brush-off I can play.{hint} Pick one of: partner, "
                              "supplier, new-year, send-info, team, or mine (one from your own maybes).")
