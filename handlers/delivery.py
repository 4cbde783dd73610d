"""One way to make a scheduled post (a digest, a board, kudos), exactly once.

    claim -> compose -> (recovering: look for it first) -> post -> settle, and `_record` the outcome

- Claim: a delivery row (kind, target, period) is claimed in its own committed transaction BEFORE anything
  is sent; only the claimer sends. The claim has a lease (`LEASE`): a claim still unsettled when it runs
  out belongs to an instance that died (or hung) after claiming, so another run may claim it again, as a
  recovering one: that run looks for the post's own message metadata in the channel (conversations.history)
  and posts only if it is not there. Exactly once, not at most once.
- Post: through `bot.slack_client.poster`, a client whose ONLY automatic retry is waiting out a 429.
- Settle: the row ends as (one meaning everywhere)
    sent     posted (channel and ts recorded)
    empty    nothing to post: no message that period (never an empty one)
    failed   definitely nothing went out (Slack refused it, or the connection was refused): a later run
             may claim it again
    unknown  a 5xx, an ambiguous error (`internal_error`, `fatal_error`, ...), a timeout or a connection
             lost after the request left: it may have posted, so it is never resent blindly. The next sweep
             looks for it once (`reconcile`): found, it becomes sent (so its buttons work); not found, it
             stays unknown (a possibly missing post beats a double one: Slack may still be finishing it)
    gave_up  the target can't be reached (a deactivated rep, ...): not retried that period
- No transaction is held open across a Slack call: each claim, settle and look-up writes in its own short
  transaction, and `exclusive()` (one sweep at a time across hosts) holds a lock outside any transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from urllib.error import URLError

from slack_sdk.errors import SlackApiError

from bot.metrics import DELIVERIES
from bot.slack_client import poster
from bot.workspaces import client_for
from storage.deliveries import CLAIMED, sweep_lock

log = logging.getLogger(__name__)

SENT, EMPTY, FAILED, UNKNOWN, GAVE_UP = "sent", "empty", "failed", "unknown", "gave_up"
LEASE = timedelta(minutes=10)  # far beyond one post's worst case: a 15 s timeout and a few 429 waits
# Slack answered, and its answer says the post may have gone through anyway.
AMBIGUOUS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
HISTORY_PAGE, HISTORY_PAGES = 200, 3  # how far back a post is looked for: the latest 600 messages
FAN_OUT = 8  # posts in flight at once; Slack's limits are kept by the poster's Throttle, not by this
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Outcome:
    state: str
    channel: str | None = None
    ts: str | None = None
    error: str | None = None
    code: str | None = None  # Slack's error code, when Slack answered one


@dataclass(frozen=True)
class Message:
    channel: str
    text: str
    blocks: list[dict]
    metadata: dict


def metadata_for(kind: str, target: str, period: str) -> dict:
    """The message metadata that names a delivery, so a later run can find its post in the channel."""
    if kind == "digest":  # what every digest has carried from the start
        return {"event_type": "hardno_digest", "event_payload": {"rep": target, "day": period}}
    return {"event_type": "hardno_" + kind.replace("-", "_"), "event_payload": {"channel": target, "period": period}}


@contextmanager
def exclusive(store: Any, name: str) -> Iterator[bool]:
    """True when this run may go ahead: one sweep `name` at a time across hosts (PostgreSQL), with no
    transaction held open meanwhile. On SQLite (one host) always True: the claims keep posts single."""
    with sweep_lock(store, name) as mine:
        yield mine


def fan_out(work: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`work` on every item, up to FAN_OUT at once (each in its own transactions); results in the items'
    order. The first exception raised is raised once all are done."""
    todo = list(items)
    if len(todo) <= 1:
        return [work(i) for i in todo]
    with ThreadPoolExecutor(min(FAN_OUT, len(todo)), thread_name_prefix="deliver") as pool:
        futures = [pool.submit(work, i) for i in todo]
    return [f.result() for f in futures]


def _record(kind: str, outcome: Outcome) -> None:
    """Every settled delivery passes here once: the one place to count outcomes."""
    DELIVERIES.labels(kind, outcome.state).inc()
    if outcome.state in (SENT, EMPTY):
        log.debug("%s %s %s", kind, outcome.state, outcome.channel or "")
    elif outcome.state == UNKNOWN:
        log.warning("%s to %s may or may not have posted (%s): not resent blindly", kind, outcome.channel,
                    outcome.error)
    else:
        log.warning("%s %s: %s", kind, outcome.state, outcome.error)


def deliver(services: Any, client: Any, kind: str, target: str, period: str,
            compose: Callable[[], Message | Outcome], *, team: str,
            unreachable: frozenset[str] = frozenset()) -> Outcome | None:
    """Claim, compose, post and settle one delivery to `target` of the workspace `team`; None when someone
    else has it (settled, or being sent). `compose` builds the message (or returns an `Outcome`, e.g. empty,
    without posting); anything it raises happened before a post. Slack errors in `unreachable` settle as
    gave_up."""
    store, clock = services.store, services.clock
    with store.tx(team) as tx:
        claim = tx.claim_delivery(kind, target, period, clock.now(), LEASE)
    if claim is None:
        return None
    outcome = Outcome(FAILED, error="not attempted")
    try:
        outcome = _attempt(client, kind, claim.recovering, compose, unreachable)
    except Exception as e:  # raised before anything was posted
        log.exception("%s for %s failed before posting", kind, target)
        # A recovering claim has not looked for the lost post yet: keep it claimed, so the next run looks.
        outcome = Outcome(CLAIMED if claim.recovering else FAILED, error=f"{type(e).__name__}: {e}")
    finally:
        if outcome.state != CLAIMED:
            with store.tx(team) as tx:
                tx.close_delivery(kind, target, period, clock.now(), outcome.state, channel=outcome.channel,
                                  ts=outcome.ts, error=outcome.error)
        _record(kind, outcome)
    return outcome


