"""The coach through Slack: signed requests to the real app, the fake Slack on loopback, and FakeOpenAI
for the LLM path. Every test runs on SQLite and PostgreSQL; the `fake` fixture fails a test whose
Block Kit Slack would reject."""

from __future__ import annotations

import json
import threading
import time

import pytest

from bot.fakeopenai import default_content
from handlers import coaching
from handlers.coach import Coach, LLMConfig
from handlers.domain.drafts import Draft, DraftKind, Situation
from handlers.domain.model import Kind, Source
from tests.coach_situations import rubric
from tests.test_deal_command import buttons, mrkdwn, texts

REP_NAME, REP_TZ = "Dana Scully", "America/New_York"  # U1 in tests/harness.people (its real name)
DRAFT_BUTTONS = {"Log as sent", "Shorter", "Warmer", "More direct", "Edit & log"}


@pytest.fixture
def llm_slack(store, clock, fake, fake_ai):
    """The app with a coach that asks FakeOpenAI first (no retries, so failures fall back at once),
    plus a "draft an ask" button wired the way the nudger's digest wires its own."""
    from tests.harness import SlackDriver
    coach = Coach(LLMConfig(api_key="sk-test", base_url=fake_ai.base_url, model="test-model",
                            timeout=15, max_retries=0))
    driver = SlackDriver(store, clock, fake, coach=coach)
    driver.app.action("test:draft_ask")(coaching.on_draft_button("ask"))
    yield driver
    driver.close()


# -- reading replies -----------------------------------------------------------

def plain_sections(reply: dict) -> list[str]:
    """Texts of the plain_text sections: the draft (and its subject line), exactly as the rep copies them."""
    return [b["text"]["text"] for b in reply.get("blocks") or []
            if b.get("type") == "section" and (b.get("text") or {}).get("type") == "plain_text"]


def draft_text(reply: dict) -> str:
    [text] = [t for t in plain_sections(reply) if not t.startswith("Subject: ")]
    return text


def subject_line(reply: dict) -> str | None:
    found = [t.removeprefix("Subject: ") for t in plain_sections(reply) if t.startswith("Subject: ")]
    return found[0] if found else None


def why_line(reply: dict) -> str:
    """The "why it works" line as the rep reads it (mrkdwn escaping undone)."""
    for block in reply.get("blocks") or []:
        for el in block.get("elements", []) if block.get("type") == "context" else []:
            if el.get("text", "").startswith("*Why it works:* "):
                text = el["text"].removeprefix("*Why it works:* ").replace("\u200b", "")
                return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    raise AssertionError("no why line")


def situation_of(store, clock, deal_id: int, user: str = "U1") -> Situation:
    with store.tx() as tx:
        deal, history = tx.deal(user, deal_id), tx.history(user, deal_id)
    return Situation(deal=deal, history=tuple(history), rep_name=REP_NAME, tz=REP_TZ, now=clock.now())


def passes_rubric(reply: dict, kind: DraftKind, store, clock, deal_id: int) -> None:
    d = Draft(kind=kind, text=draft_text(reply), why=why_line(reply), subject=subject_line(reply))
    assert rubric(d, situation_of(store, clock, deal_id)) == [], draft_text(reply)


def only_deal(store, user: str = "U1"):
    with store.tx() as tx:
        [deal] = tx.deals(user)
    return deal


def history(store, deal_id: int, user: str = "U1"):
    with store.tx() as tx:
        return tx.history(user, deal_id)


def add(slack, store, text: str, user: str = "U1"):
    slack.deal(f"add {text}", user=user)
    with store.tx() as tx:
        return max(tx.deals(user), key=lambda d: d.id)


