"""The one "rep's zone, or UTC" rule: every part of hardno reads a zone name through here.

Slack profiles, stored reps and channel settings hold IANA names; an unknown, empty
or malformed one must never fail a digest, a draft or a date, so it reads as UTC. Also here: the
zone a word names (`find_zone`, for settings) and the zone most of a team shares (`most_common_zone`).
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterable
from functools import lru_cache
from zoneinfo import ZoneInfo

UTC_ZONE = ZoneInfo("UTC")  # the one fallback (tests/domain/test_zones.py finds any copy)


@lru_cache(maxsize=1024)
def zone(tz: str | None) -> ZoneInfo:
    """The zone named `tz`; UTC when it is unknown, empty or malformed.

    ZoneInfo objects are cached, never their offsets: zoneinfo works out DST per instant.
    """
    if not tz:
        return UTC_ZONE
    try:
        return ZoneInfo(tz)
    except Exception:  # noqa: BLE001 - unknown, empty or malformed names raise several kinds
        return UTC_ZONE


def known_zone(tz: str | None, fallback: str = "UTC") -> str:
    """`tz` when it names a real zone, else `fallback` (for storing a name, not reading one)."""
    return tz if tz and zone(tz).key == tz else fallback


def most_common_zone(zones: Iterable[str | None]) -> str | None:
    """The zone most of ``zones`` share (ties: alphabetically first); None for none."""
    counts: dict[str, int] = {}
    for z in zones:
        if z:
            counts[z] = counts.get(z, 0) + 1
    return min(counts, key=lambda z: (-counts[z], z)) if counts else None


def find_zone(word: str) -> str | None:
    """The IANA zone named by ``word``, whatever its case (``europe/berlin``); None if unknown."""
    return _zones_by_fold().get(word.strip().casefold())


@functools.cache
def _zones_by_fold() -> dict[str, str]:
    return {z.casefold(): z for z in zoneinfo.available_timezones()}
