"""A draft streamed into the rep's DM thread as the model writes it, then replaced by the finished message.

Slack's streaming methods: `chat.startStream` when the first words arrive (so a model that fails before
writing anything leaves no empty message), `chat.appendStream` with what arrived since, `chat.stopStream`
with the rest and the draft's buttons, then `chat.update` so the message is exactly the one a plain post
would have been (the same validated draft and buttons; a draft that failed the rubric is the template by
then, whatever streamed). Appends keep to the methods' rate tiers through the workspace's `Throttle`
(bot/slack_client.py): text is held back and sent in larger pieces rather than waiting for a call.

Any Slack error while streaming (a workspace or plan without the feature, a missing scope) ends the
stream quietly: `finish` answers False and the caller posts the finished message plainly.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack_client import Throttle, throttle_for
from handlers import blocks as bk
from handlers.commands import Reply

log = logging.getLogger(__name__)

MIN_PIECE = 48  # characters worth an append of their own
MAX_WAIT = 0.8  # seconds a shorter piece waits before it goes anyway
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_~\[\]#|])")


def markdown_safe(text: str) -> str:
    """Plain draft text as Markdown that shows literally: no formatting, links or mentions from it."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escaped)


class DraftStream:
    """Streams one reply into `channel`'s thread `thread_ts`, for `user_id` of `team_id`."""

    def __init__(self, client: Any, channel: str, thread_ts: str, user_id: str, team_id: str,
                 throttle: Throttle | None = None, clock: Callable[[], float] = time.monotonic):
        self.client, self.channel, self.thread_ts = client, channel, thread_ts
        self.user_id, self.team_id = user_id, team_id
        self.throttle = throttle or throttle_for(client)
        self.clock = clock
        self.ts: str | None = None
        self.failed = False
        self._seen = ""  # the text so far, as the model wrote it
        self._sent = 0  # how much of it Slack has
        self._last = 0.0

    @property
    def started(self) -> bool:
        return self.ts is not None

    def on_text(self, text: str) -> None:
        """The draft's text so far (it only grows); sends what is new when a call may go."""
        if self.failed or len(text) <= len(self._seen) or not text.startswith(self._seen[:self._sent]):
            return
        self._seen = text
        if self.ts is None:
            self._call("chat.startStream", lambda: self._start(text))
            return
        piece = text[self._sent:]
        due = len(piece) >= MIN_PIECE or self.clock() - self._last >= MAX_WAIT
        if piece and due and self.throttle.try_take("chat.appendStream") and self._call(
                "chat.appendStream", lambda: self.client.chat_appendStream(
                    channel=self.channel, ts=self.ts, markdown_text=markdown_safe(piece))):
            self._sent, self._last = len(text), self.clock()

    def _start(self, text: str) -> None:
        self.throttle.wait("chat.startStream")
        resp = self.client.chat_startStream(channel=self.channel, thread_ts=self.thread_ts,
                                            recipient_user_id=self.user_id, recipient_team_id=self.team_id or None,
                                            markdown_text=markdown_safe(text))
        self.ts = resp.get("ts")
        self._sent, self._last = len(text), self.clock()
        if not self.ts:
            raise SlackApiError("chat.startStream answered no ts", resp)

    def _call(self, method: str, fn: Callable[[], Any]) -> bool:
        try:
            fn()
            return True
        except (SlackApiError, OSError) as e:  # the workspace can't stream: the caller posts instead
            self.failed = True
            log.info("coach: %s failed (%s); the draft is posted instead", method, _why(e))
            return False

    def finish(self, reply: Reply) -> bool:
        """End the stream with `reply` as the finished message; False when nothing (usable) streamed, so
        the caller should post `reply` itself."""
        if self.ts is None or self.failed:
            return False
        rest = self._seen[self._sent:]
        blocks = bk.as_dicts(reply.blocks)

        def stop() -> None:
            self.throttle.wait("chat.stopStream")
            self.client.chat_stopStream(channel=self.channel, ts=self.ts,
                                        markdown_text=markdown_safe(rest) if rest else None, blocks=blocks)

        if not self._call("chat.stopStream", stop):
            return False
        try:  # the streamed words become exactly the finished message (the stop already carries its buttons)
            self.throttle.wait("chat.update")
            self.client.chat_update(channel=self.channel, ts=self.ts, text=reply.text, blocks=blocks)
        except (SlackApiError, OSError) as e:
            log.info("coach: chat.update after a stream failed (%s); the streamed message keeps its buttons", _why(e))
        return True


def _why(e: Exception) -> str:
    response = getattr(e, "response", None)
    error = response.get("error") if response is not None and hasattr(response, "get") else None
    return str(error or type(e).__name__)
