"""A rep tells the bot about deals in plain words; Slack's delivery rules hold (signatures, retries, 429s)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.failures import SORRY
from handlers.domain.model import Kind, Status
from tests.test_deal_command import buttons, deals_of, texts


def dm_reply(slack, fake, text, user="U1", **kw) -> dict:
    before = len(fake.calls_to("chat.postMessage"))
    r = slack.dm(text, user=user, **kw)
    assert r.status == 200
    return fake.wait_for("chat.postMessage", count=before + 1)[before].params


def press_in_dm(slack, reply, label, user="U1") -> dict:
    action_id, value = buttons(reply)[label]
    return slack.press(action_id, value, user=user, message={"ts": "2.0", "text": reply["text"],
                                                             "blocks": reply["blocks"]})


def history_kinds(store, deal_id, user="U1"):
    with store.tx() as tx:
        return [a.kind for a in tx.history(user, deal_id)]


def test_a_dm_becomes_a_proposal_that_is_logged_only_on_click(slack, store, fake):
    slack.deal("add Acme Corp $12k")
    reply = dm_reply(slack, fake, "Acme said maybe again, try after Jan 15")
    assert reply["channel"] == "DU1"
    shown = texts(reply)
    assert "Maybe" in shown and "Acme Corp" in shown and "Fri 15 Jan" in shown
    assert set(buttons(reply)) == {"Log it", "Edit", "Ignore"}
    [deal] = deals_of(store)
    assert history_kinds(store, deal.id) == [Kind.ADDED]  # nothing written yet
    done = press_in_dm(slack, reply, "Log it")
    assert done["replace_original"] is True and "maybe number 1" in texts(done)
    [deal] = deals_of(store)
    assert deal.maybe_count == 1
    assert deal.snoozed_until == datetime(2027, 1, 15, tzinfo=ZoneInfo("America/New_York"))
    again = press_in_dm(slack, reply, "Log it")  # a double click logs nothing more
    assert "Already handled" in texts(again)
    assert deals_of(store)[0].maybe_count == 1


def test_an_unknown_company_can_be_added_from_chat(slack, store, fake):
    reply = dm_reply(slack, fake, "new lead: Hooli, $20k, met their CTO at the conference")
    assert "Add as new deal" in buttons(reply) and "not one of your deals yet" in texts(reply)
    press_in_dm(slack, reply, "Add as new deal")
    [deal] = deals_of(store)
    assert deal.company == "Hooli" and deal.amount == 20000


def test_chatter_gets_a_short_hint_and_changes_nothing(slack, store, fake):
    slack.deal("add Acme")
    for line in ["thanks!", "good morning", "how do I use this?"]:
        reply = dm_reply(slack, fake, line)
        assert "/deal help" in texts(reply) and buttons(reply) == {}
    assert history_kinds(store, deals_of(store)[0].id) == [Kind.ADDED]


def test_ignore_logs_nothing(slack, store, fake):
    slack.deal("add Initech")
    reply = dm_reply(slack, fake, "left a voicemail for Initech")
    assert "No answer" in texts(reply)
    assert "nothing was logged" in texts(press_in_dm(slack, reply, "Ignore"))
    assert deals_of(store)[0].touch_count == 0


def test_a_meeting_without_a_next_date_asks_for_one(slack, store, fake):
    slack.deal("add Umbrella")
    reply = dm_reply(slack, fake, "met Umbrella today, good call")
    assert "none booked yet" in texts(reply)
    done = press_in_dm(slack, reply, "Log it")
    assert "book the next one" in texts(done)
    assert history_kinds(store, deals_of(store)[0].id)[-1] is Kind.NOTE


def test_edit_opens_a_prefilled_modal_that_logs(slack, store, fake):
    slack.deal("add Globex")
    reply = dm_reply(slack, fake, "Globex signed!")
    action_id, value = buttons(reply)["Edit"]
    slack.click(action_id, value)
    [opened] = fake.wait_for("views.open")
    view = opened.params["view"]
    assert view["callback_id"] == "log_update"
    assert slack.submit("log_update", {"deal": ("select", str(deals_of(store)[0].id)),
                                       "kind": ("select", "won"), "note": "PO received"},
                        private_metadata=view["private_metadata"]).status == 200
    fake.wait_for("response_url", count=2)  # the /deal add reply, then the edited proposal's result
    [deal] = deals_of(store)
    assert deal.status is Status.WON and deal.close_reason == "PO received"
    assert "Already handled" in texts(press_in_dm(slack, reply, "Log it"))  # the proposal is settled


def test_in_a_channel_the_bot_speaks_only_when_mentioned_and_only_to_the_rep(slack, store, fake):
    slack.deal("add Globex")
    ts = f"{time.time():.6f}"
    slack.event({"type": "message", "channel_type": "channel", "channel": "C1", "user": "U1",
                 "text": "Globex signed!", "ts": ts})
    r = slack.event({"type": "app_mention", "channel": "C1", "user": "U1", "text": "<@UBOT> Globex signed!",
                     "ts": ts, "event_ts": ts})
    assert r.status == 200
    [eph] = fake.wait_for("chat.postEphemeral")
    assert eph.params["user"] == "U1" and eph.params["channel"] == "C1" and "Won" in texts(eph.params)
    assert fake.calls_to("chat.postMessage") == []  # nothing said in the channel itself


def test_a_retried_event_has_its_effect_once(slack, fake):
    slack.deal("add Acme")
    first = slack.dm("Acme said maybe", event_id="EvDUP")
    retry = slack.dm("Acme said maybe", event_id="EvDUP", retry=1)
    assert first.status == retry.status == 200
    fake.wait_for("chat.postMessage", count=1)
    # a retry whose first delivery never reached us still counts
    lone = slack.dm("Acme said maybe", event_id="EvLOST", retry=2)
    assert lone.status == 200
    fake.wait_for("chat.postMessage", count=2)
    slack.deal("list")  # a later request is fully handled, so any stray duplicate would be here by now
    assert len(fake.calls_to("chat.postMessage")) == 2


def test_the_bots_own_messages_and_edits_are_ignored(slack, fake):
    ts = f"{time.time():.6f}"
    slack.event({"type": "message", "channel_type": "im", "channel": "DU1", "bot_id": "B1", "text": "Acme said maybe",
                 "ts": ts})
    slack.event({"type": "message", "subtype": "message_changed", "channel_type": "im", "channel": "DU1",
                 "message": {"text": "x"}, "ts": ts})
    slack.deal("list")
    assert fake.calls_to("chat.postMessage") == []


def test_unsigned_or_forged_or_stale_requests_are_refused(slack, store):
    assert slack.command("add Forged Inc", sign=False).status == 401
    assert slack.command("add Forged Inc", headers={"X-Slack-Signature": "v0=" + "0" * 64}).status == 401
    assert slack.command("add Forged Inc", timestamp=int(time.time()) - 3600).status == 401
    assert deals_of(store) == []


def test_a_failing_listener_tells_the_rep_and_the_bot_keeps_serving(slack, store, fake):
    slack.deal("add Acme")
    fake.fail("conversations.open", error="internal_error", times=1)
    reply = slack.deal("export")
    assert texts(reply).startswith(SORRY[:30]) and "Traceback" not in texts(reply)
    assert "Sent 1 deals" in texts(slack.deal("export"))  # the next request works
    assert len(deals_of(store)) == 1


def test_a_listener_failing_right_after_its_ack_still_acks(slack, store, fake):
    """Bolt's runner drops an ack when the listener raises within its 10 ms ack poll, and Slack would get a
    404 ("dispatch_failed"): our listeners' failures never reach it. Many tries, as the window is narrow."""
    slack.deal("add Acme")
    fake.fail("conversations.open", error="internal_error", times=None)
    for _ in range(25):
        reply = slack.deal("export")  # asserts the 200 ack itself
        assert texts(reply).startswith(SORRY[:30])


