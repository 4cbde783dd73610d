"""A rep's deals as CSV, dates in their own zone."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from handlers.domain.model import Deal

COLUMNS = ["id", "company", "contact", "amount", "currency", "stage", "status", "next_meeting", "maybes",
           "unanswered_tries", "total_tries", "created", "closed", "close_reason", "last_maybe_note"]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """Company names are typed by anyone: keep a spreadsheet from running them as formulas."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def deals_csv(deals: Iterable[Deal], tz: str) -> str:
    zone = ZoneInfo(tz)

    def local(dt: datetime | None) -> str:
        return dt.astimezone(zone).strftime("%Y-%m-%d %H:%M") if dt else ""

    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(COLUMNS)
    for d in deals:
        w.writerow([d.id, safe_cell(d.company), safe_cell(d.contact), d.amount if d.amount is not None else "",
                    d.currency or "", safe_cell(d.stage), d.status.value, local(d.next_meeting_at), d.maybe_count,
                    d.touches_since_answer, d.touch_count, local(d.created_at), local(d.closed_at),
                    safe_cell(d.close_reason), safe_cell(d.last_maybe_note)])
    return out.getvalue()
