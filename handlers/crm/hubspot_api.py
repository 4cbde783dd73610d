"""Every HubSpot call the sync makes, through the official client, one limiter and one retry policy.

- The client's host is HUBSPOT_API_URL (the client's `host` setting), so tests and the benchmark talk to
  a fake on loopback.
- A limiter keeps under HubSpot's private-app limits before HubSpot has to say so: a rolling 10-second
  burst, the search API's own per-second limit, and a daily budget (counted by the caller across runs).
- A 429 is waited out for its Retry-After (the daily limit's 429 stops the sync instead: it resumes
  from its watermark tomorrow); a 5xx or a dropped connection is retried with exponential backoff.
- A refused token (401/403) is AuthError, which the CLI turns into one line naming HUBSPOT_ACCESS_TOKEN.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import hubspot
from hubspot.crm.deals import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    PublicObjectSearchRequest,
)
from urllib3.exceptions import HTTPError as TransportError

BURST, BURST_WINDOW = 100, 10.0  # private apps: 100 requests per 10 s on every tier (Pro and up allow 190)
SEARCH_PER_SECOND = 5  # the search endpoints' own limit, per account
DAILY = 250_000  # private apps, the smallest tier's daily budget
MARGIN = 0.05  # seconds added to each window: HubSpot counts arrivals, and requests don't all take as long
BATCH = 100  # HubSpot's batch endpoints take at most 100 inputs
SEARCH_PAGE = 200  # the search API's largest page
SEARCH_CAP = 10_000  # a search never pages past its first 10,000 results


class HubSpotError(Exception):
    pass


class AuthError(HubSpotError):
    pass


class DailyLimitReached(HubSpotError):
    pass


class Limiter:
    """Rolling windows: wait until one more request fits."""

    def __init__(self, burst: int = BURST, window: float = BURST_WINDOW, search_per_second: int = SEARCH_PER_SECOND,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic):
        self.windows: dict[str, tuple[int, float, deque[float]]] = {"api": (burst, window, deque()), "search": (search_per_second, 1.0, deque())}
        self.sleep, self.monotonic = sleep, monotonic
        self.lock = threading.Lock()
        self.waited = 0.0

    def acquire(self, kind: str) -> None:
        cap, window, hits = self.windows[kind]
        with self.lock:
            while True:
                now = self.monotonic()
                while hits and now - hits[0] >= window + MARGIN:
                    hits.popleft()
                if len(hits) < cap:
                    hits.append(now)
                    return
                pause = window + MARGIN - (now - hits[0]) + 0.001  # past the edge, whatever the rounding
                self.waited += pause
                self.sleep(pause)


class HubSpotApi:
    def __init__(self, token: str, url: str, *, limiter: Limiter | None = None, daily_left: int = DAILY,
                 max_retries: int = 6, backoff: float = 0.5, sleep: Callable[[float], None] = time.sleep):
        client = hubspot.HubSpot(access_token=token, host=url.rstrip("/"))
        self._owners = client.crm.owners.owners_api
        self._pipelines = client.crm.pipelines.pipelines_api
        self._search = client.crm.deals.search_api
        self._deals = client.crm.deals.batch_api
        self._notes = client.crm.objects.notes.batch_api
        self._meetings = client.crm.objects.meetings.batch_api
        self.limiter = limiter or Limiter(sleep=sleep)
        self.daily_left, self.max_retries, self.backoff, self.sleep = daily_left, max_retries, backoff, sleep
        self.requests = 0
        self.retries = 0

    # -- the calls -------------------------------------------------------------
    def owners(self) -> list[dict]:
        found, after = [], None
        while True:
            page = self._call("api", self._owners.get_page, limit=500, archived=False,
                              **({"after": after} if after else {}))
            found += [{"id": o.id, "email": (o.email or "").strip().lower()} for o in page.results]
            after = page.paging.next.after if page.paging and page.paging.next else None
            if not after:
                return found

    def pipelines(self) -> list[dict]:
        page = self._call("api", self._pipelines.get_all, "deals")
        return [{"id": p.id, "label": p.label, "order": p.display_order,
                 "stages": [{"id": s.id, "label": s.label, "order": s.display_order, "metadata": s.metadata or {}}
                            for s in p.stages]} for p in page.results]

    def search_deals(self, owner_ids: list[str], since_ms: int | None, after: int, properties: list[str]) -> tuple[list[dict], int | None]:
        """One page of the owners' deals modified at or after `since_ms`, oldest change first;
        (deals as {id, properties}, the next `after` or None)."""
        filters: list[dict[str, Any]] = [{"propertyName": "hubspot_owner_id", "operator": "IN", "values": owner_ids}]
        if since_ms is not None:
            filters.append({"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(since_ms)})
        req = PublicObjectSearchRequest(filter_groups=[{"filters": filters}], properties=properties, limit=SEARCH_PAGE,
                                        after=str(after) if after else None,
                                        sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}])
        page = self._call("search", self._search.do_search, public_object_search_request=req)
        nxt = page.paging.next.after if page.paging and page.paging.next else None
        return [{"id": d.id, "properties": d.properties} for d in page.results], int(nxt) if nxt else None

    def create_deals(self, inputs: list[dict]) -> list[dict]:
        body = BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)
        res = self._call("api", self._deals.create, batch_input_simple_public_object_batch_input_for_create=body)
        return [{"id": d.id, "properties": d.properties} for d in res.results]

    def update_deals(self, inputs: list[dict]) -> None:
        body = BatchInputSimplePublicObjectBatchInput(inputs=inputs)
        self._call("api", self._deals.update, batch_input_simple_public_object_batch_input=body)

    def create_notes(self, inputs: list[dict]) -> list[str]:
        from hubspot.crm.objects.notes import BatchInputSimplePublicObjectBatchInputForCreate as Notes
        res = self._call("api", self._notes.create, batch_input_simple_public_object_batch_input_for_create=Notes(inputs=inputs))
        return [r.id for r in res.results]

    def create_meetings(self, inputs: list[dict]) -> list[str]:
        from hubspot.crm.objects.meetings import BatchInputSimplePublicObjectBatchInputForCreate as Meetings
        res = self._call("api", self._meetings.create,
                         batch_input_simple_public_object_batch_input_for_create=Meetings(inputs=inputs))
        return [r.id for r in res.results]

    # -- the policy ---------------------------------------------------------------
    def _call(self, kind: str, fn: Callable, *args, **kwargs):
        for attempt in range(self.max_retries + 1):
            if self.daily_left <= 0:
                raise DailyLimitReached("the daily API budget is used up; the sync resumes tomorrow")
            self.limiter.acquire(kind)
            self.requests += 1
            self.daily_left -= 1
            try:
                return fn(*args, **kwargs, _request_timeout=30)
            except TransportError as e:
                if attempt == self.max_retries:
                    raise HubSpotError(f"HubSpot unreachable: {e}") from None
                self.sleep(self.backoff * 2 ** attempt)
            except Exception as e:
                status = getattr(e, "status", None)
                if status is None:
                    raise
                body = _json(getattr(e, "body", None))
                if status in (401, 403):
                    raise AuthError(f"{status} {body.get('category') or body.get('message') or ''}".strip()) from None
                if status == 429:
                    if body.get("policyName") == "DAILY":
                        raise DailyLimitReached("HubSpot's daily limit is reached; the sync resumes tomorrow") from None
                    if attempt < self.max_retries:
                        self.retries += 1
                        self.sleep(_retry_after(getattr(e, "headers", None)) or self.backoff * 2 ** attempt)
                        continue
                if status >= 500 and attempt < self.max_retries:
                    self.retries += 1
                    self.sleep(self.backoff * 2 ** attempt)
                    continue
                raise HubSpotError(f"HubSpot answered {status}: {body.get('message') or e}") from None
        raise HubSpotError("HubSpot kept failing")  # pragma: no cover - the loop returns or raises


def _json(raw) -> dict:
    try:
        got = json.loads(raw) if raw else {}
        return got if isinstance(got, dict) else {}
    except (ValueError, TypeError):
        return {}


def _retry_after(headers) -> float | None:
    if not headers:
        return None
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return min(float(value), 60.0) if value is not None else None
    except ValueError:
        return None
