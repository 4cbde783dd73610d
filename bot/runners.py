"""Runners: HTTP (POST /slack/events, GET /healthz) on waitress, or Socket Mode. Both stop cleanly on SIGTERM."""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable

import waitress
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler

log = logging.getLogger("hardno")


def wsgi_app(app: App, healthy: Callable[[], bool]):
    """Slack's endpoint plus a health check that answers 200 only when the database does."""
    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            ok = healthy()
            body = json.dumps({"ok": ok, "database": "up" if ok else "down"}).encode()
            start_response("200 OK" if ok else "503 Service Unavailable",
                           [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return slack(environ, start_response)

    return application


class HttpRunner:
    """Waitress, a production WSGI server, with a thread pool for Slack's concurrent requests."""

    def __init__(self, app: App, healthy: Callable[[], bool], host: str = "127.0.0.1", port: int = 3000,
                 threads: int = 8):
        self.server = waitress.create_server(wsgi_app(app, healthy), host=host, port=port, threads=threads,
                                             ident="hardno", clear_untrusted_proxy_headers=True)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.server.effective_host}:{self.server.effective_port}"

    def serve(self) -> None:
        log.info("hardno listening on %s/slack/events", self.url)
        self.server.run()

    def start_in_background(self) -> HttpRunner:
        self._thread = threading.Thread(target=self.server.run, name="hardno-http", daemon=True)
        self._thread.start()
        return self

    def stop(self, wait: bool = False) -> None:
        """Stop accepting requests; `wait` for the loop to notice (it polls about once a second)."""
        self.server.close()
        if self._thread and wait:
            self._thread.join(timeout=5)


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