def test_a_rate_limited_post_is_waited_out(slack, fake):
    slack.deal("add Acme")
    fake.fail("chat.postMessage", status=429, retry_after=1, times=1)
    slack.dm("Acme said maybe")
    calls = fake.wait_for("chat.postMessage", count=2, timeout=10)
    assert [c.status for c in calls] == [429, 200]
    assert "Acme" in texts(calls[1].params)


def test_the_message_shortcut_logs_any_message_to_a_deal(slack, store, fake):
    slack.deal("add Initech $8k")
    r = slack.interactive({
        "type": "message_action", "callback_id": "log_to_deal", "trigger_id": "trig.s1",
        "user": {"id": "U1", "team_id": "T1"}, "team": {"id": "T1"}, "channel": {"id": "C1"},
        "message": {"type": "message", "user": "U9", "ts": "3.0",
                    "text": "Initech: they want to talk it over with the team and get back to us"},
        "response_url": fake.response_url("sc"), "message_ts": "3.0"})
    assert r.status == 200
    [opened] = fake.wait_for("views.open")
    view = opened.params["view"]
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["deal"]["element"]["initial_option"]["value"] == str(deals_of(store)[0].id)
    assert blocks["kind"]["element"]["initial_option"]["value"] == "maybe"
    assert slack.submit("log_update", {"deal": ("select", str(deals_of(store)[0].id)), "kind": ("select", "maybe"),
                                       "note": "talk it over with the team"},
                        private_metadata=view["private_metadata"]).status == 200
    fake.wait_for("chat.postMessage")
    [deal] = deals_of(store)
    assert deal.maybe_count == 1 and deal.last_maybe_note == "talk it over with the team"


def test_app_home_shows_only_the_reps_own_pipeline(slack, fake):
    slack.deal("add Acme $12k")
    slack.deal("maybe acme")
    slack.deal("maybe acme")  # the second maybe: the digest would list it (one maybe is not a stall yet)
    slack.deal("add Globex")
    slack.deal("add Hooli")
    slack.deal("won hooli")
    slack.deal("add Secret Co", user="U2")
    slack.event({"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home",
                 "event_ts": f"{time.time():.6f}"})
    [published] = fake.wait_for("views.publish")
    home = json.dumps(published.params["view"])
    assert published.params["user_id"] == "U1"
    assert "Needs a decision (1)" in home and "Open, on track (1)" in home and "Closed out this week (1)" in home
    assert "Secret" not in home


