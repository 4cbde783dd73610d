"""Ack and reply latency of `/deal add` under concurrent load, against a bare Bolt app; and throughput.

Everything runs as operators run it, on loopback: `hardno serve --http` processes (waitress, the real app,
the real scheduler) against the fake Slack in this process, and a bare Bolt app that only acks, served by
the same HttpRunner in a process of its own (`--serve-bare`). Requests are signed like Slack's.

  * ack: time until the HTTP 200 reaches the client (Slack's 3 s budget), for the real app and the bare
    one, interleaved in rounds in the same run, at 8 and at 50 concurrent clients: p50, p99, and the
    ratio real/bare (the target: p99 within 1.5x of bare Bolt);
  * reply: time from sending `/deal add` until its ephemeral answer arrives at the fake response_url;
  * throughput: `/deal add` commands per second whose reply arrived, sustained over a fixed number of
    commands, on one and on two instances sharing one PostgreSQL; every error counted.

Each client sends its next request when the previous one is acked (a closed loop); loops are bounded
by --requests. This machine's cores are shared, so compare ratios from one run, not ms across runs.

    python bench/ack_latency.py [--requests 600] [--throughput 1500] [--db postgresql|sqlite]
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from slack_sdk.signature import SignatureVerifier  # noqa: E402

SECRET = "bench-signing-secret"
USERS = [f"U{i:03d}" for i in range(1, 51)]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne"]


# -- the bare Bolt app (a process of its own) -------------------------------------------------------------

def serve_bare(port: int, api_url: str) -> None:
    """A Bolt app whose only listener acks `/deal`, on the same HttpRunner (waitress, 8 threads) as serve.
    Like hardno's, its client talks to the fake Slack (Bolt asks auth.test once, to authorize)."""
    from slack_bolt import App
    from slack_sdk import WebClient

    from bot.runners import HttpRunner, stop_on_signals
    app = App(client=WebClient(token="xoxb-bench", base_url=api_url), signing_secret=SECRET,
              token_verification_enabled=False)

    @app.command("/deal")
    def ack_only(ack):
        ack()

    runner = HttpRunner(app, lambda: True, "127.0.0.1", port)
    stop_on_signals(runner.stop)
    runner.serve()


