"""The nudger: each rep's morning DM digest of the deals stuck in maybe-land, exactly once a local day.

Surfaces:
- `sweep_digests(services, client)` (scheduler, every 5 minutes): the digests that are due.
- `run_digests(...)` (`hardno digest [--now] [--user U] [--dry-run]`, and the sandbox's `:digest`).
- The digest's buttons (`digest:*`): each updates its own line of the digest in place (chat.update).
- `/deal settings digest 8am|off|on|weekends on|off`.

The rules live in `handlers.domain.stalls` (pure); when a digest is due in `handlers.domain.schedule`.
README: docs/nudger.md.

Delivery (what must be right):
- One sweep for everyone; a rep's digest is due from their digest hour (default HARDNO_DIGEST_HOUR) until
  local midnight on their working days, in their Slack zone. The sweep finds the reps due now, leaves out
  those settled today, refreshes stale zones (users.info through `RepDirectory`, at most `REFRESH_BUDGET`
  a run), plans every remaining digest with a handful of whole-org queries, then delivers them one by one.
- Exactly once per rep per local date: a delivery row ("digest", rep, local date) is claimed in its own
  committed transaction BEFORE anything is sent; only the claimer sends. The row ends as
    sent     posted (channel and ts recorded)
    empty    nothing was stuck at the day's first look: no digest that day (never an empty one)
    failed   Slack said no, or nothing reached it: a later sweep the same day claims it again
    unknown  a 5xx, `internal_error`/`fatal_error`, or a connection lost mid-request: it may have
             posted, so it is NOT retried that day (a possibly missing digest beats a double one); logged
    gave_up  the rep can't be DMed (deactivated, ...): not retried that day
  A process that dies between claim and send leaves "claimed": never retried that day either.
- chat.postMessage goes through a copy of the client whose only automatic retry is waiting out 429 +
  Retry-After (slack_sdk's default connection-error retry could resend a post Slack already took).
- On PostgreSQL the whole run holds a transaction-scoped advisory lock ("digest-sweep") in a
  transaction of its own, so one sweep runs at a time across hosts; the claims are what keep a post
  single even without it (SQLite, one host, has no such lock).
- Catch-up: a bot that was down at 9:00 sends the day's digest when it is back, the same local day only;
  yesterday's unsent digest is never sent.
- `--now` (ignore_hour) ignores the schedule (hour and weekday) for an explicit run; still one per local
  day, and never for a rep who turned digests off. `--dry-run` prints, claims nothing and sends nothing.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain, groupby, islice
from operator import attrgetter
from typing import TextIO
from urllib.error import URLError

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.models.blocks import ActionsBlock, Block, ContextBlock, DatePickerElement, SectionBlock

from handlers import blocks as bk
from handlers.actions import ask_from
from handlers.coaching import deliverer, send_draft
from handlers.commands import NOT_YOURS, Ask, Reply
from handlers.domain.model import Deal, Kind, Rep, Source
from handlers.domain.schedule import digest_due, local_day, zone
from handlers.domain.stalls import (
    BREAKUP,
    MEETING,
    TAKE_NO,
    DealRow,
    Digest,
    RepStats,
    Thresholds,
    plan_digest,
)
from handlers.domain.text import clip, plural
from handlers.mrkdwn import escape
from handlers.reps import REFRESH
from handlers.settings import Area, area

log = logging.getLogger(__name__)

DIGEST = "digest"  # delivery kind
LOCK = "digest-sweep"
LINES = 10  # at most this many deals in one digest
MAX_OWNER_FILTER = 1000  # due reps beyond which planning reads everyone's rows and skips the others
# Rows read ahead (about 1.7 KB each, so at most ~170 MB) while the medians are still being worked out in the database: reading
# the scan is the planning's biggest cost, and this lets it overlap theirs instead of waiting for them.
READ_AHEAD = 100_000
REFRESH_BUDGET = 100  # users.info calls a run may make to refresh stale zones
SENT, FAILED, EMPTY, UNKNOWN, GAVE_UP = "sent", "failed", "empty", "unknown", "gave_up"
# Slack answered, and its answer says the post may have gone through anyway.
AMBIGUOUS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
# The rep can't get DMs from the bot: retrying every five minutes all day would change nothing.
UNREACHABLE = {"account_inactive", "user_not_found", "user_disabled", "cannot_dm_bot", "messages_tab_disabled",
               "user_not_visible"}
SETTINGS_HINT = "`/deal settings digest 8am` moves it, `/deal settings digest off` stops it"


# ================================================================== who is due, and their digests

@dataclass(frozen=True)
class Due:
    rep: Rep
    day: date  # the rep's local date whose digest this is


def due_day(rep: Rep, now: datetime, default_hour: int, ignore_schedule: bool = False) -> date | None:
    """The local date whose digest is due for `rep` at `now`, or None (not yet, not a working day)."""
    if ignore_schedule:
        return local_day(now, rep.tz)
    hour = rep.digest_hour if rep.digest_hour is not None else default_hour
    return digest_due(now, rep.tz, hour, rep.digest_weekends)


def plan_digests(store, due: Sequence[Due], now: datetime, *,
                 limit: int = LINES) -> Iterator[tuple[Due, Digest | None]]:
    """Every due rep's digest (None: nothing stuck), from a handful of queries for the whole set of reps:
    the workspaces' thresholds, the reps' median amounts, their median days per stage, and ONE streamed,
    owner-ordered scan of the open, unsnoozed deals, judged rep by rep as the rows go by. Memory holds
    one rep's top `limit` lines at a time, never the scan."""
    by_owner = {d.rep.user_id: d for d in due}
    if not by_owner:
        return
    # A sweep usually plans one zone's reps: the queries read just theirs (by index). When very many are
    # due at once (`--now`), plain whole-table scans are faster, and the other reps' rows are skipped here.
    owners = list(by_owner) if len(by_owner) <= MAX_OWNER_FILTER else None
    seen: set[str] = set()
    with _stats(store, owners) as stats, store.read() as tx:
        overrides = tx.workspace_thresholds()
        stats.before_scan(tx)
        rows = tx.open_deals_for_digest(owners, now)
        ahead = stats.read_ahead(rows)
        amounts, stages = stats.get()
        thresholds: dict[str, Thresholds] = {}
        for owner, deals in groupby(chain(ahead, rows), key=attrgetter("owner_id")):
            d = by_owner.get(owner)
            if d is None or owner in seen:  # not due (unfiltered read), or seen (never: rows come grouped)
                continue
            seen.add(owner)
            team = d.rep.team_id
            if team not in thresholds:
                thresholds[team] = Thresholds.from_overrides(overrides.get(team))
            usual = RepStats(median_amounts=amounts.get(owner, {}), median_stage_days=stages.get(owner, {}))
            yield d, plan_digest(deals, now, d.rep.tz, usual, thresholds[team], limit)
    for owner, d in by_owner.items():
        if owner not in seen:
            yield d, None  # no open deals at all


