"""A rep logs deals with /deal, through signed HTTP requests to the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from handlers.domain.model import Kind, Status


def texts(reply: dict) -> str:
    """Everything a rep reads in a reply: the fallback text and every text in its blocks."""
    found = [reply.get("text") or ""]

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "text" and isinstance(v, str):
                    found.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(reply.get("blocks") or [])
    return "\n".join(found)


def mrkdwn(reply: dict) -> list[str]:
    """The texts Slack formats (mrkdwn objects) in a reply's blocks."""
    out = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                out.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(reply.get("blocks") or [])
    return out


def buttons(reply: dict) -> dict[str, str]:
    """{button label: "action_id value"} for every button in a reply."""
    out = {}
    for block in reply.get("blocks") or []:
        for el in block.get("elements", []):
            if el.get("type") == "button":
                out[el["text"]["text"]] = (el["action_id"], el.get("value", ""))
    return out


def deals_of(store, user="U1", statuses=tuple(Status)):
    with store.tx() as tx:
        return tx.deals(user, statuses)


def test_add_shows_how_it_understood_amount_and_date(slack, store):
    reply = slack.deal("add Acme Corp $12k next:dec 3 2pm contact:Jo Smith stage:consensus")
    assert reply["response_type"] == "ephemeral"
    shown = texts(reply)
    assert "Acme Corp" in shown and "$12,000" in shown
    assert "Thu 3 Dec, 14:00 EST" in shown  # in the rep's own zone (America/New_York)
    [deal] = deals_of(store)
    assert deal.amount == 12000 and deal.currency == "USD" and deal.contact == "Jo Smith"
    assert deal.stage == "consensus"
    assert deal.next_meeting_at == datetime(2026, 12, 3, 14, tzinfo=ZoneInfo("America/New_York"))
    assert set(buttons(reply)) >= {"Maybe", "No answer", "Next meeting", "Won", "Hard no", "Drop"}


def test_each_verb_moves_the_deal(slack, store):
    slack.deal("add Globex 5000")
    assert "maybe number 1" in texts(slack.deal("maybe globex said send me info"))
    assert "1 in a row" in texts(slack.deal("touch globex vm"))  # the run restarts after a maybe
    assert "2 in a row" in texts(slack.deal("touch globex no reply"))
    [d] = deals_of(store)
    assert (d.maybe_count, d.touches_since_answer, d.last_maybe_note) == (1, 2, "said send me info")
    meet = slack.deal("meet globex next tuesday 2pm pricing review")
    # "next tuesday" is the first Tuesday after today: said on Monday 23 Nov, tomorrow (handlers/domain/when.py)
    assert "Tue 24 Nov, 14:00 EST" in texts(meet) and "1 Dec" not in texts(meet)
    assert deals_of(store)[0].next_meeting_at == datetime(2026, 11, 24, 14, tzinfo=ZoneInfo("America/New_York"))
    snooze = slack.deal("snooze globex jan 15")
    assert "No nudges about" in texts(snooze) and "15 Jan" in texts(snooze)
    won = slack.deal("won globex signed the PO")
    assert "won" in texts(won).lower()
    [d] = deals_of(store)
    assert d.status is Status.WON and d.close_reason == "signed the PO"
    with store.tx() as tx:
        kinds = [a.kind for a in tx.history("U1", d.id)]
    assert kinds == [Kind.ADDED, Kind.MAYBE, Kind.TOUCH, Kind.TOUCH, Kind.MEETING, Kind.SNOOZE, Kind.WON]
    again = slack.deal("no globex")
    assert "already closed out" in texts(again)


@pytest.mark.parametrize("verb,status", [("no", Status.NO), ("drop", Status.DROPPED)])
def test_no_and_drop_close_out(slack, store, verb, status):
    slack.deal("add Initech")
    slack.deal(f"{verb} initech not a fit")
    [d] = deals_of(store)
    assert d.status is status and d.close_reason == "not a fit"


def test_list_groups_open_needs_decision_and_closed(slack, store):
    slack.deal("add Acme")
    slack.deal("add Globex")
    slack.deal("add Hooli")
    slack.deal("maybe acme")
    slack.deal("maybe acme")  # the second maybe: the digest would list it (one maybe is not a stall yet)
    slack.deal("won hooli")
    shown = texts(slack.deal("list all"))
    assert "Needs a decision (1)" in shown and "Open, on track (1)" in shown and "Closed out (1)" in shown
    assert shown.index("Acme") < shown.index("Globex") < shown.index("Hooli")
    assert "Hooli" not in texts(slack.deal("list"))
    maybes = texts(slack.deal("list maybes"))
    assert "Acme" in maybes and "Globex" not in maybes


