"""`hardno import` and the DM file share: a CRM's CSV export becomes hardno deals, once.

Each imported row is linked to its deal by the export's own row id (HubSpot's Record ID is a HubSpot deal
id, so a later `hardno crm sync` finds the same deal), or, when the export has none, by owner, company and
deal name. A second import of the same file therefore adds nothing; a changed amount, stage or outcome is
an update, logged in the deal's history like any other. The whole file is one transaction: a failure half
way leaves what was stored before untouched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from handlers.domain.amounts import Amount, format_amount
from handlers.domain.crm_csv import Parsed, Row, Skip, parse_csv
from handlers.domain.model import Activity, Kind, Source, Status, new_deal

SOURCE_LABEL = {"hubspot": "a HubSpot export", "salesforce": "a Salesforce export",
                "pipedrive": "a Pipedrive export", "csv": "a CSV file"}


@dataclass
class Imported:
    source: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[Skip] = field(default_factory=list)
    dry_run: bool = False
    preview: list[tuple[Row, str, str]] = field(default_factory=list)  # (row, owner, what happens)

    def source_label(self) -> str:
        return SOURCE_LABEL.get(self.source, "a CSV file")

    def headline(self) -> str:
        src = self.source_label()
        if self.dry_run:
            return (f"Dry run, nothing written: would add {self.added}, update {self.updated}; "
                    f"{self.unchanged} unchanged, {len(self.skipped)} skipped (from {src}).")
        return (f"Imported from {src}: {self.added} added, {self.updated} updated, "
                f"{self.unchanged} unchanged, {len(self.skipped)} skipped.")

    def lines(self) -> list[str]:
        return [self.headline()] + [f"line {s.line}: skipped, {s.reason}" for s in self.skipped]


class _Rollback(Exception):
    pass


def import_csv(store, clock, data: bytes | str | Parsed, *, user: str | None = None, dry_run: bool = False,
               lookup_email: Callable[[str], str | None] | None = None, keep_preview: int = 0,
               as_rep: str | None = None, team: str | None = None) -> Imported:
    """Import the export. CsvFileError (one line) when the file can't be read at all.

    `lookup_email`, when given, finds the Slack user of an owner email no rep has shown yet
    (users.lookupByEmail); without it only known reps' emails match. `as_rep` (a file shared in the DM):
    that rep's rows and rows without an owner go to them, other owners' rows are skipped. Into the
    workspace `team` (default: the database's only one): its reps, deals and links only."""
    parsed = data if isinstance(data, Parsed) else parse_csv(data)
    result = Imported(parsed.source, skipped=list(parsed.skipped), dry_run=dry_run)
    try:
        with store.tx(team if team is not None else store.only_workspace()) as tx:
            _apply(tx, clock.now(), parsed, result, user, lookup_email, keep_preview, as_rep)
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    result.skipped.sort(key=lambda s: s.line)
    return result


def _apply(tx, now: datetime, parsed: Parsed, result: Imported, user: str | None,
           lookup_email: Callable[[str], str | None] | None, keep_preview: int, as_rep: str | None) -> None:
    emails = tx.rep_ids_by_email()
    seen: dict[tuple[str, str], int] = {}
    for row in parsed.rows:
        if as_rep is not None:
            if row.owner_email and emails.get(row.owner_email) != as_rep:
                result.skipped.append(Skip(row.line, f"owned by {row.owner_email}, not you "
                                                     "(`hardno import` imports the whole file for everyone)"))
                continue
            owner: str | None = as_rep
        else:
            owner = user or _owner(row, emails, lookup_email)
        if owner is None:
            result.skipped.append(Skip(row.line, _no_owner(row)))
            continue
        system, ext = _key(parsed.source, row, owner)
        if (system, ext) in seen:
            result.skipped.append(Skip(row.line, f"the same deal as line {seen[(system, ext)]}"))
            continue
        seen[(system, ext)] = row.line
        linked = tx.linked_deals(system, [ext]).get(ext)
        if linked is None:
            _add(tx, now, row, owner, system, ext)
            result.added += 1
            what = "add"
        else:
            changed = _update(tx, now, row, linked[1], linked[0])
            result.updated += bool(changed)
            result.unchanged += not changed
            what = "update" if changed else "unchanged"
        if len(result.preview) < keep_preview:
            result.preview.append((row, owner, what))


def _owner(row: Row, emails: dict[str, str], lookup: Callable[[str], str | None] | None) -> str | None:
    if not row.owner_email:
        return None
    if row.owner_email not in emails and lookup is not None:
        found = lookup(row.owner_email)
        if found:
            emails[row.owner_email] = found
    return emails.get(row.owner_email)


def _no_owner(row: Row) -> str:
    if row.owner_email:
        return f"owner {row.owner_email} is not a Slack user hardno knows (import with --user UXXXX)"
    if row.owner_label:
        return f"owner “{row.owner_label}” has no email address (import with --user UXXXX)"
    return "no owner email (import with --user UXXXX)"


def _key(source: str, row: Row, owner: str) -> tuple[str, str]:
    if row.external_id:
        return source, row.external_id[:128]
    digest = hashlib.sha1(f"{owner}\0{row.company.casefold()}".encode()).hexdigest()
    return "csv-row", digest


def _closed_at(row: Row, now: datetime) -> datetime:
    """A deal closed long ago keeps its close date, so an import doesn't flood this week's leaderboard."""
    if row.close_date is None:
        return now
    at = datetime.combine(row.close_date, time(12), tzinfo=UTC)
    return at if at < now else now


def _add(tx, now: datetime, row: Row, owner: str, system: str, ext: str) -> None:
    deal, first = new_deal(owner, row.company, now, source=Source.IMPORT, team_id=tx.team or "",
                           amount=row.amount, currency=row.currency,
                           stage=row.stage if row.status == "open" else None)  # "Closed Won" is an outcome
    deal = tx.add_deal(deal, first)
    if row.status != "open":
        kind = Kind.WON if row.status == "won" else Kind.NO
        tx.record(owner, deal.id, Activity(kind, _closed_at(row, now), row.lost_reason or "", Source.IMPORT))
    tx.link_deal(system, ext, deal.id, None, now)


def _update(tx, now: datetime, row: Row, owner: str, deal_id: int) -> bool:
    """Bring the deal in line with the row; hardno's history is only ever added to. True if anything changed."""
    deal = tx.deal(owner, deal_id)
    if deal is None:  # pragma: no cover - the link's deal is gone (deleted with its rep)
        return False
    changed = False
    if row.amount is not None and (row.amount, row.currency) != (deal.amount, deal.currency):
        text = f"amount from import: {format_amount(Amount(row.amount, row.currency))}"
        deal = tx.record(owner, deal_id, Activity(Kind.NOTE, now, text, Source.IMPORT),
                         amount=row.amount, currency=row.currency or deal.currency)
        changed = True
    if row.status == "open" and row.stage and row.stage != deal.stage and deal.is_open:
        deal = tx.record(owner, deal_id, Activity(Kind.STAGE, now, row.stage, Source.IMPORT))
        changed = True
    if row.status != "open" and deal.status is Status.OPEN:
        kind = Kind.WON if row.status == "won" else Kind.NO
        tx.record(owner, deal_id, Activity(kind, _closed_at(row, now), row.lost_reason or "", Source.IMPORT))
        changed = True
    return changed
