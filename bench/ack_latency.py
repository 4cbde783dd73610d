"""How fast does `/deal` ack, through the real HTTP runner? (Slack gives up after 3 s.)

Signed `/deal list` and `/deal add ...` requests go to the real app on waitress, Web API calls
to the fake Slack on loopback, and the database is SQLite (and PostgreSQL when reachable).
Measured, per backend:

  * ack: time until the HTTP 200 reaches the client (what Slack's 3 s budget is about);
  * reply: time from sending until the ephemeral answer reaches the fake's response_url;
  * baselines, interleaved in the same run: `GET /healthz` (HTTP round trip plus a `select 1`)
    and a request Bolt rejects at the signature check (HTTP plus Bolt's parsing, no listener),
    so the figures are also shown as ratios, which travel between machines better than ms.

Requests go one at a time, each waiting for its reply, so this is latency on an idle bot, not
throughput. The pipeline grows as `/deal add` runs, so later `/deal list` replies are longer.

    python bench/ack_latency.py [--requests N] [--no-postgres]
"""

from __future__ import annotations

import argparse
import gc
import logging
import math
import queue
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.clock import Clock  # noqa: E402
from bot.sandbox.fakeslack import FakeSlack  # noqa: E402
from storage import Store, upgrade  # noqa: E402

try:  # the driver may move from tests/ into bot/ with the same API
    from bot.driver import SlackDriver  # noqa: E402
except ImportError:
    from tests.harness import SlackDriver  # noqa: E402


def add_people(fake: FakeSlack) -> None:
    fake.add_user("U1", "dana", real_name="Dana Scully", tz="America/New_York")
    fake.add_user("U2", "ben", real_name="Ben Meyer", tz="Europe/Berlin")
    fake.add_channel("C1", "sales", members=["U1", "U2"])


@dataclass
class Series:
    label: str
    ms: list[float] = field(default_factory=list)

    def pct(self, p: float) -> float:
        s = sorted(self.ms)
        return s[max(0, math.ceil(p / 100 * len(s)) - 1)]  # nearest rank

    @property
    def p50(self) -> float:
        return self.pct(50)

    @property
    def p99(self) -> float:
        return self.pct(99)

    @property
    def max(self) -> float:
        return max(self.ms)


@dataclass
class Result:
    backend: str
    series: dict[str, Series]
    failures: list[str]
    seconds: float
    gc_pauses: list[tuple[int, float]]  # (generation, ms) of the collections during the measured part


class GcWatch:
    """Python's cyclic GC stops every thread; its pauses explain most of the tail, so report them."""

    def __init__(self):
        self.pauses: list[tuple[int, float]] = []
        self._t = 0.0
        self.on = False

    def __call__(self, phase, info):
        if phase == "start":
            self._t = time.perf_counter()
        elif self.on:
            self.pauses.append((info["generation"], (time.perf_counter() - self._t) * 1000))


COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne"]


