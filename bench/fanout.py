"""How close to Slack's rate limit does a morning's fan-out of digests get? (SQLite, the fake Slack.)

A synthetic org (bench/digest_plan.py's: reps in a dozen zones, ~3 deals each, DM channels known) where
every rep's digest is due at once (`hardno digest --now`). The fake Slack answers each call after
`--latency` seconds and enforces a workspace-wide limit of `--rate` chat.postMessage a second with 429 +
Retry-After: 1, as Slack does. The bound is digests / rate; the run repeats sweeps (as the scheduler
would, every 5 minutes of its clock) until every digest is settled.

Modes: one post after another (FAN_OUT = 1); the fan-out (FAN_OUT = 8) told the workspace limit (its
Throttle keeps to it); the fan-out not told, left to Slack's 429s and their waits.

Figures: total seconds, the ratio to the bound, the posts that reached the fake, duplicates (a rep
posted twice in a day) and losses (a rep whose digest is not sent).

    python bench/fanout.py [--reps 1000] [--rate 20] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import io
import logging
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.digest_plan import NOW, load_sqlite  # noqa: E402


def run(mode: str, n_reps: int, rate: float, latency: float) -> dict:
    from bot import slack_client
    from bot.app import create_app
    from bot.clock import Clock
    from bot.config import Settings
    from bot.fakeslack import FakeSlack
    from handlers import delivery
    from handlers.digest import run_digests
    from storage import Store, upgrade

    tmp = tempfile.mkdtemp(prefix="hardno-fanout-")
    url = f"sqlite:///{tmp}/bench.db"
    store = Store.from_url(url)
    upgrade(store.engine)
    load_sqlite(f"{tmp}/bench.db", 3 * n_reps, n_reps)
    fake = FakeSlack().start()
    try:
        fake.limit("chat.postMessage", rate)
        fake.on_call = lambda call: time.sleep(latency)  # Slack's round trip
        settings = Settings(_env_file=None, slack_bot_token="xoxb-bench", slack_api_url=fake.api_url)
        clock = Clock.frozen_at(NOW)
        client = slack_client.make_client("xoxb-bench", fake.api_url)
        app = create_app(settings, store, clock, client, verify_requests=False)
        delivery.FAN_OUT = 1 if mode == "sequential" else 8
        throttle = slack_client.throttle_for(client)
        if mode == "fan-out, told the limit":
            throttle.rates["chat.postMessage"] = rate
        throttle.rates.pop("users.info", None)  # the bench measures posts; zone refreshes are not the point
        started, sweeps = time.perf_counter(), 0
        while True:
            sweeps += 1
            report = run_digests(app.services, client, ignore_hour=True, out=io.StringIO())
            if not report.failed or sweeps > 50:
                break
            clock.advance(timedelta(minutes=5))
        seconds = time.perf_counter() - started
        posts = [c for c in fake.calls_to("chat.postMessage") if c.ok]
        per_rep = Counter(c.params["channel"] for c in posts)
        with store.tx() as tx:
            states = Counter(s for _, _, s in tx.deliveries("digest"))
        digests = states["sent"]
        bound = digests / rate
        return {"mode": mode, "digests": digests, "seconds": seconds, "bound": bound, "ratio": seconds / bound,
                "sweeps": sweeps, "429s": sum(c.status == 429 for c in fake.calls_to("chat.postMessage")),
                "duplicates": sum(n - 1 for n in per_rep.values() if n > 1),
                "lost": sum(n for s, n in states.items() if s not in ("sent", "empty")),
                "posted": len(posts)}
    finally:
        fake.stop()
        store.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=1000)
    p.add_argument("--rate", type=float, default=20.0, help="the workspace's chat.postMessage limit, per second")
    p.add_argument("--latency", type=float, default=0.05, help="seconds the fake Slack takes to answer a call")
    p.add_argument("--modes", default="sequential,told,429s", help="any of sequential, told, 429s")
    args = p.parse_args()
    logging.disable(logging.WARNING)  # 429 retries would flood the terminal
    names = {"sequential": "sequential", "told": "fan-out, told the limit", "429s": "fan-out, 429s only"}
    modes = [names[m.strip()] for m in args.modes.split(",")]
    print(f"{args.reps} reps, limit {args.rate:g} posts/s, {args.latency * 1000:g} ms a call")
    print(f"{'mode':<26} {'digests':>7} {'seconds':>8} {'bound':>7} {'ratio':>6} {'sweeps':>6} {'429s':>5} "
          f"{'dups':>5} {'lost':>5}")
    for mode in modes:
        r = run(mode, args.reps, args.rate, args.latency)
        print(f"{r['mode']:<26} {r['digests']:>7} {r['seconds']:>8.1f} {r['bound']:>7.1f} {r['ratio']:>6.2f} "
              f"{r['sweeps']:>6} {r['429s']:>5} {r['duplicates']:>5} {r['lost']:>5}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
