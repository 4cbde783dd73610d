"""Which deal a typed reference means."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.domain.refs import Candidate, exact, fold, match

DEALS = [
    Candidate(1, "Acme Corp"),
    Candidate(2, "Acme Labs", open=False),
    Candidate(3, "Müller GmbH"),
    Candidate(12, "Studio 54"),
    Candidate(4, "acme"),
    Candidate(5, "Globex", open=False),
    Candidate(6, "Initech"),
    Candidate(7, "Initech", open=False),
]


def ids(found):
    return [c.id for c in found]


@pytest.mark.parametrize("ref, expected", [
    ("#12", [12]),
    ("#6", [6]),
    ("#99", []),  # not among the caller's deals
    ("# 12", []),
    ("ACME", [4]),  # an exact name wins alone
    ("acme corp", [1]),
    ("Acme  Corp", [1]),  # spaces collapse
    ("corp", []),  # a legal form alone names no company (issue 10: `won inc` closed "Monsters Inc")
    ("labs", [2]),  # only a closed one matches: it is found
    ("acm", [4, 1]),  # open ones only (Acme Labs is closed), by name
    ("muller", [3]),  # accents do not matter
    ("MÜLLER gmbh", [3]),
    ("ｍｕｌｌｅｒ", [3]),  # full-width letters fold too
    ("globex", [5]),
    ("initech", [6]),  # open and closed exact matches: the open one
    ("54", [12]),  # a number is part of a name first
    ("5", [12]),  # "Studio 54" contains 5, so it is not deal #5
    ("6", [6]),  # no name contains 6: deal 6
    ("zzz", []),
    ("", []),
    ("   ", []),
])
def test_match(ref, expected):
    assert ids(match(ref, DEALS)) == expected


def test_order_is_open_first_then_by_name():
    deals = [Candidate(1, "Zeta Acme"), Candidate(2, "Acme B", open=False), Candidate(3, "Alpha Acme")]
    assert ids(match("acme", deals)) == [3, 1]
    assert ids(match("acme b", deals)) == [2]


def test_fold():
    assert fold("  Müller   GmbH ") == "muller gmbh"
    assert fold("Straße") == "strasse"
    assert fold("ÉCOLE") == "ecole"
    assert fold("") == ""


names = st.text(alphabet=st.sampled_from("abcAB éÉüß 12-*<>!"), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(names, max_size=8), st.booleans(), names)
def test_match_only_returns_candidates_containing_the_ref(companies, first_closed, ref):
    cands = [Candidate(i + 1, c, open=not (first_closed and i == 0)) for i, c in enumerate(companies)]
    found = match(ref, cands)
    key = fold(ref)
    if key.isdecimal():  # a bare number may also be an id when no name contains it
        return
    for c in found:
        assert key and key in fold(c.company)
    assert len({c.id for c in found}) == len(found)
    if any(c.open for c in found):
        assert all(c.open for c in found)
    assert found == sorted(found, key=lambda c: (fold(c.company), c.id))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_match_is_total(ref):
    assert isinstance(match(ref, DEALS), list)


MONSTERS = [Candidate(1, "Monsters Inc"), Candidate(2, "Müller GmbH & Co. KG"), Candidate(3, "Acme Ltd"),
            Candidate(4, "Big Blue Corp.")]


@pytest.mark.parametrize("ref", ["inc", "Inc.", "INC", "gmbh", "ltd", "corp", "co", "llc", "plc", "sa", "ag", "bv",
                                 "gmbh & co", "the", "co. kg"])
def test_a_legal_form_alone_matches_nothing(ref):
    assert match(ref, MONSTERS) == []


def test_a_name_with_its_legal_form_still_matches():
    assert ids(match("monsters inc", MONSTERS)) == [1]
    assert ids(match("monsters", MONSTERS)) == [1]
    assert ids(match("acme ltd", MONSTERS)) == [3]


@pytest.mark.parametrize("ref, deal, sure", [
    ("#1", 1, True), ("monsters inc", 1, True), ("MONSTERS  INC", 1, True), ("monsters", 1, True),
    ("big blue", 4, True), ("blue", 4, False), ("muller", 2, True), ("monst", 1, False),
    ("mon", 1, False), ("1", 1, True), ("#2", 1, False), ("acme", 3, True),
])
def test_exact_tells_a_sure_reference_from_a_fuzzy_one(ref, deal, sure):
    [c] = [c for c in MONSTERS if c.id == deal]
    assert exact(ref, c) is sure
