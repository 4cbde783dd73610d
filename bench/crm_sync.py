"""First HubSpot sync of an org with N deals against the fake, HubSpot's rate limits enforced by the fake
(100 requests / 10 s, 5 searches / s): wall time, requests, and the ratio to the rate limits' bound for
that many requests; then a re-sync with 1% of the deals changed.

The fake runs in a process of its own (it stands in for HubSpot's servers: its CPU is not ours).

    .venv/bin/python -m bench.crm_sync [--deals 50000] [--owners 50] [--db sqlite:///bench-crm.db]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.clock import Clock  # noqa: E402
from handlers.crm.hubspot import HubSpotSync  # noqa: E402
from handlers.crm.hubspot_api import BURST, BURST_WINDOW, SEARCH_PER_SECOND  # noqa: E402
from handlers.domain.model import Rep  # noqa: E402
from storage import Store, upgrade  # noqa: E402
from tests.fakehubspot import TOKEN, FakeHubSpot  # noqa: E402


def serve(deals: int, owners: int) -> None:
    """The child: a fake HubSpot with `deals` deals; reads commands on stdin, answers one JSON line each."""
    with FakeHubSpot(burst=BURST, burst_window=BURST_WINDOW, search_per_second=SEARCH_PER_SECOND) as hs:
        rng = random.Random(7)
        stages = ["appointmentscheduled", "qualifiedtobuy", "contractsent", "closedwon", "closedlost"]
        for i in range(owners):
            hs.add_owner(str(100 + i), f"rep{i}@example.com")
        ids = [hs.add_deal(f"Company {n}", str(100 + n % owners), stage=rng.choice(stages),
                           amount=str(rng.randint(1, 500) * 100), modified_ms=1_700_000_000_000 + n * 60_000)
               for n in range(deals)]
        print(json.dumps({"url": hs.url}), flush=True)
        for line in sys.stdin:
            cmd = line.split()
            if cmd[0] == "edit":
                hs.now_ms = int(time.time() * 1000)
                for did in rng.sample(ids, int(cmd[1])):
                    hs.edit_deal(did, amount=str(rng.randint(1, 500) * 100))
            print(json.dumps({"requests": len(hs.requests), "searches": len(hs.calls("/search")),
                              "limited": hs.limited}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deals", type=int, default=50_000)
    ap.add_argument("--owners", type=int, default=50)
    ap.add_argument("--db", default=None)
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        return serve(args.deals, args.owners)
    url = args.db or f"sqlite:///{os.path.join(tempfile.mkdtemp(), 'bench-crm.db')}"
    store = Store.from_url(url)
    upgrade(store.engine)
    with store.tx() as tx:
        for i in range(args.owners):
            tx.save_rep(Rep(f"U{i:04d}", "T1", f"Rep {i}"))
            tx.set_rep_email(f"U{i:04d}", f"rep{i}@example.com")
    child = subprocess.Popen([sys.executable, "-m", "bench.crm_sync", "--serve", "--deals", str(args.deals),
                              "--owners", str(args.owners)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    assert child.stdin and child.stdout

    def ask(cmd: str) -> dict:
        child.stdin.write(cmd + "\n")
        child.stdin.flush()
        return json.loads(child.stdout.readline())

    hs_url = json.loads(child.stdout.readline())["url"]
    try:
        before = ask("stats")
        for label, prep in ((f"first sync of {args.deals} deals ({url.split(':')[0]})", None),
                            ("re-sync with 1% changed", f"edit {args.deals // 100}")):
            if prep:
                before = ask(prep)
            t = time.perf_counter()
            report = HubSpotSync(store, Clock(), TOKEN, hs_url).run()
            wall = time.perf_counter() - t
            after = ask("stats")
            made, searches = after["requests"] - before["requests"], after["searches"] - before["searches"]
            bound = max((made - searches) / (BURST / BURST_WINDOW), searches / SEARCH_PER_SECOND)
            print(f"{label}: {report.summary()}; {wall:.1f} s wall, {made} requests ({searches} searches), "
                  f"rate-limit bound {bound:.1f} s, ratio {wall / bound if bound else 0:.2f}, "
                  f"429s {after['limited'] - before['limited']}", flush=True)
    finally:
        child.stdin.close()
        child.wait(timeout=30)
        store.dispose()


if __name__ == "__main__":
    main()
