"""`hardno import` and `hardno crm sync`: settings in, one summary out, exit 0 / 2."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from bot.config import ConfigError, Settings
from handlers.domain.crm_csv import CsvFileError, parse_csv
from storage.base import AmbiguousWorkspace

USER_ID = re.compile(r"^[UW][A-Z0-9]+$")


def slack_directory(settings: Settings, store) -> None:
    """Learn every workspace member's email from users.list (users:read.email), so owners match reps who
    haven't talked to the bot yet. Without a bot token, only the emails reps' own profiles gave are known."""
    token = settings.slack_bot_token and settings.slack_bot_token.get_secret_value()
    if not token:
        return
    from slack_sdk.errors import SlackApiError

    from bot.slack_client import make_client
    from handlers.domain.model import Rep
    from handlers.reps import valid_zone
    from handlers.workspace import team_of_token
    client = make_client(token, settings.slack_api_url)
    team = team_of_token(client)  # the token's workspace: its members are its reps
    cursor = None
    while True:
        try:
            page = client.users_list(limit=200, cursor=cursor) if cursor else client.users_list(limit=200)
        except SlackApiError as e:  # carry on with the emails already known; say so once
            print(f"hardno: users.list failed ({e.response.get('error')}): matching by the emails already known",
                  file=sys.stderr)
            return
        with store.tx(team or None) as tx:
            for u in page.get("members") or []:
                email = (u.get("profile") or {}).get("email")
                if not email or u.get("deleted") or u.get("is_bot"):
                    continue
                if tx.rep(u["id"]) is None:
                    tx.save_rep(Rep(u["id"], team or u.get("team_id") or "",
                                    (u.get("real_name") or u.get("name") or "")[:200],
                                    valid_zone(u.get("tz"))))
                tx.set_rep_email(u["id"], email)
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return


def run_import(settings: Settings, open_store, file: str, *, user: str | None, dry_run: bool) -> int:
    from bot.clock import Clock
    from handlers.crm.importer import import_csv
    if user is not None and not USER_ID.match(user):
        raise ConfigError(f"--user {user!r} is not a Slack user id (like U012ABCDEF)")
    path = Path(file)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"can't read {file}: {e.strerror or e}") from None
    try:  # read the whole file before touching the database: a bad file changes nothing
        parsed = parse_csv(data)
    except CsvFileError as e:
        raise ConfigError(f"{file}: {e}; nothing was imported") from None
    store = open_store(settings)
    try:
        if user is None:
            slack_directory(settings, store)
        result = import_csv(store, Clock(), parsed, user=user, dry_run=dry_run)
    except AmbiguousWorkspace as e:
        raise ConfigError(f"{e}; nothing was imported") from None
    finally:
        store.dispose()
    for line in result.lines():
        print(line)
    return 0


def run_sync(settings: Settings, open_store, *, dry_run: bool) -> int:
    from bot.clock import Clock
    from handlers.crm.hubspot import AuthError, HubSpotSync
    from handlers.crm.hubspot_api import HubSpotApi, HubSpotError
    if settings.hubspot_access_token is None:
        raise ConfigError("HUBSPOT_ACCESS_TOKEN is not set: set it to your HubSpot private app's access token")
    token = settings.hubspot_access_token.get_secret_value()
    api = HubSpotApi(token, settings.hubspot_api_url)
    try:  # the token first, before the database: a wrong one is one line and nothing else
        api.owners()
    except AuthError as e:
        raise ConfigError(f"HUBSPOT_ACCESS_TOKEN was refused by HubSpot ({e}): check the private app's "
                          "token and its scopes (deals read/write, owners read, contacts read/write)") from None
    except HubSpotError as e:
        raise ConfigError(f"HUBSPOT_API_URL {settings.hubspot_api_url}: {e}") from None
    store = open_store(settings)
    try:
        if not dry_run:
            slack_directory(settings, store)
        report = HubSpotSync(store, Clock(), token, settings.hubspot_api_url, api=api).run(dry_run=dry_run)
    except AmbiguousWorkspace as e:
        raise ConfigError(f"{e}; nothing was synced") from None
    finally:
        store.dispose()
    print(report.summary())
    for line in report.details():
        print(line, file=sys.stderr)
    return 1 if report.failed else 0
