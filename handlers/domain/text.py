"""Plain-text helpers for what the domain words (never markup: see handlers.mrkdwn for Slack's)."""

from __future__ import annotations


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 day', '3 days'; `many` for irregular plurals ('tries')."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


_ORDINALS = ("zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
             "tenth")


def ordinal(n: int) -> str:
    """'second', 'tenth', '11th', '21st': words up to ten, then digits."""
    if 0 <= n < len(_ORDINALS):
        return _ORDINALS[n]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
