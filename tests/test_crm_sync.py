"""The HubSpot sync against a fake HubSpot on loopback, through the official client, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pytest

from handlers.crm.hubspot import SEARCH_LAG_MS, HubSpotSync
from handlers.crm.hubspot_api import HubSpotApi
from handlers.deal_log import DealLog
from handlers.domain.model import Kind, Rep, Source, Status
from tests.fakehubspot import TOKEN, FakeHubSpot
from tests.test_cli import ROOT, assert_usage_error, clean_env

T0 = 1_790_000_000_000  # ms


@pytest.fixture
def hs():
    with FakeHubSpot() as f:
        f.add_owner("101", "dana@example.com", "Dana", "Scully")
        f.add_owner("102", "Ben@Example.com", "Ben", "Meyer")
        f.add_owner("103", "carol@example.com", "Carol", "Unknown")
        yield f


@pytest.fixture
def team(store):
    with store.tx() as tx:
        for uid, email in (("U1", "dana@example.com"), ("U2", "ben@example.com"), ("U3", "priya@example.com")):
            tx.save_rep(Rep(uid, "T1", uid))
            tx.set_rep_email(uid, email)
    return store


def sync(store, clock, hs, **kw):
    s = HubSpotSync(store, clock, TOKEN, hs.url, api=HubSpotApi(TOKEN, hs.url, backoff=0.01))
    for k, v in kw.items():
        setattr(s, k, v)
    return s.run()


def deals(store, owner):
    with store.tx() as tx:
        return {d.company: d for d in tx.deals(owner, list(Status))}


def test_pull_matches_owners_by_email_and_reads_outcomes_from_stage_metadata(team, clock, hs):
    # a renamed won stage still closes the deal as won: metadata decides, not the name
    hs.pipelines[0]["stages"][5]["label"] = "Unterschrieben"
    hs.add_deal("Acme", "101", amount="1200.5", modified_ms=T0)
    hs.add_deal("Globex", "102", stage="closedwon", amount="900", modified_ms=T0 + 1, closedate="2026-11-01T00:00:00Z")
    hs.add_deal("Initech", "102", stage="closedlost", modified_ms=T0 + 2, closed_lost_reason="budget")
    hs.add_deal("Carol's deal", "103", modified_ms=T0 + 3)
    r = sync(team, clock, hs)
    assert (r.pulled, r.failed) == (3, "")
    assert r.unmatched_owners == ["carol@example.com"] and r.unmatched_reps == ["priya@example.com"]
    dana, ben = deals(team, "U1"), deals(team, "U2")
    assert dana["Acme"].amount == Decimal("1200.50") and dana["Acme"].stage == "Appointment Scheduled"
    assert ben["Globex"].status is Status.WON and ben["Globex"].closed_at.date().isoformat() == "2026-11-01"
    assert ben["Initech"].status is Status.NO and ben["Initech"].close_reason == "budget"
    assert "Carol's deal" not in {c for o in ("U1", "U2", "U3") for c in deals(team, o)}  # never guessed
    search = hs.calls("/search")[0][2]
    assert {"propertyName": "hubspot_owner_id", "operator": "IN", "values": ["101", "102"]} in \
        search["filterGroups"][0]["filters"]


def test_a_resync_writes_nothing_twice(team, clock, hs):
    hs.add_deal("Acme", "101", modified_ms=T0)
    sync(team, clock, hs)
    acme = deals(team, "U1")["Acme"]
    DealLog(team, clock).log("U1", acme.id, Kind.MAYBE, "send me info")
    first = sync(team, clock, hs)
    assert first.pushed == 1 and len(hs.notes) == 1
    again = sync(team, clock, hs)
    assert (again.pulled, again.pushed) == (0, 0)
    assert len(hs.notes) == 1 and len(deals(team, "U1")) == 1 and len(hs.deals) == 1


def test_push_of_each_kind(team, clock, hs):
    hs.add_deal("Acme", "101", modified_ms=T0)
    hs.add_deal("Globex", "102", modified_ms=T0 + 1)
    sync(team, clock, hs)
    log = DealLog(team, clock)
    acme, globex = deals(team, "U1")["Acme"], deals(team, "U2")["Globex"]
    acme_hs = next(i for i, d in hs.deals.items() if d["dealname"] == "Acme")
    globex_hs = next(i for i, d in hs.deals.items() if d["dealname"] == "Globex")
    log.log("U1", acme.id, Kind.MAYBE, "<b>maybe</b> in Q1")
    log.log("U1", acme.id, Kind.TOUCH, "voicemail")
    log.log("U1", acme.id, Kind.ASK, "", source=Source.COACH)
    log.log("U1", acme.id, Kind.MEETING, "demo", when=clock.now() + timedelta(days=3))
    log.log("U2", globex.id, Kind.NO, "went with a competitor")
    new = log.add("U1", "T1", "Hooli", amount=Decimal("5000"), currency="EUR")
    log.log("U1", new.id, Kind.WON, "")
    r = sync(team, clock, hs)
    assert r.failed == ""
    bodies = [n["properties"]["hs_note_body"] for n in hs.notes]
    assert bodies == ["<strong>Maybe</strong> (logged in hardno): &lt;b&gt;maybe&lt;/b&gt; in Q1",
                      "<strong>Tried, no answer</strong> (logged in hardno): voicemail",
                      "<strong>Decision ask sent</strong> (logged in hardno)"]
    assert all(n["associations"] == [{"to": {"id": acme_hs}, "types": [
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 214}]}] for n in hs.notes)
    assert hs.notes[0]["properties"]["hubspot_owner_id"] == "101"
    (meeting,) = hs.meetings
    assert meeting["properties"]["hs_meeting_title"] == "Next meeting (from hardno)"
    assert meeting["associations"][0]["types"][0]["associationTypeId"] == 212
    assert hs.deals[globex_hs]["dealstage"] == "closedlost"
    assert hs.deals[globex_hs]["closed_lost_reason"] == "went with a competitor"
    (hooli,) = [d for d in hs.deals.values() if d["dealname"] == "Hooli"]
    assert (hooli["hubspot_owner_id"], hooli["amount"], hooli["dealstage"]) == ("101", "5000.00", "closedwon")
    batches = [b for m, p, b in hs.calls("/batch/")]
    assert all(len(b["inputs"]) <= 100 for b in batches)
    assert sync(team, clock, hs).pushed == 0


def test_a_change_in_hubspot_after_the_last_sync_wins_and_history_stays(team, clock, hs):
    did = hs.add_deal("Acme", "101", amount="1000", modified_ms=T0)
    sync(team, clock, hs)
    acme = deals(team, "U1")["Acme"]
    log = DealLog(team, clock)
    log.log("U1", acme.id, Kind.MAYBE, "next quarter")
    log.log("U1", acme.id, Kind.WON, "")
    hs.edit_deal(did, modified_ms=T0 + 10_000, amount="2500", dealstage="contractsent")  # later, in HubSpot
    r = sync(team, clock, hs)
    acme = deals(team, "U1")["Acme"]
    assert acme.amount == Decimal("2500") and acme.status is Status.OPEN and acme.stage == "Contract Sent"
    assert hs.deals[did]["dealstage"] == "contractsent"  # hardno's older 'won' did not overwrite HubSpot
    with team.tx() as tx:
        kinds = [a.kind for a in tx.history("U1", acme.id)]
    assert kinds[:4] == [Kind.ADDED, Kind.MAYBE, Kind.WON, Kind.NOTE] and Kind.REOPEN in kinds
    assert acme.maybe_count == 1 and r.pushed == 1  # the maybe still reached HubSpot as a note


def test_429_and_5xx_are_waited_out(team, clock):
    with FakeHubSpot(burst=4, burst_window=1.0, search_per_second=2) as hs:
        hs.add_owner("101", "dana@example.com")
        for i in range(450):
            hs.add_deal(f"Deal {i}", "101", modified_ms=T0 + i)
        hs.fail_next("/search", 502, times=2)
        hs.fail_next("/pipelines", 429)
        r = sync(team, clock, hs)
        assert (r.pulled, r.failed) == (450, "") and hs.limited > 0
        assert len(deals(team, "U1")) == 450


def test_a_failed_sync_resumes_from_its_watermark(team, clock, hs):
    for i in range(450):
        hs.add_deal(f"Deal {i}", "101", modified_ms=T0 + i * 1000)
    hs.fail_next("/search", 500, times=1)  # first page fine after one retry...
    api = HubSpotApi(TOKEN, hs.url, backoff=0.01, max_retries=1)
    s = HubSpotSync(team, clock, TOKEN, hs.url, api=api)
    hs.failures.clear()
    original = api.search_deals
    pages = []

    def flaky(*a, **kw):
        if len(pages) == 1:
            hs.fail_next("/search", 503, times=5)  # ...then HubSpot goes down
        pages.append(a)
        return original(*a, **kw)

    api.search_deals = flaky
    r = s.run()
    assert r.failed.startswith("HubSpot answered 503") and r.pulled == 200
    hs.failures.clear()
    again = sync(team, clock, hs)
    assert again.failed == "" and len(deals(team, "U1")) == 450
    since = [f for f in hs.calls("/search")[-1][2]["filterGroups"][0]["filters"]
             if f["propertyName"] == "hs_lastmodifieddate"]
    # resumed where the failed sync stopped (less the margin for HubSpot's search index lag)
    assert since and int(since[0]["value"]) == T0 + 199 * 1000 - SEARCH_LAG_MS


def test_the_search_cap_is_walked_in_windows(team, clock):
    with FakeHubSpot(search_cap=600) as hs:
        hs.add_owner("101", "dana@example.com")
        for i in range(1500):
            hs.add_deal(f"Deal {i}", "101", modified_ms=T0 + i)
        r = sync(team, clock, hs, search_cap=600)
        assert (r.pulled, r.failed) == (1500, "") and len(deals(team, "U1")) == 1500
        assert all(int(b.get("after") or 0) + 200 <= 600 for _, _, b in hs.calls("/search"))


def test_cli_wrong_token_exits_2_naming_it_and_a_sync_prints_its_summary(tmp_path, hs):
    hs.add_deal("Acme", "101", modified_ms=T0)
    db = f"sqlite:///{tmp_path / 'h.db'}"

    def run(*args, **env):
        return subprocess.run([sys.executable, "-m", "bot", "crm", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60,
                              env=clean_env(DATABASE_URL=db, PYTHONPATH=str(ROOT), HUBSPOT_API_URL=hs.url, **env))

    assert "HUBSPOT_ACCESS_TOKEN" in assert_usage_error(run("sync", HUBSPOT_ACCESS_TOKEN="pat-wrong"))
    assert "HUBSPOT_ACCESS_TOKEN" in assert_usage_error(run("sync"))
    r = run("sync", "--dry-run", HUBSPOT_ACCESS_TOKEN=TOKEN)
    assert r.returncode == 0, r.stderr
    assert "pulled 0, pushed 0, unmatched 3, failed 0" in r.stdout  # no reps have emails in this database


def test_the_daily_budget_spans_syncs_and_a_daily_429_stops_until_later(team, clock, hs):
    from handlers.crm.hubspot_api import DAILY
    hs.add_deal("Acme", "101", modified_ms=T0)
    day = f"hubspot:daily:{clock.now().date().isoformat()}"
    with team.tx("T1") as tx:
        tx.set_crm_state(day, {"requests": DAILY - 2})  # earlier syncs today used nearly all of it
    r = sync(team, clock, hs)
    assert "daily" in r.failed and r.pulled == 0 and len(hs.calls("/search")) == 0
    with team.tx("T1") as tx:
        assert tx.crm_state(day) == {"requests": DAILY}
    clock.advance(timedelta(days=1))  # a new day, a new budget
    with FakeHubSpot(daily=2) as tight:  # HubSpot's own daily 429 (policy DAILY) is not retried
        tight.add_owner("101", "dana@example.com")
        tight.add_deal("Globex", "101", modified_ms=T0)
        r = sync(team, clock, tight)
        assert "daily limit" in r.failed and tight.limited == 1
    assert sync(team, clock, hs).pulled == 1


def test_an_activity_committed_behind_the_push_watermark_is_still_pushed_once(team, clock, hs):
    hs.add_deal("Acme", "101", modified_ms=T0)
    sync(team, clock, hs)
    acme = deals(team, "U1")["Acme"]
    DealLog(team, clock).log("U1", acme.id, Kind.MAYBE, "late commit")
    with team.tx("T1") as tx:  # a later id was read first: the watermark is already past this activity
        tx.set_crm_state("hubspot:push", {"after": tx.max_activity_id() + 5})
    assert sync(team, clock, hs).pushed == 1 and len(hs.notes) == 1
    assert sync(team, clock, hs).pushed == 0 and len(hs.notes) == 1


def test_a_rep_known_from_slack_by_email_gets_their_slack_deal_created_in_hubspot(slack, fake, store, clock, hs):
    fake.add_user("U1", "dana", real_name="Dana Scully", tz="America/New_York", email="Dana@Example.com")
    slack.deal("add Umbrella $8k")  # users.info gives the email (users:read.email); nothing typed twice
    with store.tx() as tx:
        assert tx.rep_ids_by_email() == {"dana@example.com": "U1"}
    r = sync(store, clock, hs)
    (created,) = [d for d in hs.deals.values() if d["dealname"] == "Umbrella"]
    assert (created["hubspot_owner_id"], created["amount"], created["dealstage"]) == ("101", "8000.00",
                                                                                      "appointmentscheduled")
    assert r.pushed == 1 and sync(store, clock, hs).pushed == 0 and len(hs.deals) == 1


def test_slack_deals_are_created_in_batches_of_100_and_each_linked_to_its_own(team, clock, hs):
    log = DealLog(team, clock)
    for i in range(150):
        log.add("U1", "T1", f"Prospect {i}", amount=Decimal(1000 + i))
    r = sync(team, clock, hs)
    assert r.pushed == 150 and [len(b["inputs"]) for _, _, b in hs.calls("/deals/batch/create")] == [100, 50]
    mine = deals(team, "U1")
    with team.tx() as tx:
        links = tx.remote_ids("hubspot", [d.id for d in mine.values()])
    # the fake answers a batch in reverse order, as HubSpot may: each deal still has its own HubSpot id
    assert all(hs.deals[links[d.id][0]]["dealname"] == name for name, d in mine.items())
    assert sync(team, clock, hs).pushed == 0 and len(hs.deals) == 150