class _Stats:
    """The reps' median amounts and median days per stage. On PostgreSQL both aggregates start at once,
    each in a transaction (and a server process) of its own, while the scan gets going; on SQLite (one
    writer at a time) they run in the planning transaction, before its scan."""

    def __init__(self, store, owners, pool: ThreadPoolExecutor | None):
        self.owners, self.futures, self.found = owners, None, None
        if pool is not None:
            self.futures = [pool.submit(self._read, store, q) for q in ("median_amounts", "median_stage_days")]

    def _read(self, store, query: str):
        with store.read() as tx:
            return getattr(tx, query)(self.owners)

    def before_scan(self, tx) -> None:
        if self.futures is None:
            self.found = tx.median_amounts(self.owners), tx.median_stage_days(self.owners)

    def read_ahead(self, rows: Iterator, chunk: int = 1000) -> list:
        """Rows taken from `rows` until the medians are in (at most READ_AHEAD of them)."""
        ahead: list = []
        while self.futures is not None and len(ahead) < READ_AHEAD and not all(f.done() for f in self.futures):
            taken = list(islice(rows, chunk))
            ahead += taken
            if len(taken) < chunk:
                break
        return ahead

    def get(self) -> tuple[dict, dict]:
        if self.futures is None:
            return self.found
        return self.futures[0].result(), self.futures[1].result()


@contextmanager
def _stats(store, owners):
    if store.dialect != "postgresql":
        yield _Stats(store, owners, None)
        return
    with ThreadPoolExecutor(2, thread_name_prefix="digest-stats") as pool:
        yield _Stats(store, owners, pool)


# ================================================================== the digest message

@dataclass(frozen=True)
class Line:
    """One digest line, ready to show: the plan's deal rows are let go as soon as it is made."""

    deal_id: int
    company: str
    amount: str | None
    reasons: tuple[str, ...]  # most decisive first
    age_days: int
    draft: str  # what "Draft hard-no ask" drafts: "ask", or "breakup" after silence / effort beyond value
    meeting_first: bool  # the first reason asks for a next meeting


