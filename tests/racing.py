"""Start several callers at the same instant, the way two hosts' sweeps collide."""

from __future__ import annotations

import threading


def race(target, arg_sets, timeout: float = 60) -> list[Exception]:
    """Run target(*args) for every arg set in its own thread, released together; return what they raised."""
    start, errors = threading.Barrier(len(arg_sets)), []

    def run(*args):
        try:
            start.wait()
            target(*args)
        except Exception as e:  # surfaced to the caller, which asserts there were none
            errors.append(e)

    threads = [threading.Thread(target=run, args=a) for a in arg_sets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return errors
