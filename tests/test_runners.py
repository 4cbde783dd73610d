"""The HTTP runner starts and stops cleanly, even with requests in flight.

Stopping used to close waitress's sockets and trigger pipe from the caller's thread: a request finishing a
moment later pulled the closed trigger ("Exception when servicing ... OSError: [Errno 9] Bad file
descriptor", or a write into whatever reused that descriptor), the loop could select() a closed
descriptor, and every runner left its request threads behind.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
from slack_bolt import App

from bot.runners import HttpRunner


@pytest.fixture
def problems(monkeypatch, caplog):
    """Whatever went wrong in a background thread: uncaught exceptions and warnings or errors logged."""
    found: list[str] = []
    monkeypatch.setattr(threading, "excepthook",
                        lambda a: found.append(f"uncaught in {a.thread.name if a.thread else '?'}: {a.exc_value!r}"))
    caplog.set_level(logging.INFO)
    yield found
    for r in caplog.records:
        # waitress.queue only says that more requests arrived than threads were idle (a load notice, also
        # seen while the pool starts up); it says nothing about stopping.
        if r.name == "waitress.queue":
            continue
        if r.levelno >= logging.WARNING or r.exc_info or "exception" in r.getMessage().lower():
            found.append(f"{r.name} {r.levelname}: {r.getMessage()} {r.exc_info[1] if r.exc_info else ''}".strip())


def tiny_app() -> App:
    return App(token="xoxb-test", signing_secret="test-secret", token_verification_enabled=False)


def refuses_connections(runner: HttpRunner) -> bool:
    try:
        socket.create_connection((runner.server.effective_host, int(runner.server.effective_port)), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def get(url: str, timeout: float = 5) -> int:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        r.read()
        return r.status


def post_unsigned(url: str) -> None:
    """Through Bolt: an unsigned event is refused with 401."""
    req = urllib.request.Request(url + "/slack/events", data=b'{"type":"event_callback"}',
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        status = urllib.request.urlopen(req, timeout=5).status
    except urllib.error.HTTPError as e:
        status = e.code
    assert status == 401


def runner_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith(("waitress-", "hardno-http"))}


def test_start_and_stop_many_times_while_requests_are_in_flight(problems):
    app = tiny_app()

    def healthy() -> bool:
        time.sleep(random.random() * 0.02)  # keep requests in flight when the stop comes
        return True

    before = runner_threads()
    for _ in range(30):
        runner = HttpRunner(app, healthy, port=0, threads=4).start_in_background()
        url, done = runner.url, threading.Event()
        served = []

        def client(post: bool, url=url, done=done, served=served):
            while not done.is_set():
                try:
                    post_unsigned(url) if post else served.append(get(url + "/healthz", timeout=2))
                except OSError:  # refused or reset: the runner is stopping
                    pass

        clients = [threading.Thread(target=client, args=(post,), daemon=True) for post in (False, True)]
        for c in clients:
            c.start()
        time.sleep(0.02 + random.random() * 0.05)
        runner.stop()  # what SlackDriver.close() does: returns at once
        assert refuses_connections(runner)
        done.set()
        for c in clients:
            c.join(timeout=10)
        assert set(served) <= {200}

    deadline = time.monotonic() + 10  # the rest of each stop runs in the background
    while runner_threads() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not runner_threads() - before, "request or loop threads left behind"
    assert problems == []


def test_a_request_being_handled_when_stopped_is_still_answered(problems):
    entered, release = threading.Event(), threading.Event()

    def healthy() -> bool:
        entered.set()
        release.wait(5)
        return True

    runner = HttpRunner(tiny_app(), healthy, port=0, threads=2).start_in_background()
    answer: list = []
    t = threading.Thread(target=lambda: answer.append(get(runner.url + "/healthz")), daemon=True)
    t.start()
    assert entered.wait(5)

    started = time.monotonic()
    runner.stop()
    assert time.monotonic() - started < 0.5, "stop(wait=False) should not wait for requests"
    assert refuses_connections(runner)
    release.set()
    t.join(timeout=5)
    assert answer == [200]
    runner.stop(wait=True)  # a second stop is harmless and waits for the loop to end
    assert not runner._thread.is_alive()
    assert problems == []


def test_serve_returns_when_stopped_from_another_thread(problems):
    """`hardno serve`: the loop runs in the main thread and SIGTERM's handler calls stop() from another."""
    runner = HttpRunner(tiny_app(), lambda: True, port=0, threads=2)
    serving = threading.Thread(target=runner.serve, daemon=True)
    serving.start()
    assert get(runner.url + "/healthz") == 200
    threading.Thread(target=runner.stop, daemon=True).start()
    serving.join(timeout=5)
    assert not serving.is_alive()
    assert refuses_connections(runner)
    assert problems == []


def test_stop_before_start(problems):
    runner = HttpRunner(tiny_app(), lambda: True, port=0, threads=2)
    runner.stop()
    assert refuses_connections(runner)
    runner.serve()  # returns at once: there is nothing left to serve
    runner.stop(wait=True)
    assert problems == []
