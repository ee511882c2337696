"""Shared helpers of the benchmark scripts, which run inside a rendered project.

run.py starts each script with the project as its working directory and the settings in the
environment; a script calls `setup_django()` before importing anything from the project and
ends with `emit(figures)`, one JSON line on stdout.
"""

import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any


def setup_django() -> None:
    """Make the rendered project importable and configure Django from the environment."""
    sys.path.insert(0, os.getcwd())
    import django

    django.setup()


def emit(figures: dict[str, Any]) -> None:
    print(json.dumps(figures), flush=True)


def percentile(values: Iterable[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with `fraction` of the values at or below."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float], digits: int = 1) -> dict[str, float]:
    """Median, p99 and max of a list of durations, rounded."""
    return {
        "median": round(percentile(values, 0.5), digits),
        "p99": round(percentile(values, 0.99), digits),
        "max": round(max(values), digits),
    }


def timed_us(call: Callable[[], Any], repeat: int) -> list[float]:
    """Microseconds taken by each of `repeat` calls."""
    durations = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        call()
        durations.append((time.perf_counter_ns() - start) / 1000)
    return durations


class RedisCounters:
    """Connection and command counters of the Redis server, read with INFO over one connection.

    The probe opens its connection before the first snapshot, so a difference between two
    snapshots counts only what others did (plus the probe's own INFO, subtracted).
    """

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.client.ping()

    def snapshot(self) -> dict[str, int]:
        info = self.client.info("everything")
        return {
            "connections": info["total_connections_received"],
            "connected": info["connected_clients"],
            "commands": info["total_commands_processed"],
            "publish": info.get("cmdstat_publish", {}).get("calls", 0),
        }

    def since(self, before: dict[str, int]) -> dict[str, int]:
        after = self.snapshot()
        return {
            "connections_opened": after["connections"] - before["connections"],
            "connections_still_open": after["connected"] - before["connected"],
            # The probe's INFO that took `before` is counted once; its own calls are not work.
            "commands": after["commands"] - before["commands"] - 1,
            "publish": after["publish"] - before["publish"],
        }

    def close(self) -> None:
        self.client.close()
