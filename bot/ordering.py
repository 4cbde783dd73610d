"""Each rep's `/deal` commands take effect one at a time, in the order they reached us.

Slack delivers two commands sent 50 ms apart as two HTTP requests, and Bolt runs their listeners on a
thread pool: without this, `add X` waiting on a slow users.info can lose to the `won X` sent after it.
A middleware hands each command a ticket as it arrives (`Arrivals.middleware`); the listener acks, then
does its work inside `with turn:`, which waits until the rep's earlier commands are done. Across instances
the turn also holds a per-rep lock in the database (`Store.serialized`), which queues in arrival order.
A command whose predecessor never finishes waits at most `patience` seconds, then goes ahead.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from storage import Store

log = logging.getLogger("hardno")
PATIENCE = 30.0  # seconds; longer than any one command takes (an LLM draft is 20 s at most, plus a retry)


@dataclass
class _Line:
    """One rep's queue: tickets handed out, and how many of them are done (in order)."""

    issued: int = 0
    served: int = 0


class Turn(AbstractContextManager["Turn"]):
    """A command's place in its rep's line; `with turn:` runs the command when its turn has come."""

    def __init__(self, arrivals: Arrivals, key: str, line: _Line, number: int):
        self._arrivals, self.key, self._line, self.number = arrivals, key, line, number
        self._held = ExitStack()

    def __enter__(self) -> Turn:
        self._arrivals._wait(self)
        self._held.enter_context(self._arrivals.store.serialized(f"rep:{self.key}", self._arrivals.patience))
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self._held.close()
        finally:
            self._arrivals._done(self)


class Arrivals:
    """Tickets per rep, taken in a Bolt middleware as each slash command arrives."""

    def __init__(self, store: Store, patience: float = PATIENCE, commands: frozenset[str] = frozenset({"/deal"})):
        # Only commands whose listener enters its turn may take a ticket: an unused one holds the line.
        self.store, self.patience, self.commands = store, patience, commands
        self._lines: dict[str, _Line] = {}
        self._changed = threading.Condition()

    def ticket(self, key: str) -> Turn:
        with self._changed:
            line = self._lines.setdefault(key, _Line())
            line.issued += 1
            return Turn(self, key, line, line.issued - 1)

    def middleware(self, body: dict[str, Any], context: dict[str, Any], next: Any) -> None:  # noqa: A002 (Bolt's name)
        if body.get("command") in self.commands and body.get("user_id"):
            context["turn"] = self.ticket(f"{body.get('team_id', '')}:{body['user_id']}")
        next()

    def _wait(self, turn: Turn) -> None:
        deadline = time.monotonic() + self.patience
        with self._changed:
            while turn._line.served < turn.number:
                left = deadline - time.monotonic()
                if left <= 0:
                    log.warning("rep %s: command %d waited %.0f s for the one before it; going ahead",
                                turn.key, turn.number, self.patience)
                    return
                self._changed.wait(left)

    def _done(self, turn: Turn) -> None:
        with self._changed:
            line = turn._line
            line.served = max(line.served, turn.number + 1)
            if line.served >= line.issued and self._lines.get(turn.key) is line:
                del self._lines[turn.key]  # nobody waiting: forget the rep
            self._changed.notify_all()
