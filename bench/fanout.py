"""How close to Slack's rate limits does a morning's fan-out of digests get, and does it stay exactly once when
an instance dies in the middle of it? (The fake Slack; SQLite or PostgreSQL.)

A synthetic org (bench/digest_plan.py's: reps in a dozen zones, ~3 deals each, DM channels known) where
every rep's digest is due at once (`hardno digest --now`). The fake Slack answers each call after
`--latency` seconds and enforces, with 429 + Retry-After: 1 as Slack does, both a workspace-wide limit of
`--rate` chat.postMessage a second and Slack's one message a second in each channel. The bound is
digests / rate; a run repeats sweeps (as the scheduler would, every 5 minutes of its clock) until every
digest is settled.

Modes: one post after another (FAN_OUT = 1); the fan-out (FAN_OUT = 8) told the workspace limit (its
Throttle keeps to it); the fan-out not told, left to Slack's 429s and their waits; and "killed": a
`hardno`-like sweep in a process of its own (fan-out, told the limit) is SIGKILLed once `--kill-at` of the
digests are posted, claims in flight, and a second instance takes over at once: it sends what nobody claimed,
and once the dead one's leases have run out (its clock moves on 5 minutes a sweep) looks in each of those
DMs for the digest's metadata and posts only the ones that are not there.

Figures: total seconds, the ratio to the bound, the sweeps, 429s, duplicates (a rep posted twice in a day)
and losses (a due rep whose digest is not in their DM, or not settled).

    python bench/fanout.py [--reps 1000] [--rate 20] [--latency 0.05] [--modes sequential,told,429s,killed]
                           [--db sqlite|postgresql] [--kill-at 0.4]
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.digest_plan import NOW, load_postgres, load_sqlite, make_pg_database, reps  # noqa: E402

NAMES = {"sequential": "sequential", "told": "fan-out, told the limit", "429s": "fan-out, 429s only",
         "killed": "told, one instance killed"}


def instance(url: str, api_url: str, at: datetime, mode: str, rate: float):
    """One instance's app and client on `url`, its clock frozen at `at`, set up for `mode`."""
    from bot import slack_client
    from bot.app import create_app
    from bot.clock import Clock
    from bot.config import Settings
    from handlers import delivery
    from storage import Store
    store = Store.from_url(url)
    settings = Settings(_env_file=None, slack_bot_token="xoxb-bench", slack_api_url=api_url)
    client = slack_client.make_client("xoxb-bench", api_url)
    app = create_app(settings, store, Clock.frozen_at(at), client, verify_requests=False)
    delivery.FAN_OUT = 1 if mode == "sequential" else 8
    throttle = slack_client.throttle_for(client)
    if mode in ("told", "killed"):
        throttle.rates["chat.postMessage"] = rate
    throttle.rates.pop("users.info", None)  # the bench measures posts; zone refreshes are not the point
    return app, client


def sweep_until_settled(app, client, max_sweeps: int = 50) -> int:
    """Sweep as the scheduler does, its clock 5 minutes on each time, until nothing is left to retry or to
    recover (failed, or claimed by an instance that died); the sweeps run."""
    from handlers.digest import run_digests
    for sweeps in range(1, max_sweeps + 1):
        report = run_digests(app.services, client, ignore_hour=True, out=io.StringIO())
        with app.services.store.tx() as tx:
            open_claims = sum(s == "claimed" for _, _, s in tx.deliveries("digest"))
        if not report.failed and not open_claims:
            return sweeps
        app.services.clock.advance(timedelta(minutes=5))
    return max_sweeps


def worker(url: str, api_url: str, rate: float, mode: str, at: str, max_sweeps: int) -> int:
    """One instance in a process of its own (so it shares no interpreter lock with the fake Slack, as it
    shares none with Slack): sweeps at `at` until settled (at most `max_sweeps`). Says "sweeping" when it
    starts (its imports are not the fan-out) and "done N" with the sweeps run."""
    logging.disable(logging.WARNING)
    app, client = instance(url, api_url, datetime.fromisoformat(at), mode, rate)
    print("sweeping", flush=True)
    cpu = time.process_time()
    sweeps = sweep_until_settled(app, client, max_sweeps=max_sweeps)
    # never reached when the kill lands mid-sweep; the CPU seconds this instance spent (all its threads)
    print(f"done {sweeps} {time.process_time() - cpu:.2f}", flush=True)
    return 0


def spawn(url: str, api_url: str, rate: float, mode: str, at: datetime, max_sweeps: int, tmp: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, __file__, "--worker", url, api_url, str(rate), mode, at.isoformat(),
                             str(max_sweeps)], cwd=tmp, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    said = proc.stdout.readline().strip()
    if said != "sweeping":
        proc.kill()
        raise SystemExit(f"the {mode} instance did not start: {said!r}")
    return proc


def finished(proc: subprocess.Popen) -> tuple[int, float]:
    """The sweeps a worker ran and the CPU seconds it spent, once it is done."""
    assert proc.stdout is not None
    out = proc.stdout.read()
    if proc.wait() != 0 or not out.startswith("done "):
        raise SystemExit(f"an instance failed (exit {proc.returncode}): {out[-500:]!r}")
    return int(out.split()[1]), float(out.split()[2])


def database(kind: str, tmp: str, n_reps: int) -> tuple[str, object]:
    from storage import Store, upgrade
    if kind == "sqlite":
        url, drop = f"sqlite:///{tmp}/bench.db", (lambda: None)
    else:
        url, drop = make_pg_database()
    store = Store.from_url(url)
    upgrade(store.engine)
    store.dispose()
    if kind == "sqlite":
        load_sqlite(f"{tmp}/bench.db", 3 * n_reps, n_reps)
    else:
        load_postgres(url, 3 * n_reps, n_reps)
    return url, drop


