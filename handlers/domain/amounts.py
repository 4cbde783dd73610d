"""Deal amounts as reps type them: `$12k`, `12000`, `€5,000`, `1.2m USD`, `5000 eur`.

price-parser reads the number (it knows `1,200.50` from `1.200,50`); Babel's CLDR data says
which codes and symbols are currencies and formats amounts. This module adds what they lack:
`k`/`m`/`b` suffixes, ISO codes in any case, minus signs (price-parser silently drops them) and
refusing anything that is not plainly money. Values are Decimal, never float, with at most two
decimals (the database keeps cents, not fractions of them).

Decisions:
- `$` means USD (write `CAD`, `AUD`... for other dollars); `€` EUR, `£` GBP. A symbol counts
  when Babel's US or British English data gives it to one currency and it carries a currency
  sign (`CA$`, `¥`, `₹`; not `FCFA`), plus `C$` and `AU$`, which reps write and CLDR's English
  data does not have.
- Amounts read back as today: USD, EUR and GBP with their symbol first ("$12,000"), any other
  currency as the number then its code ("12,000.50 CHF"), exact millions and billions short.
- A three-letter ISO code counts in any case, except the codes that are also
  English words (`all`, `top`, `try`...), which count only in capitals, so
  "5k all good" is not five thousand Albanian lek.
- `looks_like_amount` says yes to any token shaped like money whose first
  character (after a currency symbol or sign) is a digit: `3M` is an amount, so
  a company called 3M must come first in `add` or be quoted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import format_currency, format_decimal, get_currency_symbol, list_currencies
from price_parser import Price

_LOCALE = "en_US"  # the English the bot speaks: "$" is USD and "1,200.50" groups by thousands
ISO_CODES = frozenset(list_currencies())  # ISO 4217, current and historic, as CLDR knows them


def _symbols() -> dict[str, str]:
    found: dict[str, str] = {}
    for locale in (_LOCALE, "en_GB"):  # en_GB adds the prefixed spellings: US$, JP¥
        for code in sorted(ISO_CODES - {"XXX"}):  # XXX is "no currency" (its symbol is the bare ¤)
            symbol = get_currency_symbol(code, locale)
            if any(unicodedata.category(c) == "Sc" for c in symbol):
                found.setdefault(symbol, code)
    return found | {"C$": "CAD", "AU$": "AUD"}


SYMBOLS = _symbols()
# The characters of SYMBOLS that are currency signs ("$€£¥₹..."): chat reading spots money by them.
SIGNS = "".join(sorted({c for sym in SYMBOLS for c in sym if unicodedata.category(c) == "Sc"}))
_SHOWN_AS_SYMBOL = frozenset({"USD", "EUR", "GBP"})  # other codes follow the number: "12,000.50 CHF"
_WORDY_CODES = frozenset({"ALL", "TOP", "TRY", "CUP", "MAD", "PEN", "SOS", "BOB", "RON", "GEL", "DEM", "SIT",
                          "MOP", "ERN", "LAK", "PAB", "BAM", "COP", "STD", "ARM", "BAD", "BAN", "BOP"})
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


def _short(value: Decimal) -> tuple[Decimal, str]:
    """`value` as the number to show and a CLDR pattern (digits only, no currency) that shows it exactly."""
    # Millions and billions read better short ("1.2M"), but only when that is exact.
    for unit, scale in (("B", 10**9), ("M", 10**6)):
        short = value / scale
        if value >= scale and short == short.quantize(_CENT):
            return short, f"0.##'{unit}'"
    return value, "#,##0" if value == value.to_integral_value() else "#,##0.00"


def format_amount(a: Amount | None) -> str:
    """Readable and exact: "$12,000", "€5,000", "$1.2M", "12,000.50 CHF"; "" for no amount."""
    if a is None:
        return ""
    number, pattern = _short(a.value)
    if a.currency is None:
        return format_decimal(number, format=pattern, locale=_LOCALE)
    # currency_digits=False: the cents shown are the deal's, not the currency's usual (JPY has none).
    pattern = "¤" + pattern if a.currency in _SHOWN_AS_SYMBOL else pattern + " ¤¤"
    return format_currency(number, a.currency, format=pattern, locale=_LOCALE, currency_digits=False)


# A number with what may make it money around it; find_amount lets parse_amount decide.
_MONEY = re.compile(
    r"(?<![\w.," + re.escape(SIGNS) + r"])(?P<sym>"
    + "|".join(re.escape(s) for s in sorted(SYMBOLS, key=len, reverse=True)) + r")?\s?(?P<num>\d(?:[\d,.]*\d)?)"
    r"(?:\s?(?P<scale>bn|mm|[kmb])(?![^\W\d_]))?(?:\s?(?P<code>[A-Za-z]{3})(?![^\W\d_]))?")


def find_amount(text: str) -> str | None:
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