def run_backend(backend: str, url: str, n: int) -> Result:
    store = Store.from_url(url)
    upgrade(store.engine)
    replies: queue.Queue = queue.Queue()
    failures: list[str] = []
    names = {"list": "/deal list ack", "add": "/deal add ack", "list_e2e": "/deal list → reply",
             "add_e2e": "/deal add → reply", "health": "GET /healthz (baseline)",
             "reject": "bad signature → 401 (baseline)"}
    series = {k: Series(v) for k, v in names.items()}
    started = time.perf_counter()
    watch = GcWatch()
    gc.callbacks.append(watch)
    with FakeSlack() as fake:
        add_people(fake)
        fake.on_call = lambda call: replies.put((time.perf_counter(), call)) if call.method == "response_url" else None
        driver = SlackDriver(store, Clock(), fake)
        try:
            def command(text: str, kind: str | None) -> None:
                t0 = time.perf_counter()
                r = driver.command(text)
                if r.status != 200:
                    failures.append(f"/deal {text}: HTTP {r.status} {r.body[:200]}")
                    return
                try:
                    t1, call = replies.get(timeout=15)
                except queue.Empty:
                    failures.append(f"/deal {text}: no reply at the response_url within 15 s")
                    return
                if call.params.get("response_type") != "ephemeral":
                    failures.append(f"/deal {text}: reply not ephemeral")
                if kind:
                    series[kind].ms.append(r.seconds * 1000)
                    series[kind + "_e2e"].ms.append((t1 - t0) * 1000)
                failures.extend(f"Block Kit: {e}" for e in fake.block_errors)
                fake.reset()  # the fake keeps every call it saw: don't let its memory grow the GC's work

            def baselines() -> None:
                h = driver.get("/healthz")
                if h.status != 200:
                    failures.append(f"/healthz: HTTP {h.status}")
                series["health"].ms.append(h.seconds * 1000)
                bad = driver.command("list", headers={"X-Slack-Signature": "v0=" + "0" * 64})
                if bad.status != 401:
                    failures.append(f"bad signature: HTTP {bad.status}, expected 401")
                series["reject"].ms.append(bad.seconds * 1000)

            for i in range(10):  # warm-up (imports, connection pools, first-time caches): not counted
                command(f"add Warmup{i} $5k", None)
                command("list", None)
                baselines()
            watch.on = True
            for i in range(n // 2):
                company = f"{COMPANIES[i % len(COMPANIES)]} {i // len(COMPANIES)}"
                command(f"add {company} ${(i % 40 + 1) * 1.5:g}k next:in {i % 9 + 1} days", "add")
                baselines()
                command("list" if i % 3 else "list all", "list")
                baselines()
        finally:
            watch.on = False
            gc.callbacks.remove(watch)
            driver.close()
            store.dispose()
    return Result(backend, series, failures, time.perf_counter() - started, watch.pauses)


def postgres_url():
    try:
        from tests.backends import create_pg_database, postgres_available
    except ImportError:  # psycopg or pytest missing
        return None
    if not postgres_available():
        return None
    return create_pg_database()


def table(results: list[Result]) -> str:
    head = f"{'backend':<10} {'what':<32} {'n':>4} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  " \
           f"{'p50 ×healthz':>12} {'p99 ×healthz':>12} {'p50 ×401':>9}"
    out = [head, "-" * len(head)]
    for res in results:
        health, reject = res.series["health"], res.series["reject"]
        for key in ("list", "add", "list_e2e", "add_e2e", "health", "reject"):
            s = res.series[key]
            if not s.ms:
                continue
            out.append(f"{res.backend:<10} {s.label:<32} {len(s.ms):>4} {s.p50:>8.2f} {s.p99:>8.2f} {s.max:>8.2f}  "
                       f"{s.p50 / health.p50:>12.1f} {s.p99 / health.p99:>12.1f} {s.p50 / reject.p50:>9.1f}")
        out.append("")
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=300,
                   help="signed /deal requests per backend, half add and half list (default 300)")
    p.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = p.parse_args(argv)
    if args.requests < 2:
        p.error("--requests must be at least 2")
    logging.basicConfig(level=logging.WARNING)

    import tempfile
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(run_backend("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args.requests))
    pg = None if args.no_postgres else postgres_url()
    if pg:
        url, drop = pg
        try:
            results.append(run_backend("postgresql", url, args.requests))
        finally:
            drop()
    elif not args.no_postgres:
        print("(PostgreSQL not reachable: SQLite only)\n")

    print(table(results))
    for res in results:
        budget = max(res.series["list"].max, res.series["add"].max)
        full = [ms for gen, ms in res.gc_pauses if gen == 2]
        print(f"{res.backend}: {res.seconds:.1f} s; slowest ack {budget:.1f} ms "
              f"= {budget / 3000:.1%} of Slack's 3 s budget; {len(res.failures)} failures; "
              f"GC: {len(res.gc_pauses)} collections, longest {max((ms for _, ms in res.gc_pauses), default=0):.1f} ms, "
              f"{len(full)} full (gen 2){f', longest {max(full):.1f} ms' if full else ''}")
        for f in res.failures[:10]:
            print("  FAIL", f)
    return 1 if any(r.failures for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
