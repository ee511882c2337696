"""Input and output serializers of the tasks API."""

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from rest_framework import serializers

from tasks import selectors
from tasks.models import Comment, Task


class UserSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", read_only=True)
    username = serializers.CharField(source="get_username", read_only=True)


class AssigneeField(serializers.PrimaryKeyRelatedField):
    """A user id among those the requesting user may assign (selectors.assignable_users)."""

    def get_queryset(self) -> QuerySet[AbstractBaseUser]:
        return selectors.assignable_users(self.context["request"].user)


class TaskSerializer(serializers.ModelSerializer):
    created_by = UserSummarySerializer(read_only=True)
    assignee = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "description",
            "status",
            "created_by",
            "assignee",
            "due_date",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TaskInputSerializer(serializers.Serializer):
    """Fields a client sets on create; on PATCH, the subset it sends. Needs the request in
    its context: it limits the assignee to the users the caller may assign.
    """

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=Task.Status.choices, required=False)
    # The schema generator reads the model from `queryset`; get_queryset() narrows it.
    assignee = AssigneeField(
        queryset=get_user_model().objects.all(), required=False, allow_null=True
    )
    due_date = serializers.DateField(required=False, allow_null=True)


class CommentSerializer(serializers.ModelSerializer):
    author = UserSummarySerializer(read_only=True)

    class Meta:
        model = Comment
        fields = ["id", "task", "author", "body", "created_at"]
        read_only_fields = fields


class CommentInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=5000)


class TaskListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Task.Status.choices, required=False)
