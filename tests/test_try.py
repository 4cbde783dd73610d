"""`hardno try`: scripted sessions through the real command (piped input, plain output), and the Block Kit
renderer the sandbox draws the bot's messages with.

The sessions run `python -m bot try` as a user would, in a clean environment (no SLACK_*, OPENAI_* or
HARDNO_* variables, no .env) with a sandbox database of their own; the sandbox clock starts at the real
time, so assertions never depend on today's date.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.driver import view_state
from bot.sandbox.render import mrkdwn, render_blocks, render_view
from bot.sandbox.session import parse_time
from handlers.domain.model import Status

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 180
# TRY_START="2026-07-15 10:00" starts every session then (with `:time`, in New York), to run these tests on
# another day of the year than today; the summer tests below always do.
START = os.environ.get("TRY_START")
SUMMER = "2026-07-15 10:00"


def started(start: str | None = START) -> datetime:
    """When a session run now with `start` begins, on the sandbox clock."""
    if start is None:
        return datetime.now(UTC)
    return datetime.fromisoformat(start).replace(tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "OPENAI_", "HARDNO_")) and k != "DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("NO_COLOR", None)
    return env


class Session:
    """A finished session: its output split at the echoed input lines (`> ...`)."""

    def __init__(self, proc: subprocess.CompletedProcess, db: Path):
        self.proc, self.db = proc, db
        self.out, self.err = proc.stdout, proc.stderr
        self.turns: list[tuple[str, str]] = []  # (input line, what was shown until the next prompt)
        current, lines = None, []
        for line in self.out.splitlines():
            if line.startswith("> "):
                if current is not None:
                    self.turns.append((current, "\n".join(lines)))
                current, lines = line[2:], []
            else:
                lines.append(line)
        if current is not None:
            self.turns.append((current, "\n".join(lines)))

    def after(self, typed: str, nth: int = 0) -> str:
        """What the sandbox showed after the nth time `typed` was entered."""
        found = [shown for line, shown in self.turns if line == typed]
        assert len(found) > nth, f"{typed!r} was not entered {nth + 1} time(s); turns: {[t for t, _ in self.turns]}"
        return found[nth]

    def deals(self, user: str = "U1"):
        from storage import Store
        store = Store.from_url(f"sqlite:///{self.db}")
        try:
            with store.tx() as tx:
                return {d.company: d for d in tx.deals(user, list(Status))}
        finally:
            store.dispose()


def run_try(tmp_path: Path, script: str, *, fresh: bool = True, start: str | None = START,
            env: dict[str, str] | None = None) -> Session:
    db = tmp_path / "sandbox.db"
    if start is not None:
        script = f":time {start}\n" + script
    args = [sys.executable, "-m", "bot", "try", "--db", str(db)] + (["--fresh"] if fresh else [])
    proc = subprocess.run(args, input=script, cwd=tmp_path, env={**clean_env(), **(env or {})},
                          capture_output=True, text=True,
                          timeout=TIMEOUT)
    s = Session(proc, db)
    assert proc.returncode == 0, (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    return s


# -- scripted sessions ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("start", [START, SUMMER], ids=["today", "summer"])
def test_add_shows_the_card_with_numbered_buttons_and_saves_in_the_sandbox_db(tmp_path, start):
    s = run_try(tmp_path, "/deal add Acme Corp $12k next:friday 2pm contact:Jo Smith\n", start=start)
    shown = s.after("/deal add Acme Corp $12k next:friday 2pm contact:Jo Smith")
    assert "── hardno · #sales, only visible to you ──" in shown
    assert "Added Acme Corp" in shown and "Amount: $12,000" in shown and "contact: Jo Smith" in shown
    assert re.search(r"Next meeting: Fri \d+ \w+, 14:00 E[SD]T", shown), shown  # in your zone (New York)
    assert "[1] Maybe  [2] No answer  [3] Next meeting  [4] Won  [5] Hard no  [6] Drop" in shown
    assert "*" not in shown  # mrkdwn is drawn, not shown raw
    deal = s.deals()["Acme Corp"]
    assert deal.amount == 12000 and deal.contact == "Jo Smith" and deal.next_meeting_at is not None
    assert s.out.rstrip().endswith("(start over with --fresh).")  # end of input ends the session cleanly


def test_a_chat_line_is_a_proposal_until_a_click_logs_it(tmp_path):
    s = run_try(tmp_path, "/deal add Globex $40k\nGlobex said send me info\n:click 8\n:click won\n")
    proposal = s.after("Globex said send me info")
    assert "── hardno · DM with you ──" in proposal
    assert "Here's what I understood" in proposal and "Maybe on Globex" in proposal
    assert "[8] Log it  [9] Edit  [10] Ignore" in proposal  # the card above has [1] to [7]
    logged = s.after(":click 8")
    assert "DM with you · updated" in logged and "maybe number 1" in logged
    won = s.after(":click won")  # by label, on the card that replaced the proposal
    assert "Globex is won" in won and "[18] Reopen" in won  # a new button, a new number
    deal = s.deals()["Globex"]
    assert deal.maybe_count == 1 and deal.status is Status.WON


def test_the_add_form_is_asked_field_by_field_and_app_errors_are_asked_again(tmp_path):
    script = "/deal add\nInitech\nlots of money\nthu 10am\nBill\nconsensus\nmet at a conference\n5k\n"
    s = run_try(tmp_path, script)
    form = s.after("/deal add")
    assert "── form · Add a deal ──" in form
    assert "▸ Company: text, e.g. Acme Corp" in form
    assert "▸ Waiting on (optional): one of: Time, Explore" in form
    assert "Amount (optional): lots of money" in s.out
    assert "✗ Amount:" in s.out  # the app's own validation, answered as response_action=errors
    assert "Amount (optional): 5k" in s.out  # asked again, only that field
    assert "── hardno · DM with you ──" in s.out and "Added Initech" in s.out
    deal = s.deals()["Initech"]
    assert deal.amount == 5000 and deal.contact == "Bill" and deal.stage == "consensus"
    local = deal.next_meeting_at.astimezone(ZoneInfo("America/New_York"))
    assert (local.weekday(), local.hour, local.minute) == (3, 10, 0)  # "thu 10am" in your zone


def test_next_meeting_button_opens_a_modal_with_a_date_phrase(tmp_path):
    s = run_try(tmp_path, "/deal add Soylent\n:click next meeting\nyesterday\nin 3 days 11am\nCFO review\n")
    assert "which is in the past" in s.out  # refused, and asked again
    assert re.search(r"→ \w{3} \d+ \w{3} \d{4}, 11:00 E[SD]T", s.out)
    assert "Next meeting with Soylent" in s.out and "· updated ──" in s.out
    assert s.deals()["Soylent"].next_meeting_at is not None


def test_digest_after_moving_the_clock(tmp_path):
    # 7:00 in a week: before the digest hour, so the scheduler's own digest hasn't come yet
    later = f"{(started().astimezone(ZoneInfo('America/New_York')) + timedelta(days=8)):%Y-%m-%d} 07:00"
    script = ("/deal add Acme Corp $12k\n/deal maybe acme send me info\n/deal maybe acme not now\n"
              f":time {later}\n:digest\n:digest\n:time +1d\n:digest\n:click snooze until\nin 3 weeks\n:digest\n")
    s = run_try(tmp_path, script)
    assert "It is now" in s.after(f":time {later}")
    digest = s.after(":digest")
    assert "── hardno · DM with you ──" in digest and "Acme Corp" in digest
    assert "[22] Draft hard-no ask" in digest  # with buttons, numbered after the three cards' [1] to [21]
    assert "No digest for you" in s.after(":digest", 1)  # one per local day
    again = s.after(":digest", 2)  # the next day, again
    assert "Acme Corp" in again and re.search(r"\[\d+\] Snooze until… \(a date\)", again)
    snoozed = s.after(":click snooze until")  # a date picker, asked as a date phrase
    assert "Snooze until…: in 3 weeks" in snoozed and "DM with you · updated" in snoozed
    deal = s.deals()["Acme Corp"]
    assert deal.snoozed_until is not None and (deal.snoozed_until - deal.updated_at).days >= 20


@pytest.mark.parametrize("start", [START, SUMMER], ids=["today", "summer"])
def test_seed_then_digest_is_a_sensible_morning(tmp_path, start):
    now = started(start)
    s = run_try(tmp_path, ":seed\n:digest\n:click 1\n:seed\n:board\n", start=start)
    assert "Loaded 13 deals for you" in s.after(":seed")
    deals = s.deals()
    assert len(deals) == 13
    assert deals["Acme Corp"].maybe_count == 3  # repeated maybes
    assert deals["Globex"].touches_since_answer == 4  # silence after several tries
    assert deals["Hooli"].touch_count == 9  # effort beyond a small deal's worth
    assert deals["Initech"].next_meeting_at < now  # a meeting that passed
    assert deals["Umbrella Corp"].stage == "consensus" and deals["Umbrella Corp"].maybe_count == 1
    assert deals["Stark Industries"].next_meeting_at > now
    assert deals["Pied Piper"].maybe_count == 1  # added from chat
    closed = {d.company: d.status for d in deals.values() if d.status is not Status.OPEN}
    assert closed == {"Wayne Enterprises": Status.WON, "Cyberdyne": Status.NO, "Tyrell Corp": Status.DROPPED}
    assert all(d.created_at < d.updated_at for d in deals.values() if d.company != "Stark Industries")
    assert (now - deals["Hooli"].created_at).days >= 60  # histories go back weeks
    assert len(s.deals("U2")) == 4 and len(s.deals("U3")) == 3  # teammates, for the leaderboard
    assert "There are deals for you already" in s.after(":seed", 1)  # seeding twice leaves them alone
    board = s.after(":board")  # everyone's closings fall in this week, on any zone's board
    for name in ("Alex Rivera", "Dana Whitaker", "Ben Okafor"):
        assert re.search(rf"{name}\b.*closed out", board), board
    digest = s.after(":digest")
    assert "DM with you" in digest
    for company in ("Acme Corp", "Globex", "Initech"):
        assert company in digest, digest
    assert "[1]" in digest and "Traceback" not in s.after(":click 1")


def test_coach_draft_arrives_by_response_url_and_logs_as_sent(tmp_path):
    script = ("/deal add Acme Corp $12k contact:Jo Smith\n/deal maybe acme can you just email me some info\n"
              "/deal coach acme\n:click log as sent\n")
    s = run_try(tmp_path, script)
    draft = s.after("/deal coach acme")
    assert "only visible to you" in draft
    assert "Draft for Acme Corp" in draft and "Hi Jo" in draft and "Alex" in draft  # signed with your name
    assert "[15] Log as sent" in draft
    logged = s.after(":click log as sent")
    assert "updated" in logged and "Logged" in logged
    assert s.deals()["Acme Corp"].touch_count == 1  # the sent draft is an attempt awaiting an answer


def test_a_practice_drill_is_answered_in_its_thread_and_scored(tmp_path):
    answer = ":reply Happy to. Is this something you're actively trying to solve this quarter?"
    s = run_try(tmp_path, f"/deal practice send-info\n{answer}\n:reply Thanks!\n:home\n")
    drill = s.after("/deal practice send-info")
    assert "── hardno · DM with you ──" in drill and "“Can you just email me some information?”" in drill
    assert "Answer in this thread" in drill
    scored = s.after(answer)
    assert "── hardno · DM with you · in the thread ──" in scored and "I score your answer 4/6" in scored
    assert "What was missing" in scored and "❌ Welcomes a no" in scored and "A model answer" in scored
    assert "scored already" in s.after(":reply Thanks!")
    assert "Practice" in s.after(":home") and "4/6" in s.after(":home")


def test_board_is_posted_to_sales_with_everyone_who_closed_deals(tmp_path):
    script = ("/deal add Acme $5k\n/deal won acme\n:as dana\n/deal add Duff Beer\n/deal no duff no budget\n"
              ":as you\n:board\n:board year\n")
    s = run_try(tmp_path, script)
    board = s.after(":board")
    assert "── hardno · #sales ──" in board  # in the channel, for everyone
    assert "Alex Rivera" in board and "Dana Whitaker" in board
    assert "Which period?" in s.after(":board year")


def test_log_shortcut_opens_a_prefilled_form(tmp_path):
    s = run_try(tmp_path, "/deal add Acme Corp\n:log Acme said maybe again, try after Jan 15\n\n\n\n\n\n")
    form = s.after(":log Acme said maybe again, try after Jan 15")
    assert "── form · Log to a deal ──" in form
    assert "What happened [Maybe / not now / send info]:" in s.out  # the shortcut's guess, kept with Enter
    assert "Logged a maybe on Acme Corp" in s.out and "── hardno · DM with you ──" in s.out
    deal = s.deals()["Acme Corp"]
    assert deal.maybe_count == 1 and deal.snoozed_until is not None and deal.snoozed_until.month == 1


def test_time_moves_the_sandbox_clock_in_the_current_users_zone(tmp_path):
    s = run_try(tmp_path, ":time 2026-12-01 09:00\n:as ben\n:time +2h\n:time -1d\n:time 2026-12-24\n:time now\n")
    assert "It is now Tue 1 Dec 2026, 09:00 EST for you." in s.after(":time 2026-12-01 09:00")
    assert "Tue 1 Dec 2026, 15:00 CET" in s.after(":as ben")  # the same moment in Berlin
    assert "Tue 1 Dec 2026, 17:00 CET" in s.after(":time +2h")
    assert "Mon 30 Nov 2026, 17:00 CET" in s.after(":time -1d")
    assert "Thu 24 Dec 2026, 00:00 CET" in s.after(":time 2026-12-24")
    assert str(datetime.now(ZoneInfo("Europe/Berlin")).year) in s.after(":time now")


def test_bad_input_gets_a_hint_and_never_ends_the_session(tmp_path):
    script = (":nope\n:clck 1\n:click 3\n/foo bar\n:time whenever\n:as nobody\n/deal maybe nothing\n"
              "/deal add\n:cancel\n:cancel\n\n/deal list\n")
    s = run_try(tmp_path, script)
    assert "Unknown sandbox command “:nope”" in s.after(":nope")
    assert "Did you mean :click?" in s.after(":clck 1")
    assert "No message with buttons yet." in s.after(":click 3")
    assert "isn't a hardno command" in s.after("/foo bar")
    assert "can't read “whenever” as a time" in s.after(":time whenever")
    assert "There's no “nobody” here" in s.after(":as nobody")
    assert "No deal of yours matches" in s.after("/deal maybe nothing")
    assert "Closed the form; nothing was sent." in s.out
    assert "There is no open form to cancel." in s.after(":cancel")  # the form's own :cancel isn't a "> " line
    assert "Your deals (open)" in s.after("/deal list")  # still answering after all that
    assert s.deals() == {}


def test_the_sandbox_database_is_kept_until_fresh(tmp_path):
    run_try(tmp_path, "/deal add Zenith Labs\n")
    again = run_try(tmp_path, "/deal list\n", fresh=False)
    assert "Database" in again.out and "1 deal of yours." in again.out
    assert "Zenith Labs" in again.after("/deal list")
    fresh = run_try(tmp_path, "/deal list\n", fresh=True)
    assert "empty." in fresh.out and "Zenith" not in fresh.after("/deal list")


def test_help_and_home(tmp_path):
    s = run_try(tmp_path, ":help\n/deal add Acme $12k\n/deal maybe acme\n/deal maybe acme\n:home\n:quit\n/deal list\n")
    help_text = s.after(":help")
    for command in (":click N", ":digest", ":board", ":time +3d", ":as dana", ":seed", ":home", ":log", ":quit"):
        assert command in help_text
    home = s.after(":home")
    assert "── App Home · you ──" in home and "Your pipeline" in home and "Needs a decision (1)" in home
    assert "/deal list" not in [t for t, _ in s.turns]  # :quit ended the session before it


def test_bad_usage_exits_2_with_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "bot", "try", "--db", str(tmp_path / "no" / "such" / "x.db")],
                       input="", cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "doesn't exist" in r.stderr


# -- the renderer ----------------------------------------------------------------------------------------------

def md(text):
    return {"type": "mrkdwn", "text": text}


def pt(text):
    return {"type": "plain_text", "text": text, "emoji": True}


def button(label, action_id, value="1", style=None, url=None):
    b = {"type": "button", "text": pt(label), "action_id": action_id, "value": value}
    if style:
        b["style"] = style
    if url:
        b["url"] = url
    return b


def styles_of(text, word):
    """The styles applied to the first occurrence of `word` in a rich Text."""
    start = text.plain.index(word)
    return {str(s.style) for s in text.spans if s.start <= start < s.end} | ({str(text.style)} if text.style else set())


def test_mrkdwn_is_drawn_not_shown_raw():
    t = mrkdwn("*Acme* said _maybe_ ~yes~ `/deal coach #3` <https://x.example|the deck> <@U2> <#C1|sales> "
               "&lt;b&gt; &amp; :tada: :no_such_emoji:", names={"U2": "dana"})
    assert t.plain == ("Acme said maybe yes `/deal coach #3` the deck (https://x.example) @dana #sales "
                       "<b> & 🎉 :no_such_emoji:")
    assert "bold" in styles_of(t, "Acme") and "italic" in styles_of(t, "maybe")
    assert any("strike" in s for s in styles_of(t, "yes"))
    assert mrkdwn("a*b*c 2*3*4").plain == "a*b*c 2*3*4"  # not emphasis inside words


def test_header_section_fields_context_and_divider():
    r = render_blocks([
        {"type": "header", "text": pt("Acme Corp")},
        {"type": "section", "text": md("Logged a *maybe*.")},
        {"type": "section", "fields": [md("*Amount*\n$12,000"), md("*State*\nopen"),
                                       md("*Next meeting*\nnone booked"), md("*Age*\n3 days"), md("odd one")]},
        {"type": "context", "elements": [md("#3 · contact: Jo"), {"type": "image", "image_url": "https://x/i.png",
                                                                   "alt_text": "logo"}]},
        {"type": "divider"},
    ])
    lines = [line.plain for line in r.lines]
    assert lines[0] == "Acme Corp" and set(lines[1]) == {"━"} and len(lines[1]) == len("Acme Corp")
    assert lines[2] == "Logged a maybe."
    assert lines[3].startswith("Amount: $12,000") and lines[3].endswith("State: open")
    assert lines[3].index("State") == lines[4].index("Age")  # two columns
    assert lines[5] == "odd one"
    assert lines[6] == "#3 · contact: Jo  [image: logo]"
    assert lines[7] == "─" * 40
    assert r.buttons == [] and r.fields == []


def test_actions_and_accessory_buttons_are_numbered_across_the_message():
    r = render_blocks([
        {"type": "section", "text": md("Acme"), "accessory": button("Open", "open", "9"), "block_id": "s1"},
        {"type": "actions", "block_id": "deal:3", "elements": [
            button("Won", "deal:won", "3", "primary"), button("Drop", "deal:drop", "3", "danger"),
            button("Docs", "docs", url="https://docs.example")]},
        {"type": "actions", "elements": [button("Maybe", "deal:maybe", "3")]},
    ])
    assert [line.plain for line in r.lines] == [
        "Acme  [1] Open", "[2] Won  [3] Drop  [4] Docs (https://docs.example)", "[5] Maybe"]
    assert [(b.number, b.label, b.element["action_id"], b.block_id) for b in r.buttons] == [
        (1, "Open", "open", "s1"), (2, "Won", "deal:won", "deal:3"), (3, "Drop", "deal:drop", "deal:3"),
        (4, "Docs", "docs", "deal:3"), (5, "Maybe", "deal:maybe", "block2")]
    row = r.lines[1]
    assert any("green" in s for s in styles_of(row, "Won")) and any("red" in s for s in styles_of(row, "Drop"))


def test_date_pickers_and_menus_on_a_message_are_numbered_controls():
    r = render_blocks([{"type": "actions", "block_id": "dg:3:a", "elements": [
        button("Snooze 1 week", "digest:snooze", "3"),
        {"type": "datepicker", "action_id": "digest:snooze_until", "placeholder": pt("Snooze until…")},
        {"type": "overflow", "action_id": "more", "options": [{"text": pt("Edit"), "value": "e"},
                                                             {"text": pt("Delete"), "value": "d"}]},
        {"type": "static_select", "action_id": "stage", "placeholder": pt("Stage"),
         "options": [{"text": pt("Time"), "value": "time"}], "initial_option": {"text": pt("Time"), "value": "time"}},
    ]}])
    assert r.plain == ("[1] Snooze 1 week  [2] Snooze until… (a date)  [3] ⋯ (menu: Edit / Delete)  "
                       "[4] Stage (menu = Time: Time)")
    assert [(b.number, b.kind) for b in r.buttons] == [
        (1, "button"), (2, "datepicker"), (3, "overflow"), (4, "static_select")]


def test_inputs_of_a_modal_become_fields_with_their_current_values():
    epoch = int(datetime(2026, 12, 3, 15, tzinfo=UTC).timestamp())
    view = {"type": "modal", "title": pt("Log to a deal"), "submit": pt("Log"), "close": pt("Cancel"), "blocks": [
        {"type": "input", "block_id": "company", "label": pt("Company"),
         "element": {"type": "plain_text_input", "action_id": "v", "placeholder": pt("Acme Corp")}},
        {"type": "input", "block_id": "note", "label": pt("Note"), "optional": True,
         "element": {"type": "plain_text_input", "action_id": "v", "multiline": True, "initial_value": "hi\nthere"}},
        {"type": "input", "block_id": "kind", "label": pt("What happened"), "hint": pt("Pick one"),
         "element": {"type": "static_select", "action_id": "v",
                     "options": [{"text": pt("Maybe"), "value": "maybe"}, {"text": pt("Won"), "value": "won"}],
                     "initial_option": {"text": pt("Won"), "value": "won"}}},
        {"type": "input", "block_id": "when", "label": pt("When"), "optional": True,
         "element": {"type": "datetimepicker", "action_id": "v", "initial_date_time": epoch}},
    ]}
    r = render_view(view, tz="America/New_York")
    assert [line.plain for line in r.lines] == [
        "Log to a deal",
        "▸ Company: text, e.g. Acme Corp",
        "▸ Note (optional): text, several lines = hi there",
        "▸ What happened: one of: Maybe, Won = Won",
        "  Pick one",
        "▸ When (optional): a date and time = Thu 3 Dec 2026, 10:00 EST",
        "<Log>  <Cancel>",
    ]
    assert [(f.block_id, f.kind, f.optional) for f in r.fields] == [
        ("company", "plain_text_input", False), ("note", "plain_text_input", True),
        ("kind", "static_select", False), ("when", "datetimepicker", True)]
    state = view_state(view, {"company": "Globex", "kind": "maybe", "when": epoch})
    assert state == {
        "company": {"v": {"type": "plain_text_input", "value": "Globex"}},
        "note": {"v": {"type": "plain_text_input", "value": None}},
        "kind": {"v": {"type": "static_select", "selected_option": {"text": pt("Maybe"), "value": "maybe"}}},
        "when": {"v": {"type": "datetimepicker", "selected_date_time": epoch}},
    }


def test_no_blocks_falls_back_to_text_and_unknown_blocks_are_named():
    assert render_blocks([], "Sent *3* deals").plain == "Sent 3 deals"
    assert "[a mystery block the sandbox does not draw]" in render_blocks([{"type": "mystery"}]).plain


def test_everything_the_app_draws_renders_without_gaps():
    """The app's own Block Kit (cards, pickers, modals, Home) uses only element types the renderer draws."""
    from handlers import blocks as bk
    from handlers.deal_log import DealLog  # noqa: F401 - the module the Home view needs
    from handlers.domain.model import new_deal
    from handlers.domain.refs import Candidate
    from handlers.shortcuts import log_modal
    from handlers.views import add_deal_modal, meeting_modal
    now = datetime(2026, 11, 23, 15, tzinfo=UTC)
    deal, _ = new_deal("U1", "Acme & Sons", now, contact="Jo", stage="consensus")
    deal = deal.replace(id=3, maybe_count=2, last_maybe_note="send me info")
    surfaces = [
        render_blocks(bk.as_dicts(bk.deal_card(deal, "America/New_York", now, headline="Logged a *maybe*."))),
        render_blocks(bk.as_dicts(bk.pick_deal("Which one?", [("Acme (#1)", "7:1"), ("Acme Ltd (#2)", "7:2")], "pick"))),
        render_view(add_deal_modal("Globex")),
        render_view(meeting_modal(3, "Acme")),
        render_view(log_modal([Candidate(3, "Acme", True)], text="said maybe", deal_id=3)),
    ]
    for r in surfaces:
        assert "does not draw" not in r.plain and "[element]" not in r.plain
    card = surfaces[0]
    assert "Acme & Sons" in card.plain and "Maybes so far: 2" in card.plain
    assert [b.label for b in card.buttons][:6] == ["Maybe", "No answer", "Next meeting", "Won", "Hard no", "Drop"]
    assert [b.element["value"] for b in surfaces[1].buttons] == ["7:1", "7:2"]
    assert [f.block_id for f in surfaces[2].fields] == ["company", "amount", "next", "contact", "stage", "note"]
    assert {f.kind for f in surfaces[4].fields} >= {"static_select", "plain_text_input", "datetimepicker"}


