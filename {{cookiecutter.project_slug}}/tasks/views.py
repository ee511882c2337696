"""The tasks API: every task is looked up among those the user created or is assigned to."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from notifications.pagination import IdCursorPagination
from notifications.throttling import ScopedRateThrottle
from tasks import selectors, services
from tasks.models import Task
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


class TaskWriteThrottleMixin:
    """Throttles the writes of a view under `task_writes`: each one may notify other users."""

    throttle_scope = "task_writes"
    request: Request

    def get_throttles(self) -> list[BaseThrottle]:
        return [] if self.request.method in SAFE_METHODS else [ScopedRateThrottle()]


def visible_task(request: Request, pk: int) -> Task:
    """The task if the user may see it; anyone else's is a 404, so ids reveal nothing."""
    return get_object_or_404(selectors.tasks_visible_to(request.user), pk=pk)


class TaskListView(TaskWriteThrottleMixin, APIView):
    # Read by the schema generator too, which then documents the paginated envelope.
    pagination_class = TaskPagination

    @extend_schema(parameters=[TaskListQuerySerializer], responses=TaskSerializer(many=True))
    def get(self, request: Request) -> Response:
        query = TaskListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        tasks = selectors.tasks_visible_to(request.user, **query.validated_data)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(tasks, request, view=self)
        return paginator.get_paginated_response(TaskSerializer(page, many=True).data)

    @extend_schema(request=TaskInputSerializer, responses={201: TaskSerializer})
    def post(self, request: Request) -> Response:
        data = TaskInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        task = services.create_task(actor=request.user, **data.validated_data)
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)


class TaskDetailView(TaskWriteThrottleMixin, APIView):
    @extend_schema(responses=TaskSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(TaskSerializer(visible_task(request, pk)).data)

    @extend_schema(request=TaskInputSerializer(partial=True), responses=TaskSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        task = visible_task(request, pk)
        data = TaskInputSerializer(data=request.data, partial=True, context={"request": request})
        data.is_valid(raise_exception=True)
        task = services.update_task(task, actor=request.user, **data.validated_data)
        return Response(TaskSerializer(task).data)


class TaskCommentListView(TaskWriteThrottleMixin, APIView):
    pagination_class = CommentPagination

    @extend_schema(responses=CommentSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        comments = selectors.comments_on(visible_task(request, pk))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(comments, request, view=self)
        return paginator.get_paginated_response(CommentSerializer(page, many=True).data)

    @extend_schema(request=CommentInputSerializer, responses={201: CommentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        task = visible_task(request, pk)
        data = CommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = services.add_comment(task, actor=request.user, **data.validated_data)
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)
