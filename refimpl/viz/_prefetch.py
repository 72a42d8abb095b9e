"""Compute, in a background thread, what a learner may ask for next.

An explorer whose new settings cost more than a frame (a training run: about 0.2 s) asks a
:class:`Prefetcher` for the settings next to the current one after each frame. While the learner
looks at that frame, one thread computes them, nearest first, so that moving a control one step
finds its result ready. The thread starts a computation only when no frame has been drawn for
:data:`IDLE_SECONDS` (it would slow the frame down, as both need the interpreter), and stops
when there is nothing left to compute.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any

#: Quiet time after a frame before the thread starts a computation.
IDLE_SECONDS = 0.25


class Prefetcher:
    """Results of ``compute(*key)`` for the keys asked for, computed ahead in one thread.

    Parameters
    ----------
    compute : callable
        A pure function of the key's items (called as ``compute(*key)``), safe to call from
        another thread.
    keep : int
        Results kept (the least recently used goes first; more than the keys asked ahead at
        once, so that those stay).
    """

    def __init__(self, compute: Callable[..., Any], keep: int = 32):
        self.compute = compute
        self.keep = keep
        self._results: OrderedDict[Hashable, Any] = OrderedDict()
        self._wanted: list[Hashable] = []  # keys to compute ahead, nearest first
        self._running: Hashable | None = None  # the key the thread computes now
        self._changed = threading.Condition()  # guards everything above; notified on any change
        self._thread: threading.Thread | None = None
        self._last_frame = time.monotonic()

    def get(self, key: Hashable) -> Any:
        """The result for ``key``: kept, being computed (then waited for), or computed now."""
        with self._changed:
            self._last_frame = time.monotonic()  # a frame is being drawn: the thread waits
            while self._running == key:
                self._changed.wait()
            if key in self._results:
                self._results.move_to_end(key)
                return self._results[key]
        result = self.compute(*key)
        self._store(key, result)
        return result

    def ahead(self, keys: Iterable[Hashable]) -> None:
        """Compute these keys next (in this order), instead of those asked for before."""
        keys = list(keys)
        with self._changed:
            self._last_frame = time.monotonic()
            for key in reversed(keys):  # kept ones are kept longer: the nearest last evicted
                if key in self._results:
                    self._results.move_to_end(key)
            self._wanted = [key for key in keys if key not in self._results]
            if self._wanted and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._work, name="viz-prefetch", daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until nothing is left to compute (or ``timeout`` seconds); True if so."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while self._wanted or self._running is not None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def _store(self, key: Hashable, result: Any) -> None:
        with self._changed:
            self._results[key] = result
            self._results.move_to_end(key)
            while len(self._results) > self.keep:
                self._results.popitem(last=False)

    def _next_key(self) -> Hashable | None:
        """The next key to compute, once the explorer has been idle (None: nothing left)."""
        with self._changed:
            while True:
                self._wanted = [key for key in self._wanted if key not in self._results]
                if not self._wanted:
                    return None
                quiet = time.monotonic() - self._last_frame
                if quiet >= IDLE_SECONDS:
                    self._running = self._wanted.pop(0)
                    return self._running
                self._changed.wait(IDLE_SECONDS - quiet)

    def _work(self) -> None:
        while (key := self._next_key()) is not None:
            try:
                self._store(key, self.compute(*key))
            finally:
                with self._changed:
                    self._running = None
                    self._changed.notify_all()
