"""The task pages: the team's tasks, one task with its comments, and the forms that change them.

Server-rendered for people signed in with a session. Every form carries its CSRF token, every
write goes through the services (so it notifies as an API write does), and a task outside the
user's team is a 404, as in the API.
"""

from http import HTTPStatus
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from notifications.users import signed_in_user
from tasks import selectors, services
from tasks.forms import CommentForm, TaskForm, TaskUpdateForm
from tasks.models import Task

app_name = "task_pages"

# Tasks per page of the list: one screen of a board, one quick query.
TASKS_PER_PAGE = 50
# Comments shown on a task's page, the newest ones; the API pages through them all.
COMMENTS_SHOWN = 200


@login_required
@require_http_methods(["GET", "POST"])
def task_list(request: HttpRequest) -> HttpResponse:
    """The tasks of the user and their team, newest first; POST creates one."""
    user = signed_in_user(request)
    form = TaskForm(request.POST or None, user=user)
    if form.is_bound and form.is_valid():
        return redirect(services.create_task(actor=user, **form.cleaned_data))
    tasks = Paginator(selectors.tasks_visible_to(user), TASKS_PER_PAGE)
    context = {
        "page": tasks.get_page(request.GET.get("page")),
        "form": form,
        "teammates": selectors.teammates(user).exclude(pk=user.pk).order_by("pk"),
    }
    status = HTTPStatus.BAD_REQUEST if form.is_bound else HTTPStatus.OK
    return render(request, "tasks/task_list.html", context, status=status)


@login_required
@require_GET
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A task, its comments (each at #comment-<id>), its controls and the comment form."""
    return show_task(request, visible_task(request, pk))


@login_required
@require_POST
def task_update(request: HttpRequest, pk: int) -> HttpResponse:
    """The status and assignee controls: only what changed is saved, so only that notifies."""
    task = visible_task(request, pk)
    user = signed_in_user(request)
    form = TaskUpdateForm(request.POST, user=user)
    if not form.is_valid():
        return show_task(request, task, update_form=form)
    current = {"status": task.status, "assignee": task.assignee}
    changed = {name: value for name, value in form.cleaned_data.items() if current[name] != value}
    services.update_task(task, actor=user, **changed)
    return redirect(task)


@login_required
@require_POST
def task_comment(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a comment as the user; the page reopens on it."""
    task = visible_task(request, pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return show_task(request, task, comment_form=form)
    comment = services.add_comment(task, actor=signed_in_user(request), **form.cleaned_data)
    return redirect(comment)


def visible_task(request: HttpRequest, pk: int) -> Task:
    """The task if the user may see it; anyone else's is a 404, so ids reveal nothing."""
    return get_object_or_404(selectors.tasks_visible_to(signed_in_user(request)), pk=pk)


def show_task(
    request: HttpRequest,
    task: Task,
    *,
    update_form: TaskUpdateForm | None = None,
    comment_form: CommentForm | None = None,
) -> HttpResponse:
    """The task's page; with a form that failed, that form and its errors, as a 400."""
    user = signed_in_user(request)
    comments = selectors.comments_on(task)
    total = comments.count()
    shown = list(comments.order_by("-id")[:COMMENTS_SHOWN])[::-1]
    context: dict[str, Any] = {
        "task": task,
        "comments": shown,
        "earlier_comments": total - len(shown),
        "update_form": update_form
        or TaskUpdateForm(initial={"status": task.status, "assignee": task.assignee_id}, user=user),
        "comment_form": comment_form or CommentForm(),
    }
    failed = update_form is not None or comment_form is not None
    status = HTTPStatus.BAD_REQUEST if failed else HTTPStatus.OK
    return render(request, "tasks/task_detail.html", context, status=status)


urlpatterns = [
    path("", task_list, name="list"),
    path("<int:pk>/", task_detail, name="detail"),
    path("<int:pk>/update/", task_update, name="update"),
    path("<int:pk>/comments/", task_comment, name="comment"),
]
