"""The prospect of a practice drill, played by the LLM when one is configured.

It only writes the prospect's lines: the opening brush-off (in its own words, so drills don't repeat) and,
once, a reaction to the rep's answer that may push back. Scoring stays rule-based
(`handlers.domain.practice.score_answer`). The model sees prompts/practice.md filled with the brush-off,
the pretend (or, for a `mine` drill, the rep's own) company and contact, and the conversation so far
fenced as data; no tools. The client is configured like the coach's (same key, base URL, model), with a
shorter timeout: the rep is waiting in the thread. Any failure (HTTP error, timeout, refusal, an answer
that isn't a short line) returns None, and the caller uses the template line or scores without a push-back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict

import prompts
from bot.metrics import LLM_FALLBACKS, LLM_SECONDS, fallback_reason
from handlers.coach import LLMConfig, fill, structured_answer
from handlers.domain.drafts import word_count
from handlers.domain.practice import BRUSHOFFS, prospect_line

log = logging.getLogger(__name__)

MAX_SECONDS = 10.0  # the rep is waiting in the thread; past this the template line (or the score) comes
MAX_LINE_WORDS = 60
MAX_TURN_CHARS = 1200  # a long answer is cut before it reaches the prompt


class ProspectLine(BaseModel):
    """What the model must answer (a strict JSON schema)."""

    model_config = ConfigDict(extra="forbid")

    line: str
    push_back: bool


class _Fallback(Exception):
    """The model answered, but not with a line we can show."""


@dataclass(frozen=True)
class Cast:
    """Who the prospect is: the pretend one, or the contact of the rep's own deal."""

    company: str
    contact: str
    note: str | None = None  # the rep's own note of the maybe, for a `mine` drill


def _data(value: object) -> str:
    """Rep-written text as one plain line that cannot open or close the <conversation> fence."""
    return " ".join(str(value).split()).replace("<", "\u2039").replace(">", "\u203a")


def _conversation(cast: Cast, turns: Sequence[Mapping[str, Any]]) -> str:
    lines = []
    if cast.note:
        lines.append(f"The rep's note of what the prospect said: {_data(cast.note)[:MAX_TURN_CHARS]}")
    for t in turns:
        who = "Prospect" if t.get("role") == "prospect" else "Rep"
        lines.append(f"{who}: {_data(t.get('text', ''))[:MAX_TURN_CHARS]}")
    return "\n".join(lines) or "(nothing yet)"


class Prospect:
    """`Prospect(None)` has no model: every method returns None and the templates speak."""

    def __init__(self, llm: LLMConfig | None) -> None:
        self.llm = llm
        self._client = llm.client("practice", "template lines only", max_seconds=MAX_SECONDS) if llm is not None else None

    @property
    def uses_llm(self) -> bool:
        return self._client is not None

    def opening(self, key: str, cast: Cast, variant: int = 0) -> str | None:
        """The prospect's brush-off in the model's words, or None (use `prospect_line`)."""
        task = ("Say the brush-off to the rep, in your own words, as the first thing you say "
                "(after the rep asked for a decision or a next step).")
        got = self._ask(key, cast, (), task, variant)
        return got[0] if got else None

    def react(self, key: str, cast: Cast, turns: Sequence[Mapping[str, Any]]) -> tuple[str, bool] | None:
        """(line, push_back) after the rep's answer, or None (score without a push-back)."""
        task = ("React to the rep's last answer. If it does not address the real question, or presses too "
                "hard, push back once, politely, with a second brush-off (push_back true). Otherwise say "
                "briefly that you'll give a straight answer (push_back false).")
        return self._ask(key, cast, turns, task, 0)

    def _ask(self, key: str, cast: Cast, turns: Sequence[Mapping[str, Any]], task: str,
             variant: int) -> tuple[str, bool] | None:
        if self._client is None or self.llm is None:
            return None
        b = BRUSHOFFS[key]
        values = {"company": _data(cast.company), "contact": _data(cast.contact), "brushoff": f'"{b.label}"',
                  "example": prospect_line(key, variant), "real_question": b.real_question, "task": task,
                  "conversation": _conversation(cast, turns)}
        try:
            with LLM_SECONDS.time():
                said = structured_answer(self._client, self.llm.model, fill(prompts.load("practice"), values),
                                         ProspectLine, _Fallback)
            line = " ".join(said.line.split()).strip("\"“” ")
            if not 3 <= word_count(line) <= MAX_LINE_WORDS:
                raise _Fallback(f"unsafe draft: a prospect line of {word_count(line)} words")
            return line, bool(said.push_back)
        except Exception as e:  # noqa: BLE001 - any failure means: the template line, or no push-back
            LLM_FALLBACKS.labels(fallback_reason(e)).inc()
            log.warning("practice: LLM prospect line fell back: %s", " ".join(str(e).split())[:200])
            return None


@lru_cache(maxsize=8)
def prospect_for(llm: LLMConfig | None) -> Prospect:
    """One prospect (and one HTTP client) per configuration: the coach's."""
    return Prospect(llm)
