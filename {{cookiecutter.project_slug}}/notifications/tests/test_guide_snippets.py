"""Every snippet of the backend usage guide and of docs/sending.md runs as written."""

import re
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.utils import timezone

from notifications import categories
from notifications.models import Broadcast, Notification
from notifications.tests.factories import BroadcastFactory, NotificationFactory, UserFactory
from notifications.users import signed_in_user

pytestmark = pytest.mark.django_db

SENDING = Path(__file__).resolve().parents[2] / "docs" / "sending.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)

# The usage guide ships apart from the project, so its snippets are copied here verbatim,
# indentation included; test_the_sending_page_shows_every_call_of_the_guide keeps the docs
# showing the same calls.
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


def code_lines(snippet: str) -> list[str]:
    """The snippet's lines without comments, indentation or blank lines."""
    stripped = (line.split("  #", 1)[0].strip() for line in snippet.splitlines())
    return [line for line in stripped if line]


def test_the_sending_page_shows_every_call_of_the_guide():
    shown = set(code_lines("\n".join(PYTHON_BLOCK.findall(SENDING.read_text()))))

    for snippet in (CREATE, MARK_READ, MARK_ALL_READ, SHORTCUTS):
        assert set(code_lines(snippet)) <= shown, snippet


@pytest.fixture
def page_names(user, other_user, rf, monkeypatch) -> dict[str, object]:
    """The names the page's snippets assume, as the code around them would hold them."""
    monkeypatch.setattr(categories, "_registry", dict(categories._registry))
    request = rf.get("/")
    request.user = other_user
    return {
        "user": user,
        "users": [user, other_user, UserFactory(username="carol")],
        "request": request,
        "signed_in_user": signed_in_user,
        "invoice": other_user,  # any saved model instance
        "carol": other_user,
        "task": SimpleNamespace(pk=7),
        "tonight": timezone.now() + timedelta(hours=6),
        "timezone": timezone,
        "timedelta": timedelta,
        "project": SimpleNamespace(owner=user),
        "quote": SimpleNamespace(client=user),
        "payment": SimpleNamespace(customer=user),
        "broadcast_id": BroadcastFactory.create().pk,
    }


def test_every_snippet_of_the_sending_page_runs_as_written(page_names, user):
    blocks = PYTHON_BLOCK.findall(SENDING.read_text())
    assert len(blocks) == 5

    for block in blocks:
        # Each block acts on a notification of its own (the first one deletes its).
        page_names["notification_id"] = NotificationFactory.create(recipient=user).pk
        run(block, page_names)

    mine = Notification.objects.filter(recipient=user)
    overdue = mine.get(message="Invoice 42 is overdue")
    assert (overdue.category, overdue.level, overdue.title) == ("payment", 3, "Payment reminder")
    assert overdue.actor == page_names["request"].user
    assert mine.get(message="Looks good to me").group_key == "task:7:comments"
    assert page_names["count"] == 2  # the approved project and the overdue invoice
    assert Notification.objects.filter(message="Maintenance tonight").count() == 3
    assert sorted(mine.filter(message="Message").values_list("category", flat=True)) == [
        "general",
        "payment",
        "project",
        "quote",
    ]
    assert categories.get("security").mandatory
    assert categories.get("shipping").email
    assert set(Broadcast.objects.values_list("message", flat=True)) >= {
        "Maintenance at 22:00",
        "Scheduled maintenance at 22:00 UTC",
    }
    assert page_names["broadcast_id"] in user.broadcast_receipts.values_list(
        "broadcast_id", flat=True
    )
