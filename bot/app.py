"""The app factory: a Bolt App wired to the store, the clock, the coach and the handlers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient

from bot import logs, metrics
from bot.clock import Clock
from bot.config import Settings
from bot.failures import Guarded, report_failure
from bot.ordering import Arrivals
from bot.workspaces import Clients, OneClient
from handlers import register
from handlers.reps import RepDirectory
from storage import Store
from storage.health import readiness

if TYPE_CHECKING:
    from bot.oauth import OAuth

log = logging.getLogger("hardno")
# Bolt acks from inside the listener, on its executor: with Bolt's default of 5 threads, five listeners busy
# after their ack (Slack and database calls) make the sixth request wait for its ack, and fail. But each /deal
# command holds two database connections at once (its rep's turn lock, bot/ordering.py, and its transaction):
# more threads than half the pool (10 + 10 overflow, storage/db.py) and they can all hold one and wait for a
# second until the pool times out. 9 threads stay under that.
LISTENER_THREADS = 9
bolt_log = logging.getLogger("hardno.bolt")


class _NoBodiesBelowDebug(logging.Filter):
    """Bolt's "Unhandled request (...)" warning prints the payload, message text included: keep only its
    first words unless the log is at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not bolt_log.isEnabledFor(logging.DEBUG) and str(record.msg).startswith("Unhandled request"):
            record.msg, record.args = "Unhandled request (payload shown at HARDNO_LOG_LEVEL=DEBUG)", ()
        return True


bolt_log.addFilter(_NoBodiesBelowDebug())


class HardnoApp(App):
    """Bolt's App, timing every request to its ack: HTTP and Socket Mode both come through `dispatch`."""

    services: Services  # set by create_app: the scheduler and CLI reuse them
    ready: Callable[[], tuple[bool, dict]]  # GET /readyz

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        started = time.perf_counter()
        resp = super().dispatch(req)
        seconds = time.perf_counter() - started
        body = req.body if isinstance(req.body, dict) else {}
        kind = metrics.kind_of(body)
        metrics.ACK_SECONDS.labels(kind).observe(seconds)
        team: dict = body["team"] if isinstance(body.get("team"), dict) else {}
        user: dict = body["user"] if isinstance(body.get("user"), dict) else {}
        event: dict = body["event"] if isinstance(body.get("event"), dict) else {}
        retry = req.headers.get("x-slack-retry-num") or []
        logs.request_line(kind=kind, listener=metrics.listener_of(body, kind), status=resp.status, seconds=seconds,
                          team=team.get("id") or body.get("team_id") or user.get("team_id"),
                          user=user.get("id") or body.get("user_id") or event.get("user"),
                          retry=retry[0] if retry else None)
        return resp


class _SameTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns on every start that the client we hand it wins over
    that token; the client carries the same token, so the warning says nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


log.addFilter(_SameTokenNotice())
bolt_log.addFilter(_SameTokenNotice())  # Bolt logs through hardno.bolt


@dataclass
class Services:
    """What listeners need, handed to them through the Bolt context (by parameter name)."""

    settings: Settings
    store: Store
    clock: Clock
    reps: RepDirectory
    coach: object  # handlers.coach.Coach
    clients: Clients | None = None  # each workspace's client (bot/workspaces.py); None: `reps`' one client
    installations: object = None  # OAuth mode: the installation store (storage/installations.py)


def make_coach(settings: Settings):
    """The coach drafts with the LLM when OPENAI_API_KEY is set, from templates otherwise."""
    from handlers.coach import Coach, LLMConfig
    if settings.openai_api_key is None:
        return Coach(None)
    return Coach(LLMConfig(api_key=settings.openai_api_key.get_secret_value(), base_url=settings.openai_base_url,
                           model=settings.openai_model))


def create_app(settings: Settings, store: Store, clock: Clock, client: WebClient, coach=None,
               *, verify_requests: bool = True, oauth: OAuth | None = None) -> HardnoApp:
    """The app; with `oauth` (OAuth mode, bot/oauth.py) `client` carries no token: Bolt's authorize gives
    each request its workspace's, and `services.clients` every other call."""
    app = HardnoApp(client=client, signing_secret=(settings.slack_signing_secret.get_secret_value()
                                                   if settings.slack_signing_secret else "unused-in-socket-mode"),
                    request_verification_enabled=verify_requests and settings.slack_signing_secret is not None,
                    token_verification_enabled=False, process_before_response=False, logger=bolt_log,
                    oauth_settings=oauth.settings if oauth is not None else None,
                    listener_executor=ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="hardno-listener"))
    if coach is None:
        coach = make_coach(settings)
    clients: Clients = oauth.clients if oauth is not None else OneClient(client)
    installations = oauth.installations if oauth is not None else None
    services = Services(settings, store, clock, RepDirectory(store, client, clock, clients), coach, clients,
                        installations)

    @app.middleware
    def inject_services(context, next):
        context["store"], context["clock"] = services.store, services.clock
        context["reps"], context["coach"], context["settings"] = services.reps, services.coach, settings
        context["installations"] = installations
        next()

    app.middleware(Arrivals(store).middleware)  # each rep's commands in arrival order (bot/ordering.py)

    @app.middleware
    def handle_each_event_once(body, next):
        # Slack retries an event whose ack was late; the event_id stays the same. Claim it
        # in the database, so a retry whose first copy never arrived still counts.
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            with store.tx() as tx:
                first = tx.first_delivery_of_event(event_id, clock.now())
            if not first:
                log.info("skipping retried event %s", event_id)
                return BoltResponse(status=200, body="")
        next()

    @app.error
    def on_error(error, body, respond, client):
        report_failure(error, body, respond, client)  # outside listeners; theirs are caught by Guarded

    register(Guarded(app))
    app.services = services  # the scheduler and CLI reuse them
    app.ready = lambda: readiness(store.engine)  # GET /readyz
    return app
