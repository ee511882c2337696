"""Admin for notifications, broadcasts, broadcast receipts, events and preferences."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications.models import (
    Broadcast,
    BroadcastReceipt,
    Event,
    Notification,
    NotificationPreference,
)
from notifications.sending import limits
from notifications.services import NotificationService


class ReadFilter(admin.SimpleListFilter):
    title = "read"
    parameter_name = "read"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("no", "Unread"), ("yes", "Read")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(read_at__isnull=self.value() == "no")
        return queryset


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("no", "Live"), ("yes", "Deleted")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(deleted_at__isnull=self.value() == "no")
        return queryset


class ContentLimitsForm(forms.ModelForm):
    """Holds what the admin stores to the limits the service keeps, so every frame fits."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            limits.check_content(
                title=cleaned.get("title") or "",
                message=cleaned.get("message") or "",
                data=cleaned.get("data") or {},
                group_key=cleaned.get("group_key") or "",
            )
        except limits.ContentTooLarge as error:
            field = error.field.split(".")[0]
            self.add_error(field if field in self.fields else None, error.message)
        return cleaned


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    form = ContentLimitsForm
    list_display = ["id", "recipient", "category", "level", "title", "created_at", "read_at"]
    list_filter = ["category", "level", ReadFilter, DeletedFilter]
    search_fields = ["title", "message", "recipient__username", "recipient__email"]
    # A select of every user would load the whole user table.
    raw_id_fields = ["recipient", "actor"]
    list_select_related = ["recipient"]
    date_hierarchy = "created_at"
    actions = ["mark_read"]
    # Who receives it and its state change only through NotificationService, which keeps the
    # stream and the counts with them: create with `manage.py notify` or the service.
    readonly_fields = [
        "recipient",
        "category",
        "created_at",
        "seen_at",
        "read_at",
        "archived_at",
        "deleted_at",
        "expires_at",
        "group_key",
        "group_open",
        "group_started_at",
        "group_count",
        "emailed_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Mark selected notifications read")
    def mark_read(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        marked = NotificationService.mark_read_by_ids(queryset.values_list("pk", flat=True))
        self.message_user(request, f"Marked {marked} notification(s) read.", messages.SUCCESS)

    def delete_model(self, request: HttpRequest, obj: Notification) -> None:
        NotificationService.delete_by_ids([obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        NotificationService.delete_by_ids(queryset.values_list("pk", flat=True))


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
    form = ContentLimitsForm
    list_display = ["id", "category", "level", "title", "created_at", "deleted_at"]
    list_filter = ["category", "level", DeletedFilter]
    search_fields = ["title", "message"]
    date_hierarchy = "created_at"


@admin.register(BroadcastReceipt)
class BroadcastReceiptAdmin(admin.ModelAdmin):
    list_display = ["id", "broadcast", "user", "read_at", "archived_at"]
    search_fields = ["user__username", "broadcast__title"]
    raw_id_fields = ["broadcast", "user"]
    list_select_related = ["broadcast", "user"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """The stream is append-only: readable here, never edited."""

    list_display = ["id", "kind", "recipient", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["recipient"]
    list_select_related = ["recipient"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    """Overrides only: an empty channel follows the category's default."""

    list_display = ["id", "user", "category", "in_app", "email"]
    list_filter = ["category"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
    list_select_related = ["user"]
