"""Turning the guide's "User instance or user id" arguments into ids."""

from typing import TypeAlias

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser

UserRef: TypeAlias = AbstractBaseUser | int


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
