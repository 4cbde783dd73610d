"""Tables. Column names match the fields of handlers.domain.model so rows map 1:1 to plain data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy import text as sql  # `text` is also a column name in this module
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on every backend.

    SQLite has no time zones: store naive UTC there (so text comparisons order
    correctly) and put the zone back on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the database; use aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
          "ck": "ck_%(table_name)s_%(constraint_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s",
          "pk": "pk_%(table_name)s"}

Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite only autoincrements INTEGER keys


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, Decimal: Numeric(16, 2), date: Date}


class Workspace(Base):
    """A Slack workspace hardno serves. Every other table's rows carry its `team_id`: nothing of one workspace
    is visible from another (see storage.base.TxBase)."""

    __tablename__ = "workspaces"
    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(32), index=True)  # its Enterprise Grid org, if any
    name: Mapped[str | None] = mapped_column(String(200))
    tz: Mapped[str | None] = mapped_column(String(64))  # for the leaderboard when a channel sets none
    thresholds: Mapped[dict | None] = mapped_column(JSON)  # overrides of the nudger's Thresholds
    # app_uninstalled (or its bot token revoked): its data goes HARDNO_UNINSTALL_GRACE_DAYS later unless it
    # installs again first (which clears this)
    uninstalled_at: Mapped[datetime | None]


class Rep(Base):
    __tablename__ = "reps"
    # (team, user): on Enterprise Grid one user id is a member of several workspaces, each its own rep there.
    team_id: Mapped[str] = mapped_column(String(32), primary_key=True, default="")
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    tz: Mapped[str] = mapped_column(String(64), default="UTC")
    tz_checked_at: Mapped[datetime | None]  # users.info is asked again when this is a day old
    dm_channel: Mapped[str | None] = mapped_column(String(32))  # from conversations.open, cached
    digest_hour: Mapped[int | None]  # None: HARDNO_DIGEST_HOUR
    digest_on: Mapped[bool] = mapped_column(Boolean, default=True)
    digest_weekends: Mapped[bool] = mapped_column(Boolean, default=False)
    board_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str | None] = mapped_column(String(320), index=True)  # users:read.email: CRM owner matching


class Deal(Base):
    __tablename__ = "deals"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    owner_id: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[str] = mapped_column(String(32), default="")
    company: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(8))
    stage: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="open")
    next_meeting_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(Text)
    maybe_count: Mapped[int] = mapped_column(default=0)
    first_maybe_at: Mapped[datetime | None]
    last_maybe_at: Mapped[datetime | None]
    last_maybe_note: Mapped[str | None] = mapped_column(Text)
    touch_count: Mapped[int] = mapped_column(default=0)
    touches_since_answer: Mapped[int] = mapped_column(default=0)
    last_answer_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime | None]
    stage_since: Mapped[datetime | None]
    asked_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_deals_team_owner_status", "team_id", "owner_id", "status"),
        # Closed deals of a span, whatever the workspace (few per week: the team is a filter on them).
        Index("ix_deals_status_closed_at", "status", "closed_at"),
        # The nudger's median deal size per rep and currency: an index-ordered GROUP BY, no sort of every deal.
        Index("ix_deals_team_owner_amount", "team_id", "owner_id", "currency", "amount",
              postgresql_where=sql("amount IS NOT NULL"), sqlite_where=sql("amount IS NOT NULL")),
    )


class Activity(Base):
    __tablename__ = "activities"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), default="command")
    when: Mapped[datetime | None]

    __table_args__ = (
        # The nudger's time-per-stage medians walk each deal's stage changes in order: only those rows
        # (a tenth of the history), already sorted, and on PostgreSQL without touching the table.
        Index("ix_activities_stage_changes", "deal_id", "at", "id", postgresql_include=["text"],
              postgresql_where=sql("kind = 'stage'"), sqlite_where=sql("kind = 'stage'")),
    )


class SlackEvent(Base):
    """Event ids already handled, so a retried delivery has its effect once.

    Global, not per workspace: Slack's event ids are unique across workspaces, and it holds no workspace data
    (an id and a time)."""

    __tablename__ = "slack_events"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime]


class Delivery(Base):
    """A scheduled post claimed before it is sent: the unique key makes it exactly-once."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32), default="")  # the workspace of the rep or channel
    kind: Mapped[str] = mapped_column(String(16))  # digest | board
    target: Mapped[str] = mapped_column(String(32))  # rep user id or channel id
    period: Mapped[str] = mapped_column(String(32))  # the rep's local date, or the board's span start
    state: Mapped[str] = mapped_column(String(16), default="claimed")  # see handlers/delivery.py
    claimed_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]  # a claim not settled by then belongs to a dead instance
    checked_at: Mapped[datetime | None]  # an "unknown" post was looked for in its channel then
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=1)
    channel: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    # What clicks have done to the posted message since ({"v": n, "lines": {key: mark}}): every chat.update
    # shows all of it, whichever copy of the message the click came from.
    marks: Mapped[dict | None] = mapped_column(JSON)
    __table_args__ = (UniqueConstraint("team_id", "kind", "target", "period", name="uq_deliveries_key"),)