@dataclass(frozen=True)
class Planned:
    rep: Rep
    day: date
    opening: str
    lines: tuple[Line, ...]
    more: int


def line_of(deal: Deal | DealRow, reasons: Iterable, age_days: int) -> Line:
    stalls = list(reasons)
    first = stalls[0].suggestion if stalls else None
    return Line(deal.id, deal.company, None if deal.amount is None else bk.amount_text(deal),
                tuple(s.reason for s in stalls), age_days, "breakup" if first in (BREAKUP, TAKE_NO) else "ask",
                first == MEETING)


def planned(d: Due, digest: Digest | None) -> Planned | None:
    if digest is None:
        return None
    lines = tuple(line_of(ln.deal, ln.stalls, ln.age_days) for ln in digest.lines)
    return Planned(d.rep, d.day, digest.opening, lines, digest.more)


def _waiting(days: int) -> str:
    return "waiting since today" if days <= 0 else f"waiting {plural(days, 'day')}"


def line_head(company: str, amount: str | None, age_days: int | None = None) -> str:
    bits = [f"*{escape(clip(company, 150))}*"]
    if amount:
        bits.append(escape(amount))
    if age_days is not None:
        bits.append(_waiting(age_days))
    return " · ".join(bits)


def line_text(line: Line) -> str:
    text = line_head(line.company, line.amount, line.age_days)
    if line.reasons:
        text += "\n" + escape(line.reasons[0])
    if line.reasons[1:]:
        text += "\n_also: " + escape("; ".join(line.reasons[1:])) + "_"
    return text


def line_buttons(line: Line) -> ActionsBlock:
    v = str(line.deal_id)
    return ActionsBlock(block_id=f"dg:{v}:a", elements=[
        bk.button("Draft hard-no ask", "digest:ask", f"{v}:{line.draft}", None if line.meeting_first else "primary"),
        bk.button("Draft meeting request", "digest:meeting", v, "primary" if line.meeting_first else None),
        bk.button("Won", "digest:won", v),
        bk.button("No", "digest:no", v),
        bk.button("Snooze 1 week", "digest:snooze", v),
        DatePickerElement(action_id="digest:snooze_until", placeholder=bk.plain("Snooze until…")),
    ])


def schedule_words(rep: Rep, default_hour: int) -> str:
    hour = rep.digest_hour if rep.digest_hour is not None else default_hour
    days = "every day" if rep.digest_weekends else "on working days"
    return f"{days} at {hour}:00 ({rep.tz})"


def digest_blocks(p: Planned, default_hour: int, home_link: str | None = None) -> tuple[str, list[Block]]:
    """(notification text, blocks): the opening, then per deal a line and its buttons, then "and N more"."""
    blocks: list[Block] = [SectionBlock(block_id="dg:open", text=bk.md(escape(p.opening)))]
    for line in p.lines:
        blocks.append(SectionBlock(block_id=f"dg:{line.deal_id}", text=bk.md(line_text(line))))
        blocks.append(line_buttons(line))
    if p.more:
        where = f"<{home_link}|my Home tab>" if home_link else "my Home tab"
        blocks.append(ContextBlock(block_id="dg:more", elements=[bk.md(
            f"…and {p.more} more waiting on a decision: see them all in {where}.")]))
    blocks.append(ContextBlock(block_id="dg:foot", elements=[bk.md(
        f"Your digest comes {schedule_words(p.rep, default_hour)} · {SETTINGS_HINT}")]))
    return p.opening, blocks


def digest_as_text(p: Planned) -> str:
    """The digest for a terminal (`hardno digest --dry-run`): plain words, no mrkdwn."""
    out = [p.opening]
    for i, line in enumerate(p.lines, 1):
        head = " · ".join([line.company] + ([line.amount] if line.amount else []) + [_waiting(line.age_days)])
        out.append(f"{i:>3}. {head}")
        out += [f"     {line.reasons[0]}"] if line.reasons else []
        out += [f"     also: {'; '.join(line.reasons[1:])}"] if line.reasons[1:] else []
    if p.more:
        out.append(f"     …and {p.more} more waiting on a decision (in the App Home)")
    return "\n".join(out)


_home_links: dict[tuple, str | None] = {}


def app_home_link(client) -> str | None:
    """slack://app?team=..&id=..&tab=home for "and N more", from auth.test + bots.info (once per process)."""
    key = (getattr(client, "base_url", None), getattr(client, "token", None))
    if key not in _home_links:
        try:
            auth = client.auth_test()
            bot = client.bots_info(bot=auth["bot_id"])["bot"]
            _home_links[key] = f"slack://app?team={auth['team_id']}&id={bot['app_id']}&tab=home"
        except Exception as e:  # the link is a convenience: the words still say where to look
            log.info("no App Home link for the digest: %s", e)
            _home_links[key] = None
    return _home_links[key]


