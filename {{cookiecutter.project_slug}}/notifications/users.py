"""The project's user type, the signed-in user of a request, and user arguments as ids."""

from typing import TYPE_CHECKING, TypeAlias

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connections, router
from django.http import HttpRequest
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

if TYPE_CHECKING:
    # django-stubs reads this name as settings.AUTH_USER_MODEL, as it types get_user_model(),
    # so annotations follow a swapped user model without naming it.
    from django.contrib.auth.models import _User as User
else:
    # At run time every user model is an AbstractBaseUser; the app registry may not be ready.
    User = AbstractBaseUser

UserRef: TypeAlias = User | int


def signed_in_user(request: HttpRequest | Request) -> User:
    """The user of a request that passed `IsAuthenticated` (or the admin's staff check).

    An anonymous request here means a view lost its permission class: DRF answers 401.
    """
    user = request.user
    if not user.is_authenticated:
        raise NotAuthenticated()
    return user


def user_id_of(user: UserRef) -> int:
    """The id of a user given as an instance or an id; a wrong type fails fast."""
    if isinstance(user, AbstractBaseUser):
        if user.pk is None:
            raise ValueError("The user is not saved yet: save it before notifying it.")
        return int(user.pk)
    if isinstance(user, int) and not isinstance(user, bool):
        return user
    raise TypeError(f"Expected a user or a user id, got {type(user).__name__}.")


def existing_user_ids(users: list[UserRef]) -> list[int]:
    """Ids of the given users, in order and without repeats; an unknown id is a ValueError."""
    ids = list(dict.fromkeys(user_id_of(user) for user in users))
    given_as_ids = {user for user in users if isinstance(user, int)}
    if given_as_ids:
        found = _existing(sorted(given_as_ids))
        missing = sorted(given_as_ids - found)
        if missing:
            raise ValueError(f"No user with id {', '.join(map(str, missing))}.")
    return ids


def _existing(user_ids: list[int]) -> set[int]:
    """Which of these ids are users: on PostgreSQL one array parameter for any number."""
    model = get_user_model()
    connection = connections[router.db_for_read(model)]
    if connection.vendor != "postgresql":
        found: set[int] = set()
        for start in range(0, len(user_ids), 500):
            batch = user_ids[start : start + 500]
            found.update(model._default_manager.filter(pk__in=batch).values_list("pk", flat=True))
        return found
    operations = connection.ops
    table, pk = operations.quote_name(model._meta.db_table), model._meta.pk
    column = operations.quote_name(str(pk.column if pk is not None else "id"))
    with connection.cursor() as cursor:
        # Only quoted names are formatted in; the ids are one parameter.
        cursor.execute(f"SELECT {column} FROM {table} WHERE {column} = ANY(%s)", [user_ids])  # noqa: S608
        return {user_id for (user_id,) in cursor.fetchall()}
