"""Review of the deal-log Slack layer: each test pins a problem found in review, through the real app
over signed HTTP against the fake Slack, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from handlers.deal_log import DealLog
from handlers.domain.model import Kind
from tests.racing import race
from tests.test_chat_and_events import dm_reply, history_kinds, press_in_dm
from tests.test_deal_command import buttons, deals_of, mrkdwn, texts


def blocks_by_id(view: dict) -> dict:
    return {b.get("block_id"): b for b in view["blocks"]}


# --- /deal replies ------------------------------------------------------------------------------

def test_list_closed_shows_only_closed_deals(slack):
    slack.deal("add Acme")
    slack.deal("won acme")
    shown = texts(slack.deal("list closed"))
    assert "Closed out (1)" in shown and "Acme" in shown
    assert "Needs a decision" not in shown  # closed deals never need one: an empty group only confuses


def test_usage_replies_never_ping_or_link_what_the_rep_typed(slack):
    slack.deal("add Acme")
    for text in ["list <!here>", "meet acme <!channel> tomorrow", "list <https://evil.example|click me>"]:
        reply = slack.deal(text)
        marked_up = mrkdwn(reply)
        assert marked_up and all("<!" not in t and "<http" not in t for t in marked_up), marked_up
        assert "<!" not in reply["text"]
        assert "&lt;" in " ".join(marked_up)  # still readable, literally


def test_help_shows_its_placeholders_literally(slack):
    shown = mrkdwn(slack.deal("help"))
    assert all("<" not in t for t in shown)  # Slack reads <deal> as a link: it must be &lt;deal&gt;
    assert any("&lt;deal&gt;" in t for t in shown)


def test_help_about_one_subcommand_shows_that_one(slack):
    shown = texts(slack.deal("help meet"))
    assert "/deal meet" in shown and "/deal export" not in shown


def test_deal_create_alone_opens_the_add_modal_like_add_and_new(slack, fake):
    assert slack.command("create").status == 200
    [opened] = fake.wait_for("views.open")
    assert opened.params["view"]["callback_id"] == "add_deal"


def test_a_ref_matching_more_deals_than_fit_says_how_to_narrow_it(slack, store, clock):
    log = DealLog(store, clock)
    for i in range(30):
        log.add("U1", "T1", f"Alpha {i:02d}")
    reply = slack.deal("maybe alpha")
    assert len(buttons(reply)) == 24
    assert "more of the name" in texts(reply)


# --- chat ---------------------------------------------------------------------------------------

def test_an_update_without_a_deal_asks_which_deal(slack, store, fake):
    slack.deal("add Globex")
    reply = dm_reply(slack, fake, "they said maybe, try after jan 15")
    assert "Which deal" in texts(reply) and buttons(reply) == {}
    assert history_kinds(store, deals_of(store)[0].id) == [Kind.ADDED]


def test_an_update_naming_two_deals_offers_both(slack, store, fake):  # issue 11: one click each
    slack.deal("add Globex")
    slack.deal("add Initech")
    reply = dm_reply(slack, fake, "globex and initech both said maybe")
    assert "*Maybe* on *Globex*" in texts(reply) and "*Maybe* on *Initech*" in texts(reply)
    assert [b["text"]["text"] for blk in reply["blocks"] for b in blk.get("elements", [])
            if b.get("type") == "button"].count("Log it") == 2


def test_edit_on_an_already_handled_proposal_says_so(slack, store, fake):
    slack.deal("add Acme")
    reply = dm_reply(slack, fake, "Acme said maybe")
    press_in_dm(slack, reply, "Log it")
    again = press_in_dm(slack, reply, "Edit")  # a second tab, or a slow double click
    assert "Already handled" in texts(again)
    assert fake.calls_to("views.open") == []


def test_ignore_on_an_already_logged_proposal_says_so(slack, store, fake):
    slack.deal("add Acme")
    reply = dm_reply(slack, fake, "Acme said maybe")
    press_in_dm(slack, reply, "Log it")
    again = press_in_dm(slack, reply, "Ignore")
    assert "Already handled" in texts(again)  # not silence: the rep must not think it was ignored
    assert deals_of(store)[0].maybe_count == 1


# --- modals -------------------------------------------------------------------------------------

def _many_deals(store, clock, n=105):
    log = DealLog(store, clock)
    for i in range(n):
        log.add("U1", "T1", f"Deal {i:03d}")
    return log.add("U1", "T1", "Zulu Corp")  # sorts after the first 100


def test_edit_preselects_the_proposals_deal_even_beyond_100_deals(slack, store, clock, fake):
    zulu = _many_deals(store, clock)
    reply = dm_reply(slack, fake, "Zulu Corp said maybe")
    action_id, value = buttons(reply)["Edit"]
    slack.click(action_id, value)
    [opened] = fake.wait_for("views.open")
    view = opened.params["view"]
    blocks = blocks_by_id(view)
    assert len(blocks["deal"]["element"]["options"]) <= 100
    assert blocks["deal"]["element"]["initial_option"]["value"] == str(zulu.id)
    assert not blocks["company"]["element"].get("initial_value")  # not offered as a new deal
    before = len(deals_of(store))
    assert slack.submit("log_update", {"deal": ("select", str(zulu.id)), "kind": ("select", "maybe"),
                                       "note": "Zulu Corp said maybe"},
                        private_metadata=view["private_metadata"]).status == 200
    fake.wait_for("response_url")  # the proposal message now shows the logged deal
    assert len(deals_of(store)) == before
    assert next(d for d in deals_of(store) if d.id == zulu.id).maybe_count == 1


def test_a_typed_company_that_is_already_a_deal_logs_to_it(slack, store, clock, fake):
    zulu = _many_deals(store, clock)  # too many deals for the select to list them all
    before = len(deals_of(store))
    assert slack.submit("log_update", {"company": "zulu corp", "kind": ("select", "touch"), "note": "vm"},
                        private_metadata=json.dumps({"source": "shortcut"})).status == 200
    fake.wait_for("chat.postMessage")
    assert len(deals_of(store)) == before  # no duplicate "zulu corp"
    assert next(d for d in deals_of(store) if d.id == zulu.id).touch_count == 1


def test_the_shortcut_prefills_the_note_as_plain_text(slack, store, fake):
    slack.deal("add Initech")
    slack.shortcut("log_to_deal", {"text": "<@U2|ben> says Initech wants info &amp; pricing <https://x.io|deck>"})
    [opened] = fake.wait_for("views.open")
    note = blocks_by_id(opened.params["view"])["note"]["element"]["initial_value"]
    assert note == "@ben says Initech wants info & pricing deck (https://x.io)"


def test_a_booked_meeting_reaches_the_rep_even_if_the_original_message_is_gone(slack, store, fake):
    reply = slack.deal("add Wayne Enterprises")
    action_id, value = buttons(reply)["Next meeting"]
    slack.click(action_id, value)
    [opened] = fake.wait_for("views.open")
    fake.fail("response_url", 404, error="expired_url", times=1)  # response_urls expire after 30 minutes
    when = int((slack.clock.now() + timedelta(days=2)).timestamp())
    assert slack.submit("book_meeting", {"when": when}, private_metadata=opened.params["view"]["private_metadata"]
                        ).status == 200
    [posted] = fake.wait_for("chat.postMessage")
    assert posted.params["channel"].startswith("D") and "Next meeting with" in texts(posted.params)
    assert deals_of(store)[0].next_meeting_at.timestamp() == when


# --- App Home -----------------------------------------------------------------------------------

def test_home_counts_closed_out_this_week_from_the_reps_monday(slack, store, clock, fake):
    now = clock.now()  # Monday 23 Nov, 05:00 in New York
    clock.set(datetime(2026, 11, 22, 18, tzinfo=UTC))  # Sunday 13:00 in New York: last week
    slack.deal("add Lastweek Co")
    slack.deal("won lastweek")
    clock.set(now)
    slack.deal("add Thisweek Co")
    slack.deal("no thisweek")
    slack.home_opened()
    [published] = fake.wait_for("views.publish")
    home = json.dumps(published.params["view"])
    assert "Closed out this week (1)" in home and "Thisweek" in home and "Lastweek" not in home


# --- privacy: every path, with another rep's ids (passes: pins it) -------------------------------

def test_no_path_reaches_another_reps_deal(slack, store, fake):
    slack.deal("add Secret Co $90k", user="U2")
    [theirs] = deals_of(store, "U2")
    proposal = dm_reply(slack, fake, "Secret Co said maybe", user="U2")
    pid = buttons(proposal)["Log it"][1]
    slack.deal("add Secret Labs", user="U2")
    picker = slack.deal("maybe secret", user="U2")
    pick_id, pick_value = next(v for k, v in buttons(picker).items() if k.startswith("Secret Co"))
    slack.deal("add Mine", user="U1")

    assert "isn't one of yours" in texts(slack.press("deal:maybe", str(theirs.id), user="U1"))
    assert "isn't one of yours" in texts(slack.press("deal:meet", str(theirs.id), user="U1"))
    assert "Already handled" in texts(slack.press("chat:log", pid, user="U1"))
    assert "isn't yours" in texts(slack.press(pick_id, pick_value, user="U1"))
    when = int((slack.clock.now() + timedelta(days=2)).timestamp())
    slack.submit("book_meeting", {"when": when}, user="U1", private_metadata=json.dumps({"deal": theirs.id}))
    slack.submit("log_update", {"deal": ("select", str(theirs.id)), "kind": ("select", "won")}, user="U1",
                 private_metadata="{}")
    fake.wait_for("chat.postMessage", count=3)  # U2's proposal, then both modal results in U1's DM
    slack.shortcut("log_to_deal", {"text": "Secret Co signed"}, user="U1")
    [opened] = fake.wait_for("views.open")
    options = blocks_by_id(opened.params["view"])["deal"]["element"]["options"]
    assert [o["value"] for o in options] == [str(deals_of(store, "U1")[0].id)]  # only their own deal
    slack.deal("list", user="U1")  # everything before it has been handled
    after = next(d for d in deals_of(store, "U2") if d.id == theirs.id)
    assert after == theirs


# --- races: concurrent clicks, through the real app (PostgreSQL's row lock; SQLite's write lock) -------------

CLICKERS = 8


def _race_clicks(slack, fake, clicks: list[tuple[str, str]]) -> None:
    before = len(fake.calls_to("response_url"))
    errors = race(lambda a, v: slack.click(a, v), clicks)
    assert errors == []
    fake.wait_for("response_url", count=before + len(clicks))  # every click answered: all have run
    assert slack.settle()


def test_the_same_button_clicked_at_once_from_many_tabs_counts_once(slack, store, fake):
    reply = slack.deal("add Umbrella $40k")
    action_id, value = buttons(reply)["No answer"]
    _race_clicks(slack, fake, [(action_id, value)] * CLICKERS)
    [deal] = deals_of(store)
    assert deal.touch_count == 1
    assert history_kinds(store, deal.id).count(Kind.TOUCH) == 1


def test_won_and_no_at_the_same_moment_close_the_deal_once(slack, store, fake):
    reply = slack.deal("add Umbrella $40k")
    won, no = buttons(reply)["Won"], buttons(reply)["Hard no"]
    _race_clicks(slack, fake, [won, no] * (CLICKERS // 2))
    [deal] = deals_of(store)
    closes = [k for k in history_kinds(store, deal.id) if k in (Kind.WON, Kind.NO)]
    assert len(closes) == 1, closes
    assert deal.status.value == closes[0].value


# --- housekeeping -------------------------------------------------------------------------------

def test_housekeeping_deletes_stale_proposals_and_keeps_fresh_ones(slack, store, fake, clock):
    from bot.scheduler import housekeeping
    slack.deal("add Acme")
    old = dm_reply(slack, fake, "Acme said maybe")
    clock.advance(timedelta(days=31))
    fresh = dm_reply(slack, fake, "Acme said maybe, try after the 15th")
    with store.tx() as tx:
        assert tx.count("proposals") == 2
    housekeeping(slack.app.services, slack.client)
    with store.tx() as tx:
        assert tx.count("proposals") == 1
    assert "Already handled" in texts(press_in_dm(slack, old, "Log it"))  # the old buttons log nothing
    assert deals_of(store)[0].maybe_count == 0
    press_in_dm(slack, fresh, "Log it")
    assert deals_of(store)[0].maybe_count == 1