# ================================================================== running the digests

@dataclass
class DigestReport:
    dry_run: bool = False
    sent: list[str] = field(default_factory=list)
    printed: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)  # nothing stuck: no digest today
    already: list[str] = field(default_factory=list)  # settled today already (or being sent elsewhere)
    failed: list[tuple[str, str]] = field(default_factory=list)  # retried on a later sweep today
    unknown: list[tuple[str, str]] = field(default_factory=list)  # may have posted: not retried today
    gave_up: list[tuple[str, str]] = field(default_factory=list)
    off: list[str] = field(default_factory=list)
    not_due: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        bits = [f"{len(self.printed)} printed (dry run, nothing sent)"] if self.dry_run else [f"{len(self.sent)} sent"]
        for n, words in ((len(self.empty), "with nothing stuck"), (len(self.already), "already settled today"),
                         (self.not_due, "not due now"), (len(self.off), "turned off")):
            if n:
                bits.append(f"{n} {words}")
        for items, words in ((self.failed, "failed, retried later today"),
                             (self.unknown, "in doubt (may have posted), not retried"),
                             (self.gave_up, "unreachable")):
            if items:
                bits.append(f"{len(items)} {words} (" + "; ".join(f"{u}: {e}" for u, e in items[:5]) + ")")
        return "digest: " + ", ".join(bits) + "".join(f"; {n}" for n in self.notes)


@contextmanager
def exclusive(store, name: str):
    """True when this run may go ahead. On PostgreSQL a transaction-scoped advisory lock, held in a
    transaction of its own for the whole run (the claims commit in theirs). On SQLite always True:
    every transaction there takes the write lock, so holding one open would block the run's own claims."""
    if store.dialect != "postgresql":
        yield True
        return
    with store.tx() as tx:
        yield tx.try_lock(name)


def sweep_digests(services, client) -> DigestReport:
    """The scheduler's job (every 5 minutes): send every digest that is due."""
    return run_digests(services, client)


def run_digests(services, client, *, ignore_hour: bool = False, only_user: str | None = None,
                dry_run: bool = False, out: TextIO = sys.stdout) -> DigestReport:
    """Send (or with `dry_run`, print to `out`) the digests due now; `ignore_hour` ignores the schedule."""
    report = DigestReport(dry_run=dry_run)
    if dry_run:  # reads only: no lock needed, nothing claimed
        _run(services, client, report, ignore_hour, only_user, dry_run, out)
        return report
    with exclusive(services.store, LOCK) as mine:
        if not mine:
            report.notes.append("another sweep is running")
            return report
        _run(services, client, report, ignore_hour, only_user, dry_run, out)
    return report


def _run(services, client, report: DigestReport, ignore_schedule: bool, only_user: str | None,
         dry_run: bool, out: TextIO) -> None:
    store, now = services.store, services.clock.now()
    default_hour = services.settings.hardno_digest_hour
    with store.tx() as tx:
        reps = tx.reps()
    if only_user:
        reps = [r for r in reps if r.user_id == only_user]
        if not reps:
            report.notes.append(f"{only_user} has not used hardno yet")
    due: list[Due] = []
    for rep in reps:
        if not rep.digest_on:
            report.off.append(rep.user_id)
            continue
        day = due_day(rep, now, default_hour, ignore_schedule)
        if day is None:
            report.not_due += 1
        else:
            due.append(Due(rep, day))
    with store.tx() as tx:
        settled = tx.settled_deliveries(DIGEST, [(d.rep.user_id, d.day.isoformat()) for d in due])
    if not dry_run:
        report.already += [d.rep.user_id for d in due if (d.rep.user_id, d.day.isoformat()) in settled]
        due = [d for d in due if (d.rep.user_id, d.day.isoformat()) not in settled]
    budget = [REFRESH_BUDGET if _has_token(client) else 0]
    due = [fresh for d in due if (fresh := _with_fresh_zone(services, d, now, default_hour, ignore_schedule,
                                                            budget, report)) is not None]
    plans = [(d, planned(d, digest)) for d, digest in plan_digests(store, due, now)]
    plans.sort(key=lambda dp: dp[0].rep.user_id)
    if dry_run:
        for d, p in plans:
            _print(d, p, (d.rep.user_id, d.day.isoformat()) in settled, out, report, quiet=not only_user)
        return
    poster, home = _poster(client), None
    for d, p in plans:
        if p is not None and p.more and home is None:
            home = app_home_link(client) or ""
        _deliver(services, poster, d, p, home or None, report)
    _refresh_some(services, reps, now, budget)


