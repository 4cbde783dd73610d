"""Prometheus metrics (names in INTERFACE.md), on one registry that `GET /metrics` serves.

Only prometheus_client and slack_bolt's payload helpers are imported here, so handlers/ can import the
metric objects (e.g. `from bot.metrics import DELIVERIES`) without pulling in the app or the database.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from slack_bolt.request import payload_utils as p
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

# Slack waits 3 s for an ack: the buckets are finest where an ack is healthy and at the budget's edge.
ACK_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)

ACK_SECONDS = Histogram("hardno_ack_seconds", "Time from a Slack request arriving to its ack", ["kind"],
                        buckets=ACK_BUCKETS, registry=REGISTRY)
LISTENER_ERRORS = Counter("hardno_listener_errors_total", "Listener runs that raised (the rep got a sorry)",
                          ["kind"], registry=REGISTRY)
SLACK_API_ERRORS = Counter("hardno_slack_api_errors_total", "Slack Web API calls that failed", ["method"],
                           registry=REGISTRY)
LLM_SECONDS = Histogram("hardno_llm_seconds", "Time of one LLM draft request",
                        buckets=(0.25, 0.5, 1, 2, 4, 8, 15, 30, 60), registry=REGISTRY)
LLM_FALLBACKS = Counter("hardno_llm_fallbacks_total", "LLM drafts replaced by a template", ["reason"],
                        registry=REGISTRY)
DELIVERIES = Counter("hardno_deliveries_total", "Scheduled posts by outcome", ["kind", "outcome"],
                     registry=REGISTRY)
CRM_SYNC = Counter("hardno_crm_sync_total", "CRM sync runs by outcome", ["outcome"], registry=REGISTRY)

KINDS = ("command", "action", "event", "view", "shortcut", "options", "other")
for _kind in KINDS:  # every series exists from the start, so rates and alerts see zeros, not gaps
    ACK_SECONDS.labels(_kind)
    LISTENER_ERRORS.labels(_kind)


# Bolt's own payload tests, in the order `kind_of` asks them (the first that says yes names the kind).
_KIND_TESTS = (("command", p.is_slash_command), ("action", p.is_action), ("event", p.is_event),
               ("view", p.is_view), ("shortcut", p.is_shortcut), ("options", p.is_options))


def kind_of(body: dict) -> str:
    """The kind of Slack request a parsed body is (the `kind` label)."""
    return next((kind for kind, test in _KIND_TESTS if test(body)), "other")


def listener_of(body: dict, kind: str) -> str:
    """Which listener a request is for, by Slack's names: the command, action_id, event type or callback_id."""
    if kind == "command":
        return str(body.get("command") or "")
    if kind == "action":
        actions = body.get("actions") or [{}]
        return str(actions[0].get("action_id") or body.get("callback_id") or "")
    if kind == "event":
        event = body.get("event") or {}
        return str(event.get("type") or "") + (f".{event['channel_type']}" if event.get("channel_type") else "")
    if kind == "view":
        return str((body.get("view") or {}).get("callback_id") or "")
    if kind in ("shortcut", "options"):
        return str(body.get("callback_id") or body.get("action_id") or "")
    return str(body.get("type") or "")


class MeteredWebClient(WebClient):
    """A WebClient that counts failed Web API calls by method (every method goes through api_call)."""

    def api_call(self, api_method: str, **kwargs):
        try:
            return super().api_call(api_method, **kwargs)
        except (SlackApiError, OSError):
            SLACK_API_ERRORS.labels(api_method).inc()
            raise


# The coach's own reasons for refusing a draft (handlers.coach._Fallback messages), then the client's errors
# by class name: a small, fixed set of label values whatever the message says.
_DRAFT_REASONS = {"no choices": "no_choices", "model refused": "refused", "no structured": "unparsed",
                  "unsafe draft": "unsafe"}
_ERROR_REASONS = {"APITimeoutError": "timeout", "APIConnectionError": "connection", "RateLimitError": "rate_limited",
                  "AuthenticationError": "auth", "PermissionDeniedError": "auth", "ValidationError": "unparsed",
                  "LengthFinishReasonError": "too_long", "ContentFilterFinishReasonError": "refused"}


def fallback_reason(error: BaseException) -> str:
    """The `reason` label of hardno_llm_fallbacks_total for why an LLM draft fell back to a template."""
    text = str(error)
    for prefix, reason in _DRAFT_REASONS.items():
        if type(error).__name__ == "_Fallback" and text.startswith(prefix):
            return reason
    name = type(error).__name__
    if name in _ERROR_REASONS:
        return _ERROR_REASONS[name]
    return "http_error" if hasattr(error, "status_code") else "other"


def exposition() -> tuple[bytes, str]:
    """The body and content type of `GET /metrics`."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
