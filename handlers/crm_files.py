"""A CSV shared in the DM with the bot: a preview of the import and an [Import] button.

Nothing is written before the click: the preview is a dry run, and the click downloads the file again
from Slack (the button carries only its Slack URL, which must be Slack's own) and imports it for the rep
who shared it. Registered before the chat listener (handlers.events): Bolt runs the first listener whose
matcher fits, and that one takes every DM message.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from urllib.parse import urlparse

from slack_sdk.models.blocks import ActionsBlock, ContextBlock, SectionBlock

from handlers import blocks as bk
from handlers.crm.importer import Imported, import_csv
from handlers.domain.amounts import Amount, format_amount
from handlers.domain.crm_csv import MAX_BYTES, CsvFileError, parse_csv
from handlers.mrkdwn import escape
from handlers.workspace import team_of

log = logging.getLogger(__name__)
PREVIEW_ROWS = 5
NOT_CSV = ("That file doesn't look like a CSV. Export your deals from your CRM as CSV and share that here, "
           "and I'll show you what I'd import.")
GONE = "I couldn't fetch that file from Slack any more; share it again."


def register(app) -> None:
    app.event({"type": "message", "subtype": "file_share"})(on_file_shared)
    app.action("crm:import")(import_clicked)
    app.action("crm:import_cancel")(cancel_clicked)


def on_file_shared(event, body, client, store, clock, reps, settings):
    if event.get("channel_type") != "im" or event.get("bot_id") or not event.get("user"):
        return
    rep = reps.get(event["user"], team_of(body) or event.get("team", ""))
    for f in (event.get("files") or [])[:1]:
        url, name = f.get("url_private_download") or f.get("url_private") or "", f.get("name") or "file"
        if not _is_csv(f):
            client.chat_postMessage(channel=event["channel"], text=NOT_CSV)
            return
        try:
            parsed = parse_csv(download(url, client.token, settings))
        except CsvFileError as e:
            client.chat_postMessage(channel=event["channel"], text=f"I can't import {escape(name)}: {escape(str(e))}.")
            return
        except OSError:
            client.chat_postMessage(channel=event["channel"], text=GONE)
            return
        dry = import_csv(store, clock, parsed, dry_run=True, keep_preview=PREVIEW_ROWS, as_rep=rep.user_id,
                         team=rep.team_id)
        text, blocks = preview(name, dry, json.dumps({"u": url, "n": name[:200]}))
        client.chat_postMessage(channel=event["channel"], text=text, blocks=bk.as_dicts(blocks))


def import_clicked(ack, body, action, respond, client, store, clock, settings):
    ack()
    user = body["user"]["id"]
    try:
        ref = json.loads(action.get("value") or "{}")
        result = import_csv(store, clock, parse_csv(download(ref["u"], client.token, settings)), as_rep=user,
                            team=team_of(body))
    except (CsvFileError, OSError, ValueError, KeyError):
        respond(text=GONE, replace_original=False, response_type="ephemeral")
        return
    lines = result.lines()
    respond(text=escape("\n".join(lines[:20])), replace_original=True)


def cancel_clicked(ack, respond):
    ack()
    respond(text="OK, nothing imported.", replace_original=True)


def _is_csv(f: dict) -> bool:
    name = (f.get("name") or "").lower()
    return f.get("filetype") == "csv" or name.endswith(".csv") or f.get("mimetype") in ("text/csv", "text/plain")


def download(url: str, token: str | None, settings) -> bytes:
    """The file's bytes, fetched with the bot token, and only from Slack (the token goes nowhere else)."""
    host = urlparse(url).hostname or ""
    allowed = {"files.slack.com", urlparse(settings.slack_api_url).hostname or ""}
    if urlparse(url).scheme not in ("http", "https") or host not in allowed:
        raise OSError(f"not a Slack file URL: {host}")
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=15) as resp:  # noqa: S310 - the host is checked above
        data = resp.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise CsvFileError(f"the file is larger than {MAX_BYTES // 1024 // 1024} MB")
    return data


def preview(name: str, dry: Imported, value: str) -> tuple[str, list]:
    head = (f"{escape(name)}: {dry.source_label()}. Importing would add {dry.added} and update {dry.updated} of "
            f"your deals; {dry.unchanged} unchanged, {len(dry.skipped)} skipped.")
    rows = []
    for row, _owner, what in dry.preview:
        bits = [f"*{escape(row.company)}*"]
        if row.amount is not None:
            bits.append(escape(format_amount(Amount(row.amount, row.currency))))
        if row.status != "open":
            bits.append("won" if row.status == "won" else "hard no")
        elif row.stage:
            bits.append(escape(row.stage))
        if row.close_date:
            bits.append(f"close {row.close_date.isoformat()}")
        rows.append("• " + " · ".join(bits) + f" → {what}")
    skips = [f"line {s.line}: {escape(s.reason)}" for s in dry.skipped[:PREVIEW_ROWS]]
    blocks: list = [SectionBlock(text=bk.md(head))]
    if rows:
        blocks.append(SectionBlock(text=bk.md("\n".join(rows))))
    if skips:
        blocks.append(ContextBlock(elements=[bk.md("Skipped: " + "; ".join(skips))]))
    if dry.added or dry.updated:
        blocks.append(ActionsBlock(elements=[bk.button("Import", "crm:import", value, "primary"),
                                             bk.button("Cancel", "crm:import_cancel", "cancel")]))
    return head, blocks