class Channel(Base):
    """A channel the bot is in, and its leaderboard settings."""

    __tablename__ = "channels"
    # (team, channel): a channel shared between workspaces has its own settings in each.
    team_id: Mapped[str] = mapped_column(String(32), primary_key=True, default="")
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    board_on: Mapped[bool] = mapped_column(Boolean, default=True)
    board_day: Mapped[str | None] = mapped_column(String(3))  # None: HARDNO_LEADERBOARD_CRON
    board_time: Mapped[str | None] = mapped_column(String(5))
    tz: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[bool] = mapped_column(Boolean, default=False)
    live: Mapped[bool] = mapped_column(Boolean, default=False)
    last_kudos_at: Mapped[datetime | None]
    joined_at: Mapped[datetime | None]


class Proposal(Base):
    """An update read from chat, waiting for the rep's one-click confirmation."""

    __tablename__ = "proposals"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32), default="")
    user_id: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | logged | ignored
    __table_args__ = (Index("ix_proposals_team_user", "team_id", "user_id"),)


class CrmLink(Base):
    """A hardno deal's id in an outside system: a HubSpot deal id, or the row id of an imported export.

    For HubSpot, `synced` holds the deal's fields as last pulled or pushed: a field HubSpot shows with a
    different value changed there since, and wins."""

    __tablename__ = "crm_links"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32), default="")  # its deal's: two workspaces, two CRMs
    system: Mapped[str] = mapped_column(String(16))  # hubspot | salesforce | pipedrive | csv
    external_id: Mapped[str] = mapped_column(String(128))
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    synced: Mapped[dict | None] = mapped_column(JSON)
    synced_at: Mapped[datetime | None]
    __table_args__ = (UniqueConstraint("team_id", "system", "external_id", name="uq_crm_links_key"),)


class CrmState(Base):
    """Sync watermarks and counters, by name (e.g. the pull watermark of a HubSpot owner)."""

    __tablename__ = "crm_state"
    team_id: Mapped[str] = mapped_column(String(32), primary_key=True, default="")
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)


class CrmPush(Base):
    """One thing written to HubSpot (an activity as a note or meeting): claimed once, so never written twice.

    Like `activities`, no team column of its own: a child of its deal (cascading), whose team scopes it; its
    key names an activity by its id, unique across workspaces."""

    __tablename__ = "crm_pushes"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # e.g. "act:123"
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    remote_id: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[datetime]


# -- OAuth (SLACK_CLIENT_ID/SECRET): slack_sdk's SQLAlchemy stores' tables, column for column as its
# `build_installations_table` / `build_bots_table` / `build_oauth_states_table` make them (tests/test_oauth.py
# compares them), so its stores query exactly what our migrations create; storage/installations.py wraps
# them. Written out here because importing storage must not load slack_sdk (tests/test_layering.py).
# Token columns are TEXT, not VARCHAR(200): they hold Fernet ciphertext, about 2.7x the token's length.
SLACK_INSTALLATIONS, SLACK_BOTS, SLACK_OAUTH_STATES = "slack_installations", "slack_bots", "slack_oauth_states"


