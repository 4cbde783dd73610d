"""Many workspaces through OAuth: the install flow through the real HTTP runner against the fake Slack
(`oauth.v2.access`, per-token `auth.test`), tokens encrypted at rest, each workspace's calls with its own
token (listeners and scheduled sweeps), uninstall (tokens at once, data after the grace days, a reinstall
cancels that), and the settings that turn it on."""

from __future__ import annotations

import http.client
import io
import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import yaml
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import MetaData, Text, text

from bot import logs, oauth
from bot.app import create_app
from bot.config import Settings
from bot.driver import SECRET, SlackDriver, _Inflight, bolt_listener_executor
from bot.runners import HttpRunner
from bot.scheduler import housekeeping, jobs, run_job
from bot.slack_client import make_client
from bot.workspaces import InstalledClients
from handlers.digest import sweep_digests
from handlers.domain.model import Status
from storage.installations import SECRET_COLUMNS, SealedInstallationStore
from storage.models import Base
from tests.fakeslack import CLIENT_ID, CLIENT_SECRET
from tests.test_nudger import digests, stuck

ROOT = Path(__file__).resolve().parents[1]
KEY = Fernet.generate_key().decode()
TOKEN_TABLES = ("slack_installations", "slack_bots")
ALL_TABLES = sorted(Base.metadata.tables)


class OAuthDriver(SlackDriver):
    """The real app in OAuth mode behind its HTTP runner: no bot token of its own; requests come from
    whichever workspace `team` names."""

    def __init__(self, store, clock, fake, *, threads: int = 4, **settings):
        self.store, self.clock, self.fake = store, clock, fake
        self.settings = Settings(_env_file=None, slack_signing_secret=SECRET, slack_api_url=fake.api_url,
                                 slack_client_id=CLIENT_ID, slack_client_secret=CLIENT_SECRET,
                                 hardno_token_key=KEY, **settings)
        self.client = make_client(None, fake.api_url)
        self.oauth = oauth.setup(self.settings, store, self.settings.require_oauth(http=True))
        self.app = create_app(self.settings, store, clock, self.client, oauth=self.oauth)
        self._inflight = _Inflight()
        self._inflight.wrap(bolt_listener_executor(self.app))
        self.runner = HttpRunner(self.app, store.ping, port=0, threads=threads).start_in_background()
        self.verifier = SignatureVerifier(SECRET)
        self.team = "T1"

    def command(self, text, user="U1", channel="C1", *, channel_name="sales", response_url=None, **kw):
        return self.form({"token": "legacy", "team_id": self.team, "team_domain": self.team.lower(),
                          "channel_id": channel, "channel_name": channel_name, "user_id": user,
                          "user_name": user.lower(), "command": "/deal", "text": text, "api_app_id": "A1",
                          "is_enterprise_install": "false",
                          "response_url": response_url or self.fake.response_url(f"{self.team}-{text[:8]}"),
                          "trigger_id": "trig.1"}, **kw)

    def workspace_event(self, event: dict, team: str):
        body = {"token": "legacy", "team_id": team, "api_app_id": "A1", "event": event, "type": "event_callback",
                "event_id": f"Ev{team}{event['type']}{os.urandom(4).hex()}", "event_time": 1,
                "authorizations": [{"team_id": team, "user_id": f"UBOT{team}", "is_bot": True}]}
        return self.post(json.dumps(body), "application/json")

    # -- the browser's side of the install -------------------------------------------------------------
    def browse(self, path: str, cookie: str | None = None) -> tuple[int, dict[str, str], str]:
        """GET `path` like a browser that does not follow redirects (they lead to slack.com)."""
        parts = urlsplit(self.runner.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
        finally:
            conn.close()

    def install(self, team: str) -> tuple[int, str]:
        """An admin of `team` clicks the install link, approves in Slack and comes back: (status, page)."""
        status, headers, _ = self.browse("/slack/install")
        assert status == 302, status
        state = parse_qs(urlsplit(headers["location"]).query)["state"][0]
        cookie = headers["set-cookie"].split(";")[0]
        code = self.fake.grant(team)
        status, _, page = self.browse("/slack/oauth_redirect?" + urlencode({"code": code, "state": state}), cookie)
        return status, page


@pytest.fixture
def two_workspaces(fake):
    fake.add_install("T1", "Acme Sales")
    fake.add_install("T2", "Beta Corp", user_token=True)
    fake.add_user("U7", "rita", real_name="Rita Levi", tz="Europe/Paris", team_id="T2")
    return fake


@pytest.fixture
def org(store, clock, two_workspaces):
    driver = OAuthDriver(store, clock, two_workspaces)
    yield driver
    driver.close()


def raw_rows(store) -> str:
    """Every row of every table, as text: what someone reading the database would see."""
    out = []
    with store.engine.connect() as conn:
        for table in ALL_TABLES:
            out += [repr(tuple(row)) for row in conn.execute(text(f"SELECT * FROM {table}"))]
    return "\n".join(out)


def token_rows(store, team: str) -> int:
    with store.engine.connect() as conn:
        return sum(conn.execute(text(f"SELECT count(*) FROM {t} WHERE team_id = :t"), {"t": team}).scalar_one()
                   for t in TOKEN_TABLES)


def open_deals(store, user: str) -> list[str]:
    with store.tx() as tx:
        return [d.company for d in tx.deals(user, [Status.OPEN])]


def api_calls_since(fake, n: int) -> list:
    return [c for c in fake.calls[n:] if c.method not in ("response_url", "file_upload")]


def add_deal(org, team: str, user: str, company: str) -> tuple[dict, list]:
    """`/deal add` from `team`: the reply, and the Web API calls the app made meanwhile."""
    org.team = team
    before = len(org.fake.calls)
    reply = org.deal(f"add {company} $10k", user=user)
    assert org.settle()
    return reply, api_calls_since(org.fake, before)


# -- the tables -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, build", [
    ("slack_installations", lambda md: SQLAlchemyInstallationStore.build_installations_table(md, "slack_installations")),
    ("slack_bots", lambda md: SQLAlchemyInstallationStore.build_bots_table(md, "slack_bots")),
    ("slack_oauth_states", lambda md: SQLAlchemyOAuthStateStore.build_oauth_states_table(md, "slack_oauth_states")),
])
def test_our_oauth_tables_are_slack_sdks_own_but_for_wider_token_columns(name, build):
    """storage/models.py writes slack_sdk's tables out (storage must not import slack_sdk): a slack_sdk
    that adds, drops or changes a column fails here, before its store queries a column we lack."""
    theirs, ours = build(MetaData()), Base.metadata.tables[name]
    wide = set(SECRET_COLUMNS.get(name, ()))

    def shape(table, widened=frozenset()):
        return [(c.name, repr(Text()) if c.name in widened else repr(c.type), c.nullable, c.primary_key)
                for c in table.c]
    assert shape(ours) == shape(theirs, wide)
    assert sorted((i.name, [c.name for c in i.columns]) for i in ours.indexes) == \
        sorted((i.name, [c.name for c in i.columns]) for i in theirs.indexes)


