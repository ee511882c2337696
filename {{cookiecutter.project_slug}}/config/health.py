"""Probes for a load balancer: /healthz (the process answers) and /readyz (its services answer)."""

import asyncio
from collections.abc import Awaitable, Callable

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from notifications import jobs

# Seconds each check may take: a probe must answer before the load balancer gives up on it.
CHECK_TIMEOUT = 3.0


@never_cache
async def healthz(request: HttpRequest) -> JsonResponse:
    """Alive: the process answers. Touches no database, so a database outage restarts nothing."""
    return JsonResponse({"status": "ok"})


@never_cache
async def readyz(request: HttpRequest) -> JsonResponse:
    """Ready: the database answers, and with REDIS_URL set, the cache and the channel layer."""
    checks: dict[str, Callable[[], Awaitable[None]]] = {"database": check_database}
    if settings.REDIS_URL:
        checks |= {"cache": check_cache, "channel_layer": check_channel_layer}
    results = {name: await run_check(check) for name, check in checks.items()}
    ready = all(result == "ok" for result in results.values())
    # Reported, not counted: a stopped worker must not take the web servers out of service.
    jobs = await jobs_state()
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": results, "jobs": jobs},
        status=200 if ready else 503,
    )


async def run_check(check: Callable[[], Awaitable[None]]) -> str:
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT)
    except Exception as error:  # any failure means "not ready"; the body names it
        return f"unavailable: {type(error).__name__}"
    return "ok"


@sync_to_async
def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


# Not thread-sensitive: a Redis that hangs must not block the thread that serves sync views.
@sync_to_async(thread_sensitive=False)
def check_cache() -> None:
    cache.set("readyz", "ok", timeout=10)
    if cache.get("readyz") != "ok":
        raise RuntimeError("the cache did not return what was stored")


async def jobs_state() -> str:
    """Whether workers run the heartbeat job: ok, inline (no broker), or stale and since when."""
    if settings.JOBS_INLINE:
        return "inline"
    try:
        age = await asyncio.wait_for(heartbeat_age(), CHECK_TIMEOUT)
    except Exception as error:  # as for the checks: the body names the failure
        return f"unavailable: {type(error).__name__}"
    if age is None:
        return "stale: no heartbeat yet"
    if age > settings.JOBS_STALE_SECONDS:
        return f"stale: last heartbeat {age:.0f} s ago"
    return "ok"


heartbeat_age = sync_to_async(jobs.heartbeat_age, thread_sensitive=False)


async def check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured")
    await layer.group_send("readyz", {"type": "readyz.probe"})
