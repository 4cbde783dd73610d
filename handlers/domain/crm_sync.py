"""The HubSpot sync's rules on plain data: which stages close a deal, what changed where, what a note says.

- Closed-won and closed-lost stages come from each pipeline's own stage metadata (`isClosed` and
  `probability`: closed at 1.0 is won, closed below it is lost), never from stage names, so renamed or
  translated pipelines work.
- The conflict rule: `synced` is the deal as HubSpot had it at the last sync. A field whose HubSpot value
  differs from it was changed in HubSpot since, and HubSpot's value wins; otherwise hardno's value is pushed.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

PROPERTIES = ["dealname", "amount", "deal_currency_code", "dealstage", "pipeline", "closedate",
              "hubspot_owner_id", "hs_lastmodifieddate", "closed_lost_reason"]
FIELDS = ("name", "amount", "currency", "stage", "owner", "closedate", "reason")


@dataclass(frozen=True)
class Stage:
    id: str
    label: str
    pipeline: str
    outcome: str  # open | won | no
    order: int = 0


@dataclass(frozen=True)
class Pipelines:
    stages: dict[tuple[str, str], Stage]  # (pipeline id, stage id) -> stage
    default: str  # the first pipeline's id

    def stage(self, pipeline: str | None, stage_id: str | None) -> Stage | None:
        return self.stages.get((pipeline or self.default, stage_id or ""))

    def first(self, pipeline: str | None, outcome: str) -> Stage | None:
        """The pipeline's first stage with that outcome: where a decision moves a deal."""
        found = [s for (p, _), s in self.stages.items() if p == (pipeline or self.default) and s.outcome == outcome]
        return min(found, key=lambda s: s.order) if found else None


def read_pipelines(pipelines: list[dict]) -> Pipelines:
    stages: dict[tuple[str, str], Stage] = {}
    ordered = sorted(pipelines, key=lambda p: p.get("order", 0))
    for p in ordered:
        for s in p["stages"]:
            stages[(p["id"], s["id"])] = Stage(s["id"], s["label"], p["id"], outcome(s.get("metadata") or {}),
                                               s.get("order", 0))
    return Pipelines(stages, ordered[0]["id"] if ordered else "default")


def outcome(metadata: dict) -> str:
    if str(metadata.get("isClosed", "false")).lower() != "true":
        return "open"
    try:
        return "won" if float(metadata.get("probability", 0)) >= 1.0 else "no"
    except (TypeError, ValueError):
        return "no"


def snapshot(props: dict) -> dict:
    """The fields hardno keeps of a HubSpot deal, as comparable strings."""
    return {"name": props.get("dealname") or "", "amount": norm_amount(props.get("amount")),
            "currency": (props.get("deal_currency_code") or "").upper(),
            "stage": f"{props.get('pipeline') or ''}/{props.get('dealstage') or ''}",
            "owner": props.get("hubspot_owner_id") or "", "closedate": (props.get("closedate") or "")[:10],
            "reason": props.get("closed_lost_reason") or ""}


def changed_in_hubspot(synced: dict | None, now: dict) -> set[str]:
    """Fields HubSpot changed since the last sync (all of them when hardno never saw this deal from HubSpot)."""
    if not synced:
        return set(FIELDS)
    return {f for f in FIELDS if now.get(f) != synced.get(f)}


def norm_amount(value) -> str:
    if value in (None, ""):
        return ""
    try:
        return format(Decimal(str(value)).quantize(Decimal("0.01")), "f")
    except InvalidOperation:
        return ""


def amount(value: str) -> Decimal | None:
    return Decimal(value) if value else None


def ms(value: str | None) -> int | None:
    """HubSpot's timestamps (ISO 8601 or epoch milliseconds) as epoch milliseconds."""
    if not value:
        return None
    if value.isdigit():
        return int(value)
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def when(value: str | None) -> datetime | None:
    m = ms(value)
    return datetime.fromtimestamp(m / 1000, UTC) if m is not None else None


NOTE_TITLE = {"maybe": "Maybe", "touch": "Tried, no answer", "ask": "Decision ask sent"}


def note_body(kind: str, text: str) -> str:
    """A note's HTML body: what happened, and the rep's words, escaped."""
    head = f"<strong>{NOTE_TITLE.get(kind, kind.title())}</strong> (logged in hardno)"
    return head + (f": {html.escape(text)}" if text else "")
