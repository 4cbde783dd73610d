"""OAuth mode (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET): Bolt's install flow on our database.

`GET /slack/install` sets a state cookie and redirects to Slack's authorize page with app.yaml's scopes;
`GET /slack/oauth_redirect` exchanges the code (oauth.v2.access, through SLACK_API_URL) and stores the
install, tokens encrypted (storage/installations.py). From then on Bolt's authorize finds each request's
workspace token, and `clients` (bot/workspaces.py) gives every other Slack call its workspace's token.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from pathlib import Path

import yaml
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.models.installation import Installation

from bot.config import Settings
from bot.workspaces import InstalledClients
from storage import Store
from storage.installations import SealedInstallationStore, StateStore

log = logging.getLogger("hardno")
MANIFEST = Path(__file__).resolve().parent.parent / "app.yaml"
INSTALL_PATH, REDIRECT_PATH = "/slack/install", "/slack/oauth_redirect"
# Why an install failed, in words for the admin who clicked (Bolt's reasons; anything else: the generic one).
REASONS = {
    "access_denied": "The install was cancelled in Slack.",
    "invalid_browser": "This link was opened in another browser than the one that started the install.",
    "invalid_state": "This install link has expired or was already used.",
    "missing_code": "Slack sent no authorization code.",
    "invalid_code": "Slack did not accept the authorization code (it may have been used already).",
    "storage_error": "The install could not be saved.",
}


@dataclass
class OAuth:
    settings: OAuthSettings
    installations: SealedInstallationStore
    clients: InstalledClients


def bot_scopes(manifest: Path = MANIFEST) -> list[str]:
    """The bot scopes app.yaml asks for: the install link asks for exactly those."""
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    return list(((data.get("oauth_config") or {}).get("scopes") or {}).get("bot") or [])


def setup(settings: Settings, store: Store, key: str) -> OAuth:
    """The install flow, the encrypted installation store and each workspace's client."""
    client_id = settings.slack_client_id or ""
    secret = settings.slack_client_secret.get_secret_value() if settings.slack_client_secret else ""

    def saved(installation: Installation) -> None:  # an install (or reinstall) cancels a pending purge
        if installation.team_id:
            with store.tx(installation.team_id) as tx:
                if tx.workspace_installed(installation.team_id, installation.team_name):
                    log.info("%s installed hardno again: its data is kept", installation.team_id)

    installations = SealedInstallationStore(client_id, store.engine, key, on_saved=saved)
    oauth_settings = OAuthSettings(
        client_id=client_id, client_secret=secret, scopes=bot_scopes(), install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH, install_page_rendering_enabled=False,  # straight to Slack
        installation_store=installations, state_store=StateStore(store.engine),
        callback_options=CallbackOptions(success=_installed, failure=_failed), logger=log)
    return OAuth(oauth_settings, installations, InstalledClients(installations, settings.slack_api_url))


def _page(status: int, title: str, words: str) -> BoltResponse:
    body = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body style='font-family:sans-serif;max-width:36em;margin:4em auto'><h1>{html.escape(title)}</h1>"
            f"<p>{words}</p></body></html>")
    return BoltResponse(status=status, body=body, headers={"Content-Type": "text/html; charset=utf-8"})


def _installed(args: SuccessArgs) -> BoltResponse:
    team = args.installation.team_name or args.installation.team_id or "your workspace"
    log.info("hardno installed in %s", args.installation.team_id)
    return _page(200, "hardno is installed", f"hardno is now in {html.escape(team)}. In Slack, type "
                 "<code>/deal help</code> to start, or open hardno's Home tab.")


def _failed(args: FailureArgs) -> BoltResponse:
    log.warning("an install did not complete: %s", args.reason)
    why = REASONS.get(args.reason, "Something went wrong while installing.")
    again = f"<a href='{INSTALL_PATH}'>Start the install again</a>"
    return _page(args.suggested_status_code or 400, "hardno was not installed", f"{html.escape(why)} {again}.")
