"""Scheduled deliveries (digests, boards, kudos): the claim before a post, its lease, its outcome.

The states and what they mean are handlers/delivery.py's; here they are only stored. `sweep_lock` is the
one cross-host "one sweep at a time" lock, held on a connection of its own OUTSIDE any transaction, so a
sweep never keeps a transaction open while it talks to Slack.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, or_, select, text, update

from storage import models as t
from storage.base import TxBase, advisory_key

if TYPE_CHECKING:
    from storage.queries import Store

CLAIMED, SENT, FAILED, UNKNOWN, EMPTY = "claimed", "sent", "failed", "unknown", "empty"
DEFAULT_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Claim:
    """The right to send one delivery. `recovering`: the last claimer's lease ran out before it settled the
    delivery (its instance died, or hung): it may have posted, so look for the post before sending."""

    recovering: bool = False
    attempts: int = 1


@dataclass(frozen=True)
class Unsure:
    """A delivery settled "unknown" and not looked for yet."""

    target: str
    period: str
    channel: str | None
    team: str = ""  # the workspace it was for: it is looked for, and settled, there


@contextmanager
def sweep_lock(store: Store, name: str) -> Iterator[bool]:
    """True when this run may go ahead. On PostgreSQL a session-level advisory lock on a connection of its
    own in autocommit (no transaction stays open); it conflicts with `Tx.try_lock` of the same name. On
    SQLite (one host) always True: the claims keep posts single there."""
    if store.dialect != "postgresql":
        yield True
        return
    with store.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        key = advisory_key(name)
        mine = bool(conn.scalar(text("select pg_try_advisory_lock(:k)"), {"k": key}))
        try:
            yield mine
        finally:
            if mine:
                conn.execute(text("select pg_advisory_unlock(:k)"), {"k": key})


def _key(tx: TxBase, kind: str, target: str, period: str) -> tuple:
    d = t.Delivery
    return (*tx._scoped(d.team_id), d.kind == kind, d.target == target, d.period == period)


def _posted_as(tx: TxBase, kind: str, target: str, channel: str, ts: str) -> tuple:
    """The delivery of `target` whose message is (channel, ts)."""
    d = t.Delivery
    return (*tx._scoped(d.team_id), d.kind == kind, d.target == target, d.channel == channel, d.ts == ts)


def _expired(now: datetime, lease: timedelta):
    """A claim whose lease ran out (claims from before leases existed: `lease` after they were made)."""
    d = t.Delivery
    return and_(d.state == CLAIMED, or_(d.lease_until < now,
                                         and_(d.lease_until.is_(None), d.claimed_at < now - lease)))


class DeliveryQueries(TxBase):
    """Deliveries are keyed by (team, kind, target, period): a rep or channel id is only unique in its
    workspace, so each query is scoped to the transaction's, and a claim needs a bound transaction."""

    # -- scheduled deliveries ----------------------------------------------
    def claim_delivery(self, kind: str, target: str, period: str, now: datetime,
                       lease: timedelta = DEFAULT_LEASE) -> Claim | None:
        """Claim the right to send (kind, target, period) until `now + lease`. Exactly one claimer wins. A
        delivery that failed (nothing went out) may be claimed again; so may a claim whose lease ran out,
        as a `recovering` one."""
        until = now + lease
        if self._insert_once(t.Delivery, {"team_id": self._team(), "kind": kind, "target": target, "period": period, "state": CLAIMED,
                                          "claimed_at": now, "lease_until": until, "attempts": 1}):
            return Claim()
        d = t.Delivery
        again = {"state": CLAIMED, "claimed_at": now, "lease_until": until, "attempts": d.attempts + 1}
        for recovering, where in ((False, d.state == FAILED), (True, _expired(now, lease))):
            res = self.s.execute(update(d).where(*_key(self, kind, target, period), where).values(**again)
                                 .returning(d.attempts))
            row = res.first()
            if row is not None:
                return Claim(recovering, int(row[0]))
        return None

    def close_delivery(self, kind: str, target: str, period: str, now: datetime, state: str, *,
                       channel: str | None = None, ts: str | None = None, error: str | None = None) -> None:
        """Settle a claimed delivery as `state`. Only "failed" may be claimed again; `sent_at` is when
        anything else was settled."""
        self.s.execute(update(t.Delivery).where(*_key(self, kind, target, period)).values(
            state=state, sent_at=None if state == FAILED else now, lease_until=None, channel=channel, ts=ts,
            error=error))

    def finish_delivery(self, kind: str, target: str, period: str, now: datetime, *, ok: bool,
                        channel: str | None = None, ts: str | None = None, error: str | None = None) -> None:
        self.close_delivery(kind, target, period, now, SENT if ok else FAILED, channel=channel, ts=ts, error=error)

    def settle_delivery(self, kind: str, target: str, period: str, now: datetime, state: str, *,
                        channel: str | None = None, ts: str | None = None, error: str | None = None) -> None:
        self.close_delivery(kind, target, period, now, state, channel=channel, ts=ts, error=error)

    def unsure_deliveries(self, kind: str, limit: int = 100) -> list[Unsure]:
        """Deliveries of `kind` settled "unknown" that nobody has looked for in their channel yet."""
        d = t.Delivery
        q = (select(d.target, d.period, d.channel, d.team_id)
             .where(*self._scoped(d.team_id), d.kind == kind, d.state == UNKNOWN, d.checked_at.is_(None))
             .order_by(d.id).limit(limit))
        return [Unsure(*r) for r in self.s.execute(q)]

    def found_delivery(self, kind: str, target: str, period: str, now: datetime, *, channel: str | None,
                       ts: str | None) -> bool:
        """An "unknown" delivery was looked for: found (`ts` given) it becomes "sent"; not found it stays
        "unknown", marked as looked for. False when it was no longer "unknown"."""
        d = t.Delivery
        values: dict = {"checked_at": now}
        if ts:
            values.update(state=SENT, channel=channel, ts=ts)
        res = self.s.execute(update(d).where(*_key(self, kind, target, period), d.state == UNKNOWN).values(**values))
        return getattr(res, "rowcount", 0) == 1

    def delivery_state(self, kind: str, target: str, period: str) -> str | None:
        return self.s.scalar(select(t.Delivery.state).where(*_key(self, kind, target, period)))

    def deliveries(self, kind: str) -> list[tuple[str, str, str]]:
        """(target, period, state) of every delivery of `kind`."""
        q = select(t.Delivery.target, t.Delivery.period, t.Delivery.state).where(
            t.Delivery.kind == kind, *self._scoped(t.Delivery.team_id))
        return [(a, b, c) for a, b, c in self.s.execute(q)]

    def delivery_periods(self, kind: str, target: str, prefix: str) -> list[tuple[str, str]]:
        """(period, state) of the deliveries of (kind, target) whose period starts with `prefix`, oldest first."""
        d = t.Delivery
        q = select(d.period, d.state).where(*self._scoped(d.team_id), d.kind == kind, d.target == target,
                                            d.period.startswith(prefix, autoescape=True)).order_by(d.id)
        return [(a, b) for a, b in self.s.execute(q)]

    def try_lock(self, name: str) -> bool:
        """A transaction-scoped lock so one sweep runs at a time across hosts (PostgreSQL). The sweeps
        themselves take `sweep_lock`, which conflicts with this one."""
        if self.s.get_bind().dialect.name != "postgresql":
            return True
        return bool(self.s.scalar(text("select pg_try_advisory_xact_lock(:k)"), {"k": advisory_key(name)}))

    def settled_deliveries(self, kind: str, wanted: Iterable[tuple[str, str]], now: datetime | None = None,
                           lease: timedelta = DEFAULT_LEASE) -> set[tuple[str, str]]:
        """Of the (target, period) pairs, those that need no more work: sent, being sent right now, or
        settled otherwise (empty, in doubt, given up). A failed one is not settled: it may be tried again;
        nor (given `now`) is a claim whose lease ran out: it is recovered."""
        wanted = set(wanted)
        periods: dict[str, set[str]] = {}
        for target, period in wanted:
            periods.setdefault(target, set()).add(period)
        found: set[tuple[str, str]] = set()
        d = t.Delivery
        for chunk in self._chunks(periods):
            q = select(d.target, d.period).where(
                *self._scoped(d.team_id), d.kind == kind, d.target.in_(chunk),
                d.period.in_(sorted(set().union(*(periods[c] for c in chunk)))), d.state != FAILED)
            if now is not None:
                q = q.where(~_expired(now, lease))
            found.update((target, period) for target, period in self.s.execute(q))
        return found & wanted

    def last_board_sent(self, channel_id: str) -> datetime | None:
        """When a scheduled board last went out to the channel, may have (unknown), or was settled as empty."""
        d = t.Delivery
        return self.s.scalar(select(func.max(d.sent_at)).where(
            *self._scoped(d.team_id), d.kind == "board", d.target == channel_id, d.state.in_([SENT, UNKNOWN, EMPTY])))

    def mark_delivery(self, kind: str, target: str, channel: str, ts: str, key: str,
                      mark: dict) -> tuple[int, dict] | None:
        """Record `mark` under `key` on the delivery of `target` posted as (channel, ts), replacing that key's
        earlier mark; (version, every mark) after it, or None when no such delivery exists. Concurrent markers
        queue on the row (FOR UPDATE on PostgreSQL, the write lock on SQLite), so none is lost."""
        row = self.s.scalars(select(t.Delivery).where(*_posted_as(self, kind, target, channel, ts))
                             .with_for_update()).first()
        if row is None:
            return None
        old = row.marks or {}
        lines = {**(old.get("lines") or {}), key: mark}
        version = int(old.get("v") or 0) + 1
        row.marks = {"v": version, "lines": lines}
        return version, lines

    def delivery_marks(self, kind: str, target: str, channel: str, ts: str) -> tuple[int, dict] | None:
        """(version, marks) of the delivery posted as (channel, ts), as `mark_delivery` left them; None when
        there is no such delivery."""
        row = self.s.execute(select(t.Delivery.marks).where(*_posted_as(self, kind, target, channel, ts))).first()
        if row is None:
            return None
        marks = row.marks or {}
        return int(marks.get("v") or 0), marks.get("lines") or {}

    def delivery(self, kind: str, target: str, period: str) -> dict | None:
        """The delivery row as a dict (state, attempts, channel, ts, error, claimed_at, sent_at, lease_until)."""
        row = self.s.scalars(select(t.Delivery).where(*_key(self, kind, target, period))).first()
        if row is None:
            return None
        return {k: getattr(row, k) for k in ("state", "attempts", "channel", "ts", "error", "claimed_at", "sent_at",
                                             "lease_until", "checked_at")}
