"""The tests' fake Slack: the sandbox's stand-in Slack (`bot.sandbox.fakeslack`) plus what only tests use:
rate limits (:meth:`FakeSlack.limit`) and failures on demand (:meth:`FakeSlack.fail`): HTTP 429 +
``Retry-After``, 5xx, ``ok: false``, before the method runs or once it has had its effect, or a dropped
connection.
"""

from __future__ import annotations

import time
from typing import Any

from bot.sandbox.fakeslack import Call, _Failure, validate_blocks, validate_message, validate_view
from bot.sandbox.fakeslack import FakeSlack as SandboxSlack

__all__ = ["Call", "FakeSlack", "validate_blocks", "validate_message", "validate_view"]


class FakeSlack(SandboxSlack):
    """The sandbox's fake Slack, with rate limits and calls made to fail on demand (until :meth:`reset`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._failures: dict[str, list[_Failure]] = {}
        self._limits: dict[str, tuple[float, bool]] = {}  # method -> (calls per second, per channel?)
        self._buckets: dict[tuple[str, str], list[float]] = {}

    def reset(self) -> None:
        """Forget recorded calls, block errors, posted messages and pending failures (the directory stays)."""
        super().reset()
        with self._cond:
            self._failures.clear()

    # -- failure injection ----------------------------------------------------------------------------------
    def fail(
        self,
        method: str,
        status: int | None = None,
        *,
        error: str | None = None,
        retry_after: int = 1,
        times: int | None = 1,
        after: bool = False,
        drop: bool = False,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail (``times=None``: until :meth:`reset`).

        * ``fail(m, 429, retry_after=1)``: HTTP 429, ``Retry-After: 1``,
          body ``{"ok": false, "error": "ratelimited"}``
        * ``fail(m, 500)``: HTTP 500 (body error ``internal_error`` unless ``error`` is given)
        * ``fail(m, error="channel_not_found")``: HTTP 200 with ``ok: false`` and that error
        * ``fail(m, drop=True)``: the connection closes without an answer
        * ``after=True`` (with any of them): the method runs first (a post is posted), then the failure
          is answered: Slack took the request, the bot can't know it did

        ``method`` may also be ``"response_url"`` or ``"file_upload"`` (those answer the error as plain text).
        """
        if drop:
            status, error = status or 0, error or "connection dropped"
        if status is None and error is None:
            raise ValueError("fail() needs a status, an error, or both")
        status = 0 if drop else status or 200
        if status == 200 and not error:
            raise ValueError("an HTTP 200 failure needs an error code")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 (or None for every call)")
        default = "ratelimited" if status == 429 else "internal_error" if status >= 500 else "invalid_request"
        rule = _Failure(status, error or default, retry_after if status == 429 else None, times, after, drop)
        with self._cond:
            self._failures.setdefault(method, []).append(rule)

    def limit(self, method: str, per_second: float, *, per_channel: bool = False) -> None:
        """Enforce a rate limit on ``method`` the way Slack does: beyond ``per_second`` calls (workspace-wide,
        or ``per_channel``) within a second, answer HTTP 429 with ``Retry-After: 1``."""
        with self._cond:
            self._limits[method] = (per_second, per_channel)

    def _over_limit(self, method: str, params: dict[str, Any]) -> bool:
        rule = self._limits.get(method)
        if rule is None:
            return False
        rate, per_channel = rule
        key = (method, str(params.get("channel") or "") if per_channel else "")
        now = time.monotonic()
        tokens, last = self._buckets.get(key, [rate, now])
        tokens = min(rate, tokens + (now - last) * rate)
        if tokens < 1:
            self._buckets[key] = [tokens, now]
            return True
        self._buckets[key] = [tokens - 1, now]
        return False

    def _take_failure(self, method: str) -> _Failure | None:
        rules = self._failures.get(method)
        if not rules:
            return None
        rule = rules[0]
        if rule.remaining is not None:
            rule.remaining -= 1
            if rule.remaining <= 0:
                rules.pop(0)
        return rule