def test_time_arguments():
    now = datetime(2026, 11, 23, 15, tzinfo=UTC)
    ny = "America/New_York"
    assert parse_time("+3d", ny, now) == datetime(2026, 11, 26, 15, tzinfo=UTC)
    assert parse_time("-2h", ny, now) == datetime(2026, 11, 23, 13, tzinfo=UTC)
    assert parse_time("+1d 2h30m", ny, now) == datetime(2026, 11, 24, 17, 30, tzinfo=UTC)
    assert parse_time("2026-12-01 09:00", ny, now) == datetime(2026, 12, 1, 9, tzinfo=ZoneInfo(ny))
    assert parse_time("2026-12-01", ny, now) == datetime(2026, 12, 1, tzinfo=ZoneInfo(ny))
    assert parse_time("next monday 9am", ny, now) == datetime(2026, 11, 30, 9, tzinfo=ZoneInfo(ny))
    with pytest.raises(ValueError, match="can't read"):
        parse_time("whenever", ny, now)


# -- the driver the sandbox shares with the tests -----------------------------------------------------------

def test_settle_waits_until_the_app_has_answered(slack, fake):
    """Bolt acks first and answers from a worker thread; `settle` returns once that thread is done."""
    before = len(fake.calls_to("response_url"))
    r = slack.command("list")
    assert r.status == 200
    assert slack.settle(10) is True
    assert len(fake.calls_to("response_url")) == before + 1  # no waiting on the fake needed


