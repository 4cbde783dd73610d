"""The fake Slack's agent-messaging methods: streamed replies and the assistant thread's prompts and status.

A mixin of `bot.sandbox.fakeslack.FakeSlack` (kept apart: that module is long enough). Shapes and errors
follow Slack's reference for the methods:

* ``chat.startStream`` (``channel``, ``thread_ts`` required; ``markdown_text`` optional) posts a message in
  the streaming state and answers its ``ts``; ``chat.appendStream`` (``channel``, ``ts``, ``markdown_text``)
  appends to it; ``chat.stopStream`` (optional final ``markdown_text``, ``blocks``) ends it. Appending to
  or stopping a message that is not streaming answers ``message_not_in_streaming_state``. Each stream is
  kept in :attr:`streams` with every chunk in arrival order, and its message in ``messages`` as usual.
* ``assistant.threads.setSuggestedPrompts`` (``channel_id``, ``prompts``: 1 to 4 ``{title, message}``),
  ``assistant.threads.setStatus`` (``channel_id``, ``thread_ts``, ``status``; empty clears it) and
  ``assistant.threads.setTitle`` are recorded in :attr:`assistant_threads`, by (channel, thread_ts).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MARKDOWN_TEXT_MAX = 12_000  # chat.*Stream markdown_text
SUGGESTED_PROMPTS_MAX = 4


@dataclass
class Stream:
    channel: str
    ts: str
    thread_ts: str
    recipient_user_id: str | None
    chunks: list[str] = field(default_factory=list)
    state: str = "streaming"  # streaming | stopped
    blocks: list | None = None

    @property
    def text(self) -> str:
        return "".join(self.chunks)


@dataclass
class AssistantThread:
    prompts: list[dict] = field(default_factory=list)
    prompts_title: str | None = None
    statuses: list[str] = field(default_factory=list)  # every status set, in order ("" clears)
    title: str | None = None


class AssistantMethods:
    """Mixed into FakeSlack: ``methods()`` are added to its method table."""

    # provided by FakeSlack
    _cond: threading.Condition
    messages: dict[str, list[dict[str, Any]]]
    _methods: dict[str, Callable[[dict[str, Any]], Any]]

    def _init_assistant(self) -> None:
        self.streams: dict[str, Stream] = {}  # ts -> stream
        self.assistant_threads: dict[tuple[str, str], AssistantThread] = {}
        self._methods.update({
            "chat.startStream": self._chat_start_stream,
            "chat.appendStream": self._chat_append_stream,
            "chat.stopStream": self._chat_stop_stream,
            "assistant.threads.setSuggestedPrompts": self._set_suggested_prompts,
            "assistant.threads.setStatus": self._set_status,
            "assistant.threads.setTitle": self._set_title,
        })

    def _reset_assistant(self) -> None:
        self.streams.clear()
        self.assistant_threads.clear()

    # -- streaming ------------------------------------------------------------------------------------------
    def _markdown(self, p: dict[str, Any], *, required: bool) -> str:
        from bot.sandbox.fakeslack import _ApiError
        text = p.get("markdown_text")
        if text is None and isinstance(p.get("chunks"), list):
            text = "".join(str(c.get("text", "")) for c in p["chunks"]
                           if isinstance(c, dict) and c.get("type") == "markdown_text")
        if text is None:
            if required:
                raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing markdown_text"]})
            return ""
        if not isinstance(text, str) or len(text) > MARKDOWN_TEXT_MAX:
            raise _ApiError("msg_too_long")
        return text

    def _stream_of(self, p: dict[str, Any]) -> Stream:
        from bot.sandbox.fakeslack import _ApiError
        stream = self.streams.get(str(p.get("ts") or ""))
        if stream is None:
            raise _ApiError("message_not_found")
        if stream.state != "streaming":
            raise _ApiError("message_not_in_streaming_state")
        return stream

    def _stream_message(self, stream: Stream) -> dict[str, Any]:
        for m in self.messages.get(stream.channel, []):
            if m.get("ts") == stream.ts:
                return m
        return {}

    def _chat_start_stream(self, p: dict[str, Any]) -> Any:
        from bot.sandbox.fakeslack import _ApiError
        if not p.get("thread_ts"):
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing thread_ts"]})
        channel_id, ch = self._channel_for_post(p)  # type: ignore[attr-defined]
        if ch is not None and not ch.is_im and not (p.get("recipient_user_id") and p.get("recipient_team_id")):
            raise _ApiError("missing_recipient_user_id")
        text = self._markdown(p, required=False)
        ts = self._next_ts()  # type: ignore[attr-defined]
        stream = Stream(channel_id, ts, str(p["thread_ts"]), p.get("recipient_user_id"))
        if text:
            stream.chunks.append(text)
        self.streams[ts] = stream
        message = self._message_obj({"text": text, "thread_ts": p["thread_ts"]}, ts)  # type: ignore[attr-defined]
        self.messages.setdefault(channel_id, []).append(message)
        return self._ok_answer(channel=channel_id, ts=ts)

    def _chat_append_stream(self, p: dict[str, Any]) -> Any:
        stream = self._stream_of(p)
        text = self._markdown(p, required=True)
        stream.chunks.append(text)
        self._stream_message(stream)["text"] = stream.text
        return self._ok_answer(channel=stream.channel, ts=stream.ts)

    def _chat_stop_stream(self, p: dict[str, Any]) -> Any:
        stream = self._stream_of(p)
        problem = self._message_problems("chat.stopStream", p)  # type: ignore[attr-defined]
        if problem:
            return problem
        text = self._markdown(p, required=False)
        if text:
            stream.chunks.append(text)
        stream.state = "stopped"
        message = self._stream_message(stream)
        message["text"] = stream.text
        if p.get("blocks") is not None:
            stream.blocks = p["blocks"]
            message["blocks"] = p["blocks"]
        return self._ok_answer(channel=stream.channel, ts=stream.ts, message=message)

    # -- the assistant thread -------------------------------------------------------------------------------
    def _assistant_thread(self, p: dict[str, Any], *, need_ts: bool = True) -> AssistantThread:
        from bot.sandbox.fakeslack import _ApiError
        channel = str(p.get("channel_id") or "")
        if not channel:
            raise _ApiError("channel_not_found")
        if need_ts and not p.get("thread_ts"):
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing thread_ts"]})
        return self.assistant_threads.setdefault((channel, str(p.get("thread_ts") or "")), AssistantThread())

    def _set_suggested_prompts(self, p: dict[str, Any]) -> Any:
        from bot.sandbox.fakeslack import _ApiError
        prompts = p.get("prompts")
        if not isinstance(prompts, list) or not prompts or len(prompts) > SUGGESTED_PROMPTS_MAX:
            raise _ApiError("invalid_arguments", response_metadata={
                "messages": [f"[ERROR] prompts must be 1 to {SUGGESTED_PROMPTS_MAX} items"]})
        for prompt in prompts:
            if not isinstance(prompt, dict) or not prompt.get("title") or not prompt.get("message"):
                raise _ApiError("invalid_arguments", response_metadata={
                    "messages": ["[ERROR] each prompt needs a title and a message"]})
        thread = self._assistant_thread(p, need_ts=False)
        thread.prompts, thread.prompts_title = list(prompts), p.get("title")
        return self._ok_answer()

    def _set_status(self, p: dict[str, Any]) -> Any:
        from bot.sandbox.fakeslack import _ApiError
        if "status" not in p:
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing status"]})
        self._assistant_thread(p).statuses.append(str(p.get("status") or ""))
        return self._ok_answer()

    def _set_title(self, p: dict[str, Any]) -> Any:
        self._assistant_thread(p).title = str(p.get("title") or "")
        return self._ok_answer()

    @staticmethod
    def _ok_answer(**fields: Any) -> Any:
        from bot.sandbox.fakeslack import _ok
        return _ok(**fields)
