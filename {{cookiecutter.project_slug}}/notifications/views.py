"""The REST API: thin views that validate input, call a selector or the service, serialize."""

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, serializers
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import categories, selectors
from notifications.api.pagination import (
    PAGE_PARAMETERS,
    IdCursorPagination,
    reject_unknown_parameters,
)
from notifications.api.throttling import ScopedRateThrottle, WriteThrottleMixin
from notifications.models import Broadcast, Notification
from notifications.reader import preferences
from notifications.serializers import (
    POSITION_SCHEMA_PATTERN,
    SINCE_HELP,
    ActionResultSerializer,
    ArchiveAllQuerySerializer,
    ArchivedSerializer,
    BroadcastSerializer,
    CategoryUnreadSerializer,
    CountsSerializer,
    ListQuerySerializer,
    MarkedSerializer,
    MarkSeenSerializer,
    NotificationListQuerySerializer,
    NotificationSerializer,
    PreferenceChangeSerializer,
    PreferenceSerializer,
    SeenSerializer,
    SnoozeSerializer,
    StreamQuerySerializer,
    StreamSerializer,
    TicketSerializer,
    UnreadCountSerializer,
    dumps,
    event_frame,
)
from notifications.services import NotificationService
from notifications.stream.positions import InvalidPosition
from notifications.users import signed_in_user
from notifications.websocket import tickets


