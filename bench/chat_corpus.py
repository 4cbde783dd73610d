"""How well chat lines are understood: the labelled corpus (tests/chat_corpus.jsonl), scored.

Each corpus line has the expected kind ("chatter" for no update), company and date (in the
corpus's zone; "YYYY-MM-DD" for a day, "YYYY-MM-DD HH:MM" for a time). Two deals in one line
are written "won+maybe" / "Globex+Initech"; a name the bot must ask about is "Acme Corp|Acme Labs"
(the choices it offers). A line is right when every part matches what the bot would propose:
a reading below the confidence the bot proposes at counts as "chatter" (the bot asks or hints).

    python bench/chat_corpus.py            # the rules alone
    python bench/chat_corpus.py --llm      # the LLM path, against OPENAI_BASE_URL / OPENAI_API_KEY
                                           # (OPENAI_MODEL), falling back to the rules like the bot
    python bench/chat_corpus.py --fake     # the LLM path against the fake OpenAI server (the plumbing)
    python bench/chat_corpus.py --misses all|tune|held   # also list the lines read wrong
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from handlers.domain.chat import PROPOSE_AT, Proposal, read_chat  # noqa: E402

CORPUS = ROOT / "tests" / "chat_corpus.jsonl"
KINDS = ("maybe", "touch", "meeting", "won", "no", "drop", "note", "added", "chatter")

Reader = Callable[[str, Sequence[str], str, datetime], list[Proposal]]


@dataclass(frozen=True)
class Line:
    text: str
    kind: str
    company: str
    date: str | None
    set: str


@dataclass(frozen=True)
class Corpus:
    deals: list[str]
    now: datetime
    tz: str
    lines: list[Line]


def load(path: Path = CORPUS) -> Corpus:
    rows = [json.loads(r) for r in path.read_text(encoding="utf-8").splitlines() if r.strip()]
    head, body = rows[0], rows[1:]
    return Corpus(head["deals"], datetime.fromisoformat(head["now"]), head["tz"],
                  [Line(r["text"], r["kind"], r["company"], r["date"], r["set"]) for r in body])


def _local(dt: datetime | None, tz: str) -> str | None:
    if dt is None:
        return None
    got = dt.astimezone(ZoneInfo(tz))
    return got.strftime("%Y-%m-%d") if got.strftime("%H:%M") == "00:00" else got.strftime("%Y-%m-%d %H:%M")


def _fold(s: str) -> str:
    return " ".join(s.casefold().split())


def shown(proposals: list[Proposal], tz: str) -> tuple[str, str, str | None]:
    """(kind, company, date) of what the bot would propose, written like the corpus."""
    kept = [p for p in proposals if p.confidence >= PROPOSE_AT or p.choices]
    if not kept:
        return "chatter", "", None
    kinds = "+".join(p.kind.value for p in kept)
    companies = "+".join("|".join(sorted(p.choices)) if p.choices else p.company for p in kept)
    dates = [_local(p.when, tz) for p in kept]
    return kinds, companies, dates[0] if len(kept) == 1 else None if not any(dates) else "+".join(d or "" for d in dates)


@dataclass
class Score:
    right: int = 0
    total: int = 0
    # per kind: predicted-and-right, predicted, expected
    tp: Counter = field(default_factory=Counter)
    predicted: Counter = field(default_factory=Counter)
    expected: Counter = field(default_factory=Counter)
    misses: list[tuple[Line, tuple[str, str, str | None]]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0

    def add(self, line: Line, got: tuple[str, str, str | None]) -> None:
        self.total += 1
        want = (line.kind, line.company, line.date)
        ok = got[0] == want[0] and _fold(got[1]) == _fold(want[1]) and got[2] == want[2]
        self.right += ok
        if not ok:
            self.misses.append((line, got))
        exp, pred = line.kind.split("+"), got[0].split("+")
        for i in range(max(len(exp), len(pred))):
            e, p = (exp[i] if i < len(exp) else None), (pred[i] if i < len(pred) else None)
            if e:
                self.expected[e] += 1
            if p:
                self.predicted[p] += 1
            if e and e == p:
                self.tp[e] += 1


def score(corpus: Corpus, reader: Reader = read_chat, which: str | None = None) -> Score:
    s = Score()
    for line in corpus.lines:
        if which is None or line.set == which:
            s.add(line, shown(reader(line.text, corpus.deals, corpus.tz, corpus.now), corpus.tz))
    return s


def table(scores: dict[str, Score]) -> str:
    """Accuracy per set, then precision and recall per kind, as a Markdown table."""
    out = ["| | " + " | ".join(scores) + " |", "|---|" + "---|" * len(scores)]
    out.append("| lines right | " + " | ".join(f"{s.right}/{s.total} ({s.accuracy:.1%})" for s in scores.values())
               + " |")
    for kind in KINDS:
        cells = []
        for s in scores.values():
            p = s.tp[kind] / s.predicted[kind] if s.predicted[kind] else float("nan")
            r = s.tp[kind] / s.expected[kind] if s.expected[kind] else float("nan")
            cells.append(f"P {p:.0%} R {r:.0%} (n={s.expected[kind]})")
        out.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def report(reader: Reader, misses: str | None = None) -> str:
    corpus = load()
    scores = {"all": score(corpus, reader), "tuning set": score(corpus, reader, "tune"),
              "held out": score(corpus, reader, "held")}
    text = table(scores)
    if misses:
        text += "\n\nRead wrong:\n" + "\n".join(f"  {line.text!r}: want {(line.kind, line.company, line.date)}, "
                                               f"got {got}" for line, got in scores["all"].misses
                                               if misses in ("all", line.set))
    return text


def reading(*updates: dict) -> str:
    """A model's answer (the ChatReading schema) with these updates, unnamed fields defaulted."""
    return json.dumps({"updates": [{"kind": "note", "company": "", "date": None, "amount": None, "note": "",
                                    "confidence": 0.9, **u} for u in updates]})


