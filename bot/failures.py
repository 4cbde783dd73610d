"""When a listener fails: the rep hears a short sorry, the log gets the details, and Slack still gets its ack.

Every listener is registered through `Guarded`, which catches what the listener raises instead of letting it
reach Bolt. The reason: when a listener raises within Bolt's 10 ms ack poll after calling ack(), Bolt's thread
runner replaces the ack with "no response" (slack_bolt/listener/thread_runner.py), so Slack receives a 404
and shows the rep "dispatch_failed". `app.error` stays as the net for failures outside listeners.
"""

from __future__ import annotations

import functools
import inspect
import logging

from bot.metrics import LISTENER_ERRORS, kind_of

log = logging.getLogger("hardno")

SORRY = ("Sorry, something went wrong on my side and that didn't go through. "
         "Nothing you logged before is lost; please try again in a moment.")

# App methods that register a listener function (`app.action(...)(fn)`).
LISTENER_KINDS = frozenset({"command", "action", "block_action", "attachment_action", "dialog_submission",
                            "dialog_cancellation", "view", "view_submission", "view_closed", "shortcut",
                            "global_shortcut", "message_shortcut", "options", "block_suggestion",
                            "dialog_suggestion", "event", "message", "function"})
_NEEDS = ("body", "respond", "client")  # what reporting a failure needs from Bolt, besides the listener's own


def report_failure(error: BaseException, body: dict, respond, client) -> None:
    """Log the failure with who and what, and tell the rep (privately where Slack allows)."""
    LISTENER_ERRORS.labels(kind_of(body)).inc()
    user = (body.get("user") or {}).get("id") or body.get("user_id") or (body.get("event") or {}).get("user")
    log.error("listener failed: type=%s user=%s command=%s action=%s", body.get("type"), user, body.get("command"),
              [a.get("action_id") for a in body.get("actions", [])], exc_info=error)
    try:
        if respond is not None and (body.get("response_url") or body.get("response_urls")):
            respond(text=SORRY, response_type="ephemeral", replace_original=False)
        elif user and client is not None:
            client.chat_postMessage(channel=user, text=SORRY)
    except Exception:  # the reply itself failed: the log line above is what remains
        log.exception("could not tell user %s about the failure", user)


def guard(fn):
    """`fn` as a listener whose failures are reported here, never raised to Bolt. Bolt passes arguments by the
    names in the signature, so the wrapper asks for the listener's own plus what reporting needs."""
    own = list(inspect.signature(fn).parameters)
    extra = [name for name in _NEEDS if name not in own]

    @functools.wraps(fn)
    def guarded(**kwargs):
        try:
            return fn(**{name: kwargs[name] for name in own})
        except Exception as error:
            report_failure(error, kwargs.get("body") or {}, kwargs.get("respond"), kwargs.get("client"))
            return None

    del guarded.__wrapped__  # Bolt reads the signature below, not fn's
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    guarded.__signature__ = inspect.Signature([inspect.Parameter(n, kind) for n in own + extra])
    return guarded


class Guarded:
    """The App as `handlers.register` sees it: listeners registered through it are guarded; all else passes."""

    def __init__(self, app):
        self._app = app

    def __getattr__(self, name: str):
        attr = getattr(self._app, name)
        if name not in LISTENER_KINDS:
            return attr

        def listener_kind(*args, **kwargs):
            add = attr(*args, **kwargs)
            return lambda fn: add(guard(fn))
        return listener_kind
