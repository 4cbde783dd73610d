"""At most a few listeners do their work after the ack at once, so acks never wait behind that work.

Bolt acks from inside the listener, and the work that follows (database, Slack calls, Block Kit) runs in the
same process, under the same GIL, as every other request's path to its ack. Under load, dozens of runnable
listeners each take turns on the GIL, and a new request's ack waits through all of them. So a listener, once
it has acked, waits for one of `SLOTS` before it goes on: queued work holds no GIL, acks stay quick, and
the replies (a response_url stays valid for 30 minutes) come as fast as the machine allows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

# Measured on this 2-core machine (bench/ack_latency.py --alt-slots 64, same rounds): with 8 slots the p50 ack was
# 30-40% lower than with 64 (31 vs 43 ms at 8 clients, 144 vs 226 ms at 50); p99s within the noise; replies a
# little later. About the database pool's size: more concurrent work would mostly wait there instead.
SLOTS = 8


class WorkSlots:
    def __init__(self, slots: int = SLOTS) -> None:
        self._free = threading.BoundedSemaphore(slots)

    def run(self, fn: Callable[..., Any], args: dict[str, Any]) -> Any:
        """Call `fn(**args)`; its work after `ack()` (or all of it, when it takes no ack) holds a slot."""
        held = threading.local()
        held.slot = False

        def take() -> None:
            if not held.slot:
                self._free.acquire()
                held.slot = True

        if "ack" in args:
            ack = args["ack"]

            def ack_then_wait_turn(*a: Any, **kw: Any) -> Any:
                result = ack(*a, **kw)
                take()
                return result

            args = {**args, "ack": ack_then_wait_turn}
        else:  # acked by Bolt before the listener runs (events)
            take()
        try:
            return fn(**args)
        finally:
            if held.slot:
                self._free.release()


WORK = WorkSlots()