def test_a_ref_matching_several_deals_offers_buttons(slack, store):
    slack.deal("add Acme Corp")
    slack.deal("add Acme Labs")
    reply = slack.deal("maybe acme call after budget")
    assert "matches 2 of your deals" in texts(reply)
    choices = buttons(reply)
    label = next(k for k in choices if k.startswith("Acme Labs"))
    action_id, value = choices[label]
    picked = slack.press(action_id, value)
    assert "maybe number 1" in texts(picked) and "Acme Labs" in texts(picked)
    labs = next(d for d in deals_of(store) if d.company == "Acme Labs")
    assert labs.maybe_count == 1 and labs.last_maybe_note == "call after budget"
    again = slack.press(action_id, value)  # a second click on the same picker changes nothing
    assert "already" in texts(again)
    assert next(d for d in deals_of(store) if d.company == "Acme Labs").maybe_count == 1


def test_a_ref_matching_nothing_says_so(slack):
    slack.deal("add Acme")
    shown = texts(slack.deal("won umbrella"))
    assert "No deal of yours matches “umbrella”" in shown and "Acme" in shown


def test_reopen_matching_nothing_names_the_closed_deals_not_the_open_ones(slack):
    slack.deal("add Acme")
    assert "You have no closed deals to reopen." in texts(slack.deal("reopen umbrella"))
    slack.deal("add Globex")
    slack.deal("won globex")
    shown = texts(slack.deal("reopen umbrella"))
    assert "Your closed deals: Globex" in shown and "Acme" not in shown


@pytest.mark.parametrize("text,expect", [
    ("", "add"),                       # empty: the general help
    ("frobnicate acme", "frobnicate"),  # unknown subcommand, named back
    ("maybe", "maybe"),                 # missing deal
    ("add Acme -5", "amount"),
    ("add Acme $999999999999999", "amount"),
    ("meet acme blorptuesday", "date"),
    ("add " + "x" * 5000, "200"),
    ("list everything", "list"),
    ("coach acme pleasebuy", "coach"),
])
def test_bad_input_gets_a_specific_reply_and_loses_nothing(slack, store, text, expect):
    slack.deal("add Acme $5k")
    before = deals_of(store)
    shown = texts(slack.deal(text))
    assert expect.lower() in shown.lower()
    assert "Traceback" not in shown
    assert deals_of(store) == before


@pytest.mark.parametrize("name", ["Müller GmbH 🚀", "株式会社サンプル", "Robert'); DROP TABLE deals;--",
                                  "<!channel> *Bold* Corp", "_Under_ `code` ~strike~"])
def test_any_name_is_stored_verbatim_and_shown_escaped(slack, store, name):
    reply = slack.deal(f'add "{name}" $1k')
    [d] = deals_of(store)
    assert d.company == name
    marked_up = mrkdwn(reply)
    assert marked_up and all("<!channel>" not in t for t in marked_up)  # no ping
    for marker in ("*Bold*", "_Under_", "`code`", "~strike~"):
        assert all(marker not in t for t in marked_up)  # no accidental formatting
    if "<!channel>" in name:
        assert any("&lt;!channel&gt;" in t for t in marked_up)  # still readable, literally


def test_buttons_on_a_card_log_and_update_it(slack, store):
    reply = slack.deal("add Umbrella $40k")
    action_id, value = buttons(reply)["Won"]
    updated = slack.press(action_id, value)
    assert updated.get("replace_original") is True
    assert "Umbrella" in texts(updated) and "won" in texts(updated).lower()
    assert deals_of(store)[0].status is Status.WON


def test_a_double_click_on_a_card_button_logs_once(slack, store, clock):
    reply = slack.deal("add Umbrella $40k")
    action_id, value = buttons(reply)["No answer"]
    slack.press(action_id, value)
    again = slack.press(action_id, value)
    assert "counted it once" in texts(again)
    assert deals_of(store)[0].touch_count == 1
    clock.advance(timedelta(minutes=1))  # a real second try a minute later counts
    slack.press(action_id, value)
    assert deals_of(store)[0].touch_count == 2


def test_a_rep_cannot_act_on_another_reps_deal(slack, store):
    slack.deal("add Secret Co $90k", user="U2")
    [theirs] = deals_of(store, "U2")
    answer = slack.press("deal:won", str(theirs.id), user="U1")
    assert "isn't one of yours" in texts(answer) and answer.get("replace_original") is not True
    assert deals_of(store, "U2")[0].status is Status.OPEN
    assert "Secret" not in texts(slack.deal("list all", user="U1"))
    assert "No deal of yours matches" in texts(slack.deal("won secret", user="U1"))
    assert "No deal of yours matches" in texts(slack.deal(f"won #{theirs.id}", user="U1"))


