"""The coach: drafts a message for one deal, with an LLM when configured, templates otherwise.

The LLM sees exactly one `Situation` (this deal, its history, the rep's first name
and zone), with everything the rep typed fenced off as data. Its answer is parsed
into `DraftOut` through the client's structured-output support and checked like a
template draft would be; any failure (HTTP error, timeout, refusal, unparseable or
unsafe output) falls back to `template_draft` with one log line, never an exception.

`Coach._complete` is the one place the model is called: structured drafts (streamed when the caller
passes `on_text`, see handlers/coach_stream.py) and the plain-text answers of the DM coach
(`Coach.answer`, handlers/coach_dm.py).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import jiter
import openai
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, ConfigDict

import prompts
from bot.metrics import LLM_FALLBACKS, LLM_SECONDS, fallback_reason
from handlers.domain.drafts import (
    BRUSHOFF_LABELS,
    MAX_WORDS,
    Draft,
    DraftKind,
    Situation,
    Tone,
    booked_meeting,
    company_name,
    detect_brushoff,
    first_name,
    fmt_day,
    fmt_slot,
    format_slots,
    is_consensus_stall,
    last_touch_was_email,
    named_date,
    pick_kind,
    safety_problems,
    slots_for,
    without_names,
)
from handlers.domain.model import Activity
from handlers.domain.templates import subject_for, template_draft, times
from handlers.domain.zones import zone

log = logging.getLogger(__name__)

MAX_NOTE_CHARS = 300
OnText = Callable[[str], None]  # the draft's text so far, as it streams
MAX_HISTORY = 12


@dataclass(frozen=True)
class LLMConfig:
    api_key: str
    base_url: str | None = None
    model: str = prompts.DEFAULT_MODEL
    timeout: float = 20.0
    max_retries: int = 1

    def client(self, who: str, fallback: str, *, max_seconds: float | None = None) -> openai.OpenAI | None:
        """The OpenAI client for this model, or None (logged once, `who: LLM disabled, <fallback>`) when the
        client can't be made (e.g. an empty key): the caller then runs on its templates or rules."""
        timeout = self.timeout if max_seconds is None else min(self.timeout, max_seconds)
        try:
            return openai.OpenAI(api_key=self.api_key, base_url=self.base_url, timeout=timeout,
                                 max_retries=self.max_retries)
        except openai.OpenAIError as e:
            log.warning("%s: LLM disabled, %s (%s)", who, fallback, str(e)[:200])
            return None


T = TypeVar("T", bound=BaseModel)


def structured_answer(client: openai.OpenAI, model: str, prompt: str, schema: type[T],
                      fallback: type[Exception]) -> T:
    """The model's answer to `prompt`, parsed into `schema` (a strict JSON schema); `fallback` (the caller's
    own exception, so the fallback metric names the reason) when it has no choice, refuses or parses to
    nothing."""
    completion = client.chat.completions.parse(model=model, messages=[{"role": "user", "content": prompt}],
                                               response_format=schema)
    if not completion.choices:
        raise fallback("no choices in the response")
    message = completion.choices[0].message
    if message.refusal:
        raise fallback(f"model refused: {message.refusal}")
    if message.parsed is None:
        raise fallback("no structured content in the response")
    return message.parsed


class DraftOut(BaseModel):
    """What the model must answer (sent as a strict JSON schema)."""

    model_config = ConfigDict(extra="forbid")

    text: str
    subject: str | None
    why: str


class _Fallback(Exception):
    """The LLM answered, but not with a draft we can show."""


_TONE_RULES = {
    Tone.DEFAULT: f"natural and friendly; about 50 to 90 words (never more than {MAX_WORDS}).",
    Tone.SHORTER: "as short as it can be while keeping every required part; under 50 words.",
    Tone.WARMER: "warmer and more personal (a kind opening or closing line), still concise.",
    Tone.DIRECT: "direct and businesslike; no small talk, get to the question quickly.",
}

# Anything that could open or close our data fences inside rep-written text.
_FENCE_RE = re.compile(r"<\s*/?\s*deal(_notes)?\b", re.IGNORECASE)


def _data(value: object) -> str:
    """Rep-written text as one plain line that cannot break out of the data fences."""
    text = " ".join(str(value).split())
    return _FENCE_RE.sub(lambda m: m.group(0).replace("<", "\u2039"), text)


def _quote(value: str) -> str:
    text = _data(value)
    if len(text) > MAX_NOTE_CHARS:
        text = text[:MAX_NOTE_CHARS - 1] + "\u2026"
    return json.dumps(text, ensure_ascii=False)


def _when(dt: datetime | None, tz: str) -> str:
    return fmt_day(dt, tz, year=True) if dt else "none"


def _amount(s: Situation) -> str:
    d = s.deal
    if d.amount is None:
        return "not recorded"
    return f"{d.currency or ''} {d.amount:,}".strip()


