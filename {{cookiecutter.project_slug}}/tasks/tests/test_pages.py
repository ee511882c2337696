"""The task pages: what a signed-in person sees and changes, and what stays out of reach."""

from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from notifications.models import Notification
from notifications.serializers import NotificationSerializer
from tasks import pages
from tasks.models import Comment, Task
from tasks.tests.factories import CommentFactory, TaskFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol():
    return UserFactory(username="carol")


@pytest.fixture
def team(user, other_user, carol):
    return TeamFactory(name="Core", members=[user, other_user, carol])


@pytest.fixture
def alices_task(user, other_user):
    return TaskFactory(created_by=user, assignee=other_user, title="Fix login")


@pytest.fixture
def strangers_task():
    return TaskFactory(created_by=UserFactory(username="mallory"), title="Secret plan")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def detail_url(task: Task) -> str:
    return reverse("task_pages:detail", args=[task.pk])


def test_links_lead_to_the_task_page_and_a_comment_to_its_anchor(alices_task):
    comment = CommentFactory(task=alices_task)

    assert alices_task.get_absolute_url() == f"/tasks/{alices_task.pk}/"
    assert comment.get_absolute_url() == f"/tasks/{alices_task.pk}/#comment-{comment.pk}"


@pytest.mark.parametrize("name", ["list", "detail"])
def test_anonymous_visitors_are_sent_to_sign_in(alices_task, name):
    url = reverse(f"task_pages:{name}", args=[alices_task.pk] if name == "detail" else [])

    response = Client().get(url)

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("login"))


# The list -----------------------------------------------------------------------------------


def test_the_list_shows_the_teams_tasks_and_not_a_strangers(
    team, user, carol, alices_task, strangers_task
):
    carols = TaskFactory(created_by=carol, title="Plan offsite")

    response = client_for(user).get(reverse("task_pages:list"))

    assert response.status_code == HTTPStatus.OK
    assert [task.pk for task in response.context["page"]] == [carols.pk, alices_task.pk]
    html = response.content.decode()
    assert "Secret plan" not in html
    assert "Your team: bob, carol." in html
    assert f'href="{detail_url(carols)}"' in html


def test_without_a_team_the_list_holds_only_the_users_own_tasks(user, carol, alices_task):
    TaskFactory(created_by=carol)

    response = client_for(user).get(reverse("task_pages:list"))

    assert [task.pk for task in response.context["page"]] == [alices_task.pk]
    assert "You are in no team yet" in response.content.decode()


def test_the_list_pages_at_its_size(user):
    TaskFactory.create_batch(pages.TASKS_PER_PAGE + 1, created_by=user)
    client = client_for(user)

    first = client.get(reverse("task_pages:list"))
    second = client.get(reverse("task_pages:list"), {"page": 2})
    past_the_end = client.get(reverse("task_pages:list"), {"page": "x"})

    assert len(first.context["page"]) == pages.TASKS_PER_PAGE
    assert len(second.context["page"]) == 1
    assert 'href="?page=2"' in first.content.decode()
    assert past_the_end.context["page"].number == 1


def test_creating_a_task_for_a_teammate_notifies_them_with_a_link(team, user, carol):
    response = client_for(user).post(
        reverse("task_pages:list"), {"title": "Write docs", "assignee": carol.pk}
    )

    task = Task.objects.get(title="Write docs")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == detail_url(task)
    assert (task.created_by, task.assignee) == (user, carol)
    notification = Notification.objects.get(recipient=carol)
    assert NotificationSerializer(notification).data["url"] == detail_url(task)


