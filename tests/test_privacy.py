"""Data rights: `/deal forget me` (a rep's own data, on their own click) and `hardno export|purge --team`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store.models.bot import Bot

from handlers.domain.model import Activity, Deal, Kind, Rep
from storage.installations import SealedInstallationStore

ROOT = Path(__file__).resolve().parents[1]


def buttons(reply: dict) -> dict[str, str]:
    return {el["action_id"]: el.get("value", "") for b in reply.get("blocks", []) for el in b.get("elements", [])
            if el.get("type") == "button"}


def stored(store, user: str) -> dict[str, int]:
    with store.tx() as tx:
        return tx.rep_data_counts(user)


@pytest.fixture
def dana_has_history(slack, store, clock):
    """Dana (U1): two deals with history, a proposal from a DM, today's digest record. Ben (U2): one deal."""
    slack.deal("add Acme $12k")
    slack.deal("add Globex $3k")
    slack.deal("maybe acme send me info")
    slack.dm("Globex said maybe, call back in spring")
    slack.fake.wait_for("chat.postMessage")
    assert slack.settle()
    with store.tx("T1") as tx:
        assert tx.claim_delivery("digest", "U1", "2026-11-23", clock.now())
    slack.deal("add Initech $8k", user="U2")
    counts = stored(store, "U1")
    assert counts["deals"] == 2 and counts["history"] >= 3 and counts["proposals"] >= 1
    assert counts["settings"] == 1 and counts["deliveries"] == 1
    return counts


def test_forget_me_asks_first_then_deletes_everything_of_the_caller_only(slack, store, dana_has_history):
    ask = slack.deal("forget me")
    assert "can't be undone" in ask["text"] and "2 deals" in ask["text"]
    assert buttons(ask) == {"forget:confirm": "U1", "forget:cancel": "U1"}
    assert stored(store, "U1") == dana_has_history  # asking deletes nothing

    done = slack.press("forget:confirm", "U1")
    assert done["text"].startswith("Done: I deleted 2 deals with")
    assert "your settings" in done["text"] and "1 digest record" in done["text"]
    assert done.get("replace_original") is True
    assert stored(store, "U1") == {"deals": 0, "history": 0, "proposals": 0, "settings": 0, "deliveries": 0,
                                   "drills": 0}
    assert stored(store, "U2")["deals"] == 1  # a teammate's deals are not touched
    assert "Initech" in json.dumps(slack.deal("list", user="U2"))


def test_only_the_callers_own_click_counts(slack, store, dana_has_history):
    ask = slack.deal("forget me")
    # Ben clicks Dana's button (a forwarded or forged payload: the prompt is ephemeral to Dana).
    answer = slack.press("forget:confirm", buttons(ask)["forget:confirm"], user="U2")
    assert "deleted nothing" in answer["text"] and answer.get("replace_original") is False
    assert stored(store, "U1") == dana_has_history
    assert stored(store, "U2")["deals"] == 1
    assert "deleted nothing" in slack.press("forget:cancel", "U1", user="U2")["text"]


def test_cancel_and_unclear_asks_delete_nothing(slack, store, dana_has_history):
    assert "`/deal forget me`" in slack.deal("forget")["text"]
    assert "`/deal forget me`" in slack.deal("forget acme")["text"]
    assert slack.press("forget:cancel", "U1")["text"] == "Cancelled: nothing was deleted."
    assert stored(store, "U1") == dana_has_history


def test_forget_me_is_in_help(slack):
    assert "/deal forget me" in slack.deal("help")["text"]


# -- hardno export / purge --team ---------------------------------------------------------------------------

def hardno(tmp_path, url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "HARDNO_"))}
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=url)
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def two_workspaces(store, clock):
    """T1: Dana with a deal and its history, a channel. T2: Zed with a deal. Both have a bot token stored where
    slack_sdk's installation store keeps them."""
    now = clock.now()
    with store.tx() as tx:
        tx.save_rep(Rep("U1", "T1", name="Dana"))
        tx.save_rep(Rep("U9", "T2", name="Zed"))
        for owner, team, company in (("U1", "T1", "Acme"), ("U9", "T2", "Otherco")):
            tx.add_deal(Deal(id=None, owner_id=owner, team_id=team, company=company, created_at=now),
                        Activity(kind=Kind.ADDED, at=now, text=f"added {company}"))
    with store.tx("T1") as tx:
        tx.claim_delivery("digest", "U1", "2026-11-23", now)
    installations = SealedInstallationStore("1111.2222", store.engine, Fernet.generate_key().decode())
    for team in ("T1", "T2"):
        installations.save_bot(Bot(app_id="A1", enterprise_id=None, team_id=team, bot_token=f"xoxb-{team}-secret",
                                   bot_id="B1", bot_user_id="UBOT", installed_at=now.timestamp()))
    yield store.engine.url.render_as_string(hide_password=False)


def test_export_is_one_workspace_as_json_without_tokens(tmp_path, two_workspaces):
    r = hardno(tmp_path, two_workspaces, "export", "--team", "T1", "--out", "t1.json")
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "t1.json").read_text())
    assert [d["company"] for d in data["deals"]] == ["Acme"]
    assert data["deals"][0]["history"][0]["text"] == "added Acme"
    assert [rep["user_id"] for rep in data["reps"]] == ["U1"]
    assert "xoxb" not in json.dumps(data) and "Otherco" not in json.dumps(data)
    r = hardno(tmp_path, two_workspaces, "export", "--team", "T1")
    assert json.loads(r.stdout) == data


def test_purge_says_what_it_would_delete_and_deletes_only_with_yes(tmp_path, store, two_workspaces):
    r = hardno(tmp_path, two_workspaces, "purge", "--team", "T1")
    assert r.returncode == 0, r.stderr
    assert "would delete" in r.stdout and "1 deals" in r.stdout and "1 tokens" in r.stdout
    with store.tx() as tx:
        assert tx.team_counts("T1")["deals"] == 1

    r = hardno(tmp_path, two_workspaces, "purge", "--team", "T1", "--yes")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("deleted everything stored for T1")
    with store.tx() as tx:
        assert set(tx.team_counts("T1").values()) == {0}
        left = tx.team_counts("T2")
    assert (left["deals"], left["history"], left["reps"], left["tokens"]) == (1, 1, 1, 1)


def test_export_and_purge_need_a_team(tmp_path, two_workspaces):
    for args in (["export"], ["purge", "--yes"]):
        r = hardno(tmp_path, two_workspaces, *args)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--team" in r.stderr
