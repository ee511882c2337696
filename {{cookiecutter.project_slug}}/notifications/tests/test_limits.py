"""The limits of notifications/sending/limits.py: the largest frame they allow fits a socket,
and every way in (the service, a view, the commands, the admin) refuses one byte more."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from notifications import categories
from notifications.categories import MAX_NAME_LENGTH
from notifications.models import MAX_GROUP_KEY_LENGTH, Broadcast, Event, Level, Notification
from notifications.sending import limits
from notifications.sending.grouping import MAX_GROUP_ACTORS
from notifications.serializers import (
    MAX_ID,
    MAX_URL_BYTES,
    broadcast_payload,
    dumps,
    event_frame,
    notification_payloads,
    reply_frame,
)
from notifications.services import NotificationService
from notifications.tests.factories import UserFactory
from notifications.websocket.commands import MAX_REQUEST_ID_BYTES, REPLY_ENVELOPE_BYTES

pytestmark = pytest.mark.django_db

# One character that JSON escapes to 12 bytes ("\ud835\udc00"), the most any character costs.
WIDEST = "\U0001d400"
# One character that JSON escapes to 6 bytes ("\u4e2d"), as many as a title or message allows.
WIDE = "\u4e2d"
# A position as it may become ("<user position>:<broadcast position>"), at its longest.
LONGEST_POSITION = f"{MAX_ID}:{MAX_ID}"
# Unread and unseen counts of one category, at their widest.
WIDEST_COUNTS = {"unread": 2**31, "unseen": 2**31}


def data_of(size: int, *, url: str | None = None) -> dict[str, str]:
    """A `data` whose compact JSON is exactly `size` bytes, with a `url` if given."""
    data = {"url": url} if url is not None else {}
    data["blob"] = ""
    data["blob"] = "x" * (size - len(dumps(data)))
    assert limits.data_size(data) == size
    return data


def longest_link() -> str:
    """A path on this site whose JSON is exactly MAX_URL_BYTES: shown as `url`, so counted twice."""
    return "/" + "u" * (MAX_URL_BYTES - 3)


@pytest.fixture
def long_category(monkeypatch):
    monkeypatch.setattr(categories, "_registry", dict(categories._registry))
    return categories.register("c" * MAX_NAME_LENGTH).name


def largest_notification(long_category):
    """Every field a frame shows at its limit, as the service would store it."""
    username_length = get_user_model()._meta.get_field("username").max_length
    actors = [
        UserFactory(username=WIDEST * (username_length - 1) + str(number))
        for number in range(MAX_GROUP_ACTORS)
    ]
    # A target type as long as a content type can name, with the longest id a row links.
    target_type = ContentType.objects.create(app_label="a" * 100, model="m" * 100)
    now = timezone.now()
    title = WIDE * limits.MAX_TITLE_LENGTH
    message = WIDE * limits.MAX_MESSAGE_LENGTH
    data = data_of(django_settings.NOTIFICATIONS_MAX_DATA_BYTES, url=longest_link())
    group_key = WIDEST * MAX_GROUP_KEY_LENGTH
    target_id = WIDEST * limits.MAX_TARGET_ID_LENGTH
    # The service accepts every one of these values.
    limits.check_content(
        title=title, message=message, data=data, group_key=group_key, target_id=target_id
    )
    return Notification(
        id=MAX_ID,
        recipient=actors[0],
        actor=actors[0],
        actors=[{"id": MAX_ID, "username": actor.get_username()} for actor in actors],
        category=long_category,
        level=Level.MEDIUM,
        title=title,
        message=message,
        data=data,
        target_content_type=target_type,
        target_object_id=target_id,
        created_at=now,
        seen_at=now,
        read_at=now,
        archived_at=now,
        expires_at=now + timedelta(days=3650),
        group_key=group_key,
        group_count=2**31,
    )


def widest_counts() -> dict:
    return {
        **WIDEST_COUNTS,
        "by_category": {category.name: WIDEST_COUNTS for category in categories.all_categories()},
    }


def test_the_largest_notification_frame_fits_a_socket(long_category, settings):
    """The worst case the limits allow, in every frame that carries a notification."""
    notification = largest_notification(long_category)
    payload = notification_payloads([notification])[0]
    assert payload["url"] == longest_link(), "the link is shown, so its bytes count twice"
    frames = [
        event_frame(LONGEST_POSITION, "created", {"notification": payload}, widest_counts()),
        event_frame(
            LONGEST_POSITION,
            "updated",
            {"notification": payload, "replaces": MAX_ID},
            widest_counts(),
        ),
        event_frame(
            LONGEST_POSITION,
            "unarchived",
            {"ids": [MAX_ID], "notification": payload},
            widest_counts(),
        ),
    ]
    largest = max(len(dumps(frame).encode()) for frame in frames)

    # 45,973 bytes with the template's categories (their counts take 562): 19.1 KiB under the
    # 64 KiB daphne sends, room for about 190 more categories with unread notifications.
    assert largest < settings.NOTIFICATIONS_WS_MAX_MESSAGE_BYTES - 12 * 1024, largest
    # A `list` reply holds it too, whatever request_id the client sent.
    reply = reply_frame("list", {"notifications": [payload], "has_more": True}, "r" * 250)
    assert len(dumps(reply)) <= settings.NOTIFICATIONS_WS_MAX_MESSAGE_BYTES
    assert len(dumps(reply)) - len(dumps(payload)) < REPLY_ENVELOPE_BYTES
    assert len(dumps("r" * 250)) < MAX_REQUEST_ID_BYTES


def test_the_largest_broadcast_frame_fits_a_socket(settings):
    broadcast = Broadcast(
        id=MAX_ID,
        category="c" * MAX_NAME_LENGTH,
        level=Level.HIGH,
        title=WIDE * limits.MAX_TITLE_LENGTH,
        message=WIDE * limits.MAX_MESSAGE_LENGTH,
        data=data_of(django_settings.NOTIFICATIONS_MAX_DATA_BYTES, url=longest_link()),
        created_at=timezone.now(),
        expires_at=timezone.now(),
    )
    payload = {"broadcast": broadcast_payload(broadcast)}

    text = dumps(event_frame(LONGEST_POSITION, "broadcast", payload, widest_counts()))

    assert len(text.encode()) < settings.NOTIFICATIONS_WS_MAX_MESSAGE_BYTES - 12 * 1024


# The service --------------------------------------------------------------------------------


def test_data_at_the_limit_is_stored_and_one_byte_more_is_refused(user, settings):
    limit = settings.NOTIFICATIONS_MAX_DATA_BYTES
    stored = NotificationService.create_notification(user, "at the limit", data=data_of(limit))
    assert Notification.objects.get(pk=stored.pk).data == data_of(limit)
    events = Event.objects.count()

    with pytest.raises(ValueError, match=rf"^data: at most {limit} bytes") as refused:
        NotificationService.create_notification(user, "over", data=data_of(limit + 1))

    assert refused.value.field == "data"
    assert Notification.objects.count() == 1
    assert Event.objects.count() == events, "nothing is stored, nothing is pushed"


def test_the_data_limit_follows_its_setting(user, settings):
    settings.NOTIFICATIONS_MAX_DATA_BYTES = 100

    NotificationService.create_notification(user, "fits", data=data_of(100))
    with pytest.raises(ValueError, match=r"^data: at most 100 bytes"):
        NotificationService.create_notification(user, "too big", data=data_of(101))


def test_notify_many_and_broadcast_refuse_data_over_the_limit(user, other_user, settings):
    limit = settings.NOTIFICATIONS_MAX_DATA_BYTES

    with pytest.raises(ValueError, match=r"^data: "):
        NotificationService.notify_many([user, other_user], "over", data=data_of(limit + 1))
    with pytest.raises(ValueError, match=r"^data: "):
        NotificationService.broadcast("over", data=data_of(limit + 1))
    NotificationService.broadcast("at the limit", data=data_of(limit))

    assert Notification.objects.count() == 0
    assert Broadcast.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "options"),
    [
        ("title", {"title": "t" * 201}),
        ("message", {"message": "m" * 2001}),
        ("message", {"message": WIDEST * 1001}),
        ("title", {"title": WIDEST * 101}),
        ("data.url", {"data": {"url": "/" + "u" * MAX_URL_BYTES}}),
        ("group_key", {"group_key": "g" * (MAX_GROUP_KEY_LENGTH + 1)}),
    ],
)
def test_each_field_over_its_limit_is_a_value_error_naming_it(user, field, options):
    arguments = {"message": "hello", **options}

    with pytest.raises(ValueError, match=rf"^{field}: at most") as refused:
        NotificationService.create_notification(user, **arguments)

    assert refused.value.field == field
    assert Notification.objects.count() == 0


def test_title_and_message_at_their_limits_are_stored(user):
    NotificationService.create_notification(user, "m" * 2000, title="t" * 200)
    NotificationService.broadcast("m" * 2000, title="t" * 200)
    # Text without emoji fits at full length; emoji fit half of it.
    NotificationService.create_notification(user, WIDE * 2000, title=WIDEST * 100)

    assert Notification.objects.filter(title="t" * 200).exists()
    assert Notification.objects.filter(message=WIDE * 2000).exists()
    assert Broadcast.objects.get().message == "m" * 2000


def test_the_send_helpers_refuse_too(user, settings):
    from notifications.utils import send_notification

    with pytest.raises(ValueError, match=r"^data: "):
        send_notification(user, "over", data=data_of(settings.NOTIFICATIONS_MAX_DATA_BYTES + 1))


def test_a_link_too_long_to_show_is_not_shown(user):
    """A link stored around the service (the admin, the ORM) still cannot double a payload."""
    row = Notification.objects.create(
        recipient=user, message="m", data={"url": "/" + "u" * MAX_URL_BYTES}
    )

    assert notification_payloads([row])[0]["url"] is None


# A view, the commands, the admin ------------------------------------------------------------


class BroadcastView(APIView):
    """A staff view as a project would write one: it passes the client's input on."""

    def post(self, request):
        broadcast = NotificationService.broadcast(
            request.data["message"], data=request.data.get("data")
        )
        return Response({"id": broadcast.pk}, status=HTTPStatus.CREATED)


