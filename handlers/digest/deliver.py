"""Running the digests: the sweep (or `hardno digest`) finds who is due, plans, and delivers each one
through the one delivery helper (handlers/delivery.py: claim with a lease, post through the 429-only
client, settle as sent / empty / failed / unknown / gave_up, look for unsure posts before posting again).

- Exactly once per rep per local date: the delivery row is (team, "digest", rep, local date). The sweep
  reads every workspace's reps; each rep's settled check, plan, claim and settle are in their workspace.
- On PostgreSQL one sweep runs at a time across hosts (`exclusive`, a lock held outside any transaction);
  the claims are what keep a post single even without it.
- `--now` (ignore_hour) ignores the schedule (hour and weekday) for an explicit run; still one per local
  day, and never for a rep who turned digests off. `--dry-run` prints, claims nothing and sends nothing.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from slack_sdk.errors import SlackApiError

from bot.slack_client import poster
from bot.workspaces import client_for
from handlers import blocks as bk
from handlers.delivery import (
    EMPTY,
    FAILED,
    GAVE_UP,
    SENT,
    UNKNOWN,
    Message,
    Outcome,
    deliver,
    exclusive,
    fan_out,
    metadata_for,
    reconcile,
)
from handlers.digest.due import (
    DIGEST,
    REFRESH_BUDGET,
    Due,
    _has_token,
    _refresh_some,
    _with_fresh_zone,
    due_day,
)
from handlers.digest.plan import Planned, plan_digests, planned
from handlers.digest.render import app_home_link, digest_as_text, digest_blocks

log = logging.getLogger(__name__)

LOCK = "digest-sweep"
# The rep can't get DMs from the bot: retrying every five minutes all day would change nothing.
UNREACHABLE = frozenset({"account_inactive", "user_not_found", "user_disabled", "cannot_dm_bot",
                         "messages_tab_disabled", "user_not_visible"})


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

    def add(self, other: DigestReport) -> None:
        for name in ("sent", "empty", "already", "failed", "unknown", "gave_up"):
            getattr(self, name).extend(getattr(other, name))

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


def sweep_digests(services: Any, client: Any) -> DigestReport:
    """The scheduler's job (every 5 minutes): send every digest that is due."""
    return run_digests(services, client)


def run_digests(services: Any, client: Any, *, ignore_hour: bool = False, only_user: str | None = None,
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
        reconcile(services, poster(client), DIGEST)
        _run(services, client, report, ignore_hour, only_user, dry_run, out)
    return report


def _run(services, client, report: DigestReport, ignore_schedule: bool, only_user: str | None,
         dry_run: bool, out: TextIO) -> None:
    store, now = services.store, services.clock.now()
    default_hour = services.settings.hardno_digest_hour
    with store.tx() as tx:  # every workspace's reps: each one carries its team on to what follows
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
    settled: set[tuple[str, str, str]] = set()  # (team, rep, day)
    for team, theirs in _by_team(due).items():
        with store.tx(team) as tx:
            settled |= {(team, *key) for key in tx.settled_deliveries(
                DIGEST, [(d.rep.user_id, d.day.isoformat()) for d in theirs], now)}
    if not dry_run:
        report.already += [d.rep.user_id for d in due if _key(d) in settled]
        due = [d for d in due if _key(d) not in settled]
    budget = [REFRESH_BUDGET if _has_token(client) or _multi(services) else 0]
    due = [fresh for d in due if (fresh := _with_fresh_zone(services, d, now, default_hour, ignore_schedule,
                                                            budget, report)) is not None]
    plans = [(d, planned(d, digest)) for d, digest in plan_digests(store, due, now)]
    plans.sort(key=lambda dp: (dp[0].rep.user_id, dp[0].rep.team_id))
    if dry_run:
        for d, p in plans:
            _print(d, p, _key(d) in settled, out, report, quiet=not only_user)
        return
    post_client = poster(client)
    homes: dict[str, str | None] = {}  # each workspace's App Home link

    def one(plan: tuple[Due, Planned | None]) -> DigestReport:
        mine = DigestReport()
        theirs = client_for(services, plan[0].rep.team_id, client)  # the rep's workspace's token
        if theirs is None:
            mine.gave_up.append((plan[0].rep.user_id, "hardno is not installed in the rep's workspace"))
            return mine
        team = plan[0].rep.team_id
        if team not in homes and plan[1] is not None and plan[1].more:
            homes[team] = app_home_link(theirs)
        _deliver(services, post_client if theirs is client else poster(theirs), plan[0], plan[1],
                 homes.get(team), mine)
        return mine

    for mine in fan_out(one, plans):  # concurrently; the report in the plans' order
        report.add(mine)
    _refresh_some(services, reps, now, budget)


def _key(d: Due) -> tuple[str, str, str]:
    return d.rep.team_id, d.rep.user_id, d.day.isoformat()


def _by_team(due: list[Due]) -> dict[str, list[Due]]:
    teams: dict[str, list[Due]] = {}
    for d in due:
        teams.setdefault(d.rep.team_id, []).append(d)
    return teams
def _multi(services: Any) -> bool:
    """OAuth mode: the sweep's own client has no token, each rep's workspace has one."""
    clients = getattr(services, "clients", None)
    return bool(clients is not None and clients.multi)


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


def _deliver(services: Any, client: Any, d: Due, p: Planned | None, home: str | None,
             report: DigestReport) -> None:
    user, period = d.rep.user_id, d.day.isoformat()

    def compose() -> Message | Outcome:
        if p is None:
            return Outcome(EMPTY, error="nothing stuck")
        try:
            channel = services.reps.dm_channel(d.rep)
        except SlackApiError as e:
            error = str(e.response.get("error"))
            return Outcome(GAVE_UP if error in UNREACHABLE else FAILED, error=f"conversations.open: {error}")
        text, blocks = digest_blocks(p, services.settings.hardno_digest_hour, home)
        return Message(channel, text, bk.as_dicts(blocks), metadata_for(DIGEST, user, period))

    outcome = deliver(services, client, DIGEST, user, period, compose, team=d.rep.team_id,
                      unreachable=UNREACHABLE)
    if outcome is None:
        report.already.append(user)  # another sweep got there first
        return
    if outcome.code == "channel_not_found":  # the cached DM channel is stale: open it again next time
        with services.store.tx(d.rep.team_id) as tx:
            current = tx.rep(user)
            if current is not None:
                tx.save_rep(current.replace(dm_channel=None))
    if outcome.state == SENT:
        report.sent.append(user)
    elif outcome.state == EMPTY:
        report.empty.append(user)
    else:
        {FAILED: report.failed, UNKNOWN: report.unknown, GAVE_UP: report.gave_up}.get(
            outcome.state, report.failed).append((user, outcome.error or ""))
