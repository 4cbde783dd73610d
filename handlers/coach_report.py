"""`hardno coach report [--days N]`: per draft kind and variant (or model), drafts shown, sent and rated.

So a team can see which words work: a variant shown often and rarely sent, or rated down, is one to
rewrite. Counts are over the drafts *shown* in the window; a draft shown then and sent or rated later
counts as sent or rated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TextIO

from storage.coaching import DraftCounts

HEAD = ("kind", "variant", "shown", "sent", "up", "down")


def report(store: Any, now: datetime, days: int) -> list[DraftCounts]:
    with store.read() as tx:
        return list(tx.draft_report(now - timedelta(days=days), now + timedelta(seconds=1)))


def render(rows: Sequence[DraftCounts], now: datetime, days: int) -> str:
    since = (now - timedelta(days=days)).date().isoformat()
    span = f"the last {days} day{'s' if days != 1 else ''} ({since} to {now.date().isoformat()}, UTC)"
    if not rows:
        return f"No coach drafts were shown in {span}.\n"
    table: list[tuple[str, ...]] = [HEAD]
    table += [(r.kind, r.variant, str(r.shown), str(r.sent), str(r.up), str(r.down)) for r in rows]
    table.append(("total", "", *(str(sum(getattr(r, f) for r in rows)) for f in ("shown", "sent", "up", "down"))))
    widths = [max(len(row[i]) for row in table) for i in range(len(HEAD))]
    lines = [f"Coach drafts shown in {span}:"]
    for row in table:
        left = [row[i].ljust(widths[i]) for i in (0, 1)]
        right = [row[i].rjust(widths[i]) for i in range(2, len(HEAD))]
        lines.append("  ".join(left + right).rstrip())
    return "\n".join(lines) + "\n"


def run_report(settings: Any, open_store: Any, days: int, out: TextIO) -> int:
    from bot.clock import Clock
    store = open_store(settings)
    try:
        now = Clock().now()
        out.write(render(report(store, now, days), now, days))
    finally:
        store.dispose()
    return 0
