"""The one source of "now". Tests and the `hardno try` sandbox move it; nothing else reads the wall clock."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path


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


class FileClock(Clock):
    """Now is the time written in a file (`HARDNO_CLOCK_FILE`: an aware ISO-8601 time), read at every call and
    frozen between writes. It lets a test (or a rehearsal) run real `hardno serve` processes at times it
    chooses; `serve` then runs its scheduled jobs whenever the file's time moves, as the sandbox does.
    A file being rewritten (not yet parseable) reads as the last time read."""

    def __init__(self, path: str | Path):
        super().__init__()
        self.path = Path(path)
        self._last = read_time_file(self.path)  # raises ValueError: a bad file stops the command at start

    def now(self) -> datetime:
        try:
            at = read_time_file(self.path)
        except (OSError, ValueError):
            return self._last
        self._last = at
        return at

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("Clock.set needs an aware datetime")
        write_time_file(self.path, at)
        self._last = at.astimezone(UTC)


def read_time_file(path: Path) -> datetime:
    """The aware time in `path`, in UTC; ValueError naming what is wrong."""
    try:
        text = path.read_text().strip()
    except OSError as e:
        raise ValueError(f"can't read {path}: {e.strerror or e}") from None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{path} must hold an ISO-8601 time like 2026-11-30T14:30:00+00:00") from None
    if at.tzinfo is None:
        raise ValueError(f"{path} must hold a time with its UTC offset, like 2026-11-30T14:30:00+00:00")
    return at.astimezone(UTC)


def write_time_file(path: Path, at: datetime) -> None:
    """Write `at` to `path` at once (a reader never sees half of it)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(at.astimezone(UTC).isoformat())
    os.replace(tmp, path)


def _wall() -> datetime:
    return datetime.now(UTC)