def digest_posts(fake) -> Counter:
    """Digests in the fake's DMs, by rep (their metadata), however they were posted."""
    with fake._cond:
        messages = [m for ms in fake.messages.values() for m in ms]
    return Counter((m.get("metadata") or {}).get("event_payload", {}).get("rep") for m in messages
                   if (m.get("metadata") or {}).get("event_type") == "hardno_digest")


def run(mode: str, n_reps: int, rate: float, latency: float, db: str, kill_at: float) -> dict:
    from storage import Store
    from tests.fakeslack import FakeSlack
    tmp = tempfile.mkdtemp(prefix="hardno-fanout-")
    url, drop = database(db, tmp, n_reps)
    fake = FakeSlack().start()
    victim: subprocess.Popen | None = None
    extra: dict = {}
    try:
        for user, _team, name, tz, *_ in reps(n_reps):  # so their DMs exist: a history to look in
            fake.add_user(user, user.lower(), real_name=name, tz=tz)
        fake.limit("chat.postMessage", rate)
        fake.limit("chat.postMessage", 1.0, per_channel=True)  # Slack's: one a second in each channel
        fake.on_call = lambda call: time.sleep(latency)  # Slack's round trip
        from handlers.digest import run_digests
        app, client = instance(url, fake.api_url, NOW, mode, rate)  # here only to read and count
        due_reps = set(run_digests(app.services, client, ignore_hour=True, dry_run=True, out=io.StringIO()).printed)
        due = len(due_reps)
        app.services.store.dispose()
        seconds = 0.0
        if mode == "killed":
            victim = spawn(url, fake.api_url, rate, mode, NOW, 1, tmp)
            started = time.perf_counter()
            while sum(digest_posts(fake).values()) < kill_at * due and victim.poll() is None:
                time.sleep(0.1)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            seconds = time.perf_counter() - started
            store = Store.from_url(url)
            with store.tx() as tx:
                states = Counter(s for _, _, s in tx.deliveries("digest"))
            store.dispose()
            extra = {"killed after": sum(digest_posts(fake).values()), "claims left": states["claimed"]}
        # The instance that sends them all, or (killed) the one still running: it takes over at once, at the
        # same moment, and its clock moves on 5 minutes a sweep until the dead one's leases have run out.
        survivor = spawn(url, fake.api_url, rate, mode, NOW, 50, tmp)
        started = time.perf_counter()
        sweeps, cpu = finished(survivor)
        seconds += time.perf_counter() - started
        store = Store.from_url(url)
        with store.tx() as tx:
            rows = {target: state for target, _, state in tx.deliveries("digest")}
        store.dispose()
        posted = digest_posts(fake)
        digests = sum(s == "sent" for s in rows.values())
        bound = digests / rate
        calls = fake.calls_to("chat.postMessage")
        lost = {u for u, s in rows.items() if s not in ("sent", "empty")} | {u for u in due_reps if not posted[u]}
        return {"mode": NAMES[mode], "due": due, "digests": digests, "seconds": seconds, "bound": bound,
                "ratio": seconds / bound if bound else float("nan"), "sweeps": sweeps,
                "429s": sum(c.status == 429 for c in calls), "duplicates": sum(n - 1 for n in posted.values() if n > 1),
                "lost": len(lost), "posted": sum(posted.values()),
                # the sending instance's CPU per digest it sent (killed: the survivor's, for its share)
                "cpu ms": 1000 * cpu / max(1, sum(posted.values()) - extra.get("killed after", 0)), **extra}
    finally:
        if victim is not None and victim.poll() is None:
            victim.kill()
        fake.stop()
        drop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=1000)
    p.add_argument("--rate", type=float, default=20.0, help="the workspace's chat.postMessage limit, per second")
    p.add_argument("--latency", type=float, default=0.05, help="seconds the fake Slack takes to answer a call")
    p.add_argument("--modes", default="sequential,told,429s,killed", help="any of " + ", ".join(NAMES))
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--kill-at", type=float, default=0.4, help="share of the digests posted when the kill lands")
    p.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        url, api_url, rate, mode, at, max_sweeps = args.worker
        return worker(url, api_url, float(rate), mode, at, int(max_sweeps))
    logging.disable(logging.WARNING)  # 429 retries would flood the terminal
    modes = [m.strip() for m in args.modes.split(",")]
    print(f"{args.reps} reps on {args.db}, limits {args.rate:g} posts/s (workspace) and 1/s per channel, "
          f"{args.latency * 1000:g} ms a call")
    print(f"{'mode':<26} {'due':>5} {'digests':>7} {'seconds':>8} {'bound':>7} {'ratio':>6} {'sweeps':>6} {'429s':>5} "
          f"{'dups':>5} {'lost':>5} {'cpu ms':>6}")
    bad = False
    for mode in modes:
        r = run(mode, args.reps, args.rate, args.latency, args.db, args.kill_at)
        note = f"  (killed after {r['killed after']} posts, {r['claims left']} claims left)" if mode == "killed" else ""
        print(f"{r['mode']:<26} {r['due']:>5} {r['digests']:>7} {r['seconds']:>8.1f} {r['bound']:>7.1f} {r['ratio']:>6.2f} "
              f"{r['sweeps']:>6} {r['429s']:>5} {r['duplicates']:>5} {r['lost']:>5} {r['cpu ms']:>6.1f}{note}", flush=True)
        bad |= bool(r["duplicates"] or r["lost"])
    print(f"(machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())})")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
