"""The one source of "now". Tests and the `hardno try` sandbox move it; nothing else reads the wall clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """Aware-UTC time, optionally frozen or shifted.

    A frozen clock stands still until moved (tests); a shifted clock keeps
    ticking from a moved starting point (the sandbox's `:time +3d`).
    """

    def __init__(self, at: datetime | None = None, *, frozen: bool = False):
        self._lock = threading.Lock()
        self._frozen = frozen
        self._offset = timedelta(0)
        self._fixed: datetime | None = None
        if at is not None:
            self.set(at)

    @classmethod
    def frozen_at(cls, at: datetime) -> Clock:
        return cls(at, frozen=True)

    def now(self) -> datetime:
        with self._lock:
            if self._frozen and self._fixed is not None:
                return self._fixed
            return _wall() + self._offset

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("Clock.set needs an aware datetime")
        at = at.astimezone(UTC)
        with self._lock:
            self._fixed = at
            self._offset = at - _wall()

    def advance(self, delta: timedelta) -> None:
        self.set(self.now() + delta)


def _wall() -> datetime:
    return datetime.now(UTC)