def _installed_at() -> Column:
    return Column("installed_at", DateTime, nullable=False, default=func.now())


slack_installations = Table(
    SLACK_INSTALLATIONS, Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(32), nullable=False),
    Column("app_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("enterprise_name", String(200)),
    Column("enterprise_url", String(200)),
    Column("team_id", String(32)),
    Column("team_name", String(200)),
    Column("bot_token", Text),
    Column("bot_id", String(32)),
    Column("bot_user_id", String(32)),
    Column("bot_scopes", String(1000)),
    Column("bot_refresh_token", Text),
    Column("bot_token_expires_at", DateTime),
    Column("user_id", String(32), nullable=False),
    Column("user_token", Text),
    Column("user_scopes", String(1000)),
    Column("user_refresh_token", Text),
    Column("user_token_expires_at", DateTime),
    Column("incoming_webhook_url", String(200)),
    Column("incoming_webhook_channel", String(200)),
    Column("incoming_webhook_channel_id", String(200)),
    Column("incoming_webhook_configuration_url", String(200)),
    Column("is_enterprise_install", Boolean, default=False, nullable=False),
    Column("token_type", String(32)),
    _installed_at(),
    Index(f"{SLACK_INSTALLATIONS}_idx", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"),
)

slack_bots = Table(
    SLACK_BOTS, Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(32), nullable=False),
    Column("app_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("enterprise_name", String(200)),
    Column("team_id", String(32)),
    Column("team_name", String(200)),
    Column("bot_token", Text),
    Column("bot_id", String(32)),
    Column("bot_user_id", String(32)),
    Column("bot_scopes", String(1000)),
    Column("bot_refresh_token", Text),
    Column("bot_token_expires_at", DateTime),
    Column("is_enterprise_install", Boolean, default=False, nullable=False),
    _installed_at(),
    Index(f"{SLACK_BOTS}_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
)

slack_oauth_states = Table(
    SLACK_OAUTH_STATES, Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(200), nullable=False),
    Column("expire_at", DateTime, nullable=False),
)
class Drill(Base):
    """A practice drill: the coach played a prospect's brush-off in the rep's DM (a thread) and scored the
    answer. Private to the rep: every query goes through user_id."""

    __tablename__ = "drills"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32), default="")
    user_id: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str] = mapped_column(String(32))  # the prospect's line: the thread parent
    brushoff: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | pushed | done
    turns: Mapped[list] = mapped_column(JSON)  # [{"role": "prospect"|"rep", "text": ...}, ...]
    score: Mapped[int | None]  # checks passed, once scored
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    __table_args__ = (
        UniqueConstraint("team_id", "channel", "thread_ts", name="uq_drills_thread"),  # per workspace: ids repeat on Grid
        Index("ix_drills_user_created", "team_id", "user_id", "created_at"),
    )
class CoachDraft(Base):
    """One draft the coach showed a rep, for `hardno coach report`: which words were shown, sent, and rated."""

    __tablename__ = "coach_drafts"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32), default="")
    user_id: Mapped[str] = mapped_column(String(32))  # the rep it was drafted for: only they rate it
    deal_id: Mapped[int | None] = mapped_column(Id)  # no foreign key: the counts outlive a deleted deal
    proposal_id: Mapped[int] = mapped_column(Id, unique=True)  # the pending draft its buttons carry
    kind: Mapped[str] = mapped_column(String(16))  # ask | meeting | breakup | objection
    tone: Mapped[str] = mapped_column(String(16))
    variant: Mapped[str] = mapped_column(String(100))  # "template 2", or the model's name
    shown_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]  # logged as sent (Log as sent, Edit & log)
    rating: Mapped[str | None] = mapped_column(String(4))  # up | down | None
    rated_at: Mapped[datetime | None]
    __table_args__ = (Index("ix_coach_drafts_shown", "shown_at"), Index("ix_coach_drafts_user_id", "user_id"))
