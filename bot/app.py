"""The app factory: a Bolt App wired to the store, the clock, the coach and the handlers."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from bot.clock import Clock
from bot.config import Settings
from bot.failures import Guarded, report_failure
from bot.ordering import Arrivals
from handlers import register
from handlers.reps import RepDirectory
from storage import Store

log = logging.getLogger("hardno")

@dataclass
class Services:
    """What listeners need, handed to them through the Bolt context (by parameter name)."""

    settings: Settings
    store: Store
    clock: Clock
    reps: RepDirectory
    coach: object  # handlers.coach.Coach


def make_coach(settings: Settings):
    """The coach drafts with the LLM when OPENAI_API_KEY is set, from templates otherwise."""
    from handlers.coach import Coach, LLMConfig
    if settings.openai_api_key is None:
        return Coach(None)
    return Coach(LLMConfig(api_key=settings.openai_api_key.get_secret_value(), base_url=settings.openai_base_url,
                           model=settings.openai_model))


def create_app(settings: Settings, store: Store, clock: Clock, client: WebClient, coach=None,
               *, verify_requests: bool = True) -> App:
    app = App(client=client, signing_secret=(settings.slack_signing_secret.get_secret_value()
                                             if settings.slack_signing_secret else "unused-in-socket-mode"),
              request_verification_enabled=verify_requests and settings.slack_signing_secret is not None,
              token_verification_enabled=False, process_before_response=False, logger=log)
    if coach is None:
        coach = make_coach(settings)
    services = Services(settings, store, clock, RepDirectory(store, client, clock), coach)

    @app.middleware
    def inject_services(context, next):
        context["store"], context["clock"] = services.store, services.clock
        context["reps"], context["coach"], context["settings"] = services.reps, services.coach, settings
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
    return app