# -- button numbers, the README's walkthrough, time, Ctrl-C ---------------------------------------------------

def buttons(shown: str) -> dict[str, int]:
    """Label -> number of the buttons drawn in `shown` (the last one wins for a repeated label)."""
    return {label.strip(): int(n) for n, label in re.findall(r"\[(\d+)\] ([^\[\n]+?)(?=  \[|\n|$)", shown)}


def test_button_numbers_stay_put_after_clicks_and_later_messages(tmp_path):
    later = f"{(started().astimezone(ZoneInfo('America/New_York')) + timedelta(days=8)):%Y-%m-%d} 07:00"
    script = ("/deal add Acme Corp $12k\n/deal maybe acme send me info\n/deal add Hooli $4k\n"
              f"/deal maybe hooli not now\n:time {later}\n:digest\n/deal coach acme\n")
    first = run_try(tmp_path, script)
    digest = first.after(":digest")
    assert "Acme Corp" in digest and "Hooli" in digest, digest
    numbers = re.findall(r"\[(\d+)\] Won", digest)
    assert len(numbers) == 2
    acme_won, hooli_snooze = numbers[0], re.findall(r"\[(\d+)\] Snooze 1 week", digest)[1]
    draft = first.after("/deal coach acme")
    assert "Draft for Acme Corp" in draft and f"[{acme_won}]" not in draft  # new messages, new numbers
    # the digest is still clickable below the draft, and a click leaves the other numbers as they were
    s = run_try(tmp_path, script + f":click {acme_won}\n:click {hooli_snooze}\n")
    won = s.after(f":click {acme_won}")
    assert "DM with you · updated" in won and f"[{hooli_snooze}] Snooze 1 week" in won, won
    snoozed = s.after(f":click {hooli_snooze}")
    assert "DM with you · updated" in snoozed and "That didn't work" not in snoozed
    deals = s.deals()
    assert deals["Acme Corp"].status is Status.WON
    assert deals["Hooli"].status is Status.OPEN and deals["Hooli"].snoozed_until is not None


