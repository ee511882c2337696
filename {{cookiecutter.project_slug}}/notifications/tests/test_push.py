"""Web Push against a local push service that verifies VAPID and decrypts every message."""

import contextlib
import io
import json
import threading
import time
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from notifications import categories, jobs
from notifications.models import Level, Notification, PushSubscription
from notifications.push import dispatch, keys, sending, subscriptions
from notifications.reader import preferences
from notifications.services import NotificationService
from notifications.tests.factories import UserFactory
from notifications.tests.pushservice import Browser, PushService

pytestmark = pytest.mark.django_db

STATUS = reverse("notifications:push")
SUBSCRIBE = reverse("notifications:push-subscribe")
UNSUBSCRIBE = reverse("notifications:push-unsubscribe")


@pytest.fixture
def vapid(settings) -> tuple[str, str]:
    public_key, private_key = keys.generate()
    settings.NOTIFICATIONS_PUSH_VAPID_PUBLIC_KEY = public_key
    settings.NOTIFICATIONS_PUSH_VAPID_PRIVATE_KEY = private_key
    settings.NOTIFICATIONS_PUSH_SUBJECT = "mailto:ops@example.com"
    settings.NOTIFICATIONS_PUSH_ALLOW_HTTP = True
    return public_key, private_key


@pytest.fixture
def service(vapid) -> Iterator[PushService]:
    running = PushService(vapid[0]).start()
    yield running
    running.stop()


def subscribed(user: Any, service: PushService, answers: list[int] | None = None) -> Browser:
    browser = service.browser(answers)
    subscriptions.subscribe(user, endpoint=browser.endpoint, **browser.keys)
    return browser


# Keys ---------------------------------------------------------------------------------------


def test_the_command_prints_a_key_pair_that_signs(settings):
    output = io.StringIO()
    call_command("generate_vapid_keys", stdout=output)
    lines = dict(line.split("=", 1) for line in output.getvalue().split())
    settings.NOTIFICATIONS_PUSH_VAPID_PUBLIC_KEY = lines["NOTIFICATIONS_PUSH_VAPID_PUBLIC_KEY"]
    settings.NOTIFICATIONS_PUSH_VAPID_PRIVATE_KEY = lines["NOTIFICATIONS_PUSH_VAPID_PRIVATE_KEY"]

    assert keys.enabled()
    assert len(keys.b64url_decode(keys.public_key())) == 65
    # The local push service checks the token as a vendor's would (RFC 8292).
    checker = PushService(keys.public_key())
    claims = {"aud": checker.origin, "exp": int(time.time()) + 60, "sub": "mailto:ops@example.com"}
    headers = keys.signer().sign(claims)
    assert checker.check_vapid(headers["Authorization"]) == "mailto:ops@example.com"
    checker.stop()


def test_a_private_key_that_is_not_the_public_keys_pair_fails_fast(settings, vapid):
    settings.NOTIFICATIONS_PUSH_VAPID_PUBLIC_KEY = keys.generate()[0]
    with pytest.raises(ImproperlyConfigured, match="generate_vapid_keys"):
        keys.signer()


def test_without_keys_push_is_off(settings, user):
    settings.NOTIFICATIONS_PUSH_VAPID_PRIVATE_KEY = ""
    assert not keys.enabled()


# Sending ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "urgency", "ttl"),
    [
        (Level.LOW, "low", 6 * 3600),
        (Level.MEDIUM, "normal", 24 * 3600),
        (Level.HIGH, "high", 72 * 3600),
    ],
)
def test_a_notification_reaches_each_browser_encrypted_with_ttl_and_urgency_of_its_level(
    user, service, level, urgency, ttl
):
    browsers = [subscribed(user, service) for _ in range(3)]
    notification = NotificationService.create_notification(
        user, "Build 42 failed", title="CI", level=level, data={"url": "/builds/42"}
    )

    outcome = sending.send_notifications([notification.pk])

    assert (outcome.sent, outcome.removed, outcome.retry) == (3, 0, {})
    deliveries = service.delivered()
    assert sorted(each.token for each in deliveries) == sorted(b.token for b in browsers)
    assert service.refusals == []
    for delivery in deliveries:
        assert delivery.message["id"] == notification.pk
        assert (delivery.message["title"], delivery.message["body"]) == ("CI", "Build 42 failed")
        assert delivery.message["url"] == "/builds/42"
        assert (delivery.urgency, delivery.ttl) == (urgency, ttl)
        assert delivery.subject == "mailto:ops@example.com"
        assert delivery.topic == sending.topic(f"notification:{notification.pk}")


