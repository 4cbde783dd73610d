"""A rep's `/deal` commands take effect in the order they were sent, through signed HTTP on SQLite and
PostgreSQL, and on PostgreSQL also when two instances behind a load balancer get one each."""

from __future__ import annotations

import time

import pytest

from handlers.domain.model import Status
from tests.harness import SlackDriver
from tests.test_deal_command import deals_of, texts


def _send_50ms_apart(first: SlackDriver, second: SlackDriver, fake, a: str, b: str) -> list[dict]:
    before = len(fake.calls_to("response_url"))
    assert first.command(a).status == 200
    time.sleep(0.05)
    assert second.command(b).status == 200
    return [c.params for c in fake.wait_for("response_url", count=before + 2, timeout=20)[before:]]


def test_add_then_won_50ms_later_ends_won_even_when_the_add_is_slow(slack, store, fake):
    # The rep's first command looks them up in Slack, and users.info is rate limited: the add waits a second.
    fake.fail("users.info", 429, retry_after=1)
    replies = _send_50ms_apart(slack, slack, fake, "add Initech $5k", "won initech")
    [deal] = deals_of(store)
    assert deal.status is Status.WON, [texts(r) for r in replies]
    assert "No deal" not in texts(replies[1])


def test_commands_sent_to_two_instances_are_applied_in_order(slack, store, fake, clock):
    if store.dialect != "postgresql":
        pytest.skip("several instances share PostgreSQL; SQLite is one process")
    other = SlackDriver(store, clock, fake)
    try:
        fake.fail("users.info", 429, retry_after=1)
        replies = _send_50ms_apart(slack, other, fake, "add Initech $5k", "won initech")
        [deal] = deals_of(store)
        assert deal.status is Status.WON, [texts(r) for r in replies]
    finally:
        other.close()
