"""Reading a chat line with the LLM when one is configured, with the rules as the fallback.

The model gets prompts/read_chat.md filled by `handlers.domain.chat_llm.prompt_values` (the line
fenced as data, today's date and zone, this rep's own open deal names) and must answer the
`ChatReading` schema (strict JSON schema through the openai client's structured output). The
client is configured like the coach's (same key, base URL, model and retries), with a shorter
timeout: the rep is waiting for the answer. Any failure (timeout, HTTP error, refusal, unparseable
or untrusted answer) reads the line with the rules instead, with one log line and nothing for the
rep to see.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

import prompts
from handlers.coach import LLMConfig, fill, structured_answer
from handlers.domain.chat import Proposal, read_chat
from handlers.domain.chat_llm import from_model, prompt_values

log = logging.getLogger(__name__)

MAX_SECONDS = 8.0  # the rep is waiting; past this the rules answer


class ChatUpdate(BaseModel):
    """One deal update the line reports (sent as part of a strict JSON schema)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["maybe", "touch", "meeting", "won", "no", "drop", "note", "new deal", "chatter"]
    company: str
    date: str | None
    amount: str | None
    note: str
    confidence: float


class ChatReading(BaseModel):
    model_config = ConfigDict(extra="forbid")

    updates: list[ChatUpdate]


class _Fallback(Exception):
    """The model answered, but not with a reading we trust."""


class ChatReader:
    """`read` asks the model first and falls back to the rules; `ChatReader(None)` is the rules alone."""

    def __init__(self, llm: LLMConfig | None):
        self.llm = llm
        self._client = llm.client("chat", "rules only", max_seconds=MAX_SECONDS) if llm is not None else None

    @classmethod
    def from_settings(cls, settings) -> ChatReader | None:
        """A reader for the configured model, or None without OPENAI_API_KEY."""
        if settings.openai_api_key is None:
            return None
        return cls(LLMConfig(api_key=settings.openai_api_key.get_secret_value(), base_url=settings.openai_base_url,
                             model=settings.openai_model))

    @property
    def uses_llm(self) -> bool:
        return self._client is not None

    def read(self, text: str, companies: Sequence[str], tz: str, now: datetime,
             open_names: Sequence[str] | None = None) -> list[Proposal]:
        """Every update in `text`; `open_names` (default: `companies`) are the deal names the model sees."""
        if self._client is None or not text.strip():
            return read_chat(text, companies, tz, now)
        try:
            return self._ask(text, companies, tz, now, companies if open_names is None else open_names)
        except Exception as e:  # noqa: BLE001 - any failure means: the rules read it
            reason = str(e) if isinstance(e, _Fallback) else f"{type(e).__name__}: {e}"
            log.warning("chat: LLM reading fell back to the rules: %s", " ".join(reason.split())[:200])
            return read_chat(text, companies, tz, now)

    def _ask(self, text: str, companies: Sequence[str], tz: str, now: datetime,
             open_names: Sequence[str]) -> list[Proposal]:
        assert self._client is not None and self.llm is not None
        prompt = fill(prompts.load("read_chat"), prompt_values(text, open_names, tz, now))
        reading = structured_answer(self._client, self.llm.model, prompt, ChatReading, _Fallback)
        got = from_model([u.model_dump() for u in reading.updates], text, companies, tz, now)
        if got is None:
            raise _Fallback("an answer we do not trust (a company from nowhere, or a bad kind or date)")
        return got


@lru_cache(maxsize=8)
def reader_for(llm: LLMConfig | None) -> ChatReader:
    """One reader (and one HTTP client) per configuration: the coach's, so both use the same model."""
    return ChatReader(llm)
