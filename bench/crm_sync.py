"""First HubSpot sync of an org with N deals against the fake, HubSpot's rate limits enforced by the fake
(100 requests / 10 s, 5 searches / s): wall time, requests, and the ratio to the rate limits' bound for
that many requests; then a re-sync with 1% of the deals changed.

    .venv/bin/python -m bench.crm_sync [--deals 50000] [--owners 50] [--db sqlite:///bench-crm.db]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.clock import Clock  # noqa: E402
from handlers.crm.hubspot import HubSpotSync  # noqa: E402
from handlers.crm.hubspot_api import BURST, BURST_WINDOW, SEARCH_PER_SECOND  # noqa: E402
from handlers.domain.model import Rep  # noqa: E402
from storage import Store, upgrade  # noqa: E402
from tests.fakehubspot import TOKEN, FakeHubSpot  # noqa: E402


def bound(report_requests: int, searches: int) -> float:
    """Seconds the limits allow for this many requests at best: each limit paced at its own rate."""
    return max((report_requests - searches) / (BURST / BURST_WINDOW), searches / SEARCH_PER_SECOND)


def run(hs: FakeHubSpot, store: Store, label: str) -> None:
    before = len(hs.requests)
    searches_before = len(hs.calls("/search"))
    t = time.perf_counter()
    report = HubSpotSync(store, Clock(), TOKEN, hs.url).run()
    wall = time.perf_counter() - t
    searches = len(hs.calls("/search")) - searches_before
    made = len(hs.requests) - before
    b = bound(made, searches)
    print(f"{label}: {report.summary()}; {wall:.1f} s wall, {made} requests ({searches} searches), "
          f"rate-limit bound {b:.1f} s, ratio {wall / b if b else 0:.2f}, 429s so far {hs.limited}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deals", type=int, default=50_000)
    ap.add_argument("--owners", type=int, default=50)
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    url = args.db or f"sqlite:///{os.path.join(tempfile.mkdtemp(), 'bench-crm.db')}"
    store = Store.from_url(url)
    upgrade(store.engine)
    with FakeHubSpot(burst=BURST, burst_window=BURST_WINDOW, search_per_second=SEARCH_PER_SECOND) as hs:
        with store.tx() as tx:
            for i in range(args.owners):
                hs.add_owner(str(100 + i), f"rep{i}@example.com")
                tx.save_rep(Rep(f"U{i:04d}", "T1", f"Rep {i}"))
                tx.set_rep_email(f"U{i:04d}", f"rep{i}@example.com")
        rng = random.Random(7)
        stages = ["appointmentscheduled", "qualifiedtobuy", "contractsent", "closedwon", "closedlost"]
        base = 1_700_000_000_000
        ids = [hs.add_deal(f"Company {n}", str(100 + n % args.owners), stage=rng.choice(stages),
                           amount=str(rng.randint(1, 500) * 100), modified_ms=base + n * 7)
               for n in range(args.deals)]
        run(hs, store, f"first sync of {args.deals} deals")
        for did in rng.sample(ids, args.deals // 100):
            hs.edit_deal(did, amount=str(rng.randint(1, 500) * 100))
        run(hs, store, "re-sync with 1% changed")
    store.dispose()


if __name__ == "__main__":
    main()
