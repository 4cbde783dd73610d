"""Team leaderboards, through signed requests to the real app and the fake Slack, on SQLite and PostgreSQL.

The clock is frozen (Monday 2026-11-23 10:00 UTC unless a test moves it). The demo workspace: #sales (C1)
with dana (U1, New York), ben (U2, Berlin) and priya (U3, Kolkata), and the bot.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import create_app
from bot.slack_client import make_client
from handlers.board import run_boards, sweep_boards, sweep_kudos
from handlers.deal_log import DealLog
from handlers.domain.model import Kind, Rep
from tests.racing import race
from tests.test_deal_command import texts


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


IN_WEEK = utc(2026, 11, 18, 15)  # Wednesday of the week of Nov 16, everywhere
BOARD_TIME_NY = utc(2026, 11, 23, 14)  # Monday 09:00 in New York


def close(slack, user: str, company: str, verb: str = "won", channel: str = "C1") -> None:
    """The rep adds a deal and closes it out (at the clock's current time)."""
    assert "Added" in texts(slack.deal(f'add "{company}"', user=user, channel=channel))
    reply = texts(slack.deal(f"{verb} {company}", user=user, channel=channel))
    assert "closed out" in reply or "won" in reply or "dropped" in reply, reply


def posts(fake, channel: str | None = None) -> list:
    """Successful chat.postMessage calls (to `channel`)."""
    return [c for c in fake.calls_to("chat.postMessage") if c.ok and channel in (None, c.params["channel"])]


def sweep(slack):
    return sweep_boards(slack.app.services, slack.client)


def kudos(slack):
    return sweep_kudos(slack.app.services, slack.client)


def channel(store, cid):
    with store.tx() as tx:
        return tx.channel(cid)


@pytest.fixture
def week_of_nov_16(slack, clock):
    return the_week_of_nov_16(slack, clock)


def the_week_of_nov_16(slack, clock):
    """dana closes two (won, no), ben one (dropped), priya has an open deal; then it's Monday."""
    clock.set(IN_WEEK)
    close(slack, "U1", "Acme")
    close(slack, "U1", "Globex", "no")
    close(slack, "U2", "Initech", "drop")
    slack.deal("add Hooli", user="U3")
    clock.set(utc(2026, 11, 23, 10))
    return slack


# -- the intro ----------------------------------------------------------------------------------------------

def join(slack, channel: str, user: str = "UBOT", inviter: str = "U1"):
    r = slack.event({"type": "member_joined_channel", "user": user, "channel": channel, "channel_type": "C",
                     "team": "T1", "inviter": inviter, "event_ts": "1.0"})
    assert r.status == 200


def test_the_bot_introduces_itself_when_invited(slack, fake, store, clock):
    fake.add_channel("C2", "sales-emea", members=["U2"])
    join(slack, "C2", user="U2")  # a person joining: nothing to say
    join(slack, "C2", inviter="U2")
    [intro] = fake.wait_for("chat.postMessage")
    assert intro.params["channel"] == "C2"
    lines = intro.params["text"].splitlines()
    assert len(lines) == 2
    # Nobody here has logged a deal yet, so the zone is the inviter's.
    assert "Mondays at 09:00 (Europe/Berlin)" in lines[0] and "no company names" in lines[0]
    assert "`/deal settings board off`" in lines[1]
    saved = channel(store, "C2")
    assert (saved.tz, saved.joined_at, saved.board_on) == ("Europe/Berlin", clock.now(), True)
    assert [c.params["channel"] for c in fake.calls_to("chat.postMessage")] == ["C2"]


def test_the_zone_at_join_is_the_one_most_reps_share(slack, fake, store):
    fake.add_user("U4", "fritz", tz="Europe/Berlin")
    fake.add_user("U5", "lena", tz="Europe/Berlin")
    for u in ("U1", "U4", "U5"):
        slack.deal("add Acme", user=u)
    fake.add_channel("C2", "mixed", members=["U1", "U4", "U5"])
    join(slack, "C2", inviter="U1")  # the inviter is in New York, most reps here are in Berlin
    [intro] = fake.wait_for("chat.postMessage")
    assert "(Europe/Berlin)" in intro.params["text"]
    assert channel(store, "C2").tz == "Europe/Berlin"


def test_no_board_for_a_week_that_ended_before_the_bot_joined(week_of_nov_16, fake, clock, store):
    slack = week_of_nov_16
    clock.set(BOARD_TIME_NY + timedelta(hours=1))  # invited at 10:00, after this week's 09:00 board
    join(slack, "C1")
    fake.wait_for("chat.postMessage")
    sweep(slack)
    assert len(posts(fake, "C1")) == 1  # the intro only
    clock.set(BOARD_TIME_NY + timedelta(days=7))
    sweep(slack)
    assert len(posts(fake, "C1")) == 2
    assert "week of Nov 23" in texts(posts(fake, "C1")[-1].params)


# -- the weekly board ---------------------------------------------------------------------------------------

def test_the_board_is_posted_once_when_due(week_of_nov_16, fake, clock, store):
    slack = week_of_nov_16
    # C1's zone: its reps are in New York, Berlin and Kolkata; a tie picks the first by name.
    sweep(slack)  # Monday 05:00 in New York: not yet
    assert posts(fake) == []
    clock.set(BOARD_TIME_NY)
    report = sweep(slack)
    [board] = posts(fake, "C1")
    assert report.posted == ["C1"]
    shown = texts(board.params)
    assert "week of Nov 16" in shown
    assert "🥇 *Dana Scully* 2 closed out: 1 won, 1 no" in shown
    assert "🥈 *Ben Meyer* 1 closed out: 1 dropped" in shown
    assert "Still working: Priya Rao" in shown
    assert "*Team: 3 decisions*, 3 more than the week before" in shown
    assert "Mondays at 09:00 (America/New_York)" in shown
    for company in ("Acme", "Globex", "Initech", "Hooli"):
        assert company not in shown  # counts only
    assert [b["type"] for b in board.params["blocks"]][0] == "header"
    for later in (timedelta(minutes=5), timedelta(hours=3)):
        clock.set(BOARD_TIME_NY + later)
        sweep(slack)
    assert len(posts(fake)) == 1
    with store.tx() as tx:
        assert tx.deliveries("board") == [("C1", "2026-11-16T05:00:00+00:00", "sent")]


def test_a_board_more_than_a_day_late_is_skipped(week_of_nov_16, fake, clock):
    clock.set(BOARD_TIME_NY + timedelta(days=1, minutes=1))
    sweep(week_of_nov_16)
    assert posts(fake) == []


def test_the_monday_after_dst_ends(slack, fake, clock):
    slack.deal("settings board mon 09:00 America/New_York", user="U3")
    # Sunday Oct 25 23:30 EDT: the week before. Sunday Nov 1 23:30 EST: the week. Monday 00:30 EST: the next.
    for at, company in [(utc(2026, 10, 26, 3, 30), "Before"), (utc(2026, 11, 2, 4, 30), "Inside"),
                        (utc(2026, 11, 2, 5, 30), "After")]:
        clock.set(at)
        close(slack, "U1", company)
    clock.set(utc(2026, 11, 2, 13, 59))  # 08:59 EST (it would be 09:59 in summer time)
    sweep(slack)
    assert posts(fake) == []
    clock.set(utc(2026, 11, 2, 14))
    sweep(slack)
    [board] = posts(fake, "C1")
    shown = texts(board.params)
    assert "week of Oct 26" in shown
    assert "🥇 *Dana Scully* 1 closed out: 1 won" in shown
    assert "*Team: 1 decision*, same as the week before" in shown


def test_two_channels_rank_their_own_members_in_their_own_zones(slack, fake, clock):
    fake.add_user("U4", "fritz", tz="Europe/Berlin")
    fake.add_user("U5", "outsider", tz="Europe/Berlin")
    fake.add_channel("C2", "sales-emea", members=["U2", "U4"])
    clock.set(IN_WEEK)
    close(slack, "U1", "Acme")
    close(slack, "U2", "Initech")
    close(slack, "U2", "Umbrella", "no")
    close(slack, "U4", "Stark", "drop")
    for company in ("Wayne", "Oscorp", "Tyrell"):
        close(slack, "U5", company)  # in neither channel: counts nowhere
    clock.set(utc(2026, 11, 23, 8))  # Monday 09:00 in Berlin, 03:00 in New York
    sweep(slack)
    assert [c.params["channel"] for c in posts(fake)] == ["C2"]
    clock.set(BOARD_TIME_NY)
    sweep(slack)
    c1, c2 = texts(posts(fake, "C1")[0].params), texts(posts(fake, "C2")[0].params)
    assert "*Ben Meyer* 2 closed out" in c1 and "*Dana Scully* 1 closed out" in c1 and "fritz" not in c1
    assert "*Ben Meyer* 2 closed out" in c2 and "*fritz* 1 closed out" in c2 and "Dana" not in c2
    assert "*Team: 3 decisions*" in c1 and "*Team: 3 decisions*" in c2
    assert "outsider" not in c1 + c2
    assert "(Europe/Berlin)" in c2 and "(America/New_York)" in c1


def test_hide_me_and_details(week_of_nov_16, fake, clock):
    slack = week_of_nov_16
    assert "won't be named" in texts(slack.deal("settings board hide-me", user="U2", channel="DU2"))
    assert "names the companies" in texts(slack.deal("settings board details on", user="U1"))
    clock.set(BOARD_TIME_NY)
    sweep(slack)
    shown = texts(posts(fake, "C1")[0].params)
    assert "Ben" not in shown and "Initech" not in shown  # hidden: neither name nor company
    assert "Acme" in shown and "Globex" in shown  # details on
    assert "*Team: 3 decisions*" in shown  # ben's decision still counts, nameless


def test_show_me_brings_a_rep_back(week_of_nov_16, fake, clock):
    slack = week_of_nov_16
    slack.deal("settings board hide-me", user="U2")
    assert "back on" in texts(slack.deal("settings board show-me", user="U2"))
    clock.set(BOARD_TIME_NY)
    sweep(slack)
    assert "*Ben Meyer*" in texts(posts(fake, "C1")[0].params)


def test_board_off_means_no_post(week_of_nov_16, fake, clock, store):
    slack = week_of_nov_16
    assert "off in this channel" in texts(slack.deal("settings board off", user="U1"))
    clock.set(BOARD_TIME_NY)
    report = sweep(slack)
    assert posts(fake) == [] and report.skipped == [("C1", "board off")]
    assert "is on here" in texts(slack.deal("settings board on", user="U1"))
    sweep(slack)
    assert len(posts(fake, "C1")) == 1


def test_a_channel_can_post_on_fridays_in_its_own_zone(slack, fake, clock, store):
    reply = texts(slack.deal("settings board fri 4pm europe/berlin", user="U1"))
    assert "Fridays at 16:00 (Europe/Berlin)" in reply
    clock.set(utc(2026, 11, 20, 12))  # Friday Nov 20, in the week that ends Thu Nov 26
    close(slack, "U1", "Acme")
    clock.set(utc(2026, 11, 23, 14))
    sweep(slack)  # Monday: not this channel's day
    clock.set(utc(2026, 11, 27, 14, 59))
    sweep(slack)
    assert posts(fake) == []
    clock.set(utc(2026, 11, 27, 15))  # 16:00 in Berlin
    sweep(slack)
    shown = texts(posts(fake, "C1")[0].params)
    assert "week ending Thu Nov 26" in shown and "*Dana Scully* 1 closed out" in shown


def test_a_new_schedule_never_posts_two_boards_in_a_row(week_of_nov_16, fake, clock):
    slack = week_of_nov_16
    clock.set(BOARD_TIME_NY)
    sweep(slack)
    slack.deal("settings board wed 09:00", user="U1")  # two days after Monday's board
    clock.set(utc(2026, 11, 25, 14))
    sweep(slack)
    assert len(posts(fake, "C1")) == 1
    clock.set(utc(2026, 12, 2, 14))
    sweep(slack)
    assert len(posts(fake, "C1")) == 2


# -- exactly once -------------------------------------------------------------------------------------------

def test_exactly_once_under_a_race_of_two_posters(week_of_nov_16, fake, clock, store):
    """Two hosts (two apps, two clients, one database) sweep at the same moment, week after week."""
    slack = week_of_nov_16
    fake.add_channel("C2", "sales-2", members=["U1", "U2"])
    other = create_app(slack.settings, store, clock, make_client("xoxb-test", fake.api_url))
    hosts = [(slack.app.services, slack.client), (other.services, other.client)]
    for week in range(3):
        clock.set(BOARD_TIME_NY + timedelta(days=7 * week))
        errors = race(sweep_boards, hosts * 2, timeout=30)
        assert errors == []
        assert len(posts(fake, "C1")) == week + 1
        assert len(posts(fake, "C2")) == week + 1
    with store.tx() as tx:
        assert sorted(s for _, _, s in tx.deliveries("board")) == ["sent"] * 6


def test_a_restart_does_not_post_again(week_of_nov_16, fake, clock, store):
    slack = week_of_nov_16
    clock.set(BOARD_TIME_NY)
    sweep(slack)
    restarted = create_app(slack.settings, store, clock, make_client("xoxb-test", fake.api_url))
    clock.set(BOARD_TIME_NY + timedelta(minutes=10))
    sweep_boards(restarted.services, restarted.client)
    assert len(posts(fake)) == 1


def test_a_refused_post_is_retried_on_a_later_sweep(week_of_nov_16, fake, clock, store):
    slack = week_of_nov_16
    clock.set(BOARD_TIME_NY)
    fake.fail("chat.postMessage", error="restricted_action")  # Slack refused: nothing went out
    report = sweep(slack)
    assert report.failed and posts(fake) == []
    with store.tx() as tx:
        assert tx.delivery_state("board", "C1", "2026-11-16T05:00:00+00:00") == "failed"
    clock.set(BOARD_TIME_NY + timedelta(minutes=5))
    sweep(slack)
    assert len(posts(fake, "C1")) == 1 and len(fake.calls_to("chat.postMessage")) == 2


def test_a_5xx_is_not_retried_because_it_may_have_posted(week_of_nov_16, fake, clock, store):
    slack = week_of_nov_16
    clock.set(BOARD_TIME_NY)
    fake.fail("chat.postMessage", 500)
    sweep(slack)
    clock.set(BOARD_TIME_NY + timedelta(minutes=5))
    sweep(slack)
    assert len(fake.calls_to("chat.postMessage")) == 1
    with store.tx() as tx:
        assert tx.delivery_state("board", "C1", "2026-11-16T05:00:00+00:00") == "unknown"  # may have posted: looked for, never resent


def test_a_board_whose_members_could_not_be_read_is_retried(week_of_nov_16, fake, clock, store):
    slack = week_of_nov_16
    slack.deal("settings board mon 09:00", user="U1")  # the zone is pinned: members are read after the claim
    clock.set(BOARD_TIME_NY)
    fake.fail("conversations.members", 500)
    report = sweep(slack)
    assert report.failed and posts(fake) == []
    with store.tx() as tx:
        assert tx.delivery_state("board", "C1", "2026-11-16T05:00:00+00:00") == "failed"
    clock.set(BOARD_TIME_NY + timedelta(minutes=5))
    sweep(slack)
    assert len(posts(fake, "C1")) == 1


# -- big channels -------------------------------------------------------------------------------------------

def test_a_channel_of_1500_members_ranks_them_all(slack, fake, clock, store):
    members = [f"M{i:04d}" for i in range(1500)]
    for m in members:
        fake.add_user(m, m.lower(), tz="America/New_York")
    fake.add_channel("C3", "everyone", members=members)
    log = DealLog(store, clock)
    clock.set(IN_WEEK)
    # 60 reps spread over the pages (Slack answers at most 1000 a page): rep k closes (k % 4) + 1 deals.
    reps = members[::25]
    with store.tx() as tx:
        for m in [*reps, "M0001", "NOTHERE"]:
            tx.save_rep(Rep(m, "T1", name=m.lower(), tz="America/New_York", tz_checked_at=clock.now()))
    for k, rep in enumerate(reps):
        for j in range((k % 4) + 1):
            deal = log.add(rep, "T1", f"Co {rep} {j}")
            log.log(rep, deal.id, Kind.WON)
    log.add("M0001", "T1", "Still open")  # a rep with nothing closed
    for j in range(9):  # not a member: never ranked, never counted
        log.log("NOTHERE", log.add("NOTHERE", "T1", f"X{j}").id, Kind.WON)
    clock.set(BOARD_TIME_NY)
    sweep(slack)
    [board] = posts(fake, "C3")
    pages = [c for c in fake.calls_to("conversations.members") if c.params.get("channel") == "C3"]
    assert len(pages) >= 2 and pages[-1].params.get("cursor")
    shown = texts(board.params)
    fours = [r.lower() for k, r in enumerate(reps) if k % 4 == 3]  # 15 reps tie for first with 4 each
    for name in fours:
        assert f"🥇 *{name}* 4 closed out" in shown
    assert "16. *" in shown  # the three-deal reps share rank 16, after the 15-way tie
    assert "…and 20 more with at least one decision" in shown  # 60 ranked, 40 shown
    assert "Still working: m0001" in shown
    assert "*Team: 150 decisions*" in shown and "nothere" not in shown
    assert len(board.params["blocks"]) <= 50
    fake.assert_no_block_errors()


# -- /deal board --------------------------------------------------------------------------------------------

def test_deal_board_is_private_and_ranks_the_channels_members(week_of_nov_16, fake, clock):
    slack = week_of_nov_16
    fake.add_user("U9", "outsider", tz="America/New_York")
    clock.set(utc(2026, 11, 24, 15))  # Tuesday: this week so far
    close(slack, "U2", "Soylent")
    close(slack, "U9", "Cyberdyne")
    clock.advance(timedelta(minutes=1))
    before = len(fake.calls_to("chat.postMessage"))
    reply = slack.deal("board", user="U1", channel="C1")
    assert reply["response_type"] == "ephemeral"
    shown = texts(reply)
    assert "week of Nov 23" in shown and "🥇 *Ben Meyer* 1 closed out" in shown
    assert "Still working: Dana Scully, Priya Rao" in shown
    assert "outsider" not in shown and "Soylent" not in shown
    assert "Only you can see this" in shown and "(America/New_York)" in shown
    assert len(fake.calls_to("chat.postMessage")) == before  # nothing posted to the channel
    month = texts(slack.deal("board month", user="U1", channel="C1"))
    assert "November 2026" in month and "🥇 *Dana Scully* 2 closed out" in month


def test_deal_board_shows_a_hidden_rep_their_own_line_only(week_of_nov_16):
    slack = week_of_nov_16
    slack.deal("settings board hide-me", user="U1")
    mine = texts(slack.deal("board month", user="U1"))
    theirs = texts(slack.deal("board month", user="U2"))
    assert "*Dana Scully* 2 closed out" in mine
    assert "Dana" not in theirs and "*Team: 3 decisions*" in theirs


def test_deal_board_in_a_dm_shows_your_own_numbers(week_of_nov_16):
    shown = texts(week_of_nov_16.deal("board month", user="U1", channel="DU1"))
    assert "*Dana Scully* 2 closed out: 1 won, 1 no" in shown
    assert "Acme" in shown  # only you see it: your own companies
    assert "Ben" not in shown and "team channel" in shown


def test_deal_board_rejects_an_unknown_period(slack):
    assert "isn't one of week, month, quarter" in texts(slack.deal("board year"))


# -- settings -----------------------------------------------------------------------------------------------

def test_settings_forms(slack, store, clock):
    assert "Fridays at 16:00 (America/New_York)" in texts(slack.deal("settings board fri 16:00", user="U1"))
    ch = channel(store, "C1")
    assert (ch.board_day, ch.board_time, ch.tz) == ("fri", "16:00", "America/New_York")  # the caller's zone
    slack.deal("settings board monday 9:30am Asia/Kolkata", user="U1")
    ch = channel(store, "C1")
    assert (ch.board_day, ch.board_time, ch.tz) == ("mon", "09:30", "Asia/Kolkata")
    assert "I don't know the time zone" in texts(slack.deal("settings board mon 9am Mars/Base"))
    slack.deal("settings board details on")
    slack.deal("settings board live on")
    ch = channel(store, "C1")
    assert ch.details and ch.live and ch.last_kudos_at == clock.now()
    shown = texts(slack.deal("settings board"))
    assert "Mondays at 09:30 (Asia/Kolkata)" in shown and "with company names" in shown
    assert "live kudos on" in shown and "`/deal settings board details on|off`" in shown
    slack.deal("settings board off")
    ch = channel(store, "C1")
    assert not ch.board_on and not ch.live  # off means quiet: no kudos either
    assert "board" in texts(slack.deal("settings"))  # listed among all areas
    for bad in ("settings board sometimes", "settings board details maybe", "settings board mon"):
        assert "I didn't get" in texts(slack.deal(bad))
    assert channel(store, "C1") == ch


def test_channel_settings_need_a_channel(slack, store):
    assert "belong to a channel" in texts(slack.deal("settings board off", channel="DU1"))
    assert channel(store, "DU1") is None
    assert "won't be named" in texts(slack.deal("settings board hide-me", channel="DU1"))
    with store.tx() as tx:
        assert tx.rep("U1").board_hidden


# -- live kudos ---------------------------------------------------------------------------------------------

def test_live_kudos_batch_a_burst_into_one_line(slack, fake, clock, store):
    fake.add_user("U9", "outsider", tz="America/New_York")
    slack.deal("settings board live on", user="U1")
    clock.advance(timedelta(seconds=10))
    close(slack, "U1", "Acme")
    close(slack, "U1", "Globex", "drop")
    close(slack, "U2", "Initech", "no")
    close(slack, "U9", "Cyberdyne")  # not in the channel
    clock.advance(timedelta(minutes=2))
    kudos(slack)
    [line] = posts(fake, "C1")
    assert line.params["text"] == "🎯 Decisions today: *Dana Scully* (2) and *Ben Meyer*. Every clear answer counts."
    kudos(slack)
    clock.advance(timedelta(minutes=2))
    kudos(slack)
    assert len(posts(fake)) == 1  # nothing new: nothing said
    close(slack, "U2", "Umbrella")
    clock.advance(timedelta(minutes=2))
    kudos(slack)
    assert posts(fake, "C1")[-1].params["text"] == "🎯 *Ben Meyer* got a clear answer from a prospect today"


def test_live_kudos_honour_hide_me_and_details(slack, fake, clock):
    slack.deal("settings board live on", user="U1")
    slack.deal("settings board details on", user="U1")
    slack.deal("settings board hide-me", user="U2")
    clock.advance(timedelta(seconds=10))
    close(slack, "U1", "Acme")
    close(slack, "U2", "Initech")
    clock.advance(timedelta(minutes=2))
    kudos(slack)
    [line] = posts(fake, "C1")
    assert line.params["text"] == "🎯 *Dana Scully* got a clear answer from a prospect today: Acme (won)"


def test_live_kudos_are_off_unless_asked_for(slack, fake, clock):
    close(slack, "U1", "Acme")
    clock.advance(timedelta(minutes=2))
    kudos(slack)
    assert posts(fake) == []


def test_kudos_that_fail_are_sent_with_the_next_batch(slack, fake, clock):
    slack.deal("settings board live on", user="U1")
    clock.advance(timedelta(seconds=10))
    close(slack, "U1", "Acme")
    clock.advance(timedelta(minutes=2))
    fake.fail("chat.postMessage", error="restricted_action")  # Slack refused: nothing went out
    kudos(slack)
    close(slack, "U2", "Initech")
    clock.advance(timedelta(minutes=2))
    kudos(slack)
    [line] = posts(fake, "C1")
    assert line.params["text"] == "🎯 Decisions today: *Dana Scully* and *Ben Meyer*. Every clear answer counts."


# -- hardno leaderboard -------------------------------------------------------------------------------------

def test_the_cli_prints_or_posts_the_period_so_far(week_of_nov_16, fake, clock):
    slack = week_of_nov_16
    clock.set(utc(2026, 11, 20, 12))  # back to Friday of that week: the week so far
    out = io.StringIO()
    report = run_boards(slack.app.services, slack.client, period="week", out=out)
    printed = out.getvalue()
    assert printed.startswith("#sales (C1) · America/New_York")
    assert "Dana Scully 2 closed out" in printed and "week of Nov 16" in printed
    assert "*" not in printed and "_(" not in printed  # plain words in a terminal, no raw mrkdwn
    assert report.summary().startswith("leaderboard: 1 printed, 0 posted")
    assert posts(fake) == []
    report = run_boards(slack.app.services, slack.client, period="quarter", post=True, out=io.StringIO())
    [board] = posts(fake, "C1")
    assert "Q4 2026" in texts(board.params) and report.posted == ["C1"]
    assert "1 posted" in report.summary()


def test_one_sweep_at_a_time_across_hosts(week_of_nov_16, fake, clock, store):
    if store.dialect != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's; SQLite serves one host")
    clock.set(BOARD_TIME_NY)
    with store.tx() as tx:  # another host's sweep holds the lock
        assert tx.try_lock("boards")
        report = sweep(week_of_nov_16)
    assert report.notes == ["another sweep is running"] and posts(fake) == []
    sweep(week_of_nov_16)  # the lock is free again
    assert len(posts(fake, "C1")) == 1