def list_filters(
    request: Request, schema: type[ListQuerySerializer] = ListQuerySerializer
) -> dict[str, Any]:
    """The validated query filters of a list; a bad value, or an unknown parameter, is a 400
    naming the parameter."""
    reject_unknown_parameters(request, [*schema().fields, *PAGE_PARAMETERS])
    serializer = schema(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def path_category(category: str | None) -> str | None:
    """The category named in a path, if any; an unknown one is a 404 (UnknownCategory)."""
    if category is not None:
        categories.get(category)
    return category


@extend_schema(parameters=[NotificationListQuerySerializer])
class NotificationListView(generics.ListAPIView):
    """The user's inbox, newest first; per category when the path names one.

    `archived=true` lists the archive instead, `snoozed=true` the snoozed notifications.
    Expired notifications are never listed.
    """

    serializer_class = NotificationSerializer
    pagination_class = IdCursorPagination
    # Gives the schema its model; get_queryset scopes every request to its user.
    queryset = Notification.objects.none()

    def get_queryset(self) -> QuerySet[Notification]:
        filters = list_filters(self.request, NotificationListQuerySerializer)
        category = path_category(self.kwargs.get("category")) or filters.get("category")
        return selectors.notifications_for(
            signed_in_user(self.request),
            category=category,
            unread=filters.get("unread"),
            archived=filters["archived"],
            snoozed=filters["snoozed"],
            since=filters.get("since"),
        )


@extend_schema(parameters=[NotificationListQuerySerializer])
class BroadcastListView(generics.ListAPIView):
    """Broadcasts to every user, newest first, each with this user's read state.

    Those the user archived are left out; `archived=true` lists only them.
    """

    serializer_class = BroadcastSerializer
    pagination_class = IdCursorPagination
    queryset = Broadcast.objects.none()

    def get_queryset(self) -> QuerySet[Broadcast]:
        filters = list_filters(self.request, NotificationListQuerySerializer)
        category = path_category(self.kwargs.get("category")) or filters.get("category")
        return selectors.broadcasts_for(
            signed_in_user(self.request),
            category=category,
            unread=filters.get("unread"),
            archived=filters["archived"],
            since=filters.get("since"),
        )


class UnreadByCategoryView(APIView):
    """Unread counts of every registered category, zero included, so a client draws all tabs."""

    @extend_schema(responses=CategoryUnreadSerializer(many=True))
    def get(self, request: Request) -> Response:
        counts = selectors.unread_counts_by_category(signed_in_user(request))
        rows = [
            {"category": c.name, "label": c.label, "unread_count": counts.pop(c.name, 0)}
            for c in categories.all_categories()
        ]
        # Rows of a category no app registers any more still count towards the total.
        rows += [
            {"category": name, "label": name, "unread_count": count}
            for name, count in sorted(counts.items())
        ]
        return Response(CategoryUnreadSerializer(rows, many=True).data)


class CountsView(APIView):
    """The user's exact counts, the object every event frame carries, in one query."""

    @extend_schema(responses=CountsSerializer)
    def get(self, request: Request) -> Response:
        return Response(CountsSerializer(selectors.counts(signed_in_user(request))).data)


class StreamView(APIView):
    """The user's events after a stream position, as the WebSocket replays them.

    For clients that poll instead of holding a socket: `last_id` is the next `since`, and
    `has_more` says to ask again at once (a response holds at most
    NOTIFICATIONS_MAX_REPLAY_BYTES of events).
    """

    @extend_schema(
        parameters=[
            StreamQuerySerializer,
            # The field's own schema says only "string": the format is stated here.
            OpenApiParameter(
                "since",
                str,
                required=True,
                pattern=POSITION_SCHEMA_PATTERN,
                description=SINCE_HELP,
            ),
        ],
        responses=StreamSerializer,
    )
    def get(self, request: Request) -> Response:
        reject_unknown_parameters(request, [*StreamQuerySerializer().fields, "format"])
        query = StreamQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        user = signed_in_user(request)
        try:
            replay = selectors.events_after(
                user, query.validated_data["since"], limit=settings.NOTIFICATIONS_REPLAY_LIMIT
            )
        except InvalidPosition as error:
            raise exceptions.ValidationError({"since": [str(error)]}) from None
        counts = selectors.counts(user)
        frames: list[dict[str, Any]] = []
        position, used = replay.position, 0
        for index, (row, after) in enumerate(replay.events):
            event = event_frame(str(after), row.kind, row.payload, counts)
            used += len(dumps(event).encode())
            if used > settings.NOTIFICATIONS_MAX_REPLAY_BYTES and frames:
                position = replay.events[index - 1][1]
                break
            frames.append(event)
        stream = {
            "events": frames,
            "recovered": replay.recovered,
            "last_id": str(position),
            "has_more": len(frames) < len(replay.events),
        }
        return Response(StreamSerializer(stream).data)


class UnreadCountView(APIView):
    """The user's unread totals: personal notifications and broadcasts."""

    @extend_schema(responses=UnreadCountSerializer)
    def get(self, request: Request) -> Response:
        user = signed_in_user(request)
        counts = {
            "unread_count": selectors.unread_count(user),
            "broadcast_unread_count": selectors.broadcast_unread_count(user),
        }
        return Response(UnreadCountSerializer(counts).data)


class MarkAllReadView(WriteThrottleMixin, APIView):
    """Marks every unread notification read, or those of the category in the path."""

    @extend_schema(request=None, responses=MarkedSerializer)
    def post(self, request: Request, category: str | None = None) -> Response:
        # An unknown category raises UnknownCategory: a 404 through the exception handler.
        user = signed_in_user(request)
        marked = NotificationService.mark_all_notifications_read(user, category)
        return Response(MarkedSerializer({"marked": marked}).data)


class MarkAllSeenView(WriteThrottleMixin, APIView):
    """Marks the inbox seen, up to the id in `up_to` (body or query) when given."""

    @extend_schema(request=MarkSeenSerializer, responses=SeenSerializer)
    def post(self, request: Request) -> Response:
        params = MarkSeenSerializer(data=request.data or request.query_params)
        params.is_valid(raise_exception=True)
        marked = NotificationService.mark_all_seen(
            signed_in_user(request), up_to=params.validated_data["up_to"]
        )
        return Response(SeenSerializer({"marked": marked}).data)


class ArchiveView(WriteThrottleMixin, APIView):
    """Moves one notification out of the inbox into the archive."""

    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request: Request, pk: int) -> Response:
        notification = NotificationService.archive_notification(pk, signed_in_user(request))
        return Response(NotificationSerializer(notification).data)


