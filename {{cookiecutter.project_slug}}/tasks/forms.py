"""Forms of the task pages: what a person types, checked before a service writes it."""

from typing import Any, cast

from django import forms
from django.contrib.auth.base_user import AbstractBaseUser

from tasks import selectors
from tasks.models import Comment, Task


class AssigneeChoiceField(forms.ModelChoiceField):
    """Lists people by name; the choices are those the signed-in user may assign."""

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_username())


class TaskForm(forms.Form):
    """A new task; the signed-in user creates it and may assign a teammate."""

    title = forms.CharField(max_length=Task._meta.get_field("title").max_length)
    assignee = AssigneeChoiceField(queryset=None, required=False, empty_label="Nobody yet")

    def __init__(self, *args: Any, user: AbstractBaseUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assignee = cast(AssigneeChoiceField, self.fields["assignee"])
        assignee.queryset = selectors.assignable_users(user)


class TaskUpdateForm(forms.Form):
    """The status and assignee controls of a task's page."""

    status = forms.ChoiceField(choices=Task.Status.choices)
    assignee = AssigneeChoiceField(queryset=None, required=False, empty_label="Nobody")

    def __init__(self, *args: Any, user: AbstractBaseUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assignee = cast(AssigneeChoiceField, self.fields["assignee"])
        assignee.queryset = selectors.assignable_users(user)


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        max_length=Comment._meta.get_field("body").max_length,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Write a comment; @name mentions"}),
    )