# -- the install flow ------------------------------------------------------------------------------------

def test_install_sets_a_state_cookie_and_sends_the_admin_to_slack_with_the_apps_scopes(org):
    status, headers, _ = org.browse("/slack/install")
    assert status == 302
    target = urlsplit(headers["location"])
    query = parse_qs(target.query)
    assert (target.scheme, target.netloc, target.path) == ("https", "slack.com", "/oauth/v2/authorize")
    assert query["client_id"] == [CLIENT_ID]
    manifest = yaml.safe_load((ROOT / "app.yaml").read_text())
    assert query["scope"][0].split(",") == manifest["oauth_config"]["scopes"]["bot"]
    state = query["state"][0]
    assert headers["set-cookie"].startswith(f"slack-app-oauth-state={state};")
    with org.store.engine.connect() as conn:  # the state is kept in our database, for any instance
        assert conn.execute(text("SELECT count(*) FROM slack_oauth_states WHERE state = :s"),
                            {"s": state}).scalar_one() == 1


def test_two_workspaces_install_and_their_tokens_are_stored_encrypted(org, fake, store):
    line_out = io.StringIO()
    handler = logging.StreamHandler(line_out)
    handler.setFormatter(logs.TextFormatter())
    root, levels = logging.getLogger(), {}
    root.addHandler(handler)
    for name in ("", "slack_sdk", "slack_bolt", "hardno"):
        levels[name] = logging.getLogger(name).level
        logging.getLogger(name).setLevel(logging.DEBUG)  # the chattiest the logs can be
    try:
        for team in ("T1", "T2"):
            status, page = org.install(team)
            assert status == 200 and "hardno is installed" in page, page
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    exchanged = fake.calls_to("oauth.v2.access")
    assert [c.ok for c in exchanged] == [True, True]  # through SLACK_API_URL, i.e. the fake
    assert token_rows(store, "T1") == 2 and token_rows(store, "T2") == 2  # an installation and a bot each
    rows = raw_rows(store)
    secrets = [fake.installs["T1"].bot_token, fake.installs["T2"].bot_token, fake.installs["T2"].user_token]
    assert "xoxb-" not in rows and "xoxp-" not in rows and not any(s in rows for s in secrets)
    assert "T1" in rows and "Beta Corp" in rows  # the rows are there, only their tokens are sealed
    logged = line_out.getvalue()
    assert "oauth.v2.access" in logged or "installed" in logged  # the logs did speak meanwhile
    assert "xoxb-" not in logged.replace("xoxb-(redacted)", "") and not any(s in logged for s in secrets)
    # What the store hands back is the real token, decrypted.
    bot = org.oauth.installations.find_bot(enterprise_id=None, team_id="T2")
    assert bot is not None and bot.bot_token == fake.installs["T2"].bot_token
    with store.tx() as tx:  # the workspace is known by name
        assert tx.uninstalled_since("T2") is None