def test_another_users_browsers_get_nothing(user, other_user, service):
    subscribed(other_user, service)
    mine = subscribed(user, service)
    notification = NotificationService.create_notification(user, "Yours")

    sending.send_notifications([notification.pk])

    assert [each.token for each in service.delivered()] == [mine.token]


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_service_says_is_gone_is_removed(user, service, status):
    gone = subscribed(user, service, answers=[status])
    kept = subscribed(user, service)
    notification = NotificationService.create_notification(user, "Hello")

    outcome = sending.send_notifications([notification.pk])

    assert (outcome.sent, outcome.removed) == (1, 1)
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [kept.endpoint]
    assert gone.endpoint not in {each.endpoint for each in PushSubscription.objects.all()}


def test_a_429_is_kept_for_a_retry_after_what_the_service_asked(user, service):
    waiting = subscribed(user, service, answers=[429])
    notification = NotificationService.create_notification(user, "Hello")

    outcome = sending.send_notifications([notification.pk])

    subscription = PushSubscription.objects.get(endpoint=waiting.endpoint)
    assert outcome.retry == {notification.pk: [subscription.pk]}
    assert outcome.retry_after == 1
    again = sending.send_again(notification.pk, [subscription.pk])
    assert (again.sent, again.retry) == (1, {})
    assert [each.status for each in service.deliveries] == [429, 201]


def test_an_unreachable_service_is_retried_and_its_subscription_kept(user, service):
    browser = service.browser()
    # Nothing listens on the discard port: the connection is refused.
    PushSubscription.objects.create(user=user, endpoint="http://127.0.0.1:9/push/x", **browser.keys)
    notification = NotificationService.create_notification(user, "Hello")

    outcome = sending.send_notifications([notification.pk])

    assert list(outcome.retry) == [notification.pk]
    assert PushSubscription.objects.count() == 1


def test_a_category_with_push_off_sends_nothing_and_a_mandatory_one_always_sends(user, service):
    subscribed(user, service)
    preferences.update(user, [{"category": "general", "push": False}], replace=False)
    muted = NotificationService.create_notification(user, "Muted", category="general")
    mandatory = NotificationService.create_notification(user, "Always", category="system")

    outcome = sending.send_notifications([muted.pk, mandatory.pk])

    assert outcome.sent == 1
    assert [each.message["body"] for each in service.delivered()] == ["Always"]


def test_a_category_registered_with_push_off_reaches_only_those_who_turned_it_on(
    user, other_user, service, monkeypatch
):
    monkeypatch.setattr(categories, "_registry", dict(categories._registry))
    categories.register("digest_only", "Digest only", push=False)
    subscribed(user, service)
    subscribed(other_user, service)
    preferences.update(other_user, [{"category": "digest_only", "push": True}], replace=False)
    rows = NotificationService.notify_many([user, other_user], "Weekly", category="digest_only")

    sending.send_notifications([row.pk for row in rows])

    assert [each.message["body"] for each in service.delivered()] == ["Weekly"]
    assert preferences.push_recipients("digest_only", [user.pk, other_user.pk]) == [other_user.pk]


def test_a_notification_read_before_the_job_runs_is_not_pushed(user, service):
    subscribed(user, service)
    notification = NotificationService.create_notification(user, "Seen already")
    NotificationService.mark_notification_read(notification.pk, user)

    assert sending.send_notifications([notification.pk]).sent == 0
    assert service.deliveries == []


def test_a_payload_at_the_limit_is_whole_and_past_it_is_cut(user, service):
    notification = NotificationService.create_notification(user, "x")
    empty = len(sending.payload(notification, None)) - 1
    notification.message = "x" * (sending.MAX_PAYLOAD_BYTES - empty)
    at_limit = sending.payload(notification, None)
    notification.message += "x"
    past = sending.payload(notification, None)

    assert len(at_limit) == sending.MAX_PAYLOAD_BYTES
    assert len(past) <= sending.MAX_PAYLOAD_BYTES
    assert json.loads(past)["body"].endswith("…")


