"""The `hardno` command line (also `python -m bot`). Exit 0 on success, 2 on bad usage or configuration,
always with one line on stderr saying what to fix; never a bare traceback."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import threading
from pathlib import Path

from bot.config import ConfigError, Settings, load_log_settings, load_settings

log = logging.getLogger("hardno")
MANIFEST = Path(__file__).resolve().parent.parent / "app.yaml"


class UsageError(Exception):
    pass


def slack_user_id(value: str) -> str:
    """`--user`: a Slack member id (U… or W…), not a name: the digest is keyed by id."""
    if not re.fullmatch(r"[UW][A-Z0-9]{2,}", value):
        raise argparse.ArgumentTypeError(f"{value[:40]!r} is not a Slack member id like U012AB3CD "
                                         "(Slack: the member's profile, ⋯, Copy member ID)")
    return value


def days_back(value: str) -> int:
    """`--days N`: a whole number of days, 1 to 3650."""
    if not value.isdigit() or not 1 <= int(value) <= 3650:
        raise argparse.ArgumentTypeError(f"{value[:20]!r} is not a number of days from 1 to 3650")
    return int(value)


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse would print the whole usage block)
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> Parser:
    p = Parser(prog="hardno", description="A Slack bot that turns open-ended maybes into decisions.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    s = sub.add_parser("serve", help="run the bot (Socket Mode when SLACK_APP_TOKEN is set, else HTTP)")
    s.add_argument("--http", action="store_true", help="HTTP mode even when SLACK_APP_TOKEN is set")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=3000)
    s.add_argument("--health-port", type=int, metavar="N",
                   help="also serve /healthz, /readyz and /metrics on this port (Socket Mode has no other)")
    d = sub.add_parser("digest", help="send the daily DM digests that are due")
    d.add_argument("--now", action="store_true", help="ignore the hour of day")
    d.add_argument("--user", metavar="UXXXX", type=slack_user_id, help="only this rep (a Slack member id)")
    d.add_argument("--dry-run", action="store_true",
                   help="print the digests instead of sending them (reads only: records nothing)")
    b = sub.add_parser("leaderboard", help="the leaderboard of closed-out deals for each channel the bot is in")
    b.add_argument("--post", action="store_true", help="post it to the channels (default: print)")
    b.add_argument("--period", choices=["week", "month", "quarter"], default="week")
    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    mf = sub.add_parser("manifest", help="print app.yaml as JSON for Slack's 'create app from manifest'")
    mf.add_argument("--url", metavar="https://HOST",
                    help="for HTTP mode: request URLs under this public base URL, Socket Mode off")
    ex = sub.add_parser("export", help="everything stored for one workspace, as JSON (never tokens)")
    ex.add_argument("--team", required=True, metavar="TXXXX")
    ex.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    pu = sub.add_parser("purge", help="delete everything stored for one workspace, its tokens included")
    pu.add_argument("--team", required=True, metavar="TXXXX")
    pu.add_argument("--yes", action="store_true", help="really delete (without it: only say what would go)")
    t = sub.add_parser("try", help="a local sandbox: the real bot in your terminal, no Slack needed")
    t.add_argument("--db", default="hardno-try.db", help="sandbox database file (default: hardno-try.db)")
    t.add_argument("--fresh", action="store_true", help="start with an empty sandbox")
    imp = sub.add_parser("import", help="import deals from a CRM's CSV export (HubSpot, Salesforce, Pipedrive, any CSV)")
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--user", metavar="UXXXX", help="give every row to this rep (default: by owner email)")
    imp.add_argument("--dry-run", action="store_true", help="say what would happen, write nothing")
    co = sub.add_parser("coach", help="the coach's drafts: which words were shown, sent and rated")
    co.add_argument("action", choices=["report"])
    co.add_argument("--days", type=days_back, default=30, metavar="N", help="the last N days (default: 30)")
    crm = sub.add_parser("crm", help="the CRM sync")
    crm.add_argument("action", choices=["sync"])
    crm.add_argument("--dry-run", action="store_true", help="read HubSpot, write nothing anywhere")
    return p


def main(argv: list[str] | None = None) -> int:
    from bot import logs
    logs.configure()  # until the settings are read: a bad HARDNO_LOG_* is itself reported in one line
    try:
        wanted = load_log_settings()
        logs.configure(wanted.hardno_log_level, wanted.hardno_log_format)
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return 0
        return COMMANDS[args.command](args) or 0
    except (UsageError, ConfigError) as e:
        print(f"hardno: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # last resort: one line for the user, the details in the log
        from storage import DatabaseError
        if isinstance(e, DatabaseError):
            print(f"hardno: {e}", file=sys.stderr)
            return 2
        log.debug("unexpected failure", exc_info=True)
        print(f"hardno: unexpected error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


def open_store(settings: Settings):
    from storage import Store, upgrade
    store = Store.from_url(settings.database_url)
    applied = upgrade(store.engine)
    if applied:  # alembic's own lines are kept out of INFO (bot/logs.py)
        log.info("applied %d migration%s, now at %s", len(applied), "s" if len(applied) != 1 else "", applied[-1])
    return store


def runtime(settings: Settings, *, http: bool):
    """Store, clock, Slack client and the Bolt app, as `serve` and the jobs use them."""
    from bot.app import create_app
    from bot.slack_client import make_client
    if settings.oauth:
        return oauth_runtime(settings, http=http)
    token = settings.require_slack(http=http)
    store = open_store(settings)
    client = make_client(token, settings.slack_api_url)
    return create_app(settings, store, settings.clock(), client)


def oauth_runtime(settings: Settings, *, http: bool, verify_requests: bool = True):
    """OAuth mode: no bot token of our own; each workspace's comes from its install (bot/oauth.py).
    `verify_requests=False`: for the jobs, which serve nothing."""
    from bot import oauth
    from bot.app import create_app
    from bot.slack_client import make_client
    key = settings.require_oauth(http=http, serving=verify_requests)
    store = open_store(settings)
    client = make_client(None, settings.slack_api_url)  # Bolt puts each request's token on its own copy
    return create_app(settings, store, settings.clock(), client, verify_requests=verify_requests,
                      oauth=oauth.setup(settings, store, key))


def cmd_serve(args) -> int:
    from bot.runners import HttpRunner, SocketRunner, stop_on_signals
    from bot.scheduler import start_scheduler
    from storage.health import readiness
    settings = load_settings()
    http = args.http or not settings.socket_mode
    app = runtime(settings, http=http)
    store = app.services.store
    from handlers.workspace import adopt_rows_without_team
    if adopted := adopt_rows_without_team(store, app.client):
        log.info("%d rows from before workspaces now belong to this token's workspace", adopted)

    def ready():
        return readiness(store.engine)

    def listen(what, port: int, option: str):
        try:
            return HttpRunner(what, store.ping, args.host, port, ready=ready)
        except OSError as e:  # e.g. the port is taken: say so in one line, exit 2
            raise ConfigError(f"can't listen on {args.host}:{port}: {e.strerror or e} (choose another {option})") \
                from None

    runner = listen(app, args.port, "--port") if http else SocketRunner(app, settings.app_token())
    health = listen(None, args.health_port, "--health-port") if args.health_port is not None else None
    if health is not None:
        health.start_in_background()
    scheduler = start_scheduler(app.services, app.client)

    stopping = threading.Lock()

    def stop():  # a second SIGTERM (impatient process managers send one) must not fail on the first's work
        if not stopping.acquire(blocking=False):
            return
        scheduler.shutdown(wait=False)
        runner.stop()
        if health is not None:
            health.stop()

    stop_on_signals(stop)
    try:
        if health is not None:
            log.info("health, readiness and metrics on %s", health.url)
        runner.serve()
    finally:
        if stopping.acquire(blocking=False) and scheduler.running:  # serve() ended without a signal
            scheduler.shutdown(wait=False)
        if health is not None:
            health.stop(wait=True)
        if isinstance(runner, HttpRunner):
            runner.stop(wait=True)  # serve() returns when the loop ends; let the drain finish its last step
        store.dispose()
    return 0


def cmd_digest(args) -> int:
    from handlers.digest import run_digests
    settings = load_settings()
    if args.dry_run:
        return dry_run_digest(settings, args)
    app = runtime_for_jobs(settings)
    report = run_digests(app.services, app.client, ignore_hour=args.now, only_user=args.user,
                         dry_run=False, out=sys.stdout)
    print(report.summary(), file=sys.stderr)
    return 0


def sqlite_file(url: str) -> Path | None:
    """The file a sqlite:/// URL names (None for other databases and in-memory ones)."""
    if not url.startswith("sqlite") or ":///" not in url:
        return None
    name = url.split(":///", 1)[1].split("?", 1)[0]
    return Path(name) if name and name != ":memory:" else None