def test_each_workspaces_command_is_answered_with_its_own_token(org, fake, store):
    for team in ("T1", "T2"):
        assert org.install(team)[0] == 200
    reply1, calls1 = add_deal(org, "T1", "U1", "Acme")
    reply2, calls2 = add_deal(org, "T2", "U7", "Globex")
    assert "Added" in str(reply1) and "Added" in str(reply2)
    t1, t2 = (f"Bearer {fake.installs[t].bot_token}" for t in ("T1", "T2"))
    # Bolt's authorize asked auth.test with the workspace's token, and every call went out with it.
    assert calls1 and {c.headers.get("authorization") for c in calls1} == {t1}
    assert calls2 and {c.headers.get("authorization") for c in calls2} == {t2}
    assert any(c.method == "auth.test" for c in calls2) and any(c.method == "users.info" for c in calls2)
    assert open_deals(store, "U1") == ["Acme"] and open_deals(store, "U7") == ["Globex"]


def test_a_scheduled_sweep_posts_each_reps_digest_with_their_workspaces_token(org, fake, store, clock):
    for team in ("T1", "T2"):
        assert org.install(team)[0] == 200
    org.team = "T1"
    stuck(org, clock, "U1", "Acme")  # Dana, New York
    org.team = "T2"
    stuck(org, clock, "U7", "Globex")  # Rita, Paris
    assert org.settle()
    before = len(fake.calls)
    clock.set(datetime(2026, 11, 24, 14, 0, tzinfo=UTC))  # 9:00 in New York, 15:00 in Paris
    sweep_digests(org.app.services, org.app.client)
    clock.set(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))  # 9:00 in Paris
    sweep_digests(org.app.services, org.app.client)
    sent = digests(fake)
    assert {c.params["channel"] for c in sent} == {"DU1", "DU7"}
    token = {c.params["channel"]: c.headers["authorization"] for c in sent}
    assert token == {"DU1": f"Bearer {fake.installs['T1'].bot_token}", "DU7": f"Bearer {fake.installs['T2'].bot_token}"}
    assert all(c.headers.get("authorization", "").startswith("Bearer xoxb-") for c in api_calls_since(fake, before))


def test_boards_run_once_per_installed_workspace_with_its_token(org, fake, store, clock):
    for team in ("T1", "T2"):
        assert org.install(team)[0] == 200
    before = len(fake.calls)
    [boards] = [j for j in jobs(crm=False) if j.name == "leaderboards"]
    assert run_job(boards, org.app.services, org.app.client)
    listed = [c for c in api_calls_since(fake, before) if c.method == "users.conversations"]
    assert sorted(c.headers["authorization"] for c in listed) == sorted(
        f"Bearer {fake.installs[t].bot_token}" for t in ("T1", "T2"))


# -- leaving -----------------------------------------------------------------------------------------------

def uninstall(org, team: str):
    org.fake.revoke(team)  # Slack revokes the tokens and tells the app
    r = org.workspace_event({"type": "app_uninstalled", "event_ts": "1.0"}, team)
    assert r.status == 200 and org.settle()