def test_the_largest_notification_fits_one_push_message(user, service):
    subscribed(user, service)
    # Every character escaped as \\uXXXX in JSON: the most bytes a 2000-character message takes.
    notification = NotificationService.create_notification(user, "😀" * 1000, title="é" * 200)

    assert sending.send_notifications([notification.pk]).sent == 1
    (delivery,) = service.delivered()
    assert delivery.body_bytes <= 4096
    assert delivery.message["body"].startswith("😀" * 100)
    assert delivery.message["body"].endswith("…")


def test_a_groups_updates_share_one_tag(user, service):
    subscribed(user, service)
    first = NotificationService.create_notification(user, "One comment", group_key="task:1")
    second = NotificationService.create_notification(user, "Two comments", group_key="task:1")

    sending.send_notifications([first.pk])
    sending.send_notifications([second.pk])

    tags = {each.message["tag"] for each in service.delivered()}
    assert tags == {"group:task:1"}


# The job engine -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_commit_hands_its_notifications_to_the_push_job_off_the_writing_thread(
    service, monkeypatch, settings
):
    assert settings.JOBS_INLINE  # no broker in unit tests: the push thread runs the job
    user = UserFactory()
    subscribed(user, service)
    threads: list[str] = []
    send_one = sending.send_notifications

    def recorded(ids: list[int]) -> sending.Outcome:
        threads.append(threading.current_thread().name)
        return send_one(ids)

    monkeypatch.setattr(sending, "send_notifications", recorded)

    with transaction.atomic():
        notification = NotificationService.create_notification(user, "After commit")
        dispatch.wait_inline()
        assert threads == []  # nothing is queued before the commit
    dispatch.wait_inline()

    assert [each.message["id"] for each in service.wait_for(1)] == [notification.pk]
    assert len(threads) == 1
    assert threads[0].startswith("notifications-push")
    assert threads[0] != threading.current_thread().name


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_write_pushes_nothing(service):
    user = UserFactory()
    subscribed(user, service)
    with contextlib.suppress(RuntimeError), transaction.atomic():
        NotificationService.create_notification(user, "Never")
        raise RuntimeError
    assert not Notification.objects.exists()
    dispatch.wait_inline()
    assert service.deliveries == []


def test_a_fan_out_is_split_into_jobs(monkeypatch, vapid, django_capture_on_commit_callbacks):
    queued: list[list[int]] = []
    monkeypatch.setattr(dispatch, "run_job", lambda name, ids, **kw: queued.append(ids))
    monkeypatch.setattr(dispatch, "IDS_PER_JOB", 2)
    users = UserFactory.create_batch(5)

    with django_capture_on_commit_callbacks(execute=True):
        rows = NotificationService.notify_many(users, "Everyone")

    assert sorted(id_ for ids in queued for id_ in ids) == sorted(row.pk for row in rows)
    assert [len(ids) for ids in queued] == [2, 2, 1]


def test_retries_back_off_and_stop(monkeypatch):
    queued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        dispatch, "run_job", lambda name, *args, countdown: queued.append((name, args, countdown))
    )
    outcome = sending.Outcome(retry={7: [1, 2]})

    jobs._pushed(outcome, attempt=1)
    jobs._pushed(sending.Outcome(retry={7: [1]}, retry_after=30), attempt=2)
    jobs._pushed(sending.Outcome(retry={7: [1]}), attempt=3)
    jobs._pushed(sending.Outcome(retry={7: [1]}), attempt=jobs.MAX_PUSH_ATTEMPTS)

    assert queued == [
        ("retry_pushes", (7, [1, 2], 2), sending.DEFAULT_RETRY_AFTER),
        ("retry_pushes", (7, [1], 3), 30),
        ("retry_pushes", (7, [1], 4), sending.DEFAULT_RETRY_AFTER * 4),
    ]


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, 0), ("0", 1), ("5", 5), ("999999", sending.MAX_RETRY_AFTER), ("Wed, 21 Oct", 0)],
)
def test_retry_after_is_read_within_bounds(header, seconds):
    assert sending.retry_after(header) == seconds


# REST ---------------------------------------------------------------------------------------


def test_status_gives_the_public_key_and_the_users_browsers(api_client, user, vapid, service):
    subscribed(user, service)
    body = api_client.get(STATUS).json()
    assert body == {"enabled": True, "public_key": vapid[0], "subscriptions": 1}


