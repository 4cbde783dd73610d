"""Where OAuth installs live: slack_sdk's SQLAlchemy installation and state stores on our database, with
every token encrypted at rest (Fernet, HARDNO_TOKEN_KEY).

The tables are slack_sdk's own (built by its classmethods into our metadata, storage/models.py, so our
migrations create them and the models-vs-migrations check covers them), with the token columns widened
to TEXT: a Fernet token is about 2.7 times its plain text. The store queries copies of those tables whose
token columns are `Sealed`: slack_sdk's own save / find / delete code runs unchanged, and every value
bound to a token column is encrypted on the way in and decrypted on the way out, so no code path can
write a token in plain text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, Table, Text, TypeDecorator, select
from sqlalchemy.engine import Engine

from storage import models as t

log = logging.getLogger(__name__)

# The columns of slack_sdk's tables that hold secrets.
SECRET_COLUMNS = {
    t.SLACK_INSTALLATIONS: ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"),
    t.SLACK_BOTS: ("bot_token", "bot_refresh_token"),
}
STATE_SECONDS = 600  # how long an install link's state is good for (Slack's and Bolt's default)


class Sealed(TypeDecorator):
    """TEXT holding a Fernet token: plain text in Python, ciphertext in the database."""

    impl = Text
    cache_ok = False  # holds a key: never share compiled statements through the cache key

    def __init__(self, fernet: Fernet):
        super().__init__()
        self.fernet = fernet

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return self.fernet.encrypt(str(value).encode()).decode()

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        try:
            return self.fernet.decrypt(str(value).encode()).decode()
        except InvalidToken:
            # Another key (HARDNO_TOKEN_KEY changed) or not ours: unusable, and never shown.
            log.error("a stored Slack token can't be decrypted with HARDNO_TOKEN_KEY (was the key changed?); "
                      "that workspace must install the app again")
            return None


def cipher(key: str) -> Fernet:
    """The Fernet of HARDNO_TOKEN_KEY (bot/config.py has checked its form)."""
    return Fernet(key.strip().encode())


def _sealed_copy(table: Table, metadata: MetaData, fernet: Fernet) -> Table:
    copy = table.to_metadata(metadata)
    for name in SECRET_COLUMNS.get(table.name, ()):
        copy.c[name].type = Sealed(fernet)
    return copy


class SealedInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy installation store over our tables, tokens encrypted at rest.

    `on_saved(installation)` runs after each install is stored (hardno clears a pending uninstall purge
    there); `on_deleted(enterprise_id, team_id)` after a workspace's tokens are all deleted."""

    def __init__(self, client_id: str, engine: Engine, key: str, *,
                 on_saved: Callable[[Installation], None] | None = None,
                 on_deleted: Callable[[str | None, str | None], None] | None = None):
        super().__init__(client_id=client_id, engine=engine, logger=log)
        fernet = cipher(key)
        self.metadata = MetaData()
        self.installations = _sealed_copy(t.Base.metadata.tables[t.SLACK_INSTALLATIONS], self.metadata, fernet)
        self.bots = _sealed_copy(t.Base.metadata.tables[t.SLACK_BOTS], self.metadata, fernet)
        self._on_saved, self._on_deleted = on_saved, on_deleted

    def create_tables(self) -> None:  # our migrations create them (storage/migrations/versions/0008_oauth.py)
        raise NotImplementedError("hardno's tables come from its migrations: run `hardno db upgrade`")

    def save(self, installation: Installation) -> None:
        super().save(installation)
        if self._on_saved is not None:
            self._on_saved(installation)

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        super().delete_all(enterprise_id=enterprise_id, team_id=team_id)
        if self._on_deleted is not None:
            self._on_deleted(enterprise_id, team_id)

    def installed(self) -> list[tuple[str | None, str | None]]:
        """(enterprise_id, team_id) of every workspace (or org-wide install) with a bot token stored."""
        c = self.bots.c
        q = (select(c.enterprise_id, c.team_id).where(c.client_id == self.client_id, c.bot_token.is_not(None))
             .distinct().order_by(c.enterprise_id, c.team_id))
        with self.engine.connect() as conn:
            return [(e, team) for e, team in conn.execute(q)]


class StateStore(SQLAlchemyOAuthStateStore):
    """slack_sdk's SQLAlchemy OAuth state store over our `slack_oauth_states` table.

    Its expiry is slack_sdk's, on the wall clock: an install link is a browser round trip, not a bot
    behaviour the settable clock drives."""

    def __init__(self, engine: Engine, expiration_seconds: int = STATE_SECONDS):
        super().__init__(expiration_seconds=expiration_seconds, engine=engine, logger=log)
        self.metadata = t.Base.metadata
        self.oauth_states = t.Base.metadata.tables[t.SLACK_OAUTH_STATES]

    def create_tables(self) -> None:
        raise NotImplementedError("hardno's tables come from its migrations: run `hardno db upgrade`")