def test_uninstall_deletes_the_tokens_at_once_and_the_data_after_the_grace_days(org, fake, store, clock):
    for team in ("T1", "T2"):
        assert org.install(team)[0] == 200
    add_deal(org, "T1", "U1", "Acme")
    add_deal(org, "T2", "U7", "Globex")
    uninstall(org, "T2")
    assert token_rows(store, "T2") == 0 and token_rows(store, "T1") == 2
    with store.tx() as tx:
        assert tx.uninstalled_since("T2") == clock.now()
    # A command from the uninstalled workspace: no stale token is used, and nothing is stored.
    revoked = fake.installs["T2"].bot_token
    used = len(fake.calls_with_token(revoked))
    org.team = "T2"
    r = org.command("add Initech $5k", user="U7")
    assert r.status == 200 and org.settle()
    assert len(fake.calls_with_token(revoked)) == used
    assert "reinstall" in (r.body + str([c.params for c in fake.calls_to("response_url")][-1:])).lower()
    assert open_deals(store, "U7") == ["Globex"]  # kept through the grace period
    clock.advance(timedelta(days=29, hours=23))
    housekeeping(org.app.services, org.app.client)
    assert open_deals(store, "U7") == ["Globex"]
    clock.advance(timedelta(hours=1))
    housekeeping(org.app.services, org.app.client)
    assert open_deals(store, "U7") == [] and open_deals(store, "U1") == ["Acme"]  # only that workspace's
    with store.tx() as tx:
        assert tx.uninstalled_since("T2") is None and tx.workspaces_uninstalled_before(clock.now()) == []
    add_deal(org, "T1", "U1", "Hooli")  # the other workspace goes on as before
    assert open_deals(store, "U1") == ["Acme", "Hooli"]


def test_a_reinstall_within_the_grace_days_cancels_the_purge(org, fake, store, clock):
    for team in ("T1", "T2"):
        assert org.install(team)[0] == 200
    add_deal(org, "T2", "U7", "Globex")
    uninstall(org, "T2")
    clock.advance(timedelta(days=10))
    fake.add_install("T2", "Beta Corp")  # new tokens for the new install
    assert org.install("T2")[0] == 200
    clock.advance(timedelta(days=30))
    housekeeping(org.app.services, org.app.client)
    assert open_deals(store, "U7") == ["Globex"]
    _, calls = add_deal(org, "T2", "U7", "Initech")  # with the new token
    assert {c.headers.get("authorization") for c in calls} == {f"Bearer {fake.installs['T2'].bot_token}"}


def test_no_grace_days_deletes_the_data_with_the_tokens(store, clock, two_workspaces):
    org = OAuthDriver(store, clock, two_workspaces, hardno_uninstall_grace_days=0)
    try:
        for team in ("T1", "T2"):
            assert org.install(team)[0] == 200
        add_deal(org, "T2", "U7", "Globex")
        uninstall(org, "T2")
        assert open_deals(store, "U7") == [] and token_rows(store, "T2") == 0
    finally:
        org.close()


