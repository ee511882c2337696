"""Benchmark 4: the inbox over REST for a user holding INBOX notifications.

Seeds one user with INBOX notifications (a third unread, one in a hundred soft-deleted, half
with an actor, a tenth with a target) among OTHER_ROWS notifications of other users. Then,
with the Django test client and a JWT header:

- GET /api/notifications/user/ first page at page_size 20 and 100, and a page_size 20 page
  halfway down the inbox (reached by its cursor): time per request and SQL queries.
- GET /api/notifications/user/counts/ and `selectors.counts()` alone: the counts every
  event frame carries, so their cost is paid on every push.
- EXPLAIN QUERY PLAN of the SQL the list and the count ran, and the index it names.
- The counts' SQL alone: as SQLite plans it without statistics, forced onto the partial
  counts index (INDEXED BY), and after ANALYZE (run last, on this throwaway database).
"""

import re
import time
from urllib.parse import parse_qs, urlencode, urlsplit

from support import emit, setup_django, summary

INBOX = 10_000
OTHER_USERS = 50
OTHER_ROWS = 20_000
REQUESTS = 200
LIST_URL = "/api/notifications/user/"
COUNT_URL = "/api/notifications/user/counts/"
# The partial index the counts query (unread and unseen per category) is built for.
UNREAD_INDEX = "notif_counts_idx"
INDEX_PATTERN = re.compile(r"USING (?:COVERING )?INDEX (\w+)")


def seed():
    from django.contrib.auth import get_user_model
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone
    from notifications.models import Notification

    user_model = get_user_model()
    user_model.objects.bulk_create(
        user_model(username=f"inbox{number:03d}", password="!") for number in range(OTHER_USERS + 1)
    )
    owner, *others = user_model.objects.filter(username__startswith="inbox").order_by("pk")
    content_type = ContentType.objects.get_for_model(user_model)
    now = timezone.now()

    def row(recipient, number: int) -> Notification:
        return Notification(
            recipient=recipient,
            actor=others[number % len(others)] if number % 2 else None,
            category="general",
            title=f"Notification {number}",
            message="Something happened that you may want to look at.",
            data={"number": number},
            target_content_type=content_type if number % 10 == 0 else None,
            target_object_id=str(owner.pk) if number % 10 == 0 else "",
            read_at=None if number % 3 == 0 else now,
            deleted_at=now if number % 100 == 99 else None,
        )

    # Interleaved, as in a live table: the owner's rows are spread among everyone else's.
    # OTHER_ROWS spread evenly, whether there are more or fewer of them than INBOX rows.
    rows = []
    for number in range(INBOX):
        rows.append(row(owner, number))
        others_here = OTHER_ROWS * (number + 1) // INBOX - OTHER_ROWS * number // INBOX
        rows.extend(row(others[(number + k) % len(others)], number) for k in range(others_here))
    Notification.objects.bulk_create(rows, batch_size=500)
    # Rows loaded outside NotificationService: their counts are stored by a recount, as the
    # project's docs say to do after any such load.
    from notifications.stream import upkeep

    upkeep.recount([owner.pk, *(other.pk for other in others)])
    return owner


def timed_requests(client, url: str, repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    # Copied now: the list is read from the connection's log, which the next request clears.
    captured = [query["sql"] for query in queries.captured_queries]
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}: {response.content[:300]}")
    durations = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(url)
        durations.append((time.perf_counter() - start) * 1000)
    body = response.json()
    return {
        "url": url,
        "ms": summary(durations, digits=2),
        "queries": len(captured),
        "items": len(body["results"]) if "results" in body else None,
        "sql": captured,
    }


