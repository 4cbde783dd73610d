"""`hardno import`: a CRM's CSV export becomes hardno deals, once, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest

from handlers.crm.importer import import_csv
from handlers.domain.crm_csv import CsvFileError, parse_csv
from handlers.domain.model import Kind, Rep, Source, Status
from tests.test_cli import ROOT, assert_usage_error, clean_env

HUBSPOT = """Record ID,Deal Name,Deal Stage,Close Date,Deal owner,Amount,Pipeline,Create Date
9001,Acme renewal,Appointment Scheduled,2026-12-15 00:00,Dana Scully (dana@example.com),12000,Sales Pipeline,2026-10-01 09:00
9002,Globex,Closed Won,2026-11-02 00:00,ben@example.com,"5,000.50",Sales Pipeline,2026-09-01 09:00
9003,Initech,Closed Lost,2026-10-20 00:00,Ben Meyer,800,Sales Pipeline,2026-09-01 09:00
"""
SALESFORCE = """Opportunity ID,Opportunity Name,Account Name,Stage,Amount,Amount Currency,Close Date,Opportunity Owner
006A1,Acme - expansion,Acme Corp,Prospecting,20000,EUR,12/20/2026,dana@example.com
006A2,Umbrella deal,Umbrella,Closed Lost,3000,EUR,10/05/2026,dana@example.com
006A3,Hooli,Hooli,Negotiation/Review,lots,EUR,12/01/2026,dana@example.com
"""
PIPEDRIVE = """Deal - ID,Deal - Title,Deal - Organization,Deal - Value,Deal - Currency,Deal - Stage,Deal - Status,Deal - Expected close date,Deal - Owner
17,Stark deal,Stark Industries,7500,USD,Proposal Made,open,2026-12-30,Ben Meyer <ben@example.com>
18,Wayne deal,Wayne Enterprises,1200,USD,Negotiations Started,won,2026-11-10,ben@example.com
"""
GENERIC = """company;amount;stage;close date;owner email
Soylent;€4.000;demo;2026-12-09;dana@example.com
Cyberdyne;9000;;;nobody@elsewhere.com
;100;x;;dana@example.com
"""


def reps(store):
    with store.tx() as tx:
        for uid, email in (("U1", "dana@example.com"), ("U2", "ben@example.com")):
            tx.save_rep(Rep(uid, "T1", uid))
            tx.set_rep_email(uid, email.upper())  # emails compare case-blind


def deals(store, owner):
    with store.tx() as tx:
        return {d.company: d for d in tx.deals(owner, list(Status))}


def test_columns_of_each_crm_are_recognised():
    assert parse_csv(HUBSPOT).source == "hubspot"
    assert parse_csv(SALESFORCE).source == "salesforce"
    assert parse_csv(PIPEDRIVE).source == "pipedrive"
    g = parse_csv(GENERIC)
    assert g.source == "csv" and set(g.columns) >= {"company", "amount", "stage", "close_date", "owner"}
    sf = parse_csv(SALESFORCE)
    assert [r.company for r in sf.rows] == ["Acme Corp", "Umbrella"]
    assert sf.rows[0].close_date.isoformat() == "2026-12-20" and sf.rows[0].currency == "EUR"
    assert [(s.line, s.reason) for s in sf.skipped] == [(4, "unreadable amount “lots”")]


def test_hubspot_export_goes_to_reps_by_owner_email(store, clock):
    reps(store)
    r = import_csv(store, clock, HUBSPOT.encode())
    assert (r.added, r.updated, r.unchanged) == (2, 0, 0)
    assert [(s.line, s.reason) for s in r.skipped] == [
        (4, "owner “Ben Meyer” has no email address (import with --user UXXXX)")]
    dana, ben = deals(store, "U1"), deals(store, "U2")
    assert dana["Acme renewal"].amount == Decimal("12000") and dana["Acme renewal"].stage == "Appointment Scheduled"
    won = ben["Globex"]
    assert won.status is Status.WON and won.amount == Decimal("5000.50")
    assert won.closed_at.date().isoformat() == "2026-11-02"  # the export's close date, not today
    with store.tx() as tx:
        # HubSpot's Record ID is the HubSpot deal id: the sync will find this deal, not add a second
        assert set(tx.linked_deals("hubspot", ["9001", "9002"])) == {"9001", "9002"}
        assert tx.history("U2", won.id)[-1].source is Source.IMPORT


def test_second_import_adds_nothing_and_changes_are_updates(store, clock):
    reps(store)
    import_csv(store, clock, SALESFORCE.encode())
    again = import_csv(store, clock, SALESFORCE.encode())
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    changed = SALESFORCE.replace("Prospecting,20000", "Closed Won,25000")
    third = import_csv(store, clock, changed.encode())
    assert (third.added, third.updated, third.unchanged) == (0, 1, 1)
    acme = deals(store, "U1")["Acme Corp"]
    assert acme.status is Status.WON and acme.amount == Decimal("25000")
    with store.tx() as tx:
        kinds = [a.kind for a in tx.history("U1", acme.id)]
    assert kinds == [Kind.ADDED, Kind.NOTE, Kind.WON]  # history is added to, never rewritten
    assert len(deals(store, "U1")) == 2


def test_rows_without_an_id_are_matched_by_owner_and_company(store, clock):
    reps(store)
    first = import_csv(store, clock, GENERIC.encode())
    assert first.added == 1
    assert [s.reason for s in first.skipped] == [
        "owner nobody@elsewhere.com is not a Slack user hardno knows (import with --user UXXXX)",
        "no deal or company name"]
    assert deals(store, "U1")["Soylent"].amount == Decimal("4000") and deals(store, "U1")["Soylent"].currency == "EUR"
    assert import_csv(store, clock, GENERIC.encode()).added == 0


def test_everything_to_one_user_and_dry_run_writes_nothing(store, clock):
    dry = import_csv(store, clock, PIPEDRIVE.encode(), user="U9", dry_run=True)
    assert (dry.added, dry.dry_run) == (2, True)
    assert dry.headline().startswith("Dry run, nothing written: would add 2")
    assert deals(store, "U9") == {}
    real = import_csv(store, clock, PIPEDRIVE.encode(), user="U9")
    got = deals(store, "U9")
    assert real.added == 2 and got["Wayne Enterprises"].status is Status.WON
    assert got["Stark Industries"].stage == "Proposal Made"


@pytest.mark.parametrize("data,why", [
    (b"\x89PNG\r\n\x1a\n\0\0\0", "not a CSV"),
    (b"", "empty"),
    (b"foo,bar\n1,2\n", "no header names the deal or company"),
])
def test_bad_files_say_why_and_lose_nothing(store, clock, data, why):
    reps(store)
    import_csv(store, clock, GENERIC.encode())
    with pytest.raises(CsvFileError, match=why):
        import_csv(store, clock, data)
    assert set(deals(store, "U1")) == {"Soylent"}


def test_cli_import_prints_a_summary_and_bad_files_exit_2(tmp_path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    good, bad = tmp_path / "deals.csv", tmp_path / "deals.xlsx"
    good.write_text(PIPEDRIVE)
    bad.write_bytes(b"PK\x03\x04\0\0binary")

    def run(*args):
        return subprocess.run([sys.executable, "-m", "bot", "import", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60, env=clean_env(DATABASE_URL=db, PYTHONPATH=str(ROOT)))

    r = run(str(good), "--user", "U1")
    assert r.returncode == 0, r.stderr
    assert "Imported from a Pipedrive export: 2 added, 0 updated, 0 unchanged, 0 skipped." in r.stdout
    assert "2 unchanged" in run(str(good), "--user", "U1").stdout
    line = assert_usage_error(run(str(bad)))
    assert "not a CSV" in line and "nothing was imported" in line
    assert "--user" in assert_usage_error(run(str(good), "--user", "dana"))
    assert "can't read" in assert_usage_error(run(str(tmp_path / "missing.csv")))


def test_cli_import_matches_owners_through_the_slack_directory(tmp_path, fake):
    """With a bot token, the workspace's emails come from users.list: reps who never spoke to the bot match."""
    fake.add_user("U7", "erin", real_name="Erin Reed", tz="Europe/Paris", email="dana@example.com")
    db = f"sqlite:///{tmp_path / 'h.db'}"
    (tmp_path / "sf.csv").write_text(SALESFORCE)
    r = subprocess.run([sys.executable, "-m", "bot", "import", "sf.csv"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60, env=clean_env(DATABASE_URL=db, SLACK_BOT_TOKEN="xoxb-test",
                                                            SLACK_API_URL=fake.api_url))
    assert r.returncode == 0, r.stderr
    assert "Imported from a Salesforce export: 2 added" in r.stdout and "line 4: skipped, unreadable amount" in r.stdout
    assert fake.calls_to("users.list")
    from storage import Store
    store = Store.from_url(db)
    with store.tx() as tx:
        assert {d.company for d in tx.deals("U7", list(Status))} == {"Acme Corp", "Umbrella"}
        assert tx.rep("U7").tz == "Europe/Paris"
    store.dispose()
