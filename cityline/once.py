"""Shared things built once per process, safely under threads.

The address parser's tables, the gazetteer, the triage model and the segmenters take
seconds to build and are then shared by every request. ``functools.lru_cache`` lets
every thread that arrives before the first build ends run the build too: a server
that has just started, hit by 16 requests at once, built the gazetteer 16 times
(12–17 s instead of 3) and let threads into half-built library state (jionlp's
pinyin table: ``KeyError``/``AttributeError``). :func:`built_once` makes the first
caller build while the others wait for its result.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable
from typing import Generic, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class BuiltOnce(Generic[P, T]):
    """``build`` memoised per arguments; concurrent first callers wait for one build.

    A build that raises is not remembered: the next caller tries again.
    """

    def __init__(self, build: Callable[P, T]) -> None:
        self._build = build
        self._results: dict[Hashable, T] = {}
        # Re-entrant, so a build may ask for another argument of the same function.
        self._lock = threading.RLock()
        functools.update_wrapper(self, build)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        key = (args, tuple(sorted(kwargs.items()))) if kwargs else args
        try:
            return self._results[key]  # built: no lock on the hot path
        except KeyError:
            pass
        with self._lock:
            if key not in self._results:
                self._results[key] = self._build(*args, **kwargs)
            return self._results[key]

    def is_built(self, *args: Hashable) -> bool:
        return args in self._results

    def cache_clear(self) -> None:
        """Forget what was built (tests; a changed data directory)."""
        with self._lock:
            self._results.clear()


def built_once(build: Callable[P, T]) -> BuiltOnce[P, T]:
    return BuiltOnce(build)
