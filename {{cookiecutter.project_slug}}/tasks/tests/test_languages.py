"""The example domain's notifications are written in each recipient's language."""

import pytest

from notifications.models import Notification
from notifications.reader import profile
from notifications.services import NotificationService
from tasks import services
from tasks.models import Task
from tasks.tests.factories import TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


def titles(user) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user).order_by("id").values_list("title", flat=True)
    )


def test_an_assignment_is_written_in_the_assignees_language(user, other_user):
    profile.update(other_user, {"language": "fr"})
    services.create_task(actor=user, title="Write docs", assignee=other_user)
    notification = Notification.objects.get(recipient=other_user)
    assert notification.title == "alice vous a assigné Write docs"
    # French typography: guillemets, and the apostrophe U+2019.
    assert notification.message == "alice a créé « Write docs » et vous l\u2019a assignée."


def test_one_change_reaches_each_person_in_their_own_language(user, other_user):
    carol = UserFactory(username="carol")
    profile.update(other_user, {"language": "fr"})
    task = TaskFactory(created_by=user, assignee=other_user, title="Fix login")
    services.update_task(task, actor=carol, status=Task.Status.IN_PROGRESS)
    assert titles(other_user)[-1] == "carol a passé Fix login à « En cours »"
    assert titles(user)[-1] == "carol moved Fix login to In progress"


def test_a_user_who_chose_nothing_gets_their_browsers_language(user, other_user):
    profile.remember_browser_language(other_user.pk, "fr")
    task = TaskFactory(created_by=user, assignee=other_user, title="Fix login")
    services.add_comment(task, actor=user, body="Looks good")
    assert titles(other_user)[-1] == "alice a commenté Fix login"
    # A choice made later wins over the browser's.
    profile.update(other_user, {"language": "en"})
    services.add_comment(task, actor=user, body="@bob see above")
    assert titles(other_user)[-1] == "alice mentioned you on Fix login"


def test_the_accept_button_and_its_result_are_in_the_assignees_language(user, other_user):
    profile.update(other_user, {"language": "fr"})
    services.create_task(actor=user, title="Write docs", assignee=other_user)
    notification = Notification.objects.get(recipient=other_user)
    assert [action["label"] for action in notification.actions] == ["Accepter"]

    done = NotificationService.run_action(notification.pk, other_user, 0)

    assert done["result"]["message"] == "Acceptée"
