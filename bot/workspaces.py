"""Which Web API client speaks for a workspace: `clients.for_team(team_id, enterprise_id)`.

Listeners get theirs from Bolt (its authorize puts the workspace's token on the request's `client`);
everything else that calls Slack about a workspace (the scheduled sweeps, zone refreshes, the CLI's jobs)
asks `services.clients`:

- single-token mode (SLACK_BOT_TOKEN, the default): `OneClient` answers every team with the one client,
  so nothing changes there;
- OAuth mode (SLACK_CLIENT_ID/SECRET): `InstalledClients` reads the workspace's bot token from the
  installation store (decrypted there) on every call, so a token deleted at uninstall is never used
  again, by this instance or any other; a workspace without one has no client (None).
"""

from __future__ import annotations

from typing import Any, Protocol

from slack_sdk import WebClient

from bot.slack_client import make_client

Team = tuple[str | None, str | None]  # (enterprise_id, team_id), as the installation store keys them


class Clients(Protocol):
    multi: bool  # True: each workspace has its own token (OAuth)

    def for_team(self, team_id: str | None, enterprise_id: str | None = None) -> WebClient | None: ...

    def installed(self) -> list[Team]: ...


class OneClient:
    """Single-token mode: one workspace, one client."""

    multi = False

    def __init__(self, client: WebClient):
        self.client = client

    def for_team(self, team_id: str | None, enterprise_id: str | None = None) -> WebClient | None:
        return self.client

    def installed(self) -> list[Team]:
        return [(None, None)]  # "the token's own workspace": jobs run once, with the one client


class InstalledClients:
    """OAuth mode: each workspace's client from its stored bot token."""

    multi = True

    def __init__(self, installations: Any, api_url: str):
        self.installations, self.api_url = installations, api_url  # storage.installations.SealedInstallationStore

    def for_team(self, team_id: str | None, enterprise_id: str | None = None) -> WebClient | None:
        if not team_id and not enterprise_id:
            return None
        bot = self.installations.find_bot(enterprise_id=enterprise_id or None, team_id=team_id or None)
        if bot is None and team_id and enterprise_id is None:
            # Callers that know only the team (most rows carry no enterprise id): an install in an
            # Enterprise Grid workspace is keyed by both, so look the team up by itself too.
            bot = next((self.installations.find_bot(enterprise_id=e, team_id=t)
                        for e, t in self.installations.installed() if t == team_id and e), None)
        if bot is None or not bot.bot_token:
            return None
        return make_client(bot.bot_token, self.api_url)

    def installed(self) -> list[Team]:
        return self.installations.installed()


def client_for(services: Any, team_id: str | None, fallback: Any) -> Any:
    """The client for the workspace `team_id`: `fallback` in single-token mode, else that workspace's from
    `services.clients`; None when it is not installed (any more): then nothing is sent there."""
    clients = getattr(services, "clients", None)
    if clients is None or not clients.multi:
        return fallback
    return clients.for_team(team_id)
