"""How long does planning every rep's morning digest take, and how much memory? (SQLite and PostgreSQL.)

A synthetic org: 10,000 reps in a dozen zones and N deals (default 100,000 and 1,000,000) with realistic
projections: a third open, the rest won / hard no / dropped; lognormal amounts in three currencies; stages
for most; maybes, unanswered tries, asks, past and future meetings and snoozes in believable proportions.
The deal rows carry the counters (as `apply` keeps them), so no history is replayed; the activities table
still gets each deal's history rows (added, maybes, tries, stage changes), because the per-stage median
query reads the stage changes from it. Loaded with COPY on PostgreSQL, executemany on SQLite.

Measured, each in a fresh process (so peak memory is the planning's own):

  * plan:  what a sweep does when every rep is due at once: thresholds, median amounts, median stage
           durations, one streamed owner-ordered scan of the open unsnoozed deals judged rep by rep, and
           every rep's digest kept (compact) in memory, ready to send;
  * scan:  baseline, the same streamed scan of the same rows turned into Deal objects, with no judging;
  * count: baseline, `SELECT count(*) FROM deals`.

Wall time, peak RSS of the process (ru_maxrss) and how much planning added to it; ratios to the
baselines travel between machines better than seconds.

    python bench/digest_plan.py [--deals 100000,1000000] [--reps 10000] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # a Monday: 09:00 in New York
ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "America/Sao_Paulo", "Europe/London",
         "Europe/Berlin", "Europe/Istanbul", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney",
         "Pacific/Chatham"]
STAGES = ["time", "explore", "change", "collaborate", "consensus", "invest", "review", "resolve concerns",
          "decide", "execute"]
PG_ADMIN = os.environ.get("HARDNO_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

DEAL_COLS = ["id", "owner_id", "team_id", "company", "contact", "amount", "currency", "stage", "status",
             "next_meeting_at", "snoozed_until", "created_at", "updated_at", "closed_at", "close_reason",
             "maybe_count", "first_maybe_at", "last_maybe_at", "last_maybe_note", "touch_count",
             "touches_since_answer", "last_answer_at", "last_activity_at", "stage_since", "asked_at"]
ACT_COLS = ["deal_id", "kind", "at", "text", "source", "when"]
REP_COLS = ["user_id", "team_id", "name", "tz", "tz_checked_at", "dm_channel", "digest_hour", "digest_on",
            "digest_weekends", "board_hidden"]


# -- the synthetic org ----------------------------------------------------------------------------------------

def _between(rng: random.Random, a: datetime, b: datetime) -> datetime:
    if b <= a:
        return a
    return a + timedelta(seconds=rng.uniform(0, (b - a).total_seconds()))


def reps(n: int, seed: int = 7):
    rng = random.Random(seed)
    for i in range(n):
        yield (f"U{i:06d}", "T1", f"Rep {i}", rng.choice(ZONES), NOW - timedelta(hours=rng.uniform(0, 20)),
               f"DU{i:06d}", None, rng.random() > 0.05, rng.random() < 0.05, False)


def deals(n: int, n_reps: int, seed: int = 11):
    """(deal row, [activity rows]) for n deals, with the projection consistent with the history."""
    rng = random.Random(seed)
    weights = [rng.lognormvariate(0, 0.6) for _ in range(n_reps)]  # some reps carry many more deals
    owners = rng.choices(range(n_reps), weights=weights, k=n)
    for i in range(1, n + 1):
        created = NOW - timedelta(days=rng.uniform(0.5, 540))
        r = rng.random()
        status = "open" if r < 0.35 else "won" if r < 0.55 else "no" if r < 0.80 else "dropped"
        end = NOW if status == "open" else _between(rng, created, NOW)
        acts = [(i, "added", created, "", "command", None)]
        amount = Decimal(str(round(rng.lognormvariate(9.4, 1.0), 2))) if rng.random() < 0.85 else None
        currency = None if amount is None else rng.choices(["USD", "EUR", "GBP"], [80, 15, 5])[0]
        stage, stage_since = None, created
        if rng.random() < 0.6:
            changes = rng.choice([0, 0, 1, 1, 2, 3])
            times = sorted(_between(rng, created, end) for _ in range(changes))
            for at in times:
                stage, stage_since = rng.choice(STAGES), at
                acts.append((i, "stage", at, stage, "command", None))
            if stage is None:
                stage = rng.choice(STAGES)
        maybes = rng.choices([0, 1, 2, 3, 4, 6], [50, 25, 12, 7, 4, 2])[0]
        maybe_times = sorted(_between(rng, created, end) for _ in range(maybes))
        for at in maybe_times:
            acts.append((i, "maybe", at, "", "command", None))
        touches = min(int(rng.expovariate(0.4)), 15)
        touch_times = sorted(_between(rng, created, end) for _ in range(touches))
        for at in touch_times:
            acts.append((i, "touch", at, "", "command", None))
        last_answer = maybe_times[-1] if maybe_times else None
        since_answer = sum(1 for t in touch_times if last_answer is None or t > last_answer)
        meeting = snooze = asked = None
        if status == "open":
            r = rng.random()
            if r < 0.30:
                meeting = NOW + timedelta(days=rng.uniform(0.1, 30))
            elif r < 0.50:
                meeting = NOW - timedelta(days=rng.uniform(0.5, 40))
            if rng.random() < 0.05:
                snooze = NOW + timedelta(days=rng.uniform(1, 60))
            if rng.random() < 0.08:
                asked = NOW - timedelta(days=rng.uniform(0, 12))
                acts.append((i, "ask", asked, "", "coach", None))
        if meeting is not None:
            acts.append((i, "meeting", _between(rng, created, min(NOW, meeting)), "", "command", meeting))
        if status != "open":
            acts.append((i, {"won": "won", "no": "no", "dropped": "drop"}[status], end, "", "command", None))
        last_activity = max([a[2] for a in acts])
        if status == "open" and rng.random() < 0.3:  # recently worked on
            last_activity = NOW - timedelta(days=rng.uniform(0, 5))
            acts.append((i, "note", last_activity, "", "command", None))
        row = (i, f"U{owners[i - 1]:06d}", "T1", f"Company {i}", None, amount, currency, stage, status, meeting,
               snooze, created, last_activity, None if status == "open" else end, None, maybes,
               maybe_times[0] if maybe_times else None, maybe_times[-1] if maybe_times else None, None,
               touches + (asked is not None), since_answer + (asked is not None), last_answer, last_activity,
               stage_since, asked)
        yield row, acts


# -- loading --------------------------------------------------------------------------------------------------

def _sqlite_value(v):
    if isinstance(v, datetime):  # how the UTCDateTime column stores it on SQLite: naive UTC text
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, Decimal):
        return float(v)
    return v


def _batches(it, size: int):
    batch = []
    for x in it:
        batch.append(x)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def load_sqlite(path: str, n_deals: int, n_reps: int) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    def ins(table, cols):
        return f"INSERT INTO {table} ({', '.join(map(_q, cols))}) VALUES ({', '.join('?' * len(cols))})"

    with con:
        con.execute("INSERT INTO workspaces (team_id, name, thresholds) VALUES (?, ?, ?)",
                    ("T1", "Bench", '{"no_meeting_days": 7}'))
        con.executemany(ins("reps", REP_COLS), ([_sqlite_value(v) for v in r] for r in reps(n_reps)))
    for batch in _batches(deals(n_deals, n_reps), 20000):
        with con:
            con.executemany(ins("deals", DEAL_COLS), ([_sqlite_value(v) for v in d] for d, _ in batch))
            con.executemany(ins("activities", ACT_COLS), ([_sqlite_value(v) for v in a] for _, acts in batch
                                                           for a in acts))
    con.execute("ANALYZE")
    con.close()


def _q(col: str) -> str:
    return f'"{col}"' if col == "when" else col


def load_postgres(url: str, n_deals: int, n_reps: int) -> None:
    import psycopg
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=False) as conn:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO workspaces (team_id, name, thresholds) VALUES ('T1', 'Bench', %s)",
                        ['{"no_meeting_days": 7}'])
            with cur.copy(f"COPY reps ({', '.join(REP_COLS)}) FROM STDIN") as copy:
                for r in reps(n_reps):
                    copy.write_row(r)
            with cur.copy(f"COPY deals ({', '.join(DEAL_COLS)}) FROM STDIN") as deal_copy:
                for d, _acts in deals(n_deals, n_reps):
                    deal_copy.write_row(d)
            cur.execute("SELECT setval(pg_get_serial_sequence('deals', 'id'), (SELECT max(id) FROM deals))")
            # The same seeded generator again for the histories (they reference the deals' ids).
            with cur.copy(f"COPY activities ({', '.join(map(_q, ACT_COLS))}) FROM STDIN") as act_copy:
                for _d, acts in deals(n_deals, n_reps):
                    for a in acts:
                        act_copy.write_row(a)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


def make_pg_database() -> tuple[str, callable]:
    import psycopg
    name = f"hardno_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", drop


# -- measuring (in a child process) ---------------------------------------------------------------------------

def measure(url: str, what: str) -> dict:
    from handlers.digest.due import Due
    from handlers.digest.plan import plan_digests, planned
    from storage import Store
    store = Store.from_url(url)
    with store.tx() as tx:
        everyone = [r for r in tx.reps() if r.digest_on]
        tx.count("reps")
    due = [Due(r, NOW.astimezone(UTC).date()) for r in everyone]
    base_kb = _status_kb("VmRSS")
    start = time.perf_counter()
    result: dict = {}
    if what == "count":
        with store.tx() as tx:
            result["deals"] = tx.count("deals")
    elif what == "scan":
        with store.tx() as tx:
            result["rows"] = sum(1 for d in tx.open_deals_for_digest([r.user_id for r in everyone], NOW)
                                 if d.is_open)
    else:
        plans = [(d, planned(d, digest)) for d, digest in plan_digests(store, due, NOW)]
        result["reps"] = len(plans)
        result["digests"] = sum(p is not None for _, p in plans)
        result["lines"] = sum(len(p.lines) for _, p in plans if p is not None)
        result["stuck"] = sum(len(p.lines) + p.more for _, p in plans if p is not None)
    result["seconds"] = time.perf_counter() - start
    peak_kb = _status_kb("VmHWM")  # this process's peak RSS (ru_maxrss would include the parent's, across exec)
    result["peak_mb"] = peak_kb / 1024
    result["added_mb"] = (peak_kb - base_kb) / 1024
    store.dispose()
    return result


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux: the best there is


def run_child(url: str, what: str) -> dict:
    r = subprocess.run([sys.executable, __file__, "--measure", what, "--url", url], capture_output=True,
                       text=True, cwd=ROOT, timeout=3600)
    if r.returncode != 0:
        raise RuntimeError(f"measuring {what} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def bench(backend: str, n_deals: int, n_reps: int) -> dict:
    from storage import Store, upgrade
    drop = None
    if backend == "sqlite":
        tmp = tempfile.mkdtemp(prefix="hardno-bench-")
        url = f"sqlite:///{tmp}/bench.db"
    else:
        url, drop = make_pg_database()
    try:
        store = Store.from_url(url)
        upgrade(store.engine)
        store.dispose()
        t0 = time.perf_counter()
        if backend == "sqlite":
            load_sqlite(f"{tmp}/bench.db", n_deals, n_reps)
        else:
            load_postgres(url, n_deals, n_reps)
        load_s = time.perf_counter() - t0
        out = {"backend": backend, "deals": n_deals, "reps": n_reps, "load_s": load_s}
        run_child(url, "count")  # warm the cache the same way for every measurement
        for what in ("count", "scan", "plan"):
            out[what] = run_child(url, what)
        return out
    finally:
        if drop:
            drop()
        if backend == "sqlite":
            shutil.rmtree(tmp, ignore_errors=True)


def table(results: list[dict]) -> str:
    lines = ["| backend | deals | open, unsnoozed rows | plan | peak RSS (added by planning) | scan baseline | "
             "count(*) baseline | plan ÷ scan | plan ÷ count |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        p, s, c = r["plan"], r["scan"], r["count"]
        lines.append(f"| {r['backend']} | {r['deals']:,} | {s['rows']:,} | {p['seconds']:.2f} s | "
                     f"{p['peak_mb']:.0f} MB ({p['added_mb']:.0f} MB) | {s['seconds']:.2f} s | {c['seconds']:.3f} s | "
                     f"{p['seconds'] / s['seconds']:.1f}× | {p['seconds'] / max(c['seconds'], 1e-6):.0f}× |")
    return "\n".join(lines)


def growth(results: list[dict]) -> list[str]:
    out = []
    for backend in sorted({r["backend"] for r in results}):
        rs = sorted((r for r in results if r["backend"] == backend), key=lambda r: r["deals"])
        for a, b in zip(rs, rs[1:], strict=False):
            k = b["deals"] / a["deals"]
            t = b["plan"]["seconds"] / a["plan"]["seconds"]
            out.append(f"{backend}: {k:.0f}× the deals took {t:.1f}× the planning time "
                       f"(exponent {math.log(t) / math.log(k):.2f}; 1.00 is linear)")
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--deals", default="100000,1000000")
    p.add_argument("--reps", type=int, default=10000)
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--json", help="also write the raw results here")
    p.add_argument("--measure", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.measure:
        print(json.dumps(measure(args.url, args.measure)))
        return 0
    results = []
    for n in (int(x) for x in args.deals.split(",")):
        for backend in args.backends.split(","):
            r = bench(backend, n, args.reps)
            results.append(r)
            p_ = r["plan"]
            print(f"{backend:10} {n:>9,} deals: loaded in {r['load_s']:.0f} s; plan {p_['seconds']:.2f} s, "
                  f"peak {p_['peak_mb']:.0f} MB (+{p_['added_mb']:.0f} MB), {p_['digests']:,} digests of "
                  f"{p_['reps']:,} reps, {p_['lines']:,} lines, {p_['stuck']:,} stuck deals; "
                  f"scan {r['scan']['seconds']:.2f} s; count {r['count']['seconds']:.3f} s", flush=True)
    print()
    print(table(results))
    print()
    print("\n".join(growth(results)))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