def test_a_revoked_user_token_leaves_the_bot_installed(org, fake, store):
    assert org.install("T2")[0] == 200
    r = org.workspace_event({"type": "tokens_revoked", "tokens": {"oauth": ["UADMIN"], "bot": []}}, "T2")
    assert r.status == 200 and org.settle()
    assert org.oauth.installations.find_bot(enterprise_id=None, team_id="T2") is not None
    assert "Added" in str(add_deal(org, "T2", "U7", "Globex")[0])
    r = org.workspace_event({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOTT2"]}}, "T2")
    assert r.status == 200 and org.settle()
    assert token_rows(store, "T2") == 0
    with store.tx() as tx:
        assert tx.uninstalled_since("T2") is not None


# -- what goes wrong on the way --------------------------------------------------------------------------

def test_a_bad_or_reused_state_gets_a_friendly_page_and_stores_nothing(org, fake, store):
    status, headers, _ = org.browse("/slack/install")
    state = parse_qs(urlsplit(headers["location"]).query)["state"][0]
    cookie = headers["set-cookie"].split(";")[0]
    forged = "/slack/oauth_redirect?" + urlencode({"code": fake.grant("T1"), "state": "not-a-state"})
    status, _, page = org.browse(forged, "slack-app-oauth-state=not-a-state")
    assert status == 401 and "expired or was already used" in page and "Traceback" not in page
    assert "/slack/install" in page  # where to start again
    no_cookie = "/slack/oauth_redirect?" + urlencode({"code": fake.grant("T1"), "state": state})
    status, _, page = org.browse(no_cookie)
    assert status == 400 and "another browser" in page
    good = "/slack/oauth_redirect?" + urlencode({"code": fake.grant("T1"), "state": state})
    assert org.browse(good, cookie)[0] == 200
    status, _, page = org.browse(good, cookie)  # the same state twice
    assert status == 401 and "Traceback" not in page
    assert token_rows(store, "T1") == 2 and [c.ok for c in fake.calls_to("oauth.v2.access")] == [True]


def test_a_code_slack_refuses_gets_a_friendly_page(org, fake, store):
    status, headers, _ = org.browse("/slack/install")
    state = parse_qs(urlsplit(headers["location"]).query)["state"][0]
    cookie = headers["set-cookie"].split(";")[0]
    status, _, page = org.browse("/slack/oauth_redirect?" + urlencode({"code": "forged", "state": state}), cookie)
    assert status == 401 and "did not accept" in page and "Traceback" not in page
    assert token_rows(store, "T1") == 0


def test_a_cancelled_install_says_so(org):
    status, _, page = org.browse("/slack/oauth_redirect?error=access_denied&state=x")
    assert status == 200 and "cancelled" in page


# -- settings ---------------------------------------------------------------------------------------------

def _serve(env: dict[str, str], tmp_path, *args: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "HARDNO_"))}
    return subprocess.run([sys.executable, "-m", "bot", *(args or ("serve", "--http", "--port", "0"))],
                          cwd=tmp_path, env={**base, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path}/h.db",
                                             "SLACK_SIGNING_SECRET": "s", **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("env, says", [
    ({"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": "x"}, "HARDNO_TOKEN_KEY is not set"),
    ({"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": "x", "HARDNO_TOKEN_KEY": "not-a-key"},
     "HARDNO_TOKEN_KEY must be a Fernet key"),
    ({"SLACK_CLIENT_ID": CLIENT_ID}, "SLACK_CLIENT_SECRET is not"),
])
def test_oauth_without_a_usable_token_key_exits_2_with_one_line(env, says, tmp_path):
    p = _serve(env, tmp_path)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1 and says in lines[0], p.stderr
    assert "Traceback" not in p.stderr and "not-a-key" not in p.stderr  # a secret is never echoed


def test_the_manifest_carries_the_redirect_url_in_oauth_mode(tmp_path):
    p = _serve({"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": "x"}, tmp_path,
               "manifest", "--url", "https://hardno.example.com/")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["oauth_config"]["redirect_urls"] == ["https://hardno.example.com/slack/oauth_redirect"]
    p = _serve({}, tmp_path, "manifest", "--url", "https://hardno.example.com")
    assert p.returncode == 0 and "redirect_urls" not in json.loads(p.stdout)["oauth_config"]


def test_no_log_line_carries_a_token():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    for formatter in (logs.TextFormatter(), logs.JsonFormatter()):
        handler.setFormatter(formatter)
        record = logging.LogRecord("slack_sdk", logging.DEBUG, __file__, 1, "body: %s",
                                   ({"access_token": "xoxb-1-2-abc", "refresh_token": "xoxe-1-zz"},), None)
        handler.emit(record)
    assert "xoxb-1-2-abc" not in out.getvalue() and "xoxe-1-zz" not in out.getvalue()
    assert out.getvalue().count("xoxb-(redacted)") == 2


def test_oauth_needs_http_mode(tmp_path):
    p = _serve({"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": "x", "HARDNO_TOKEN_KEY": KEY,
                "SLACK_APP_TOKEN": "xapp-1-x"}, tmp_path, "serve")
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1 and "--http" in lines[0], p.stderr


def test_a_workspace_of_an_enterprise_grid_org_is_found_by_its_team_alone(store, fake):
    """Rows carry a team id; a Grid workspace's install is keyed by (enterprise, team)."""
    installations = SealedInstallationStore(CLIENT_ID, store.engine, KEY)
    installations.save(Installation(app_id="A1", enterprise_id="E1", team_id="T3", team_name="Grid Sales",
                                    bot_token="xoxb-3-grid", bot_id="B3", bot_user_id="UBOT3", user_id="UADMIN"))
    clients = InstalledClients(installations, fake.api_url)
    assert installations.installed() == [("E1", "T3")]
    assert clients.for_team("T3").token == "xoxb-3-grid"
    assert clients.for_team("T3", "E1").token == "xoxb-3-grid"
    assert clients.for_team("T4") is None and clients.for_team("") is None
    installations.delete_all(enterprise_id="E1", team_id="T3")
    assert clients.for_team("T3") is None and installations.installed() == []


def test_the_jobs_run_in_oauth_mode_without_a_signing_secret(tmp_path):
    p = _serve({"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": "x", "HARDNO_TOKEN_KEY": KEY,
                "SLACK_SIGNING_SECRET": ""}, tmp_path, "digest", "--now")
    assert p.returncode == 0 and "digest: 0 sent" in p.stderr, p.stderr
