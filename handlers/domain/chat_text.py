"""A chat line as text to read: Slack markup made plain, and folded for comparing names and phrases.

The first step of reading a chat line (handlers.domain.chat): what the note keeps (lossless) and
what the reader parses (mentions and links dropped, struck-through text gone, the first
MAX_PARSE characters), and the folding that makes case, accents and full-width forms not matter.
"""

from __future__ import annotations

import re
import unicodedata

MAX_PARSE = 2000  # only this much of a line is parsed (the note keeps the whole text)
TRAIL = ",.;:!?)]}\"'“”’…"  # punctuation that may end a word without being part of it

_MARKUP = re.compile(r"<([^<>\n]*)>")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def _unescape(s: str) -> str:
    for entity, char in _ENTITIES:
        s = s.replace(entity, char)
    return s


def _render(inner: str, for_note: bool) -> str:
    """One `<...>` of Slack markup as plain text: for the note (lossless) or for parsing."""
    target, _, label = inner.partition("|")
    if not target:  # "<>" or "<|x>": not Slack markup, just text
        return f"<{inner}>" if for_note else " "
    if target[0] in "@#!":  # <@U123>, <@U123|bob>, <#C1|general>, <!here>
        if for_note:
            return ("#" if target[0] == "#" else "@") + (label or target[1:])
        return ""
    if target.startswith("mailto:"):
        return label or target[len("mailto:"):]
    if not label:
        return target if for_note else ""
    bare = re.sub(r"^[a-z]+://", "", target).rstrip("/")
    return label if not for_note or label.rstrip("/") in (bare, target) else f"{label} ({target})"


_STRUCK = re.compile(r"(?<![\w~])~[^~\n]+~(?![\w~])")  # Slack's ~strikethrough~: the rep took it back


def _plain(text: str, for_note: bool) -> str:
    text = _MARKUP.sub(lambda m: _render(m[1], for_note), text)
    return _unescape(text if for_note else _STRUCK.sub(" ", text))


def note_text(text: str) -> str:
    """A Slack message as the note a proposal keeps: trimmed, markup as plain text ("<@U1|bob>" -> "@bob")."""
    return _plain(str(text), for_note=True).strip()



def fold_map(s: str) -> tuple[str, list[int]]:
    """`s` folded (casefolded, accents stripped, compatibility forms) and, per folded char, its index in `s`."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(s):
        for c in unicodedata.normalize("NFKD", ch.casefold()):
            if unicodedata.combining(c):
                continue
            for d in c.casefold():
                out.append(d)
                where.append(i)
    return "".join(out), where


def fold(s: str) -> str:
    return " ".join(fold_map(s)[0].split())


def _continua(c: str) -> bool:
    """Scripts written without spaces between words: a name there needs no word boundary."""
    o = ord(c)
    return (0x0E00 <= o <= 0x0EFF or 0x1000 <= o <= 0x109F or 0x3040 <= o <= 0x312F or 0x3400 <= o <= 0x4DBF
            or 0x4E00 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF or 0xF900 <= o <= 0xFAFF
            or 0xFF66 <= o <= 0xFF9F or 0x20000 <= o <= 0x2FFFF)


def edge_ok(inside: str, outside: str) -> bool:
    return not (inside.isalnum() and outside.isalnum()) or _continua(inside) or _continua(outside)



def plain_text(text: str) -> str:
    """A Slack message as words to read: markup dropped (mentions, links, struck text), spaces folded."""
    return " ".join(_plain(str(text), for_note=False).split())


def parse_text(text: str) -> str:
    """What the rule-based reader parses of a message: its plain text, at most MAX_PARSE characters."""
    return plain_text(text)[:MAX_PARSE]
