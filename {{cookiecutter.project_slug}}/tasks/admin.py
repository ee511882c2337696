"""Admin for tasks and comments; saves here notify exactly like API writes."""

from typing import Any

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from tasks.models import Comment, Task


class CommentInline(admin.TabularInline):
    model = Comment
    fields = ["author", "body", "created_at"]
    readonly_fields = ["author", "created_at"]
    extra = 0


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "created_by", "assignee", "due_date", "updated_at"]
    list_filter = ["status", "due_date"]
    search_fields = ["title", "description"]
    raw_id_fields = ["assignee"]
    readonly_fields = ["created_by", "updated_by", "created_at", "updated_at"]
    inlines = [CommentInline]

    def save_model(self, request: HttpRequest, obj: Task, form: ModelForm, change: bool) -> None:
        # The admin user is the actor: the change notifies everyone but them.
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: Any, change: bool
    ) -> None:
        for comment in formset.save(commit=False):
            if comment.author_id is None:
                comment.author = request.user
            comment.save()
        for comment in formset.deleted_objects:
            comment.delete()
        formset.save_m2m()


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["id", "task", "author", "created_at"]
    search_fields = ["body"]
    raw_id_fields = ["task", "author"]
    readonly_fields = ["created_at"]