def _attempt(client: Any, kind: str, recovering: bool, compose: Callable[[], Message | Outcome],
             unreachable: frozenset[str]) -> Outcome:
    made = compose()
    if isinstance(made, Outcome):
        return made
    if recovering:  # the claimer before us died: did its post go out?
        try:
            ts = find_post(client, made.channel, made.metadata)
        except SlackApiError as e:
            return Outcome(CLAIMED, made.channel, error=f"could not look for the lost post: {_said(e)}")
        if ts:
            return Outcome(SENT, made.channel, ts, error="found in the channel: posted before its claim was lost")
    return send(client, made, unreachable)


def send(client: Any, m: Message, unreachable: frozenset[str] = frozenset()) -> Outcome:
    """Post `m` once and say what became of it. Never raises."""
    try:
        resp = poster(client).chat_postMessage(channel=m.channel, text=m.text, blocks=m.blocks, unfurl_links=False,
                                               unfurl_media=False, metadata=m.metadata)
    except SlackApiError as e:
        status = getattr(e.response, "status_code", 200) or 200
        code = str(e.response.get("error"))
        if status >= 500 or code in AMBIGUOUS:
            return Outcome(UNKNOWN, m.channel, error=f"HTTP {status}: {code}", code=code)
        return Outcome(GAVE_UP if code in unreachable else FAILED, m.channel, error=f"HTTP {status}: {code}",
                       code=code)
    except URLError as e:
        if isinstance(e.reason, ConnectionRefusedError):  # never connected: nothing was sent
            return Outcome(FAILED, m.channel, error=f"connection refused: {e.reason}")
        return Outcome(UNKNOWN, m.channel, error=f"connection lost: {e.reason}")
    except Exception as e:  # a timeout or a dropped connection after the request left: it may have posted
        return Outcome(UNKNOWN, m.channel, error=f"{type(e).__name__}: {e}")
    return Outcome(SENT, resp.get("channel") or m.channel, resp.get("ts"))


def find_post(client: Any, channel: str, metadata: dict) -> str | None:
    """The ts of the latest message in `channel` carrying `metadata` (looked for in the latest
    HISTORY_PAGE * HISTORY_PAGES messages), or None. Raises SlackApiError when Slack won't say."""
    cursor = None
    for _ in range(HISTORY_PAGES):
        page = poster(client).conversations_history(channel=channel, limit=HISTORY_PAGE, include_all_metadata=True,
                                                    cursor=cursor)
        for message in page.get("messages") or []:
            found = message.get("metadata") or {}
            if (found.get("event_type") == metadata["event_type"]
                    and found.get("event_payload") == metadata["event_payload"]):
                return message.get("ts")
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    return None


def reconcile(services: Any, client: Any, kind: str, team: str | None = None) -> int:
    """Look once for each "unknown" post of `kind` in its channel (of the workspace `team`; None: of every
    workspace): found, it is recorded as sent. How many were found. Slack trouble leaves a post to look for
    next time."""
    store, clock, found = services.store, services.clock, 0
    with store.tx(team) as tx:  # a read across workspaces when None; each one is settled in its own
        unsure = tx.unsure_deliveries(kind)
    for u in unsure:
        ts = None
        theirs = client
        team = getattr(u, "team", None)  # the delivery's workspace, where rows carry one
        if team is not None:
            theirs = client_for(services, team, client)
            if theirs is None:
                continue  # not installed there (any more): nothing to look with
            theirs = theirs if theirs is client else poster(theirs)
        if u.channel:
            try:
                ts = find_post(theirs, u.channel, metadata_for(kind, u.target, u.period))
            except SlackApiError as e:  # e.g. missing_scope on an old install: it stays unknown, unlooked-for
                log.warning("could not look for the unsure %s in %s: %s", kind, u.channel, _said(e))
                if _said(e) != "ratelimited":  # nothing will change by the next sweep
                    with store.tx(u.team) as tx:
                        tx.found_delivery(kind, u.target, u.period, clock.now(), channel=u.channel, ts=None)
                continue
            except Exception as e:  # Slack unreachable: look again next time
                log.warning("could not look for the unsure %s in %s: %s", kind, u.channel, e)
                continue
        with store.tx(u.team) as tx:
            settled = tx.found_delivery(kind, u.target, u.period, clock.now(), channel=u.channel, ts=ts)
        if ts and settled:
            found += 1
            _record(kind, Outcome(SENT, u.channel, ts, error="found in the channel after an unsure post"))
    return found


def _said(e: SlackApiError) -> str:
    return str(e.response.get("error"))