def test_status_without_keys_says_disabled(api_client, settings):
    settings.NOTIFICATIONS_PUSH_VAPID_PUBLIC_KEY = ""
    assert api_client.get(STATUS).json() == {
        "enabled": False,
        "public_key": None,
        "subscriptions": 0,
    }


def test_subscribe_stores_one_row_per_endpoint_and_moves_it_to_the_last_user(
    api_client, other_client, user, other_user, service
):
    browser = service.browser()

    first = api_client.post(SUBSCRIBE, browser.as_json(), format="json")
    again = api_client.post(SUBSCRIBE, browser.as_json(), format="json")
    moved = other_client.post(SUBSCRIBE, browser.as_json(), format="json")

    assert [first.status_code, again.status_code, moved.status_code] == [HTTPStatus.CREATED] * 3
    assert first.json()["endpoint"] == browser.endpoint
    assert list(PushSubscription.objects.values_list("user_id", flat=True)) == [other_user.pk]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"endpoint": "not a url"}, "endpoint"),
        ({"endpoint": "https://push.example/" + "a" * 2000}, "endpoint"),
        ({"keys": {"p256dh": "AAAA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "keys"),
        ({"keys": {"p256dh": None, "auth": "x"}}, "keys"),
        ({"keys": "nope"}, "keys"),
        ({"expirationTime": "soon"}, "expirationTime"),
    ],
)
def test_a_malformed_subscription_is_a_400(api_client, service, change, field):
    body = {**service.browser().as_json(), **change}
    response = api_client.post(SUBSCRIBE, body, format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize("auth_bytes", [15, 17])
def test_an_auth_secret_of_the_wrong_size_is_a_400(api_client, service, auth_bytes):
    body = service.browser().as_json()
    body["keys"]["auth"] = keys.b64url(b"a" * auth_bytes)
    assert api_client.post(SUBSCRIBE, body, format="json").status_code == HTTPStatus.BAD_REQUEST


def test_an_http_endpoint_is_refused_unless_allowed(api_client, service, settings):
    settings.NOTIFICATIONS_PUSH_ALLOW_HTTP = False
    response = api_client.post(SUBSCRIBE, service.browser().as_json(), format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "https" in str(response.json()["endpoint"])


def test_subscribing_without_keys_is_a_404(api_client, settings):
    settings.NOTIFICATIONS_PUSH_VAPID_PRIVATE_KEY = ""
    response = api_client.post(SUBSCRIBE, {}, format="json")
    assert response.status_code == HTTPStatus.NOT_FOUND


def test_anonymous_cannot_subscribe(anonymous_client, service):
    response = anonymous_client.post(SUBSCRIBE, service.browser().as_json(), format="json")
    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_a_user_keeps_at_most_the_newest_subscriptions(api_client, user, service, settings):
    settings.NOTIFICATIONS_PUSH_MAX_SUBSCRIPTIONS = 3
    browsers = [service.browser() for _ in range(4)]
    for browser in browsers[:3]:
        api_client.post(SUBSCRIBE, browser.as_json(), format="json")
    assert PushSubscription.objects.count() == 3

    api_client.post(SUBSCRIBE, browsers[3].as_json(), format="json")

    kept = set(PushSubscription.objects.values_list("endpoint", flat=True))
    assert kept == {browser.endpoint for browser in browsers[1:]}


def test_unsubscribe_removes_only_the_users_own(api_client, other_client, user, service):
    browser = subscribed(user, service)

    refused = other_client.post(UNSUBSCRIBE, {"endpoint": browser.endpoint}, format="json")
    done = api_client.post(UNSUBSCRIBE, {"endpoint": browser.endpoint}, format="json")
    again = api_client.post(UNSUBSCRIBE, {"endpoint": browser.endpoint}, format="json")

    assert [refused.status_code, done.status_code, again.status_code] == [
        HTTPStatus.NOT_FOUND,
        HTTPStatus.NO_CONTENT,
        HTTPStatus.NOT_FOUND,
    ]
    assert not PushSubscription.objects.exists()


def test_the_service_worker_is_served_from_the_root_for_the_whole_site(client):
    response = client.get("/service-worker.js")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert b'addEventListener("push"' in response.content
    assert b'addEventListener("notificationclick"' in response.content
