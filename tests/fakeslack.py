"""The tests' fake Slack: the sandbox's stand-in Slack (`bot.sandbox.fakeslack`) plus what only tests use:
rate limits (:meth:`FakeSlack.limit`) and failures on demand (:meth:`FakeSlack.fail`): HTTP 429 +
``Retry-After``, 5xx, ``ok: false``, before the method runs or once it has had its effect, or a dropped
connection.
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.fakeslack import (
    _BOT_SCOPES,
    Call,
    _Answer,
    _err,
    _Failure,
    _ok,
    validate_blocks,
    validate_message,
    validate_view,
)
from bot.sandbox.fakeslack import FakeSlack as SandboxSlack

__all__ = ["Call", "FakeSlack", "Install", "validate_blocks", "validate_message", "validate_view"]

CLIENT_ID, CLIENT_SECRET = "1111.2222", "fake-client-secret"


@dataclass
class Install:
    """A workspace the app can be installed in through OAuth, and the tokens Slack issues it."""

    team_id: str
    team_name: str
    bot_token: str
    bot_user_id: str
    bot_id: str
    installer: str = "UADMIN"
    user_token: str | None = None
    enterprise_id: str | None = None
    enterprise_name: str | None = None


HOLD_GUARD = 120.0  # seconds a held call waits at most for release(): a hang guard, never reached by a test


@dataclass
class _Hold:
    take: int  # this many calls take effect, their answers held; later ones are held before they take effect
    seen: int = 0
    released: threading.Event = field(default_factory=threading.Event)
    drop: bool = False  # on release, the calls held before taking effect are dropped unanswered


class FakeSlack(SandboxSlack):
    """The sandbox's fake Slack, with rate limits, calls made to fail on demand (until :meth:`reset`) and calls
    held in flight (:meth:`hold`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._failures: dict[str, list[_Failure]] = {}
        self._limits: dict[tuple[str, bool], float] = {}  # (method, per channel?) -> calls per second
        self._buckets: dict[tuple[str, str], list[float]] = {}
        # OAuth: workspaces that can install, their one-time codes and the tokens Slack issued
        self.client_id, self.client_secret = CLIENT_ID, CLIENT_SECRET
        self.installs: dict[str, Install] = {}
        self._codes: dict[str, str] = {}  # code -> team id
        self._tokens: dict[str, Install] = {}  # token -> its workspace
        self._revoked: set[str] = set()
        self._codes_made = itertools.count(1)
        self._holds: dict[str, _Hold] = {}
        self.limit_clock: Callable[[], float] = time.monotonic  # what the rate limits count seconds by

    # -- calls held in flight -------------------------------------------------------------------------------
    def hold(self, method: str, *, take: int = 0) -> None:
        """Keep calls to ``method`` in flight until :meth:`release`: the first ``take`` calls take effect at
        once (a post is posted and recorded) but get no answer yet; later ones wait before taking effect.
        So a client killed meanwhile leaves both kinds behind: posts Slack has, and posts it never got."""
        with self._cond:
            self._holds[method] = _Hold(take)

    def release(self, method: str, *, drop: bool = False) -> None:
        """Let held calls to ``method`` go on; ``drop``: those not yet taken effect never do (their client is
        gone: the connection closes unanswered), as if they had never reached Slack."""
        with self._cond:
            hold = self._holds.pop(method, None)
        if hold is not None:
            hold.drop = drop
            hold.released.set()

    def _api_call(self, method: str, params: dict[str, Any], headers: dict[str, str],
                  bad_body: str | None) -> _Answer:
        with self._cond:
            hold = self._holds.get(method)
            n = hold.seen if hold is not None else 0
            if hold is not None:
                hold.seen += 1
        if hold is not None and n >= hold.take:  # held before it reaches "Slack"
            hold.released.wait(HOLD_GUARD)
            if hold.drop:
                return _Answer(0, "dropped")
        answer = self._workspace_call(method, params, headers, bad_body)
        if hold is not None and n < hold.take:  # it took effect; its answer is held
            hold.released.wait(HOLD_GUARD)
        return answer

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
        or ``per_channel``) within a second, answer HTTP 429 with ``Retry-After: 1``. A method may have both
        (chat.postMessage: a workspace's limit and Slack's one a second in each channel)."""
        with self._cond:
            self._limits[(method, per_channel)] = per_second

    def _over_limit(self, method: str, params: dict[str, Any]) -> bool:
        rules = [(per_channel, rate) for (m, per_channel), rate in self._limits.items() if m == method]
        if not rules:
            return False
        now = self.limit_clock()
        taken: list[tuple[tuple[str, str], list[float]]] = []
        for per_channel, rate in rules:
            key = (method, str(params.get("channel") or "") if per_channel else "")
            tokens, last = self._buckets.get(key, [rate, now])
            tokens = min(rate, tokens + (now - last) * rate)
            self._buckets[key] = [tokens, now]
            if tokens < 1:
                return True  # refused: no bucket is charged for it
            taken.append((key, self._buckets[key]))
        for _key, bucket in taken:
            bucket[0] -= 1
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


    # -- OAuth ------------------------------------------------------------------------------------------------
    def add_install(self, team_id: str, team_name: str, *, enterprise_id: str | None = None,
                    enterprise_name: str | None = None, user_token: bool = False) -> Install:
        """A workspace the app can be installed in: its tokens (bot, and a user token when asked) are issued
        by oauth.v2.access for a code from :meth:`grant`, and auth.test answers each with this workspace."""
        n = len(self.installs) + 1
        install = Install(team_id, team_name, bot_token=f"xoxb-{n}00{n}-{team_id.lower()}-bottoken{n:04d}",
                          bot_user_id=f"UBOT{team_id}", bot_id=f"B{team_id}",
                          user_token=f"xoxp-{n}00{n}-{team_id.lower()}-usertoken{n:04d}" if user_token else None,
                          enterprise_id=enterprise_id, enterprise_name=enterprise_name)
        with self._cond:
            self.installs[team_id] = install
            self._tokens[install.bot_token] = install
            if install.user_token:
                self._tokens[install.user_token] = install
        return install

    def grant(self, team_id: str) -> str:
        """A one-time code, as Slack puts on the redirect after an admin approves the install in `team_id`."""
        code = f"code-{team_id}-{next(self._codes_made)}"
        with self._cond:
            self._codes[code] = team_id
        return code

    def revoke(self, team_id: str) -> None:
        """The workspace uninstalled the app: its tokens answer `token_revoked` from now on."""
        install = self.installs[team_id]
        with self._cond:
            self._revoked |= {t for t in (install.bot_token, install.user_token) if t}

    def calls_with_token(self, token: str) -> list[Call]:
        """The Web API calls made with `token` (its Authorization header)."""
        with self._cond:
            return [c for c in self.calls if c.headers.get("authorization") == f"Bearer {token}"]

    def _workspace_call(self, method: str, params: dict[str, Any], headers: dict[str, str],
                  bad_body: str | None) -> _Answer:
        token = _bearer(headers) or str(params.get("token") or "")
        if method == "oauth.v2.access":
            answer = self._oauth_v2_access(params, headers)
        elif token in self._revoked:
            answer = _err("token_revoked")
        elif method == "auth.test" and token in self._tokens:
            answer = self._auth_test_of(self._tokens[token], token)
        else:
            return super()._api_call(method, params, headers, bad_body)
        self._record(method, params, headers, answer, False)
        return answer

    def _oauth_v2_access(self, params: dict[str, Any], headers: dict[str, str]) -> _Answer:
        client_id, secret = params.get("client_id"), params.get("client_secret")
        auth = headers.get("authorization", "")
        if auth.startswith("Basic "):  # slack_sdk sends the app's credentials as HTTP basic auth
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        if client_id != self.client_id:
            return _err("invalid_client_id")
        if secret != self.client_secret:
            return _err("bad_client_secret")
        with self._cond:
            team_id = self._codes.pop(str(params.get("code") or ""), None)  # a code works once
        if team_id is None:
            return _err("invalid_code")
        i = self.installs[team_id]
        authed_user: dict[str, Any] = {"id": i.installer}
        if i.user_token:
            authed_user.update(scope="identify", access_token=i.user_token, token_type="user")
        return _ok(access_token=i.bot_token, token_type="bot", scope=_BOT_SCOPES, bot_user_id=i.bot_user_id,
                   app_id=self.app_id, team={"id": i.team_id, "name": i.team_name},
                   enterprise={"id": i.enterprise_id, "name": i.enterprise_name} if i.enterprise_id else None,
                   is_enterprise_install=False, authed_user=authed_user)

    def _auth_test_of(self, i: Install, token: str) -> _Answer:
        bot = token == i.bot_token
        answer = _ok(url=f"https://{i.team_id.lower()}.slack.com/", team=i.team_name, team_id=i.team_id,
                     user="hardno" if bot else i.installer, user_id=i.bot_user_id if bot else i.installer,
                     enterprise_id=i.enterprise_id, is_enterprise_install=False, **({"bot_id": i.bot_id} if bot else {}))
        answer.headers["x-oauth-scopes"] = _BOT_SCOPES if bot else "identify"
        return answer


def _bearer(headers: dict[str, str]) -> str:
    auth = headers.get("authorization", "")
    return auth[len("Bearer "):].strip() if auth.startswith("Bearer ") else ""
