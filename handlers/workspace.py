"""Which workspace a request or a token is about: every stored row is scoped by it (storage.base.TxBase)."""

from __future__ import annotations

import threading
from typing import Any

from slack_bolt.request.internals import extract_team_id

_token_teams: dict[str, str] = {}
_lock = threading.Lock()


def team_of(body: Any) -> str:
    """The workspace of a request: the one the app is installed in, as Bolt reads it for its own context
    (`authorizations[0]` for events, so a Slack Connect channel's guest is not another workspace's rep);
    "" when the payload names none."""
    return (extract_team_id(body) if isinstance(body, dict) else None) or ""


def team_of_token(client: Any) -> str:
    """The workspace of the client's token (auth.test, asked once per token per process): what the
    single-token scheduled jobs (boards, the CRM sync) write under. "" when Slack can't say."""
    token = getattr(client, "token", None) or ""
    with _lock:
        if token in _token_teams:
            return _token_teams[token]
    try:
        team = str(client.auth_test().get("team_id") or "")
    except Exception:  # noqa: BLE001 - unreachable or refused: unknown now, asked again next time
        return ""
    with _lock:
        _token_teams[token] = team
    return team


def adopt_rows_without_team(store: Any, client: Any) -> int:
    """On `serve`'s start with one bot token: rows of a database from before workspaces whose team was never
    known ("", and no other team on record) become the token's workspace's, so they stay visible to its
    requests. Nothing when the team can't be known or the database already names one. How many rows."""
    from storage.base import AmbiguousWorkspace
    team = team_of_token(client)
    if not team:
        return 0
    try:
        if store.only_workspace() != "":
            return 0
    except AmbiguousWorkspace:
        return 0
    with store.tx(team) as tx:
        return int(tx.adopt_rows_without_team())