def _has_token(client) -> bool:
    return bool(getattr(client, "token", None))


def _stale(rep: Rep, now: datetime) -> bool:
    return rep.tz_checked_at is None or now - rep.tz_checked_at >= REFRESH


def _with_fresh_zone(services, d: Due, now: datetime, default_hour: int, ignore_schedule: bool,
                     budget: list[int], report: DigestReport) -> Due | None:
    """`d` with the rep's zone asked again when it is a day old (their digest may then not be due yet)."""
    if budget[0] <= 0 or not _stale(d.rep, now):
        return d
    budget[0] -= 1
    try:
        rep = services.reps.get(d.rep.user_id, d.rep.team_id)
    except Exception as e:  # Slack unreachable: the cached zone will do today
        log.warning("zone refresh for %s failed: %s", d.rep.user_id, e)
        return d
    day = due_day(rep, now, default_hour, ignore_schedule)
    if day is None:
        report.not_due += 1
        return None
    return Due(rep, day)


def _refresh_some(services, reps: Sequence[Rep], now: datetime, budget: list[int]) -> None:
    """Spend what is left of the budget on the stalest zones of reps not due now, so a rep who moved is
    known to have moved before their next morning (the due ones were refreshed before planning)."""
    stale = sorted((r for r in reps if r.digest_on and _stale(r, now)),
                   key=lambda r: r.tz_checked_at or datetime.min.replace(tzinfo=UTC))
    for rep in stale[:max(budget[0], 0)]:
        try:
            services.reps.get(rep.user_id, rep.team_id)
        except Exception as e:
            log.warning("zone refresh for %s failed: %s", rep.user_id, e)
            return


def _print(d: Due, p: Planned | None, settled: bool, out: TextIO, report: DigestReport, *, quiet: bool) -> None:
    """One rep's digest as text; a rep with nothing stuck gets a line only when asked for by name."""
    rep = d.rep
    who = f"{rep.user_id} {rep.name}".strip()
    head = f"── digest for {who} · {rep.tz} · {d.day:%a %b %-d}"
    if p is None:
        report.empty.append(rep.user_id)
        if not quiet:
            print(f"{head} ── nothing stuck: no digest", file=out)
        return
    note = " (already delivered today: a real run would skip it)" if settled else ""
    print(f"{head} ──{note}\n{digest_as_text(p)}\n", file=out)
    report.printed.append(rep.user_id)


# ================================================================== delivering one digest

@dataclass(frozen=True)
class Outcome:
    state: str
    channel: str | None = None
    ts: str | None = None
    error: str | None = None


def _poster(client) -> WebClient:
    """A client like `client` for chat.postMessage whose only automatic retry is waiting out a 429: slack_sdk's
    default connection-error retry would resend a post that Slack may have taken before the line dropped."""
    try:
        handlers = [h for h in client.retry_handlers if isinstance(h, RateLimitErrorRetryHandler)]
        return WebClient(token=client.token, base_url=client.base_url, timeout=client.timeout, ssl=client.ssl,
                         proxy=client.proxy, headers=dict(client.headers or {}), retry_handlers=handlers)
    except AttributeError:  # pragma: no cover - not a WebClient: use it as it is
        return client


def _deliver(services, poster, d: Due, p: Planned | None, home: str | None, report: DigestReport) -> None:
    store, user, period = services.store, d.rep.user_id, d.day.isoformat()
    with store.tx() as tx:
        if not tx.claim_delivery(DIGEST, user, period, services.clock.now()):
            report.already.append(user)  # another sweep got there first
            return
    outcome = Outcome(FAILED, error="not attempted")
    try:
        outcome = _send(services, poster, d, p, home)
    except Exception as e:  # raised before anything was posted (see _send): try again later today
        log.exception("digest for %s failed before posting", user)
        outcome = Outcome(FAILED, error=f"{type(e).__name__}: {e}")
    finally:
        with store.tx() as tx:
            now = services.clock.now()
            if outcome.state in (SENT, FAILED):
                tx.finish_delivery(DIGEST, user, period, now, ok=outcome.state == SENT, channel=outcome.channel,
                                   ts=outcome.ts, error=outcome.error)
            else:
                tx.settle_delivery(DIGEST, user, period, now, outcome.state, channel=outcome.channel,
                                   error=outcome.error)
    if outcome.state == SENT:
        report.sent.append(user)
    elif outcome.state == EMPTY:
        report.empty.append(user)
    else:
        {FAILED: report.failed, UNKNOWN: report.unknown, GAVE_UP: report.gave_up}[outcome.state].append(
            (user, outcome.error or ""))