def test_add_without_text_opens_a_modal_and_validates_it(slack, store, fake):
    r = slack.command("add")
    assert r.status == 200
    [opened] = fake.wait_for("views.open")
    assert opened.params["view"]["callback_id"] == "add_deal"
    bad = slack.submit("add_deal", {"company": "Hooli", "amount": "lots"})
    assert bad.status == 200 and "amount" in json.loads(bad.body)["errors"]
    assert deals_of(store) == []
    next_week = int((slack.clock.now() + timedelta(days=7)).timestamp())
    ok = slack.submit("add_deal", {"company": "Hooli", "amount": "€20k", "next": next_week,
                                   "stage": ("select", "decide")})
    assert ok.status == 200
    [posted] = fake.wait_for("chat.postMessage")
    assert "Hooli" in texts(posted.params)
    [d] = deals_of(store)
    assert (d.company, d.amount, d.currency, d.stage) == ("Hooli", 20000, "EUR", "decide")


def test_next_meeting_button_opens_a_modal_that_books_it(slack, store, fake):
    reply = slack.deal("add Wayne Enterprises")
    action_id, value = buttons(reply)["Next meeting"]
    slack.click(action_id, value)
    [opened] = fake.wait_for("views.open")
    meta = opened.params["view"]["private_metadata"]
    when = int((slack.clock.now() + timedelta(days=2)).timestamp())
    assert slack.submit("book_meeting", {"when": when, "note": "demo"}, private_metadata=meta).status == 200
    fake.wait_for("response_url", count=2)
    assert deals_of(store)[0].next_meeting_at.timestamp() == when


def test_export_sends_a_csv_to_the_reps_dm(slack, fake):
    slack.deal('add "=HYPERLINK(evil)" $3k')
    slack.deal("add Acme")
    assert "Sent 2 deals" in texts(slack.deal("export"))
    [done] = fake.calls_to("files.completeUploadExternal")
    assert done.params["channel_id"].startswith("D")
    [content] = fake.uploaded_files.values()
    lines = content.decode().splitlines()
    assert lines[0].startswith("id,company") and len(lines) == 3
    assert "'=HYPERLINK(evil)" in content.decode()  # a formula is neutralised for spreadsheets


def test_help_lists_every_form(slack):
    shown = texts(slack.deal("help"))
    for form in ["add", "list", "maybe", "touch", "meet", "won", "no", "drop", "snooze", "coach", "board",
                 "export", "help"]:
        assert f"/deal {form}" in shown


# --- issue 10: words and dates -------------------------------------------------------------------------

NY = ZoneInfo("America/New_York")
SUMMER = datetime(2026, 7, 14, 14, 0, tzinfo=ZoneInfo("UTC"))  # a Tuesday in July, EDT


def local_day(dt):
    return dt.astimezone(NY).date().isoformat()


@pytest.mark.parametrize("now, new_year, month_end", [
    (None, "2027-01-01", "2026-11-30"),  # the fixture's Monday 23 Nov 2026
    (SUMMER, "2027-01-01", "2026-07-31"),
])
def test_commands_read_periods_like_chat_does(slack, store, clock, now, new_year, month_end):
    if now is not None:
        clock.set(now)
    added = slack.deal("add Hooli $20k next:after the new year contact:Jo")
    assert "Added" in texts(added)
    [hooli] = deals_of(store)
    assert local_day(hooli.next_meeting_at) == new_year and hooli.contact == "Jo"
    slack.deal("snooze hooli end of month")
    assert local_day(deals_of(store)[0].snoozed_until) == month_end
    slack.deal("maybe hooli try after the new year")  # a maybe whose note has a date snoozes until then
    assert local_day(deals_of(store)[0].snoozed_until) == new_year
    slack.deal("meet hooli next month kickoff")
    meeting = deals_of(store)[0].next_meeting_at.astimezone(NY)
    assert meeting.day <= 3 and meeting.weekday() < 5  # the first working day of next month


def test_add_keys_end_at_an_amount_and_a_second_amount_is_refused(slack, store):
    slack.deal("add Acme stage:negotiation $5k")
    [acme] = deals_of(store)
    assert (acme.stage, acme.amount, acme.currency) == ("negotiation", 5000, "USD")
    refused = texts(slack.deal("add Globex $5k $6k"))
    assert "two amounts" in refused and "$5k" in refused and "$6k" in refused
    assert [d.company for d in deals_of(store)] == ["Acme"]


