"""One "the rep's zone, or UTC" rule, used by every module that reads a zone name."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers import reps
from handlers.domain import drafts, schedule, stalls, when, zones

ROOT = Path(__file__).resolve().parents[2]
_FALLBACK_SIGNS = ('ZoneInfo("UTC")', "import ZoneInfoNotFoundError", ", ZoneInfoNotFoundError", "ZoneInfo('UTC')")


@pytest.mark.parametrize("name", ["", "Mars/Olympus_Mons", "../../etc/passwd", "Europe/Berlin\x00", "UTC"])
def test_an_unusable_name_reads_as_utc(name):
    assert zones.zone(name).key == "UTC"
    assert reps.valid_zone(name, "Asia/Kolkata") == ("UTC" if name == "UTC" else "Asia/Kolkata")


def test_a_real_name_is_kept():
    assert zones.zone("America/New_York").key == "America/New_York"
    assert reps.valid_zone("America/New_York") == "America/New_York"


def test_every_reader_uses_the_one_helper():
    assert schedule.zone is zones.zone and drafts.zone is zones.zone and stalls.zone is zones.zone
    assert when._zone is zones.zone


def test_no_other_copy_of_the_fallback():
    copies = [p.relative_to(ROOT) for pkg in ("handlers", "bot") for p in (ROOT / pkg).rglob("*.py")
              if any(sign in p.read_text(encoding="utf-8") for sign in _FALLBACK_SIGNS)]
    assert [str(p) for p in copies] == ["handlers/domain/zones.py"]
