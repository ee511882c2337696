"""Channel preferences: defaults from the registry, overrides per user, and the inbox they gate."""

import pytest
from django.core.exceptions import ValidationError

from notifications import categories
from notifications.models import Notification, NotificationPreference
from notifications.reader import preferences
from notifications.services import NotificationService
from notifications.stream import events
from notifications.tests.factories import UserFactory
from notifications.tests.test_services import Inbox

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def registry(monkeypatch):
    """A copy of the registry with an opt-in category, so registrations do not leak."""
    monkeypatch.setattr(categories, "_registry", dict(categories._registry))
    categories.register("digest_only", "Weekly digest", in_app=False, email=True)


def by_category(rows: list[preferences.Preference]) -> dict[str, preferences.Preference]:
    return {row["category"]: row for row in rows}


def test_every_registered_category_has_its_defaults(user):
    rows = by_category(preferences.for_user(user))

    assert set(rows) == {category.name for category in categories.all_categories()}
    assert rows["general"] == {
        "category": "general",
        "label": "General",
        "in_app": True,
        "email": False,
        "push": True,
        "mandatory": False,
    }
    assert rows["payment"]["email"] is True
    assert rows["system"]["mandatory"] is True
    assert not NotificationPreference.objects.exists()


def test_patch_stores_only_what_differs_from_the_default(user):
    preferences.update(
        user, [{"category": "general", "in_app": False, "email": False}], replace=False
    )

    row = NotificationPreference.objects.get(user=user)
    assert (row.category, row.in_app, row.email) == ("general", False, None)
    assert by_category(preferences.for_user(user))["general"]["in_app"] is False


def test_patch_keeps_the_other_choices_and_put_resets_them(user):
    preferences.update(user, [{"category": "general", "in_app": False}], replace=False)
    preferences.update(user, [{"category": "quote", "email": True}], replace=False)

    rows = by_category(preferences.for_user(user))
    assert (rows["general"]["in_app"], rows["quote"]["email"]) == (False, True)

    rows = by_category(preferences.update(user, [{"category": "quote"}], replace=True))
    assert (rows["general"]["in_app"], rows["quote"]["email"]) == (True, False)
    assert not NotificationPreference.objects.exists()


def test_choosing_the_default_again_removes_the_override(user):
    preferences.update(user, [{"category": "general", "in_app": False}], replace=False)
    preferences.update(user, [{"category": "general", "in_app": True}], replace=False)

    assert not NotificationPreference.objects.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ([{"category": "system", "in_app": False}], "mandatory"),
        ([{"category": "system", "email": False}], "mandatory"),
        ([{"category": "nope", "email": False}], "Unknown category"),
        ([{"category": "quote", "email": True}, {"category": "quote"}], "more than once"),
    ],
)
def test_a_bad_change_stores_nothing(user, changes, message):
    preferences.update(user, [{"category": "general", "in_app": False}], replace=False)

    with pytest.raises(ValidationError, match=message):
        preferences.update(user, changes, replace=True)

    assert list(NotificationPreference.objects.values_list("category", "in_app")) == [
        ("general", False)
    ]


def test_a_mandatory_category_accepts_its_own_values(user):
    rows = preferences.update(
        user, [{"category": "system", "in_app": True, "email": True}], replace=False
    )

    assert by_category(rows)["system"]["in_app"] is True


def test_a_muted_category_creates_nothing_for_that_user_and_still_does_for_others(
    user, other_user, django_capture_on_commit_callbacks
):
    preferences.update(user, [{"category": "quote", "in_app": False}], replace=False)
    user_inbox = Inbox(events.user_group(user.id))
    other_inbox = Inbox(events.user_group(other_user.id))

    with django_capture_on_commit_callbacks(execute=True):
        created = NotificationService.notify_many([user, other_user], "New quote", category="quote")
        muted = NotificationService.create_notification(user, "Another quote", category="quote")
        general = NotificationService.create_notification(user, "Still here")

    assert [row.recipient_id for row in created] == [other_user.id]
    assert muted.pk is None
    assert (muted.recipient_id, muted.category) == (user.id, "quote")
    assert list(Notification.objects.filter(recipient=user)) == [general]
    assert [f["payload"]["notification"]["message"] for f in user_inbox.frames()] == ["Still here"]
    assert [f["payload"]["notification"]["message"] for f in other_inbox.frames()] == ["New quote"]


def test_an_opt_in_category_reaches_only_those_who_turned_it_on(user, other_user):
    preferences.update(user, [{"category": "digest_only", "in_app": True}], replace=False)

    created = NotificationService.notify_many([user, other_user], "Weekly", category="digest_only")

    assert [row.recipient_id for row in created] == [user.id]


def test_a_mandatory_category_ignores_a_stored_override(user):
    # Stored directly: the service refuses it, but a category can become mandatory later.
    NotificationPreference.objects.create(user=user, category="system", in_app=False)

    notification = NotificationService.create_notification(user, "New sign-in", category="system")

    assert notification.pk is not None
    assert by_category(preferences.for_user(user))["system"]["in_app"] is True


def test_notify_many_reads_preferences_in_one_query_for_any_number_of_users(
    django_assert_num_queries,
):
    users = UserFactory.create_batch(30)
    for muted in users[::3]:
        NotificationPreference.objects.create(user=muted, category="general", in_app=False)
    ids = [u.id for u in users]

    with django_assert_num_queries(1):
        recipients = preferences.in_app_recipients("general", ids)

    assert recipients == [u.id for u in users if u not in users[::3]]


def test_turn_email_off_skips_mandatory_and_unknown_categories(user):
    turned_off = preferences.turn_email_off(user, ["quote", "payment", "system", "gone"])

    assert turned_off == ["payment", "quote"]
    rows = by_category(preferences.for_user(user))
    assert (rows["payment"]["email"], rows["quote"]["email"]) == (False, False)
    assert rows["system"]["email"] is True