def readme_walkthrough() -> list[tuple[str, str]]:
    """The `> ` lines of the README's `hardno try` walkthrough and what the README shows after each."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Try it without Slack", 1)[1].split("\n## ", 1)[0]
    turns: list[tuple[str, str]] = []
    for block in re.findall(r"```text\n(.*?)```", section, re.S):
        current, lines = None, []
        for line in block.splitlines():
            if line.startswith("> "):
                if current is not None:
                    turns.append((current, "\n".join(lines)))
                current, lines = line[2:], []
            elif current is not None:
                lines.append(line)
        if current is not None:
            turns.append((current, "\n".join(lines)))
    return turns


def _shape(shown: str) -> list[str]:
    """What must match the README exactly: where each message went, and its buttons with their numbers."""
    return [line for line in shown.splitlines() if line.startswith("── ") or re.match(r"\[\d+\] ", line)]


def test_the_readme_walkthrough_runs_as_printed(tmp_path):
    turns = readme_walkthrough()
    assert [typed for typed, _ in turns][:3] == ["/deal add Acme Corp $12k next:friday 2pm contact:Jo Smith",
                                                   "Globex said send me info", ":click 8"]
    assert ":seed" in [typed for typed, _ in turns]
    s = run_try(tmp_path, "".join(typed + "\n" for typed, _ in turns))
    for n, (typed, printed) in enumerate(turns):
        shown = s.after(typed, [t for t, _ in turns[:n]].count(typed))
        assert _shape(shown) == _shape(printed), (typed, shown)
        for line in printed.splitlines():  # the sandbox's own lines, minus the times of day
            if line.startswith(("Loaded ", "There are deals")):
                assert line in shown, (typed, shown)
    assert "There are deals for you already" not in s.out


def test_moving_time_delivers_what_serve_would_have_delivered(tmp_path):
    script = ("/deal add Acme Corp $12k\n/deal maybe acme send me info\n/deal maybe acme not now\n"
              ":time +8d\n:time next monday 8:55am\n:time +10m\n:time +10m\n"
              "/deal settings board live on\n/deal add Zeta $5k\n/deal won zeta\n:time +3m\n")
    s = run_try(tmp_path, script)
    assert "── hardno" not in s.after(":time next monday 8:55am")  # not 9:00 yet: nothing due
    due = s.after(":time +10m")  # 9:05 on a Monday: the digest, and #sales's weekly board
    assert "── hardno · DM with you ──" in due and "Acme Corp" in due and "[" in due
    assert "── hardno · #sales ──" in due and "Decisions · week of" in due
    assert "── hardno" not in s.after(":time +10m", 1)  # each once, as the scheduler's claims guarantee
    kudos = s.after(":time +3m")
    assert "── hardno · #sales ──" in kudos and "Zeta" not in kudos.split("── hardno · #sales ──")[0]
    assert "Alex Rivera" in kudos, kudos


def test_ctrl_c_in_a_form_cancels_the_form(tmp_path):
    """On a terminal (a pty, as a person types), Ctrl-C at a form field closes the form, sends nothing and
    leaves the session running."""
    import pty
    import select
    import time as _time
    db = tmp_path / "sandbox.db"
    pid, fd = pty.fork()
    if pid == 0:  # the child: the sandbox on the pty
        os.chdir(tmp_path)
        os.execve(sys.executable, [sys.executable, "-m", "bot", "try", "--fresh", "--db", str(db)],
                  {**clean_env(), "TERM": "dumb", "NO_COLOR": "1"})
    seen = b""

    def read_until(marker: bytes, timeout: float = 60) -> bytes:
        nonlocal seen
        deadline = _time.monotonic() + timeout
        while marker not in seen:
            left = deadline - _time.monotonic()
            assert left > 0, f"waited for {marker!r}; got {seen[-1500:]!r}"
            if select.select([fd], [], [], left)[0]:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    break
        return seen

    try:
        read_until(b"you> ")
        os.write(fd, b"/deal add\r")
        read_until(b"Company")
        _time.sleep(0.5)
        os.write(fd, b"\x03")  # Ctrl-C
        read_until(b"Closed the form; nothing was sent.")
        os.write(fd, b"/deal list\r")
        read_until(b"Your deals")
        os.write(fd, b":quit\r")
        read_until(b"Bye.")
        for _ in range(100):  # let it exit before the pty closes (closing it would hang it up)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            _time.sleep(0.1)
        else:
            raise AssertionError("the sandbox did not exit after :quit")
    finally:
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert b"Traceback" not in seen


def test_the_driver_refuses_a_bolt_without_its_listener_executor(slack):
    """`settle` is what every "nothing else was posted" check waits on: a Bolt that moved its private
    executor must fail loudly, not make every such check pass without waiting."""
    from types import SimpleNamespace

    from bot.driver import bolt_listener_executor
    assert bolt_listener_executor(slack.app) is slack.app._listener_runner.listener_executor
    for app in (SimpleNamespace(), SimpleNamespace(_listener_runner=SimpleNamespace())):
        with pytest.raises(RuntimeError, match="listener_executor is gone"):
            bolt_listener_executor(app)


def test_moving_time_never_syncs_the_sandbox_with_a_real_crm(tmp_path):
    """`serve` with HUBSPOT_ACCESS_TOKEN syncs with HubSpot; the sandbox's jobs leave that one out, whatever
    the environment says (here a HubSpot that refuses connections: a sync would say it failed)."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    s = run_try(tmp_path, "/deal add Acme Corp $12k\n:time +20m\n",
                env={"HUBSPOT_ACCESS_TOKEN": "pat-test", "HUBSPOT_API_URL": f"http://127.0.0.1:{port}"})
    assert "crm" not in s.err.lower() and "hubspot" not in (s.err + s.out).lower(), s.err


def test_a_streamed_draft_shows_as_it_arrives_then_as_the_finished_message(tmp_path, fake_ai):
    fake_ai.stream_delay(0.01)
    s = run_try(tmp_path, "/deal add Acme Corp $12k contact:Jo Smith\ndraft an ask for Acme\n",
                env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake_ai.base_url})
    shown = s.after("draft an ask for Acme")
    assert "── hardno · DM with you · writing… ──" in shown
    live, _, final = shown.partition("── hardno · DM with you · updated ──")
    assert "Hi Jo," in live and "a clear no is completely fine" in live  # the words as they streamed
    assert "Draft for Acme Corp: a hard-no ask." in final and "[" in final and "Log as sent" in final
    assert "Rate it:" in final and fake_ai.requests[-1]["stream"] is True
