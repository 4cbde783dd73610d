"""Chat read by the LLM (the fake OpenAI server on loopback), end to end through signed events, and the
corpus figures of the LLM path: a fake model answering the corpus's labels, with realistic failures
(`bench.chat_corpus.labelled_model`)."""

from __future__ import annotations

import json

import pytest

from bench.chat_corpus import labelled_model, load, reading, score, shown
from handlers.chat_reader import ChatReader, reader_for
from handlers.coach import Coach, LLMConfig
from handlers.domain.model import Kind
from tests.harness import SlackDriver
from tests.test_chat_and_events import dm_reply, press_in_dm
from tests.test_deal_command import buttons, deals_of, texts

# The LLM path's figure against the fake model below (README); a change that reads fewer right fails.
LLM_FAKE_RIGHT = 330  # of 331




@pytest.fixture
def slack_llm(store, clock, fake, fake_ai):
    """The real app with OPENAI_API_KEY set, its model the fake OpenAI server."""
    driver = SlackDriver(store, clock, fake, openai_api_key="sk-test", openai_base_url=fake_ai.base_url)
    yield driver
    driver.close()


def test_the_model_reads_the_line_and_the_rep_confirms(slack_llm, store, fake, fake_ai):
    slack_llm.deal("add Tyrell Corp")
    slack_llm.deal("add Secret Deal Co", user="U2")  # another rep's deal: never in U1's prompt
    fake_ai.reply(lambda req: reading({"kind": "won", "company": "Tyrell Corp"}))
    reply = dm_reply(slack_llm, fake, "tyrell accepted our quote")  # the rules read this as a note
    [tyrell] = deals_of(store)
    assert f"*Won* on *Tyrell Corp* (#{tyrell.id})" in texts(reply)
    assert deals_of(store)[0].status.value == "open"  # nothing saved before the click
    [req] = fake_ai.requests
    prompt = req["messages"][-1]["content"]
    assert "<chat_line>tyrell accepted our quote</chat_line>" in prompt and '["Tyrell Corp"]' in prompt
    assert "Secret" not in json.dumps(req) and "America/New_York" in prompt
    fmt = req["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    press_in_dm(slack_llm, reply, "Log it")
    assert deals_of(store)[0].status.value == "won"


@pytest.mark.parametrize("misbehave", ["error", "refusal", "garbage", "stranger", "bad date"])
def test_a_failing_or_untrusted_model_falls_back_to_the_rules_silently(slack_llm, store, fake, fake_ai, misbehave):
    slack_llm.deal("add Globex")
    if misbehave == "error":
        fake_ai.fail(500, times=5)
    elif misbehave == "refusal":
        fake_ai.refuse()
    elif misbehave == "garbage":
        fake_ai.garbage()
    elif misbehave == "stranger":  # a company neither the rep's nor in the line
        fake_ai.reply(lambda req: reading({"kind": "won", "company": "Contoso"}))
    else:
        fake_ai.reply(lambda req: reading({"kind": "maybe", "company": "Globex", "date": "after new year"}))
    reply = dm_reply(slack_llm, fake, "Globex said maybe, try after Jan 15")
    shown_text = texts(reply)
    assert "*Maybe* on *Globex*" in shown_text and "Fri 15 Jan" in shown_text
    assert "Contoso" not in shown_text and "sorry" not in shown_text.lower()
    assert fake_ai.requests  # the model was asked


def test_a_slow_model_falls_back_within_the_timeout(store, clock, fake, fake_ai):
    coach = Coach(LLMConfig(api_key="sk-test", base_url=fake_ai.base_url, timeout=0.3, max_retries=0))
    driver = SlackDriver(store, clock, fake, coach=coach)
    try:
        driver.deal("add Globex")
        fake_ai.delay(3.0)
        r = driver.dm("Globex signed!")
        assert r.status == 200 and r.seconds < 0.3  # the ack comes first, before the model is asked
        [reply] = fake.wait_for("chat.postMessage", count=1)
        assert "*Won* on *Globex*" in texts(reply.params)
    finally:
        fake_ai.delay(0)
        driver.close()


def test_the_model_path_asks_which_for_a_shared_name_and_offers_new_companies(slack_llm, store, fake, fake_ai):
    slack_llm.deal("add Acme Corp")
    slack_llm.deal("add Acme Labs")
    fake_ai.reply(lambda req: reading({"kind": "maybe", "company": "Acme Corp", "date": "2027-01-15"}))
    reply = dm_reply(slack_llm, fake, "Acme said call me after Jan 15")
    assert "which deal?" in texts(reply) and "A new deal" in buttons(reply)
    fake_ai.reply(lambda req: reading({"kind": "no", "company": "Oscorp"}))
    reply = dm_reply(slack_llm, fake, "lost oscorp, they went elsewhere")
    assert "*Hard no* on *Oscorp*" in texts(reply) and "Add as new deal" in buttons(reply)
    press_in_dm(slack_llm, reply, "Add as new deal")
    assert {d.company: d.status.value for d in deals_of(store)}["Oscorp"] == "no"


def test_without_a_key_the_rules_read_and_no_model_is_asked(slack, store, fake, fake_ai):
    slack.deal("add Globex")
    reply = dm_reply(slack, fake, "Globex signed!")
    assert "*Won* on *Globex*" in texts(reply) and fake_ai.requests == []


# --- the corpus through the LLM path -----------------------------------------------------------

def test_the_llm_path_reads_the_corpus_at_least_as_well_as_reported(fake_ai):
    corpus = load()
    fake_ai.reply(labelled_model(corpus))
    reader = ChatReader(LLMConfig(api_key="sk-test", base_url=fake_ai.base_url, max_retries=0))
    got = score(corpus, reader.read)
    assert len(fake_ai.requests) == len(corpus.lines)
    assert got.right >= LLM_FAKE_RIGHT, [(m[0].text, m[1]) for m in got.misses]


def test_the_reader_is_shared_per_configuration():
    config = LLMConfig(api_key="sk-test", base_url="http://127.0.0.1:9/v1")
    assert reader_for(config) is reader_for(config) and reader_for(config).uses_llm
    assert not reader_for(None).uses_llm
    assert shown(reader_for(None).read("Globex signed!", ["Globex"], "UTC", load().now), "UTC")[0] == Kind.WON.value
