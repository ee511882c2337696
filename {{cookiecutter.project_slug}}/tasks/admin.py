"""Admin for teams, tasks and comments; task and comment saves go through the services, so
they notify as API writes do."""

from typing import Any

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from notifications.users import signed_in_user
from tasks import services
from tasks.models import Comment, Task, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]
    filter_horizontal = ["members"]


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
        if change:
            changed = {name: form.cleaned_data[name] for name in form.changed_data}
            services.update_task(obj, actor=signed_in_user(request), **changed)
        else:
            services.save_new_task(obj, actor=signed_in_user(request))

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: Any, change: bool
    ) -> None:
        if formset.model is not Comment:
            super().save_formset(request, form, formset, change)
            return
        for comment in formset.save(commit=False):
            if comment.pk is None:
                services.save_new_comment(comment, actor=signed_in_user(request))
            else:
                services.edit_comment(comment, body=comment.body)
        for comment in formset.deleted_objects:
            comment.delete()


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["id", "task", "author", "created_at"]
    search_fields = ["body"]
    raw_id_fields = ["task", "author"]
    readonly_fields = ["created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Comment | None = None) -> list[str]:
        # Once written, a comment's task and author stay; only its text can be edited.
        return ["task", "author", "created_at"] if obj is not None else ["created_at"]

    def save_model(self, request: HttpRequest, obj: Comment, form: ModelForm, change: bool) -> None:
        if change:
            services.edit_comment(obj, body=obj.body)
        else:
            services.save_new_comment(obj, actor=obj.author)