def wait_until(predicate, timeout: float = 10.0) -> None:
    """Poll for something another thread does (not a timing assertion: only a bound on a hang)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


# -- /deal coach ---------------------------------------------------------------

def test_coach_without_a_kind_picks_one_says_why_and_passes_the_rubric(slack, store, clock):
    deal = add(slack, store, "Acme Corp $12k contact:Jo Smith")
    slack.deal("maybe acme we need to think about it")
    slack.deal("maybe acme still thinking")
    reply = slack.deal("coach acme")
    assert reply["response_type"] == "ephemeral"
    shown = texts(reply)
    assert "Acme Corp" in shown and "hard-no ask" in shown
    assert "Why this kind:" in shown and "2 maybes so far" in shown
    assert set(buttons(reply)) == DRAFT_BUTTONS
    assert "Drafted from a template" not in shown  # no LLM configured: templates are the normal path
    text = draft_text(reply)
    assert text.startswith("Hi Jo,") and text.rstrip().endswith("Dana")  # signed with the rep's name
    passes_rubric(reply, DraftKind.ASK, store, clock, deal.id)
    assert all(len(v) <= 2000 and str(deal.id) in v for _, v in buttons(reply).values())


@pytest.mark.parametrize("kind,label", [("ask", "hard-no ask"), ("meeting", "next-meeting request"),
                                        ("breakup", "last-try message"), ("hardno", "hard-no ask"),
                                        ("last", "last-try message")])
def test_each_kind_on_request(slack, store, clock, kind, label):
    deal = add(slack, store, "Globex 5000 contact:Hank Scorpio stage:consensus")
    for _ in range(5):
        slack.deal("touch globex emailed, no reply")
    reply = slack.deal(f"coach globex {kind}")
    assert f"a {label}." in texts(reply) and "Why this kind" not in texts(reply)
    want = {"ask": DraftKind.ASK, "hardno": DraftKind.ASK, "meeting": DraftKind.MEETING}.get(kind, DraftKind.BREAKUP)
    passes_rubric(reply, want, store, clock, deal.id)
    assert subject_line(reply)  # the last touch was an email: the draft comes with a subject line


def test_a_brush_off_gets_an_objection_reply(slack, store, clock):
    deal = add(slack, store, "Initech")
    slack.deal("maybe initech just email me some information")
    reply = slack.deal("coach initech")
    assert "reply to their brush-off" in texts(reply) and "common brush-off" in texts(reply)
    passes_rubric(reply, DraftKind.OBJECTION, store, clock, deal.id)


def test_coach_names_matching_several_deals_asks_which_then_drafts_in_place(slack, store, fake):
    add(slack, store, "Acme East")
    west = add(slack, store, "Acme West")
    picker = slack.deal("coach acme meeting")
    assert "matches 2 of your deals" in texts(picker)
    action_id, value = next(v for k, v in buttons(picker).items() if "Acme West" in k)
    reply = slack.press(action_id, value)
    assert reply["replace_original"] is True  # the draft takes the picker's place
    assert "Acme West" in texts(reply) and "next-meeting request" in texts(reply)
    assert f":{west.id}:meeting:" in buttons(reply)["Log as sent"][1]


def test_unknown_deal_and_closed_deal(slack, store):
    assert "No deal of yours matches" in texts(slack.deal("coach nobody"))
    add(slack, store, "Hooli")
    slack.deal("won hooli")
    assert "already closed out" in texts(slack.deal("coach hooli"))


# -- the draft's buttons -------------------------------------------------------

def test_log_as_sent_records_the_ask_and_pauses_the_nudger(slack, store, clock):
    deal = add(slack, store, "Acme contact:Jo")
    slack.deal("maybe acme next quarter maybe")
    draft = slack.deal("coach acme ask")
    sent = draft_text(draft)
    assert only_deal(store).asked_at is None
    logged = slack.press(*buttons(draft)["Log as sent"])
    assert logged["replace_original"] is True
    assert "Logged your decision ask to *Acme*" in texts(logged)
    assert sent in plain_sections(logged)  # the text stays on screen, minus the draft buttons
    assert "Log as sent" not in buttons(logged) and "Won" in buttons(logged)  # the deal card's buttons
    last = history(store, deal.id)[-1]
    assert (last.kind, last.text, last.source) == (Kind.ASK, sent, Source.COACH)
    assert only_deal(store).asked_at == clock.now()
    again = slack.press(*buttons(draft)["Log as sent"])  # a double click logs once
    assert "already logged" in again["text"] and again["replace_original"] is False
    assert [a.kind for a in history(store, deal.id)].count(Kind.ASK) == 1


@pytest.mark.parametrize("kind", ["meeting", "breakup"])
def test_log_as_sent_records_other_drafts_as_a_touch(slack, store, kind):
    deal = add(slack, store, "Umbrella")
    draft = slack.deal(f"coach umbrella {kind}")
    slack.press(*buttons(draft)["Log as sent"])
    last = history(store, deal.id)[-1]
    assert (last.kind, last.text, last.source) == (Kind.TOUCH, draft_text(draft), Source.COACH)
    assert only_deal(store).asked_at is None


def test_a_sent_email_draft_is_logged_with_its_subject(slack, store):
    deal = add(slack, store, "Stark Industries")
    slack.deal("touch stark sent an email")
    draft = slack.deal("coach stark ask")
    subject = subject_line(draft)
    assert subject
    slack.press(*buttons(draft)["Log as sent"])
    assert history(store, deal.id)[-1].text == f"Email · Subject: {subject}\n\n{draft_text(draft)}"


@pytest.mark.parametrize("label,tone", [("Shorter", "shorter"), ("Warmer", "warmer"),
                                        ("More direct", "more direct")])
def test_tone_buttons_redraft_in_place(slack, store, clock, label, tone):
    deal = add(slack, store, "Wayne Enterprises contact:Lucius Fox")
    slack.deal("maybe wayne let me check with the board")
    first = slack.deal("coach wayne ask")
    again = slack.press(*buttons(first)[label])
    assert again["replace_original"] is True
    assert f"({tone})" in texts(again) and draft_text(again) != draft_text(first)
    passes_rubric(again, DraftKind.ASK, store, clock, deal.id)
    if label == "Shorter":
        assert len(draft_text(again).split()) < len(draft_text(first).split())
    # same template variant, new tone: the button value carries it
    assert buttons(again)["Log as sent"][1].split(":")[2:] == ["ask", tone.replace("more ", ""),
                                                               buttons(first)["Log as sent"][1].split(":")[4]]
    stale = slack.press(*buttons(first)["Log as sent"])  # the replaced draft can't be logged any more
    assert "replaced by a newer one" in stale["text"]
    slack.press(*buttons(again)["Log as sent"])
    assert history(store, deal.id)[-1].text == draft_text(again)


def test_edit_and_log_opens_the_text_and_logs_the_edited_version(slack, store, fake):
    deal = add(slack, store, "Cyberdyne contact:Miles")
    draft = slack.deal("coach cyberdyne ask")
    action_id, value = buttons(draft)["Edit & log"]
    assert slack.click(action_id, value).status == 200
    [opened] = fake.wait_for("views.open")
    view = opened.params["view"]
    assert view["callback_id"] == "coach_edit"
    [field] = [b for b in view["blocks"] if b.get("block_id") == "text"]
    assert field["element"]["initial_value"] == draft_text(draft)
    empty = slack.submit("coach_edit", {"text": "  "}, private_metadata=view["private_metadata"])
    assert "text" in json.loads(empty.body)["errors"]
    edited = "Hi Miles,\n\nShall we go ahead with Cyberdyne? A no is completely fine too.\n\nDana"
    before = len(fake.calls_to("response_url"))
    assert slack.submit("coach_edit", {"text": edited}, private_metadata=view["private_metadata"]).status == 200
    shown = fake.wait_for("response_url", count=before + 1)[before].params
    assert shown["replace_original"] is True and edited in plain_sections(shown)
    last = history(store, deal.id)[-1]
    assert (last.kind, last.text, last.source) == (Kind.ASK, edited, Source.COACH)
    twice = slack.submit("coach_edit", {"text": edited}, private_metadata=view["private_metadata"])
    assert "already logged" in json.loads(twice.body)["errors"]["text"]
    assert [a.kind for a in history(store, deal.id)].count(Kind.ASK) == 1


# -- entry points: the card button, the nudger's function, the App Home ----------

def test_coach_me_on_a_deal_card_follows_up_with_a_draft(slack, store, clock):
    card = slack.deal("add Soylent contact:Sol")
    draft = slack.press(*buttons(card)["Coach me"])
    assert draft["replace_original"] is False and draft["response_type"] == "ephemeral"  # the card stays
    assert "Soylent" in texts(draft) and "Why this kind" in texts(draft)
    passes_rubric(draft, DraftKind.ASK, store, clock, only_deal(store).id)


def test_the_nudgers_draft_buttons_reuse_send_draft(slack, store, clock):
    slack.app.action("test:draft_meeting")(coaching.on_draft_button("meeting"))
    deal = add(slack, store, "Tyrell")
    draft = slack.press("test:draft_meeting", str(deal.id))
    assert "next-meeting request" in texts(draft) and draft["replace_original"] is False
    passes_rubric(draft, DraftKind.MEETING, store, clock, deal.id)


def test_a_button_without_a_message_sends_the_draft_as_a_dm(slack, store, fake):
    deal = add(slack, store, "Massive Dynamic")
    assert slack.click("deal:coach", str(deal.id), container="view").status == 200
    [dm] = fake.wait_for("chat.postMessage")
    assert dm.params["channel"].startswith("D") and "Massive Dynamic" in texts(dm.params)
    assert set(buttons(dm.params)) == DRAFT_BUTTONS


# -- privacy -------------------------------------------------------------------

def test_someone_elses_deal_or_draft_is_not_yours(slack, store, fake):
    theirs = add(slack, store, "Secret Co contact:Eve", user="U2")
    mine = add(slack, store, "Acme")
    draft = slack.deal("coach acme ask")
    assert "No deal of yours matches" in texts(slack.deal("coach secret", user="U1"))
    assert "No deal of yours matches" in texts(slack.deal(f"coach #{theirs.id}", user="U1"))
    nosy = slack.press("deal:coach", str(theirs.id), user="U1")
    assert "isn't one of yours" in nosy["text"] and nosy["replace_original"] is False
    assert nosy["response_type"] == "ephemeral" and "Secret" not in texts(nosy)
    for label in ("Log as sent", "Shorter"):
        other = slack.press(*buttons(draft)[label], user="U2")
        assert "isn't one of yours" in other["text"] and other["replace_original"] is False
    edit = slack.press(*buttons(draft)["Edit & log"], user="U2")
    assert "isn't one of yours" in edit["text"] and fake.calls_to("views.open") == []
    assert [a.kind for a in history(store, mine.id)] == [Kind.ADDED]
    assert [a.kind for a in history(store, theirs.id, user="U2")] == [Kind.ADDED]


# -- the LLM path --------------------------------------------------------------

@pytest.mark.parametrize("via", ["command", "button"])
def test_llm_draft_arrives_after_the_ack_even_when_the_model_is_slow(llm_slack, store, clock, fake, fake_ai, via):
    deal = add(llm_slack, store, "Acme Corp contact:Jo Smith")
    add(llm_slack, store, "Other Secret Deal")
    gate = threading.Event()
    fake_ai.reply(lambda req: (gate.wait(10), default_content(req))[1])  # the model answers when we say so
    before = len(fake.calls_to("response_url"))
    r = (llm_slack.command("coach acme ask") if via == "command" else
         llm_slack.click("test:draft_ask", str(deal.id)))
    assert r.status == 200 and r.body == ""  # acked while the model has not answered
    wait_until(lambda: len(fake_ai.requests) == 1)
    assert len(fake.calls_to("response_url")) == before  # nothing drafted yet
    gate.set()
    reply = fake.wait_for("response_url", count=before + 1, timeout=15)[before].params
    assert "Acme Corp" in draft_text(reply) and "Drafted from a template" not in texts(reply)
    assert "settle whether Acme Corp wants to go ahead" in draft_text(reply)  # FakeOpenAI's wording
    passes_rubric(reply, DraftKind.ASK, store, clock, deal.id)
    prompt = "\n".join(m["content"] for m in fake_ai.requests[0]["messages"])
    assert "Acme Corp" in prompt and "Dana" in prompt and "Other Secret Deal" not in prompt
    assert fake_ai.requests[0]["model"] == "test-model"


@pytest.mark.parametrize("failure", ["http500", "refusal", "garbage"])
def test_llm_failure_falls_back_to_a_template_with_a_context_line(llm_slack, store, clock, fake_ai, failure):
    deal = add(llm_slack, store, "Globex contact:Hank")
    {"http500": lambda: fake_ai.fail(500, times=5), "refusal": fake_ai.refuse,
     "garbage": fake_ai.garbage}[failure]()
    reply = llm_slack.deal("coach globex breakup")
    assert "Drafted from a template" in texts(reply) and set(buttons(reply)) == DRAFT_BUTTONS
    passes_rubric(reply, DraftKind.BREAKUP, store, clock, deal.id)
    assert len(fake_ai.requests) >= 1


def test_llm_redraft_sends_the_tone_and_logs_the_llm_text(llm_slack, store, fake_ai):
    deal = add(llm_slack, store, "Hooli contact:Gavin")
    first = llm_slack.deal("coach hooli ask")
    shorter = llm_slack.press(*buttons(first)["Shorter"])
    assert "(shorter)" in texts(shorter)
    assert "under 50 words" in fake_ai.requests[-1]["messages"][-1]["content"]
    llm_slack.press(*buttons(shorter)["Log as sent"])
    assert history(store, deal.id)[-1].text == draft_text(shorter)


def test_openai_settings_turn_the_llm_on(store, clock, fake, fake_ai):
    from tests.harness import SlackDriver
    driver = SlackDriver(store, clock, fake, openai_api_key="sk-from-settings", openai_base_url=fake_ai.base_url,
                         openai_model="local-model")
    try:
        add(driver, store, "Initech")
        reply = driver.deal("coach initech meeting")
        assert "Drafted from a template" not in texts(reply)
        [req] = fake_ai.requests
        assert req["model"] == "local-model"
        headers = {k.lower(): v for k, v in fake_ai.calls[0]["headers"].items()}
        assert headers["authorization"] == "Bearer sk-from-settings"
    finally:
        driver.close()


# -- Slack's limits ------------------------------------------------------------

def test_long_names_stay_within_slacks_limits(slack, store):
    long_name = "Ünïcødé Grössé Holdings " + "X" * 170
    add(slack, store, f'"{long_name}" contact:{"Y" * 80}')
    draft = slack.deal("coach ünïcødé ask")
    assert all(len(v) <= 2000 for _, v in buttons(draft).values())
    assert all(len(t) <= 3000 for t in plain_sections(draft))
    # the `fake` fixture fails the test if any of these messages broke a Block Kit rule


# -- no live markup ------------------------------------------------------------

@pytest.mark.parametrize("company", ["<!channel>", "Foo & <@U1>", "<https://evil.example|Acme>"])
def test_a_drafts_fallback_text_never_pings_or_links_the_company_name(slack, store, company):
    deal = add(slack, store, f'"{company}" $5k')
    for reply in (slack.deal(f"coach #{deal.id}"), slack.deal(f"coach #{deal.id} meeting")):
        assert "Draft" in reply["text"]
        assert "<" not in reply["text"] and "&lt;" in reply["text"], reply["text"]
        assert all("<!" not in t and "<@" not in t and "<http" not in t for t in [reply["text"], *mrkdwn(reply)])


# -- what the coach knows ------------------------------------------------------

def test_the_coach_counts_one_try_as_once(slack, store):
    add(slack, store, "Acme $5k contact:Jo Smith")
    slack.deal("touch acme called, no answer")
    for kind in ("breakup", "ask"):
        text = draft_text(slack.deal(f"coach acme {kind}"))
        assert "once" in text and "a few times" not in text, text


def test_a_meeting_draft_knows_the_meeting_already_booked(slack, store):
    add(slack, store, "Acme $5k contact:Jo Smith")
    slack.deal("meet acme thu 26 nov 3pm")
    text = draft_text(slack.deal("coach acme meeting"))
    assert "Thu 26 Nov" in text, text  # named, and the options come after it
    assert "Fri 27 Nov at 10:00 or Mon 30 Nov at 14:00 (EST)" in text, text


def test_a_date_in_the_reps_note_beats_the_templates_guess(slack, store):
    add(slack, store, "Acme $5k contact:Jo Smith")
    slack.deal("maybe acme try me again after jan 15")
    objection = draft_text(slack.deal("coach acme"))
    assert "15 Jan" in objection and "January" not in objection, objection
    meeting = draft_text(slack.deal("coach acme meeting"))
    assert "Fri 15 Jan at 10:00 or Mon 18 Jan at 14:00 (EST)" in meeting, meeting
