"""Drive the real Bolt app the way Slack does: signed HTTP requests to the real HTTP runner,
with every Web API call answered (and recorded) by the fake Slack on loopback.

The driver lives in the package (`bot.driver`), shared with the `hardno try` sandbox; this module
keeps the names the tests import, plus the tests' demo workspace.
"""

from __future__ import annotations

from bot.driver import SECRET, TEAM, Response, SlackDriver, view_state

__all__ = ["SECRET", "TEAM", "Response", "SlackDriver", "people", "view_state"]


def people(fake) -> None:
    """The demo workspace: reps in three zones, a teammate, a sales channel."""
    fake.add_user("U1", "dana", real_name="Dana Scully", tz="America/New_York")
    fake.add_user("U2", "ben", real_name="Ben Meyer", tz="Europe/Berlin")
    fake.add_user("U3", "priya", real_name="Priya Rao", tz="Asia/Kolkata")
    fake.add_channel("C1", "sales", members=["U1", "U2", "U3"])
