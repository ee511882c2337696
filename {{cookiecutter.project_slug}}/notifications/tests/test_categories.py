"""The category registry."""

import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured

from notifications import categories
from notifications.models import Level


@pytest.fixture(autouse=True)
def registry(monkeypatch):
    """A copy of the registry, so a test's registrations do not leak into other tests."""
    monkeypatch.setattr(categories, "_registry", dict(categories._registry))


def scratch(prefix: str) -> str:
    """A category name no app registers (the README's example registers "invoice")."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def test_the_built_in_categories_are_registered():
    names = [category.name for category in categories.all_categories()]

    assert names == sorted(names)
    assert {"general", "project", "quote", "payment", "system"} <= set(names)
    assert categories.get("payment").default_level == Level.MEDIUM


def test_register_derives_a_label_and_is_idempotent():
    suffix = uuid.uuid4().hex[:8]
    first = categories.register(f"Invoice_SENT_{suffix}")
    again = categories.register(f"Invoice_SENT_{suffix}")

    assert first == again
    assert first.label == f"Invoice sent {suffix}"
    assert first.default_level == Level.LOW
    assert categories.is_registered(f"Invoice_SENT_{suffix}")


def test_registering_a_different_definition_under_a_taken_name_fails():
    name = scratch("invoice")
    categories.register(name, "Invoices")

    with pytest.raises(ImproperlyConfigured, match="already registered"):
        categories.register(name, "Bills")


@pytest.mark.parametrize("name", ["", "has space", "dash-ed", "x" * 51])
def test_a_bad_name_fails_fast(name):
    with pytest.raises(ImproperlyConfigured, match="letters, digits or underscores"):
        categories.register(name)


def test_a_bad_default_level_fails_fast():
    with pytest.raises(ImproperlyConfigured, match="default_level"):
        categories.register("loud", default_level=9)


def test_get_of_an_unknown_category_names_the_registered_ones():
    with pytest.raises(categories.UnknownCategory, match=r"registered: .*general"):
        categories.get("nope")
    assert not categories.is_registered("nope")


def test_register_takes_channel_defaults_and_mandatory():
    plain = categories.register(scratch("invoice"), "Invoices")
    security = categories.register(scratch("security"), "Security", email=True, mandatory=True)

    assert (plain.in_app, plain.email, plain.mandatory) == (True, False, False)
    assert (security.in_app, security.email, security.mandatory) == (True, True, True)


def test_a_mandatory_category_without_the_inbox_fails_fast():
    with pytest.raises(ImproperlyConfigured, match="drop in_app=False"):
        categories.register("alarm", mandatory=True, in_app=False)
