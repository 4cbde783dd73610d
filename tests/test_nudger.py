"""The nudger: morning DM digests through the real app and the fake Slack, on SQLite and PostgreSQL.

A settable clock drives multi-day stories (Monday 2026-11-23 10:00 UTC unless a test moves it). The demo
workspace: dana (U1, New York), ben (U2, Berlin), priya (U3, Kolkata); tests add reps in other zones.
Digests are DMs: conversations.open answers "D" + the user id.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import create_app
from bot.clock import Clock
from bot.slack_client import make_client
from handlers.deal_log import DealLog
from handlers.digest import run_digests, sweep_digests
from handlers.domain.model import Activity, Deal, Kind, Rep, Status
from storage import Store, upgrade
from tests.harness import TEAM
from tests.racing import race
from tests.test_deal_command import texts

ROOT = Path(__file__).resolve().parents[1]
NY, BERLIN, KOLKATA, LA, CHATHAM = "America/New_York", "Europe/Berlin", "Asia/Kolkata", "America/Los_Angeles", \
    "Pacific/Chatham"
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(tz: str, *args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def sweep(slack):
    return sweep_digests(slack.app.services, slack.client)


def digests(fake, user: str | None = None) -> list:
    """The digests that reached Slack (successful chat.postMessage calls carrying our metadata)."""
    return [c for c in fake.calls_to("chat.postMessage")
            if c.ok and (c.params.get("metadata") or {}).get("event_type") == "hardno_digest"
            and (user is None or c.params["channel"] == f"D{user}")]


def digest_day(call) -> str:
    return call.params["metadata"]["event_payload"]["day"]


def posted_message(call) -> dict:
    """The digest as Slack would send it back with a click: ts, text, blocks."""
    return {"ts": call.response["ts"], "text": call.params["text"], "blocks": call.params["blocks"]}


def delivery(store, user: str, day: str) -> dict | None:
    with store.tx() as tx:
        return tx.delivery("digest", user, day)


def stuck(slack, clock, user: str, company: str, amount: str = "$12k",
          first: datetime = utc(2026, 11, 10, 16)) -> None:
    """`user` adds `company` and hears "maybe" twice (a day apart, from `first`): repeated maybes from
    then on. The clock is put back where it was."""
    back = clock.now()
    clock.set(first)
    assert "Added" in texts(slack.deal(f"add {company} {amount}", user=user))
    slack.deal(f"maybe {company} send me info", user=user)
    clock.set(first + DAY)
    slack.deal(f"maybe {company} not now", user=user)
    clock.set(back)


def line_sections(message: dict) -> dict[str, str]:
    """{block_id: mrkdwn} of the digest's deal lines."""
    return {b["block_id"]: b["text"]["text"] for b in message["blocks"]
            if b["type"] == "section" and b.get("block_id", "").startswith("dg:") and b["block_id"][3:].isdigit()}


def element(message: dict, block_id: str, action_id: str) -> dict:
    block = next(b for b in message["blocks"] if b.get("block_id") == block_id)
    return next(e for e in block["elements"] if e["action_id"] == action_id)


def deal_of(store, user: str, deal_id: int) -> Deal:
    with store.tx() as tx:
        return tx.deal(user, deal_id)


def ids(store, user: str) -> dict[str, int]:
    with store.tx() as tx:
        return {d.company: d.id for d in tx.deals(user, list(Status))}


# -- the morning digest -------------------------------------------------------------------------------------

