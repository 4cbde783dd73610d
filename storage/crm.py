"""Queries for the CRM sync and the CSV import: links to outside deals, watermarks, pushes, rep emails.

A mixin of `Tx` (storage.queries): every method runs in the caller's one transaction, scoped to its
workspace: each workspace has its own CRM, so outside ids, watermarks and owner emails are per workspace.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import func, insert, select, update

from handlers.domain import model as m
from storage import models as t
from storage import rows
from storage.base import TxBase


class CrmQueries(TxBase):

    # -- rep emails ----------------------------------------------------------
    def set_rep_email(self, user_id: str, email: str | None) -> None:
        self.s.execute(update(t.Rep).where(t.Rep.user_id == user_id, *self._scoped(t.Rep.team_id))
                       .values(email=email.strip().lower()[:320] if email else None))

    def rep_ids_by_email(self) -> dict[str, str]:
        """email -> rep user id, for every rep whose Slack profile gave an email."""
        q = (select(t.Rep.email, t.Rep.user_id).where(t.Rep.email.is_not(None), *self._scoped(t.Rep.team_id))
             .order_by(t.Rep.user_id))
        found: dict[str, str] = {}
        for email, user_id in self.s.execute(q):
            if email:
                found.setdefault(email, user_id)
        return found

    # -- links -----------------------------------------------------------------
    def linked_deals(self, system: str, external_ids: Iterable[str]) -> dict[str, tuple[int, str, dict | None]]:
        """external id -> (deal id, deal owner, synced snapshot) for those already linked."""
        ids = sorted(set(external_ids))
        found: dict[str, tuple[int, str, dict | None]] = {}
        for i in range(0, len(ids), 500):
            q = (select(t.CrmLink.external_id, t.CrmLink.deal_id, t.Deal.owner_id, t.CrmLink.synced)
                 .join(t.Deal, t.Deal.id == t.CrmLink.deal_id)
                 .where(t.CrmLink.system == system, t.CrmLink.external_id.in_(ids[i:i + 500]),
                        *self._scoped(t.CrmLink.team_id, t.Deal.team_id)))
            for ext, deal_id, owner, synced in self.s.execute(q):
                found[ext] = (deal_id, owner, synced)
        return found

    def link_deal(self, system: str, external_id: str, deal_id: int, synced: dict | None, now: datetime, *,
                  new: bool = False) -> None:
        """Link (or re-link) the deal; `new`: the caller knows there is no link yet (saves a query)."""
        row = None if new else self.s.scalars(select(t.CrmLink).where(
            t.CrmLink.system == system, t.CrmLink.external_id == external_id,
            *self._scoped(t.CrmLink.team_id))).first()
        if row is None:
            self.s.add(t.CrmLink(team_id=self._team(), system=system, external_id=external_id, deal_id=deal_id,
                                 synced=synced,
                                 synced_at=now))
        else:
            row.deal_id, row.synced, row.synced_at = deal_id, synced, now

    def add_linked_deals(self, system: str, items: list[tuple[m.Deal, list[m.Activity], str, dict]],
                         now: datetime) -> None:
        """New deals with their history, each linked to its outside id: a few set-based INSERTs for a whole
        page of a sync, not two flushes per deal. `items`: (deal, activities, external id, synced snapshot)."""
        if not items:
            return
        team = self._team()
        new = [rows.deal_columns(d.replace(team_id=self._team(d.team_id))) for d, _, _, _ in items]
        ids = self.s.scalars(insert(t.Deal).returning(t.Deal.id, sort_by_parameter_order=True), new).all()
        acts = [{**rows.activity_columns(a), "deal_id": i} for i, (_, history, _, _) in zip(ids, items, strict=True)
                for a in history]
        if acts:
            self.s.execute(insert(t.Activity), acts)
        self.s.execute(insert(t.CrmLink), [
            {"team_id": team, "system": system, "external_id": ext, "deal_id": i, "synced": snap,
             "synced_at": now}
            for i, (_, _, ext, snap) in zip(ids, items, strict=True)])

    def remote_ids(self, system: str, deal_ids: Iterable[int]) -> dict[int, tuple[str, dict | None]]:
        """deal id -> (external id, synced snapshot)."""
        ids = sorted(set(deal_ids))
        found: dict[int, tuple[str, dict | None]] = {}
        for i in range(0, len(ids), 500):
            q = select(t.CrmLink.deal_id, t.CrmLink.external_id, t.CrmLink.synced).where(
                t.CrmLink.system == system, t.CrmLink.deal_id.in_(ids[i:i + 500]),
                *self._scoped(t.CrmLink.team_id))
            for deal_id, ext, synced in self.s.execute(q):
                found[deal_id] = (ext, synced)
        return found

    def unlinked_deal_ids(self, system: str, owners: Iterable[str], limit: int, after: int = 0) -> list[int]:
        """Deals of `owners` with no link to `system` yet (to be created there), in id order after `after`."""
        owners = sorted(set(owners))
        if not owners:
            return []
        linked = select(t.CrmLink.deal_id).where(t.CrmLink.system == system, t.CrmLink.deal_id == t.Deal.id)
        q = (select(t.Deal.id).where(t.Deal.owner_id.in_(owners), *self._scoped(t.Deal.team_id),
                                     t.Deal.id > after, ~linked.exists())
             .order_by(t.Deal.id).limit(limit))
        return list(self.s.scalars(q))

    def set_owner(self, deal_id: int, owner_id: str) -> None:
        self.s.execute(update(t.Deal).where(t.Deal.id == deal_id, *self._scoped(t.Deal.team_id))
                       .values(owner_id=owner_id))

    def deal_owner(self, deal_id: int) -> str | None:
        q = select(t.Deal.owner_id).where(t.Deal.id == deal_id, *self._scoped(t.Deal.team_id))
        return self.s.scalar(q)

    # -- state -----------------------------------------------------------------
    def crm_state(self, key: str) -> dict | None:
        row = self.s.get(t.CrmState, (self._team(), key))
        return dict(row.value) if row else None

    def crm_states(self, prefix: str) -> dict[str, dict]:
        q = select(t.CrmState).where(t.CrmState.team_id == self._team(),
                                     t.CrmState.key.startswith(prefix, autoescape=True))
        return {r.key: dict(r.value) for r in self.s.scalars(q)}

    def set_crm_state(self, key: str, value: dict) -> None:
        self.s.merge(t.CrmState(team_id=self._team(), key=key, value=value))

    # -- pushes ----------------------------------------------------------------
    def activities_after(self, after_id: int, limit: int) -> list[tuple[int, int, str, str, str, datetime,
                                                                         datetime | None, str]]:
        """(id, deal id, kind, source, text, at, when, owner) of activities after `after_id`, in id order."""
        q = (select(t.Activity.id, t.Activity.deal_id, t.Activity.kind, t.Activity.source, t.Activity.text,
                    t.Activity.at, t.Activity.when, t.Deal.owner_id)
             .join(t.Deal, t.Deal.id == t.Activity.deal_id)
             .where(t.Activity.id > after_id, *self._scoped(t.Deal.team_id))
             .order_by(t.Activity.id).limit(limit))
        return [tuple(r) for r in self.s.execute(q)]  # type: ignore[misc]

    def max_activity_id(self) -> int:
        return self.s.scalar(select(func.max(t.Activity.id))) or 0

    def pushed(self, keys: Iterable[str]) -> set[str]:
        keys = sorted(set(keys))
        done: set[str] = set()
        for i in range(0, len(keys), 500):
            done.update(self.s.scalars(select(t.CrmPush.key).where(t.CrmPush.key.in_(keys[i:i + 500]))))
        return done

    def record_pushes(self, rows: Iterable[tuple[str, int, str | None]], now: datetime) -> None:
        for key, deal_id, remote in rows:
            self.s.merge(t.CrmPush(key=key, deal_id=deal_id, remote_id=remote, done_at=now))

    def deals_by_id(self, deal_ids: Iterable[int]) -> Iterator[m.Deal]:
        """Deals by id, whoever owns them: for the sync, which acts for every matched rep."""
        ids = sorted(set(deal_ids))
        for i in range(0, len(ids), 500):
            q = select(t.Deal).where(t.Deal.id.in_(ids[i:i + 500]), *self._scoped(t.Deal.team_id))
            yield from (rows.deal(r) for r in self.s.scalars(q))
