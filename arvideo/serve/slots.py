"""A bounded number of concurrent sessions: play sockets and generate requests each hold one.

Every session samples on the server's CPU or GPU; past `limit` they would all slow down
together, so the next one is told "busy" instead. Thread-safe (generate requests run in
worker threads). Knows counting; nothing about the web.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager


class Busy(RuntimeError):
    """All session slots are taken."""


class SessionSlots:
    def __init__(self, limit: int):
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"max_sessions must be an int >= 1, got {limit!r}")
        self.limit, self.active = limit, 0
        self._lock = threading.Lock()

    @contextmanager
    def hold(self):
        """One slot for the duration of the block, or Busy at once."""
        with self._lock:
            if self.active >= self.limit:
                raise Busy(
                    f"busy: {self.active} of {self.limit} sessions are running; "
                    "try again when one ends"
                )
            self.active += 1
        try:
            yield
        finally:
            with self._lock:
                self.active -= 1
