"""The fake Slack Web API, driven by the real slack_sdk WebClient over loopback HTTP."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from zoneinfo import ZoneInfoNotFoundError

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from tests.fakeslack import FakeSlack, validate_blocks, validate_view


@pytest.fixture
def fake():
    """Self-contained (overrides the conftest fixture): no dependency on the app harness."""
    with FakeSlack() as f:
        f.add_user("U1", "dana", real_name="Dana Scully", tz="America/New_York")
        f.add_user("U3", "priya", real_name="Priya Rao", tz="Asia/Kolkata")
        f.add_channel("C1", "sales", members=["U1", "U3"])
        yield f


@pytest.fixture
def client(fake) -> WebClient:
    return WebClient(base_url=fake.api_url, token="xoxb-test")


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str, action_id: str = "a", value: str = "v") -> dict:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }


# -- basics --------------------------------------------------------------------------------------------------
def test_urls_use_loopback_and_a_free_port_per_instance(fake):
    with FakeSlack() as other:
        assert fake.api_url.startswith("http://127.0.0.1:") and fake.api_url.endswith("/api/")
        assert fake.base_url + "api/" == fake.api_url
        assert other.api_url != fake.api_url


def test_stop_frees_the_server_and_url_needs_start():
    f = FakeSlack().start()
    url = f.api_url
    f.stop()
    with pytest.raises(RuntimeError):
        _ = f.api_url
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "auth.test", timeout=2)


def test_auth_test_describes_the_default_workspace(client):
    r = client.auth_test()
    assert (r["team_id"], r["team"], r["user_id"], r["bot_id"]) == ("T1", "Acme Sales", "UBOT", "B1")
    assert r["url"] == "https://acme.slack.com/" and r["user"] == "hardno"


def test_post_message_is_recorded_with_channel_text_and_blocks(fake, client):
    blocks = [section("*Deal* with Initech"), {"type": "divider"}]
    first = client.chat_postMessage(channel="C1", text="Deal with Initech", blocks=blocks)
    second = client.chat_postMessage(channel="C1", text="again")

    call = fake.calls_to("chat.postMessage")[0]
    assert call["channel"] == "C1" and call["text"] == "Deal with Initech"
    assert call["blocks"] == blocks
    assert call.headers["authorization"] == "Bearer xoxb-test"
    assert call.ok and not call.injected and call.status == 200
    assert first["channel"] == "C1" and first["message"]["blocks"] == blocks
    assert first["message"]["bot_id"] == "B1" and first["message"]["user"] == "UBOT"
    assert float(second["ts"]) > float(first["ts"])
    assert fake.last("chat.postMessage")["text"] == "again"
    assert fake.last("chat.delete") is None


def test_form_encoded_json_fields_are_decoded_back_into_objects(fake, client):
    blocks = [section("hello")]
    client.api_call("chat.postMessage", params={"channel": "C1", "text": "hi", "blocks": json.dumps(blocks)})
    call = fake.last("chat.postMessage")
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call["blocks"] == blocks


def test_get_with_query_params_is_accepted(fake):
    req = urllib.request.Request(
        fake.api_url + "users.info?user=U1", headers={"Authorization": "Bearer xoxb-t"}
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        body = json.loads(r.read())
    assert body["ok"] and body["user"]["name"] == "dana"
    assert fake.last("users.info")["user"] == "U1"


def test_unknown_method_and_missing_token_answer_like_slack(fake, client):
    with pytest.raises(SlackApiError) as e:
        client.api_call("deals.close", json={"x": 1})
    assert e.value.response["error"] == "unknown_method"
    assert fake.last("deals.close")["x"] == 1

    with pytest.raises(SlackApiError) as e:
        WebClient(base_url=fake.api_url).chat_postMessage(channel="C1", text="hi")
    assert e.value.response["error"] == "not_authed"


# -- directory -----------------------------------------------------------------------------------------------
def test_users_info_returns_the_configured_time_zone(client):
    user = client.users_info(user="U3")["user"]
    assert user["tz"] == "Asia/Kolkata"
    assert user["tz_label"] == "India Standard Time" and user["tz_offset"] == 5 * 3600 + 30 * 60
    assert (user["id"], user["team_id"], user["name"], user["real_name"]) == (
        "U3",
        "T1",
        "priya",
        "Priya Rao",
    )
    assert user["profile"]["real_name"] == "Priya Rao" and user["profile"]["display_name"] == "priya"
    assert user["is_bot"] is False
    ny = client.users_info(user="U1")["user"]
    assert ny["tz_offset"] in (-5 * 3600, -4 * 3600) and ny["tz_label"].startswith("Eastern")
    assert client.users_info(user="UBOT")["user"]["is_bot"] is True


def test_unknown_user_is_user_not_found(client):
    with pytest.raises(SlackApiError) as e:
        client.users_info(user="U404")
    assert e.value.response["error"] == "user_not_found"


def test_add_user_rejects_a_bad_time_zone(fake):
    with pytest.raises(ZoneInfoNotFoundError):
        fake.add_user("U9", "x", tz="Mars/Olympus_Mons")


def test_team_info_has_no_time_zone(client):
    team = client.team_info()["team"]
    assert (team["id"], team["name"]) == ("T1", "Acme Sales")
    assert not any("tz" in key for key in team)


def test_bots_info(client):
    bot = client.bots_info(bot="B1")["bot"]
    assert (bot["id"], bot["user_id"], bot["app_id"]) == ("B1", "UBOT", "A1")
    with pytest.raises(SlackApiError):
        client.bots_info(bot="B999")


def test_conversations_open_gives_a_stable_dm_per_user(client):
    first = client.conversations_open(users="U1")
    again = client.conversations_open(users="U1")
    other = client.conversations_open(users="U3")
    assert first["channel"]["id"].startswith("D")
    assert again["channel"]["id"] == first["channel"]["id"] and again["already_open"] is True
    assert other["channel"]["id"] != first["channel"]["id"]
    with pytest.raises(SlackApiError) as e:
        client.conversations_open(users="U404")
    assert e.value.response["error"] == "user_not_found"


def test_conversations_members_paginates_1500_members_exactly_once(fake, client):
    people = [f"U{n:05d}" for n in range(1500)]
    fake.add_channel("CBIG", "everyone", members=people)
    seen, cursor, pages = [], None, 0
    while True:
        r = client.conversations_members(channel="CBIG", limit=200, cursor=cursor)
        assert len(r["members"]) <= 200
        seen += r["members"]
        pages += 1
        cursor = r["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 1501  # the bot is a member too, as in Slack
    assert set(seen) == set(people) | {"UBOT"}
    assert pages == 8
    assert all(c["limit"] == "200" for c in fake.calls_to("conversations.members"))


def test_conversations_members_default_page_is_100_and_bad_cursor_fails(fake, client):
    fake.add_channel("CBIG", "everyone", members=[f"U{n}" for n in range(250)], bot_is_member=False)
    r = client.conversations_members(channel="CBIG")
    assert len(r["members"]) == 100 and r["response_metadata"]["next_cursor"]
    with pytest.raises(SlackApiError) as e:
        client.conversations_members(channel="CBIG", cursor="not-a-cursor")
    assert e.value.response["error"] == "invalid_cursor"
    with pytest.raises(SlackApiError) as e:
        client.conversations_members(channel="C404")
    assert e.value.response["error"] == "channel_not_found"


def test_users_conversations_lists_only_channels_the_bot_is_in_with_pagination(fake, client):
    for n in range(5):
        fake.add_channel(f"CX{n}", f"extra-{n}", members=["U1"])
    fake.add_channel("COUT", "not-joined", members=["U1"], bot_is_member=False)
    ids, cursor = [], None
    while True:
        r = client.users_conversations(limit=2, cursor=cursor)
        ids += [c["id"] for c in r["channels"]]
        cursor = r["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert ids == ["C1", "CX0", "CX1", "CX2", "CX3", "CX4"]
    assert all(c["is_member"] for c in client.users_conversations()["channels"])


def test_conversations_info_and_posting_where_the_bot_is_not_a_member(fake, client):
    fake.add_channel("COUT", "not-joined", members=["U1"], bot_is_member=False)
    info = client.conversations_info(channel="C1", include_num_members=True)["channel"]
    assert info["name"] == "sales" and info["is_member"] is True and info["num_members"] == 3
    with pytest.raises(SlackApiError) as e:
        client.chat_postMessage(channel="COUT", text="hi")
    assert e.value.response["error"] == "not_in_channel"


def test_post_ephemeral_update_and_delete(fake, client):
    eph = client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert eph["message_ts"]
    posted = client.chat_postMessage(channel="C1", text="v1")
    upd = client.chat_update(channel="C1", ts=posted["ts"], text="v2")
    assert (upd["ts"], upd["text"], upd["message"]["text"]) == (posted["ts"], "v2", "v2")
    deleted = client.chat_delete(channel="C1", ts=posted["ts"])
    assert deleted["ts"] == posted["ts"]
    fake.add_user("U2", "ben")
    with pytest.raises(SlackApiError) as e:
        client.chat_postEphemeral(channel="C1", user="U2", text="not a member")
    assert e.value.response["error"] == "user_not_in_channel"


def test_views_return_a_view_with_an_id(fake, client):
    modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Log a deal"},
        "callback_id": "log",
        "blocks": [section("hi")],
    }
    opened = client.views_open(trigger_id="trig.1", view=modal)["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "log"
    updated = client.views_update(view_id=opened["id"], view=modal)["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    pushed = client.views_push(trigger_id="trig.2", view=modal)["view"]
    assert pushed["id"] != opened["id"]
    home = {"type": "home", "blocks": [section("Your board")]}
    h1 = client.views_publish(user_id="U1", view=home)["view"]
    h2 = client.views_publish(user_id="U1", view=home)["view"]
    assert h1["type"] == "home" and h1["id"] == h2["id"]
    with pytest.raises(SlackApiError) as e:
        client.views_update(view_id=opened["id"], hash="stale", view=modal)
    assert e.value.response["error"] == "hash_conflict"
    assert fake.views[opened["id"]]["blocks"] == modal["blocks"]


# -- Block Kit validation ------------------------------------------------------------------------------------
def test_button_with_100_char_text_is_invalid_blocks(fake, client):
    blocks = [{"type": "actions", "elements": [button("x" * 100)]}]
    with pytest.raises(SlackApiError) as e:
        client.chat_postMessage(channel="C1", text="t", blocks=blocks)
    assert e.value.response["error"] == "invalid_blocks"
    assert any("/blocks/0/elements/0/text/text" in m for m in e.value.response["errors"])
    assert fake.block_errors and all(m.startswith("chat.postMessage: ") for m in fake.block_errors)
    assert any("button text" in m and "75" in m for m in fake.block_errors)
    assert fake.last("chat.postMessage").error == "invalid_blocks"
    with pytest.raises(AssertionError, match="button text"):
        fake.assert_no_block_errors()
    fake.block_errors.clear()  # the fixture checks nothing else leaked


def test_51_blocks_in_a_message_is_invalid_but_50_is_fine(fake, client):
    client.chat_postMessage(channel="C1", text="t", blocks=[section(f"{n}") for n in range(50)])
    fake.assert_no_block_errors()
    with pytest.raises(SlackApiError) as e:
        client.chat_postMessage(channel="C1", text="t", blocks=[section(f"{n}") for n in range(51)])
    assert e.value.response["error"] == "invalid_blocks"
    assert any("51 blocks, at most 50" in m for m in fake.block_errors)


@pytest.mark.parametrize(
    "blocks, fragment",
    [
        ([section("x" * 3001)], "section text is 3001"),
        ([section("")], "more than 0 characters"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "header text is 151"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}], "must be a plain_text"),
        ([{"type": "actions", "elements": [button("ok", action_id="a" * 256)]}], "action_id is 256"),
        ([{"type": "actions", "elements": [button("ok", value="v" * 2001)]}], "button value is 2001"),
        (
            [{"type": "actions", "elements": [button("b", action_id=f"a{n}") for n in range(26)]}],
            "26 elements, at most 25",
        ),
        (
            [{"type": "actions", "elements": [button("b", action_id="same"), button("c", action_id="same")]}],
            "duplicate action_id",
        ),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "11 fields, at most 10"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}], "section field is 2001"),
        (
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
            "11 elements, at most 10",
        ),
        ([section("a") | {"block_id": "b"}, section("b") | {"block_id": "b"}], "duplicate block_id"),
        ([{"type": "sectoin", "text": {"type": "mrkdwn", "text": "typo"}}], "unknown block type 'sectoin'"),
        (
            [
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": "x"},
                    "accessory": {
                        "type": "overflow",
                        "action_id": "o",
                        "options": [{"text": {"type": "plain_text", "text": "o" * 76}, "value": "v"}] * 2,
                    },
                }
            ],
            "option text is 76",
        ),
    ],
)
def test_documented_block_limits_are_enforced(blocks, fragment):
    problems = validate_blocks(blocks)
    assert any(fragment in p for p in problems), problems


def test_valid_blocks_have_no_problems():
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Pipeline"}},
        section("*3 deals* need a decision") | {"accessory": button("Open", action_id="open")},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Owner*\nDana"}] * 10},
        {"type": "actions", "elements": [button(f"b{n}", action_id=f"a{n}") for n in range(25)]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 10},
        {"type": "divider"},
    ]
    assert validate_blocks(blocks) == []


def test_message_text_over_40000_chars_is_msg_too_long(fake, client):
    with pytest.raises(SlackApiError) as e:
        client.chat_postMessage(channel="C1", text="x" * 40_001)
    assert e.value.response["error"] == "msg_too_long"
    assert any("40000" in m for m in fake.block_errors)
    fake.block_errors.clear()
    client.chat_postMessage(channel="C1", text="x" * 40_000)


def test_invalid_modal_is_invalid_arguments(fake, client):
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "A title longer than 24 chars"},
        "blocks": [
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "Amount"},
                "element": {"type": "plain_text_input", "action_id": "v"},
            }
        ],
    }
    with pytest.raises(SlackApiError) as e:
        client.views_open(trigger_id="t", view=view)
    assert e.value.response["error"] == "invalid_arguments"
    assert any("modal title is 28 characters" in m for m in fake.block_errors)
    assert any("must have `submit`" in m for m in fake.block_errors)
    assert all(m.startswith("views.open: ") for m in fake.block_errors)
    fake.block_errors.clear()


def test_view_limits():
    too_many = {"type": "home", "blocks": [section("x")] * 101}
    assert any("101 blocks, at most 100" in p for p in validate_view(too_many))
    ok = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "t" * 24},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [section("x")] * 100,
    }
    assert validate_view(ok) == []
    assert any("private_metadata is 3001" in p for p in validate_view(ok | {"private_metadata": "m" * 3001}))


# -- failure injection ---------------------------------------------------------------------------------------
def test_429_with_retry_after_is_retried_by_the_rate_limit_handler(fake):
    client = WebClient(
        base_url=fake.api_url,
        token="xoxb-test",
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    fake.fail("chat.postMessage", status=429, retry_after=1)
    start = time.monotonic()
    r = client.chat_postMessage(channel="C1", text="hi")
    assert r["ok"]
    assert time.monotonic() - start >= 1  # the Retry-After header was honoured
    first, second = fake.calls_to("chat.postMessage")
    assert (first.status, first.error, first.injected) == (429, "ratelimited", True)
    assert second.ok and not second.injected


def test_429_without_a_retry_handler_surfaces_retry_after(fake, client):
    fake.fail("users.info", 429, retry_after=7)
    with pytest.raises(SlackApiError) as e:
        client.users_info(user="U1")
    assert e.value.response.status_code == 429
    assert e.value.response.headers["Retry-After"] == "7"


def test_500_is_not_retried_by_a_client_with_only_the_rate_limit_handler(fake):
    client = WebClient(
        base_url=fake.api_url,
        token="xoxb-test",
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    fake.fail("chat.postMessage", status=500)
    with pytest.raises(SlackApiError) as e:
        client.chat_postMessage(channel="C1", text="hi")
    assert e.value.response.status_code == 500
    (call,) = fake.calls_to("chat.postMessage")
    assert call.status == 500 and call.injected
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]  # times=1: the next call works


def test_error_injection_answers_ok_false_for_the_given_number_of_calls(fake, client):
    fake.fail("chat.postMessage", error="channel_not_found", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as e:
            client.chat_postMessage(channel="C1", text="hi")
        assert e.value.response.status_code == 200 and e.value.response["error"] == "channel_not_found"
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    assert [c.error for c in fake.calls_to("chat.postMessage")] == [
        "channel_not_found",
        "channel_not_found",
        None,
    ]


def test_fail_needs_a_status_or_an_error(fake):
    with pytest.raises(ValueError):
        fake.fail("chat.postMessage")


# -- files ---------------------------------------------------------------------------------------------------
def test_files_upload_v2_stores_the_bytes(fake, client):
    r = client.files_upload_v2(channel="C1", content="a,b\n", filename="x.csv", title="Export")
    (url_call,) = fake.calls_to("files.getUploadURLExternal")
    file_id = url_call.response["file_id"]
    assert url_call.response["upload_url"].startswith(fake.base_url)
    assert fake.uploaded_files[file_id] == b"a,b\n"
    done = fake.last("files.completeUploadExternal")
    assert done["channel_id"] == "C1" and done["files"] == [{"id": file_id, "title": "Export"}]
    assert r["file"]["id"] == file_id and r["file"]["title"] == "Export" and r["file"]["size"] == 4
    assert fake.last("file_upload")["size"] == 4


def test_complete_upload_of_a_file_never_uploaded_fails(fake, client):
    file_id = client.files_getUploadURLExternal(filename="x.csv", length=3)["file_id"]
    with pytest.raises(SlackApiError) as e:
        client.files_completeUploadExternal(files=[{"id": file_id}], channel_id="C1")
    assert e.value.response["error"] == "file_not_found"


# -- response_url --------------------------------------------------------------------------------------------
def test_response_url_posts_are_recorded(fake):
    url = fake.response_url("cmd1")
    assert url.startswith(fake.base_url + "response/")
    r = WebhookClient(url).send(
        text="Logged.", response_type="ephemeral", blocks=[section("Logged *Initech*")]
    )
    assert r.status_code == 200
    (call,) = fake.calls_to("response_url")
    assert call["token"] == "cmd1" and call["text"] == "Logged."
    assert call["response_type"] == "ephemeral" and call["blocks"] == [section("Logged *Initech*")]


def test_response_url_with_invalid_blocks_answers_400(fake):
    r = WebhookClient(fake.response_url()).send(
        text="x", blocks=[{"type": "header", "text": {"type": "plain_text", "text": "h" * 200}}]
    )
    assert (r.status_code, r.body) == (400, "invalid_blocks")
    assert any(m.startswith("response_url: header text") for m in fake.block_errors)
    fake.block_errors.clear()


# -- waiting and observing -----------------------------------------------------------------------------------
def test_wait_for_returns_calls_made_from_another_thread(fake, client):
    def later():
        time.sleep(0.2)
        client.chat_postMessage(channel="C1", text="one")
        client.chat_postMessage(channel="C1", text="two")

    worker = threading.Thread(target=later)
    start = time.monotonic()
    worker.start()
    calls = fake.wait_for("chat.postMessage", count=2, timeout=5)
    elapsed = time.monotonic() - start
    worker.join()
    assert [c["text"] for c in calls] == ["one", "two"]
    assert elapsed < 3  # woken by the recorded calls, not by the timeout


def test_wait_for_times_out_with_what_was_recorded(fake, client):
    client.auth_test()
    start = time.monotonic()
    with pytest.raises(AssertionError, match="recorded: auth.test"):
        fake.wait_for("chat.postMessage", timeout=0.2)
    assert time.monotonic() - start < 2


def test_on_call_observer_sees_every_call(fake, client):
    seen = []
    fake.on_call = seen.append
    client.chat_postMessage(channel="C1", text="hi")
    WebhookClient(fake.response_url("x")).send(text="yo")
    assert [c.method for c in seen] == ["chat.postMessage", "response_url"]


def test_reset_forgets_calls_errors_and_failures(fake, client):
    client.auth_test()
    fake.fail("auth.test", error="invalid_auth", times=None)
    fake.block_errors.append("x")
    fake.reset()
    assert fake.calls == [] and fake.block_errors == []
    assert client.auth_test()["ok"]
    assert len(fake.calls) == 1


def test_unknown_element_is_reported_and_nothing_reaches_stderr(fake, client, capfd):
    blocks = [section("x") | {"accessory": {"type": "buton", "text": {"type": "plain_text", "text": "Go"}}}]
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C1", text="t", blocks=blocks)
    assert any("Unknown element" in m and "/blocks/0" in m for m in fake.block_errors)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    fake.block_errors.clear()


def test_a_client_without_the_api_prefix_gets_404_and_a_hint(fake):
    client = WebClient(base_url=fake.base_url, token="xoxb-test")  # forgot the /api/
    with pytest.raises((SlackApiError, ValueError)):  # the 404 body is not JSON
        client.auth_test()
    assert fake.calls == []
    assert any("404 for POST /auth.test" in e for e in fake.server_errors)


def test_a_workspace_limit_and_a_per_channel_limit_on_one_method_both_hold(fake):
    """chat.postMessage under both of Slack's limits: 3 a second in the workspace, 1 a second per channel."""
    from slack_sdk import WebClient
    fake.limit_clock = lambda: 100.0  # time stands still: no bucket refills between the calls
    fake.limit("chat.postMessage", 3)
    fake.limit("chat.postMessage", 1, per_channel=True)
    client = WebClient(token="xoxb-test", base_url=fake.api_url)  # no retry handler: a 429 raises
    outcomes = []
    for channel in ["C1", "C1", "C2", "C3", "C4"]:
        try:
            client.chat_postMessage(channel=channel, text="hi")
            outcomes.append("ok")
        except SlackApiError as e:
            outcomes.append(f"{e.response.status_code}")
    # C1's second post is over the channel's limit; C4 is over the workspace's 3 (C1, C2, C3 went out)
    assert outcomes == ["ok", "429", "ok", "ok", "429"]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [200, 429, 200, 200, 429]
    fake.limit_clock = lambda: 101.0  # a second later: one more in C1 (and in the workspace)
    assert client.chat_postMessage(channel="C1", text="again")["ok"]
