"""`manage.py demo_data`: the demo's team and tasks, made once, and only in debug mode."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from notifications.models import Notification
from tasks import selectors
from tasks.models import Task, Team

pytestmark = pytest.mark.django_db


def run(**options) -> str:
    out = StringIO()
    call_command("demo_data", stdout=out, **options)
    return out.getvalue()


def test_it_refuses_outside_debug_mode(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG=true"):
        run()

    assert not Team.objects.exists()


def test_it_makes_a_team_whose_members_share_every_task(settings):
    settings.DEBUG = True

    output = run(site="http://127.0.0.1:8123/")

    team = Team.objects.get()
    names = sorted(user.username for user in team.members.all())
    assert names == ["alice", "bob", "carol"]
    for member in team.members.all():
        assert not member.is_staff
        assert member.check_password(f"{member.username}-demo-pass")
        assert selectors.tasks_visible_to(member).count() == 3
    task = Task.objects.get(title="Fix the login page")
    assert (task.created_by.username, task.assignee.username) == ("alice", "bob")
    assert f"http://127.0.0.1:8123/tasks/{task.pk}/" in output
    assert "Three things to try:" in output
    assert "  3. As carol" in output
    assert "admin / admin-demo-pass" in output


def test_running_it_again_adds_nothing(settings):
    settings.DEBUG = True
    run()
    counts = (Task.objects.count(), Notification.objects.count())

    run()

    assert (Task.objects.count(), Notification.objects.count()) == counts == (3, 6)
