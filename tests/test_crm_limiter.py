"""The HubSpot limiter keeps every rolling window under its cap, on a settable clock."""

from __future__ import annotations

from handlers.crm.hubspot_api import Limiter


def test_no_window_ever_holds_more_than_the_cap():
    now = [0.0]
    limiter = Limiter(burst=100, window=10.0, search_per_second=5, sleep=lambda s: now.__setitem__(0, now[0] + s),
                      monotonic=lambda: now[0])
    api, search = [], []
    for i in range(1000):
        limiter.acquire("search" if i % 4 == 0 else "api")
        (search if i % 4 == 0 else api).append(now[0])
    for times, cap, window in ((api, 100, 10.0), (search, 5, 1.0)):
        assert all(sum(1 for t in times if start <= t < start + window) <= cap for start in times)
    # and it paces no slower than needed: 750 calls at 100 per 10 s, 250 searches at 5 per s
    assert 49.0 <= now[0] <= 75.0 + 1.0