def dry_run_digest(settings: Settings, args) -> int:
    """The digests printed, with nothing written anywhere: no migration, no new database file, no zone
    asked of Slack and cached (the reps' cached zones are used), no delivery claimed."""
    from bot.app import Services, make_coach
    from bot.slack_client import make_client
    from handlers.digest import run_digests
    from handlers.reps import RepDirectory
    from storage import Store
    file = sqlite_file(settings.database_url)
    if file is not None and not file.exists():
        print(f"digest: no database at {file} yet, so no digests to print (nothing was created)", file=sys.stderr)
        return 0
    store = Store.from_url(settings.database_url)
    try:
        client = make_client(None, settings.slack_api_url)  # no token: nothing is asked of Slack
        clock = settings.clock()
        services = Services(settings, store, clock, RepDirectory(store, client, clock), make_coach(settings))
        report = run_digests(services, client,
                             ignore_hour=args.now, only_user=args.user, dry_run=True, out=sys.stdout)
    finally:
        store.dispose()
    print(report.summary(), file=sys.stderr)
    return 0


def runtime_for_jobs(settings: Settings):
    """Jobs only need the bot token (no signing secret or app token); in OAuth mode each workspace's."""
    if settings.oauth:
        return oauth_runtime(settings, http=True, verify_requests=False)
    token = settings.slack_bot_token and settings.slack_bot_token.get_secret_value()
    if not token or not token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN is not set to an xoxb- bot token: the jobs read and post through "
                          "Slack (`hardno try` runs everything without Slack)")
    from bot.app import create_app
    from bot.slack_client import make_client
    store = open_store(settings)
    client = make_client(token, settings.slack_api_url)
    return create_app(settings, store, settings.clock(), client, verify_requests=False)