def test_adding_a_company_that_has_an_open_deal_offers_add_anyway(slack, store):
    slack.deal("add Acme Corp $12k")
    again = slack.deal("add acme corp. $3k next:friday")
    shown = texts(again)
    assert "already have an open deal" in shown and "Acme Corp" in shown and "$12,000" in shown
    assert len(deals_of(store)) == 1
    action_id, value = buttons(again)["Add anyway"]
    assert action_id == "deal:add_anyway"
    added = slack.press(action_id, value)
    assert "Added" in texts(added) and "$3,000" in texts(added)
    deals = sorted(deals_of(store), key=lambda d: d.id)
    assert [(d.company, d.amount) for d in deals] == [("Acme Corp", 12000), ("acme corp.", 3000)]
    assert deals[1].next_meeting_at is not None
    assert "already" in texts(slack.press(action_id, value))  # a second click adds nothing
    assert len(deals_of(store)) == 2
    slack.deal("won #1")
    slack.deal("drop #2")
    assert "Added" in texts(slack.deal("add Acme Corp"))  # a closed deal is no duplicate


def test_a_legal_form_alone_closes_nothing(slack, store):
    slack.deal("add Monsters Inc $9k")
    for ref in ("inc", "Inc."):
        shown = texts(slack.deal(f"won {ref}"))
        assert "legal form" in shown
    assert deals_of(store)[0].status is Status.OPEN


def test_a_decision_on_part_of_a_name_asks_first(slack, store):
    slack.deal("add Monsters Inc $9k")
    asked = slack.deal("won monst")
    assert "Mark *Monsters Inc* won?" in texts(asked)
    assert deals_of(store)[0].status is Status.OPEN  # nothing closed yet
    [(label, (action_id, value))] = buttons(asked).items()
    done = slack.press(action_id, value)
    assert "won" in texts(done).lower() and deals_of(store)[0].status is Status.WON
    slack.deal("add Initech Ltd")
    assert "is closed out with a hard no" in texts(slack.deal("no initech"))  # the name sans legal form: at once
    slack.deal("add Globex")
    [globex] = [d for d in deals_of(store) if d.company == "Globex"]
    assert "dropped" in texts(slack.deal(f"drop #{globex.id}"))  # an #id: at once
    slack.deal("add Hooli")
    slack.deal("maybe hoo")  # only decisions ask
    assert next(d for d in deals_of(store) if d.company == "Hooli").maybe_count == 1


def test_reopen_a_closed_deal_by_command(slack, store):
    slack.deal("add Acme $5k")
    slack.deal("won acme")
    reopened = texts(slack.deal("reopen acme they want a second phase"))
    assert "open again" in reopened
    [d] = deals_of(store)
    assert d.status is Status.OPEN and d.closed_at is None
    assert "already open" in texts(slack.deal("reopen acme"))
    assert "/deal reopen" in texts(slack.deal("help"))
    assert "drop" not in texts(slack.deal("reopen")).split("Usage")[0]  # no longer "did you mean drop?"


HOSTILE = ["<!channel>", "<@U123>", "<http://x|y>", "&"]


def no_live_markup(reply: dict) -> None:
    for t in [reply.get("text") or "", *mrkdwn(reply)]:
        for bad in ("<!channel>", "<@U123>", "<http://x|y>"):
            assert bad not in t, (bad, t)
        assert "&" not in t.replace("&amp;", "").replace("&lt;", "").replace("&gt;", ""), t


@pytest.mark.parametrize("word", HOSTILE)
def test_no_live_markup_in_any_reply(slack, store, word):
    replies = [slack.deal(f"settings {word}"), slack.deal(f"frobnicate {word}"), slack.deal(f"won {word}x"),
               slack.deal(f'add "{word} Co" $1k'), slack.deal(f'add "{word} Co" $2k'),
               slack.deal(f"won {word}"), slack.deal("maybe #1 " + word)]
    for reply in replies:
        no_live_markup(reply)
    settings_text = replies[0]["text"]
    assert "There are no" in settings_text and ("&lt;" in settings_text or "&amp;" in settings_text)


def test_a_maybe_logged_in_the_form_snoozes_until_the_date_its_note_names(slack, store, fake):
    slack.deal("add Globex $5k")
    [globex] = deals_of(store)
    r = slack.submit("log_update", {"deal": ("select", str(globex.id)), "kind": ("select", "maybe"),
                                    "note": "they said try after the new year"})
    assert r.status == 200
    fake.wait_for("chat.postMessage")
    [d] = deals_of(store)
    assert d.maybe_count == 1 and local_day(d.snoozed_until) == "2027-01-01"