def cursor_page(client, depth: int, page_size: int) -> str:
    """The URL of the page that starts about `depth` rows down the inbox."""
    url = f"{LIST_URL}?page_size=100"
    for _ in range(depth // 100):
        url = client.get(url).json()["next"]
    query = parse_qs(urlsplit(url).query)
    query["page_size"] = [str(page_size)]
    return f"{LIST_URL}?{urlencode(query, doseq=True)}"


def query_plan(sql: str) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        details = [row[-1] for row in cursor.fetchall()]
    indexes = [match for detail in details for match in INDEX_PATTERN.findall(detail)]
    notification_steps = [detail for detail in details if "notifications_notification" in detail]
    return {"plan": details, "notification_steps": notification_steps, "indexes": indexes}


def notification_sql(result: dict) -> str:
    """The query of a request that read the notification table."""
    return next(sql for sql in result["sql"] if 'FROM "notifications_notification"' in sql)


def sql_timings_us(sql: str, repeat: int) -> dict:
    from django.db import connection

    durations = []
    with connection.cursor() as cursor:
        for _ in range(repeat):
            start = time.perf_counter_ns()
            cursor.execute(sql)
            cursor.fetchall()
            durations.append((time.perf_counter_ns() - start) / 1000)
    return summary(durations)


def unread_count_sql_comparison(count_sql: str, list_sql: str) -> dict:
    """The count query as SQLite plans it, forced onto the unread index, and after ANALYZE."""
    from django.db import connection

    forced = count_sql.replace(
        'FROM "notifications_notification"',
        f'FROM "notifications_notification" INDEXED BY {UNREAD_INDEX}',
        1,
    )
    results = {
        "planned": {**sql_timings_us(count_sql, REQUESTS), **query_plan(count_sql)},
        "forced_unread_index": {**sql_timings_us(forced, REQUESTS), **query_plan(forced)},
    }
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    results["after_analyze"] = {**sql_timings_us(count_sql, REQUESTS), **query_plan(count_sql)}
    results["list_after_analyze"] = query_plan(list_sql)
    return results


def main() -> None:
    setup_django()
    from django.test import Client
    from notifications import selectors
    from rest_framework_simplejwt.tokens import AccessToken

    start = time.perf_counter()
    owner = seed()
    seed_seconds = time.perf_counter() - start

    client = Client(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(owner)}")
    pages = {
        "page_size_20": timed_requests(client, f"{LIST_URL}?page_size=20", REQUESTS),
        "page_size_100": timed_requests(client, f"{LIST_URL}?page_size=100", REQUESTS // 2),
        "page_size_20_deep": timed_requests(
            client, cursor_page(client, INBOX // 2, 20), REQUESTS // 2
        ),
    }
    unread_endpoint = timed_requests(client, COUNT_URL, REQUESTS)

    count_us = []
    for _ in range(REQUESTS):
        begin = time.perf_counter_ns()
        unread = selectors.counts(owner)["unread"]
        count_us.append((time.perf_counter_ns() - begin) / 1000)

    list_sql = notification_sql(pages["page_size_20"])
    # `counts/` reads the owner's stream head row; the count over the notification table is
    # what a recount (and a user with an expired item still counted) runs.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from notifications.stream import counters

    with CaptureQueriesContext(connection) as recount:
        counters.counted_rows([owner.pk], now=timezone.now())
    count_sql = notification_sql({"sql": [query["sql"] for query in recount.captured_queries]})
    plans = {
        "list_first_page": query_plan(list_sql),
        "list_cursor_page": query_plan(notification_sql(pages["page_size_20_deep"])),
    }
    # Last: ANALYZE changes the plans of everything measured after it.
    count_sql_us = unread_count_sql_comparison(count_sql, list_sql)
    for result in (*pages.values(), unread_endpoint):
        del result["sql"]
    emit(
        {
            "inbox": INBOX,
            "other_rows": OTHER_ROWS,
            "seed_s": round(seed_seconds, 1),
            "pages": pages,
            "unread_count_endpoint": unread_endpoint,
            "unread_count_selector_us": summary(count_us),
            "unread_count": unread,
            "plans": plans,
            "unread_count_sql": count_sql_us,
        }
    )


if __name__ == "__main__":
    main()
