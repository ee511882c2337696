"""`notifications/settings/`: each user's language, time zone and quiet hours."""

from datetime import time
from http import HTTPStatus

import pytest
from django.urls import reverse

from notifications.models import ReaderSettings
from notifications.reader import profile
from notifications.tests.racing import in_threads, needs_postgresql

pytestmark = pytest.mark.django_db

URL = reverse("notifications:reader-settings")


def test_defaults_and_the_languages_on_offer(api_client):
    response = api_client.get(URL)
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "language": "",
        "time_zone": "",
        "quiet_start": None,
        "quiet_end": None,
        "languages": [{"code": "en", "name": "English"}, {"code": "fr", "name": "français"}],
    }


def test_a_patch_changes_only_what_it_names(api_client, user):
    changed = {"language": "fr", "time_zone": "Europe/Paris"}
    assert api_client.patch(URL, changed, format="json").status_code == HTTPStatus.OK
    quiet = {"quiet_start": "22:00", "quiet_end": "07:00"}
    body = api_client.patch(URL, quiet, format="json").json()
    assert {key: body[key] for key in (*changed, *quiet)} == {**changed, **quiet}
    row = ReaderSettings.objects.get(user=user)
    assert (row.language, row.time_zone, row.quiet_start, row.quiet_end) == (
        "fr",
        "Europe/Paris",
        time(22),
        time(7),
    )
    # Empty and null go back to the defaults.
    cleared = {"language": "", "quiet_start": None, "quiet_end": None}
    body = api_client.patch(URL, cleared, format="json").json()
    assert (body["language"], body["quiet_start"], body["time_zone"]) == ("", None, "Europe/Paris")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"language": "de"}, "language"),
        ({"language": "x" * 17}, "language"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
        ({"time_zone": "Europe/" + "x" * 58}, "time_zone"),
        ({"quiet_start": "22:00"}, "quiet_end"),
        ({"quiet_start": "07:00", "quiet_end": "07:00"}, "quiet_end"),
        ({"quiet_start": "25:00", "quiet_end": "07:00"}, "quiet_start"),
        ({"quiet_start": 7, "quiet_end": "07:00"}, "quiet_start"),
    ],
)
def test_bad_values_are_a_400_naming_the_field_and_store_nothing(api_client, user, change, field):
    response = api_client.patch(URL, change, format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()
    assert profile.reader_of(user).language == ""
    assert ReaderSettings.objects.filter(user=user).exclude(language="").count() == 0


def test_a_body_that_is_not_an_object_is_a_400(api_client):
    response = api_client.patch(URL, ["fr"], format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_signed_out_is_refused(anonymous_client):
    assert anonymous_client.get(URL).status_code == HTTPStatus.UNAUTHORIZED
    response = anonymous_client.patch(URL, {"language": "fr"}, format="json")
    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_each_user_sees_and_changes_only_their_own(api_client, other_client, other_user):
    api_client.patch(URL, {"language": "fr"}, format="json")
    assert other_client.get(URL).json()["language"] == ""
    assert profile.reader_of(other_user).writes_in == "en"


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_changes_of_different_fields_are_all_kept(user):
    changes = [
        {"language": "fr"},
        {"time_zone": "Asia/Tokyo"},
        {"quiet_start": time(22), "quiet_end": time(6)},
    ]
    results = in_threads(len(changes), lambda index: profile.update(user.pk, changes[index]))
    assert not [result for result in results if isinstance(result, Exception)]
    reader = profile.reader_of(user)
    assert (reader.language, reader.time_zone, reader.quiet_start, reader.quiet_end) == (
        "fr",
        "Asia/Tokyo",
        time(22),
        time(6),
    )
