"""The one WebClient every Web API call goes through."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.metrics import MeteredWebClient


def make_client(token: str | None, api_url: str, *, max_rate_limit_retries: int = 3) -> WebClient:
    client = MeteredWebClient(token=token, base_url=api_url, timeout=15)
    # Off by default in slack_sdk: wait out 429 + Retry-After instead of failing.
    # Deliberately no 5xx retry: a chat.postMessage that answered 500 may still have posted.
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=max_rate_limit_retries))
    return client