def _when_at(dt: datetime, tz: str) -> str:
    """'Tue 1 Dec 2026 at 10:00' in the rep's zone."""
    return f"{fmt_day(dt, tz, year=True)} at {dt.astimezone(zone(tz)):%H:%M}"


def _history_line(a: Activity, tz: str) -> str:
    line = f"- {fmt_day(a.at, tz, year=True)}, {a.kind.value}"
    if a.when is not None:
        line += f" (for {_when_at(a.when, tz)})"
    if a.text:
        line += f": {_quote(a.text)}"
    return line


def _notes(s: Situation) -> str:
    d, lines = s.deal, []
    if d.last_maybe_note:
        lines.append(f"Prospect's last maybe ({_when(d.last_maybe_at, s.tz)}): {_quote(d.last_maybe_note)}")
    recent = sorted(s.history, key=lambda a: a.at)[-MAX_HISTORY:]
    if recent:
        lines.append("Recent history, oldest first (dates in the rep's time zone):")
        lines += [_history_line(a, s.tz) for a in recent]
    return "\n".join(lines) or "(no notes)"


def prompt_values(s: Situation, kind: DraftKind, tone: Tone) -> dict[str, str]:
    """Everything a kind prompt may use, from this one situation only."""
    d = s.deal
    picked, reason = pick_kind(s)
    if picked is not kind:
        reason = f"the rep asked for a {kind.value} draft"
    key = detect_brushoff(d.last_maybe_note)
    slots = slots_for(s)
    booked, named = booked_meeting(s), named_date(s)
    return {
        "kind": kind.value,
        "tone": _TONE_RULES[tone],
        "subject_rule": ("needed: the last exchange was by email, so write a short subject line."
                         if last_touch_was_email(s) else "not needed: set subject to null."),
        "reason": reason,
        "rep_first_name": _data(first_name(s.rep_name)) or "(unknown: no sign-off)",
        "company": _data(company_name(d)),
        "contact": _data(d.contact) if d.contact and d.contact.strip() else "(no name: greet with 'Hi there')",
        "amount": _data(_amount(s)),
        "stage": _data(d.stage) if d.stage else "not recorded",
        "maybe_count": str(d.maybe_count),
        "first_maybe": _when(d.first_maybe_at, s.tz),
        "last_maybe": _when(d.last_maybe_at, s.tz),
        "touch_count": str(d.touch_count),
        "touches_since_answer": str(d.touches_since_answer),
        "tries": times(d.touches_since_answer),
        "created": _when(d.created_at, s.tz),
        "last_answer": _when(d.last_answer_at, s.tz),
        "next_meeting": _when_at(d.next_meeting_at, s.tz) if d.next_meeting_at else "none",
        "today": _when(s.now, s.tz),
        "tz": zone(s.tz).key,  # the zone actually used (unknown names fall back to UTC)
        "brushoff": f'"{BRUSHOFF_LABELS[key]}"' if key else "a vague maybe",
        "slots": format_slots(slots, s.tz),
        "booked": (f"a call on {_when_at(booked, s.tz)} is already in the calendar: say so in one short clause; "
                   "the options above are for the conversation after it" if booked
                   else "nothing yet: this request books the next conversation"),
        "named_date": (f"{_when(named, s.tz)} (the prospect's own date: use it, never a guess such as "
                       "'early January')" if named else "none"),
        "attendees": ("the contact and the other decision makers (for example whoever owns the budget); "
                      "ask the contact to bring them" if is_consensus_stall(d)
                      else "the contact, plus anyone else who should weigh in"),
        "notes": _notes(s),
    }


_PLACEHOLDER_RE = re.compile(r"\{\{(\w+)\}\}")


def fill(template: str, values: dict[str, str]) -> str:
    """Replace {{name}} placeholders; values are inserted once and never re-scanned."""
    return _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], template)


def build_messages(s: Situation, kind: DraftKind, tone: Tone = Tone.DEFAULT) -> list[ChatCompletionMessageParam]:
    return [
        {"role": "system", "content": prompts.load("system")},
        {"role": "user", "content": fill(prompts.load(kind.value), prompt_values(s, kind, tone))},
    ]


def _rule_problems(text: str, s: Situation, kind: DraftKind) -> list[str]:
    """The playbook rules a model can break that a template never does."""
    names = (company_name(s.deal), s.deal.contact)
    problems = safety_problems(text, names)
    bare = without_names(text, names)  # a '?' inside a company name is not a question
    if bare.count("?") != 1:
        problems.append(f"{bare.count('?')} question marks (want exactly one)")
    if kind is DraftKind.MEETING:
        for slot in slots_for(s):
            day = fmt_day(slot, s.tz).split(" ", 1)[1]  # '1 Dec' (locale-independent)
            hhmm = f"{slot.astimezone(zone(s.tz)):%H:%M}"
            if not re.search(rf"\b{day}\b", text) or hhmm not in text:
                problems.append(f"time option {fmt_slot(slot, s.tz)} missing")
        booked = booked_meeting(s)
        if booked is not None and not re.search(rf"\b{fmt_day(booked, s.tz).split(' ', 1)[1]}\b", text):
            problems.append("the meeting already booked is not mentioned")
    return problems