# -- processes ----------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server on :{port} exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on :{port} never became healthy")


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen
    log: Path = Path("/nonexistent")

    def stop(self) -> list[str]:
        """Stop it; the ERROR lines it logged (a listener that failed, with why)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if not self.log.exists():
            return []
        lines = self.log.read_text(errors="replace").splitlines()
        errors, in_error = [], False
        for line in lines:  # an ERROR line and the traceback under it
            starts_record = line[:4].isdigit()
            in_error = " ERROR " in line if starts_record else in_error
            if in_error:
                errors.append(line)
        return errors[-40:]


def start_hardno(db_url: str, api_url: str, workdir: str) -> Server:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "HARDNO_"))}
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=db_url, SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET=SECRET,
               SLACK_API_URL=api_url, HARDNO_LOG_LEVEL="INFO")
    log = open(Path(workdir) / f"serve-{port}.log", "w")  # noqa: SIM115 - the process writes it until stopped
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--http", "--port", str(port)], cwd=workdir,
                            env=env, stdout=subprocess.DEVNULL, stderr=log)
    wait_healthy(port, proc)
    return Server("hardno", port, proc, Path(log.name))


def start_bare(api_url: str) -> Server:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, __file__, "--serve-bare", str(port), "--api-url", api_url], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_healthy(port, proc)
    return Server("bare Bolt", port, proc)


# -- the load ----------------------------------------------------------------------------------------------

@dataclass
class Series:
    ms: list[float] = field(default_factory=list)

    def pct(self, p: float) -> float:
        s = sorted(self.ms)
        return s[max(0, math.ceil(p / 100 * len(s)) - 1)] if s else float("nan")  # nearest rank


class Replies:
    """Arrival times of the ephemeral answers at the fake's response_url, by the request's name."""

    def __init__(self, fake) -> None:
        self.at: dict[str, float] = {}
        self.bodies: dict[str, dict] = {}
        self._cond = threading.Condition()
        fake.on_call = self._seen

    def _seen(self, call) -> None:
        if call.method == "response_url":
            with self._cond:
                self.at[call.params["token"]] = time.perf_counter()
                self.bodies[call.params["token"]] = call.params
                self._cond.notify_all()

    def wait(self, names: list[str], timeout: float) -> None:
        with self._cond:
            self._cond.wait_for(lambda: all(n in self.at for n in names), timeout)


class Load:
    def __init__(self, fake, replies: Replies) -> None:
        self.fake, self.replies = fake, replies
        self.verifier = SignatureVerifier(SECRET)
        self._n = 0
        self._lock = threading.Lock()

    def next_name(self) -> int:
        with self._lock:
            self._n += 1
            return self._n

    def add(self, port: int) -> tuple[float, int, str]:
        """One signed `/deal add`: (ack seconds, HTTP status, response_url name)."""
        n = self.next_name()
        name = f"b{n}"
        body = urllib.parse.urlencode({
            "token": "legacy", "team_id": "T1", "team_domain": "acme", "channel_id": "C1", "channel_name": "sales",
            "user_id": USERS[n % len(USERS)], "user_name": "rep", "command": "/deal", "api_app_id": "A1",
            "text": f"add {COMPANIES[n % len(COMPANIES)]} {n} ${n % 40 + 1}k next:in {n % 9 + 1} days",
            "response_url": self.fake.response_url(name), "trigger_id": f"trig.{n}"})
        ts = str(int(time.time()))
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
                   "X-Slack-Signature": self.verifier.generate_signature(timestamp=ts, body=body)}
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", "/slack/events", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            status = resp.status
        except OSError:
            status = 0
        finally:
            conn.close()
        return time.perf_counter() - t0, status, name

    def run(self, ports: list[int], clients: int, total: int) -> tuple[list[tuple[float, float, int, str]], float]:
        """`total` adds from `clients` closed-loop clients, spread over `ports`: ((sent, ack s, status, name)...,
        wall seconds)."""
        results: list[tuple[float, float, int, str]] = []
        lock = threading.Lock()
        left = [total]

        def client(i: int) -> None:
            port = ports[i % len(ports)]
            while True:
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                sent = time.perf_counter()
                seconds, status, name = self.add(port)
                with lock:
                    results.append((sent, seconds, status, name))

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results, time.perf_counter() - started


def errors_of(results, replies: Replies, expect_reply: bool) -> list[str]:
    bad = [f"{name}: HTTP {status}" for _, _, status, name in results if status != 200]
    if expect_reply:
        names = [name for _, _, status, name in results if status == 200]
        replies.wait(names, timeout=60)
        for name in names:
            body = replies.bodies.get(name)
            if body is None:
                bad.append(f"{name}: no reply at the response_url")
            elif body.get("response_type") != "ephemeral" or not str(body.get("text", "")).startswith("Added"):
                bad.append(f"{name}: unexpected reply {str(body.get('text'))[:80]!r}")
    return bad


# -- the three measurements -----------------------------------------------------------------------------------

def latency(load: Load, replies: Replies, sides: dict[str, Server], clients: int, total: int,
            rounds: int = 3) -> dict:
    """Ack (and, for hardno, reply) latency of each side; sides take turns in rounds, so all see the same machine."""
    acks = {side: Series() for side in sides}
    reply = {side: Series() for side in sides}
    errors: list[str] = []
    per_round = max(clients, total // rounds)
    load.run([s.port for s in sides.values()], clients, clients * 2)  # warm-up: connections, first users.info
    for _ in range(rounds):
        for side, server in sides.items():
            results, _ = load.run([server.port], clients, per_round)
            acks[side].ms += [s * 1000 for _, s, status, _ in results if status == 200]
            errors += errors_of(results, replies, expect_reply=side != "bare")
            reply[side].ms += [(replies.at[name] - sent) * 1000 for sent, _, status, name in results
                               if status == 200 and name in replies.at]
    return {"clients": clients, "acks": acks, "reply": reply, "errors": errors}


def throughput(load: Load, replies: Replies, servers: list[Server], total: int, clients: int = 50) -> dict:
    load.run([s.port for s in servers], clients, clients * 2)  # warm-up
    results, wall = load.run([s.port for s in servers], clients, total)
    errors = errors_of(results, replies, expect_reply=True)
    done = [replies.at[name] for _, _, status, name in results if status == 200 and name in replies.at]
    first = min(sent for sent, *_ in results)
    span = (max(done) - first) if done else wall
    return {"instances": len(servers), "commands": len(results), "per_second": len(done) / span,
            "seconds": span, "errors": errors}


def database(kind: str, tmp: str) -> tuple[str, Callable[[], None]]:
    if kind == "sqlite":
        return f"sqlite:///{Path(tmp) / 'bench.db'}", lambda: None
    from tests.backends import create_pg_database, postgres_available
    if not postgres_available():
        raise SystemExit("PostgreSQL is not reachable (HARDNO_TEST_PG); use --db sqlite")
    return create_pg_database()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=600, help="adds per side and concurrency (default 600)")
    p.add_argument("--throughput", type=int, default=1500, help="adds per throughput run (default 1500; 0: skip)")
    p.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql", help="for the latency runs")
    p.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    p.add_argument("--api-url", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare, args.api_url)
        return 0
    if args.requests < 50 or args.throughput < 0:
        p.error("--requests must be at least 50")

    from bot.sandbox.fakeslack import FakeSlack
    from storage import Store, upgrade
    failed = False
    with tempfile.TemporaryDirectory() as tmp, FakeSlack() as fake:
        for i, user in enumerate(USERS):
            fake.add_user(user, f"rep{i}", real_name=f"Rep {i}", tz=["America/New_York", "Europe/Berlin"][i % 2])
        fake.add_channel("C1", "sales", members=USERS)
        replies = Replies(fake)
        load = Load(fake, replies)

        url, drop = database(args.db, tmp)
        try:
            store = Store.from_url(url)
            upgrade(store.engine)
            store.dispose()
            sides = {"bare": start_bare(fake.api_url), "real": start_hardno(url, fake.api_url, tmp)}
            try:
                runs = [latency(load, replies, sides, c, args.requests) for c in (8, 50)]
            finally:
                logged = [line for s in sides.values() for line in s.stop()]
        finally:
            drop()
        print(f"ack latency of signed `/deal add` ({args.db}), ms; real = hardno serve, bare = Bolt that only acks")
        print(f"{'clients':>7} {'n':>5} {'real p50':>9} {'real p99':>9} {'bare p50':>9} {'bare p99':>9} "
              f"{'p50 x':>6} {'p99 x':>6} {'reply p50':>10} {'reply p99':>10} {'errors':>6}")
        for r in runs:
            b = r["acks"]["bare"]
            for side in [s for s in r["acks"] if s != "bare"]:
                a, rep = r["acks"][side], r["reply"][side]
                label = f"{r['clients']}"
                print(f"{label:>7} {len(a.ms):>5} {a.pct(50):>9.1f} {a.pct(99):>9.1f} {b.pct(50):>9.1f} "
                      f"{b.pct(99):>9.1f} {a.pct(50) / b.pct(50):>6.2f} {a.pct(99) / b.pct(99):>6.2f} "
                      f"{rep.pct(50):>10.1f} {rep.pct(99):>10.1f} {len(r['errors']):>6}")
            for e in r["errors"][:5]:
                print("   ERROR", e)
            failed |= bool(r["errors"])
        if logged:
            print("hardno logged errors:\n  " + "\n  ".join(logged))

        if args.throughput:
            print(f"\nthroughput on PostgreSQL: {args.throughput} `/deal add` from 50 clients, counted when the "
                  "reply arrived")
            for instances in (1, 2):
                url, drop = database("postgresql", tmp)
                try:
                    store = Store.from_url(url)
                    upgrade(store.engine)
                    store.dispose()
                    servers = [start_hardno(url, fake.api_url, tmp) for _ in range(instances)]
                    try:
                        t = throughput(load, replies, servers, args.throughput)
                    finally:
                        logged = [line for s in servers for line in s.stop()]
                finally:
                    drop()
                print(f"  {instances} instance{'s' if instances > 1 else ''}: {t['per_second']:.0f} commands/s "
                      f"over {t['seconds']:.1f} s, {len(t['errors'])} errors")
                for e in t["errors"][:5]:
                    print("   ERROR", e)
                if logged:
                    print("  hardno logged errors:\n    " + "\n    ".join(logged))
                failed |= bool(t["errors"])
    print(f"\n(machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
