"""Who a rep is: name and time zone from Slack's users.info, cached in the database."""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.domain.model import Rep
from handlers.domain.zones import known_zone

log = logging.getLogger(__name__)
REFRESH = timedelta(days=1)  # people travel and DST rules change; ask Slack again daily


class RepDirectory:
    """`clients` (bot/workspaces.py) gives each workspace's client; without it, `client` speaks for all."""

    def __init__(self, store, client: WebClient, clock, clients=None):
        self.store, self.client, self.clock, self.clients = store, client, clock, clients

    def _client(self, team_id: str) -> WebClient:
        if self.clients is None or not self.clients.multi:
            return self.client
        return self.clients.for_team(team_id) or self.client  # not installed: Slack answers not_authed

    def get(self, user_id: str, team_id: str = "") -> Rep:
        """The rep `user_id` of the workspace `team_id` (the same user id in another workspace is another
        rep), with a time zone no older than a day (or the cached one if Slack can't say)."""
        with self.store.tx(team_id) as tx:
            rep = tx.rep(user_id)
        now = self.clock.now()
        if rep and rep.tz_checked_at and now - rep.tz_checked_at < REFRESH:
            return rep
        rep = rep or Rep(user_id, team_id)
        try:
            user = self._client(team_id or rep.team_id).users_info(user=user_id)["user"]
        except SlackApiError as e:
            log.warning("users.info failed for %s: %s; keeping zone %s", user_id, e.response.get("error"), rep.tz)
            return rep
        profile = user.get("profile") or {}
        # The real name first: drafts sign off with the first name, boards show it to the team.
        name = user.get("real_name") or profile.get("real_name") or profile.get("display_name") or user.get("name")
        # The workspace asked about, not the user's home team: on Grid a user of another workspace of the
        # org is a rep of each workspace they use hardno in.
        rep = rep.replace(name=(name or rep.name)[:200], tz=valid_zone(user.get("tz"), rep.tz),
                          team_id=team_id or user.get("team_id") or rep.team_id, tz_checked_at=now)
        with self.store.tx(rep.team_id) as tx:
            tx.save_rep(rep)
            tx.set_rep_email(user_id, profile.get("email"))  # users:read.email: the CRM sync matches owners by it
        return rep

    def dm_channel(self, rep: Rep) -> str:
        """The rep's DM channel with the bot: conversations.open once, then cached."""
        if rep.dm_channel:
            return rep.dm_channel
        channel = self._client(rep.team_id).conversations_open(users=rep.user_id)["channel"]["id"]
        with self.store.tx(rep.team_id) as tx:
            current = tx.rep(rep.user_id) or rep
            tx.save_rep(current.replace(dm_channel=channel))
        return channel


def valid_zone(name: str | None, fallback: str = "UTC") -> str:
    return known_zone(name, fallback)