def _partial(snapshot: str) -> dict:
    """The JSON streamed so far as an object, its last string cut where the stream is (the client's own
    partial parse only shows a string once it is complete, so a streamed text would arrive all at once)."""
    try:
        found = jiter.from_json(snapshot.encode(), partial_mode="trailing-strings")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _clean(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").strip().split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class Coach:
    """Drafts messages. `Coach(None)` uses templates only; with an LLMConfig it asks the model first."""

    def __init__(self, llm: LLMConfig | None) -> None:
        self.llm = llm
        self._client = llm.client("coach", "templates only") if llm is not None else None

    @property
    def uses_llm(self) -> bool:
        """Whether drafts come from the LLM first (so a template draft means the LLM failed)."""
        return self._client is not None

    def draft(self, s: Situation, kind: DraftKind | None = None, tone: Tone = Tone.DEFAULT,
              variant: int | None = None, on_text: OnText | None = None) -> Draft:
        """A draft for `s`; `variant` picks the template variant (None: one from the deal and day).

        With `on_text`, the model's answer streams: `on_text(text_so_far)` is called as the draft's text
        grows (never for a template draft). The draft returned is checked exactly as an unstreamed one, so
        what streamed may still be replaced by the template."""
        kind = pick_kind(s)[0] if kind is None else DraftKind(kind)
        tone = Tone(tone)
        if self._client is None:
            return template_draft(s, kind, tone, variant)
        try:
            return self._llm_draft(s, kind, tone, on_text)
        except Exception as e:  # noqa: BLE001 - any failure means: use the template
            reason = str(e) if isinstance(e, _Fallback) else f"{type(e).__name__}: {e}"
            LLM_FALLBACKS.labels(fallback_reason(e)).inc()
            log.warning("coach: LLM %s draft for deal %s fell back to template: %s",
                        kind.value, s.deal.id, " ".join(reason.split())[:200])
            return template_draft(s, kind, tone, variant)

    def answer(self, messages: list[ChatCompletionMessageParam]) -> str | None:
        """The model's plain-text answer to a coach question (prompt built by the caller), or None when
        there is no model or it failed (one log line; the caller answers from the templates)."""
        if self._client is None:
            return None
        try:
            text = self._complete(messages, None, None)
        except Exception as e:  # noqa: BLE001 - any failure means: the template answer
            LLM_FALLBACKS.labels(fallback_reason(e)).inc()
            log.warning("coach: LLM answer fell back to the template: %s", " ".join(f"{type(e).__name__}: {e}".split())[:200])
            return None
        return text if isinstance(text, str) else None

    def _complete(self, messages: list[ChatCompletionMessageParam], schema: type[DraftOut] | None,
                  on_partial: Callable[[dict], None] | None) -> DraftOut | str:
        """The one place the model is called: structured (`schema`) or plain text, streamed when
        `on_partial` is given (it gets the partially parsed object as it grows)."""
        assert self._client is not None and self.llm is not None
        with LLM_SECONDS.time():
            if schema is not None and on_partial is not None:
                with self._client.chat.completions.stream(model=self.llm.model, messages=messages,
                                                          response_format=schema) as stream:
                    for event in stream:
                        if event.type == "content.delta":
                            on_partial(_partial(event.snapshot))
                    completion = stream.get_final_completion()
            elif schema is not None:
                completion = self._client.chat.completions.parse(model=self.llm.model, messages=messages,
                                                                 response_format=schema)
            else:
                plain = self._client.chat.completions.create(model=self.llm.model, messages=messages)
                if not plain.choices or not plain.choices[0].message.content:
                    raise _Fallback("no content in the response")
                return plain.choices[0].message.content
        if not completion.choices:
            raise _Fallback("no choices in the response")
        message = completion.choices[0].message
        if message.refusal:
            raise _Fallback(f"model refused: {message.refusal}")
        out = message.parsed
        if out is None:
            raise _Fallback("no structured content in the response")
        return out

    def _llm_draft(self, s: Situation, kind: DraftKind, tone: Tone, on_text: OnText | None = None) -> Draft:
        def partial(parsed: dict) -> None:
            if on_text is not None and isinstance(parsed.get("text"), str):
                on_text(parsed["text"])

        out = self._complete(build_messages(s, kind, tone), DraftOut, partial if on_text is not None else None)
        assert isinstance(out, DraftOut)
        text = _clean(out.text)
        problems = _rule_problems(text, s, kind)
        if problems:
            raise _Fallback("unsafe draft: " + "; ".join(problems))
        subject = None
        if last_touch_was_email(s):
            subject = " ".join((out.subject or "").split())[:80] or subject_for(s, kind, 0)
        why = " ".join(out.why.split())[:300] or template_draft(s, kind, tone).why
        return Draft(kind=kind, text=text, why=why, subject=subject, source="llm", tone=tone, variant=0)
