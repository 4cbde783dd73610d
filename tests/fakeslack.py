"""The tests' fake Slack: the sandbox's stand-in Slack (`bot.sandbox.fakeslack`) plus failure injection,
which only tests use: HTTP 429 + ``Retry-After``, 5xx, or ``ok: false`` on demand (:meth:`FakeSlack.fail`).
"""

from __future__ import annotations

from bot.sandbox.fakeslack import Call, _Failure, validate_blocks, validate_message, validate_view
from bot.sandbox.fakeslack import FakeSlack as SandboxSlack

__all__ = ["Call", "FakeSlack", "validate_blocks", "validate_message", "validate_view"]


class FakeSlack(SandboxSlack):
    """The sandbox's fake Slack, and calls made to fail on demand (until :meth:`reset` forgets them)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._failures: dict[str, list[_Failure]] = {}

    def reset(self) -> None:
        """Forget recorded calls, block errors and pending failures (the directory stays)."""
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
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail (``times=None``: until :meth:`reset`).

        * ``fail(m, 429, retry_after=1)``: HTTP 429, ``Retry-After: 1``,
          body ``{"ok": false, "error": "ratelimited"}``
        * ``fail(m, 500)``: HTTP 500 (body error ``internal_error`` unless ``error`` is given)
        * ``fail(m, error="channel_not_found")``: HTTP 200 with ``ok: false`` and that error

        ``method`` may also be ``"response_url"`` or ``"file_upload"`` (those answer the error as plain text).
        """
        if status is None and error is None:
            raise ValueError("fail() needs a status, an error, or both")
        status = status or 200
        if status == 200 and not error:
            raise ValueError("an HTTP 200 failure needs an error code")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 (or None for every call)")
        default = "ratelimited" if status == 429 else "internal_error" if status >= 500 else "invalid_request"
        rule = _Failure(status, error or default, retry_after if status == 429 else None, times)
        with self._cond:
            self._failures.setdefault(method, []).append(rule)

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
