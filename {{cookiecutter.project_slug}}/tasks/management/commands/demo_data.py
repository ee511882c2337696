"""`manage.py demo_data`: the demo's team, its shared tasks, and three things to try with them."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.urls import reverse

from notifications.services import NotificationService
from notifications.stream import events
from notifications.users import User
from tasks import services
from tasks.models import Task, Team

# Ordinary users, one team: each sees, assigns and comments on the others' tasks.
TEAM = ["alice", "bob", "carol"]
# The one staff account, for the admin and the API docs page.
STAFF = "admin"
TEAM_NAME = "Demo team"
# (creator, title, assignee): every task is shared by two of the team and seen by all three.
TASKS = [
    ("alice", "Fix the login page", "bob"),
    ("bob", "Write the release notes", "carol"),
    ("carol", "Plan the team offsite", "alice"),
]


def password(name: str) -> str:
    return f"{name}-demo-pass"


class Command(BaseCommand):
    help = (
        "Create the demo users (alice, bob, carol and the staff user admin), their team and "
        "three shared tasks; print how to sign in and what to try. Safe to run again. "
        "Debug mode only: the passwords are written here."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--site", default="http://127.0.0.1:8000", help="where the server answers"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "demo_data creates users whose passwords are in its source: run it with "
                "DEBUG=true on a development machine, never on a deployment."
            )
        with transaction.atomic():
            users = {name: demo_user(name, staff=False) for name in TEAM}
            demo_user(STAFF, staff=True)
            team, _ = Team.objects.get_or_create(name=TEAM_NAME)
            team.members.add(*users.values())
            tasks = [
                demo_task(users[creator], title, users[assignee])
                for creator, title, assignee in TASKS
            ]
        # The pushes run on a background thread: let them finish before the process exits.
        events.flush()
        self.report(options["site"].rstrip("/"), tasks[0])

    def report(self, site: str, task: Task) -> None:
        write = self.stdout.write
        write(f"Sign in at {site}{reverse('login')} as one of the team ({TEAM_NAME}):")
        for name in TEAM:
            write(f"  {name} / {password(name)}")
        write(f"Staff, for the admin and the API docs: {STAFF} / {password(STAFF)}")
        write("")
        write("Three things to try:")
{%- if cookiecutter.include_demo_ui == "y" %}
        write(
            f'  1. As bob, comment on alice\'s task "{task}" at {site}{task.get_absolute_url()}.'
            " Signed in as alice in another browser (or a private window), her bell counts it"
            " at once."
        )
        write(
            "  2. As alice, open the bell and click the notification: it lands on bob's comment"
            f" and is marked read. The whole list is at {site}{reverse('task_pages:list')}"
            " and the notification centre."
        )
{%- else %}
        write(f'  1. As bob, comment on alice\'s task "{task}" at {site}{task.get_absolute_url()}.')
        write(
            f"  2. As alice, list your notifications at {site}/api/notifications/user/: bob's"
            " comment is there, its url the comment's place on the task's page."
        )
{%- endif %}
        write(
            f'  3. As carol, comment on "{task}" too: alice\'s row becomes "carol and bob'
            ' commented", one row for the conversation. Assign a task or mark it done: its'
            " people are told."
        )


def demo_user(name: str, *, staff: bool) -> User:
    user, _ = get_user_model().objects.get_or_create(username=name)
    user.email = f"{name}@example.com"
    user.is_staff = user.is_superuser = staff
    user.set_password(password(name))
    user.save()
    return user


def demo_task(creator: User, title: str, assignee: User) -> Task:
    """The task, created once: its assignee is notified then, and welcomed the first time."""
    task = Task.objects.filter(created_by=creator, title=title).first()
    if task is None:
        task = services.create_task(actor=creator, title=title, assignee=assignee)
        NotificationService.create_notification(
            assignee,
            f"You are in {TEAM_NAME} with {', '.join(TEAM)}: you see each other's tasks.",
            title=f"Welcome, {assignee.get_username()}!",
            data={"url": reverse("task_pages:list")},
        )
    return task
