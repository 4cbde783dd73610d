"""Two workspaces in one database: the same Slack user id `U1` and the same channel id `C1` in both are two
reps and two channels, and nothing of one workspace is visible from the other, through the real Bolt app
with signed requests from each team id (one app, one signing secret, as an OAuth install serves them)."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from handlers.board.post import sweep_boards
from handlers.digest.deliver import sweep_digests
from handlers.domain.model import Rep, Status
from handlers.domain.practice import Drill
from storage import models as t
from storage.base import CrossWorkspace, Unscoped
from storage.db import alembic_config, connect
from storage.privacy import TOKEN_TABLES
from tests.backends import create_pg_database
from tests.test_deal_command import buttons, texts
from tests.test_leaderboard import close, posts
from tests.test_nudger import NY, digests, local, stuck

ROOT = Path(__file__).resolve().parents[1]
T1, T2 = "T1", "T2"


def deals(store, team: str, user: str = "U1") -> list[str]:
    with store.tx(team) as tx:
        return sorted(d.company for d in tx.deals(user, list(Status)))


def listing(slack, team: str, user: str = "U1") -> str:
    with slack.in_workspace(team):
        return json.dumps(slack.deal("list all", user=user))


@pytest.fixture
def two(slack):
    """Dana is U1 in T1 with Acme; in T2 another person, also U1, has Globex."""
    assert "Added" in texts(slack.deal("add Acme $12k"))
    with slack.in_workspace(T2):
        assert "Added" in texts(slack.deal("add Globex $5k"))
    return slack


# -- deals and /deal list ---------------------------------------------------------------------------------

def test_the_same_user_id_in_two_workspaces_is_two_reps_with_their_own_deals(two, store):
    assert deals(store, T1) == ["Acme"] and deals(store, T2) == ["Globex"]
    mine, theirs = listing(two, T1), listing(two, T2)
    assert "Acme" in mine and "Globex" not in mine
    assert "Globex" in theirs and "Acme" not in theirs
    with store.read(T1) as tx1, store.read(T2) as tx2:
        assert [r.team_id for r in (tx1.rep("U1"), tx2.rep("U1"))] == [T1, T2]
        assert tx1.reps() == [tx1.rep("U1")]


def test_a_verb_or_a_button_from_the_other_workspace_never_reaches_a_deal(two, store):
    with store.tx(T1) as tx:
        [acme] = tx.deals("U1")
    with two.in_workspace(T2):
        assert "Acme" not in texts(two.deal("won acme"))  # no such deal of theirs: nothing matched
        refused = two.press("deal:won", str(acme.id))  # T1's deal id in a T2 button
    assert "isn't one of yours" in texts(refused)
    with store.tx(T1) as tx:
        assert tx.deal("U1", acme.id).status is Status.OPEN
        assert len(tx.history("U1", acme.id)) == 1
    with store.tx(T2) as tx:
        assert tx.deal("U1", acme.id) is None and tx.history("U1", acme.id) == []


# -- settings -----------------------------------------------------------------------------------------------

def test_settings_belong_to_the_rep_of_one_workspace(two, store):
    assert "8" in texts(two.deal("settings digest 8am"))
    with two.in_workspace(T2):
        two.deal("settings digest off")
        two.deal("settings board off")  # in C1 of T2
    with store.read(T1) as tx1, store.read(T2) as tx2:
        assert (tx1.rep("U1").digest_on, tx1.rep("U1").digest_hour) == (True, 8)
        assert tx2.rep("U1").digest_on is False
        assert tx1.channel("C1") is None or tx1.channel("C1").board_on
        assert tx2.channel("C1").board_on is False


# -- digests -------------------------------------------------------------------------------------------------

def test_each_workspace_gets_its_reps_digests_with_only_its_deals(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    with slack.in_workspace(T2):
        stuck(slack, clock, "U1", "Globex Inc")
    clock.set(local(NY, 2026, 11, 23, 9, 0))
    report = sweep_digests(slack.app.services, slack.client)
    assert report.sent == ["U1", "U1"]  # two reps, one per workspace
    shown = sorted(texts(c.params) for c in digests(fake, "U1"))
    assert len(shown) == 2
    [t1] = [s for s in shown if "Acme Corp" in s]
    [t2] = [s for s in shown if "Globex Inc" in s]
    assert "Globex" not in t1 and "Acme" not in t2
    for team in (T1, T2):
        with store.tx(team) as tx:
            assert tx.deliveries("digest") == [("U1", "2026-11-23", "sent")]
    assert sweep_digests(slack.app.services, slack.client).already == ["U1", "U1"]
    assert len(digests(fake)) == 2


def test_who_is_due_is_decided_per_workspace(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    with slack.in_workspace(T2):
        stuck(slack, clock, "U1", "Globex Inc")
        slack.deal("settings digest off")
    clock.set(local(NY, 2026, 11, 23, 9, 0))
    report = sweep_digests(slack.app.services, slack.client)
    assert report.sent == ["U1"] and report.off == ["U1"]
    [dm] = digests(fake, "U1")
    assert "Acme Corp" in texts(dm.params) and "Globex" not in texts(dm.params)
    with store.tx(T2) as tx:
        assert tx.deliveries("digest") == []


# -- proposals ------------------------------------------------------------------------------------------------

def test_a_chat_proposal_can_only_be_confirmed_in_its_own_workspace(two, fake, store):
    before = len(fake.calls_to("chat.postMessage"))
    assert two.dm("Acme said maybe, call back in spring").status == 200
    reply = fake.wait_for("chat.postMessage", count=before + 1)[before].params
    action_id, value = buttons(reply)["Log it"]
    with two.in_workspace(T2):
        other = two.press(action_id, value, message={"ts": "2.0", "text": reply["text"], "blocks": reply["blocks"]})
    assert "Already handled" in texts(other)  # to T2 it does not exist: nothing to log
    with store.tx(T1) as tx:
        [acme] = tx.deals("U1")
        assert acme.maybe_count == 0
        assert tx.proposal("U1", int(value.split(":")[0]))[0] == "pending"
    done = two.press(action_id, value, message={"ts": "2.0", "text": reply["text"], "blocks": reply["blocks"]})
    assert "maybe number 1" in texts(done)


# -- boards ---------------------------------------------------------------------------------------------------

def test_a_channel_id_in_two_workspaces_gets_each_workspaces_board(slack, fake, clock, store):
    clock.set(datetime(2026, 11, 18, 15, tzinfo=UTC))
    close(slack, "U1", "Acme")
    with slack.in_workspace(T2):
        close(slack, "U1", "Globex", "no")
        close(slack, "U2", "Initech", "drop")
    with store.tx(T1) as tx:
        tx.save_channel(t_channel("C1", details=True))
    with store.tx(T2) as tx:
        tx.save_channel(t_channel("C1", details=True))
    clock.set(datetime(2026, 11, 23, 14, tzinfo=UTC))  # Monday 09:00 in New York
    assert sweep_boards(slack.app.services, slack.client).posted == ["C1"]  # the token's workspace: T1
    assert sweep_boards(slack.app.services, slack.client, team=T2).posted == ["C1"]  # as OAuth runs T2's
    t1, t2 = (texts(c.params) for c in posts(fake, "C1"))
    assert "Acme" in t1 and "Globex" not in t1 and "Initech" not in t1 and "1 decision" in t1
    assert "Globex" in t2 and "Initech" in t2 and "Acme" not in t2 and "2 decisions" in t2
    for team in (T1, T2):
        with store.tx(team) as tx:
            assert [state for _, _, state in tx.deliveries("board")] == ["sent"]


def t_channel(cid: str, **settings):
    from handlers.domain.model import ChannelSettings
    return ChannelSettings(cid, tz=NY, board_day="mon", board_time="09:00", **settings)


# -- forget me, export, purge --------------------------------------------------------------------------------

def test_forget_me_deletes_only_the_callers_own_workspace(two, store):
    with two.in_workspace(T2):
        ask = two.deal("forget me")
        assert "1 deal" in ask["text"]
        done = two.press("forget:confirm", "U1")
    assert done["text"].startswith("Done: I deleted 1 deal")
    with store.tx(T2) as tx:
        assert tx.rep_data_counts("U1") == {"deals": 0, "history": 0, "proposals": 0, "settings": 0,
                                            "deliveries": 0, "drills": 0}
    with store.tx(T1) as tx:
        counts = tx.rep_data_counts("U1")
    assert (counts["deals"], counts["settings"]) == (1, 1) and deals(store, T1) == ["Acme"]


def test_export_and_purge_cover_every_table_a_workspace_has_rows_in(two, store, clock):
    now = clock.now()
    for team in (T1, T2):
        with store.tx(team) as tx:
            [deal] = tx.deals("U1")
            tx.claim_delivery("digest", "U1", "2026-11-23", now)
            pid = tx.save_proposal("U1", {"type": "add", "company": "x"}, now)
            tx.link_deal("hubspot", "42", deal.id, {"name": deal.company}, now)  # one outside id, two CRMs
            tx.set_crm_state("hubspot:last_run", {"at": team})
            tx.record_pushes([(f"deal:{deal.id}", deal.id, "n1")], now)
            tx.save_channel(t_channel("C1"))
            tx.save_workspace(name=f"Workspace {team}")
            tx.save_drill(Drill("U1", "D1", "1.0", "send_info", now))
            tx.record_draft_shown(team_id=team, user_id="U1", deal_id=deal.id, proposal_id=pid, kind="ask", tone="direct", variant="template 1", now=now)
    # slack_sdk's token tables are counted and purged as "tokens" (never exported): see test_oauth.py
    scoped = {name for name, table in t.Base.metadata.tables.items() if "team_id" in table.c} - set(TOKEN_TABLES)
    with store.read(T1) as tx:
        exported = tx.team_export(T1)
        counts = tx.team_counts(T1)
    # Every table that has a team column is exported and counted (children of deals too).
    covered = {"reps", "channels", "deals", "proposals", "deliveries", "crm_links", "crm_state", "workspace",
               "drills", "coach_drafts"}
    names = {"workspace": "workspaces"}
    assert {names.get(n, n) for n in covered} == scoped
    assert set(exported) >= covered | {"crm_pushes"} and set(counts) >= covered | {"history", "crm_pushes", "tokens"}
    assert "tokens" not in exported
    assert all(counts[n] == 1 for n in covered), counts
    blob = json.dumps(exported)
    assert "Globex" not in blob and '"T2"' not in blob and "Workspace T2" not in blob
    with store.tx(T2) as tx:
        gone = tx.purge_team(T2)
    assert all(gone[n] == 1 for n in covered) and gone["crm_pushes"] == 1 and gone["history"] == 1
    with store.read(T2) as tx:
        assert set(tx.team_counts(T2).values()) == {0}
    with store.read(T1) as tx:
        assert tx.team_counts(T1) == counts
    assert deals(store, T1) == ["Acme"]


# -- the mechanism itself ----------------------------------------------------------------------------------

def test_a_bound_transaction_refuses_another_workspaces_rows_and_an_unbound_one_needs_them_named(store, clock):
    with pytest.raises(CrossWorkspace), store.tx(T1) as tx:
        tx.save_rep(Rep("U1", T2))
    with pytest.raises(Unscoped), store.tx() as tx:
        tx.claim_delivery("digest", "U1", "2026-11-23", clock.now())
    with store.tx(T1) as tx:
        assert tx.save_rep(Rep("U1")).team_id == T1  # a rep read from a payload without a team gets the tx's
    with store.tx() as tx:
        assert [r.team_id for r in tx.reps()] == [T1]


# Opening a transaction bound to no workspace is for reads across workspaces: the sweeps (each row read
# carries its team to the bound transactions that write) and the event-id claim (a global table).
UNBOUND_OK = {
    ("bot/app.py", "handle_each_event_once"),  # slack_events: event ids are global
    ("bot/scheduler.py", "housekeeping"),  # stale event ids and proposals of every workspace
    ("handlers/digest/deliver.py", "_run"),  # every workspace's reps
    ("handlers/board/kudos.py", "sweep_kudos"),  # every workspace's live channels
    ("handlers/installs.py", "purge_uninstalled"),  # every workspace's install state
    ("handlers/coach_report.py", "report"),  # `hardno coach report`: an admin's read of every workspace
}


def _unbound_transactions() -> set[tuple[str, str]]:
    """(module, innermost function) of every `<...store>.tx()` / `.read()` called without a team."""
    found: set[tuple[str, str]] = set()

    class Calls(ast.NodeVisitor):
        def __init__(self, module: str) -> None:
            self.module, self.functions = module, ["<module>"]

        def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
            self.functions.append(node.name)
            self.generic_visit(node)
            self.functions.pop()

        visit_AsyncFunctionDef = visit_FunctionDef

        def visit_Call(self, node: ast.Call) -> None:
            f = node.func
            if (isinstance(f, ast.Attribute) and f.attr in ("tx", "read") and not node.args and not node.keywords
                    and "store" in ast.unparse(f.value)):
                found.add((self.module, self.functions[-1]))
            self.generic_visit(node)

    for path in sorted((ROOT / "handlers").rglob("*.py")) + sorted((ROOT / "bot").rglob("*.py")):
        Calls(str(path.relative_to(ROOT))).visit(ast.parse(path.read_text(), str(path)))
    return found


def test_listeners_and_jobs_always_bind_their_transactions_to_a_workspace():
    unbound = _unbound_transactions()
    assert unbound - UNBOUND_OK == set()
    assert ("handlers/digest/deliver.py", "_run") in unbound  # the check sees what it looks for


# -- upgrading a single-workspace database -------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def at_0006(request, tmp_path):
    """A database migrated to 0006 (before workspace scoping), empty."""
    from alembic import command
    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'old.db'}", None
    else:
        url, drop = create_pg_database()
    engine = connect(url)
    command.upgrade(alembic_config(engine), "0006")
    yield engine
    engine.dispose()
    if drop:
        drop()


def _seed_0006(engine, reps_team: str) -> None:
    now = "2026-11-20 10:00:00"
    with engine.begin() as c:
        c.execute(text("INSERT INTO reps (user_id, team_id, name, tz, digest_on, digest_weekends, board_hidden) "
                       "VALUES ('U1', :t, 'Dana', 'UTC', true, false, false), "
                       "('U2', '', 'Ben', 'UTC', true, false, false)"), {"t": reps_team})
        c.execute(text("INSERT INTO channels (id, team_id, board_on, details, live) VALUES ('C1', '', true, false, false)"))
        for i, owner in ((1, "U1"), (2, "U2")):
            c.execute(text("INSERT INTO deals (id, owner_id, team_id, company, status, created_at, maybe_count, "
                           "touch_count, touches_since_answer) VALUES (:i, :o, '', :co, 'open', :now, 0, 0, 0)"),
                      {"i": i, "o": owner, "co": f"Co{i}", "now": now})
            c.execute(text("INSERT INTO activities (deal_id, kind, at, text, source) "
                           "VALUES (:i, 'added', :now, '', 'command')"), {"i": i, "now": now})
        c.execute(text("INSERT INTO deliveries (kind, target, period, state, claimed_at, attempts) VALUES "
                       "('digest', 'U1', '2026-11-20', 'sent', :now, 1), ('board', 'C1', 'w', 'sent', :now, 1)"),
                  {"now": now})
        c.execute(text("INSERT INTO proposals (user_id, payload, created_at, state) "
                       "VALUES ('U1', '{}', :now, 'pending')"), {"now": now})
        c.execute(text("INSERT INTO crm_links (system, external_id, deal_id) VALUES ('hubspot', '42', 1)"))
        c.execute(text("INSERT INTO crm_state (key, value) VALUES ('hubspot:last_run', '{}')"))


def _teams(engine) -> dict[str, set[str]]:
    with engine.connect() as c:
        return {name: set(c.scalars(text(f"SELECT DISTINCT team_id FROM {name}")))
                for name in ("reps", "channels", "deals", "deliveries", "proposals", "crm_links", "crm_state")}


def test_a_single_workspace_database_keeps_its_rows_in_its_workspace_after_the_upgrade(at_0006):
    from storage import Store, upgrade
    _seed_0006(at_0006, reps_team=T1)
    assert upgrade(at_0006)[0] == "0007"  # then the later ones
    assert set().union(*_teams(at_0006).values()) == {T1}  # every row has the one team now
    store = Store(at_0006)
    with store.tx(T1) as tx:
        assert sorted(d.company for d in tx.deals("U1") + tx.deals("U2")) == ["Co1", "Co2"]
        assert tx.delivery_state("digest", "U1", "2026-11-20") == "sent"
        assert tx.proposal("U1", 1)[0] == "pending" and tx.linked_deals("hubspot", ["42"])["42"][0] == 1
        assert tx.crm_state("hubspot:last_run") == {} and tx.channel("C1") is not None
        tx.save_rep(Rep("U1", T1, name="Dana again"))  # the same rep, not a second one
    with store.tx(T2) as tx:  # a second workspace installs: its U1 and C1 are new rows
        assert tx.rep("U1") is None and tx.deals("U1") == []
        tx.save_rep(Rep("U1", T2, name="Zed"))
        tx.save_channel(t_channel("C1"))
        assert tx.claim_delivery("digest", "U1", "2026-11-20", datetime(2026, 11, 20, tzinfo=UTC))
    with store.tx() as tx:
        assert sorted((r.team_id, r.name) for r in tx.reps() if r.user_id == "U1") == [(T1, "Dana again"), (T2, "Zed")]
    pk = inspect(at_0006).get_pk_constraint("reps")["constrained_columns"]
    assert pk == ["team_id", "user_id"]


def test_rows_of_a_database_whose_team_is_unknown_take_their_reps_team(at_0006):
    """Two teams already (or none known): a row takes its rep's, channel's or deal's team where it has one,
    else it keeps "" (no guessing between workspaces)."""
    from storage import upgrade
    _seed_0006(at_0006, reps_team=T1)
    with at_0006.begin() as c:
        c.execute(text("INSERT INTO reps (user_id, team_id, name, tz, digest_on, digest_weekends, board_hidden) "
                       "VALUES ('U9', 'T2', 'Zed', 'UTC', true, false, false)"))
    upgrade(at_0006)
    with at_0006.connect() as c:
        owners = dict(c.execute(text("SELECT owner_id, team_id FROM deals")).all())
        deliveries = dict(c.execute(text("SELECT kind, team_id FROM deliveries")).all())
        links = set(c.scalars(text("SELECT team_id FROM crm_links")))
        proposals = set(c.scalars(text("SELECT team_id FROM proposals")))
    assert owners == {"U1": T1, "U2": ""} and deliveries == {"digest": T1, "board": ""}
    assert links == {T1} and proposals == {T1}


def test_serve_gives_a_teamless_database_to_the_tokens_workspace(slack, store, clock):
    """A database whose rows never knew their team ("", none on record): on start with a bot token they
    become the token's workspace's (auth.test), and its requests see them."""
    from handlers.domain.model import new_deal
    from handlers.workspace import adopt_rows_without_team
    with store.tx("") as tx:
        tx.save_rep(Rep("U1", "", name="Dana", tz=NY, tz_checked_at=clock.now()))
        tx.add_deal(*new_deal("U1", "Oldco", clock.now()))
    assert adopt_rows_without_team(store, slack.client) == 2
    assert deals(store, T1) == ["Oldco"] and "Oldco" in listing(slack, T1)
    assert adopt_rows_without_team(store, slack.client) == 0  # the database names its workspace now