def _send(services, poster, d: Due, p: Planned | None, home: str | None) -> Outcome:
    """Post one claimed digest. Exceptions escape only from before the post (nothing reached Slack)."""
    if p is None:
        return Outcome(EMPTY, error="nothing stuck")
    rep = d.rep
    try:
        channel = services.reps.dm_channel(rep)
    except SlackApiError as e:
        error = str(e.response.get("error"))
        return Outcome(GAVE_UP if error in UNREACHABLE else FAILED, error=f"conversations.open: {error}")
    text, blocks = digest_blocks(p, services.settings.hardno_digest_hour, home)
    payload = bk.as_dicts(blocks)
    metadata = {"event_type": "hardno_digest", "event_payload": {"rep": rep.user_id, "day": d.day.isoformat()}}
    try:
        resp = poster.chat_postMessage(channel=channel, text=text, blocks=payload, unfurl_links=False,
                                       unfurl_media=False, metadata=metadata)
    except SlackApiError as e:
        return _refused(services, rep, channel, e)
    except URLError as e:
        if isinstance(e.reason, ConnectionRefusedError):  # never connected: nothing was sent
            return Outcome(FAILED, channel, error=f"connection refused: {e.reason}")
        return _in_doubt(rep, channel, f"connection lost: {e.reason}")
    except Exception as e:  # a timeout or a dropped connection after the request left: it may have posted
        return _in_doubt(rep, channel, f"{type(e).__name__}: {e}")
    return Outcome(SENT, resp.get("channel") or channel, resp.get("ts"))


def _refused(services, rep: Rep, channel: str, e: SlackApiError) -> Outcome:
    status = getattr(e.response, "status_code", 200) or 200
    error = str(e.response.get("error"))
    if status >= 500 or error in AMBIGUOUS:
        return _in_doubt(rep, channel, f"HTTP {status}: {error}")
    if error in UNREACHABLE:
        log.warning("digest for %s: the rep can't be DMed (%s)", rep.user_id, error)
        return Outcome(GAVE_UP, channel, error=error)
    if error == "channel_not_found":  # the cached DM channel is stale: open it again next time
        with services.store.tx() as tx:
            current = tx.rep(rep.user_id)
            if current is not None:
                tx.save_rep(current.replace(dm_channel=None))
    log.warning("digest for %s not posted (HTTP %s: %s); a later sweep tries again", rep.user_id, status, error)
    return Outcome(FAILED, channel, error=f"HTTP {status}: {error}")


def _in_doubt(rep: Rep, channel: str, error: str) -> Outcome:
    log.warning("digest for %s may or may not have posted (%s): not retrying today, to never post it twice",
                rep.user_id, error)
    return Outcome(UNKNOWN, channel, error=error)


# ================================================================== the digest's buttons

def register(app: App) -> None:
    app.action("digest:ask")(on_draft)
    app.action("digest:meeting")(on_draft)
    app.action(re.compile(r"^digest:(won|no)$"))(on_decision)
    app.action("digest:snooze")(on_snooze)
    app.action("digest:snooze_until")(on_snooze)


_STATUS = ("✅", "💤", "✍️", "↩️")  # status lines a click appends to a digest line


def _deal_id(action) -> int:
    head = (action.get("value") or "").split(":", 1)[0]
    if not head and (action.get("block_id") or "").startswith("dg:"):  # the date picker has no value
        head = action["block_id"].split(":")[1]
    return int(head) if head.isdigit() else 0


