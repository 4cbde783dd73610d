"""How long the rules take to read one chat line (the issue's budget: p99 under 5 ms per line).

Every corpus line (tests/chat_corpus.jsonl) is read by `handlers.domain.chat.read_chat` with the
corpus's 18 deals, many rounds, each line timed alone. A baseline runs interleaved in the same
process, line by line: one trivial regex pass over the same line (`\\w+` words, casefolded), so the
figures also come as a ratio, which travels between machines better than milliseconds.

    python bench/chat_parse.py [--rounds N] [--deals N]

`--deals N` pads the rep's pipeline to N deal names (the parse looks for each), to see the cost of
a large pipeline.
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.chat_corpus import load  # noqa: E402
from handlers.domain.chat import read_chat  # noqa: E402

_WORDS = re.compile(r"\w+")


def baseline(text: str) -> int:
    return len([w.casefold() for w in _WORDS.findall(text)])


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--deals", type=int, default=0, help="pad the pipeline to this many deal names")
    args = ap.parse_args(argv)
    corpus = load()
    deals = list(corpus.deals)
    deals += [f"Prospect {n} Holdings" for n in range(max(0, args.deals - len(deals)))]
    for line in corpus.lines:  # warm up: compiled patterns, dateparser's caches
        read_chat(line.text, deals, corpus.tz, corpus.now)
    parse_ms: list[float] = []
    base_ms: list[float] = []
    per_line: dict[int, list[float]] = {i: [] for i in range(len(corpus.lines))}
    gc.disable()
    try:
        for _ in range(args.rounds):
            for i, line in enumerate(corpus.lines):
                t0 = time.perf_counter()
                baseline(line.text)
                t1 = time.perf_counter()
                read_chat(line.text, deals, corpus.tz, corpus.now)
                t2 = time.perf_counter()
                base_ms.append((t1 - t0) * 1000)
                parse_ms.append((t2 - t1) * 1000)
                per_line[i].append((t2 - t1) * 1000)
    finally:
        gc.enable()
    print(f"{len(corpus.lines)} lines x {args.rounds} rounds, {len(deals)} deal names")
    print(f"{'':>22} {'p50':>9} {'p90':>9} {'p99':>9} {'max':>9} {'mean':>9}")
    for label, xs in (("read_chat (ms)", parse_ms), ("regex baseline (ms)", base_ms)):
        print(f"{label:>22} " + " ".join(f"{v:9.3f}" for v in (pct(xs, 50), pct(xs, 90), pct(xs, 99), max(xs),
                                                               statistics.fmean(xs))))
    medians = [statistics.median(v) for v in per_line.values()]
    print(f"{'per-line median (ms)':>22} " + " ".join(f"{v:9.3f}" for v in (
        pct(medians, 50), pct(medians, 90), pct(medians, 99), max(medians), statistics.fmean(medians))))
    ratio = pct(parse_ms, 99) / max(pct(base_ms, 99), 1e-9)
    print(f"p99 read_chat / p99 baseline: {ratio:,.0f}x")
    print(f"budget (p99 < 5 ms): all samples {'met' if pct(parse_ms, 99) < 5 else 'NOT met'}; "
          f"per-line medians (robust to a busy machine) {'met' if pct(medians, 99) < 5 else 'NOT met'}")
    try:
        import os
        print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
