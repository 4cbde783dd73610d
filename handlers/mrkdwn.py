"""Slack mrkdwn: showing user-typed text safely inside our own formatted text.

Rendering belongs here, in the handlers' Block Kit layer; the domain returns plain text.
"""

from __future__ import annotations

import re

_FORMATTING = re.compile(r"([*_~`])")


def escape(text: str) -> str:
    """Show user text literally in mrkdwn: no pings (<!channel>), no links, no stray bold.

    Slack has no backslash escapes; &<> are entity-escaped (& first), and a zero-width
    space after each formatting character keeps `*bold*` from turning bold.
    """
    return _FORMATTING.sub("\\1\u200b", entities(text))


def entities(text: str) -> str:
    """Our own mrkdwn with Slack's three control characters as entities: `<deal>` and any echoed
    `<!channel>` show literally (no pings, no links); our *bold* and `code` still format."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
