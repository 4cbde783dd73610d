"""Showing user-typed text safely in Slack mrkdwn."""

from __future__ import annotations

import re

_FORMATTING = re.compile(r"([*_~`])")


def escape(text: str) -> str:
    """Show user text literally in mrkdwn: no pings (<!channel>), no links, no stray bold.

    Slack has no backslash escapes; &<> are entity-escaped (& first), and a zero-width
    space after each formatting character keeps `*bold*` from turning bold.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _FORMATTING.sub("\\1\u200b", text)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"