def labelled_model(corpus: Corpus) -> Callable[[dict], str]:
    """A stand-in model for the fake OpenAI server: it answers each corpus line with its label, as a
    perfect model would, except for failures a real one has now and then: a company from nowhere
    (every 11th line), a date in words (every 13th, when dated), broken JSON (every 17th)."""
    from handlers.domain.chat_llm import fenced

    by_line = {fenced(line.text): (i, line) for i, line in enumerate(corpus.lines)}

    def answer(req: dict) -> str:
        prompt = req["messages"][-1]["content"]
        i, line = by_line[prompt.split("<chat_line>", 1)[1].rsplit("</chat_line>", 1)[0]]
        if i % 17 == 7:
            return '{"updates": [{"kind": "won"'
        if line.kind == "chatter":
            return reading()
        dates = (line.date or "").split("+")
        updates = []
        for n, (kind, company) in enumerate(zip(line.kind.split("+"), line.company.split("+"), strict=True)):
            date = dates[n] if n < len(dates) and dates[n] else None
            updates.append({"kind": "new deal" if kind == "added" else kind, "company": company.split("|")[0],
                            "date": date.replace(" ", "T") if date else None})
        if i % 11 == 3:
            updates[0]["company"] = "Contoso"
        elif i % 13 == 5 and updates[0]["date"]:
            updates[0]["date"] = "next week"
        return reading(*updates)

    return answer


def _llm_reader() -> Reader:
    from bot.config import load_settings
    from handlers.chat_reader import ChatReader

    settings = load_settings()
    reader = ChatReader.from_settings(settings)
    if reader is None:
        raise SystemExit("set OPENAI_API_KEY (and OPENAI_BASE_URL / OPENAI_MODEL) to score the LLM path")
    return reader.read


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--llm", action="store_true", help="read through the configured model (falls back to rules)")
    ap.add_argument("--fake", action="store_true",
                    help="the LLM path against the fake OpenAI server answering the labels (tests the plumbing)")
    ap.add_argument("--misses", choices=("all", "tune", "held"), help="list the lines of this set read wrong")
    args = ap.parse_args(argv)
    if args.fake:
        import logging

        from bot.fakeopenai import FakeOpenAI
        from handlers.chat_reader import ChatReader
        from handlers.coach import LLMConfig

        logging.disable(logging.WARNING)  # the planted failures each log their fallback
        with FakeOpenAI() as fake:
            fake.reply(labelled_model(load()))
            fake_reader = ChatReader(LLMConfig(api_key="sk-fake", base_url=fake.base_url, max_retries=0))
            print(f"LLM path, fake model, on {CORPUS.relative_to(ROOT)}:\n")
            print(report(fake_reader.read, args.misses))
        return 0
    reader = _llm_reader() if args.llm else read_chat
    print(("LLM path" if args.llm else "Rules alone") + f" on {CORPUS.relative_to(ROOT)}:\n")
    print(report(reader, args.misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
