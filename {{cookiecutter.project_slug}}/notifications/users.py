"""The project's user type, the signed-in user of a request, and user arguments as ids."""

from typing import TYPE_CHECKING, TypeAlias

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
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
        found = set(
            get_user_model().objects.filter(pk__in=given_as_ids).values_list("pk", flat=True)
        )
        missing = sorted(given_as_ids - found)
        if missing:
            raise ValueError(f"No user with id {', '.join(map(str, missing))}.")
    return ids
