"""One two-way sync with HubSpot: match reps to owners, pull changed deals, push what hardno learned.

Pull: per matched owner a watermark on `hs_lastmodifieddate`; the search walks each group of owners oldest
change first, 200 a page, opening a new window at the last date seen before the 10,000-result cap, and
saves the watermark with every page, so a sync that stops half way resumes there. Each HubSpot deal is one
hardno deal (crm_links); a field HubSpot changed since the last sync wins, and the change is logged as an
activity (source "crm"), so hardno's own history is only ever added to.

Push (after the pull, so HubSpot's newer changes already won): deals of matched reps not yet in HubSpot are
created with the rep as owner; activities logged in hardno since the push watermark become notes (maybe,
try, ask) and meetings, each claimed in crm_pushes so a retried sync never writes one twice; a decision
moves the deal to its pipeline's closed-won/-lost stage. Everything in batches of 100.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handlers.crm.hubspot_api import (
    BATCH,
    DAILY,
    SEARCH_CAP,
    SEARCH_PAGE,
    AuthError,
    HubSpotApi,
    HubSpotError,
)
from handlers.domain import crm_sync as cs
from handlers.domain.model import Activity, Kind, Source, Status, apply, new_deal

__all__ = ["AuthError", "HubSpotSync", "Report"]
log = logging.getLogger("hardno.crm")
SYSTEM = "hubspot"
NOTE_KINDS = {"maybe", "touch", "ask"}
DECISION_KINDS = {"won", "no", "drop", "reopen"}
NOT_OURS = {Source.CRM.value, Source.IMPORT.value}  # came from a CRM: never echoed back
MEETING_MINUTES = 30
LOOKBACK = 1000  # activity ids re-read behind the push watermark
SEARCH_LAG_MS = 5 * 60 * 1000
NOTE_TO_DEAL, MEETING_TO_DEAL = 214, 212  # HubSpot-defined association type ids


@dataclass
class Report:
    pulled: int = 0
    pushed: int = 0
    unmatched_owners: list[str] = field(default_factory=list)
    unmatched_reps: list[str] = field(default_factory=list)
    failed: str = ""
    requests: int = 0
    dry_run: bool = False

    def summary(self) -> str:
        head = "dry run, nothing written: " if self.dry_run else ""
        return (f"{head}pulled {self.pulled}, pushed {self.pushed}, "
                f"unmatched {len(self.unmatched_owners) + len(self.unmatched_reps)}, failed {1 if self.failed else 0}"
                + (f" ({self.failed})" if self.failed else ""))

    def details(self) -> list[str]:
        return ([f"unmatched HubSpot owner (no Slack user with this email): {e}" for e in self.unmatched_owners]
                + [f"unmatched rep (no HubSpot owner with this email): {e}" for e in self.unmatched_reps])


class _Rollback(Exception):
    pass


class HubSpotSync:
    def __init__(self, store, clock, token: str, url: str, *, api: HubSpotApi | None = None,
                 team: str | None = None):
        """The sync of the HubSpot portal of one workspace, `team` (default: the database's only one): its
        reps, links and watermarks only."""
        self.store, self.clock = store, clock
        self.team = team if team is not None else store.only_workspace()
        self.api = api or HubSpotApi(token, url)
        self.search_cap = SEARCH_CAP

    def run(self, dry_run: bool = False) -> Report:
        report = Report(dry_run=dry_run)
        day = f"hubspot:daily:{self.clock.now().date().isoformat()}"
        with self.store.tx(self.team) as tx:
            used = (tx.crm_state(day) or {}).get("requests", 0)
        self.api.daily_left = min(self.api.daily_left, DAILY - used)
        start = self.api.requests
        try:
            owners = self.api.owners()  # AuthError propagates: the CLI exits 2
            with self.store.tx(self.team) as tx:
                reps = tx.rep_ids_by_email()
            by_email = {o["email"]: o["id"] for o in owners if o["email"]}
            matched = {oid: reps[e] for e, oid in by_email.items() if e in reps}
            report.unmatched_owners = sorted(e for e in by_email if e not in reps)
            report.unmatched_reps = sorted(e for e in reps if e not in by_email)
            self.pipes = cs.read_pipelines(self.api.pipelines())  # once per sync
            self._pull(matched, report, dry_run)
            if not dry_run:
                self._push(matched, report)
        except AuthError:
            raise
        except HubSpotError as e:
            report.failed = str(e)
        finally:  # the day's budget counts every request, whether or not the sync got through
            if not dry_run:  # a dry run writes nothing, its own bookkeeping included
                with self.store.tx(self.team) as tx:
                    used = (tx.crm_state(day) or {}).get("requests", 0)
                    tx.set_crm_state(day, {"requests": used + self.api.requests - start})
        report.requests = self.api.requests - start
        return report

    # -- pull ------------------------------------------------------------------------
    def _pull(self, matched: dict[str, str], report: Report, dry_run: bool) -> None:
        with self.store.tx(self.team) as tx:
            marks = {k.rsplit(":", 1)[1]: v.get("ms") for k, v in tx.crm_states("hubspot:pull:").items()}
        groups: dict[int | None, list[str]] = {}
        for oid in sorted(matched):
            groups.setdefault(marks.get(oid), []).append(oid)
        for mark, oids in groups.items():
            # HubSpot's search index trails its writes by seconds: re-read a margin behind the watermark
            # (re-reading is harmless, an unchanged deal changes nothing), so a late-indexed change isn't missed.
            since = None if mark is None else max(0, mark - SEARCH_LAG_MS)
            for i in range(0, len(oids), 100):  # HubSpot takes at most 100 values in an IN filter
                self._pull_window(oids[i:i + 100], since, matched, report, dry_run)

    def _pull_window(self, oids: list[str], since: int | None, matched: dict[str, str], report: Report,
                     dry_run: bool) -> None:
        for deals, last in self._pages(oids, since):
            try:
                with self.store.tx(self.team) as tx:
                    links = tx.linked_deals(SYSTEM, [d["id"] for d in deals])  # one query a page
                    fresh = []
                    for d in deals:
                        if d["id"] in links:
                            report.pulled += self._update(tx, d["id"], d["properties"], matched, links[d["id"]])
                        elif (item := self._new(tx, d["id"], d["properties"], matched)) is not None:
                            fresh.append(item)
                    tx.add_linked_deals(SYSTEM, fresh, self.clock.now())
                    report.pulled += len(fresh)
                    if last is not None:  # saved with the page: a failed sync resumes from here
                        for oid in oids:
                            tx.set_crm_state(f"hubspot:pull:{oid}", {"ms": last})
                    if dry_run:
                        raise _Rollback
            except _Rollback:
                pass

    def _pages(self, oids: list[str], since: int | None) -> Iterator[tuple[list[dict], int | None]]:
        """(deals, last modification time) a page at a time, oldest change first; the next page is
        fetched while the caller stores this one (the search's rate limit, not the database, sets the pace)."""
        with ThreadPoolExecutor(1, thread_name_prefix="hubspot-pull") as pool:
            after = 0
            pending: Future[tuple[list[dict], int | None]] | None = pool.submit(
                self.api.search_deals, oids, since, after, cs.PROPERTIES)
            while pending is not None:
                deals, nxt = pending.result()
                last = cs.ms(deals[-1]["properties"].get("hs_lastmodifieddate")) if deals else None
                pending = None
                if nxt is not None:
                    if nxt + SEARCH_PAGE > self.search_cap:  # the search stops at 10,000: a new window here
                        if last is None or last == since:
                            raise HubSpotError("more than 10,000 deals share one modification time; "
                                               "can't page past them")
                        since, after = last, 0
                    else:
                        after = nxt
                    pending = pool.submit(self.api.search_deals, oids, since, after, cs.PROPERTIES)
                yield deals, last

    def _new(self, tx, hs_id: str, props: dict, matched: dict[str, str]) -> tuple | None:
        """A HubSpot deal hardno hasn't seen: (deal, its history, HubSpot id, snapshot), inserted per page."""
        snap = cs.snapshot(props)
        owner = matched.get(snap["owner"])
        if owner is None:
            return None
        now = self.clock.now()
        stage = self.pipes.stage(props.get("pipeline"), props.get("dealstage"))
        result = stage.outcome if stage else "open"
        deal, first = new_deal(owner, snap["name"] or f"HubSpot deal {hs_id}", now, source=Source.CRM,
                               team_id=self.team, amount=cs.amount(snap["amount"]),
                               currency=snap["currency"] or None,
                               stage=stage.label if stage and result == "open" else None)
        history = [first]
        if result != "open":
            at = min(cs.when(props.get("closedate")) or now, now)
            history.append(Activity(Kind.WON if result == "won" else Kind.NO, at, snap["reason"], Source.CRM))
            deal = apply(deal, history[-1])
        return deal, history, hs_id, snap

    def _update(self, tx, hs_id: str, props: dict, matched: dict[str, str], linked: tuple) -> int:
        """A HubSpot deal hardno has: apply the fields HubSpot changed since the last sync; 1 if any."""
        now = self.clock.now()
        snap = cs.snapshot(props)
        owner = matched.get(snap["owner"])
        if owner is None:
            return 0
        stage = self.pipes.stage(props.get("pipeline"), props.get("dealstage"))
        result = stage.outcome if stage else "open"
        deal_id, current_owner, synced = linked
        changed = cs.changed_in_hubspot(synced, snap)
        if not changed:
            return 0
        if "owner" in changed and current_owner != owner:
            tx.set_owner(deal_id, owner)
        deal = tx.deal(owner, deal_id)
        edits: dict = {}
        if "name" in changed and snap["name"] and snap["name"] != deal.company:
            edits["company"] = snap["name"]
        if ({"amount", "currency"} & changed) and (cs.amount(snap["amount"]), snap["currency"] or None) != \
                (deal.amount, deal.currency):
            edits.update(amount=cs.amount(snap["amount"]), currency=snap["currency"] or deal.currency)
        if edits:
            deal = tx.record(owner, deal_id, Activity(Kind.NOTE, now, "changed in HubSpot: " + ", ".join(sorted(edits)),
                                                      Source.CRM), **edits)
        if "stage" in changed and stage:
            if result == "open":
                if not deal.is_open:
                    deal = tx.record(owner, deal_id, Activity(Kind.REOPEN, now, "", Source.CRM))
                if deal.stage != stage.label:
                    tx.record(owner, deal_id, Activity(Kind.STAGE, now, stage.label, Source.CRM))
            elif deal.is_open or deal.status is not (Status.WON if result == "won" else Status.NO):
                if not deal.is_open:
                    tx.record(owner, deal_id, Activity(Kind.REOPEN, now, "", Source.CRM))
                tx.record(owner, deal_id, Activity(Kind.WON if result == "won" else Kind.NO, now, snap["reason"],
                                                   Source.CRM))
        tx.link_deal(SYSTEM, hs_id, deal_id, snap, now)
        return 1

    # -- push ------------------------------------------------------------------------
    def _push(self, matched: dict[str, str], report: Report) -> None:
        owner_of = {user: oid for oid, user in matched.items()}
        self._create_deals(owner_of, report)
        self._push_activities(owner_of, report)

    def _props_for(self, deal, hs_owner: str) -> dict:
        want = {Status.WON: "won", Status.NO: "no", Status.DROPPED: "no"}.get(deal.status, "open")
        stage = self.pipes.first(None, want)
        props = {"dealname": deal.company, "pipeline": self.pipes.default, "hubspot_owner_id": hs_owner,
                 "dealstage": stage.id if stage else ""}
        if deal.amount is not None:
            props["amount"] = cs.norm_amount(deal.amount)
        if deal.currency:
            props["deal_currency_code"] = deal.currency
        if want == "no" and deal.close_reason:
            props["closed_lost_reason"] = deal.close_reason
        if deal.closed_at:
            props["closedate"] = deal.closed_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return props

    def _create_deals(self, owner_of: dict[str, str], report: Report) -> None:
        after = 0  # deal ids only grow: a deal HubSpot didn't take is retried next sync, not in a loop now
        while True:
            with self.store.tx(self.team) as tx:
                ids = tx.unlinked_deal_ids(SYSTEM, owner_of, BATCH, after=after)
                deals = list(tx.deals_by_id(ids))
            if not deals:
                return
            after = max(ids)
            inputs = [{"properties": self._props_for(d, owner_of[d.owner_id])} for d in deals]
            created = self.api.create_deals(inputs)
            # HubSpot doesn't promise results in input order: pair them by what was sent
            waiting: dict[tuple, list] = {}
            for d, i in zip(deals, inputs, strict=True):
                waiting.setdefault(_key(i["properties"]), []).append(d)
            now = self.clock.now()
            with self.store.tx(self.team) as tx:
                for c in created:
                    same = waiting.get(_key(c["properties"]))
                    if not same:  # HubSpot normalised a value we can't pair by: link it to nothing rather than guess
                        log.warning("created HubSpot deal %s matches none sent; not linked", c["id"])
                        continue
                    d = same.pop(0)
                    tx.link_deal(SYSTEM, c["id"], d.id, cs.snapshot(c["properties"]), now)
                    report.pushed += 1

    def _push_activities(self, owner_of: dict[str, str], report: Report) -> None:
        with self.store.tx(self.team) as tx:
            mark = (tx.crm_state("hubspot:push") or {}).get("after", 0)
        # Look back a little: an activity whose transaction committed after a later id was read is still
        # found; crm_pushes keeps the ones already written from going twice.
        cursor = max(0, mark - LOOKBACK)
        while True:
            with self.store.tx(self.team) as tx:
                acts = tx.activities_after(cursor, 500)
                if not acts:
                    return
                links = tx.remote_ids(SYSTEM, {a[1] for a in acts})
                done = tx.pushed(f"act:{a[0]}" for a in acts)
            notes, meetings, decided, claims = [], [], {}, []
            last = cursor
            for act_id, deal_id, kind, source, text, at, when, owner in acts:
                if owner in owner_of and deal_id not in links:
                    break  # a matched rep's deal not in HubSpot yet: the next sync creates it, then resumes here
                last = act_id
                if source in NOT_OURS or owner not in owner_of or f"act:{act_id}" in done:
                    continue
                hs_id = links[deal_id][0]
                stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
                if kind in NOTE_KINDS:
                    notes.append({"properties": {"hs_timestamp": stamp, "hs_note_body": cs.note_body(kind, text),
                                                 "hubspot_owner_id": owner_of[owner]},
                                  "associations": [_assoc(hs_id, NOTE_TO_DEAL)]})
                    claims.append((f"act:{act_id}", deal_id))
                elif kind == "meeting" and when is not None:
                    end = when + timedelta(minutes=MEETING_MINUTES)
                    meetings.append({"properties": {
                        "hs_timestamp": _iso(when), "hs_meeting_title": "Next meeting (from hardno)",
                        "hs_meeting_body": cs.note_body("meeting", text), "hs_meeting_start_time": _iso(when),
                        "hs_meeting_end_time": _iso(end), "hs_meeting_outcome": "SCHEDULED",
                        "hubspot_owner_id": owner_of[owner]}, "associations": [_assoc(hs_id, MEETING_TO_DEAL)]})
                    claims.append((f"act:{act_id}", deal_id))
                elif kind in DECISION_KINDS:
                    decided[deal_id] = hs_id
            if last == cursor:
                return
            for i in range(0, len(notes), BATCH):
                self.api.create_notes(notes[i:i + BATCH])
            for i in range(0, len(meetings), BATCH):
                self.api.create_meetings(meetings[i:i + BATCH])
            report.pushed += len(notes) + len(meetings) + self._push_decisions(decided, owner_of)
            with self.store.tx(self.team) as tx:
                tx.record_pushes(((k, d, None) for k, d in claims), self.clock.now())
                tx.set_crm_state("hubspot:push", {"after": max(mark, last)})
            cursor = last

    def _push_decisions(self, decided: dict[int, str], owner_of: dict[str, str]) -> int:
        """Move each decided deal to the stage its hardno status calls for, unless HubSpot is there already
        (or moved it since the last sync: the pull made hardno agree, so nothing differs)."""
        with self.store.tx(self.team) as tx:
            deals = list(tx.deals_by_id(decided))
            synced = tx.remote_ids(SYSTEM, decided)
        updates = []
        for d in deals:
            if d.owner_id not in owner_of or d.id not in synced:
                continue
            old = synced[d.id][1] or {}
            cur = self.pipes.stage(*(old.get("stage", "/").split("/", 1)))
            want = {Status.WON: "won", Status.NO: "no", Status.DROPPED: "no"}.get(d.status, "open")
            if cur is not None and cur.outcome == want:
                continue  # HubSpot is there already
            stage = self.pipes.first(cur.pipeline if cur else None, want)
            if stage is None:
                continue  # a pipeline without such a stage: nothing to move it to
            change = {"dealstage": stage.id}
            if want == "no":
                change["closed_lost_reason"] = d.close_reason or ""
            snap = {**old, "stage": f"{stage.pipeline}/{stage.id}",
                    "reason": change.get("closed_lost_reason", old.get("reason", ""))}
            updates.append((d.id, decided[d.id], change, snap))
        for i in range(0, len(updates), BATCH):
            chunk = updates[i:i + BATCH]
            self.api.update_deals([{"id": hs, "properties": ch} for _, hs, ch, _ in chunk])
            now = self.clock.now()
            with self.store.tx(self.team) as tx:
                for deal_id, hs, _, snap in chunk:
                    tx.link_deal(SYSTEM, hs, deal_id, snap, now)
        return len(updates)


def _key(props: dict) -> tuple:
    return (props.get("dealname") or "", props.get("hubspot_owner_id") or "", cs.norm_amount(props.get("amount")))


def _assoc(deal_id: str, type_id: int) -> dict:
    return {"to": {"id": deal_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
