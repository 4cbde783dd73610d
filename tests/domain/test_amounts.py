"""Deal amounts: what reps type, what we refuse, and how amounts read back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.domain.amounts import Amount, AmountError, format_amount, looks_like_amount, parse_amount


@pytest.mark.parametrize("text, value, currency", [
    ("$12k", "12000", "USD"),
    ("12000", "12000", None),
    ("€5,000", "5000", "EUR"),
    ("1.2m USD", "1200000", "USD"),
    ("12.5K", "12500", None),
    ("$1,200.50", "1200.50", "USD"),
    ("5000 eur", "5000", "EUR"),
    ("5000 EUR", "5000", "EUR"),
    ("£3", "3", "GBP"),
    ("usd 250", "250", "USD"),
    ("1.5bn", "1500000000", None),
    ("12 k", "12000", None),
    ("12k€", "12000", "EUR"),
    ("$12k USD", "12000", "USD"),  # the same currency twice is fine
    ("C$5", "5", "CAD"),
    ("5 MAD", "5", "MAD"),  # a suffix never eats the start of a code
    ("  $12k  ", "12000", "USD"),
])
def test_accepts_what_reps_type(text, value, currency):
    a = parse_amount(text)
    assert a == Amount(Decimal(value), currency)
    assert isinstance(a.value, Decimal)


def test_values_are_whole_or_exact_cents():
    assert str(parse_amount("12.5k").value) == "12500"
    assert str(parse_amount("$1,200.5").value) == "1200.50"


@pytest.mark.parametrize("text, says", [
    ("-5", "positive"),
    ("-$5", "positive"),
    ("$-5", "positive"),
    ("0", "positive"),
    ("$0.00", "positive"),
    ("2000b", "trillion"),
    ("1.234567k", "cent"),
    ("nan", "number like"),
    ("inf", "number like"),
    ("Acme", "number like"),
    ("", "number like"),
    ("12abc", "number like"),
    ("1e5", "number like"),
    ("12kk", "number like"),
    ("$12k EUR", "number like"),  # two different currencies
    ("5 XYZ", "number like"),  # not a currency
    ("5 all", "number like"),  # an English word, not Albanian lek
    ("0.001", "number like"),  # price-parser would read 1
])
def test_refuses_with_a_sentence_for_the_rep(text, says):
    with pytest.raises(AmountError) as e:
        parse_amount(text)
    assert says in str(e.value)
    assert str(e.value).endswith(".")


def test_error_quotes_what_was_typed():
    with pytest.raises(AmountError, match="“-5” isn't a deal amount: use a positive number like \\$12k."):
        parse_amount("-5")


@pytest.mark.parametrize("token, expected", [
    ("$12k", True), ("12000", True), ("€5,000", True), ("1.2m", True), ("12k", True),
    ("3M", True),  # digit first: an amount (quote the company "3M" or put it first)
    ("-5", True), ("0", True),  # meant as money; parse_amount explains what is wrong
    ("Acme", False), ("2nd", False), ("10am", False), ("2026-12-03", False), ("12/3", False),
    ("#12", False), ("7-Eleven", False), ("next:friday", False), ("", False), ("USD", False),
])
def test_looks_like_amount(token, expected):
    assert looks_like_amount(token) is expected


@pytest.mark.parametrize("amount, shown", [
    (None, ""),
    (Amount(Decimal("12000"), "USD"), "$12,000"),
    (Amount(Decimal("5000"), "EUR"), "€5,000"),
    (Amount(Decimal("3"), "GBP"), "£3"),
    (Amount(Decimal("1200000"), "USD"), "$1.2M"),
    (Amount(Decimal("1234567"), "USD"), "$1,234,567"),  # short only when exact
    (Amount(Decimal("2500000000"), None), "2.5B"),
    (Amount(Decimal("12000.50"), "CHF"), "12,000.50 CHF"),
    (Amount(Decimal("1200.5"), "USD"), "$1,200.50"),
    (Amount(Decimal("12500"), None), "12,500"),
])
def test_format_amount(amount, shown):
    assert format_amount(amount) == shown


amounts = st.builds(
    Amount,
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10) ** 12, places=2, allow_nan=False,
                allow_infinity=False),
    st.sampled_from([None, "USD", "EUR", "GBP", "CHF", "JPY", "INR", "CAD", "SEK"]),
)


@settings(max_examples=300, deadline=None)
@given(amounts)
def test_format_then_parse_round_trips(a):
    assert parse_amount(format_amount(a)) == a


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_arbitrary_text_gives_an_amount_or_an_amount_error(text):
    try:
        a = parse_amount(text)
    except AmountError as e:
        assert str(e)
        return
    assert Decimal(0) < a.value <= Decimal(10) ** 12
    assert a.value == a.value.quantize(Decimal("0.01"))
    assert looks_like_amount(text)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[$€£]?[0-9]{1,6}([.,][0-9]{1,2})?[kKmM]?( ?(USD|eur|GBP))?", fullmatch=True))
def test_money_shaped_text_never_crashes(text):
    try:
        a = parse_amount(text)
    except AmountError:
        return
    assert a.value > 0
