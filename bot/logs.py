"""Logging set up from HARDNO_LOG_LEVEL and HARDNO_LOG_FORMAT, and the one line logged per Slack request.

Structured fields travel in `extra={"fields": {...}}`: the text format appends them as key=value, the json
format merges them into the line's object. What a request line carries is chosen so that no token and no
message text is ever in it (ids, names of listeners, status and latency only).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

requests_log = logging.getLogger("hardno.request")
# Slack tokens (bot, user, app, refresh): slack_sdk logs oauth.v2.access's answer at DEBUG, token and all.
TOKENS = re.compile(r"\b(xox[a-z]|xapp)-[A-Za-z0-9-]+")


def redact(line: str) -> str:
    """`line` with every Slack token in it replaced: no log line ever carries one, whatever logged it."""
    return TOKENS.sub(lambda m: m.group(1) + "-(redacted)", line)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", None)
        if fields:
            first, nl, rest = line.partition("\n")  # key=value stays on the message's line, before a traceback
            line = first + " " + " ".join(f"{k}={_text(v)}" for k, v in fields.items()) + nl + rest
        return redact(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: a traceback goes into the object's "exc" field, never onto its own lines."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                               "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        out.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        return redact(json.dumps(out, default=str, ensure_ascii=False))


def _text(value: object) -> str:
    s = str(value)
    return json.dumps(s) if (not s or any(c.isspace() or c in '"=' for c in s)) else s


def configure(level: str = "INFO", fmt: str = "text", stream=None) -> None:
    """Root logging to stderr (or `stream`) at `level`, in `fmt`; replaces handlers set before."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings too go through the handler (one JSON object per line)
    # Libraries' own chatter stays out of INFO: at DEBUG these log request bodies, which hold message text.
    # alembic says "Context impl SQLiteImpl" each time a command opens the database; we log what it applied.
    for noisy in ("slack_sdk", "slack_bolt", "urllib3", "httpx", "openai", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING)
                                          if level != "DEBUG" else logging.DEBUG)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # import-time noise


def request_line(*, kind: str, listener: str, status: int, seconds: float, team: str | None,
                 user: str | None, retry: str | None = None) -> None:
    """The one INFO line per Slack request: who, which listener, how it was answered, and how fast."""
    outcome = {200: "ok", 401: "unauthorized", 404: "unhandled"}.get(status, "error" if status >= 500 else "refused")
    fields: dict[str, Any] = {"kind": kind, "listener": listener, "status": status, "outcome": outcome,
                              "ack_ms": round(seconds * 1000, 2), "team": team or "", "user": user or ""}
    if retry:
        fields["retry"] = retry
    requests_log.info("request", extra={"fields": fields})
