"""`notifications/preferences/`: each user's channels per category."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from notifications import categories
from notifications.models import NotificationPreference

pytestmark = pytest.mark.django_db

URL = reverse("notifications:preferences")


def by_category(response) -> dict[str, dict]:
    return {row["category"]: row for row in response.json()}


def test_anonymous_is_refused(anonymous_client):
    assert anonymous_client.get(URL).status_code == HTTPStatus.UNAUTHORIZED


def test_get_lists_every_registered_category_with_its_defaults(api_client):
    response = api_client.get(URL)

    assert response.status_code == HTTPStatus.OK
    rows = by_category(response)
    assert list(rows) == [category.name for category in categories.all_categories()]
    assert rows["general"] == {
        "category": "general",
        "label": "General",
        "in_app": True,
        "email": False,
        "push": True,
        "mandatory": False,
    }
    assert rows["system"]["mandatory"] is True


def test_patch_changes_only_what_it_names(api_client, other_client):
    api_client.patch(URL, [{"category": "general", "in_app": False}], format="json")
    response = api_client.patch(URL, [{"category": "quote", "email": True}], format="json")

    assert response.status_code == HTTPStatus.OK
    rows = by_category(response)
    assert (rows["general"]["in_app"], rows["quote"]["email"]) == (False, True)
    assert by_category(api_client.get(URL)) == rows
    # Nobody else's preferences changed: there is no way to name them.
    assert by_category(other_client.get(URL))["general"]["in_app"] is True


def test_put_sets_the_whole_set(api_client):
    api_client.patch(URL, [{"category": "general", "in_app": False}], format="json")

    response = api_client.put(URL, [{"category": "quote", "email": True}], format="json")

    rows = by_category(response)
    assert (rows["general"]["in_app"], rows["quote"]["email"]) == (True, True)
    assert list(NotificationPreference.objects.values_list("category", flat=True)) == ["quote"]


def test_put_of_what_get_returned_changes_nothing(api_client):
    before = api_client.get(URL).json()

    response = api_client.put(URL, before, format="json")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == before
    assert not NotificationPreference.objects.exists()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ([{"category": "nope", "email": True}], "Unknown category"),
        ([{"category": "general", "email": "yes"}], "valid boolean"),
        ([{"category": "general", "in_app": 1}], "valid boolean"),
        ([{"category": "general", "in_app": None}], "null"),
        ([{"category": "system", "email": False}], "mandatory"),
        ([{"category": "system", "in_app": False}], "mandatory"),
        ([{"category": "quote", "email": True}, {"category": "quote"}], "more than once"),
        ([{"email": True}], "required"),
        ({"category": "general", "email": True}, "list"),
        ("general", "list"),
    ],
)
@pytest.mark.parametrize("method", ["put", "patch"])
def test_bad_input_is_a_400_and_changes_nothing(api_client, method, body, fragment):
    api_client.patch(URL, [{"category": "general", "in_app": False}], format="json")

    response = getattr(api_client, method)(URL, body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/json"
    assert fragment in str(response.json())
    assert list(NotificationPreference.objects.values_list("category", "in_app", "email")) == [
        ("general", False, None)
    ]


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_list_longer_than_the_categories_is_one_short_400_before_any_entry_is_read(
    api_client, method
):
    """60,000 bad entries (2.3 MB) cost one error, not one per entry."""
    most = len(categories.all_categories())
    body = [{"category": f"nope{index}", "email": "yes"} for index in range(60_000)]

    response = getattr(api_client, method)(URL, body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"non_field_errors": [f"At most {most} entries: one per category."]}
    assert not NotificationPreference.objects.exists()


def test_a_list_of_every_category_is_accepted(api_client):
    body = [{"category": category.name} for category in categories.all_categories()]

    assert api_client.put(URL, body, format="json").status_code == HTTPStatus.OK
    assert api_client.patch(URL, body, format="json").status_code == HTTPStatus.OK
