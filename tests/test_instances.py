"""Several `hardno serve --http` instances on one PostgreSQL, as an org runs them: two real processes, one fake
Slack, each instance on a clock of its own (HARDNO_CLOCK_FILE: the jobs run when its time moves).

- a day's digests and boards go out exactly once across both instances;
- the same event sent to both (Slack's retry of it) is handled once;
- an instance SIGKILLed in the middle of its digest sweep leaves claims behind; the other, once their lease
  has run out, finishes the day: none lost, none doubled;
- `/readyz` of a real process: 200 when current, 503 when the migrations are behind or the database is gone.

PostgreSQL only (two processes share the database); skipped without it, like the rest of the suite.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from bot.clock import write_time_file
from handlers.delivery import LEASE
from storage import Store
from tests.backends import create_pg_database
from tests.fakeslack import FakeSlack
from tests.serving import Serve, get

NY, BERLIN = "America/New_York", "Europe/Berlin"
REPS = [(f"U{i:02d}", NY if i <= 5 else BERLIN) for i in range(1, 11)]
CHANNELS = {"C1": [u for u, tz in REPS if tz == NY], "C2": [u for u, tz in REPS if tz == BERLIN]}
# Before 9:00 in both zones, on a Friday and on the Wednesday of the week the boards will cover (more than a
# day after Monday's boards were due, so no board is posted for the week before that).
SEEDED, CLOSED = datetime(2026, 11, 20, 7, 0, tzinfo=UTC), datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
DAY = "2026-11-30"  # a Monday: every rep's digest, and each channel's weekly board for the week before
# A board's period is the start of the week it covers (local midnight, in UTC).
WEEK = {"C1": "2026-11-23T05:00:00+00:00", "C2": "2026-11-22T23:00:00+00:00"}


def period(kind: str, target: str) -> str:
    return DAY if kind == "digest" else WEEK[target]
BOTH_DUE = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)  # 09:30 in New York, 15:30 in Berlin
GUARD = 180.0  # seconds: hang guards only; nothing asserts on how long anything took


def wait_until(ok: Callable[[], bool], what: str, timeout: float = GUARD,
               show: Callable[[], object] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}" + (f"\n{show()}" if show else ""))
        time.sleep(0.1)


@pytest.fixture
def db() -> Iterator[tuple[str, Store]]:
    url, drop = create_pg_database()
    store = Store.from_url(url)
    try:
        yield url, store
    finally:
        store.dispose()
        drop()


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        for user, tz in REPS:
            f.add_user(user, user.lower(), real_name=f"Rep {user}", tz=tz)
        for channel, members in CHANNELS.items():
            f.add_channel(channel, f"sales-{channel.lower()}", members=members)
        yield f
        f.release("chat.postMessage", drop=True)  # a test that failed while holding
        f.assert_no_block_errors()


class Instance(Serve):
    """A serve process on a clock of its own; `at(t)` moves it, which runs its scheduled jobs."""

    def __init__(self, tmp_path: Path, fake: FakeSlack, url: str, name: str, at: datetime):
        self.clock = tmp_path / f"clock-{name}"
        write_time_file(self.clock, at)
        super().__init__(tmp_path, fake, url, HARDNO_CLOCK_FILE=str(self.clock), HARDNO_LOG_FORMAT="json")

    def at(self, when: datetime) -> None:
        write_time_file(self.clock, when)

    def looked(self, when: datetime) -> bool:
        """Its jobs for `when` have all run (it logs that once they are done)."""
        return f"scheduled jobs done for {when.astimezone(UTC).isoformat()}" in self.log()


def instances(tmp_path: Path, fake: FakeSlack, url: str, at: datetime) -> list[Instance]:
    started: list[Instance] = []
    try:
        for name in "ab":
            started.append(Instance(tmp_path, fake, url, name, at))
    except BaseException:
        for inst in started:
            inst.kill()
        raise
    return started


def replies(fake: FakeSlack) -> set[str]:
    return {str(c.params.get("token")) for c in fake.calls_to("response_url")}


def seed(fake: FakeSlack, a: Instance, b: Instance) -> None:
    """Every rep logs a deal with two maybes (stuck: in their digest) on Friday, then closes one out on Wednesday
    (on their channel's board). Odd reps talk to one instance, even ones to the other; each phase's replies
    arrive before the clocks move on."""
    def phase(when: datetime, commands: list[str]) -> None:
        a.at(when)
        b.at(when)
        asked = set()
        for i, (user, _) in enumerate(REPS):
            for j, text in enumerate(commands):
                name = f"{user}-{when:%d}-{j}"
                assert (a if i % 2 else b).command(text, user, reply_to=name) == 200
                asked.add(name)
        wait_until(lambda: asked <= replies(fake), "every seeding command answered")

    phase(SEEDED, ["add Globex $5k", "maybe Globex not this quarter", "maybe Globex send me info"])
    phase(CLOSED, ["add Initech $3k", "won Initech"])


def posts(fake: FakeSlack, event_type: str) -> Counter:
    """How many messages of `event_type` (their metadata) each (target, period) got, across all channels."""
    with fake._cond:
        messages = [m for ms in fake.messages.values() for m in ms]
    found: Counter = Counter()
    for m in messages:
        meta = m.get("metadata") or {}
        if meta.get("event_type") == event_type:
            payload = meta.get("event_payload") or {}
            found[(payload.get("rep") or payload.get("channel"), payload.get("day") or payload.get("period"))] += 1
    return found


def deliveries(store: Store, kind: str) -> dict[str, dict]:
    with store.tx() as tx:
        rows = tx.deliveries(kind)
        return {target: tx.delivery(kind, target, p) for target, p, _ in rows if p == period(kind, target)}


def settled(store: Store, kind: str, n: int) -> bool:
    rows = deliveries(store, kind)
    return len(rows) == n and all(r["state"] not in ("claimed", "failed") for r in rows.values())


def state(store: Store, *instances: Serve) -> str:
    """What the deliveries and the instances' logs say (for a failure's message)."""
    rows = {k: {t: (r["state"], r["error"]) for t, r in deliveries(store, k).items()} for k in ("digest", "board")}
    logs = "\n".join(f"--- {inst.base}\n{inst.log()[-4000:]}" for inst in instances)
    return f"{rows}\n{logs}"


def calls(fake: FakeSlack) -> str:
    """The calls the fake Slack got, counted by (method, status, error) (for a failure's message)."""
    return str(Counter((c.method, c.status, c.error) for c in fake.calls))


def assert_day_delivered_once(fake: FakeSlack, store: Store) -> None:
    digests = posts(fake, "hardno_digest")
    assert digests == {(user, DAY): 1 for user, _ in REPS}, digests
    boards = posts(fake, "hardno_board")
    assert boards == {(channel, WEEK[channel]): 1 for channel in CHANNELS}, boards
    for kind, n in (("digest", len(REPS)), ("board", len(CHANNELS))):
        states = Counter(r["state"] for r in deliveries(store, kind).values())
        assert states == {"sent": n}, (kind, states)


def test_a_days_digests_and_boards_go_out_once_across_two_instances(tmp_path, fake, db):
    url, store = db
    a, b = instances(tmp_path, fake, url, SEEDED)
    try:
        seed(fake, a, b)
        # The day, as both schedulers see it: Berlin's 9:00 (its reps and board), then New York's, then
        # further looks through the afternoon and evening. Both instances sweep at every one of them, at once.
        for when in (datetime(2026, 11, 30, 8, 30, tzinfo=UTC), BOTH_DUE, BOTH_DUE + timedelta(minutes=5),
                     BOTH_DUE + LEASE * 2, datetime(2026, 11, 30, 22, 0, tzinfo=UTC)):
            for inst in (a, b):
                inst.at(when)
            wait_until(lambda when=when: a.looked(when) and b.looked(when), f"both instances looked at {when}",
                       show=lambda: state(store, a, b))
            if when.hour == 8:  # Berlin's reps, and only they, had theirs at Berlin's 9:30
                sent = {u for u, r in deliveries(store, "digest").items() if r["state"] == "sent"}
                assert sent == set(CHANNELS["C2"]), sent
        assert settled(store, "digest", len(REPS)) and settled(store, "board", len(CHANNELS)), \
            f"{calls(fake)}\n{state(store, a, b)}"
    finally:
        results = [inst.stop() for inst in (a, b)]
    # Settled rows are final (only a claimer posts, before it settles), so these counts are the day's.
    assert_day_delivered_once(fake, store)
    for code, log in results:
        assert code == 0 and "Traceback" not in log, log[-3000:]


def test_the_same_event_sent_to_both_instances_is_handled_once(tmp_path, fake, db):
    url, store = db
    a, b = instances(tmp_path, fake, url, SEEDED)
    try:
        ts = "1795590000.000100"
        start, answers = threading.Barrier(2), []

        def send(inst: Instance, retry: int) -> None:
            start.wait()
            answers.append(inst.dm("Globex said maybe, the budget is frozen until spring", "U01", "EvSAME1",
                                   retry=retry, ts=ts))

        # Slack's first try reaches one instance while its retry (same event_id) reaches the other.
        threads = [threading.Thread(target=send, args=(a, 0)), threading.Thread(target=send, args=(b, 1))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(GUARD)
        assert answers == [200, 200]
    finally:
        results = [inst.stop() for inst in (a, b)]  # SIGTERM: listeners still working finish first
    for code, log in results:
        assert code == 0 and "Traceback" not in log, log[-3000:]
    skipped = [log.count("skipping retried event EvSAME1") for _, log in results]
    assert sorted(skipped) == [0, 1], skipped  # one instance handled it, the other dropped its copy
    replies_in_dm = [c for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == "DU01"]
    assert len(replies_in_dm) == 1, [c.params.get("text") for c in replies_in_dm]
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        assert conn.execute("SELECT count(*) FROM slack_events WHERE event_id = 'EvSAME1'").fetchone()[0] == 1


def test_an_instance_killed_mid_sweep_leaves_nothing_lost_or_doubled(tmp_path, fake, db):
    url, store = db
    a, b = instances(tmp_path, fake, url, SEEDED)
    try:
        seed(fake, a, b)
        # Slack slows down: the first two digests are posted but their answers never come back to the
        # instance; the next posts never reach Slack at all. The instance is killed in that state.
        fake.hold("chat.postMessage", take=2)
        a.at(BOTH_DUE)
        wait_until(lambda: sum(posts(fake, "hardno_digest").values()) == 2, "two digests posted, unanswered")
        wait_until(lambda: Counter(r["state"] for r in deliveries(store, "digest").values())["claimed"] >= 3,
                   "more claims in flight than posts")
        a.kill()
        fake.release("chat.postMessage", drop=True)  # what was held never reached Slack: its sender died
        claimed = {u for u, r in deliveries(store, "digest").items() if r["state"] == "claimed"}
        posted = {u for u, _ in posts(fake, "hardno_digest")}
        assert len(posted) == 2 and posted < claimed, (posted, claimed)  # both kinds left behind, leased
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as conn:
            # the dead instance's sweep lock goes with its connection
            wait_until(lambda: not conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
                       .fetchone()[0], "the killed instance's advisory lock released")

        b.at(BOTH_DUE)  # the same moment: the leases still run, so those reps are left alone ...
        wait_until(lambda: len(deliveries(store, "digest")) == len(REPS)
                   and all(r["state"] == "sent" for u, r in deliveries(store, "digest").items() if u not in claimed)
                   and settled(store, "board", len(CHANNELS)), "the unclaimed digests and the boards sent")
        assert {u for u, r in deliveries(store, "digest").items() if r["state"] == "claimed"} == claimed
        b.at(BOTH_DUE + LEASE + timedelta(minutes=1))  # ... until their lease has run out
        wait_until(lambda: settled(store, "digest", len(REPS)), "every digest settled")
    finally:
        fake.release("chat.postMessage", drop=True)
        a.kill()
        code, log = b.stop()
    assert code == 0 and "Traceback" not in log, log[-3000:]
    assert_day_delivered_once(fake, store)
    rows = deliveries(store, "digest")
    found = {u for u, r in rows.items() if (r["error"] or "").startswith("found in the channel")}
    assert found == posted  # the two Slack had were looked for and found, not posted again
    assert all(rows[u]["attempts"] == 2 for u in claimed)  # the others claimed twice: posted by the survivor


def test_readyz_of_a_serve_process_follows_the_database(tmp_path, fake, db):
    url, _ = db
    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
    serve = Serve(tmp_path, fake, url)
    try:
        status, body = get(serve.base + "/readyz")
        assert status == 200 and '"migrations": "current"' in body, body
        with psycopg.connect(libpq, autocommit=True) as conn:
            head = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
            conn.execute("UPDATE alembic_version SET version_num = '0001'")  # as if a rollout had not migrated
            status, body = get(serve.base + "/readyz")
            assert status == 503 and '"migrations": "behind"' in body, body
            assert get(serve.base + "/healthz")[0] == 200  # alive, just not ready
            conn.execute("UPDATE alembic_version SET version_num = %s", (head,))
        assert get(serve.base + "/readyz")[0] == 200
        name = url.rsplit("/", 1)[1]
        admin = libpq.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # the database is gone under the instance
        status, body = get(serve.base + "/readyz")
        assert status == 503 and '"database": "down"' in body, body
        assert get(serve.base + "/healthz")[0] == 503
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # back, but empty: reachable, nothing migrated
        status, body = get(serve.base + "/readyz")
        assert status == 503 and '"database": "up"' in body and '"migrations": "behind"' in body, body
    finally:
        serve.stop()