class UnarchiveView(WriteThrottleMixin, APIView):
    """Brings one archived notification back to the inbox."""

    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request: Request, pk: int) -> Response:
        notification = NotificationService.unarchive_notification(pk, signed_in_user(request))
        return Response(NotificationSerializer(notification).data)


class SnoozeView(WriteThrottleMixin, APIView):
    """Takes one notification out of the inbox and the counts until `until`.

    It lists under `?snoozed=true` meanwhile and comes back new and unread at that time.
    """

    @extend_schema(request=SnoozeSerializer, responses=NotificationSerializer)
    def post(self, request: Request, pk: int) -> Response:
        body = SnoozeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        notification = NotificationService.snooze_notification(
            pk, signed_in_user(request), body.validated_data["until"]
        )
        return Response(NotificationSerializer(notification).data)


class UnsnoozeView(WriteThrottleMixin, APIView):
    """Brings one snoozed notification back to the inbox now."""

    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request: Request, pk: int) -> Response:
        notification = NotificationService.unsnooze_notification(pk, signed_in_user(request))
        return Response(NotificationSerializer(notification).data)


class RunActionView(WriteThrottleMixin, APIView):
    """Runs the server action at `index` of one notification, once: a repeat returns the result
    stored by the first run (`ran: false`)."""

    @extend_schema(request=None, responses=ActionResultSerializer)
    def post(self, request: Request, pk: int, index: int) -> Response:
        done = NotificationService.run_action(pk, signed_in_user(request), index)
        return Response(ActionResultSerializer(done).data)


class ArchiveAllView(WriteThrottleMixin, APIView):
    """Archives the whole inbox, or only its read notifications with `?read=true`."""

    @extend_schema(
        request=None, parameters=[ArchiveAllQuerySerializer], responses=ArchivedSerializer
    )
    def post(self, request: Request) -> Response:
        query = ArchiveAllQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        archived = NotificationService.archive_all(
            signed_in_user(request), read_only=query.validated_data["read"]
        )
        return Response(ArchivedSerializer({"archived": archived}).data)


class MarkReadView(WriteThrottleMixin, APIView):
    """Marks one notification read; under a category path it must be of that category."""

    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request: Request, pk: int, category: str | None = None) -> Response:
        notification = NotificationService.mark_notification_read(
            pk, signed_in_user(request), category
        )
        return Response(NotificationSerializer(notification).data)


class MarkUnreadView(WriteThrottleMixin, APIView):
    """Marks one notification unread again."""

    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request: Request, pk: int) -> Response:
        notification = NotificationService.mark_notification_unread(pk, signed_in_user(request))
        return Response(NotificationSerializer(notification).data)


class NotificationDetailView(WriteThrottleMixin, generics.RetrieveDestroyAPIView):
    """One notification of the user; DELETE hides it from every list and count."""

    serializer_class = NotificationSerializer
    queryset = Notification.objects.none()

    def get_object(self) -> Notification:
        return selectors.get_notification(signed_in_user(self.request), self.kwargs["pk"])

    def perform_destroy(self, instance: Notification) -> None:
        NotificationService.delete_notification(instance.pk, signed_in_user(self.request))


class BroadcastMarkReadView(WriteThrottleMixin, APIView):
    """Records that the user read a broadcast of the category in the path."""

    @extend_schema(request=None, responses=BroadcastSerializer)
    def post(self, request: Request, category: str, pk: int) -> Response:
        receipt = NotificationService.mark_broadcast_read(pk, signed_in_user(request), category)
        broadcast = receipt.broadcast
        # The read state of this user, as broadcasts_for annotates it in lists.
        broadcast.read_at, broadcast.is_read = receipt.read_at, True  # type: ignore[attr-defined]
        return Response(BroadcastSerializer(broadcast).data)


