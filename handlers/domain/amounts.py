"""Deal amounts as reps type them: `$12k`, `12000`, `€5,000`, `1.2m USD`, `5000 eur`.

price-parser reads the number (it knows `1,200.50` from `1.200,50`) and spots
currency symbols; this module adds what it lacks: `k`/`m`/`b` suffixes, ISO
codes in any case, minus signs (price-parser silently drops them) and
refusing anything that is not plainly money. Values are Decimal, never float,
with at most two decimals (the database keeps cents, not fractions of them).

Decisions:
- `$` means USD (write `CAD`, `AUD`... for other dollars); `€` EUR, `£` GBP.
- A three-letter ISO code counts in any case, except the codes that are also
  English words (`all`, `top`, `try`...), which count only in capitals, so
  "5k all good" is not five thousand Albanian lek.
- `looks_like_amount` says yes to any token shaped like money whose first
  character (after a currency symbol or sign) is a digit: `3M` is an amount, so
  a company called 3M must come first in `add` or be quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from price_parser import Price

try:  # price-parser's own ISO 4217 list; a short fallback should it ever move
    from price_parser._currencies import CURRENCY_CODES as _ISO_CODES
except ImportError:  # pragma: no cover
    _ISO_CODES = ["USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "JPY", "CNY", "INR", "SEK", "NOK",
                  "DKK", "PLN", "BRL", "MXN", "SGD", "HKD", "ZAR", "AED", "ILS"]

ISO_CODES = frozenset(_ISO_CODES)
SYMBOLS = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "C$": "CAD",
           "CA$": "CAD", "A$": "AUD", "AU$": "AUD", "NZ$": "NZD", "R$": "BRL", "₩": "KRW", "₪": "ILS"}
_DISPLAY = {"USD": "$", "EUR": "€", "GBP": "£"}  # shown as a prefix; other codes follow the number
_WORDY_CODES = frozenset({"ALL", "TOP", "TRY", "CUP", "MAD", "PEN", "SOS", "BOB", "RON", "VAL", "GEL",
                          "DEM", "SIT", "MOP", "ERN", "LAK", "PAB", "BAM", "COP", "IMP", "STD"})
_SCALE = {"": 1, "k": 10**3, "m": 10**6, "mm": 10**6, "b": 10**9, "bn": 10**9}
_MAX = Decimal(10) ** 12
_CENT = Decimal("0.01")
_MINUS = "-−–"
# After the number: an optional k/m/b suffix (not the start of a word: "5 MAD" is dirhams), then an
# optional currency.
_TAIL = re.compile(r"\s*(?:(?P<scale>bn|b|mm|m|k)(?![^\W\d_]))?\s*(?P<cur>.*?)\s*", re.I | re.S)
EXAMPLE = "$12k"


@dataclass(frozen=True)
class Amount:
    value: Decimal
    currency: str | None = None  # ISO 4217 code, None when the rep gave none


class AmountError(ValueError):
    """The message is a sentence to show the rep as is."""


def currency_code(token: str) -> str | None:
    """The ISO code a currency symbol or code stands for, or None if it is not one."""
    token = token.strip()
    if token in SYMBOLS:
        return SYMBOLS[token]
    code = token.upper()
    if code in ISO_CODES and (token.isupper() or code not in _WORDY_CODES):
        return code
    return None


def _read(text: str) -> tuple[bool, Decimal, str | None]:
    """(negative, value, currency) as written; AmountError when it is not shaped like money."""
    raw = text.strip()
    bad = AmountError(f"“{raw[:40]}” isn't a deal amount: use a number like {EXAMPLE}, 12000 or €5,000.")
    if not raw or len(raw) > 40:
        raise bad
    price = Price.fromstring(raw)
    number = price.amount_text or ""
    if price.amount is None or not number[:1].isdigit() or number not in raw:
        raise bad
    if number[0] == "0" and price.amount >= 1:  # price-parser reads "0.001" as a thousands group: 1
        raise bad
    before, after = raw.split(number, 1)
    negative = any(c in _MINUS for c in before)
    tail = _TAIL.fullmatch(after)
    if tail is None:
        raise bad
    currencies = set()
    for piece in (before.strip().strip(_MINUS).strip(), tail["cur"]):
        if piece:
            code = currency_code(piece)
            if code is None:
                raise bad
            currencies.add(code)
    if len(currencies) > 1:  # "$12k EUR"
        raise bad
    value = price.amount * _SCALE[(tail["scale"] or "").lower()]
    return negative, value, currencies.pop() if currencies else None


def parse_amount(text: str) -> Amount:
    negative, value, currency = _read(text)
    shown = text.strip()
    if negative or value <= 0:
        raise AmountError(f"“{shown}” isn't a deal amount: use a positive number like {EXAMPLE}.")
    if value > _MAX:
        raise AmountError(f"“{shown}” is over a trillion, too big for a deal amount: check the number.")
    if value != value.quantize(_CENT):
        raise AmountError(f"“{shown}” has fractions of a cent: round the amount to the cent.")
    # Whole amounts without decimals, others with exactly two (as the database keeps them).
    exact = value.quantize(Decimal(1)) if value == value.to_integral_value() else value.quantize(_CENT)
    return Amount(exact, currency)


def looks_like_amount(token: str) -> bool:
    """True when the rep evidently meant money, even if the value is wrong ("-5", "0")."""
    try:
        _read(token)
    except AmountError:
        return False
    return True


def _number(value: Decimal) -> str:
    # Millions and billions read better short ("1.2M"), but only when that is exact.
    for unit, scale in (("B", 10**9), ("M", 10**6)):
        short = value / scale
        if value >= scale and short == short.quantize(_CENT):
            return f"{short.normalize():f}{unit}"
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def format_amount(a: Amount | None) -> str:
    """Readable and exact: "$12,000", "€5,000", "$1.2M", "12,000.50 CHF"; "" for no amount."""
    if a is None:
        return ""
    number = _number(a.value)
    if a.currency in _DISPLAY:
        return _DISPLAY[a.currency] + number
    return f"{number} {a.currency}" if a.currency else number