def test_health_check_answers_when_the_database_does(slack):
    r = slack.get("/healthz")
    assert r.status == 200 and json.loads(r.body)["ok"] is True


def all_buttons(reply) -> list[tuple[str, str, str]]:
    """(label, action_id, value) of every button, in order (labels repeat when a line names two deals)."""
    return [(el["text"]["text"], el["action_id"], el.get("value", "")) for block in reply.get("blocks") or []
            for el in block.get("elements", []) if el.get("type") == "button"]


def test_a_name_two_deals_share_asks_which_with_a_button_each(slack, store, fake):
    slack.deal("add Acme Corp")
    slack.deal("add Acme Labs")
    corp, labs = sorted(deals_of(store), key=lambda d: d.company)
    reply = dm_reply(slack, fake, "Acme said call me after Jan 15")
    assert "which deal?" in texts(reply) and "not one of your deals yet" not in texts(reply)
    labels = [b[0] for b in all_buttons(reply)]
    assert labels == [f"Acme Corp #{corp.id}", f"Acme Labs #{labs.id}", "A new deal", "Ignore"]
    _, action_id, value = all_buttons(reply)[1]
    done = slack.press(action_id, value, message={"ts": "2.0", "text": reply["text"], "blocks": reply["blocks"]})
    assert "maybe number 1" in texts(done) and done["replace_original"] is True
    assert {d.company: d.maybe_count for d in deals_of(store)} == {"Acme Corp": 0, "Acme Labs": 1}
    again = slack.press(action_id, value, message={"ts": "2.0", "text": reply["text"], "blocks": reply["blocks"]})
    assert "Already handled" in texts(again)
    forged = slack.press(all_buttons(reply)[0][1], value.split(":")[0] + ":99999")  # not one it offered
    assert "Already handled" in texts(forged) and len(deals_of(store)) == 2


def test_the_new_deal_button_of_a_shared_name_adds_it(slack, store, fake):
    slack.deal("add Acme Corp")
    slack.deal("add Acme Labs")
    reply = dm_reply(slack, fake, "acme signed!")
    _, action_id, value = next(b for b in all_buttons(reply) if b[0] == "A new deal")
    slack.press(action_id, value)
    won = [d for d in deals_of(store) if d.status is Status.WON]
    assert [d.company for d in won] == ["acme"]


def test_an_unknown_capitalised_company_with_an_outcome_is_offered_as_a_new_deal(slack, store, fake):
    slack.deal("add Initech")
    reply = dm_reply(slack, fake, "Globex ghosted me again")
    assert "No answer" in texts(reply) and "Globex" in texts(reply) and "not one of your deals yet" in texts(reply)
    press_in_dm(slack, reply, "Add as new deal")
    globex = next(d for d in deals_of(store) if d.company == "Globex")
    assert globex.touch_count == 1


def test_two_deals_in_one_line_get_one_click_each(slack, store, fake):
    slack.deal("add Globex")
    slack.deal("add Initech")
    ids = {d.company: d.id for d in deals_of(store)}
    reply = dm_reply(slack, fake, "globex signed and initech said maybe")
    shown = texts(reply)
    assert f"*Won* on *Globex* (#{ids['Globex']})" in shown and f"*Maybe* on *Initech* (#{ids['Initech']})" in shown
    logs = [b for b in all_buttons(reply) if b[0] == "Log it"]
    assert len(logs) == 2
    message = {"ts": "2.0", "text": reply["text"], "blocks": reply["blocks"]}
    first = slack.press(logs[0][1], logs[0][2], message=message)
    assert first["replace_original"] is False  # the other deal's buttons stay
    slack.press(logs[1][1], logs[1][2], message=message)
    got = {d.company: d for d in deals_of(store)}
    assert got["Globex"].status is Status.WON and got["Initech"].maybe_count == 1


def test_chat_proposals_escape_what_the_rep_typed(slack, store, fake):
    reply = dm_reply(slack, fake, "new lead: <!channel> *Evil* & Co")
    assert "<!channel>" not in json.dumps(reply) and "&amp; Co" in reply["text"] and "*Evil*" not in reply["text"]
    reply = dm_reply(slack, fake, "Zorg *Corp* signed!")
    assert "*Corp*" not in reply["text"] and "*Corp*" not in json.dumps(reply["blocks"])


def test_a_shared_name_with_only_one_open_deal_is_that_deal(slack, store, fake):
    slack.deal("add Acme Corp")
    slack.deal("add Acme Labs")
    slack.deal("no acme corp")
    labs = next(d for d in deals_of(store) if d.company == "Acme Labs")
    reply = dm_reply(slack, fake, "acme wants a proposal")
    assert f"*Maybe* on *Acme Labs* (#{labs.id})" in texts(reply) and "which deal?" not in texts(reply)
