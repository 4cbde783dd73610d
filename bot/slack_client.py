"""The one WebClient every Web API call goes through, and its copy for scheduled posts.

Scheduled posts fan out (several at once), so their client also keeps to Slack's published rate limits
on its own side (`Throttle`): chat.postMessage about one a second per channel, the other methods per
their tier, shared by every copy made for the same workspace. A 429 is still waited out if it comes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.web.slack_response import SlackResponse

from bot.metrics import MeteredWebClient

# Slack's tiers, in calls per minute (https://api.slack.com/apis/rate-limits): Tier 2 20+, Tier 3 50+,
# Tier 4 100+. chat.postMessage is "special": one per second per channel, short bursts allowed.
TIERS: dict[str, float] = {
    "conversations.open": 50, "conversations.history": 50, "conversations.members": 100,
    "users.conversations": 50, "users.info": 100, "chat.update": 50, "auth.test": 100, "bots.info": 100,
    # The coach's streamed drafts and assistant threads. chat.appendStream is Tier 4 in Slack's method
    # reference; the others are taken as Tier 2/3 (the lower end where we could not confirm a tier), so a
    # draft's few calls never come near a limit: one start, an append every second or so, one stop.
    "chat.startStream": 20, "chat.appendStream": 100, "chat.stopStream": 20,
    "assistant.threads.setStatus": 50, "assistant.threads.setSuggestedPrompts": 50,
    "assistant.threads.setTitle": 50,
}
PER_CHANNEL_PER_SECOND = 1.0  # chat.postMessage, per channel


def make_client(token: str | None, api_url: str, *, max_rate_limit_retries: int = 3) -> WebClient:
    client = MeteredWebClient(token=token, base_url=api_url, timeout=15)
    # Off by default in slack_sdk: wait out 429 + Retry-After instead of failing.
    # Deliberately no 5xx retry: a chat.postMessage that answered 500 may still have posted.
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=max_rate_limit_retries))
    return client


class Throttle:
    """Token buckets, one per (method) or (chat.postMessage, channel): `wait` blocks until a call may go.
    Thread-safe; a bucket holds three seconds' worth of calls, so short bursts pass at once (Slack's tiers
    allow bursts), except a workspace cap on posts, which is taken literally: one second's worth."""

    def __init__(self, tiers: dict[str, float] | None = None, per_channel: float = PER_CHANNEL_PER_SECOND,
                 post_per_minute: float | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.rates = {m: per_min / 60 for m, per_min in (TIERS if tiers is None else tiers).items()}
        if post_per_minute:  # a workspace-wide cap on posts (Slack publishes none; set one if yours has one)
            self.rates["chat.postMessage"] = post_per_minute / 60
        self.burst_seconds = {("chat.postMessage", ""): 1.0} if post_per_minute else {}
        self.per_channel, self.clock, self.sleep = per_channel, clock, sleep
        self._buckets: dict[tuple[str, str], list[float]] = {}  # key -> [tokens, last refill]
        self._lock = threading.Lock()

    def wait(self, method: str, channel: str | None = None) -> float:
        """Block until `method` (to `channel`) may be called; the seconds waited."""
        keys = []
        if method in self.rates:
            keys.append(((method, ""), self.rates[method]))
        if method == "chat.postMessage" and channel and self.per_channel:
            keys.append(((method, channel), self.per_channel))
        waited = 0.0
        for key, rate in keys:
            while (delay := self._take(key, rate)) > 0:
                self.sleep(delay)
                waited += delay
        return waited

    def try_take(self, method: str) -> bool:
        """Take one call of `method` if its bucket has one now (True), else False without waiting: for a
        caller that can hold its work back (a stream buffers its text until the next append may go)."""
        rate = self.rates.get(method)
        return rate is None or self._take((method, ""), rate) == 0.0

    def _take(self, key: tuple[str, str], rate: float) -> float:
        burst = max(1.0, rate * self.burst_seconds.get(key, 3.0))  # at least one call
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(key, [burst, now])
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens >= 1 - 1e-9:  # float rounding: a wait of exactly the deficit must be enough
                self._buckets[key] = [tokens - 1, now]
                return 0.0
            self._buckets[key] = [tokens, now]
            return (1 - tokens) / rate


_throttles: dict[tuple, Throttle] = {}
_throttles_lock = threading.Lock()


def throttle_for(client: Any) -> Throttle:
    """The one Throttle of a workspace (its API URL and token), shared by every client made for it."""
    key = (getattr(client, "base_url", None), getattr(client, "token", None))
    with _throttles_lock:
        if key not in _throttles:
            _throttles[key] = Throttle()
        return _throttles[key]


class _Poster(MeteredWebClient):  # failed calls counted too (bot/metrics.py)
    throttle: Throttle

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        args = kwargs.get("json") or kwargs.get("params") or kwargs.get("data") or {}
        self.throttle.wait(api_method, args.get("channel"))
        return super().api_call(api_method, **kwargs)


def poster(client: WebClient) -> WebClient:
    """A client like `client` whose ONLY automatic retry is waiting out a 429 + Retry-After (slack_sdk's
    default connection-error retry, kept on `client` for reads, would resend a post that Slack may have
    taken before the line dropped), and which keeps to Slack's rate limits itself. Every scheduled post
    goes through one (handlers/delivery.py)."""
    if isinstance(client, _Poster):
        return client
    try:
        handlers: list[RetryHandler] = [h for h in client.retry_handlers if isinstance(h, RateLimitErrorRetryHandler)]
        copy = _Poster(token=client.token, base_url=client.base_url, timeout=client.timeout, ssl=client.ssl,
                       proxy=client.proxy, headers=dict(client.headers or {}), retry_handlers=handlers)
    except AttributeError:  # pragma: no cover - not a WebClient: use it as it is
        return client
    copy.throttle = throttle_for(client)
    return copy
