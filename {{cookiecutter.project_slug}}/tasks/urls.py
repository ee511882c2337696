"""REST routes of the tasks API."""

from django.urls import path

from tasks import views

app_name = "tasks"

urlpatterns = [
    path("tasks/", views.TaskListView.as_view(), name="task-list"),
    path("tasks/<int:pk>/", views.TaskDetailView.as_view(), name="task-detail"),
    path("tasks/<int:pk>/comments/", views.TaskCommentListView.as_view(), name="task-comments"),
]
