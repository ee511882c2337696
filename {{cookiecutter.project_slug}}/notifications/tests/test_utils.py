"""The send_* shortcuts: who receives, which category, which target."""

from types import SimpleNamespace

import pytest

from notifications.tests.factories import BroadcastReceiptFactory
from notifications.utils import (
    recipient_of,
    send_notification,
    send_payment_notification,
    send_project_notification,
    send_quote_notification,
)

pytestmark = pytest.mark.django_db


def test_send_notification_passes_options_through(user):
    notification = send_notification(user, "Hello", category="project", title="Hi")

    assert notification.recipient_id == user.id
    assert notification.category == "project"
    assert notification.title == "Hi"


@pytest.mark.parametrize("attribute", ["owner", "user", "client", "customer", "created_by"])
def test_recipient_is_found_under_each_attribute(user, attribute):
    project = SimpleNamespace(**{attribute: user})

    assert send_project_notification(project, "Approved").recipient_id == user.id


def test_the_first_attribute_that_is_set_wins(user, other_user):
    quote = SimpleNamespace(owner=None, user=other_user, client=user)

    assert recipient_of(quote) == other_user


@pytest.mark.parametrize(
    ("send", "category"),
    [
        (send_project_notification, "project"),
        (send_quote_notification, "quote"),
        (send_payment_notification, "payment"),
    ],
)
def test_each_shortcut_sets_its_category(user, send, category):
    assert send(SimpleNamespace(owner=user), "Message").category == category


def test_a_category_option_overrides_the_default(user):
    notification = send_payment_notification(SimpleNamespace(owner=user), "Hi", category="general")

    assert notification.category == "general"


def test_a_saved_model_is_linked_as_target_and_its_foreign_key_id_used(user):
    # A receipt has a `user` foreign key: any saved model with one of the attributes works.
    receipt = BroadcastReceiptFactory(user=user)

    notification = send_payment_notification(receipt, "Receipt")

    assert notification.recipient_id == user.id
    assert notification.target == receipt
    assert notification.target_object_id == str(receipt.pk)


def test_a_plain_object_has_no_target(user):
    notification = send_quote_notification(SimpleNamespace(customer=user.id), "Quote")

    assert notification.recipient_id == user.id
    assert notification.target_content_type is None


def test_an_object_with_no_recipient_is_a_value_error_naming_the_attributes(db):
    with pytest.raises(ValueError, match="owner, user, client, customer, created_by"):
        send_project_notification(SimpleNamespace(owner=None, name="Orphan"), "Message")


def test_the_attributes_come_from_the_setting(user, settings):
    settings.NOTIFICATIONS_RECIPIENT_ATTRIBUTES = ["assignee"]

    assert send_project_notification(SimpleNamespace(assignee=user), "Hi").recipient_id == user.id
    with pytest.raises(ValueError, match="assignee"):
        send_project_notification(SimpleNamespace(owner=user), "Hi")
