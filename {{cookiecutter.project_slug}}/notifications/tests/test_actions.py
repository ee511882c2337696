"""Notification actions: validated at the write, run once by their recipient, result pushed."""

import threading
from http import HTTPStatus
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from notifications.inbox import actions
from notifications.models import Event, EventKind, Notification
from notifications.services import NotificationService
from notifications.tests.racing import failures, in_threads, needs_postgresql
from notifications.tests.test_inbox_states import inbox, run  # noqa: F401

pytestmark = pytest.mark.django_db

CALLS: list[int] = []
LOCK = threading.Lock()


@actions.register("tests.count")
def count(user: Any, notification: Notification) -> dict[str, Any]:
    with LOCK:
        CALLS.append(notification.pk)
    return {"calls": len(CALLS), "user": user.get_username()}


BUTTONS = [
    {"label": "Do it", "style": "primary", "action": "tests.count"},
    {"label": "Open", "style": "secondary", "url": "/tasks/1/"},
]


@pytest.fixture(autouse=True)
def no_calls():
    CALLS.clear()


def with_buttons(user: Any) -> Notification:
    return NotificationService.create_notification(user, "Act", actions=BUTTONS)


@pytest.mark.parametrize(
    "bad",
    [
        [*BUTTONS, BUTTONS[1]],
        [{"label": "", "style": "primary", "url": "/"}],
        [{"label": "x" * 41, "style": "primary", "url": "/"}],
        [{"label": "Go", "style": "loud", "url": "/"}],
        [{"label": "Go", "style": "primary", "url": "javascript:alert(1)"}],
        [{"label": "Go", "style": "primary", "action": "nobody.registered"}],
        [{"label": "Go", "style": "primary", "url": "/", "action": "tests.count"}],
        [{"label": "Go", "style": "primary"}],
        ["Go"],
    ],
)
def test_bad_actions_are_refused_at_the_write(user, bad):
    with pytest.raises(ValidationError):
        NotificationService.create_notification(user, "Act", actions=bad)
    assert not Notification.objects.exists()


def test_two_actions_at_the_label_limit_are_stored_and_serialised(user):
    label = "x" * actions.MAX_LABEL_LENGTH
    both = [{**BUTTONS[0], "label": label}, BUTTONS[1]]

    notification = NotificationService.create_notification(user, "Act", actions=both)

    assert Notification.objects.get(pk=notification.pk).actions == both


def test_an_action_runs_once_and_its_result_is_pushed(user, inbox, run):  # noqa: F811
    notification = with_buttons(user)
    inbox.frames()

    first = run(NotificationService.run_action, notification.pk, user, 0)
    second = run(NotificationService.run_action, notification.pk, user, 0)

    assert first["ran"] is True
    assert second["ran"] is False
    assert first["result"] == second["result"] == {"calls": 1, "user": user.get_username()}
    assert [notification.pk] == CALLS
    [frame] = inbox.frames()
    assert (frame["event"], frame["payload"]["index"]) == ("action_done", 0)
    assert frame["payload"]["notification"]["action_results"]["0"]["result"]["calls"] == 1


def test_a_link_index_or_a_missing_index_is_refused(user):
    notification = with_buttons(user)

    for index in (1, 2):
        with pytest.raises(ValidationError):
            NotificationService.run_action(notification.pk, user, index)
    assert CALLS == []


def test_another_users_notification_is_not_found(user, other_user):
    notification = with_buttons(other_user)

    with pytest.raises(Notification.DoesNotExist):
        NotificationService.run_action(notification.pk, user, 0)
    assert CALLS == []


def test_rest_runs_it_and_refuses_others(api_client, user, other_user):
    mine, theirs = with_buttons(user), with_buttons(other_user)

    def url(pk: int, index: int) -> str:
        return reverse("notifications:user-run-action", args=[pk, index])

    response = api_client.post(url(mine.pk, 0))
    assert response.status_code == HTTPStatus.OK
    assert (response.json()["ran"], response.json()["result"]["calls"]) == (True, 1)
    assert api_client.post(url(mine.pk, 0)).json()["ran"] is False
    assert api_client.post(url(mine.pk, 1)).status_code == HTTPStatus.BAD_REQUEST
    assert api_client.post(url(theirs.pk, 0)).status_code == HTTPStatus.NOT_FOUND
    assert [mine.pk] == CALLS


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_call_the_handler_once(user):
    notification = with_buttons(user)

    results = in_threads(2, lambda _: NotificationService.run_action(notification.pk, user.pk, 0))

    assert failures(results) == []
    assert sorted(result["ran"] for result in results) == [False, True]
    assert [notification.pk] == CALLS
    assert Event.objects.filter(kind=EventKind.ACTION_DONE).count() == 1