class BroadcastMarkAllReadView(WriteThrottleMixin, APIView):
    """Marks every unread broadcast read for this user, or those of the category in the path."""

    @extend_schema(request=None, responses=MarkedSerializer)
    def post(self, request: Request, category: str | None = None) -> Response:
        marked = NotificationService.mark_all_broadcasts_read(
            signed_in_user(request), path_category(category)
        )
        return Response(MarkedSerializer({"marked": marked}).data)


class BroadcastArchiveView(WriteThrottleMixin, APIView):
    """Moves a broadcast out of this user's inbox into their archive (and marks it read)."""

    @extend_schema(request=None, responses=BroadcastSerializer)
    def post(self, request: Request, pk: int) -> Response:
        user = signed_in_user(request)
        NotificationService.archive_broadcast(pk, user)
        return Response(BroadcastSerializer(selectors.get_broadcast(user, pk)).data)


class BroadcastUnarchiveView(WriteThrottleMixin, APIView):
    """Brings a broadcast this user archived back to their inbox."""

    @extend_schema(request=None, responses=BroadcastSerializer)
    def post(self, request: Request, pk: int) -> Response:
        user = signed_in_user(request)
        NotificationService.unarchive_broadcast(pk, user)
        return Response(BroadcastSerializer(selectors.get_broadcast(user, pk)).data)


# A ticket is a credential: no cache, shared or the browser's, may keep one.
@method_decorator(never_cache, name="dispatch")
class WebSocketTicketView(APIView):
    """Issues a one-time ticket for `ws/notifications/?uuid=`, for clients that cannot send a JWT.

    GET is the dj_notif method; POST is offered because issuing a ticket changes state.
    """

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "ws_tickets"

    @extend_schema(responses=OpenApiResponse(TicketSerializer), operation_id="ws_auth_retrieve")
    def get(self, request: Request) -> Response:
        ticket = tickets.issue_ticket(signed_in_user(request).pk)
        return Response(TicketSerializer({"uuid": ticket}).data)

    @extend_schema(request=None, responses=TicketSerializer, operation_id="ws_auth_create")
    def post(self, request: Request) -> Response:
        return self.get(request)


class PreferencesView(WriteThrottleMixin, APIView):
    """The user's channels for every registered category, the defaults filled in.

    PUT sets the whole set: a category or channel left out goes back to its default. PATCH
    changes only what it names. Both take `[{"category", "in_app"?, "email"?, "push"?}]`.
    """

    # A list body has no form encoding: JSON only, and the schema says so.
    parser_classes = [JSONParser]

    @extend_schema(responses=PreferenceSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = preferences.for_user(signed_in_user(request))
        return Response(PreferenceSerializer(rows, many=True).data)

    @extend_schema(
        request=PreferenceChangeSerializer(many=True), responses=PreferenceSerializer(many=True)
    )
    def put(self, request: Request) -> Response:
        return self.update(request, replace=True)

    @extend_schema(
        request=PreferenceChangeSerializer(many=True), responses=PreferenceSerializer(many=True)
    )
    def patch(self, request: Request) -> Response:
        return self.update(request, replace=False)

    def update(self, request: Request, *, replace: bool) -> Response:
        # Counted before any entry is validated: a long list costs one 400, not one per entry.
        changes: serializers.ListSerializer[Any] = serializers.ListSerializer(
            child=PreferenceChangeSerializer(),
            data=request.data,
            max_length=preferences.max_changes(),
            error_messages={"max_length": "At most {max_length} entries: one per category."},
        )
        changes.is_valid(raise_exception=True)
        rows = preferences.update(signed_in_user(request), changes.validated_data, replace=replace)
        return Response(PreferenceSerializer(rows, many=True).data)
