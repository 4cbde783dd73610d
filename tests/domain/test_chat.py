"""Chat lines as reps type them, read into proposed deal updates (or into nothing)."""

from __future__ import annotations

import ast
import inspect
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from handlers.domain import chat, chat_dates, chat_names, chat_phrases, chat_text, chat_words
from handlers.domain.amounts import parse_amount
from handlers.domain.chat import Proposal, parse_chat
from handlers.domain.chat_words import PHRASES, PRECEDENCE
from handlers.domain.model import Kind

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday, 05:00 in New York
TZ = "America/New_York"
COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella", "Müller GmbH", "Maybe Labs", "Hooli", "株式会社サンプル"]
M, T, MEET, W, N, D, NOTE, ADD = (Kind.MAYBE, Kind.TOUCH, Kind.MEETING, Kind.WON, Kind.NO, Kind.DROP, Kind.NOTE,
                                  Kind.ADDED)


def parse(text: str, companies=COMPANIES, tz: str = TZ, now: datetime = NOW) -> Proposal | None:
    return parse_chat(text, companies, tz, now)


def local(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    assert dt.tzinfo is not None and dt.utcoffset() == timedelta(0)  # always aware UTC
    got = dt.astimezone(ZoneInfo(TZ))
    return got.strftime("%Y-%m-%d") if got.strftime("%H:%M") == "00:00" else got.strftime("%Y-%m-%d %H:%M")


# (line, kind, company, known, when in New York: "YYYY-MM-DD" for a day, "YYYY-MM-DD HH:MM" for a time)
TABLE = [
    # the examples from the brief
    ("Acme said maybe again, try after Jan 15", M, "Acme Corp", True, "2027-01-15"),
    ("Globex signed!", W, "Globex", True, None),
    ("left a voicemail for Initech", T, "Initech", True, None),
    ("met Umbrella, next meeting Thursday 10am", MEET, "Umbrella", True, "2026-11-26 10:00"),
    # maybes: the brush-offs of playbook section 4
    ("met Umbrella", MEET, "Umbrella", True, None),  # no next date yet: the bot asks for one
    ("acme mabye, ping me after new years", M, "Acme Corp", True, "2027-01-01"),
    ("hooli says try me again after the first of the year", M, "Hooli", True, "2027-01-01"),
    ("acme: happy with our supplier, keep your info on file", M, "Acme Corp", True, None),
    ("株式会社サンプル said they already have a partner", M, "株式会社サンプル", True, None),
    ("initech: can you just email me some information?", M, "Initech", True, None),
    ("globex - talk it over w/ the team and get back to me in a couple weeks", M, "Globex", True, "2026-12-07"),
    ("hooli said maybe, try again in a couple of days", M, "Hooli", True, "2026-11-25"),
    ("umbrella said maybe, 1.2m deal, circle back nxt wk", M, "Umbrella", True, "2026-11-30"),
    ("not interested yet, maybe in Q2 - initech", M, "Initech", True, None),  # "yet" softens the no
    ("acme said no for now, revisit in Q2", M, "Acme Corp", True, None),
    ("umbrella: not the right time, try again in january", M, "Umbrella", True, "2027-01-01"),
    ("müller gmbh wants us to email some information", M, "Müller GmbH", True, None),
    ("maybe labs said maybe 🙄", M, "Maybe Labs", True, None),  # the company's name is no maybe
    ("Talked to Bob at Initech, he'll get back to me next week", M, "Initech", True, "2026-11-30"),
    ("left a voicemail, they said maybe later. globex", M, "Globex", True, None),  # they answered: a maybe
    ("acme called back, said they'll think about it", M, "Acme Corp", True, None),
    # touches: attempts without an answer
    ("vm for acme, no answer", T, "Acme Corp", True, None),
    ("f/u sent to globex", T, "Globex", True, None),
    ("called acme, no answer", T, "Acme Corp", True, None),
    ("Pinged Globex again", T, "Globex", True, None),
    ("lvm initech x2", T, "Initech", True, None),
    ("initech ghosted me again 👻", T, "Initech", True, None),
    ("sent acme a f/u email", T, "Acme Corp", True, None),
    ("emailed the team at Initech re pricing", T, "Initech", True, None),
    ("no answer from Stark Industries", T, "Stark Industries", False, None),
    ("tried calling muller twice, didn't pick up", T, "Müller GmbH", True, None),
    # meetings
    ("mtg w/ hooli booked for dec 3 2pm", MEET, "Hooli", True, "2026-12-03 14:00"),
    ("demo on friday w/ Umbrella", MEET, "Umbrella", True, "2026-11-27"),
    ("Globex call booked for next tuesday 2pm", MEET, "Globex", True, "2026-11-24 14:00"),
    ("call w globex thu 3pm", MEET, "Globex", True, "2026-11-26 15:00"),
    ("next steps w/ initech: demo on 12/3 at 11am", MEET, "Initech", True, "2026-12-03 11:00"),
    ("met Acme on Monday, next mtg thu 9am", MEET, "Acme Corp", True, "2026-11-26 09:00"),  # Monday was the past one
    ("I met Sarah from Stark Industries, next call 12/3 2pm", MEET, "Stark Industries", False, "2026-12-03 14:00"),
    ("said maybe but booked a call for dec 7 <@U07BOB> hooli", MEET, "Hooli", True, "2026-12-07"),
    ("mtg tmrw 2pm w/ acme", MEET, "Acme Corp", True, "2026-11-24 14:00"),  # shorthand: tomorrow, not today
    ("demo 3pm tmrw with globex", MEET, "Globex", True, "2026-11-24 15:00"),
    ("Initech meeting set for next wed at 2", MEET, "Initech", True, "2026-11-25"),  # "at 2": no time, the day
    ("acme: call thurs 3pm", MEET, "Acme Corp", True, "2026-11-26 15:00"),
    # wins
    ("Maybe Labs signed 🎉", W, "Maybe Labs", True, None),
    ("Acme said yes!!! 🎉🎉", W, "Acme Corp", True, None),
    ("PO received from initech!!", W, "Initech", True, None),
    (":tada: globex", W, "Globex", True, None),
    ("Globex signd the contract", W, "Globex", True, None),
    ("Wayne Enterprises signed the PO 🎉", W, "Wayne Enterprises", False, None),
    ("Check out <https://acme.com|acme.com> they're in!", W, "Acme Corp", True, None),
    # hard noes
    ("muller said no", N, "Müller GmbH", True, None),
    ("サンプル not interested", N, "株式会社サンプル", True, None),
    ("<@U123ABC> initech went with a competitor", N, "Initech", True, None),
    ("initech not a fit for them", N, "Initech", True, None),
    ("hooli is a hard no", N, "Hooli", True, None),
    ("Acme's CFO said no", N, "Acme Corp", True, None),
    ("Initech went with Salesforce, so we're dropping it", N, "Initech", True, None),  # their no, not our drop
    # drops: we said no
    ("we're dropping Hooli, not a fit for us", D, "Hooli", True, None),
    ("we said no to hooli, too small", D, "Hooli", True, None),
    ("DQ'd umbrella - no budget, no authority", D, "Umbrella", True, None),
    ("gonna drop acme, they never answer", D, "Acme Corp", True, None),
    ("globex said maybe for the 5th time, walking away", D, "Globex", True, None),
    # new deals
    ("new lead: Stark Industries, $20k", ADD, "Stark Industries", False, None),
    ("new lead: hooli", ADD, "Hooli", True, None),
    ("new deal - pied piper 1.2m USD", ADD, "pied piper", False, None),
    # negations and notes
    ("Acme didn't say no", NOTE, "Acme Corp", True, None),
    ("acme hasn't signed yet", NOTE, "Acme Corp", True, None),
    ("dropping by globex tomorrow with donuts", NOTE, "Globex", True, None),
    ("initech: CFO on vacation until jan 5", NOTE, "Initech", True, None),
    ("signed the NDA w/ globex 📝", NOTE, "Globex", True, None),  # paperwork, not a win
    ("called initech, they're in a meeting", T, "Initech", True, None),
    ("globex: budget frozen till Q2 😩", M, "Globex", True, None),
    # not deal updates
    ("thanks!", None, None, None, None),
    ("how do I use this?", None, None, None, None),
    ("good morning ☀️", None, None, None, None),
    ("lol", None, None, None, None),
    ("ok", None, None, None, None),
    ("👍", None, None, None, None),
    ("🎉", None, None, None, None),
    ("what's my pipeline?", None, None, None, None),
    ("should I drop Initech?", None, None, None, None),
    ("did Globex sign?", None, None, None, None),
    ("Globex?", None, None, None, None),
    ("<@U0BOT>", None, None, None, None),
    ("   ", None, None, None, None),
]


@pytest.mark.parametrize("line, kind, company, known, when", TABLE, ids=[row[0][:40] for row in TABLE])
def test_chat_line(line, kind, company, known, when):
    got = parse(line)
    if kind is None:
        assert got is None
        return
    assert got is not None
    assert (got.kind, got.company, got.known, local(got.when)) == (kind, company, known, when)
    assert got.confidence >= 0.5  # all of these are proposed, not asked about
    if "<" not in line:
        assert got.note == line.strip()  # nothing the rep wrote is lost


def test_table_size():
    assert len(TABLE) >= 45
    assert sum(row[1] is None for row in TABLE) >= 8


# --- the rest of the proposal ---------------------------------------------------------------------

def test_note_is_the_message_trimmed_with_markup_as_plain_text():
    got = parse("  <@U07BOB|bob> and I met Acme, deck: <https://x.io/deck|the deck> <https://acme.com|acme.com>  ")
    assert got is not None
    assert got.note == "@bob and I met Acme, deck: the deck (https://x.io/deck) acme.com"


def test_note_keeps_lines():
    got = parse("Globex signed!\nkickoff in Jan")
    assert got is not None and got.note == "Globex signed!\nkickoff in Jan"


@pytest.mark.parametrize("line, amount", [
    ("new lead: Stark Industries, $20k", "$20k"),
    ("new deal - pied piper 1.2m USD", "1.2m USD"),
    ("Globex signed, €5,000 a year", "€5,000"),
    ("hooli said maybe, 50k deal", "50k"),
    ("met Umbrella at 10am, 3 people", None),  # times and counts are no amounts
    ("call w globex 12/3 2pm", None),
])
def test_amounts(line, amount):
    got = parse(line)
    assert got is not None and got.amount_text == amount
    if amount:
        assert parse_amount(amount).value > 0  # what the bot stores when the rep confirms


def test_amount_is_not_read_as_a_date():
    got = parse("add Pied Piper, 1.2m USD, met at the conference")
    assert got is not None and got.when is None and got.amount_text == "1.2m USD"


def test_when_is_only_for_meetings_and_maybes():
    got = parse("Globex signed! kickoff Dec 3")
    assert got is not None and got.kind is Kind.WON and got.when is None
    got = parse("left vm for initech, will try again thursday")
    assert got is not None and got.kind is Kind.TOUCH and got.when is None


def test_dates_read_in_the_reps_zone():
    got = parse("met Umbrella, next meeting Thursday 10am", tz="Europe/Berlin")
    assert got is not None and got.when == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # 10:00 CET


def test_today_is_not_a_try_after_date():
    got = parse("acme said maybe today, try after dec 10")
    assert got is not None and got.kind is Kind.MAYBE and local(got.when) == "2026-12-10"


# --- company detection ----------------------------------------------------------------------------

@pytest.mark.parametrize("line, company", [
    ("ACME CORP SAID NO", "Acme Corp"),
    ("acme corp's cfo said no", "Acme Corp"),
    ("Müller said no", "Müller GmbH"),
    ("MULLER GMBH said no", "Müller GmbH"),
    ("ｇｌｏｂｅｘ said no", "Globex"),  # full-width letters
    ("株式会社サンプルから連絡なし、no answer", "株式会社サンプル"),  # no spaces around Japanese names
])
def test_known_company_folded(line, company):
    got = parse(line)
    assert got is not None and (got.company, got.known) == (company, True)


def test_word_boundaries():
    got = parse("globexcorp said no")  # not Globex
    assert got is None or got.company != "Globex"
    got = parse("hoolian said no", companies=["Hooli"])
    assert got is None or not got.known


def test_longest_name_wins():
    got = parse("Acme Corp EU signed", companies=["Acme Corp", "Acme Corp EU"])
    assert got is not None and got.company == "Acme Corp EU" and got.confidence >= 0.5


def test_shared_first_word_is_not_distinctive():
    got = parse("acme said no", companies=["Acme Corp", "Acme Labs"])
    assert got is not None and not got.known  # which Acme? the rep must say
    got = parse("acme labs said no", companies=["Acme Corp", "Acme Labs"])
    assert got is not None and got.company == "Acme Labs"


def test_everyday_word_names_need_a_capital():
    companies = ["Next", "Globex"]
    got = parse("next meeting with globex thursday 10am", companies=companies)
    assert got is not None and got.company == "Globex" and got.confidence >= 0.5
    got = parse("Next signed!", companies=companies)
    assert got is not None and got.company == "Next" and got.kind is Kind.WON


def test_two_deals_in_one_line_asks():
    got = parse("acme corp and globex both said maybe")
    assert got is not None and got.confidence < 0.5


def test_unknown_company_from_its_position():
    got = parse("Stark Industries said maybe, try after Jan 15")
    assert got is not None and (got.kind, got.company, got.known) == (Kind.MAYBE, "Stark Industries", False)
    assert 0.5 <= got.confidence < 0.9  # a guessed name is less sure than one of the rep's deals


def test_person_is_not_the_company():
    got = parse("call with Dana at Wayne Enterprises on dec 2")
    assert got is not None and got.company == "Wayne Enterprises" and got.kind is Kind.MEETING


def test_outcome_without_company_asks():
    got = parse("they said maybe, try after Jan 15")
    assert got is not None and got.company == "" and not got.known and got.confidence < 0.5
    assert got.kind is Kind.MAYBE


def test_unknown_note_asks():
    got = parse("Stark Industries is reorganising")
    assert got is not None and got.kind is Kind.NOTE and got.confidence < 0.5


def test_company_alone_is_a_note():
    got = parse("Globex")
    assert got is not None and (got.kind, got.confidence) == (Kind.NOTE, 0.6)


# --- outcomes: negation and precedence ------------------------------------------------------------

@pytest.mark.parametrize("line, kind", [
    ("acme didn't say no", Kind.NOTE),
    ("acme did not say no", Kind.NOTE),
    ("globex has yet to sign", Kind.NOTE),
    ("globex never signed", Kind.NOTE),
    ("initech isn't interested", Kind.NO),
    ("initech is not interested right now", Kind.MAYBE),
    ("not signed yet but globex says maybe next wk", Kind.MAYBE),
    ("hooli: not a hard no, not a yes either", Kind.NOTE),
    ("maybe I should call acme tomorrow", Kind.NOTE),  # the rep thinking aloud, not the prospect
])
def test_negations(line, kind):
    got = parse(line)
    assert got is not None and got.kind is kind


@pytest.mark.parametrize("line, kind", [
    ("globex said no to the upsell but signed the base plan", Kind.WON),  # WON first
    ("initech went with a competitor, we're dropping it", Kind.NO),  # NO before DROP
    ("acme said maybe again, walking away", Kind.DROP),  # DROP before open outcomes
    ("hooli said maybe, but booked a call for dec 3", Kind.MEETING),  # a dated meeting before MAYBE
    ("met umbrella, they said maybe", Kind.MAYBE),  # MAYBE before an undated meeting
    ("left a vm for acme, then they emailed back: not right now", Kind.MAYBE),  # answers before TOUCH
    ("new lead: Stark Industries, said maybe", Kind.MAYBE),  # ADDED late
    ("globex called back", Kind.NOTE),  # they answered, no decision: not an attempt of ours
])
def test_precedence(line, kind):
    got = parse(line)
    assert got is not None and got.kind is kind


def test_precedence_table_is_complete():
    assert set(PHRASES) <= {k for k in PRECEDENCE if isinstance(k, Kind)}
    assert PRECEDENCE.index(Kind.WON) < PRECEDENCE.index(Kind.NO) < PRECEDENCE.index(Kind.DROP)
    assert PRECEDENCE.index(chat_words.MEETING_DATED) < PRECEDENCE.index(Kind.MAYBE) < PRECEDENCE.index(Kind.MEETING)
    assert PRECEDENCE.index(Kind.MEETING) < PRECEDENCE.index(Kind.TOUCH)


def test_every_phrase_compiles_and_matches_its_own_words():
    for kind, phrases in PHRASES.items():
        for phrase in phrases:
            words = ["friday" if w == "<date>" else w.split("|")[0].rstrip("?") for w in phrase.split()
                     if w not in ("^", "<end>", "*")]
            sample = " ".join(chat_phrases.CO if w == "<co>" else w for w in words if not w.endswith("?"))
            sample = chat_phrases.normalise(chat_text.fold(sample))
            assert chat_phrases.compile_phrase(phrase).search(sample), (kind, phrase)


# --- purity and robustness ---------------------------------------------------------------------------

@pytest.mark.parametrize("module", [chat, chat_text, chat_names, chat_phrases, chat_dates])
def test_no_slack_or_database_imports(module):
    tree = ast.parse(inspect.getsource(module))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {n for n in names if n.split(".")[0] in {"slack_sdk", "slack_bolt", "sqlalchemy"}}
    assert not any("dateparser" in n for n in names)  # dates come from handlers.domain.when


def test_naive_now_reads_as_utc():
    got = parse("met Umbrella, next meeting Thursday 10am", now=NOW.replace(tzinfo=None))
    assert got is not None and local(got.when) == "2026-11-26 10:00"


def test_long_message_is_fast_and_keeps_the_whole_note():
    text = "Globex signed! " + "blah " * 5000
    got = parse(text)
    assert got is not None and got.kind is Kind.WON and got.note == text.strip()


_names = st.lists(st.text(min_size=0, max_size=20), max_size=6)
_lines = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(["Acme", "said", "maybe", "no", "not", "signed", "met", "next", "meeting", "vm",
                              "<@U1>", "<http://a.b|Globex>", "try", "after", "Jan 15", "thu 10am", "$20k", "🎉",
                              "?", ",", "didn't", "we're", "dropping", "new lead:", "株式会社", "Müller", "ß"]),
             max_size=12).map(" ".join),
)


@settings(max_examples=200, deadline=None)
@given(text=_lines, companies=_names, tz=st.sampled_from([TZ, "Europe/Berlin", "Asia/Tokyo", "UTC", "Not/AZone"]))
def test_never_raises_and_known_companies_are_the_reps(text, companies, tz):
    got = parse_chat(text, companies, tz, NOW)
    if got is None:
        return
    assert isinstance(got.kind, Kind)
    if got.known:
        assert got.company in companies
    assert 0.0 <= got.confidence <= 1.0
    if got.when is not None:
        assert got.kind in (Kind.MEETING, Kind.MAYBE)
        assert got.when.utcoffset() == timedelta(0) and got.when > NOW
    assert got.note == got.note.strip()


@settings(max_examples=100, deadline=None)
@given(name=st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüé", min_size=4, max_size=12))
def test_any_plain_name_is_found(name):
    name = name.capitalize()
    folded = chat_text.fold(name)
    assume(folded not in chat_words.COMMON_WORDS)
    assume(not any(folded in phrase.replace("|", " ").split() for p in PHRASES.values() for phrase in p))
    got = parse_chat(f"{name} signed!", [*COMPANIES, name], TZ, NOW)
    assert got is not None and got.kind is Kind.WON and got.company == name and got.known
