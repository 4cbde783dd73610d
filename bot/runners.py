"""Runners: HTTP (POST /slack/events, GET /healthz, /readyz, /metrics, and in OAuth mode GET /slack/install
and /slack/oauth_redirect, which Bolt's WSGI handler serves) on waitress, or Socket Mode (with an optional
health port serving the same operations routes). Both stop cleanly on SIGTERM."""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable

import waitress
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer

from bot import metrics

log = logging.getLogger("hardno")


Readiness = Callable[[], tuple[bool, dict]]


def wsgi_app(app: App | None, healthy: Callable[[], bool], ready: Readiness | None = None):
    """Slack's endpoint (and, when the app has an OAuth flow, its install routes) plus the operations routes: `/healthz` (200 when the database answers), `/readyz`
    (200 when it answers and its migrations are current) and `/metrics` (Prometheus). Without an `app`,
    only the operations routes: Socket Mode's small health port."""
    slack = SlackRequestHandler(app, path="/slack/events") if app is not None else None

    def answer(start_response, status: str, body: bytes, content_type: str = "application/json"):
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]

    def application(environ, start_response):
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if method in ("GET", "HEAD") and path in ("/healthz", "/readyz", "/metrics"):
            if path == "/metrics":
                body, content_type = metrics.exposition()
                return answer(start_response, "200 OK", body, content_type)
            if path == "/healthz":
                ok = healthy()
                details: dict = {"database": "up" if ok else "down"}
            else:
                ok, details = ready() if ready is not None else (healthy(), {})
            body = json.dumps({"ok": ok, **details}).encode()
            return answer(start_response, "200 OK" if ok else "503 Service Unavailable", body)
        if slack is None:
            return answer(start_response, "404 Not Found", b'{"ok": false, "error": "not_found"}')
        return slack(environ, start_response)

    return application


class _Channel(HTTPChannel):
    """A waitress connection that, once its runner is stopping, reads no further requests: the ones it has
    read are still answered, then it is closed."""

    draining = False  # set on the loop's thread by HttpRunner.stop

    def readable(self):
        return not self.draining and super().readable()

    def handle_read(self):
        if not self.draining:  # select() may have reported it readable before the stop began
            super().handle_read()


