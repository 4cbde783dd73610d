"""The `/deal` grammar: the public forms in INTERFACE.md, the tricky cases, and totality."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.domain.amounts import Amount
from handlers.domain.grammar import HELP_TERMS, USAGE, VERBS, Command, Usage, help_entries, parse_command

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TZ = "Europe/Berlin"
MINE = ["Acme Corp", "Globex", "Müller GmbH", "Initech Labs", "Studio 54"]

# The forms exactly as INTERFACE.md promises them.
CONTRACT = [
    "/deal add <company> [amount] [next:<when>] [contact:<name>] [stage:<stage>] [note ...]",
    "/deal list [open|maybes|closed|all]",
    "/deal maybe <deal> [note]",
    "/deal touch <deal> [note]",
    "/deal meet <deal> <when> [note]",
    "/deal won <deal> [note]",
    "/deal no <deal> [reason]",
    "/deal drop <deal> [reason]",
    "/deal reopen <deal> [note]",  # INTERFACE.md, "More /deal"
    "/deal snooze <deal> <when>",
    "/deal coach <deal> [ask|meeting|breakup]",
    "/deal board [week|month|quarter]",
    "/deal export",
    "/deal help",
    "/deal forget me",  # INTERFACE.md, "More /deal"
    "/deal practice [brush-off]",  # INTERFACE.md, "More /deal"
]


def parse(text, companies=MINE, tz=TZ):
    return parse_command(text, tz, NOW, companies)


def at(y, mo, d, h=0, mi=0, tz=TZ):
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def usage(text, verb, says, companies=MINE):
    got = parse(text, companies)
    assert isinstance(got, Usage), got
    assert got.verb == verb
    assert says in got.message
    if verb:
        assert got.message.endswith(f"Usage: `{USAGE[verb]}`")
    return got


def test_usage_lines_are_the_contract():
    assert [USAGE[v] for v in VERBS if v != "settings"] == CONTRACT
    assert USAGE["settings"].startswith("/deal settings")


def test_help_lists_every_form_as_plain_data():
    entries = help_entries()
    assert [usage for usage, _ in entries] == list(USAGE.values())
    assert all(meaning and "*" not in meaning and "`" not in meaning for _, meaning in entries)  # no mrkdwn
    terms = {term: examples for term, _, examples in HELP_TERMS}
    assert "1.2m USD" in terms["<amount>"] and "next tuesday 2pm" in terms["<when>"]
    assert "after the new year" in terms["<when>"]


# --- add -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("add Acme $12k next:friday contact:Jo Park stage:explore",
     Command("add", company="Acme", amount=Amount(Decimal(12000), "USD"), when=at(2026, 11, 27),
             contact="Jo Park", stage="explore")),
    ("add Acme Corp 1.2m USD next:dec 3 2pm demo with CTO stage:Resolve Concerns",
     Command("add", company="Acme Corp", amount=Amount(Decimal(1200000), "USD"), when=at(2026, 12, 3, 14),
             stage="resolve concerns", note="demo with CTO")),
    ("add Initech 12000", Command("add", company="Initech", amount=Amount(Decimal(12000), None))),
    ("add Initech €5,000 warm intro", Command("add", company="Initech", amount=Amount(Decimal(5000), "EUR"),
                                              note="warm intro")),
    ("add Big Co 5000 eur", Command("add", company="Big Co", amount=Amount(Decimal(5000), "EUR"))),
    ("add Acme", Command("add", company="Acme")),
    # the options in any order; note: and stray text both go to the note, in order
    ("add Acme stage:decide contact:Ann next:in 2 weeks", Command(
        "add", company="Acme", stage="decide", contact="Ann", when=at(2026, 12, 7))),
    ("add Acme note:call 3 people next:friday bring deck",
     Command("add", company="Acme", when=at(2026, 11, 27), note="call 3 people bring deck")),
    ("add Acme next:friday $12k", Command("add", company="Acme", when=at(2026, 11, 27),
                                          amount=Amount(Decimal(12000), "USD"))),
    ("add Acme 12k all good", Command("add", company="Acme", amount=Amount(Decimal(12000)), note="all good")),
    # company names
    ('add "Studio 54" 5000 eur met at conf',
     Command("add", company="Studio 54", amount=Amount(Decimal(5000), "EUR"), note="met at conf")),
    ("add “Quoted Company 42” $1,200.50", Command("add", company="Quoted Company 42",
                                                  amount=Amount(Decimal("1200.50"), "USD"))),
    ("add 3M 50k", Command("add", company="3M", amount=Amount(Decimal(50000)))),  # first word is the name's
    ("add Studio 54 $10k", Command("add", company="Studio 54", amount=Amount(Decimal(10000), "USD"))),
    ("add Acme 5 seats $10k", Command("add", company="Acme", amount=Amount(Decimal(5)), note="seats $10k")),
    ("add Re:Invent Inc 12k", Command("add", company="Re:Invent Inc", amount=Amount(Decimal(12000)))),
    ("add AT&amp;T 5k", Command("add", company="AT&T", amount=Amount(Decimal(5000)))),  # Slack's escaping
    ("add Acme, $12k", Command("add", company="Acme", amount=Amount(Decimal(12000), "USD"))),
    ("ADD Müller 🚀 *bold* <!channel> 5k", Command("add", company="Müller 🚀 *bold* <!channel>",
                                                    amount=Amount(Decimal(5000)))),
    ("add Robert'); DROP TABLE deals;-- 1k", Command("add", company="Robert'); DROP TABLE deals;--",
                                                     amount=Amount(Decimal(1000)))),
    ("add 東京商事 ¥500k", Command("add", company="東京商事", amount=Amount(Decimal(500000), "JPY"))),
    ("add Acme stage:Proposal sent", Command("add", company="Acme", stage="Proposal sent")),
    ("add Acme stage:EXPLORE met at conf",
     Command("add", company="Acme", stage="explore", note="met at conf")),
    ("add Acme stage:resolve-concerns", Command("add", company="Acme", stage="resolve concerns")),
    ("new Acme 5k", Command("add", company="Acme", amount=Amount(Decimal(5000)))),
])
def test_add(text, expected):
    assert parse(text) == expected


def test_add_company_limit():
    assert parse("add " + "x" * 200).company == "x" * 200
    usage("add " + "x" * 201, "add", "limit is 200")


@pytest.mark.parametrize("text, says", [
    ("add", "Which company?"),
    ("add $12k", "Which company?"),
    ("add next:friday", "Which company?"),
    ('add "" 5k', "Which company?"),
    ("add Acme -5", "“-5” isn't a deal amount: use a positive number like $12k."),
    ("add Acme 0", "positive"),
    ("add Acme 2000b", "trillion"),
    ("add Acme next:blorp", "I couldn't read a date at the start of “blorp”"),
    ("add Acme next:", "`next:` needs a date"),
    ("add Acme next:yesterday", "in the past"),
    ("add Acme contact:", "`contact:` needs a value"),
    ("add Acme stage: next:friday", "`stage:` needs a value"),
    ("add Acme next:friday next:monday", "`next:` twice"),
    ("add Acme stage:" + "x" * 101, "limit is 100"),
])
def test_add_usage(text, says):
    usage(text, "add", says)


# --- verbs about one deal ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("maybe acme corp send me info", Command("maybe", ref="acme corp", note="send me info")),
    ("maybe ACME not now", Command("maybe", ref="ACME", note="not now")),
    ("maybe muller send deck", Command("maybe", ref="muller", note="send deck")),  # accents folded
    ("maybe müller try after Jan 15", Command("maybe", ref="müller", note="try after Jan 15",
                                              when=at(2027, 1, 15))),  # a date in the note
    ("touch #12 left vm", Command("touch", ref="#12", note="left vm")),
    ("touch globex", Command("touch", ref="globex")),
    ("won Studio 54 signed today", Command("won", ref="Studio 54", note="signed today")),
    ("yes globex", Command("won", ref="globex")),
    ("win globex", Command("won", ref="globex")),
    ("no globex budget cut", Command("no", ref="globex", note="budget cut")),
    ("lost globex", Command("no", ref="globex")),
    ("drop #3 not a fit", Command("drop", ref="#3", note="not a fit")),
    ("dq initech labs too small", Command("drop", ref="initech labs", note="too small")),
    ('maybe "Acme Corp" call me', Command("maybe", ref="Acme Corp", note="call me")),
    ("maybe unknown co whatever", Command("maybe", ref="unknown", note="co whatever")),  # first word
    ("maybe acme, send info", Command("maybe", ref="acme", note="send info")),
])
def test_deal_verbs(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("meet acme corp next tuesday 2pm", Command("meet", ref="acme corp", when=at(2026, 11, 24, 14))),
    ("meet initech labs thursday 10am demo with CTO",
     Command("meet", ref="initech labs", when=at(2026, 11, 26, 10), note="demo with CTO")),
    ("meeting #4 2026-12-03", Command("meet", ref="#4", when=at(2026, 12, 3))),
    ("meet foo bar friday 2pm", Command("meet", ref="foo bar", when=at(2026, 11, 27, 14))),  # unknown name
    ("snooze globex in 2 weeks", Command("snooze", ref="globex", when=at(2026, 12, 7))),
    ("snooze globex dec 3", Command("snooze", ref="globex", when=at(2026, 12, 3))),
])
def test_meet_and_snooze(text, expected):
    assert parse(text) == expected


def test_when_is_read_in_the_reps_zone():
    got = parse_command("meet acme corp dec 3 9am", "America/Los_Angeles", NOW, MINE)
    assert got.when == datetime(2026, 12, 3, 17, tzinfo=UTC)


@pytest.mark.parametrize("text, verb, says", [
    ("meet acme corp", "meet", "When?"),
    ("meet acme corp blorp", "meet", "I couldn't read a date at the start of “blorp”"),
    ("snooze globex", "snooze", "When?"),
    ("snooze globex whenever", "snooze", "couldn't read"),
    ("maybe", "maybe", "Which deal?"),
    ("won", "won", "Which deal?"),
    ("meet", "meet", "Which deal?"),
    ("coach", "coach", "Which deal?"),
])
def test_deal_verb_usage(text, verb, says):
    usage(text, verb, says)


@pytest.mark.parametrize("text, ref, option", [
    ("coach acme corp", "acme corp", None),
    ("coach acme corp ask", "acme corp", "ask"),
    ("coach globex meeting", "globex", "meeting"),
    ("coach globex BREAKUP", "globex", "breakup"),
    ("coach globex break-up", "globex", "breakup"),
    ("coach #7 meet", "#7", "meeting"),
    ("coach some new co breakup", "some new co", "breakup"),  # names we don't know: all of it
])
def test_coach(text, ref, option):
    assert parse(text) == Command("coach", ref=ref, option=option)


def test_coach_bad_kind():
    usage("coach globex flowers", "coach", "“flowers” isn't a kind of draft")


# --- list, board, export, help, settings -----------------------------------------------------------

@pytest.mark.parametrize("text, verb, option", [
    ("list", "list", "open"), ("list maybes", "list", "maybes"), ("LIST Maybe", "list", "maybes"),
    ("ls closed", "list", "closed"), ("list all", "list", "all"), ("list open", "list", "open"),
    ("board", "board", "week"), ("board month", "board", "month"),
    ("leaderboard quarter", "board", "quarter"),
    ("lb weekly", "board", "week"),
])
def test_options(text, verb, option):
    assert parse(text) == Command(verb, option=option)


@pytest.mark.parametrize("text, verb, says", [
    ("list won", "list", "“won” isn't one of open, maybes, closed, all."),
    ("list open now", "list", "isn't one of"),
    ("board year", "board", "“year” isn't one of week, month, quarter."),
])
def test_bad_options(text, verb, says):
    usage(text, verb, says)


def test_export_help_settings():
    assert parse("export") == Command("export")
    assert parse("csv") == Command("export")
    assert parse("help") == Command("help")
    assert parse("?") == Command("help")
    assert parse("help meet") == Command("help", option="meet")
    assert parse("help dq") == Command("help", option="drop")
    assert parse("settings digest 8am") == Command("settings", args=("digest", "8am"))
    assert parse("Settings") == Command("settings")


# --- what is not a command --------------------------------------------------------------------------

def test_empty_text_is_general_help():
    for text in ("", "   ", "\n"):
        got = usage(text, None, "Tell me what happened")
        assert got.full_help  # the handlers put every form after it (tests/test_deal_command.py checks)


@pytest.mark.parametrize("text, suggestion", [
    ("mayb acme", "Did you mean `/deal maybe`?"),
    ("snoze acme dec 3", "Did you mean `/deal snooze`?"),
    ("leaderbord", "Did you mean `/deal board`?"),
    ("wn acme", "Did you mean `/deal won`?"),
])
def test_unknown_verb_suggests_the_closest(text, suggestion):
    got = usage(text, None, suggestion)
    assert f"“{text.split()[0]}”" in got.message


def test_unknown_verb_without_a_close_one():
    usage("frobnicate", None, "I don't know “frobnicate”. Start with what happened")


def test_verbs_are_case_insensitive():
    assert parse("MAYBE Globex later") == Command("maybe", ref="Globex", note="later")


def test_the_parsing_modules_load_no_slack_or_database_code():
    code = ("import sys, handlers.domain.grammar; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('slack_sdk', 'slack_bolt', 'sqlalchemy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"


# --- totality ---------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.lists(st.text(max_size=20), max_size=4),
       st.sampled_from([TZ, "America/Los_Angeles", "Asia/Kolkata", "Pacific/Chatham", "Nope/Zone"]))
def test_parse_command_is_total(text, companies, tz):
    got = parse_command(text, tz, NOW, companies)
    assert isinstance(got, (Command, Usage))
    if isinstance(got, Command):
        assert got.verb in VERBS
    else:
        assert got.message


words = st.sampled_from(["add", "meet", "maybe", "coach", "list", "snooze", "acme", "corp", "$12k", "1.2m",
                         "USD", "next:", "next:friday", "contact:", "stage:", "note:", "dec", "3", "2pm",
                         '"', "“", "#12", "ask", "-5", "tomorrow", "blorp", "explore", "in", "2", "weeks"])


@settings(max_examples=300, deadline=None)
@given(st.lists(words, max_size=10).map(" ".join))
def test_command_shaped_text_is_total(text):
    got = parse_command(text, TZ, NOW, ["Acme Corp"])
    assert isinstance(got, (Command, Usage))
    if isinstance(got, Command) and got.verb == "add":
        assert got.company and len(got.company) <= 200


# --- add: keys in any order, one amount ------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("add Acme stage:negotiation $5k", Command("add", company="Acme", amount=Amount(Decimal(5000), "USD"),
                                               stage="negotiation")),
    ("add Acme contact:Jo Park €5,000 next:friday", Command("add", company="Acme", contact="Jo Park",
                                                            amount=Amount(Decimal(5000), "EUR"), when=at(2026, 11, 27))),
    ("add Acme stage:phase 2 contact:Jo", Command("add", company="Acme", stage="phase 2", contact="Jo")),
    ("add Acme stage:explore 5k met at a fair", Command("add", company="Acme", stage="explore",
                                                        amount=Amount(Decimal(5000), None), note="met at a fair")),
    ("add Acme note: wants 10k seats $5k", Command("add", company="Acme", note="wants 10k seats $5k")),
])
def test_add_keys_end_at_the_next_key_or_amount(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text", ["add Acme $5k $6k", "add Acme $5k stage:explore $6k", "add Acme 5k next:friday 6k",
                                  "add Acme stage:negotiation $5k 1.2m USD"])
def test_add_refuses_a_second_amount(text):
    got = usage(text, "add", "two amounts")
    assert "$5k" in got.message or "5k" in got.message


# --- periods read the same in every verb --------------------------------------------------------------

SUMMER = datetime(2026, 7, 14, 15, tzinfo=UTC)


@pytest.mark.parametrize("now", [NOW, SUMMER])
@pytest.mark.parametrize("phrase", ["after the new year", "end of month", "early january", "next year", "next month"])
def test_every_verb_reads_a_period_the_same(now, phrase):
    from handlers.domain.when import parse_when
    want = parse_when(phrase, TZ, now)
    add = parse_command(f"add Hooli next:{phrase}", TZ, now, MINE)
    snooze = parse_command(f"snooze globex {phrase}", TZ, now, MINE)
    meet = parse_command(f"meet globex {phrase} kickoff", TZ, now, MINE)
    maybe = parse_command(f"maybe globex try {phrase}", TZ, now, MINE)
    assert isinstance(add, Command) and isinstance(snooze, Command) and isinstance(meet, Command)
    assert isinstance(maybe, Command)
    assert add.when == snooze.when == meet.when == maybe.when == want
    assert meet.note == "kickoff" and maybe.note == f"try {phrase}"


def test_reopen_is_a_verb():
    assert parse("reopen globex") == Command("reopen", ref="globex")
    assert parse("reopen #5 they came back") == Command("reopen", ref="#5", note="they came back")
    usage("reopen", "reopen", "Which deal?")