def cmd_leaderboard(args) -> int:
    from handlers.board import run_boards
    app = runtime_for_jobs(load_settings())
    from bot.workspaces import OneClient
    clients = app.services.clients or OneClient(app.client)
    for enterprise_id, team_id in clients.installed():  # single-token mode: once, with the one client
        client = clients.for_team(team_id, enterprise_id) or app.client
        report = run_boards(app.services, client, period=args.period, post=args.post, out=sys.stdout)
        print(report.summary(), file=sys.stderr)
    return 0


def cmd_db(args) -> int:
    from storage import Store, upgrade
    settings = load_settings()
    store = Store.from_url(settings.database_url)
    try:
        applied = upgrade(store.engine)
    finally:
        store.dispose()
    where = settings.database_url.split('://')[0]
    n = len(applied)
    print(f"applied {n} migration{'s' if n != 1 else ''} ({where}, now at {applied[-1]})" if applied
          else f"database is up to date ({where})")
    return 0


def cmd_manifest(args) -> int:
    import yaml
    if not MANIFEST.exists():
        raise ConfigError(f"app.yaml not found at {MANIFEST}")
    manifest = yaml.safe_load(MANIFEST.read_text())
    if args.url is not None:
        manifest = http_manifest(manifest, args.url, oauth=load_settings().oauth)
    print(json.dumps(manifest, indent=2))
    return 0


def http_manifest(manifest: dict, base_url: str, *, oauth: bool = False) -> dict:
    """The manifest for HTTP mode: Slack sends everything to `base_url`/slack/events, Socket Mode off;
    with `oauth` (SLACK_CLIENT_ID/SECRET set) Slack sends installers back to `base_url`/slack/oauth_redirect."""
    from urllib.parse import urlsplit
    parts = urlsplit(base_url.strip())
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise UsageError(f"--url must be your public https:// base URL, like https://hardno.example.com "
                         f"(got {base_url!r})")
    events = base_url.strip().rstrip("/") + "/slack/events"
    out = json.loads(json.dumps(manifest))  # a deep copy
    for command in out.get("features", {}).get("slash_commands", []):
        command["url"] = events
    settings = out.setdefault("settings", {})
    settings.setdefault("event_subscriptions", {})["request_url"] = events
    settings.setdefault("interactivity", {})["request_url"] = events
    settings["socket_mode_enabled"] = False
    if oauth:
        out.setdefault("oauth_config", {})["redirect_urls"] = [base_url.strip().rstrip("/") + "/slack/oauth_redirect"]
    return out


def cmd_export(args) -> int:
    store = open_store(load_settings())
    try:
        with store.read(args.team) as tx:
            data = tx.team_export(args.team)
    finally:
        store.dispose()
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"can't write {args.out}: {e.strerror or e}") from None
        print(f"wrote {len(data['deals'])} deals of {args.team} to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_purge(args) -> int:
    store = open_store(load_settings())
    try:
        with store.tx(args.team) as tx:
            counts = tx.purge_team(args.team) if args.yes else tx.team_counts(args.team)
    finally:
        store.dispose()
    summary = ", ".join(f"{n} {name}" for name, n in counts.items())
    if args.yes:
        print(f"deleted everything stored for {args.team}: {summary}")
    else:
        print(f"would delete for {args.team}: {summary}. Nothing was deleted; add --yes to delete it.")
    return 0


def cmd_try(args) -> int:
    from bot.sandbox import run_sandbox
    return run_sandbox(db=args.db, fresh=args.fresh, stdin=sys.stdin, stdout=sys.stdout)


def cmd_import(args) -> int:
    from handlers.crm.cli import run_import
    return run_import(load_settings(), open_store, args.file, user=args.user, dry_run=args.dry_run)


def cmd_coach(args) -> int:
    from handlers.coach_report import run_report
    return run_report(load_settings(), open_store, args.days, sys.stdout)


def cmd_crm(args) -> int:
    from handlers.crm.cli import run_sync
    return run_sync(load_settings(), open_store, dry_run=args.dry_run)


COMMANDS = {"import": cmd_import, "crm": cmd_crm, "coach": cmd_coach, "serve": cmd_serve, "digest": cmd_digest, "leaderboard": cmd_leaderboard, "db": cmd_db,
            "manifest": cmd_manifest, "try": cmd_try, "export": cmd_export, "purge": cmd_purge}
