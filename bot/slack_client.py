"""The one WebClient every Web API call goes through, and its copy for scheduled posts."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler


def make_client(token: str | None, api_url: str, *, max_rate_limit_retries: int = 3) -> WebClient:
    client = WebClient(token=token, base_url=api_url, timeout=15)
    # Off by default in slack_sdk: wait out 429 + Retry-After instead of failing.
    # Deliberately no 5xx retry: a chat.postMessage that answered 500 may still have posted.
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=max_rate_limit_retries))
    return client


def poster(client: WebClient) -> WebClient:
    """A client like `client` whose ONLY automatic retry is waiting out a 429 + Retry-After: slack_sdk's
    default connection-error retry (kept on `client` for reads) would resend a post that Slack may have
    taken before the line dropped. Every scheduled post goes through one (handlers/delivery.py)."""
    if getattr(client, "_hardno_poster", False):
        return client
    try:
        handlers: list[RetryHandler] = [h for h in client.retry_handlers if isinstance(h, RateLimitErrorRetryHandler)]
        copy = WebClient(token=client.token, base_url=client.base_url, timeout=client.timeout, ssl=client.ssl,
                         proxy=client.proxy, headers=dict(client.headers or {}), retry_handlers=handlers)
    except AttributeError:  # pragma: no cover - not a WebClient: use it as it is
        return client
    copy._hardno_poster = True  # type: ignore[attr-defined]
    return copy