def post_broadcast(user, body):
    request = APIRequestFactory().post("/api/broadcast/", body, format="json")
    force_authenticate(request, user=user)
    return BroadcastView.as_view()(request)


def test_a_view_answers_400_naming_the_field_over_its_limit(user, settings):
    limit = settings.NOTIFICATIONS_MAX_DATA_BYTES

    refused = post_broadcast(user, {"message": "over", "data": data_of(limit + 1)})
    accepted = post_broadcast(user, {"message": "at", "data": data_of(limit)})
    too_long = post_broadcast(user, {"message": "m" * 2001})

    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert list(refused.data) == ["data"]
    assert f"at most {limit} bytes" in refused.data["data"][0]
    assert accepted.status_code == HTTPStatus.CREATED
    assert (too_long.status_code, list(too_long.data)) == (HTTPStatus.BAD_REQUEST, ["message"])
    assert Broadcast.objects.count() == 1


def test_the_commands_refuse_with_a_message_naming_the_field(user, settings):
    over = dumps(data_of(settings.NOTIFICATIONS_MAX_DATA_BYTES + 1))

    with pytest.raises(CommandError, match=r"^data: at most"):
        call_command("notify", user.username, "over", "--data", over)
    with pytest.raises(CommandError, match=r"^title: at most 200 characters"):
        call_command("broadcast", "over", "--title", "t" * 201)
    with pytest.raises(CommandError, match="must be a JSON object"):
        call_command("broadcast", "not an object", "--data", "[1]")

    assert Notification.objects.count() == Broadcast.objects.count() == 0


def test_the_admin_refuses_data_over_the_limit(client, settings):
    staff = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(staff)
    over = dumps(data_of(settings.NOTIFICATIONS_MAX_DATA_BYTES + 1))
    form = {
        "category": "system",
        "level": Level.MEDIUM,
        "title": "",
        "message": "m",
        "created_at_0": "2030-01-01",
        "created_at_1": "00:00:00",
    }

    refused = client.post("/admin/notifications/broadcast/add/", {**form, "data": over})
    accepted = client.post("/admin/notifications/broadcast/add/", {**form, "data": "{}"})

    assert refused.status_code == HTTPStatus.OK
    assert "at most" in refused.context["adminform"].form.errors["data"][0]
    assert accepted.status_code == HTTPStatus.FOUND
    assert Broadcast.objects.count() == 1