def test_assigning_someone_outside_the_team_is_refused(team, user, strangers_task):
    outsider = strangers_task.created_by

    response = client_for(user).post(
        reverse("task_pages:list"), {"title": "Spam", "assignee": outsider.pk}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Select a valid choice" in response.content.decode()
    assert not Task.objects.filter(title="Spam").exists()
    assert not Notification.objects.exists()


@pytest.mark.parametrize("title", ["", "x" * 201])
def test_a_bad_title_is_a_400_that_keeps_the_form(user, title):
    response = client_for(user).post(reverse("task_pages:list"), {"title": title})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.context["form"].errors["title"]
    assert not Task.objects.exists()


def test_a_title_at_its_length_is_accepted(user):
    response = client_for(user).post(reverse("task_pages:list"), {"title": "x" * 200})

    assert response.status_code == HTTPStatus.FOUND
    assert Task.objects.get().title == "x" * 200


def test_forms_without_the_csrf_token_are_refused(team, other_user, alices_task):
    client = Client(enforce_csrf_checks=True)
    client.force_login(other_user)

    response = client.post(reverse("task_pages:comment", args=[alices_task.pk]), {"body": "Forged"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not Comment.objects.exists()


# A task's page ------------------------------------------------------------------------------


def test_the_task_page_shows_its_comments_each_at_its_anchor(team, carol, alices_task):
    first = CommentFactory(task=alices_task, body="Looking into it")
    second = CommentFactory(task=alices_task, author=carol, body="Same on mobile")

    response = client_for(carol).get(detail_url(alices_task))

    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert html.index(f'id="comment-{first.pk}"') < html.index(f'id="comment-{second.pk}"')
    assert "Same on mobile" in html
    assert "Created by alice · assigned to bob" in html
    assert 'name="csrfmiddlewaretoken"' in html
{%- if cookiecutter.include_demo_ui == "y" %}
    assert "data-notification-bell" in html, "the demo UI's bell is on the page"
{%- else %}
    assert "data-notification-bell" not in html
{%- endif %}


def test_a_task_page_shows_the_newest_comments_up_to_its_limit(user, alices_task):
    Comment.objects.bulk_create(
        Comment(task=alices_task, author=user, body=f"Comment {n}")
        for n in range(pages.COMMENTS_SHOWN + 1)
    )

    response = client_for(user).get(detail_url(alices_task))

    shown = response.context["comments"]
    assert len(shown) == pages.COMMENTS_SHOWN
    assert [shown[0].body, shown[-1].body] == ["Comment 1", f"Comment {pages.COMMENTS_SHOWN}"]
    assert "1 earlier comment not shown." in response.content.decode()


def test_a_teammate_comments_on_a_task_and_lands_on_their_comment(
    team, user, other_user, carol, alices_task
):
    response = client_for(carol).post(
        reverse("task_pages:comment", args=[alices_task.pk]), {"body": "I can help"}
    )

    comment = Comment.objects.get()
    assert (comment.author, comment.task) == (carol, alices_task)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == f"{detail_url(alices_task)}#comment-{comment.pk}"
    for person in (user, other_user):
        notification = Notification.objects.get(recipient=person, category="comment")
        assert notification.title == "carol commented on Fix login"
        assert NotificationSerializer(notification).data["url"] == response["Location"]


@pytest.mark.parametrize("body", ["", " ", "x" * 5001])
def test_a_bad_comment_is_a_400_naming_the_field(other_user, alices_task, body):
    response = client_for(other_user).post(
        reverse("task_pages:comment", args=[alices_task.pk]), {"body": body}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.context["comment_form"].errors["body"]
    assert not Comment.objects.exists()


def test_the_controls_change_the_status_and_notify_its_people(team, other_user, alices_task):
    response = client_for(other_user).post(
        reverse("task_pages:update", args=[alices_task.pk]),
        {"status": Task.Status.DONE, "assignee": other_user.pk},
    )

    alices_task.refresh_from_db()
    assert response.status_code == HTTPStatus.FOUND
    assert alices_task.status == Task.Status.DONE
    notification = Notification.objects.get(recipient=alices_task.created_by)
    assert notification.title == "bob completed Fix login"
    assert NotificationSerializer(notification).data["url"] == detail_url(alices_task)


def test_the_controls_reassign_to_a_teammate_and_leave_unchanged_fields(
    team, user, carol, alices_task
):
    before = Notification.objects.count()

    client_for(user).post(
        reverse("task_pages:update", args=[alices_task.pk]),
        {"status": Task.Status.TODO, "assignee": carol.pk},
    )

    alices_task.refresh_from_db()
    assert alices_task.assignee == carol
    assert [n.data["kind"] for n in Notification.objects.filter(recipient=carol)] == [
        "task_assigned"
    ]
    assert Notification.objects.count() == before + 1


@pytest.mark.parametrize(
    "payload", [{"status": "lost", "assignee": ""}, {"status": "todo", "assignee": 999_999}]
)
def test_bad_controls_are_a_400_that_changes_nothing(other_user, alices_task, payload):
    response = client_for(other_user).post(
        reverse("task_pages:update", args=[alices_task.pk]), payload
    )

    alices_task.refresh_from_db()
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert (alices_task.status, alices_task.assignee) == (Task.Status.TODO, other_user)


@pytest.mark.parametrize(
    ("name", "method", "payload"),
    [
        ("detail", "get", None),
        ("comment", "post", {"body": "Hi"}),
        ("update", "post", {"status": "done", "assignee": ""}),
    ],
)
def test_a_task_outside_the_users_team_is_a_404(team, user, strangers_task, name, method, payload):
    client = client_for(user)
    url = reverse(f"task_pages:{name}", args=[strangers_task.pk])

    response = getattr(client, method)(url, payload)

    strangers_task.refresh_from_db()
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "Secret plan" not in response.content.decode()
    assert strangers_task.status == Task.Status.TODO
    assert not Comment.objects.exists()


@pytest.mark.parametrize(("name", "method"), [("detail", "post"), ("comment", "get")])
def test_a_wrong_method_is_a_405(user, alices_task, name, method):
    response = getattr(client_for(user), method)(
        reverse(f"task_pages:{name}", args=[alices_task.pk])
    )

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
