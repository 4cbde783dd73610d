"""A fake HubSpot API on loopback, answering in HubSpot's JSON shapes, recording what it got.

Covers what the sync uses: owners (paged), deal pipelines with stage metadata, the CRM v3 deals search
(filters EQ/GTE/GT/LTE/IN, one sort, `after` paging, and the 10,000-result cap: `after` + `limit` beyond
10,000 is a 400 as in HubSpot), batch create/update of deals, batch create of notes and meetings with
associations, private-app bearer auth (401), and rate limits: a rolling 10-second window, a daily cap,
and the search API's own per-second limit, each answered 429 with Retry-After and HubSpot's error body.
Failures can be injected (e.g. three 502s on the next search).
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections import deque
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

TOKEN = "pat-na1-test-token"
SEARCH_CAP = 10_000
STAGES = [  # HubSpot's default sales pipeline
    ("appointmentscheduled", "Appointment Scheduled", "0.2", "false"),
    ("qualifiedtobuy", "Qualified To Buy", "0.4", "false"),
    ("presentationscheduled", "Presentation Scheduled", "0.6", "false"),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", "false"),
    ("contractsent", "Contract Sent", "0.9", "false"),
    ("closedwon", "Closed Won", "1.0", "true"),
    ("closedlost", "Closed Lost", "0.0", "true"),
]


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


class FakeHubSpot:
    def __init__(self, *, search_cap: int = SEARCH_CAP, burst: int = 0, burst_window: float = 10.0, daily: int = 0, search_per_second: int = 0):
        self.burst, self.burst_window, self.daily, self.search_per_second = burst, burst_window, daily, search_per_second
        self.search_cap = search_cap
        self.lock = threading.Lock()
        self.owners: dict[str, dict] = {}
        self.deals: dict[str, dict[str, str]] = {}
        self.notes: list[dict] = []
        self.meetings: list[dict] = []
        self.requests: list[tuple[str, str, Any]] = []  # (method, path, body)
        self.failures: deque[tuple[str, int]] = deque()  # (path part, status)
        self.pipelines = [{"id": "default", "label": "Sales Pipeline", "displayOrder": 0, "stages": [
            {"id": sid, "label": label, "displayOrder": i, "metadata": {"probability": p, "isClosed": closed},
             "createdAt": iso(0), "updatedAt": iso(0), "archived": False, "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT"}
            for i, (sid, label, p, closed) in enumerate(STAGES)], "createdAt": iso(0), "updatedAt": iso(0),
            "archived": False}]
        self._next_id = 1000
        self._writes = 0  # bumped by every change to a deal: the search cache's key
        self._search_cache: tuple[Any, list[dict]] = (None, [])
        self._hits: deque[float] = deque()
        self._search_hits: deque[float] = deque()
        self.day_count = 0
        self.limited = 0  # 429s answered
        self.now_ms = int(time.time() * 1000)  # hs_lastmodifieddate of writes; tests move it
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHubSpot:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- directory -------------------------------------------------------------
    def add_owner(self, owner_id: str, email: str, first: str = "", last: str = "") -> None:
        self.owners[owner_id] = {"id": owner_id, "email": email, "firstName": first, "lastName": last,
                                 "userId": int(owner_id), "type": "PERSON", "createdAt": iso(0),
                                 "updatedAt": iso(0), "archived": False}

    def add_deal(self, name: str, owner_id: str, *, stage: str = "appointmentscheduled", amount: str | None = None,
                 modified_ms: int | None = None, deal_id: str | None = None, **props: str) -> str:
        with self.lock:
            self._next_id += 1
            did = deal_id or str(self._next_id)
            ms = modified_ms if modified_ms is not None else self.now_ms
            self.deals[did] = {"hs_object_id": did, "dealname": name, "hubspot_owner_id": owner_id,
                               "dealstage": stage, "pipeline": "default", "amount": amount or "",
                               "deal_currency_code": "USD", "closedate": "", "closed_lost_reason": "",
                               "createdate": iso(ms), "hs_lastmodifieddate": iso(ms), **props}
        return did

    def edit_deal(self, deal_id: str, modified_ms: int | None = None, **props: str) -> None:
        with self.lock:
            self._writes += 1
            self.deals[deal_id].update(props)
            self.deals[deal_id]["hs_lastmodifieddate"] = iso(modified_ms if modified_ms is not None else self.now_ms)

    def fail_next(self, path_part: str, status: int, times: int = 1) -> None:
        self.failures.extend([(path_part, status)] * times)

    def calls(self, path_part: str = "") -> list[tuple[str, str, Any]]:
        return [r for r in self.requests if path_part in r[1]]

    # -- serving -----------------------------------------------------------------
    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def _go(self, method: str) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                url = urlparse(self.path)
                status, payload, headers = fake._answer(method, url.path, parse_qs(url.query), body,
                                                        self.headers.get("authorization", ""))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json;charset=utf-8")
                self.send_header("content-length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._go("GET")

            def do_POST(self):
                self._go("POST")

            def do_PATCH(self):
                self._go("PATCH")

        return Handler

    def _err(self, status: int, message: str, category: str, **extra) -> tuple[int, dict, dict]:
        return status, {"status": "error", "message": message, "correlationId": "00000000-fake",
                        "category": category, **extra}, {}

    def _limit(self, path: str) -> tuple[int, dict, dict] | None:
        now = time.monotonic()
        if self.daily and self.day_count >= self.daily:
            self.limited += 1
            s, b, _ = self._err(429, "You have reached your daily limit.", "RATE_LIMITS", errorType="RATE_LIMIT",
                                policyName="DAILY")
            return s, b, {"Retry-After": "3600"}
        hits = self._search_hits if "/search" in path else self._hits
        window, cap = (1.0, self.search_per_second) if "/search" in path else (self.burst_window, self.burst)
        while hits and now - hits[0] >= window:
            hits.popleft()
        if cap and len(hits) >= cap:
            self.limited += 1
            wait = max(0.001, window - (now - hits[0]))
            s, b, _ = self._err(429, "You have reached your ten_secondly_rolling limit.", "RATE_LIMITS",
                                errorType="RATE_LIMIT", policyName="SECONDLY" if "/search" in path else "TEN_SECONDLY_ROLLING")
            return s, b, {"Retry-After": f"{wait:.3f}", "X-HubSpot-RateLimit-Max": str(cap)}
        hits.append(now)
        self.day_count += 1
        return None

    def _answer(self, method: str, path: str, query: dict, body: Any, auth: str) -> tuple[int, Any, dict]:
        with self.lock:
            self.requests.append((method, path, body))
            if auth != f"Bearer {TOKEN}":
                return self._err(401, "Authentication credentials not found. This API supports OAuth 2.0 "
                                 "authentication ...", "INVALID_AUTHENTICATION")
            limited = self._limit(path)
            if limited:
                return limited
            for i, (part, status) in enumerate(self.failures):
                if part in path:
                    del self.failures[i]
                    return self._err(status, "internal error", "INTERNAL_ERROR") if status >= 500 else \
                        (status, {"status": "error", "message": "rate limited", "category": "RATE_LIMITS"},
                         {"Retry-After": "0.05"})
            return self._route(method, path, query, body)

    def _route(self, method: str, path: str, query: dict, body: Any) -> tuple[int, Any, dict]:
        if method == "GET" and path == "/crm/v3/owners/":
            return self._page(list(self.owners.values()), query)
        if method == "GET" and path == "/crm/v3/pipelines/deals":
            return 200, {"results": self.pipelines}, {}
        if method == "POST" and path == "/crm/v3/objects/deals/search":
            return self._search(body)
        if method == "POST" and path == "/crm/v3/objects/deals/batch/create":
            return self._batch(body, create=True)
        if method == "POST" and path == "/crm/v3/objects/deals/batch/update":
            return self._batch(body, create=False)
        for kind, store in (("notes", self.notes), ("meetings", self.meetings)):
            if method == "POST" and path == f"/crm/v3/objects/{kind}/batch/create":
                return self._engagements(body, store)
        return self._err(404, f"no route {method} {path}", "OBJECT_NOT_FOUND")

    def _page(self, items: list, query: dict) -> tuple[int, Any, dict]:
        limit = int((query.get("limit") or ["100"])[0])
        start = int((query.get("after") or ["0"])[0])
        page = {"results": items[start:start + limit]}
        if start + limit < len(items):
            page["paging"] = {"next": {"after": str(start + limit), "link": "?after=" + str(start + limit)}}
        return 200, page, {}

    def _object(self, props: dict, wanted: list[str] | None) -> dict:
        shown = {k: (v if v != "" else None) for k, v in props.items() if not wanted or k in wanted
                 or k in ("hs_object_id", "createdate", "hs_lastmodifieddate")}
        return {"id": props["hs_object_id"], "properties": shown, "createdAt": props["createdate"],
                "updatedAt": props["hs_lastmodifieddate"], "archived": False}

    def _search(self, body: dict) -> tuple[int, Any, dict]:
        limit = min(int(body.get("limit") or 10), 200)
        after = int(body.get("after") or 0)
        if after + limit > self.search_cap:
            return self._err(400, "There was a problem with the request.", "VALIDATION_ERROR",
                             subCategory="SEARCH_RESULT_LIMIT_EXCEEDED")
        groups = body.get("filterGroups") or [{"filters": []}]
        sorts = body.get("sorts") or [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
        # Paging through one query re-filters nothing until a deal changes (the benchmark's 50,000 deals).
        key = (json.dumps([groups, sorts], sort_keys=True), len(self.deals), self._writes)
        if self._search_cache[0] != key:
            hits = [d for d in self.deals.values() if any(all(_match(d, f) for f in g["filters"]) for g in groups)]
            for sort in reversed(sorts):
                name = sort["propertyName"]
                hits.sort(key=lambda d, n=name: _sortable(n, d.get(n, "")),
                          reverse=sort.get("direction") == "DESCENDING")
            self._search_cache = (key, hits)
        hits = self._search_cache[1]
        page = {"total": len(hits), "results": [self._object(d, body.get("properties")) for d in hits[after:after + limit]]}
        if after + limit < len(hits):
            page["paging"] = {"next": {"after": str(after + limit)}}
        return 200, page, {}

    def _batch(self, body: dict, create: bool) -> tuple[int, Any, dict]:
        stamp = iso(self.now_ms)
        results = []
        self._writes += 1
        for item in body["inputs"]:
            if create:
                self._next_id += 1
                did = str(self._next_id)
                self.deals[did] = {"hs_object_id": did, "pipeline": "default", "createdate": stamp,
                                   "deal_currency_code": "USD", **item["properties"], "hs_lastmodifieddate": stamp}
            else:
                did = item["id"]
                if did not in self.deals:
                    return self._err(404, f"deal {did} not found", "OBJECT_NOT_FOUND")
                self.deals[did].update(item["properties"])
                self.deals[did]["hs_lastmodifieddate"] = stamp
            results.append(self._object(self.deals[did], list(item["properties"])))
        return (201 if create else 200), {"status": "COMPLETE", "results": results[::-1],  # order not promised
                                          "startedAt": stamp, "completedAt": stamp}, {}

    def _engagements(self, body: dict, store: list) -> tuple[int, Any, dict]:
        stamp = iso(self.now_ms)
        results = []
        for item in body["inputs"]:
            self._next_id += 1
            rec = {"id": str(self._next_id), "properties": item["properties"], "associations": item.get("associations")}
            store.append(rec)
            results.append({"id": rec["id"], "properties": item["properties"], "createdAt": stamp,
                            "updatedAt": stamp, "archived": False})
        return 201, {"status": "COMPLETE", "results": results, "startedAt": stamp, "completedAt": stamp}, {}


def _sortable(name: str, value: str):
    if name in ("hs_object_id", "amount"):
        try:
            return float(value)
        except ValueError:
            return 0.0
    return value


@functools.lru_cache(maxsize=1 << 18)  # the benchmark filters 50,000 deals per search page
def _ms(value: str) -> float:
    if value.isdigit():
        return float(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000


def _match(deal: dict, f: dict) -> bool:
    name, op = f["propertyName"], f["operator"]
    have = deal.get(name, "")
    if op == "IN":
        return have in f.get("values", [])
    want = f.get("value", "")
    if name in ("hs_lastmodifieddate", "createdate", "closedate"):
        a, b = _ms(have) if have else 0, _ms(str(want))
    elif name in ("hs_object_id", "amount"):
        a, b = float(have or 0), float(want)
    else:
        a, b = have, want
    return {"EQ": a == b, "NEQ": a != b, "GT": a > b, "GTE": a >= b, "LT": a < b, "LTE": a <= b}[op]