def test_a_stuck_deal_makes_one_digest_at_nine_local(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    clock.set(local(NY, 2026, 11, 23, 8, 55))
    assert sweep(slack).sent == [] and digests(fake) == []
    clock.set(local(NY, 2026, 11, 23, 9, 0))
    report = sweep(slack)
    assert report.sent == ["U1"]
    [dm] = digests(fake, "U1")
    assert dm.params["text"] == "One deal is waiting on a decision. A clear no is a good outcome too."
    shown = texts(dm.params)
    assert "*Acme Corp* · $12,000 · waiting 13 days" in shown  # since the first maybe, Nov 10
    assert "second maybe since Nov 10" in shown
    labels = [e["text"]["text"] if e["type"] == "button" else e["type"]
              for b in dm.params["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Draft hard-no ask", "Draft meeting request", "Won", "No", "Snooze 1 week", "datepicker"]
    row = delivery(store, "U1", "2026-11-23")
    assert (row["state"], row["channel"], row["ts"]) == ("sent", "DU1", dm.response["ts"])
    for later in (local(NY, 2026, 11, 23, 9, 5), local(NY, 2026, 11, 23, 15), local(NY, 2026, 11, 23, 23, 59)):
        clock.set(later)
        assert sweep(slack).already == ["U1"]
    assert len(digests(fake)) == 1
    clock.set(local(NY, 2026, 11, 24, 9, 0))
    sweep(slack)
    assert [digest_day(c) for c in digests(fake, "U1")] == ["2026-11-23", "2026-11-24"]
    assert len(fake.calls_to("conversations.open")) == 1  # the DM channel is cached


def test_nothing_stuck_means_no_digest_that_day(slack, fake, clock, store):
    clock.set(utc(2026, 11, 20, 15))
    slack.deal("add Acme Corp $12k next:dec 1 10am", user="U1")  # a future meeting, fresh activity: on track
    clock.set(local(NY, 2026, 11, 23, 9, 0))
    report = sweep(slack)
    assert report.empty == ["U1"] and digests(fake) == []
    assert delivery(store, "U1", "2026-11-23")["state"] == "empty"
    # Globex gets its second maybe at 10:00 on Tuesday: stuck from then on, but Tuesday was looked at
    # (empty) at 09:00, and each local day is looked at once. It is in Wednesday's digest.
    clock.set(local(NY, 2026, 11, 23, 10))
    slack.deal("add Globex $5k")
    slack.deal("maybe globex")
    clock.set(local(NY, 2026, 11, 24, 9, 0))
    assert sweep(slack).empty == ["U1"]
    clock.set(local(NY, 2026, 11, 24, 10, 0))
    slack.deal("maybe globex")
    clock.set(local(NY, 2026, 11, 24, 11, 0))
    sweep(slack)
    assert digests(fake) == []
    clock.set(local(NY, 2026, 11, 25, 9, 0))
    sweep(slack)
    [dm] = digests(fake, "U1")
    assert "Globex" in texts(dm.params) and "Acme" not in texts(dm.params)
    assert digest_day(dm) == "2026-11-25"


def test_each_zone_gets_exactly_one_digest_at_its_own_nine(slack, fake, clock, store):
    """Reps in Los Angeles, Berlin, Kolkata (UTC+5:30) and Chatham (UTC+13:45): a sweep every 15 minutes for
    two days; each digest goes out at 09:00 on the rep's own clock, one per local working day."""
    fake.add_user("U4", "lou", tz=LA)
    fake.add_user("U5", "kiri", tz=CHATHAM)
    zones = {"U4": LA, "U2": BERLIN, "U3": KOLKATA, "U5": CHATHAM}
    for user in zones:
        stuck(slack, clock, user, f"Deal of {user}")
    start, end = utc(2026, 11, 23, 12), utc(2026, 11, 25, 12)
    clock.set(start)
    sweep(slack)  # catch-up: Monday's digests for those whose 09:00 had passed (Berlin, Kolkata)
    assert sorted(digest_day(c) + c.params["channel"] for c in digests(fake)) == [
        "2026-11-23DU2", "2026-11-23DU3"]
    fake.reset()
    clock.advance(timedelta(minutes=15))
    while clock.now() < end:
        sweep(slack)
        clock.advance(timedelta(minutes=15))
    for user, tz in zones.items():
        sent = digests(fake, user)
        times = [delivery(store, user, digest_day(c))["sent_at"].astimezone(ZoneInfo(tz)) for c in sent]
        assert all((t.hour, t.minute) == (9, 0) for t in times), (user, times)
        days = [digest_day(c) for c in sent]
        assert days == sorted(set(days)) == [t.date().isoformat() for t in times]
        expected = []  # every local 09:00 in the window on a weekday
        d = start.astimezone(ZoneInfo(tz)).date()
        while True:
            nine = local(tz, d.year, d.month, d.day, 9)
            if nine >= end:
                break
            if nine > start and d.weekday() < 5:
                expected.append(d.isoformat())
            d += DAY
        assert days == expected, (user, days, expected)
    # Chatham's Wednesday digest went out while it was still Tuesday in Los Angeles.
    sent_at = delivery(store, "U5", "2026-11-25")["sent_at"]
    assert sent_at.astimezone(ZoneInfo(LA)).date() == date(2026, 11, 24)


@pytest.mark.parametrize(("tz", "first_day"), [
    (BERLIN, date(2026, 10, 22)),  # clocks go back Sunday Oct 25
    (LA, date(2026, 10, 29)),  # back Sunday Nov 1
    (BERLIN, date(2027, 3, 25)),  # forward Sunday Mar 28
    (CHATHAM, date(2027, 4, 1)),  # back Sunday Apr 4 (UTC+13:45 -> +12:45)
])
def test_one_digest_at_nine_local_through_a_dst_week(slack, fake, clock, store, tz, first_day):
    fake.add_user("U9", "nomad", tz=tz)
    stuck(slack, clock, "U9", "Acme Corp", first=local(tz, *(first_day - timedelta(days=14)).timetuple()[:3], 10))
    start = local(tz, first_day.year, first_day.month, first_day.day)  # local midnight: hourly steps hit :00
    clock.set(start)
    for _ in range(24 * 7):
        sweep(slack)
        clock.advance(HOUR)
    sent = digests(fake, "U9")
    times = [delivery(store, "U9", digest_day(c))["sent_at"].astimezone(ZoneInfo(tz)) for c in sent]
    assert [(t.hour, t.minute) for t in times] == [(9, 0)] * len(times)
    days = [t.date() for t in times]
    week = [first_day + timedelta(days=i) for i in range(7)]
    assert days == [d for d in week if d.weekday() < 5]


# -- exactly once -------------------------------------------------------------------------------------------

def test_two_hosts_racing_send_each_digest_once(slack, fake, clock, store):
    """Two app instances (two clients, one database) sweep at the same moment from two threads each,
    morning after morning: one chat.postMessage per rep per day."""
    for user in ("U1", "U2", "U3"):
        stuck(slack, clock, user, f"Deal of {user}")
    other = create_app(slack.settings, store, clock, make_client("xoxb-test", fake.api_url))
    hosts = [(slack.app.services, slack.client), (other.services, other.client)]
    for day in range(3):  # Mon, Tue, Wed at 15:00 UTC: everyone's digest is due (NY 10:00)
        clock.set(utc(2026, 11, 23, 15) + day * DAY)
        errors = race(sweep_digests, hosts * 2)
        assert errors == []
        for user in ("U1", "U2", "U3"):
            assert len(digests(fake, user)) == day + 1, (day, user)
    assert len(fake.calls_to("chat.postMessage")) == 9  # not one attempt more
    with store.tx() as tx:
        assert sorted(s for _, _, s in tx.deliveries("digest")) == ["sent"] * 9


def test_one_sweep_at_a_time_across_hosts(slack, fake, clock, store):
    if store.dialect != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's; SQLite serves one host")
    stuck(slack, clock, "U1", "Acme Corp")
    clock.set(local(NY, 2026, 11, 23, 9))
    with store.tx() as tx:  # another host's sweep holds the lock
        assert tx.try_lock("digest-sweep")
        report = sweep(slack)
    assert report.notes == ["another sweep is running"] and digests(fake) == []
    assert sweep(slack).sent == ["U1"]  # the lock is free again


def test_a_restart_does_not_send_again(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    clock.set(local(NY, 2026, 11, 23, 9))
    sweep(slack)
    restarted = create_app(slack.settings, store, clock, make_client("xoxb-test", fake.api_url))
    clock.set(local(NY, 2026, 11, 23, 9, 10))
    assert sweep_digests(restarted.services, restarted.client).already == ["U1"]
    assert run_digests(restarted.services, restarted.client, ignore_hour=True, out=io.StringIO()).sent == []
    assert len(digests(fake)) == 1


def test_a_429_is_waited_out(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    clock.set(local(NY, 2026, 11, 23, 9))
    fake.fail("chat.postMessage", 429, retry_after=1)
    report = sweep(slack)
    assert report.sent == ["U1"] and report.failed == []
    first, second = fake.calls_to("chat.postMessage")
    assert (first.status, first.injected) == (429, True) and second.ok
    assert delivery(store, "U1", "2026-11-23")["state"] == "sent"


def test_a_5xx_is_not_retried_into_a_double_post(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    clock.set(local(NY, 2026, 11, 23, 9))
    fake.fail("chat.postMessage", 500)
    report = sweep(slack)
    assert [u for u, _ in report.unknown] == ["U1"] and "HTTP 500" in report.unknown[0][1]
    assert delivery(store, "U1", "2026-11-23")["state"] == "unknown"
    for minutes in (5, 10, 60, 600):  # the rest of the day: Slack may have posted it, so no second try
        clock.set(local(NY, 2026, 11, 23, 9) + timedelta(minutes=minutes))
        sweep(slack)
        run_digests(slack.app.services, slack.client, ignore_hour=True, out=io.StringIO())
    assert len(fake.calls_to("chat.postMessage")) == 1
    clock.set(local(NY, 2026, 11, 24, 9))  # tomorrow is a new day
    assert sweep(slack).sent == ["U1"]
    assert [digest_day(c) for c in digests(fake)] == ["2026-11-24"]


def test_an_ambiguous_error_is_in_doubt_too(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    clock.set(local(NY, 2026, 11, 23, 9))
    fake.fail("chat.postMessage", error="fatal_error")  # Slack: "some aspect of the operation may have succeeded"
    sweep(slack)
    clock.advance(timedelta(minutes=5))
    sweep(slack)
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert delivery(store, "U1", "2026-11-23")["state"] == "unknown"


def test_a_refused_post_is_retried_later_the_same_day(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    clock.set(local(NY, 2026, 11, 23, 9))
    fake.fail("chat.postMessage", error="restricted_action")
    report = sweep(slack)
    assert report.failed and digests(fake) == []
    row = delivery(store, "U1", "2026-11-23")
    assert (row["state"], row["attempts"]) == ("failed", 1)
    clock.set(local(NY, 2026, 11, 23, 9, 5))
    assert sweep(slack).sent == ["U1"]
    assert len(digests(fake)) == 1 and len(fake.calls_to("chat.postMessage")) == 2
    row = delivery(store, "U1", "2026-11-23")
    assert (row["state"], row["attempts"]) == ("sent", 2)


def test_a_dm_channel_that_could_not_be_opened_is_retried(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    clock.set(local(NY, 2026, 11, 23, 9))
    fake.fail("conversations.open", 500)
    assert sweep(slack).failed and fake.calls_to("chat.postMessage") == []
    clock.set(local(NY, 2026, 11, 23, 9, 5))
    assert sweep(slack).sent == ["U1"]


def test_a_stale_dm_channel_is_opened_again(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    with store.tx() as tx:
        tx.save_rep(tx.rep("U1").replace(dm_channel="DGONE"))
    clock.set(local(NY, 2026, 11, 23, 9))
    fake.fail("chat.postMessage", error="channel_not_found")
    assert sweep(slack).failed
    clock.set(local(NY, 2026, 11, 23, 9, 5))
    assert sweep(slack).sent == ["U1"]
    assert digests(fake, "U1") and fake.calls_to("conversations.open")
    with store.tx() as tx:
        assert tx.rep("U1").dm_channel == "DU1"


def test_a_rep_who_cannot_be_dmed_is_not_retried_all_day(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    clock.set(local(NY, 2026, 11, 23, 9))
    fake.fail("chat.postMessage", error="account_inactive")
    assert [u for u, _ in sweep(slack).gave_up] == ["U1"]
    clock.advance(timedelta(minutes=5))
    sweep(slack)
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert delivery(store, "U1", "2026-11-23")["state"] == "gave_up"


def test_catch_up_is_the_same_local_day_only(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    clock.set(local(NY, 2026, 11, 23, 15, 30))  # the bot was down from before 09:00 until 15:30
    assert sweep(slack).sent == ["U1"]
    assert digest_day(digests(fake)[-1]) == "2026-11-23"
    clock.set(local(NY, 2026, 11, 23, 23, 59))
    sweep(slack)
    # Down all of Tuesday; back just after midnight and again on Wednesday morning.
    clock.set(local(NY, 2026, 11, 25, 0, 5))
    sweep(slack)
    clock.set(local(NY, 2026, 11, 25, 8, 55))
    sweep(slack)
    assert len(digests(fake)) == 1  # no burst of Tuesday's digest
    clock.set(local(NY, 2026, 11, 25, 9, 0))
    sweep(slack)
    assert [digest_day(c) for c in digests(fake)] == ["2026-11-23", "2026-11-25"]
    assert delivery(store, "U1", "2026-11-24") is None


def test_the_zone_is_asked_again_daily_and_a_move_is_followed(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    clock.set(local(NY, 2026, 11, 23, 9))
    sweep(slack)
    fake.add_user("U1", "dana", real_name="Dana Scully", tz=LA)  # dana flies to Los Angeles
    asked = len(fake.calls_to("users.info"))
    clock.set(local(NY, 2026, 11, 24, 9))  # New York's 09:00 is 06:00 in Los Angeles
    sweep(slack)
    assert len(fake.calls_to("users.info")) == asked + 1  # a day old: asked again
    assert len(digests(fake)) == 1
    clock.set(local(LA, 2026, 11, 24, 9))
    sweep(slack)
    assert len(digests(fake)) == 2
    assert delivery(store, "U1", "2026-11-24")["sent_at"] == local(LA, 2026, 11, 24, 9)
    assert len(fake.calls_to("users.info")) == asked + 1  # fresh now: not asked again the same day


# -- settings -----------------------------------------------------------------------------------------------

def test_digest_off_and_on(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    assert "is off" in texts(slack.deal("settings digest off"))
    clock.set(local(NY, 2026, 11, 23, 9))
    report = sweep(slack)
    assert report.off == ["U1"] and digests(fake) == []
    assert "is on: on working days at 9:00 (America/New_York)" in texts(slack.deal("settings digest on"))
    clock.set(local(NY, 2026, 11, 23, 9, 5))
    assert sweep(slack).sent == ["U1"]


def test_weekends_are_off_unless_asked_for(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    clock.set(local(NY, 2026, 11, 28, 9))  # Saturday
    sweep(slack)
    assert digests(fake) == []
    assert "every day, weekends too" in texts(slack.deal("settings digest weekends on"))
    clock.set(local(NY, 2026, 11, 28, 9, 5))
    sweep(slack)
    assert [digest_day(c) for c in digests(fake)] == ["2026-11-28"]
    assert "working days only" in texts(slack.deal("settings digest weekends off"))
    clock.set(local(NY, 2026, 11, 29, 9))  # Sunday
    sweep(slack)
    assert len(digests(fake)) == 1


def test_settings_forms(slack, fake, clock, store):
    def rep():
        with store.tx() as tx:
            return tx.rep("U1")

    assert "comes on working days at 8:00 (America/New_York)" in texts(slack.deal("settings digest 8am"))
    assert rep().digest_hour == 8
    for said, hour in (("14:00", 14), ("2pm", 14), ("2 pm", 14), ("7", 7), ("12am", 0), ("noon", 12)):
        slack.deal(f"settings digest {said}")
        assert rep().digest_hour == hour, said
    assert "on the hour" in texts(slack.deal("settings digest 8:30"))
    for bad in ("settings digest sometimes", "settings digest 25", "settings digest 13pm", "settings digest weekends"):
        assert "I didn't get" in texts(slack.deal(bad)), bad
    assert rep().digest_hour == 12
    shown = texts(slack.deal("settings digest"))
    assert "on, on working days at 12:00 (America/New_York)" in shown
    assert "`/deal settings digest weekends on|off`" in shown
    everything = texts(slack.deal("settings"))
    assert "*digest*: on, on working days at 12:00" in everything and "*board*" in everything


def test_a_new_hour_is_followed_and_never_makes_a_second_digest(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    slack.deal("settings digest 7am")
    clock.set(local(NY, 2026, 11, 23, 6, 55))
    sweep(slack)
    assert digests(fake) == []
    clock.set(local(NY, 2026, 11, 23, 7, 0))
    sweep(slack)
    assert len(digests(fake)) == 1
    assert "starts tomorrow" in texts(slack.deal("settings digest 10am"))
    clock.set(local(NY, 2026, 11, 23, 10, 0))
    sweep(slack)
    assert len(digests(fake)) == 1
    clock.set(local(NY, 2026, 11, 24, 9, 55))
    sweep(slack)
    assert len(digests(fake)) == 1
    clock.set(local(NY, 2026, 11, 24, 10, 0))
    sweep(slack)
    assert len(digests(fake)) == 2


# -- the digest message -------------------------------------------------------------------------------------

def fifteen_stuck_deals(slack, clock, store, user: str = "U1") -> dict[str, int]:
    """15 deals of `user` each with a second maybe; deal k's first maybe was k+20 days before Monday."""
    services = slack.app.services
    rep = services.reps.get(user, TEAM)
    log = DealLog(store, Clock.frozen_at(utc(2026, 10, 1)))
    for k in range(15):
        name = "<!channel> *Big* & Co" if k == 14 else f"Company {k:02d}"
        deal = log.add(user, rep.team_id, name, amount=Decimal(1000 * (k + 1)), currency="USD")
        at = utc(2026, 11, 23, 12) - timedelta(days=k + 20)
        for shift in (0, 1):
            with store.tx() as tx:
                tx.record(user, deal.id, Activity(Kind.MAYBE, at + shift * DAY))
    return ids(store, user)


def test_a_long_digest_shows_ten_lines_and_points_to_the_home_tab(slack, fake, clock, store):
    fifteen_stuck_deals(slack, clock, store)
    clock.set(local(NY, 2026, 11, 23, 9))
    sweep(slack)
    [dm] = digests(fake, "U1")
    blocks = dm.params["blocks"]
    assert len(blocks) <= 50
    assert dm.params["text"].startswith("15 deals are waiting on a decision; here are the 10 that have waited longest.")
    lines = list(line_sections(dm.params).values())
    assert len(lines) == 10
    # Longest waiting first: the deal whose maybes began 34 days ago leads.
    assert lines[0].startswith("*&lt;!channel&gt; *\u200bBig*\u200b &amp; Co* · $15,000 · waiting 34 days")
    assert "<!channel>" not in json.dumps(blocks)  # escaped: no ping, no bold from the company's name
    assert [ln.split(" · ")[2].split("\n")[0] for ln in lines] == [f"waiting {d} days" for d in range(34, 24, -1)]
    more = next(b for b in blocks if b.get("block_id") == "dg:more")["elements"][0]["text"]
    assert "…and 5 more waiting on a decision" in more
    assert "<slack://app?team=T1&id=A1&tab=home|my Home tab>" in more
    actions = [b for b in blocks if b["type"] == "actions"]
    assert len(actions) == 10 and all(len(b["elements"]) == 6 for b in actions)
    assert "`/deal settings digest off` stops it" in texts(dm.params)
    # The fake Slack validates every block against Slack's limits; the fixture fails on any problem.
    assert fake.block_errors == []


def open_digest(slack, fake, clock, store, user: str = "U1") -> tuple[dict, dict[str, int]]:
    """Two stuck deals (Acme $12k, Globex $5k) and the morning's digest as Slack would hand it back."""
    stuck(slack, clock, user, "Acme Corp", "$12k")
    stuck(slack, clock, user, "Globex", "$5k", first=utc(2026, 11, 12, 16))
    clock.set(local(NY, 2026, 11, 23, 9))
    sweep(slack)
    [dm] = digests(fake, user)
    return posted_message(dm), ids(store, user)


def replies_after(fake, before: int, count: int = 1) -> list[dict]:
    """The `count` messages posted to response_urls after the first `before` ones."""
    return [c.params for c in fake.wait_for("response_url", count=before + count)[before:before + count]]


def click(slack, message: dict, block_id: str, action_id: str, user: str = "U1", channel: str = "DU1",
          **extra):
    """Press an element of the digest (as Slack sends it: the message, its channel and ts)."""
    el = dict(element(message, block_id, action_id), **extra)
    r = slack.press_element(el, block_id, user=user, channel=channel, message=message)
    assert r.status == 200


def pick_date(slack, message: dict, block_id: str, day: str, user: str = "U1", channel: str = "DU1"):
    """Choose a date in a line's date picker: a block_actions payload with `selected_date`."""
    slack.interactive({
        "type": "block_actions", "user": {"id": user, "team_id": TEAM, "username": user.lower()},
        "api_app_id": "A1", "token": "legacy", "team": {"id": TEAM, "domain": "acme"}, "trigger_id": "trig.dp",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": channel}, "message": {"type": "message", **message},
        "response_url": slack.fake.response_url("dp"),
        "actions": [{"type": "datepicker", "action_id": "digest:snooze_until", "block_id": block_id,
                     "selected_date": day, "action_ts": "1.0"}]})


def test_won_and_no_update_their_own_line_in_place(slack, fake, clock, store):
    message, deal = open_digest(slack, fake, clock, store)
    acme, globex = f"dg:{deal['Acme Corp']}", f"dg:{deal['Globex']}"
    click(slack, message, acme + ":a", "digest:won")
    [update] = fake.wait_for("chat.update")
    assert (update.params["channel"], update.params["ts"]) == ("DU1", message["ts"])
    after = update.params
    sections = line_sections(after)
    assert sections[acme].startswith("*Acme Corp* · $12,000\n✅ *Won.*")
    assert sections[globex] == line_sections(message)[globex]  # the other line is untouched
    assert acme + ":a" not in [b.get("block_id") for b in after["blocks"]]  # its buttons are gone
    assert globex + ":a" in [b.get("block_id") for b in after["blocks"]]
    assert deal_of(store, "U1", deal["Acme Corp"]).status is Status.WON
    # Slack hands back the updated message with the next click.
    click(slack, {**after, "ts": message["ts"]}, globex + ":a", "digest:no")
    second = fake.wait_for("chat.update", count=2)[1].params
    sections = line_sections(second)
    assert "✅ *Won.*" in sections[acme] and "✅ *Closed out with a hard no.*" in sections[globex]
    assert deal_of(store, "U1", deal["Globex"]).status is Status.NO
    assert [b["type"] for b in second["blocks"]].count("actions") == 0


def marked_lines(update) -> dict[str, str]:
    """{block_id: the line's status} for the lines a chat.update shows as done."""
    last = {k: v.rsplit("\n", 1)[-1] for k, v in line_sections(update.params).items()}
    return {k: v for k, v in last.items() if v.startswith(("✅", "💤", "✍️", "↩️"))}


def test_two_clicks_on_the_same_old_copy_both_show(slack, fake, clock, store):
    """Clicked quickly, both clicks come with the digest as it was before either: the second update must
    still show the first click, not only its own."""
    message, deal = open_digest(slack, fake, clock, store)
    acme, globex = f"dg:{deal['Acme Corp']}", f"dg:{deal['Globex']}"
    click(slack, message, acme + ":a", "digest:won")
    fake.wait_for("chat.update")
    click(slack, message, globex + ":a", "digest:snooze")  # the original copy, without the Won on it
    second = fake.wait_for("chat.update", count=2)[1]
    assert marked_lines(second) == {acme: "✅ *Won.* Congratulations! :tada:",
                                    globex: "💤 Snoozed until Mon Nov 30: back in that morning's digest if it "
                                            "still needs a decision."}
    assert [b["block_id"] for b in second.params["blocks"] if b["type"] == "actions"] == []


def test_an_update_overtaken_by_a_newer_one_is_sent_again(slack, fake, clock, store):
    """The first click's chat.update is held up (429, Retry-After) while a second click's update goes
    through: the first, landing last with only its own mark, is followed by one showing both."""
    message, deal = open_digest(slack, fake, clock, store)
    acme, globex = f"dg:{deal['Acme Corp']}", f"dg:{deal['Globex']}"
    fake.fail("chat.update", 429, retry_after=2)
    click(slack, message, acme + ":a", "digest:won")
    fake.wait_for("chat.update")  # refused: the first click's listener waits out the Retry-After
    click(slack, message, globex + ":a", "digest:no")
    slack.settle()
    done = [c for c in fake.calls_to("chat.update") if c.ok]
    both = {acme: "✅ *Won.* Congratulations! :tada:",
            globex: "✅ *Closed out with a hard no.* A clear answer frees your time for buyers who decide."}
    assert [marked_lines(c) for c in done] == [both, {acme: both[acme]}, both]


def test_snooze_a_week_or_until_a_date(slack, fake, clock, store):
    message, deal = open_digest(slack, fake, clock, store)
    acme, globex = f"dg:{deal['Acme Corp']}", f"dg:{deal['Globex']}"
    click(slack, message, acme + ":a", "digest:snooze")
    [update] = fake.wait_for("chat.update")
    assert "💤 Snoozed until Mon Nov 30" in line_sections(update.params)[acme]
    assert deal_of(store, "U1", deal["Acme Corp"]).snoozed_until == local(NY, 2026, 11, 30)  # the start of that day
    before = len(fake.calls_to("response_url"))
    pick_date(slack, message, globex + ":a", "2026-11-23")  # today: refused, privately
    [refused] = replies_after(fake, before)
    assert "after today" in refused["text"] and refused["response_type"] == "ephemeral"
    pick_date(slack, message, globex + ":a", "2026-12-04")
    second = fake.wait_for("chat.update", count=2)[1].params
    assert "💤 Snoozed until Fri Dec 4" in line_sections(second)[globex]
    assert deal_of(store, "U1", deal["Globex"]).snoozed_until == local(NY, 2026, 12, 4)
    # Snoozed deals stay out of the digests until their day begins, then they are back that morning.
    for day in (24, 25, 26, 27):
        clock.set(local(NY, 2026, 11, day, 9))
        assert sweep(slack).empty == ["U1"]
    clock.set(local(NY, 2026, 11, 30, 9))
    sweep(slack)
    assert "Acme Corp" in texts(digests(fake)[-1].params) and "Globex" not in texts(digests(fake)[-1].params)
    clock.set(local(NY, 2026, 12, 4, 9))
    sweep(slack)
    assert "2 deals are waiting" in digests(fake)[-1].params["text"]


def test_draft_buttons_bring_the_coach_and_mark_the_line(slack, fake, clock, store):
    message, deal = open_digest(slack, fake, clock, store)
    acme = f"dg:{deal['Acme Corp']}"
    before = len(fake.calls_to("response_url"))
    click(slack, message, acme + ":a", "digest:ask")
    [update] = fake.wait_for("chat.update")
    line = line_sections(update.params)[acme]
    assert line.startswith(line_sections(message)[acme]) and line.endswith("✍️ Drafting a hard-no ask: it appears below.")
    assert acme + ":a" in [b.get("block_id") for b in update.params["blocks"]]  # still there: Won, No, ...
    [draft] = replies_after(fake, before)
    assert draft.get("replace_original") is False  # a new message under the digest
    assert "Draft for *Acme Corp*: a hard-no ask" in texts(draft)
    click(slack, {**update.params, "ts": message["ts"]}, acme + ":a", "digest:meeting")
    again = fake.wait_for("chat.update", count=2)[1].params
    line = line_sections(again)[acme]
    assert line.count("✍️") == 1 and line.endswith("✍️ Drafting a meeting request: it appears below.")
    assert "next-meeting request" in texts(replies_after(fake, before + 1)[0])


def test_a_button_carrying_someone_elses_deal_is_not_yours(slack, fake, clock, store):
    message, deal = open_digest(slack, fake, clock, store)
    acme = f"dg:{deal['Acme Corp']}"
    for action in ("digest:won", "digest:no", "digest:snooze", "digest:ask", "digest:meeting"):
        before = len(fake.calls_to("response_url"))
        click(slack, message, acme + ":a", action, user="U2", channel="DU2")  # ben, with dana's deal id
        [said] = replies_after(fake, before)
        assert "isn't one of yours" in said["text"] and said["response_type"] == "ephemeral", action
    before = len(fake.calls_to("response_url"))
    pick_date(slack, message, acme + ":a", "2026-12-04", user="U2", channel="DU2")
    assert "isn't one of yours" in replies_after(fake, before)[0]["text"]
    slack.settle()
    assert fake.calls_to("chat.update") == []
    after = deal_of(store, "U1", deal["Acme Corp"])
    assert after.status is Status.OPEN and after.snoozed_until is None


def test_a_decision_already_made_elsewhere_is_shown_not_repeated(slack, fake, clock, store):
    message, deal = open_digest(slack, fake, clock, store)
    slack.deal("won acme")
    click(slack, message, f"dg:{deal['Acme Corp']}:a", "digest:no")
    [update] = fake.wait_for("chat.update")
    assert "Already closed out (won" in line_sections(update.params)[f"dg:{deal['Acme Corp']}"]
    assert deal_of(store, "U1", deal["Acme Corp"]).status is Status.WON


# -- a story: rules fire and clear over the weeks -----------------------------------------------------------

def test_a_deal_through_the_weeks(slack, fake, clock, store):
    """dana's Acme: a meeting that passes, a maybe, silence, a second maybe, a decision ask drafted and
    logged from the digest, the pause, the ask coming back, and Won from the digest."""
    said: dict[str, str] = {}

    def morning(month: int, day: int) -> None:
        clock.set(local(NY, 2026, month, day, 9))
        sweep(slack)
        for c in digests(fake, "U1"):
            said.setdefault(digest_day(c), texts(c.params))

    clock.set(local(NY, 2026, 11, 2, 10))
    slack.deal("add Acme Corp $20k next:nov 5 2pm")
    for d in (3, 4, 5):
        morning(11, d)
    assert said == {}  # the next meeting is on the calendar
    morning(11, 6)
    assert "meeting on Nov 5 passed, nothing logged" in said["2026-11-06"]
    clock.set(local(NY, 2026, 11, 6, 11))
    slack.deal("maybe acme send me info")
    for d in (9, 10, 11, 12):
        morning(11, d)
    assert list(said) == ["2026-11-06"]  # a maybe is an answer; a week of quiet is allowed
    morning(11, 13)
    assert "no next meeting since your last update on Nov 6" in said["2026-11-13"]
    clock.set(local(NY, 2026, 11, 13, 10))
    slack.deal("maybe acme not now")
    morning(11, 16)
    assert "second maybe since Nov 6" in said["2026-11-16"]
    # From the digest: draft the hard-no ask, send it, log it as sent.
    clock.set(local(NY, 2026, 11, 16, 9, 5))
    message = posted_message(digests(fake, "U1")[-1])
    acme = f"dg:{ids(store, 'U1')['Acme Corp']}"
    before = len(fake.calls_to("response_url"))
    click(slack, message, acme + ":a", "digest:ask")
    [draft] = replies_after(fake, before)
    log_button = next(e for b in draft["blocks"] if b["type"] == "actions" for e in b["elements"]
                      if e["action_id"] == "coach:log")
    block = next(b["block_id"] for b in draft["blocks"] if b["type"] == "actions")
    slack.press_element(log_button, block, channel="DU1", ephemeral=True)
    replies_after(fake, before + 1)
    assert deal_of(store, "U1", int(acme[3:])).asked_at == local(NY, 2026, 11, 16, 9, 5)
    for d in (17, 18):
        morning(11, d)
    assert "2026-11-17" not in said and "2026-11-18" not in said  # the ball is in Acme's court
    morning(11, 19)  # 3 working days after Monday's ask: back in Thursday's digest
    assert "asked for a decision Nov 16, no answer" in said["2026-11-19"]
    clock.set(local(NY, 2026, 11, 19, 10))
    click(slack, posted_message(digests(fake, "U1")[-1]), acme + ":a", "digest:won")
    fake.wait_for("chat.update", count=2)
    morning(11, 20)
    assert sorted(said) == ["2026-11-06", "2026-11-13", "2026-11-16", "2026-11-19"]
    assert deal_of(store, "U1", int(acme[3:])).status is Status.WON


# -- hardno digest ------------------------------------------------------------------------------------------

def test_dry_run_prints_and_claims_nothing(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    stuck(slack, clock, "U2", "Initech", "€5,000")
    slack.deal("add Quiet Co", user="U3")  # nothing stuck for priya
    clock.set(local(NY, 2026, 11, 23, 3))  # before anyone's hour in New York; --now ignores it
    out = io.StringIO()
    report = run_digests(slack.app.services, slack.client, ignore_hour=True, dry_run=True, out=out)
    printed = out.getvalue()
    assert "── digest for U1 Dana Scully · America/New_York · Mon Nov 23 ──" in printed
    assert "  1. Acme Corp · $12,000 · waiting 13 days\n     second maybe since Nov 10" in printed
    assert "Initech · €5,000" in printed and "Priya" not in printed
    assert report.summary().startswith("digest: 2 printed (dry run, nothing sent), 1 with nothing stuck")
    out = io.StringIO()
    run_digests(slack.app.services, slack.client, ignore_hour=True, only_user="U3", dry_run=True, out=out)
    assert out.getvalue() == "── digest for U3 Priya Rao · Asia/Kolkata · Mon Nov 23 ── nothing stuck: no digest\n"
    assert fake.calls_to("chat.postMessage") == []
    with store.tx() as tx:
        assert tx.deliveries("digest") == []


def test_digest_now_ignores_the_hour_not_the_once_a_day(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    clock.set(local(NY, 2026, 11, 23, 3))
    assert run_digests(slack.app.services, slack.client, ignore_hour=True, only_user="U1", out=io.StringIO()).sent == ["U1"]
    report = run_digests(slack.app.services, slack.client, ignore_hour=True, only_user="U1", out=io.StringIO())
    assert report.already == ["U1"] and "1 already settled today" in report.summary()
    clock.set(local(NY, 2026, 11, 23, 9))
    sweep(slack)
    assert len(digests(fake)) == 1
    assert "U9 has not used hardno yet" in run_digests(slack.app.services, slack.client, only_user="U9",
                                                       out=io.StringIO()).summary()


def test_hardno_digest_dry_run_from_the_command_line(tmp_path):
    """`hardno digest --dry-run --now` with no Slack token: a rep's digest in the terminal, from a seeded
    SQLite database (the real clock: the deals are made relative to now)."""
    url = f"sqlite:///{tmp_path / 'hardno.db'}"
    store = Store.from_url(url)
    upgrade(store.engine)
    now = datetime.now(UTC).replace(microsecond=0)
    with store.tx() as tx:
        tx.save_rep(Rep("U1", TEAM, "Dana Scully", BERLIN, now))
    log = DealLog(store, Clock.frozen_at(now - timedelta(days=20)))
    deal = log.add("U1", TEAM, "Acme Corp", amount=Decimal(12000), currency="USD")
    log.log("U1", deal.id, Kind.MAYBE, "send me info")
    DealLog(store, Clock.frozen_at(now - timedelta(days=12))).log("U1", deal.id, Kind.MAYBE, "not now")
    store.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "HARDNO_"))}
    env.update(DATABASE_URL=url, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "bot", "digest", "--dry-run", "--now"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "── digest for U1 Dana Scully · Europe/Berlin" in r.stdout
    assert "One deal is waiting on a decision. A clear no is a good outcome too." in r.stdout
    assert "1. Acme Corp · $12,000 · waiting 20 days" in r.stdout and "second maybe since" in r.stdout
    assert "digest: 1 printed (dry run, nothing sent)" in r.stderr and "Traceback" not in r.stderr
    store = Store.from_url(url)
    with store.tx() as tx:
        assert tx.deliveries("digest") == []
    store.dispose()


# -- the planning queries -----------------------------------------------------------------------------------

def test_the_reps_usual_amounts_and_stage_times(store):
    """The aggregates planning relies on, the same on both backends: percentile_cont on PostgreSQL, the
    registered median aggregate on SQLite."""
    t0 = utc(2026, 9, 1, 12)

    def add(owner, amount=None, stage=None, currency=None):
        log = DealLog(store, Clock.frozen_at(t0))
        return log.add(owner, TEAM, f"{owner}-{amount}-{stage}", amount=amount and Decimal(amount), stage=stage,
                       currency=currency).id

    def act(owner, deal_id, kind, days, text=""):
        with store.tx() as tx:
            tx.record(owner, deal_id, Activity(kind, t0 + timedelta(days=days), text))

    for a in (10, 20, 30, 40):
        add("U1", a)
    for a in (800, 900, 1000):  # the same rep's euro deals have a median of their own
        add("U1", a, currency="EUR")
    for a in (5, 7, 100):
        add("U2", a)
    add("U2")  # no amount: not counted
    a = add("U1", stage="explore")  # explore -> consensus (day 5) -> decide (day 15), still open
    act("U1", a, Kind.STAGE, 5, "consensus")
    act("U1", a, Kind.STAGE, 15, "decide")
    b = add("U1", stage="explore")  # explore for 30 days, then won: its last stage's time counts
    act("U1", b, Kind.WON, 30)
    c = add("U1", stage="explore")  # consensus from day 2, won on day 6
    act("U1", c, Kind.STAGE, 2, "consensus")
    act("U1", c, Kind.WON, 6)
    with store.tx() as tx:
        assert tx.median_amounts(None) == {"U1": {None: Decimal("25.00"), "EUR": Decimal("900.00")},
                                           "U2": {None: Decimal("7.00")}}
        assert tx.median_amounts(["U2"]) == {"U2": {None: Decimal("7.00")}}
        stages = tx.median_stage_days(None)
        assert stages == {"U1": {"consensus": (7.0, 2), "explore": (30.0, 1)}}  # consensus: 10 and 4 days
        assert tx.median_stage_days(["U2"]) == {}


def test_the_scan_streams_open_unsnoozed_deals_grouped_by_owner(store, clock):
    log = DealLog(store, clock)
    made = {}
    for owner in ("U2", "U1", "U10", "U2", "U1"):
        made.setdefault(owner, []).append(log.add(owner, TEAM, f"Co {owner}", amount=Decimal("1.5")).id)
    log.log("U1", made["U1"][1], Kind.SNOOZE, when=clock.now() + DAY)
    log.log("U2", made["U2"][0], Kind.WON)
    with store.tx() as tx:
        rows = list(tx.open_deals_for_digest(["U1", "U2"], clock.now()))
        everyone = list(tx.open_deals_for_digest(None, clock.now()))
    assert [(r.owner_id, r.id) for r in rows] == [("U1", made["U1"][0]), ("U2", made["U2"][1])]
    assert {r.owner_id for r in everyone} == {"U1", "U2", "U10"} and len(everyone) == 3
    owners = [r.owner_id for r in everyone]
    assert owners == sorted(owners, key=lambda o: owners.index(o))  # each owner's rows together
    row = rows[0]
    assert row.amount == Decimal("1.50") and row.created_at == clock.now() and row.created_at.tzinfo is not None
    assert row == rows[0]._make(getattr(deal_of(store, "U1", row.id), f) for f in row._fields)


def test_the_scan_in_small_batches_and_stopped_early(store, clock):
    """Batches are fetched one ahead (in a thread on PostgreSQL): every row still comes once, in order, and a
    reader that stops early leaves the transaction usable and no fetcher behind."""
    import threading
    log = DealLog(store, clock)
    ids = [log.add("U1", TEAM, f"Co {i}").id for i in range(7)]
    with store.read() as tx:
        assert [r.id for r in tx.open_deals_for_digest(None, clock.now(), batch=2)] == ids
        rows = tx.open_deals_for_digest(None, clock.now(), batch=2)
        assert next(rows).id == ids[0]
        rows.close()
        assert tx.count("deals") == 7
    assert not [t for t in threading.enumerate() if t.name == "digest-scan"]


def test_the_reps_own_history_sets_the_bar(slack, fake, clock, store):
    """Stuck in stage against dana's usual time in it, and effort beyond a deal's worth against her usual
    size: both read from her other deals by the planning aggregates, through the sweep."""
    rep = slack.app.services.reps.get("U1", TEAM)
    start = utc(2026, 10, 1, 15)
    for k in range(3):  # three deals that each sat 5 days in consensus before a decision; $50k usual
        log = DealLog(store, Clock.frozen_at(start + k * DAY))
        d = log.add("U1", rep.team_id, f"Past {k}", amount=Decimal(50000), currency="USD", stage="consensus")
        DealLog(store, Clock.frozen_at(start + (k + 5) * DAY)).log("U1", d.id, Kind.WON)
    clock.set(utc(2026, 11, 12, 15))
    slack.deal("add Umbrella $60k stage:consensus")  # 11 days in consensus on Nov 23: more than 2 x 5
    slack.deal("add Hooli $800")
    for i in range(8):  # eight unanswered tries on a small deal
        clock.set(utc(2026, 11, 12, 16) + i * DAY)
        slack.deal("touch hooli")
    slack.deal("maybe hooli")  # an answer: no silence, no stale meeting; the effort stays
    clock.set(local(NY, 2026, 11, 23, 9))
    sweep(slack)
    [dm] = digests(fake, "U1")
    shown = texts(dm.params)
    assert "in consensus for 11 days (you usually take 5)" in shown
    assert "8 tries for a deal below your usual size: consider taking the no" in shown
    hooli = next(b for b in dm.params["blocks"] if b["type"] == "actions"
                 and b["block_id"] == f"dg:{ids(store, 'U1')['Hooli']}:a")
    assert hooli["elements"][0]["value"].endswith(":breakup")  # the draft offered is a graceful exit
