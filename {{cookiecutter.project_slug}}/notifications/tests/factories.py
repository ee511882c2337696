"""factory_boy factories: the one user factory, notifications, broadcasts and events."""

from typing import Any

import factory
from django.contrib.auth import get_user_model

from notifications.models import (
    Broadcast,
    BroadcastReceipt,
    Event,
    EventKind,
    Level,
    Notification,
)
from notifications.stream import positions, upkeep
from notifications.users import User


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("pw-factory-123")


class NotificationFactory(factory.django.DjangoModelFactory[Notification]):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    category = "general"
    level = Level.LOW
    title = factory.Sequence(lambda n: f"Notification {n}")
    message = factory.Faker("sentence")

    @classmethod
    def _create(cls, model_class: type[Notification], *args: Any, **kwargs: Any) -> Notification:
        """Stored as the test asks, outside the service: then counted, as the recount does."""
        notification = super()._create(model_class, *args, **kwargs)
        upkeep.recount([notification.recipient_id])
        return notification


class BroadcastFactory(factory.django.DjangoModelFactory[Broadcast]):
    class Meta:
        model = Broadcast

    category = "system"
    level = Level.MEDIUM
    title = factory.Sequence(lambda n: f"Broadcast {n}")
    message = factory.Faker("sentence")


class BroadcastReceiptFactory(factory.django.DjangoModelFactory[BroadcastReceipt]):
    class Meta:
        model = BroadcastReceipt

    broadcast = factory.SubFactory(BroadcastFactory)
    user = factory.SubFactory(UserFactory)


class EventFactory(factory.django.DjangoModelFactory[Event]):
    """A stream event; `recipient=None` is an event of every user's stream."""

    class Meta:
        model = Event

    recipient = factory.SubFactory(UserFactory)
    kind = EventKind.CREATED
    payload = factory.LazyFunction(dict)

    @classmethod
    def _create(cls, model_class: type[Event], *args: Any, **kwargs: Any) -> Event:
        """Takes the next position of its stream, as every write does."""
        recipient = kwargs.get("recipient")
        heads = positions.advance([recipient.pk if recipient is not None else None])
        kwargs["position"] = next(iter(heads.values())).top
        return super()._create(model_class, *args, **kwargs)
