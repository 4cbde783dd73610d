"""Issue 10, "one date reader everywhere": the sandbox's forms and the digest's "Snooze until…" picker read
a period ("after the new year", "end of next month") as `/deal` and chat do, through `when.read_when`.

The sandbox runs at the real time, so the expected days come from the same reader at the same moment.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from handlers.domain.when import parse_when
from tests.test_try import run_try

NY = "America/New_York"  # the sandbox's @you


def expected_day(text: str) -> str:
    return parse_when(text, NY, datetime.now(UTC)).astimezone(ZoneInfo(NY)).date().isoformat()


def test_the_add_form_reads_a_period(tmp_path):
    s = run_try(tmp_path, "/deal add\nInitech\n\nend of next month\n\n\n\n")
    assert "Added Initech" in s.out
    meeting = s.deals()["Initech"].next_meeting_at.astimezone(ZoneInfo(NY))
    assert meeting.date().isoformat() == expected_day("end of next month") and meeting.weekday() < 5


def test_the_digest_snooze_picker_reads_after_the_new_year(tmp_path):
    script = ("/deal add Acme Corp $12k\n/deal maybe acme send me info\n/deal maybe acme not now\n"
              ":time +8d\n:digest\n:click snooze until\nafter the new year\n")
    s = run_try(tmp_path, script)
    snoozed = s.after(":click snooze until")
    assert "couldn't read" not in snoozed and "DM with you · updated" in snoozed
    until = s.deals()["Acme Corp"].snoozed_until.astimezone(ZoneInfo(NY))
    assert (until.month, until.day <= 3, until.weekday() < 5) == (1, True, True)