def _private(respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def update_line(client, store, body, deal_id: int, status: str, *, keep_buttons: bool,
                head: str | None = None) -> bool:
    """Show what was done on the digest line of `deal_id`, in place (chat.update on the digest message).

    The line's section gets `status` (replacing an earlier status; `head` replaces the whole line), and its
    buttons go unless `keep_buttons`; every other block stays as it was. Two quick clicks on different lines
    both come with the message as it was before either: so each click's mark is stored on the digest's
    delivery row and every update shows all the marks, and an update that may have overtaken a newer one is
    sent again. False when the click carried no digest line to update."""
    message, container = body.get("message") or {}, body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or message.get("ts")
    blocks = message.get("blocks")
    if not (channel and ts and blocks) or not any(b.get("block_id") == f"dg:{deal_id}" for b in blocks):
        return False
    user = (body.get("user") or {}).get("id") or ""
    mark = {"status": status, "head": head, "keep_buttons": keep_buttons}
    with store.tx() as tx:
        marked = tx.mark_delivery(DIGEST, user, channel, ts, str(deal_id), mark)
    version, marks = marked or (None, {str(deal_id): mark})
    text = message.get("text") or "Your digest"
    for _ in range(_MAX_RESENDS):
        client.chat_update(channel=channel, ts=ts, text=text, blocks=_marked(blocks, marks))
        if version is None:
            break
        with store.read() as tx:
            latest = tx.delivery_marks(DIGEST, user, channel, ts)
        if latest is None or latest[0] == version:  # nobody marked the digest meanwhile: this shows everything
            break
        version, marks = latest  # a click landed meanwhile and its update may have reached Slack first: resend
    return True


_MAX_RESENDS = 5  # each resend answers a click that came in meanwhile; that click sends its own update too


def _marked(blocks: list[dict], marks: dict[str, dict]) -> list[dict]:
    """The digest's blocks with every line mark applied (a mark is {status, head, keep_buttons})."""
    out = []
    for block in blocks:
        block_id = block.get("block_id") or ""
        key = block_id[3:].removesuffix(":a") if block_id.startswith("dg:") else None
        mark = marks.get(key) if key else None
        if mark is None:
            out.append(block)
        elif block_id.endswith(":a"):
            if mark["keep_buttons"]:
                out.append(block)
        elif block.get("type") == "section":
            kept = [ln for ln in ((block.get("text") or {}).get("text") or "").split("\n")
                    if not ln.startswith(_STATUS)]
            text = "\n".join(([mark["head"]] if mark["head"] else kept) + [mark["status"]])
            out.append({"type": "section", "block_id": block_id,
                        "text": {"type": "mrkdwn", "text": clip(text, bk.MAX_SECTION)}})
        else:
            out.append(block)
    return out


def _ask(body, store, clock, reps, client, coach, settings) -> Ask:
    return ask_from(body, store, clock, reps, client, coach, settings, source=Source.BUTTON)


def on_decision(ack, body, action, respond, client, store, clock, reps, coach, settings):
    """Won / No: log it on the rep's own deal and show it on the line."""
    ack()
    kind = {"digest:won": Kind.WON, "digest:no": Kind.NO}[action["action_id"]]
    ask = _ask(body, store, clock, reps, client, coach, settings)
    done = ask.log.log(ask.rep.user_id, _deal_id(action), kind, source=Source.BUTTON)
    if done is None:
        _private(respond, NOT_YOURS)
        return
    deal = done.deal
    head = line_head(deal.company, None if deal.amount is None else bk.amount_text(deal))
    if done.already_closed:
        status = f"✅ Already closed out ({bk.STATE_LABEL[deal.status]}); nothing changed."
    elif kind is Kind.WON:
        status = "✅ *Won.* Congratulations! :tada:"
    else:
        status = "✅ *Closed out with a hard no.* A clear answer frees your time for buyers who decide."
    if not update_line(client, store, body, deal.id, status, keep_buttons=False, head=head):
        _private(respond, f"{head}\n{status}")


def on_snooze(ack, body, action, respond, client, store, clock, reps, coach, settings):
    """Snooze 1 week, or until the picked date: until the START of that local day, so the deal is back
    in that morning's digest (if it still needs a decision)."""
    ack()
    ask = _ask(body, store, clock, reps, client, coach, settings)
    tz, now = ask.rep.tz, clock.now()
    today = local_day(now, tz)
    if action["action_id"] == "digest:snooze":
        day = today + timedelta(days=7)
    else:
        try:
            day = date.fromisoformat(action.get("selected_date") or "")
        except ValueError:
            _private(respond, "Pick a day to snooze it until.")
            return
        if day <= today:
            _private(respond, "Pick a day after today to snooze it until.")
            return
    until = datetime.combine(day, time()).replace(tzinfo=zone(tz)).astimezone(UTC)
    done = ask.log.log(ask.rep.user_id, _deal_id(action), Kind.SNOOZE, when=until, source=Source.BUTTON)
    if done is None:
        _private(respond, NOT_YOURS)
        return
    deal = done.deal
    if done.already_closed:
        status = f"✅ Already closed out ({bk.STATE_LABEL[deal.status]}); nothing to snooze."
    else:
        status = f"💤 Snoozed until {day:%a %b %-d}: back in that morning's digest if it still needs a decision."
    if not update_line(client, store, body, deal.id, status, keep_buttons=False):
        _private(respond, status)


DRAFT_WORDS = {"ask": "a hard-no ask", "breakup": "a last-try message (it asks for a clear no too)",
               "meeting": "a meeting request"}


def on_draft(ack, body, action, respond, client, store, clock, reps, coach, settings):
    """Draft hard-no ask / Draft meeting request: the coach's draft arrives below the digest (it may take
    as long as the LLM does: after the ack), and the line says a draft is on its way."""
    ack()
    if action["action_id"] == "digest:meeting":
        kind = "meeting"
    else:
        kind = (action.get("value") or "").partition(":")[2]
        kind = kind if kind in ("ask", "breakup") else "ask"
    ask = _ask(body, store, clock, reps, client, coach, settings)
    deal = ask.log.deal(ask.rep.user_id, _deal_id(action))
    if deal is None:
        _private(respond, NOT_YOURS)
        return
    if not deal.is_open:
        update_line(client, store, body, deal.id, f"✅ Already closed out ({bk.STATE_LABEL[deal.status]}).",
                    keep_buttons=False)
        return
    update_line(client, store, body, deal.id, f"✍️ Drafting {DRAFT_WORDS[kind]}: it appears below.", keep_buttons=True)
    send_draft(ask, deal.id, kind, deliverer(ask, respond))


# ================================================================== /deal settings digest

USAGE = "8am\noff\non\nweekends on|off"
_HOUR = re.compile(r"^(\d{1,2})(?::(\d{2}))?(am|pm|a\.m\.|p\.m\.)?$")


def parse_hour(text: str) -> int | str:
    """The hour in "8am", "8", "08:00", "14:00", "2pm", "noon"; or a message saying what's wrong."""
    text = text.replace(" ", "").lower()
    if text in ("noon", "midday"):
        return 12
    if text == "midnight":
        return 0
    m = _HOUR.match(text)
    if not m:
        return ""
    hour, minutes, half = int(m.group(1)), m.group(2), (m.group(3) or "")[:1]
    if minutes not in (None, "00"):
        return "The digest comes on the hour: try `8am` or `14:00`."
    if half:
        if not 1 <= hour <= 12:
            return ""
        hour = hour % 12 + (12 if half == "p" else 0)
    elif hour > 23:
        return ""
    return hour


def apply_digest(ask: Ask, words: list[str]) -> Reply:
    with ask.store.tx() as tx:
        rep = tx.rep(ask.rep.user_id) or ask.rep
    default_hour = ask.settings.hardno_digest_hour
    if not words:
        return Reply(f"Morning digest: {show_digest(ask)}\n\n" + _usage())
    if words == ["off"]:
        rep, said = rep.replace(digest_on=False), ("Your morning digest is off. `/deal settings digest on` brings "
                                                   "it back; your deals stay in `/deal list` and the Home tab.")
    elif words == ["on"]:
        rep = rep.replace(digest_on=True)
        said = f"Your morning digest is on: {schedule_words(rep, default_hour)}."
    elif words[0] == "weekends" and words[1:] in (["on"], ["off"]):
        rep = rep.replace(digest_weekends=words[1] == "on")
        when = schedule_words(rep, default_hour)
        said = (f"Your digest now comes every day, weekends too: {when}." if rep.digest_weekends
                else f"Your digest comes on working days only: {when}.")
    else:
        hour = parse_hour(" ".join(words))
        if not isinstance(hour, int):
            return Reply((hour or f"I didn't get “{escape(clip(' '.join(words), 80))}”.") + "\n" + _usage())
        rep = rep.replace(digest_hour=hour, digest_on=True)
        said = f"Your digest now comes {schedule_words(rep, default_hour)}."
        with ask.store.tx() as tx:
            today = local_day(ask.clock.now(), rep.tz).isoformat()
            if tx.settled_deliveries(DIGEST, [(rep.user_id, today)]):
                said += " Today's is settled already: the new time starts tomorrow."
    with ask.store.tx() as tx:
        tx.save_rep(rep)
    return Reply(said)


def show_digest(ask: Ask) -> str:
    with ask.store.tx() as tx:
        rep = tx.rep(ask.rep.user_id) or ask.rep
    if not rep.digest_on:
        return "off"
    return f"on, {schedule_words(rep, ask.settings.hardno_digest_hour)}"


def _usage() -> str:
    forms = "\n".join(f"`/deal settings digest {form}`" for form in USAGE.splitlines())
    return f"Change it with:\n{forms}\n(any hour: `7am`, `14:00`; in your Slack time zone)"


area(Area("digest", USAGE, apply_digest, show_digest))