class HttpRunner:
    """Waitress, a production WSGI server, with a thread pool for Slack's concurrent requests.

    Stopping never touches waitress's sockets from another thread. Its loop select()s on the listening
    socket, the connections and a trigger pipe, and waitress's request threads write to that pipe to wake
    it; closing any of these from outside (as `server.close()` does) lets the loop select() a closed
    descriptor and lets a request finishing a moment later write to a closed, or already reused, pipe:
    "OSError: [Errno 9] Bad file descriptor". So `stop` hands each step to the loop through the trigger,
    in an order where nothing is used after it is closed.
    """

    drain_seconds = 5.0  # how long requests already being handled get to finish when stopping

    def __init__(self, app: App | None, healthy: Callable[[], bool], host: str = "127.0.0.1", port: int = 3000,
                 threads: int = 8, *, ready: Readiness | None = None):
        ready = ready or getattr(app, "ready", None)  # create_app gives its app one
        self._app = app
        self.server = waitress.create_server(wsgi_app(app, healthy, ready), host=host, port=port, threads=threads,
                                             ident="hardno", clear_untrusted_proxy_headers=True)
        # One listener, or several sharing one socket map (MultiSocketServer, e.g. for "localhost").
        self._map = getattr(self.server, "_map", None) or self.server.map
        self._listeners = [d for d in self._map.values() if isinstance(d, BaseWSGIServer)]
        self._triggers = [listener.trigger for listener in self._listeners]
        for listener in self._listeners:
            listener.channel_class = _Channel
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._looping = False  # server.run() was entered: from now on only the loop closes sockets
        self._stopping = False
        self._loop_done = threading.Event()
        self._stopper: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.server.effective_host}:{self.server.effective_port}"

    def serve(self) -> None:
        log.info("hardno listening on %s/slack/events", self.url)
        if getattr(self._app, "oauth_flow", None) is not None:
            log.info("install it in a workspace from %s/slack/install (behind your public https URL)", self.url)
        self._run()

    def start_in_background(self) -> HttpRunner:
        self._thread = threading.Thread(target=self._run, name="hardno-http", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        with self._lock:
            if self._stopping:  # stopped before it started: stop() closed everything itself
                self._loop_done.set()
                return
            self._looping = True
        try:
            self.server.run()  # returns when the socket map is empty
        finally:
            self._loop_done.set()

    def stop(self, wait: bool = False) -> None:
        """Refuse new connections (done when this returns, within milliseconds), then in the background let
        the requests being handled finish and their answers go out (up to `drain_seconds`), close every
        connection and end the loop. `wait` also waits for that. Safe to call more than once, from any thread."""
        with self._lock:
            first, self._stopping = not self._stopping, True
            looping = self._looping
        if first:
            if not looping or not self._in_loop(self._refuse_new_work):
                self._close_now()  # no loop polls these sockets (never started, or gone): close them here
            else:
                self._stopper = threading.Thread(target=self._drain, name="hardno-http-stop", daemon=True)
                self._stopper.start()
        if wait:
            if self._stopper is not None:
                self._stopper.join(timeout=self.drain_seconds + 5)
            if looping:
                self._loop_done.wait(timeout=5)

    def _in_loop(self, step: Callable[[], None], timeout: float = 5.0) -> bool:
        """Run `step` on the loop's thread and wait for it; False if the loop isn't there to run it."""
        done = threading.Event()

        def thunk():
            try:
                step()
            finally:
                done.set()

        if self._loop_done.is_set():
            return False
        try:
            self._triggers[0].pull_trigger(thunk)
        except OSError:  # the trigger is closed: the loop has ended
            return False
        deadline = time.monotonic() + timeout
        while not done.wait(0.05):
            if self._loop_done.is_set() or time.monotonic() > deadline:
                if not done.is_set():
                    log.warning("the HTTP loop did not run its shutdown step")
                return done.is_set()
        return True

    def _refuse_new_work(self) -> None:
        # The listening sockets only: BaseWSGIServer.close() would also close the trigger, which request
        # threads still pull when their answers are ready. Listeners and connections are closed on this
        # (the loop's) thread, so no new connection or request can slip in after this step.
        for listener in self._listeners:
            wasyncore.dispatcher.close(listener)
        for channel in self._map.values():
            if isinstance(channel, _Channel):
                channel.draining = True

    def _drain(self) -> None:
        dispatcher = self.server.task_dispatcher
        deadline = time.monotonic() + self.drain_seconds
        # Requests read before the stop are answered: wait for the queued ones to be picked up (no new ones
        # are queued now), then request threads finish what they are handling and exit.
        while dispatcher.queue and time.monotonic() < deadline:
            time.sleep(0.01)
        dispatcher.shutdown(cancel_pending=True, timeout=max(0.1, deadline - time.monotonic()))
        # The loop sends what is still buffered on each connection, then closes it ...
        self._in_loop(self._close_connections_when_flushed)
        deadline = time.monotonic() + 2
        while len(self._map) > len(self._triggers) and time.monotonic() < deadline and not self._loop_done.is_set():
            time.sleep(0.01)
        # ... and last closes whatever is left and its triggers: with an empty map, server.run() returns.
        self._in_loop(lambda: wasyncore.close_all(self._map, ignore_all=True))

    def _close_connections_when_flushed(self) -> None:
        for channel in list(self._map.values()):
            if channel not in self._triggers:
                channel.close_when_flushed = True  # waitress's own flag: flush, then close (in the loop)

    def _close_now(self) -> None:
        self.server.task_dispatcher.shutdown(cancel_pending=True, timeout=self.drain_seconds)
        wasyncore.close_all(self._map, ignore_all=True)
        self._loop_done.set()


class SocketRunner:
    def __init__(self, app: App, app_token: str):
        self.handler = SocketModeHandler(app, app_token)
        self._stopped = threading.Event()

    def serve(self) -> None:
        self.handler.connect()
        log.info("hardno connected to Slack in Socket Mode")
        self._stopped.wait()

    def stop(self) -> None:
        self.handler.close()
        self._stopped.set()


def stop_on_signals(stop: Callable[[], None]) -> None:
    """SIGTERM (what process managers send) and SIGINT stop the runner cleanly."""
    def handler(signum, _frame):
        log.info("received %s, shutting down", signal.Signals(signum).name)
        threading.Thread(target=stop, daemon=True).start()  # don't block inside the signal handler

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
