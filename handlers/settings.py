"""`/deal settings ...`: one router over the areas each feature owns ("digest", "board"), given at registration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from handlers import blocks as bk
from handlers.commands import Ask, Reply, Verbs
from handlers.domain.grammar import Command


@dataclass(frozen=True)
class Area:
    name: str
    usage: str  # the forms, one per line, for the help reply
    apply: Callable[[Ask, list[str]], Reply]  # change a setting from the words after the area
    show: Callable[[Ask], str]  # the current settings, one line


def register(app: Any, verbs: Verbs, areas: list[Area]) -> None:
    by_name = {a.name: a for a in areas}
    verbs["settings"] = lambda ask, cmd: settings(ask, cmd, by_name)


def settings(ask: Ask, cmd: Command, areas: dict[str, Area]) -> Reply:
    words = [w.lower() for w in cmd.args]
    if not words:
        current = "\n".join(f"• *{a.name}*: {a.show(ask)}" for a in areas.values())
        return Reply("Your settings:\n" + current + "\n\n" + usage(areas))
    found = areas.get(words[0])
    if found is None:
        return Reply(f"There are no “{bk.escape(words[0][:40])}” settings.\n" + usage(areas))
    return found.apply(ask, words[1:])


def usage(areas: dict[str, Area]) -> str:
    return "Change them with:\n" + "\n".join(f"`/deal settings {a.name} {form}`"
                                             for a in areas.values() for form in a.usage.splitlines())
