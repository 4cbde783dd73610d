"""`/deal settings ...`: one router; each feature registers the area it owns ("digest", "board")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from handlers import blocks as bk
from handlers.commands import Ask, Reply, subcommand
from handlers.domain.grammar import Command


@dataclass(frozen=True)
class Area:
    name: str
    usage: str  # the forms, one per line, for the help reply
    apply: Callable[[Ask, list[str]], Reply]  # change a setting from the words after the area
    show: Callable[[Ask], str]  # the current settings, one line


AREAS: dict[str, Area] = {}


def area(a: Area) -> Area:
    AREAS[a.name] = a
    return a


def register(app: Any) -> None:
    pass  # a /deal subcommand only


@subcommand("settings")
def settings(ask: Ask, cmd: Command) -> Reply:
    words = [w.lower() for w in cmd.args]
    if not words:
        current = "\n".join(f"• *{a.name}*: {a.show(ask)}" for a in AREAS.values())
        return Reply("Your settings:\n" + current + "\n\n" + usage())
    found = AREAS.get(words[0])
    if found is None:
        return Reply(f"There are no “{bk.escape(words[0][:40])}” settings.\n" + usage())
    return found.apply(ask, words[1:])


def usage() -> str:
    return "Change them with:\n" + "\n".join(f"`/deal settings {a.name} {form}`"
                                             for a in AREAS.values() for form in a.usage.splitlines())
