"""Every snippet of the backend usage guide runs as written."""

from types import SimpleNamespace

import pytest
from django.core.management import call_command

from notifications.models import Notification
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

# The snippets below are copied verbatim from the usage guide, indentation included.
CREATE = """\
from notifications.services import NotificationService

notification = NotificationService.create_notification(user, "Your project was approved")
"""

MARK_READ = """\
from notifications.services import NotificationService

NotificationService.mark_notification_read(notification_id, user)
"""

MARK_ALL_READ = """\
from notifications.services import NotificationService

count = NotificationService.mark_all_notifications_read(user)
"""

SHORTCUTS = """\
from notifications.utils import (
  send_notification,
  send_project_notification,
  send_quote_notification,
  send_payment_notification,
)

send_notification(user, "Message")
send_project_notification(project, "Message")
send_quote_notification(quote, "Message")
send_payment_notification(payment, "Message")
"""

MODEL_IMPORT = "from notifications.models import Notification\n"


@pytest.fixture
def namespace(user) -> dict[str, object]:
    """The names the snippets assume: a user, a notification id and objects a user owns."""
    return {
        "user": user,
        "notification_id": NotificationFactory.create(recipient=user).pk,
        "project": SimpleNamespace(owner=user),
        "quote": SimpleNamespace(client=user),
        "payment": SimpleNamespace(customer=user),
    }


def run(snippet: str, namespace: dict[str, object]) -> dict[str, object]:
    exec(compile(snippet, "<guide>", "exec"), namespace)  # noqa: S102 - the guide's own code
    return namespace


def test_create_a_notification(namespace, user):
    result = run(CREATE, namespace)

    notification = result["notification"]
    assert isinstance(notification, Notification)
    assert notification.recipient_id == user.id
    assert notification.message == "Your project was approved"


def test_mark_a_notification_read(namespace):
    run(MARK_READ, namespace)

    assert Notification.objects.get(pk=namespace["notification_id"]).is_read


def test_mark_all_read_returns_the_count(namespace, user):
    NotificationFactory.create_batch(2, recipient=user)

    result = run(MARK_ALL_READ, namespace)

    assert result["count"] == 3
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()


def test_the_convenience_utilities(namespace, user):
    run(SHORTCUTS, namespace)

    sent = Notification.objects.filter(recipient=user, message="Message")
    assert sorted(sent.values_list("category", flat=True)) == [
        "general",
        "payment",
        "project",
        "quote",
    ]


def test_the_model_import(namespace):
    assert run(MODEL_IMPORT, namespace)["Notification"] is Notification


def test_a_snippet_runs_in_manage_py_shell(user):
    setup = "from django.contrib.auth import get_user_model\n"
    setup += f"user = get_user_model().objects.get(pk={user.pk})\n"

    call_command("shell", command=setup + CREATE)

    assert Notification.objects.get(recipient=user).message == "Your project was approved"
