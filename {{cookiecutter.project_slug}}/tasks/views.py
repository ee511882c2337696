"""The tasks API: every task is looked up among those the user created or is assigned to.

Built as the notifications views are: generic list views whose get_queryset validates the
query and calls a selector, cursor pages on the id, writes through the services.
"""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from notifications.api.pagination import (
    PAGE_PARAMETERS,
    IdCursorPagination,
    reject_unknown_parameters,
)
from notifications.api.throttling import ScopedRateThrottle
from notifications.users import signed_in_user
from tasks import selectors, services
from tasks.models import Comment, Task
from tasks.serializers import (
    CommentInputSerializer,
    CommentSerializer,
    TaskInputSerializer,
    TaskListQuerySerializer,
    TaskSerializer,
)


class TaskPagination(IdCursorPagination):
    # Tasks per page: enough for a board column, small enough for one quick query.
    page_size = 50


class CommentPagination(TaskPagination):
    # A conversation reads oldest first.
    ordering = "id"


class TaskWriteThrottleMixin(APIView):
    """Throttles the writes of a view under `task_writes`: each one may notify other users."""

    throttle_scope = "task_writes"

    def get_throttles(self) -> list[BaseThrottle]:
        return [] if self.request.method in SAFE_METHODS else [ScopedRateThrottle()]


def visible_task(request: Request, pk: int) -> Task:
    """The task if the user may see it; anyone else's is a 404, so ids reveal nothing."""
    return selectors.tasks_visible_to(signed_in_user(request)).get(pk=pk)


@extend_schema_view(get=extend_schema(parameters=[TaskListQuerySerializer]))
class TaskListView(TaskWriteThrottleMixin, generics.ListAPIView):
    """The user's tasks, newest first; POST creates one owned by the user."""

    serializer_class = TaskSerializer
    pagination_class = TaskPagination
    # Gives the schema its model; get_queryset scopes every request to its user.
    queryset = Task.objects.none()

    def get_queryset(self) -> QuerySet[Task]:
        known = [*TaskListQuerySerializer().fields, *PAGE_PARAMETERS]
        reject_unknown_parameters(self.request, known)
        query = TaskListQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.tasks_visible_to(signed_in_user(self.request), **query.validated_data)

    @extend_schema(request=TaskInputSerializer, responses={201: TaskSerializer})
    def post(self, request: Request) -> Response:
        data = TaskInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        task = services.create_task(actor=signed_in_user(request), **data.validated_data)
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)


class TaskDetailView(TaskWriteThrottleMixin, generics.RetrieveAPIView):
    """One task; PATCH changes the fields sent, as the user."""

    serializer_class = TaskSerializer
    queryset = Task.objects.none()

    def get_object(self) -> Task:
        return visible_task(self.request, self.kwargs["pk"])

    @extend_schema(request=TaskInputSerializer(partial=True), responses=TaskSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        task = self.get_object()
        data = TaskInputSerializer(data=request.data, partial=True, context={"request": request})
        data.is_valid(raise_exception=True)
        task = services.update_task(task, actor=signed_in_user(request), **data.validated_data)
        return Response(TaskSerializer(task).data)


class TaskCommentListView(TaskWriteThrottleMixin, generics.ListAPIView):
    """A task's comments, oldest first; POST adds one as the user."""

    serializer_class = CommentSerializer
    pagination_class = CommentPagination
    queryset = Comment.objects.none()

    def get_queryset(self) -> QuerySet[Comment]:
        reject_unknown_parameters(self.request, PAGE_PARAMETERS)
        return selectors.comments_on(visible_task(self.request, self.kwargs["pk"]))

    @extend_schema(request=CommentInputSerializer, responses={201: CommentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        task = visible_task(request, pk)
        data = CommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = services.add_comment(task, actor=signed_in_user(request), **data.validated_data)
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)
